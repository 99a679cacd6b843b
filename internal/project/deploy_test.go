package project_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/project"
	"github.com/stepline/stepline/internal/server"
	"github.com/stepline/stepline/internal/store/dsn"
)

// These tests deploy projects into real servers (server.New on SQLite, as `stepline serve
// --project` does) and look at the result through the AWS API and the database.

func write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const (
	echoPy = "def handler(event, context):\n    return {'echo': event, 'by': 'python'}\n"
	// invokeEcho calls the echo function and keeps its answer.
	invokeEcho = `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
"Parameters":{"FunctionName":"${Fn}","Payload.$":"$"},"OutputPath":"$.Payload","End":true}}}`
	flowYAML = "StartAt: A\nStates:\n  A:\n    Type: Pass\n    Result: {v: ${Version}}\n    End: true\n"
)

// sampleProject is two state machines (JSON and YAML, substitutions, tags, logging) and a
// Python function.
func sampleProject(t *testing.T) string {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"stepline.yaml": `stateMachines:
  Echo:
    definition: sm/echo.json
    definitionSubstitutions: {Fn: echo}
    tags: {team: data}
    logging: {level: ERROR}
  Flow:
    definition: sm/flow.yaml
    type: EXPRESS
    definitionSubstitutions: {Version: 1}
functions:
  echo:
    code: fn/echo
    runtime: python3.11
    handler: app.handler
    timeout: 10
    environment: {STAGE: test}
`,
		"sm/echo.json":   invokeEcho,
		"sm/flow.yaml":   flowYAML,
		"fn/echo/app.py": echoPy,
	})
	return dir
}

type testServer struct {
	*server.Server
	sfn    *sfn.Client
	lambda *awslambda.Client
}

// serve starts a server on the database db deploying the project dir (if any).
func serve(t *testing.T, db, dir string) (*testServer, error) {
	t.Helper()
	srv, err := server.New(context.Background(), server.Options{Addr: "127.0.0.1:0", DB: "sqlite:" + db, Project: dir,
		DataDir: filepath.Join(filepath.Dir(db), "data")})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(context.Background()); err != nil {
		return nil, errors.Join(err, srv.Stop(context.Background()))
	}
	url := "http://" + srv.Addr()
	creds := credentials.NewStaticCredentialsProvider("x", "x", "")
	return &testServer{Server: srv,
		sfn:    sfn.New(sfn.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(url)}),
		lambda: awslambda.New(awslambda.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(url)}),
	}, nil
}

func mustServe(t *testing.T, db, dir string) *testServer {
	t.Helper()
	s, err := serve(t, db, dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *testServer) stop(t *testing.T) {
	t.Helper()
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// counts reads how many revisions, versions, machines and functions the database holds.
func counts(t *testing.T, db string) (revisions, versions, machines, functions int) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []struct {
		table string
		n     *int
	}{{"state_machine_revisions", &revisions}, {"state_machine_versions", &versions}, {"state_machines", &machines}, {"functions", &functions}} {
		if err := conn.QueryRow("SELECT count(*) FROM " + q.table).Scan(q.n); err != nil {
			t.Fatal(err)
		}
	}
	return
}

// observed is what the AWS API reports of the sample project.
type observed struct {
	echoRevision, flowRevision, flowDefinition string
	echoUpdate                                 time.Time
	codeSha, functionRevision                  string
	tags                                       map[string]string
	logging                                    string
}

func observe(t *testing.T, s *testServer) observed {
	t.Helper()
	ctx := context.Background()
	var o observed
	echo, err := s.sfn.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:Echo")})
	if err != nil {
		t.Fatal(err)
	}
	o.echoRevision, o.echoUpdate = aws.ToString(echo.RevisionId), aws.ToTime(echo.CreationDate)
	o.logging = string(echo.LoggingConfiguration.Level)
	flow, err := s.sfn.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:Flow")})
	if err != nil {
		t.Fatal(err)
	}
	if flow.Type != types.StateMachineTypeExpress {
		t.Errorf("Flow is %s, want EXPRESS", flow.Type)
	}
	o.flowRevision, o.flowDefinition = aws.ToString(flow.RevisionId), aws.ToString(flow.Definition)
	fn, err := s.lambda.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("echo")})
	if err != nil {
		t.Fatal(err)
	}
	o.codeSha, o.functionRevision = aws.ToString(fn.Configuration.CodeSha256), aws.ToString(fn.Configuration.RevisionId)
	if fn.Configuration.Environment == nil || fn.Configuration.Environment.Variables["STAGE"] != "test" || aws.ToInt32(fn.Configuration.Timeout) != 10 {
		t.Errorf("function configuration %+v", fn.Configuration)
	}
	tags, err := s.sfn.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: echo.StateMachineArn})
	if err != nil {
		t.Fatal(err)
	}
	o.tags = map[string]string{}
	for _, tg := range tags.Tags {
		o.tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return o
}

