package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A negative --retention is refused before anything is opened (0 keeps executions forever).
func TestServeRetentionRefusesNegative(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := cmdServe(context.Background(), []string{"--retention", "-1h"}, &stdout, &stderr); code != exitInvalid ||
		!strings.Contains(stderr.String(), "--retention must not be negative") {
		t.Errorf("--retention -1h: exit %d, %q", code, stderr.String())
	}
}
