package lambda_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/store/sqlite"
)

// TestEventQueueIsBounded: Event invocations beyond MaxEventQueue are refused with 429
// TooManyRequestsException instead of each holding a goroutine until its timeout; once the queue
// drains, Event invocations are accepted again and synchronous ones run.
func TestEventQueueIsBounded(t *testing.T) {
	t.Parallel()
	requirePython(t)
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(dir, "stepline.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := newNode(t, st, filepath.Join(dir, "data"), 0, func(o *lambda.Options) { o.MaxEventQueue = 2 })
	createPython(t, s, "slow")
	marks := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}
	for _, m := range marks {
		out, err := invokeJSON(t, s, &awslambda.InvokeInput{FunctionName: aws.String("slow"), InvocationType: types.InvocationTypeEvent},
			map[string]any{"sleep": 2, "touch": m})
		if err != nil || out.StatusCode != 202 {
			t.Fatalf("Invoke Event = %+v, %v", out, err)
		}
	}
	_, err = invokeJSON(t, s, &awslambda.InvokeInput{FunctionName: aws.String("slow"), InvocationType: types.InvocationTypeEvent},
		map[string]any{})
	var tm *types.TooManyRequestsException
	wantAPIError(t, "Event invocation beyond the queue", err, "TooManyRequestsException")
	if !errors.As(err, &tm) {
		t.Fatalf("not a TooManyRequestsException: %v", err)
	}
	// Both queued invocations ran; the service takes Event invocations again afterwards.
	waitFile(t, marks...)
	waitAccepted := func() bool {
		out, err := invokeJSON(t, s, &awslambda.InvokeInput{FunctionName: aws.String("slow"), InvocationType: types.InvocationTypeEvent},
			map[string]any{})
		return err == nil && out.StatusCode == 202
	}
	// The queue's slots are given back right after the functions answer: poll.
	for !waitAccepted() {
		time.Sleep(10 * time.Millisecond)
	}
	out, err := invokeJSON(t, s, &awslambda.InvokeInput{FunctionName: aws.String("slow")}, map[string]any{})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("synchronous Invoke after the throttle: %+v %v", out, err)
	}
}

func waitFile(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		for {
			if _, err := os.Stat(p); err == nil {
				break
			}
			select {
			case <-t.Context().Done():
				t.Fatalf("%s never appeared", p)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}