// runEcho runs the Echo machine to its end and returns its output.
func runEcho(t *testing.T, s *testServer, input string) string {
	t.Helper()
	ctx := context.Background()
	out, err := s.sfn.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:Echo"), Input: aws.String(input)})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		d, err := s.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: out.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		switch d.Status {
		case types.ExecutionStatusRunning:
			time.Sleep(20 * time.Millisecond) // polling the API, with a deadline
			continue
		case types.ExecutionStatusSucceeded:
			return aws.ToString(d.Output)
		}
		h, _ := s.sfn.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: out.ExecutionArn})
		b, _ := json.Marshal(h)
		t.Fatalf("execution %s: %s", d.Status, b)
	}
	t.Fatal("the execution did not end within a minute")
	return ""
}

func TestDeployIsIdempotent(t *testing.T) {
	dir := sampleProject(t)
	db := filepath.Join(t.TempDir(), "s.db")

	s := mustServe(t, db, dir)
	first := observe(t, s)
	if got := runEcho(t, s, `{"n":1}`); got != `{"echo":{"n":1},"by":"python"}` {
		t.Errorf("output %s", got)
	}
	s.stop(t)
	revs, vers, machines, fns := counts(t, db)
	if revs != 2 || vers != 0 || machines != 2 || fns != 1 {
		t.Fatalf("after the first deploy: %d revisions, %d versions, %d machines, %d functions; want 2, 0, 2, 1", revs, vers, machines, fns)
	}
	if first.tags["team"] != "data" || first.logging != "ERROR" || first.flowDefinition != `{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"v":1},"End":true}}}` {
		t.Errorf("first deploy %+v", first)
	}

	// The same folder again: nothing changes.
	s = mustServe(t, db, dir)
	again := observe(t, s)
	s.stop(t)
	if r, v, m, f := counts(t, db); r != revs || v != vers || m != machines || f != fns {
		t.Errorf("after an unchanged deploy: %d revisions, %d versions, %d machines, %d functions; want %d, %d, %d, %d", r, v, m, f, revs, vers, machines, fns)
	}
	if fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("an unchanged deploy changed what the API reports:\n %+v\nthen\n %+v", first, again)
	}

	// A changed definition (through its substitution) is one new revision; the function stays.
	write(t, dir, map[string]string{"stepline.yaml": strings.Replace(mustRead(t, filepath.Join(dir, "stepline.yaml")), "{Version: 1}", "{Version: 2}", 1)})
	s = mustServe(t, db, dir)
	changed := observe(t, s)
	s.stop(t)
	if r, v, _, _ := counts(t, db); r != revs+1 || v != vers {
		t.Errorf("after a changed definition: %d revisions, %d versions; want %d, %d", r, v, revs+1, vers)
	}
	if changed.flowRevision == first.flowRevision || !strings.Contains(changed.flowDefinition, `{"v":2}`) {
		t.Errorf("Flow after the change: revision %q (was %q), definition %s", changed.flowRevision, first.flowRevision, changed.flowDefinition)
	}
	if changed.echoRevision != first.echoRevision || changed.codeSha != first.codeSha || changed.functionRevision != first.functionRevision {
		t.Errorf("the unchanged parts changed: %+v, was %+v", changed, first)
	}

	// Changed code is a new CodeSha256, and the next invocation runs it.
	write(t, dir, map[string]string{"fn/echo/app.py": strings.Replace(echoPy, "'python'", "'python 2'", 1)})
	s = mustServe(t, db, dir)
	recoded := observe(t, s)
	if recoded.codeSha == first.codeSha {
		t.Error("changed code kept its CodeSha256")
	}
	if got := runEcho(t, s, `{"n":2}`); got != `{"echo":{"n":2},"by":"python 2"}` {
		t.Errorf("output after the code changed: %s", got)
	}
	s.stop(t)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDeployRefusesWholly(t *testing.T) {
	dir := sampleProject(t)
	db := filepath.Join(t.TempDir(), "s.db")
	s := mustServe(t, db, dir)
	s.stop(t)
	revs, _, machines, fns := counts(t, db)

	// A project with a new machine, a new function and a machine whose type cannot change:
	// the server does not start, and nothing of it is deployed.
	yaml := mustRead(t, filepath.Join(dir, "stepline.yaml"))
	yaml = strings.Replace(yaml, "    type: EXPRESS\n", "", 1)
	yaml = strings.Replace(yaml, "stateMachines:\n", "stateMachines:\n  Added:\n    definition: sm/flow.yaml\n    definitionSubstitutions: {Version: 3}\n", 1)
	yaml += "  other:\n    code: fn/echo\n    runtime: python3.11\n    handler: app.handler\n"
	write(t, dir, map[string]string{"stepline.yaml": yaml})
	_, err := serve(t, db, dir)
	var pe *project.Error
	if !errors.As(err, &pe) || pe.Key != "stateMachines.Flow.type" ||
		!strings.Contains(err.Error(), "Flow is deployed as EXPRESS, and a state machine's type cannot change") {
		t.Fatalf("deploy: %v, want the type change refused", err)
	}
	if r, _, m, f := counts(t, db); r != revs || m != machines || f != fns {
		t.Errorf("a refused deploy changed the database: %d revisions, %d machines, %d functions; was %d, %d, %d", r, m, f, revs, machines, fns)
	}

	// A mistake in the file is refused before the database is opened.
	write(t, dir, map[string]string{"stepline.yaml": "stateMachines:\n  X:\n    definition: sm/missing.json\n"})
	_, err = serve(t, db, dir)
	if want := filepath.Join(dir, "stepline.yaml") + ":3: stateMachines.X.definition: sm/missing.json: no such file"; err == nil || err.Error() != want {
		t.Errorf("deploy: %v, want %s", err, want)
	}
}

