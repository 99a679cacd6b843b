package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestGoFunction(t *testing.T) {
	p := newPool(t, Options{Endpoint: "http://127.0.0.1:8083", Region: "eu-west-1"})
	spec := goSpec(t, "goecho")
	spec.Environment = map[string]string{"MY_VAR": "mine", "AWS_REGION": "not-allowed", "TZ": "Europe/Paris"}

	first := invoke(t, p, spec, `{"op":"echo","data":{"a":[1,2,"x"]}}`)
	if string(first.Payload) != `{"a":[1,2,"x"]}` || first.FunctionError != "" {
		t.Fatalf("echo = %s %q", first.Payload, first.FunctionError)
	}
	log := string(first.Log)
	if !regexp.MustCompile(`(?s)^START RequestId: \S+ Version: \$LATEST\necho echo\nEND RequestId: \S+\nREPORT RequestId: \S+\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms\t\n$`).MatchString(log) {
		t.Fatalf("cold log:\n%q", log)
	}
	second := invoke(t, p, spec, `{"op":"echo","data":"again"}`)
	if string(second.Payload) != `"again"` || strings.Contains(string(second.Log), "Init Duration") {
		t.Fatalf("warm = %s, log %q", second.Payload, second.Log)
	}
	if second.LogStream != first.LogStream {
		t.Fatalf("warm invocation ran on another process: %s vs %s", second.LogStream, first.LogStream)
	}
	if _, n := p.Processes("goecho"); n != 1 {
		t.Fatalf("processes = %d, want 1", n)
	}

	e := decodeError(t, invoke(t, p, spec, `{"op":"error"}`))
	if e.ErrorType != "errorString" || e.ErrorMessage != "boom from go" {
		t.Fatalf("go error = %+v", e)
	}

	res, err := p.Invoke(context.Background(), spec, &Invocation{
		RequestID: "req-env-1", Payload: []byte(`{"op":"env"}`),
		InvokedArn: spec.Arn + ":$LATEST",
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		RequestID, Arn, FunctionName, Cwd string
		Memory                            int
		DeadlineMs                        int64
		Env                               map[string]string
	}
	if err := json.Unmarshal(res.Payload, &got); err != nil {
		t.Fatalf("env payload %s: %v", res.Payload, err)
	}
	if got.RequestID != "req-env-1" || got.Arn != spec.Arn+":$LATEST" || got.FunctionName != "goecho" ||
		got.Memory != 256 || got.DeadlineMs == 0 || got.Cwd != spec.CodeDir {
		t.Fatalf("context = %+v", got)
	}
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME": "goecho", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/goecho",
		"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1", "_HANDLER": "bootstrap",
		"LAMBDA_TASK_ROOT": spec.CodeDir, "TZ": "Europe/Paris", "MY_VAR": "mine",
		"AWS_ENDPOINT_URL": "http://127.0.0.1:8083", "AWS_LAMBDA_LOG_STREAM_NAME": res.LogStream,
	}
	for k, v := range want {
		if got.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, got.Env[k], v)
		}
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_RUNTIME_DIR", "PATH"} {
		if got.Env[k] == "" {
			t.Errorf("env %s missing", k)
		}
	}
	if !strings.HasPrefix(got.Env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:") {
		t.Errorf("runtime API %q is not on loopback", got.Env["AWS_LAMBDA_RUNTIME_API"])
	}
	if _, ok := got.Env["AWS_EXECUTION_ENV"]; ok {
		t.Errorf("AWS_EXECUTION_ENV is set for a provided runtime")
	}
	if _, ok := got.Env["HOME"]; ok {
		t.Errorf("the server's environment leaked: HOME is set")
	}
	if !regexp.MustCompile(`^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$`).MatchString(res.LogStream) {
		t.Errorf("log stream %q", res.LogStream)
	}
}

