package sandbox

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEveryRuntime runs what every runtime must do alike: time out, print a lot, die at init.
func TestEveryRuntime(t *testing.T) {
	p := newPool(t, Options{})
	for _, tc := range []struct {
		name   string
		spec   *Spec
		sleep  string
		print  string
		initEx *Spec
		status string
	}{
		{"go", goSpec(t, "rt-go"), `{"op":"sleep","ms":600000}`, `{"op":"print","bytes":100000}`, nil, ""},
		{"python", pySpec(t, "rt-py", "app.handler"), `{"op":"sleep","ms":600000}`, `{"op":"print","bytes":100000}`, pySpec(t, "rt-py-init", "app.handler"), "exit status 3"},
		{"node", nodeSpec(t, "rt-node", "index.handler"), `{"op":"sleep","ms":600000}`, `{"op":"print","bytes":100000}`, nodeSpec(t, "rt-node-init", "index.handler"), "exit status 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := invoke(t, p, tc.spec, tc.print)
			if !strings.Contains(string(res.Log), strings.Repeat("x", 100000)+"\n") || res.FunctionError != "" {
				t.Fatalf("print: %s, log of %d bytes", res.Payload, len(res.Log))
			}
			tc.spec.Timeout = 500 * time.Millisecond
			res, err := p.Invoke(context.Background(), tc.spec, &Invocation{RequestID: "req-to-" + tc.name, Payload: []byte(tc.sleep)})
			if err != nil {
				t.Fatal(err)
			}
			if e := decodeError(t, res); e.ErrorType != "Sandbox.Timedout" || e.ErrorMessage != "RequestId: req-to-"+tc.name+" Error: Task timed out after 0.50 seconds" {
				t.Fatalf("timeout = %+v", e)
			}
			if tc.initEx == nil {
				return
			}
			if tc.name == "python" {
				tc.initEx.CodeDir = testdataDir(t, "pyinitexit")
			} else {
				tc.initEx.CodeDir = testdataDir(t, "nodeinitexit")
			}
			res = invoke(t, p, tc.initEx, `{}`)
			if e := decodeError(t, res); e.ErrorType != "Runtime.ExitError" || !strings.HasSuffix(e.ErrorMessage, "Error: Runtime exited with error: "+tc.status) {
				t.Fatalf("init exit = %+v", e)
			}
			if !strings.Contains(string(res.Log), "leaving at init") {
				t.Fatalf("init output missing:\n%s", res.Log)
			}
		})
	}
}

// TestBoto3ReachesEndpoint: boto3 inside a Python function, with no endpoint argument, calls
// Options.Endpoint with the dummy credentials.
func TestBoto3ReachesEndpoint(t *testing.T) {
	calls := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case calls <- r.Header.Get("X-Amz-Target") + " " + strings.Split(r.Header.Get("Authorization"), "/")[0] + " " + string(body):
		default:
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		io.WriteString(w, `{"stateMachines":[{"name":"sm","stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:sm","type":"STANDARD","creationDate":1.7e9}]}`)
	}))
	defer srv.Close()
	p := newPool(t, Options{Endpoint: srv.URL})
	res := invoke(t, p, pySpec(t, "boto", "app.handler"), `{"op":"sfn"}`)
	if res.FunctionError != "" || string(res.Payload) != `["sm"]` {
		t.Fatalf("boto3: %s\n%s", res.Payload, res.Log)
	}
	if got := <-calls; !strings.HasPrefix(got, "AWSStepFunctions.ListStateMachines AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE ") {
		t.Fatalf("request = %q", got)
	}
}

// TestCodeDirUntouched: running a function writes nothing into its code (no __pycache__).
func TestCodeDirUntouched(t *testing.T) {
	code := t.TempDir()
	if err := os.WriteFile(filepath.Join(code, "fn.py"), []byte("def handler(event, context):\n    return 'ok'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newPool(t, Options{})
	spec := pySpec(t, "untouched", "fn.handler")
	spec.CodeDir = code
	if res := invoke(t, p, spec, `{}`); string(res.Payload) != `"ok"` {
		t.Fatalf("payload %s\n%s", res.Payload, res.Log)
	}
	entries, err := os.ReadDir(code)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("code directory now holds %v", entries)
	}
}
