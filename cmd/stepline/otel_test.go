package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// serve exports traces when OTEL_EXPORTER_OTLP_ENDPOINT is set, as the OpenTelemetry
// environment variables say (OTEL_SERVICE_NAME names it), and its stop sends the spans still
// queued: an execution's spans reach an OTLP/HTTP receiver on loopback by the time serve has
// returned. (It sets environment variables, so it runs alone.)
func TestServeExportsTracesWhenOTLPEndpointIsSet(t *testing.T) {
	var mu sync.Mutex
	var spans []*tracepb.Span
	var services []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var ex coltracepb.ExportTraceServiceRequest
		if err != nil || r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &ex) != nil {
			http.Error(w, "not an OTLP/HTTP trace export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range ex.ResourceSpans {
			for _, kv := range rs.Resource.GetAttributes() {
				if kv.Key == "service.name" {
					services = append(services, kv.Value.GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				spans = append(spans, ss.Spans...)
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer rcv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "stepline-test")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &lockedBuffer{want: "\n", seen: make(chan struct{})}
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- cmdServe(ctx, []string{"--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "db")}, stdout, stderr)
	}()
	select {
	case <-stdout.seen:
	case code := <-done:
		t.Fatalf("serve exited with %d: %s", code, stderr.String())
	}
	url := strings.TrimSpace(strings.TrimPrefix(stdout.String(), "listening on "))
	c := sfn.New(sfn.Options{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("x", "x", ""),
		BaseEndpoint: aws.String(url), RetryMaxAttempts: 1})
	sm, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("otel"), RoleArn: aws.String("arn:aws:iam::123456789012:role/r"),
		Definition: aws.String(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("traced")})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == types.ExecutionStatusSucceeded {
			break
		}
		if d.Status != types.ExecutionStatusRunning || time.Now().After(deadline) {
			t.Fatalf("execution %s", d.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("serve exited with %d: %s", code, stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	got := map[string]bool{}
	for _, s := range spans {
		for _, kv := range s.Attributes {
			if kv.Key == "aws.stepfunctions.execution.arn" && kv.Value.GetStringValue() == *ex.ExecutionArn {
				got[s.Name] = true
			}
		}
	}
	if len(spans) != 3 || !got["otel"] || !got["A"] || !got["B"] {
		t.Errorf("received %d spans, of the execution %v; want otel, A and B", len(spans), got)
	}
	if len(services) == 0 || services[0] != "stepline-test" {
		t.Errorf("service.name %v, want stepline-test", services)
	}
}
