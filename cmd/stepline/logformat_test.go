package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a bytes.Buffer that serve may write to while the test reads it, and that
// signals once a line containing want was written.
type lockedBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if b.want != "" && strings.Contains(b.buf.String(), b.want) {
		b.once.Do(func() { close(b.seen) })
	}
	return n, err
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serve --log-format json logs one JSON object a line, at the level --log-level says, and the
// contract's "listening on" line still goes to stdout as text.
func TestServeLogFormatJSON(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &lockedBuffer{want: "listening on http://", seen: make(chan struct{})}
	stderr := &lockedBuffer{}
	dir := t.TempDir()
	done := make(chan int, 1)
	go func() {
		done <- cmdServe(ctx, []string{"--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "db"), "--log-format", "json", "--log-level", "info"}, stdout, stderr)
	}()
	select {
	case <-stdout.seen:
	case code := <-done:
		t.Fatalf("serve exited with %d before listening: %s", code, stderr.String())
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("serve exited with %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	var msgs []string
	for _, line := range lines {
		var rec struct{ Time, Level, Msg string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Time == "" || rec.Level == "" {
			t.Fatalf("log line %q is not a JSON record (%v)", line, err)
		}
		if rec.Level == "DEBUG" {
			t.Errorf("a DEBUG line at --log-level info: %s", line)
		}
		msgs = append(msgs, rec.Msg)
	}
	if !strings.Contains(strings.Join(msgs, "\n"), "serving") {
		t.Errorf("no \"serving\" record among %q", msgs)
	}
}

func TestServeLogFormatRefusesOthers(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := cmdServe(context.Background(), []string{"--log-format", "xml"}, &stdout, &stderr); code != exitInvalid ||
		!strings.Contains(stderr.String(), "--log-format must be text or json") {
		t.Errorf("--log-format xml: exit %d, %q", code, stderr.String())
	}
}
