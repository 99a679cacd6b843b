package engine

import (
	"reflect"
	"testing"

	"github.com/stepline/stepline/internal/interp"
)

// TestUpdateMapRunMessage: an UpdateMapRun crosses the inbox unchanged, settings left out
// included.
func TestUpdateMapRunMessage(t *testing.T) {
	t.Parallel()
	five, zero, half := 5, int64(0), 50.5
	const arn = "arn:aws:states:us-east-1:123456789012:mapRun:sm/Items:exec-3"
	tests := []struct {
		name string
		u    interp.UpdateMapRun
	}{
		{"all settings", interp.UpdateMapRun{MapRunArn: arn, MaxConcurrency: &five, ToleratedFailureCount: &zero, ToleratedFailurePercentage: &half}},
		{"MaxConcurrency only", interp.UpdateMapRun{MapRunArn: arn, MaxConcurrency: &five}},
		{"a zero count is not a missing one", interp.UpdateMapRun{MapRunArn: arn, ToleratedFailureCount: &zero}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encodeMessage(updateMessage(tt.u))
			got, err := decodeMessage(b)
			if err != nil || !reflect.DeepEqual(got, tt.u) {
				t.Fatalf("decodeMessage(%s) = %+v, %v", b, got, err)
			}
		})
	}
	if ev, err := decodeMessage([]byte(`{"kind":"updateMapRun"}`)); err == nil {
		t.Fatalf("an update without its change decoded as %+v", ev)
	}
}