func TestGoExitAndTimeout(t *testing.T) {
	p := newPool(t, Options{})
	spec := goSpec(t, "goexit")
	res, err := p.Invoke(context.Background(), spec, &Invocation{RequestID: "req-exit", Payload: []byte(`{"op":"exit"}`)})
	if err != nil {
		t.Fatal(err)
	}
	e := decodeError(t, res)
	if e.ErrorType != "Runtime.ExitError" || e.ErrorMessage != "RequestId: req-exit Error: Runtime exited with error: exit status 7" {
		t.Fatalf("exit = %+v", e)
	}
	waitFor(t, "the exited process to be forgotten", func() bool { _, n := p.Processes("goexit"); return n == 0 })

	// aws-lambda-go reports a panic, then exits: the next invocation, sent at once, must not be
	// lost to the dying process.
	for range 3 {
		e = decodeError(t, invoke(t, p, spec, `{"op":"panic"}`))
		if e.ErrorType != "string" || e.ErrorMessage != "go panic" || len(e.StackTrace) == 0 {
			t.Fatalf("panic = %+v", e)
		}
		if res := invoke(t, p, spec, `{"op":"echo","data":"after"}`); string(res.Payload) != `"after"` {
			t.Fatalf("after a panic: %s", res.Payload)
		}
	}

	spec.Timeout = 250 * time.Millisecond
	res, err = p.Invoke(context.Background(), spec, &Invocation{RequestID: "req-slow", Payload: []byte(`{"op":"sleep","ms":600000}`), TailLog: true})
	if err != nil {
		t.Fatal(err)
	}
	e = decodeError(t, res)
	if e.ErrorType != "Sandbox.Timedout" || e.ErrorMessage != "RequestId: req-slow Error: Task timed out after 0.25 seconds" {
		t.Fatalf("timeout = %+v", e)
	}
	if !regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z req-slow Task timed out after 0.25 seconds\nEND RequestId: req-slow\nREPORT RequestId: req-slow\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: [1-9]\d* MB\t(Init Duration: [\d.]+ ms\t)?Status: timeout\t\n$`).Match(res.Log) {
		t.Fatalf("timeout log:\n%s", res.Log)
	}
	if !strings.Contains(string(invoke(t, p, spec, `{"op":"echo","data":1}`).Log), "Init Duration") {
		t.Fatal("the invocation after a timeout did not start a new process")
	}
}

func TestPythonFunction(t *testing.T) {
	p := newPool(t, Options{Endpoint: "http://127.0.0.1:8083"})
	spec := pySpec(t, "pyecho", "app.handler")
	if res := invoke(t, p, spec, `{"data":{"b":"é"}}`); string(res.Payload) != `{"b": "é"}` { // python3.12: AWS's runtime leaves non-ASCII unescaped
		t.Fatalf("echo = %s\n%s", res.Payload, res.Log)
	}

	res := invoke(t, p, spec, `{"op":"raise"}`)
	e := decodeError(t, res)
	if e.ErrorType != "CustomError" || e.ErrorMessage != "boom from python" || e.RequestID == nil || *e.RequestID == "" {
		t.Fatalf("raise = %+v", e)
	}
	// The code's folder is named /var/task, as on AWS.
	if len(e.StackTrace) != 1 || !regexp.MustCompile(`^  File "/var/task/app\.py", line \d+, in handler\n    raise CustomError\("boom from python"\)\n$`).MatchString(fmt.Sprint(e.StackTrace[0])) {
		t.Fatalf("stackTrace = %q", e.StackTrace)
	}
	if !strings.Contains(string(res.Log), "[ERROR] CustomError: boom from python\rTraceback (most recent call last):\r") {
		t.Fatalf("error log:\n%q", res.Log)
	}

	e = decodeError(t, invoke(t, p, spec, `{"op":"unserialisable"}`))
	if e.ErrorType != "Runtime.MarshalError" || e.ErrorMessage != "Unable to marshal response: Object of type set is not JSON serializable" {
		t.Fatalf("marshal = %+v", e)
	}

	cc := "eyJjdXN0b20iOnsiayI6InYifX0=" // {"custom":{"k":"v"}}
	res, err := p.Invoke(context.Background(), spec, &Invocation{RequestID: "req-ctx", Payload: []byte(`{"op":"context"}`), ClientContext: cc})
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(res.Payload, &c); err != nil {
		t.Fatalf("context %s: %v", res.Payload, err)
	}
	env := c["env"].(map[string]any)
	checks := map[string]any{
		"function_name": "pyecho", "function_version": "$LATEST", "invoked_function_arn": spec.Arn,
		"memory_limit_in_mb": "128", "aws_request_id": "req-ctx", "log_group_name": "/aws/lambda/pyecho",
		"log_stream_name": res.LogStream, "cwd": spec.CodeDir, "boto3": true,
	}
	for k, v := range checks {
		if c[k] != v {
			t.Errorf("context %s = %v, want %v", k, c[k], v)
		}
	}
	if cu, _ := c["client_context_custom"].(map[string]any); cu["k"] != "v" {
		t.Errorf("client context = %v", c["client_context_custom"])
	}
	if r, _ := c["remaining"].(float64); r <= 0 || r > 30000 {
		t.Errorf("remaining = %v", c["remaining"])
	}
	if env["AWS_EXECUTION_ENV"] != "AWS_Lambda_python3.12" || env["TZ"] != ":UTC" || env["_HANDLER"] != "app.handler" {
		t.Errorf("env = %v", env)
	}

	for i, h := range []string{"pkg.mod.handler", "pkg/mod.handler"} {
		if res := invoke(t, p, pySpec(t, fmt.Sprint("pypkg", i), h), `{"data":"x"}`); string(res.Payload) != `{"via": "pkg.mod", "data": "x"}` {
			t.Fatalf("handler %s = %s\n%s", h, res.Payload, res.Log)
		}
	}

	e = decodeError(t, invoke(t, p, spec, `{"op":"exit"}`))
	if e.ErrorType != "Runtime.ExitError" || !strings.HasSuffix(e.ErrorMessage, "Error: Runtime exited with error: exit status 5") {
		t.Fatalf("sys.exit = %+v", e)
	}
}

func TestPythonInitErrors(t *testing.T) {
	p := newPool(t, Options{})
	for _, tc := range []struct {
		name, handler, dir string
		typ, msg           string
	}{
		{"nomodule", "nomod.handler", "python", "Runtime.ImportModuleError", "Unable to import module 'nomod': No module named 'nomod'"},
		{"nohandler", "app.nothere", "python", "Runtime.HandlerNotFound", "Handler 'nothere' missing on module 'app'"},
		{"badhandler", "nodot", "python", "Runtime.MalformedHandlerName", "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)"},
		{"syntax", "syntax.handler", "pybroken", "Runtime.UserCodeSyntaxError", "Syntax error in module 'syntax': expected ':' (syntax.py, line 1)"},
		{"raisesatimport", "raises.handler", "pybroken", "ValueError", "bad config at import"},
		{"initexit", "app.handler", "pyinitexit", "Runtime.ExitError", "RequestId: req-initexit Error: Runtime exited with error: exit status 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := pySpec(t, tc.name, tc.handler)
			spec.CodeDir = testdataDir(t, tc.dir)
			res, err := p.Invoke(context.Background(), spec, &Invocation{RequestID: "req-" + tc.name, Payload: []byte(`{}`), TailLog: true})
			if err != nil {
				t.Fatal(err)
			}
			e := decodeError(t, res)
			if e.ErrorType != tc.typ || e.ErrorMessage != tc.msg {
				t.Fatalf("got %s: %s", e.ErrorType, e.ErrorMessage)
			}
			if tc.dir == "pyinitexit" && !strings.Contains(string(res.Log), "leaving at init\n") {
				t.Fatalf("init output missing from the log:\n%s", res.Log)
			}
			waitFor(t, "the failed process to be forgotten", func() bool { _, n := p.Processes(tc.name); return n == 0 })
		})
	}
}

func TestNodeFunction(t *testing.T) {
	p := newPool(t, Options{})
	spec := nodeSpec(t, "nodeecho", "index.handler")
	res := invoke(t, p, spec, `{"op":"echo","data":[1,{"x":2}]}`)
	if string(res.Payload) != `[1,{"x":2}]` {
		t.Fatalf("echo = %s\n%s", res.Payload, res.Log)
	}
	if !regexp.MustCompile(`\d{4}-\d\d-\d\dT[\d:.]+Z\t\S+\tINFO\techo echo\n`).Match(res.Log) {
		t.Fatalf("console.log line:\n%q", res.Log)
	}
	e := decodeError(t, invoke(t, p, spec, `{"op":"raise"}`))
	if e.ErrorType != "TypeError" || e.ErrorMessage != "boom from node" || len(e.Trace) < 2 || e.Trace[0] != "TypeError: boom from node" {
		t.Fatalf("raise = %+v", e)
	}
	res, err := p.Invoke(context.Background(), spec, &Invocation{RequestID: "req-node-ctx", Payload: []byte(`{"op":"context"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(res.Payload, &c); err != nil {
		t.Fatal(err)
	}
	if c["functionName"] != "nodeecho" || c["awsRequestId"] != "req-node-ctx" || c["invokedFunctionArn"] != spec.Arn ||
		c["memoryLimitInMB"] != "128" || c["region"] != "us-east-1" {
		t.Fatalf("context = %v", c)
	}

	cb := nodeSpec(t, "nodecb", "cb.handler")
	if res := invoke(t, p, cb, `{"data":"d"}`); string(res.Payload) != `{"via":"callback","data":"d"}` {
		t.Fatalf("callback = %s\n%s", res.Payload, res.Log)
	}
	if e := decodeError(t, invoke(t, p, cb, `{"op":"raise"}`)); e.ErrorType != "Error" || e.ErrorMessage != "callback boom" {
		t.Fatalf("callback error = %+v", e)
	}
	esm := nodeSpec(t, "nodeesm", "esm.handler")
	if res := invoke(t, p, esm, `{"data":"m"}`); string(res.Payload) != `{"via":"esm","data":"m"}` {
		t.Fatalf("esm = %s\n%s", res.Payload, res.Log)
	}

	esmPkg := nodeSpec(t, "nodeesmpkg", "index.handler")
	esmPkg.CodeDir = testdataDir(t, "nodeesmpkg")
	if res := invoke(t, p, esmPkg, `{"data":"p"}`); string(res.Payload) != `{"via":"esm package","data":"p"}` {
		t.Fatalf("esm package = %s\n%s", res.Payload, res.Log)
	}

	e = decodeError(t, invoke(t, p, nodeSpec(t, "nodenomod", "missing.handler"), `{}`))
	if e.ErrorType != "Runtime.ImportModuleError" || !strings.HasPrefix(e.ErrorMessage, "Error: Cannot find module 'missing'") {
		t.Fatalf("import = %+v", e)
	}
	e = decodeError(t, invoke(t, p, nodeSpec(t, "nodenofn", "index.nothere"), `{}`))
	if e.ErrorType != "Runtime.HandlerNotFound" || e.ErrorMessage != "index.nothere is undefined or not exported" {
		t.Fatalf("handler not found = %+v", e)
	}
	e = decodeError(t, invoke(t, p, spec, `{"op":"exit"}`))
	if e.ErrorType != "Runtime.ExitError" || !strings.HasSuffix(e.ErrorMessage, "exit status 4") {
		t.Fatalf("exit = %+v", e)
	}
}

func TestUnsupportedRuntimeAndMissingBootstrap(t *testing.T) {
	p := newPool(t, Options{})
	spec := goSpec(t, "x")
	spec.Runtime = "java21"
	if _, err := p.Invoke(context.Background(), spec, &Invocation{RequestID: "r"}); err == nil {
		t.Fatal("java21 accepted")
	}
	spec = goSpec(t, "nobootstrap")
	spec.CodeDir = t.TempDir()
	res, err := p.Invoke(context.Background(), spec, &Invocation{RequestID: "req-nb", Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if e := decodeError(t, res); e.ErrorType != "Runtime.InvalidEntrypoint" || !strings.HasPrefix(e.ErrorMessage, "RequestId: req-nb Error: Couldn't find valid bootstrap(s): [") {
		t.Fatalf("missing bootstrap = %+v", e)
	}
	if _, n := p.Processes("nobootstrap"); n != 0 {
		t.Fatalf("processes = %d", n)
	}
	if _, err := p.Invoke(context.Background(), goSpec(t, "../etc"), &Invocation{RequestID: "r"}); err == nil {
		t.Fatal("a function name with a path was accepted")
	}
	p.Close()
	if _, err := p.Invoke(context.Background(), goSpec(t, "late"), &Invocation{RequestID: "r"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
