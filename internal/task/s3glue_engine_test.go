package task_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/glue"
	"github.com/stepline/stepline/internal/jsonv"
	"github.com/stepline/stepline/internal/s3"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/sqlite"
	"github.com/stepline/stepline/internal/task"
)

// TestDurableS3Glue runs aws-sdk:s3 and Glue tasks through the durable engine on SQLite with
// the real S3 and Glue services: an object put then read back, a missing key caught by its
// SDK error name, a Python shell job run that succeeds and one that fails (.sync), and an
// aws-sdk:glue refusal caught as Glue.EntityNotFoundException.
func TestDurableS3Glue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(dir, "db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s3svc, err := s3.New(s3.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s3svc.Close()
	put := func(path, body string) {
		t.Helper()
		rec := httptest.NewRecorder()
		s3svc.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, path, strings.NewReader(body)))
		if rec.Code != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	put("/data", "")
	put("/scripts", "")
	put("/scripts/ok.py", "print('fine')\n")
	put("/scripts/bad.py", "raise ValueError('no rows today')\n")
	g, err := glue.New(glue.Options{Store: st, Dir: dir, Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, job := range []string{"ok", "bad"} {
		in := `{"Name":"` + job + `","Role":"arn:aws:iam::123456789012:role/glue","Command":{"Name":"pythonshell","ScriptLocation":"s3://scripts/` + job + `.py"}}`
		if _, err := g.Call(ctx, "CreateJob", []byte(in)); err != nil {
			t.Fatalf("CreateJob %s: %v", job, err)
		}
	}

	e, err := engine.New(engine.Options{Store: st, Node: "n1", PollInterval: 5 * time.Millisecond,
		Runner: task.New(task.Options{S3: s3svc, Glue: g})})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Stop(ctx)
	def := `{"StartAt":"Put","States":{
		"Put":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:putObject","Parameters":{"Bucket":"data","Key":"a/b.txt","Body":{"n":1}},
			"ResultSelector":{"etag.$":"$.ETag"},"ResultPath":"$.put","Next":"Get"},
		"Get":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:getObject","Parameters":{"Bucket":"data","Key":"a/b.txt"},
			"ResultSelector":{"body.$":"$.Body","etag.$":"$.ETag","length.$":"$.ContentLength"},"ResultPath":"$.get","Next":"Missing"},
		"Missing":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:getObject","Parameters":{"Bucket":"data","Key":"nope"},
			"Catch":[{"ErrorEquals":["S3.NoSuchKeyException"],"ResultPath":"$.missing","Next":"Job"}],"Next":"Job"},
		"Job":{"Type":"Task","Resource":"arn:aws:states:::glue:startJobRun.sync","Parameters":{"JobName":"ok"},
			"ResultSelector":{"state.$":"$.JobRunState","job.$":"$.JobName"},"ResultPath":"$.job","Next":"Bad"},
		"Bad":{"Type":"Task","Resource":"arn:aws:states:::glue:startJobRun.sync","Parameters":{"JobName":"bad"},
			"Catch":[{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.bad","Next":"NoJob"}],"Next":"NoJob"},
		"NoJob":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:glue:getJob","Parameters":{"JobName":"nosuch"},
			"Catch":[{"ErrorEquals":["Glue.EntityNotFoundException"],"ResultPath":"$.nojob","Next":"Done"}],"Next":"Done"},
		"Done":{"Type":"Succeed"}}}`
	now := time.Now().UTC()
	sm, err := st.StateMachineCreate(ctx, &store.StateMachineCreateParams{
		Arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm", Name: "sm", Type: store.StateMachineStandard, CreatedAt: now,
		Revision: store.Revision{RevisionID: "r1", RevisionCreatedAt: now, Definition: def, RoleArn: "arn:aws:iam::123456789012:role/r"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := e.StartExecution(ctx, engine.StartParams{StateMachine: sm, Name: "x", Input: `{}`})
	if err != nil {
		t.Fatal(err)
	}
	var got *store.Execution
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if got, err = st.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: ex.Arn}); err != nil {
			t.Fatal(err)
		}
		if got.Status.Terminal() || time.Now().After(deadline) {
			break
		}
	}
	if got.Status != store.StatusSucceeded || got.Output == nil {
		t.Fatalf("status %s error %v cause %v", got.Status, deref(got.Error), deref(got.Cause))
	}
	v, err := jsonv.ParseString(*got.Output)
	if err != nil {
		t.Fatal(err)
	}
	out := v.(*jsonv.Object)
	field := func(path ...string) jsonv.Value {
		var cur jsonv.Value = out
		for _, p := range path {
			o, _ := cur.(*jsonv.Object)
			if o == nil {
				return nil
			}
			cur, _ = o.Get(p)
		}
		return cur
	}
	// The body is sent as its JSON text.
	for _, c := range []struct {
		path []string
		want jsonv.Value
	}{
		{[]string{"get", "body"}, `{"n":1}`},
		{[]string{"get", "length"}, jsonv.Number("7")},
		{[]string{"missing", "Error"}, "S3.NoSuchKeyException"},
		{[]string{"job", "state"}, "SUCCEEDED"},
		{[]string{"job", "job"}, "ok"},
		{[]string{"bad", "Error"}, "States.TaskFailed"},
		{[]string{"nojob", "Error"}, "Glue.EntityNotFoundException"},
	} {
		if g := field(c.path...); jsonv.String(g) != jsonv.String(c.want) {
			t.Errorf("%s = %s, want %s", strings.Join(c.path, "."), jsonv.String(g), jsonv.String(c.want))
		}
	}
	if p, g := field("put", "etag"), field("get", "etag"); jsonv.String(p) != jsonv.String(g) || !strings.HasPrefix(jsonv.String(g), `"\"`) {
		t.Errorf("put ETag %s, get ETag %s: want the same, quoted", jsonv.String(p), jsonv.String(g))
	}
	// A failed run's cause is its JobRun, with the process's error.
	cause, _ := field("bad", "Cause").(string)
	run, err := jsonv.ParseString(cause)
	if err != nil {
		t.Fatalf("cause %q is not a JobRun: %v", cause, err)
	}
	ro, _ := run.(*jsonv.Object)
	if s, _ := ro.Get("JobRunState"); s != "FAILED" {
		t.Errorf("failed run state %v, want FAILED (cause %s)", s, cause)
	}
	if msg, _ := ro.Get("ErrorMessage"); !strings.Contains(jsonv.String(msg), "no rows today") {
		t.Errorf("failed run ErrorMessage %s does not carry the script's error", jsonv.String(msg))
	}
	if c, _ := ro.Get("CompletedOn"); !isInteger(c) {
		t.Errorf("CompletedOn %s: want epoch milliseconds", jsonv.String(c))
	}
	if cause, _ := field("nojob", "Cause").(string); !strings.Contains(cause, "(Service: Glue, Status Code: 400, Request ID: ") {
		t.Errorf("Glue refusal cause %q lacks the SDK's suffix", cause)
	}
}

func isInteger(v jsonv.Value) bool {
	n, ok := v.(jsonv.Number)
	return ok && n.IsInteger()
}