// stdlibGoFunction is a Go function without dependencies, speaking the Runtime API itself, so
// that it builds in a module of its own anywhere.
const stdlibGoFunction = `package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
)

const version = "v1"

func main() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	for {
		resp, err := http.Get(api + "next")
		if err != nil {
			os.Exit(1)
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		var event any
		_ = json.NewDecoder(resp.Body).Decode(&event)
		resp.Body.Close()
		out, _ := json.Marshal(map[string]any{"event": event, "version": version})
		r, err := http.Post(api+id+"/response", "application/json", bytes.NewReader(out))
		if err == nil {
			r.Body.Close()
		}
	}
}
`

func TestGoFunctionBuiltOnceAndOnChange(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"stepline.yaml":    "functions:\n  gofn:\n    code: gofn\n    runtime: provided.al2023\n",
		"gofn/go.mod":      "module gofn\n\ngo 1.22\n",
		"gofn/main.go":     stdlibGoFunction,
		"gofn/README.txt":  "not Go",
		"gofn/helper_test": "",
	})
	ctx := context.Background()
	data := t.TempDir()
	st, err := dsn.Open(ctx, "sqlite:"+filepath.Join(data, "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lam, err := lambda.New(lambda.Options{Store: st, Account: "123456789012", Region: "us-east-1", DataDir: filepath.Join(data, "lambda")})
	if err != nil {
		t.Fatal(err)
	}
	defer lam.Close()
	cache := filepath.Join(data, "build")
	deploy := func() *project.Summary {
		t.Helper()
		p, err := project.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := p.Deploy(ctx, project.Targets{Lambda: lam, Account: "123456789012", Region: "us-east-1", BuildCache: cache})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	invoke := func() string {
		t.Helper()
		res, err := lam.Invoke(ctx, &lambda.InvokeParams{FunctionName: "gofn", Payload: []byte(`{"k":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		return string(res.Payload)
	}
	if sum := deploy(); sum.GoBuilt != 1 || sum.FunctionsCreated != 1 {
		t.Fatalf("first deploy %+v: want one build, one function created", *sum)
	}
	if got := invoke(); got != `{"event":{"k":1},"version":"v1"}` {
		t.Errorf("invoke: %s", got)
	}
	if sum := deploy(); sum.GoBuilt != 0 || sum.FunctionsUnchanged != 1 {
		t.Errorf("unchanged deploy %+v: want no build, the function unchanged", *sum)
	}
	write(t, dir, map[string]string{"gofn/main.go": strings.Replace(stdlibGoFunction, `"v1"`, `"v2"`, 1)})
	if sum := deploy(); sum.GoBuilt != 1 || sum.FunctionsUpdated != 1 {
		t.Errorf("deploy of changed sources %+v: want one build, the function updated", *sum)
	}
	if got := invoke(); got != `{"event":{"k":1},"version":"v2"}` {
		t.Errorf("invoke after the change: %s", got)
	}
	builds, _ := filepath.Glob(filepath.Join(cache, "*", "bootstrap"))
	if len(builds) != 2 {
		t.Errorf("build cache holds %d builds, want 2 (one per source digest)", len(builds))
	}

	// A function that does not compile stops the deploy, saying why on one line.
	write(t, dir, map[string]string{"gofn/main.go": "package main\n\nfunc main() { undefined() }\n"})
	p, err := project.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Deploy(ctx, project.Targets{Lambda: lam, Account: "123456789012", Region: "us-east-1", BuildCache: cache})
	if err == nil || !strings.Contains(err.Error(), "stepline.yaml:2: functions.gofn.code: go build") ||
		!strings.Contains(err.Error(), "undefined") || strings.Contains(err.Error(), "\n") {
		t.Errorf("deploy of a broken Go function: %v", err)
	}
}

// TestEndpointFunction binds a function to another server's Lambda API: Task states of this
// server invoke it there.
func TestEndpointFunction(t *testing.T) {
	// The external endpoint: a server with the echo function.
	extDir := t.TempDir()
	write(t, extDir, map[string]string{
		"stepline.yaml": "functions:\n  remote-echo:\n    code: fn\n    runtime: python3.11\n    handler: app.handler\n",
		"fn/app.py":     echoPy,
	})
	ext := mustServe(t, filepath.Join(t.TempDir(), "ext.db"), extDir)
	defer ext.stop(t)

	dir := t.TempDir()
	write(t, dir, map[string]string{
		"stepline.yaml": fmt.Sprintf(`stateMachines:
  Echo:
    definition: echo.json
    definitionSubstitutions: {Fn: "arn:aws:lambda:us-east-1:123456789012:function:echo"}
functions:
  echo:
    endpoint: http://%s
    functionName: remote-echo
`, ext.Addr()),
		"echo.json": invokeEcho,
	})
	s := mustServe(t, filepath.Join(t.TempDir(), "s.db"), dir)
	defer s.stop(t)
	if got := runEcho(t, s, `{"far":true}`); got != `{"echo":{"far":true},"by":"python"}` {
		t.Errorf("output %s", got)
	}
	// The bound function lives there only.
	list, err := s.lambda.ListFunctions(context.Background(), &awslambda.ListFunctionsInput{})
	if err != nil || len(list.Functions) != 0 {
		t.Errorf("local functions: %v, %v; want none", list, err)
	}
}

// racingLambda is the Lambda API of a node that another node beats to every CreateFunction:
// the same function is created, through the same service, just before the call goes in.
type racingLambda struct{ http.Handler }

func (r racingLambda) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodPost && req.URL.Path == "/2015-03-31/functions" {
		body, _ := io.ReadAll(req.Body)
		other := httptest.NewRequest(http.MethodPost, req.URL.Path, bytes.NewReader(body))
		r.Handler.ServeHTTP(httptest.NewRecorder(), other)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.Handler.ServeHTTP(w, req)
}

func TestDeployRacingNode(t *testing.T) {
	dir := sampleProject(t)
	ctx := context.Background()
	data := t.TempDir()
	st, err := dsn.Open(ctx, "sqlite:"+filepath.Join(data, "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lam, err := lambda.New(lambda.Options{Store: st, Account: "123456789012", Region: "us-east-1", DataDir: filepath.Join(data, "lambda")})
	if err != nil {
		t.Fatal(err)
	}
	defer lam.Close()
	p, err := project.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := p.Deploy(ctx, project.Targets{Lambda: racingLambda{lam}, Account: "123456789012", Region: "us-east-1"})
	if err != nil {
		t.Fatalf("deploy beaten by another node: %v", err)
	}
	if sum.FunctionsCreated != 0 || sum.FunctionsUnchanged != 1 {
		t.Errorf("summary %+v: want the other node's function found unchanged", *sum)
	}
}
