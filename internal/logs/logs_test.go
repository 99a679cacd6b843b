package logs

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/store"
)

type bundle struct {
	svc   *Service
	clock *clock.Fake
	dir   string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	dir := t.TempDir()
	clk := &clock.Fake{T: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	svc, err := New(Options{DataDir: dir, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return &bundle{svc: svc, clock: clk, dir: dir}
}

// call runs an action and decodes its answer into out; it fails the test on an error.
func (b *bundle) call(t *testing.T, action string, in, out any) {
	t.Helper()
	if err := b.try(action, in, out); err != nil {
		t.Fatalf("%s: %v", action, err)
	}
}

func (b *bundle) try(action string, in, out any) error {
	body, _ := json.Marshal(in)
	res, err := b.svc.Call(context.Background(), action, body)
	if err != nil {
		return err
	}
	if out != nil {
		return json.Unmarshal(res, out)
	}
	return nil
}

func code(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Code
	}
	return ""
}

type eventsOut struct {
	Events []struct {
		LogStreamName string `json:"logStreamName"`
		Timestamp     int64  `json:"timestamp"`
		Message       string `json:"message"`
		EventID       string `json:"eventId"`
	} `json:"events"`
	NextToken         string `json:"nextToken"`
	NextForwardToken  string `json:"nextForwardToken"`
	NextBackwardToken string `json:"nextBackwardToken"`
}

func messages(o eventsOut) []string {
	var out []string
	for _, e := range o.Events {
		out = append(out, e.Message)
	}
	return out
}

func (b *bundle) put(t *testing.T, group, stream string, msgs ...string) {
	t.Helper()
	var evs []map[string]any
	for i, m := range msgs {
		evs = append(evs, map[string]any{"timestamp": b.clock.Now().UnixMilli() + int64(i), "message": m})
	}
	b.call(t, "PutLogEvents", map[string]any{"logGroupName": group, "logStreamName": stream, "logEvents": evs}, nil)
}

func TestGroupsStreamsEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.call(t, "CreateLogGroup", map[string]string{"logGroupName": "/app/one"}, nil)
	if err := b.try("CreateLogGroup", map[string]string{"logGroupName": "/app/one"}, nil); code(err) != "ResourceAlreadyExistsException" {
		t.Fatalf("second CreateLogGroup: %v", err)
	}
	if err := b.try("CreateLogStream", map[string]string{"logGroupName": "/nope", "logStreamName": "s"}, nil); code(err) != "ResourceNotFoundException" {
		t.Fatalf("CreateLogStream in a missing group: %v", err)
	}
	b.call(t, "CreateLogStream", map[string]string{"logGroupName": "/app/one", "logStreamName": "a/b c"}, nil)
	if err := b.try("PutLogEvents", map[string]any{"logGroupName": "/app/one", "logStreamName": "missing",
		"logEvents": []any{map[string]any{"timestamp": 1, "message": "x"}}}, nil); code(err) != "ResourceNotFoundException" {
		t.Fatalf("PutLogEvents to a missing stream: %v", err)
	}
	var lines []string
	for i := range 25 {
		lines = append(lines, "line "+string(rune('a'+i)))
	}
	b.put(t, "/app/one", "a/b c", lines...)

	var groups struct {
		LogGroups []struct {
			LogGroupName string `json:"logGroupName"`
			Arn          string `json:"arn"`
		} `json:"logGroups"`
	}
	b.call(t, "DescribeLogGroups", map[string]string{"logGroupNamePrefix": "/app"}, &groups)
	if len(groups.LogGroups) != 1 || groups.LogGroups[0].LogGroupName != "/app/one" ||
		groups.LogGroups[0].Arn != "arn:aws:logs:us-east-1:123456789012:log-group:/app/one:*" {
		t.Fatalf("DescribeLogGroups: %+v", groups)
	}
	var streams struct {
		LogStreams []struct {
			LogStreamName       string `json:"logStreamName"`
			FirstEventTimestamp int64  `json:"firstEventTimestamp"`
			LastEventTimestamp  int64  `json:"lastEventTimestamp"`
		} `json:"logStreams"`
	}
	b.call(t, "DescribeLogStreams", map[string]string{"logGroupName": "/app/one"}, &streams)
	if len(streams.LogStreams) != 1 || streams.LogStreams[0].LogStreamName != "a/b c" ||
		streams.LogStreams[0].LastEventTimestamp-streams.LogStreams[0].FirstEventTimestamp != 24 {
		t.Fatalf("DescribeLogStreams: %+v", streams)
	}

	// GetLogEvents without a token returns the newest events; the backward token pages back,
	// the forward token of the last page stays put until something new comes.
	var page eventsOut
	b.call(t, "GetLogEvents", map[string]any{"logGroupName": "/app/one", "logStreamName": "a/b c", "limit": 10}, &page)
	if got := messages(page); len(got) != 10 || got[0] != "line p" || got[9] != "line y" {
		t.Fatalf("newest page: %v", got)
	}
	var back eventsOut
	b.call(t, "GetLogEvents", map[string]any{"logGroupName": "/app/one", "logStreamName": "a/b c", "limit": 10, "nextToken": page.NextBackwardToken}, &back)
	if got := messages(back); len(got) != 10 || got[0] != "line f" || got[9] != "line o" {
		t.Fatalf("page before: %v", got)
	}
	var head eventsOut
	b.call(t, "GetLogEvents", map[string]any{"logGroupName": "/app/one", "logStreamName": "a/b c", "limit": 20, "startFromHead": true}, &head)
	if got := messages(head); len(got) != 20 || got[0] != "line a" {
		t.Fatalf("from head: %v", got)
	}
	var rest eventsOut
	b.call(t, "GetLogEvents", map[string]any{"logGroupName": "/app/one", "logStreamName": "a/b c", "nextToken": head.NextForwardToken}, &rest)
	if got := messages(rest); len(got) != 5 || got[0] != "line u" {
		t.Fatalf("forward: %v", got)
	}
	var none eventsOut
	b.call(t, "GetLogEvents", map[string]any{"logGroupName": "/app/one", "logStreamName": "a/b c", "nextToken": rest.NextForwardToken}, &none)
	if len(none.Events) != 0 || none.NextForwardToken != rest.NextForwardToken {
		t.Fatalf("at the end: %+v (token %s, was %s)", none.Events, none.NextForwardToken, rest.NextForwardToken)
	}
	b.put(t, "/app/one", "a/b c", "late")
	b.call(t, "GetLogEvents", map[string]any{"logGroupName": "/app/one", "logStreamName": "a/b c", "nextToken": none.NextForwardToken}, &none)
	if got := messages(none); len(got) != 1 || got[0] != "late" {
		t.Fatalf("after a new event: %v", got)
	}

	// FilterLogEvents pages with nextToken through every event once.
	seen := map[string]bool{}
	token := ""
	for range 10 {
		var f eventsOut
		b.call(t, "FilterLogEvents", map[string]any{"logGroupName": "/app/one", "limit": 7, "nextToken": token}, &f)
		for _, e := range f.Events {
			if seen[e.EventID] {
				t.Fatalf("event %s returned twice", e.EventID)
			}
			seen[e.EventID] = true
		}
		if token = f.NextToken; token == "" {
			break
		}
	}
	if len(seen) != 26 {
		t.Fatalf("FilterLogEvents paged through %d events, want 26", len(seen))
	}

	b.call(t, "DeleteLogGroup", map[string]string{"logGroupName": "/app/one"}, nil)
	if err := b.try("GetLogEvents", map[string]any{"logGroupName": "/app/one", "logStreamName": "a/b c"}, nil); code(err) != "ResourceNotFoundException" {
		t.Fatalf("after DeleteLogGroup: %v", err)
	}
}

func TestFilterPatterns(t *testing.T) {
	t.Parallel()
	msgs := []string{
		`ERROR disk full on /dev/sda`,
		`WARN disk 91% used`,
		`INFO started`,
		`{"type":"TaskFailed","details":{"error":"States.Timeout"},"n":3,"ok":false}`,
		`{"type":"TaskSucceeded","n":10,"ok":true,"list":[{"k":"v"}]}`,
	}
	for _, tc := range []struct {
		pattern string
		want    []int
	}{
		{"", []int{0, 1, 2, 3, 4}},
		{"disk", []int{0, 1}},
		{"ERROR disk", []int{0}},
		{`"disk full"`, []int{0}},
		{"disk -ERROR", []int{1}},
		{"?ERROR ?WARN", []int{0, 1}},
		{"%[0-9]+%%", []int{1}},
		{`{ $.type = "TaskFailed" }`, []int{3}},
		{`{ $.type = Task* }`, []int{3, 4}},
		{`{ $.type != "TaskFailed" }`, []int{4}},
		{`{ $.details.error = "States.*" }`, []int{3}},
		{`{ $.n > 5 }`, []int{4}},
		{`{ $.n <= 3 && $.ok = false }`, []int{3}},
		{`{ ($.n = 3) || ($.list[0].k = "v") }`, []int{3, 4}},
		{`{ $.details NOT EXISTS }`, []int{4}},
	} {
		f, err := ParseFilter(tc.pattern)
		if err != nil {
			t.Errorf("%q: %v", tc.pattern, err)
			continue
		}
		var got []int
		for i, m := range msgs {
			if f.Match(m) {
				got = append(got, i)
			}
		}
		if !equalInts(got, tc.want) {
			t.Errorf("%q matched %v, want %v", tc.pattern, got, tc.want)
		}
	}
	for _, bad := range []string{`{ $.a = }`, `{ $.a = "x"`, `[a, b]`, `{ $.a < "x" }`, `"open`} {
		if _, err := ParseFilter(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRetentionAndCap: retention hides older events and the sweep deletes streams past it;
// the size cap deletes the least recently written streams.
func TestRetentionAndCap(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.svc.o.MaxGroupBytes = 600
	b.call(t, "CreateLogGroup", map[string]string{"logGroupName": "g"}, nil)
	b.call(t, "CreateLogStream", map[string]string{"logGroupName": "g", "logStreamName": "old"}, nil)
	b.put(t, "g", "old", "from long ago")
	old := filepath.Join(b.dir, "logs", "g", "streams", "old")
	past := b.clock.Now().Add(-3 * 24 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	b.clock.T = b.clock.T.Add(2 * 24 * time.Hour)
	b.call(t, "CreateLogStream", map[string]string{"logGroupName": "g", "logStreamName": "new"}, nil)
	b.put(t, "g", "new", "recent")
	if err := b.try("PutRetentionPolicy", map[string]any{"logGroupName": "g", "retentionInDays": 2}, nil); code(err) != "InvalidParameterException" {
		t.Fatalf("retention of 2 days: %v", err)
	}
	b.call(t, "PutRetentionPolicy", map[string]any{"logGroupName": "g", "retentionInDays": 1}, nil)
	var f eventsOut
	b.call(t, "FilterLogEvents", map[string]any{"logGroupName": "g"}, &f)
	if got := messages(f); len(got) != 1 || got[0] != "recent" {
		t.Fatalf("with 1 day's retention: %v", got)
	}
	if err := b.svc.Sweep(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("a stream past retention is still on disk: %v", err)
	}

	// Past the cap, the least recently written streams go.
	b.call(t, "DeleteRetentionPolicy", map[string]any{"logGroupName": "g"}, nil)
	for i, name := range []string{"s1", "s2", "s3"} {
		b.call(t, "CreateLogStream", map[string]string{"logGroupName": "g", "logStreamName": name}, nil)
		b.put(t, "g", name, strings.Repeat("x", 200))
		p := filepath.Join(b.dir, "logs", "g", "streams", name)
		when := b.clock.Now().Add(time.Duration(i+1) * time.Minute)
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.svc.Sweep(); err != nil {
		t.Fatal(err)
	}
	var streams struct {
		LogStreams []struct {
			LogStreamName string `json:"logStreamName"`
		} `json:"logStreams"`
	}
	b.call(t, "DescribeLogStreams", map[string]string{"logGroupName": "g"}, &streams)
	var names []string
	var total int64
	for _, s := range streams.LogStreams {
		names = append(names, s.LogStreamName)
		st, _ := os.Stat(filepath.Join(b.dir, "logs", "g", "streams", s.LogStreamName))
		total += st.Size()
	}
	if total > 600 || len(names) == 0 || names[len(names)-1] != "s3" {
		t.Fatalf("after the cap: streams %v, %d bytes", names, total)
	}
}

// TestExternalGroups: Lambda's and Glue's log files are read as the streams of the groups
// AWS would use.
func TestExternalGroups(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lam := filepath.Join(b.dir, "lambda", "logs", "fn", "2026", "03", "01", "[$LATEST]abc")
	glueOut := filepath.Join(b.dir, "glue", "logs", "jobs", "output", "jr_1")
	for p, text := range map[string]string{
		lam:        "START RequestId: r1 Version: $LATEST\nhello\nEND RequestId: r1\nREPORT RequestId: r1\tDuration: 1.00 ms\n",
		lam + ".1": "rotated\n",
		glueOut:    "job says hi\n",
		filepath.Join(b.dir, "glue", "logs", "jobs", "error", "jr_1"): "",
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var f eventsOut
	b.call(t, "FilterLogEvents", map[string]any{"logGroupName": "/aws/lambda/fn", "filterPattern": "RequestId"}, &f)
	if got := messages(f); len(got) != 3 || !strings.HasPrefix(got[0], "START") || f.Events[0].LogStreamName != "2026/03/01/[$LATEST]abc" {
		t.Fatalf("Lambda's stream: %+v", f.Events)
	}
	var g eventsOut
	b.call(t, "GetLogEvents", map[string]any{"logGroupName": "/aws-glue/jobs/output", "logStreamName": "jr_1"}, &g)
	if got := messages(g); len(got) != 1 || got[0] != "job says hi" {
		t.Fatalf("Glue's stream: %v", got)
	}
	if err := b.try("GetLogEvents", map[string]any{"logGroupName": "/aws/lambda/fn", "logStreamName": "../../../glue/logs/jobs/output/jr_1"}, nil); code(err) != "ResourceNotFoundException" {
		t.Fatalf("a stream name leaving the group's folder: %v", err)
	}
	if err := b.try("PutLogEvents", map[string]any{"logGroupName": "/aws/lambda/fn", "logStreamName": "2026/03/01/[$LATEST]abc",
		"logEvents": []any{map[string]any{"timestamp": b.clock.Now().UnixMilli(), "message": "x"}}}, nil); err == nil {
		t.Fatal("PutLogEvents into Lambda's stream was accepted")
	}
	var groups struct {
		LogGroups []struct {
			LogGroupName string `json:"logGroupName"`
		} `json:"logGroups"`
	}
	b.call(t, "DescribeLogGroups", map[string]string{"logGroupNamePrefix": "/aws"}, &groups)
	var names []string
	for _, g := range groups.LogGroups {
		names = append(names, g.LogGroupName)
	}
	if strings.Join(names, ",") != "/aws-glue/jobs/error,/aws-glue/jobs/output,/aws/lambda/fn" {
		t.Fatalf("groups: %v", names)
	}
}

// TestExecutionLogs: events are written in Step Functions' format, filtered by level, into
// states/NAME/MINUTE/ID streams of the destination group, which is made if missing.
func TestExecutionLogs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	x := b.svc.ExecutionLogs()
	cfg := func(level string, data bool) []byte {
		raw, _ := json.Marshal(map[string]any{"level": level, "includeExecutionData": data, "destinations": []any{
			map[string]any{"cloudWatchLogsLogGroup": map[string]string{"logGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/sfn/m:*"}}}})
		return raw
	}
	in, out := `{"a":1}`, `{"b":2}`
	errName, cause := "E", "boom"
	now := b.clock.Now()
	events := []history.Event{
		{ID: 1, Timestamp: now, Type: "ExecutionStarted", Details: history.Details{Input: &in, RoleArn: "arn:aws:iam::123456789012:role/r"}},
		{ID: 2, PreviousEventID: 0, Timestamp: now, Type: "PassStateEntered", Details: history.Details{Name: "P", Input: &in}},
		{ID: 3, PreviousEventID: 2, Timestamp: now, Type: "PassStateExited", Details: history.Details{Name: "P", Output: &out}},
		{ID: 4, PreviousEventID: 3, Timestamp: now, Type: "FailStateEntered", Details: history.Details{Name: "F", Input: &out}},
		{ID: 5, PreviousEventID: 4, Timestamp: now, Type: "ExecutionFailed", Details: history.Details{Error: &errName, Cause: &cause}},
	}
	arn := "arn:aws:states:us-east-1:123456789012:execution:m:e"
	for _, level := range []string{"OFF", "FATAL", "ERROR", "ALL"} {
		if err := x.Log(cfg(level, level == "ALL"), "m", arn, 0, events); err != nil {
			t.Fatal(err)
		}
	}
	var f eventsOut
	b.call(t, "FilterLogEvents", map[string]any{"logGroupName": "/sfn/m"}, &f)
	var types []string
	for _, e := range f.Events {
		var m map[string]any
		if err := json.Unmarshal([]byte(e.Message), &m); err != nil {
			t.Fatalf("not JSON: %s", e.Message)
		}
		types = append(types, m["type"].(string))
		if e.LogStreamName != "states/m/2026-03-01-12-00/"+x.id {
			t.Fatalf("stream %q", e.LogStreamName)
		}
	}
	// FATAL: ExecutionFailed; ERROR: FailStateEntered, ExecutionFailed; ALL: all five.
	want := "ExecutionFailed,FailStateEntered,ExecutionFailed,ExecutionStarted,PassStateEntered,PassStateExited,FailStateEntered,ExecutionFailed"
	if strings.Join(types, ",") != want {
		t.Fatalf("logged %v", types)
	}
	wantLast := `{"id":"5","type":"ExecutionFailed","details":{"error":"E","cause":"boom"},"previous_event_id":"4","event_timestamp":"1772366400000","execution_arn":"` + arn + `","redrive_count":"0"}`
	if got := f.Events[len(f.Events)-1].Message; got != wantLast {
		t.Fatalf("last event:\n got %s\nwant %s", got, wantLast)
	}
	if got := f.Events[1].Message; !strings.Contains(got, `"details":{"name":"F"}`) {
		t.Fatalf("ERROR without execution data: %s", got)
	}
}

// TestHTTP: the handler answers JSON 1.1 with AWS's error shape.
func TestHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := httptest.NewServer(b.svc)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"logGroupName":"missing"}`))
	req.Header.Set("X-Amz-Target", "Logs_20140328.DescribeLogStreams")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(res.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 400 || e.Type != "ResourceNotFoundException" || e.Message != "The specified log group does not exist." {
		t.Fatalf("%d %+v", res.StatusCode, e)
	}
}

// TestStoredEventsLogAlike: a step the engine's loop committed is logged from the store's JSON
// of its events; the log events must be those of the events themselves.
func TestStoredEventsLogAlike(t *testing.T) {
	t.Parallel()
	in, out, params := `{"a":[1,2.50]}`, `"x"`, `{"FunctionName":"f"}`
	errName, cause := "States.TaskFailed", `{"errorMessage":"boom"}`
	timeout := int64(30)
	now := time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.UTC)
	events := []history.Event{
		{ID: 1, Timestamp: now, Type: "ExecutionStarted", Details: history.Details{Input: &in, RoleArn: "arn:aws:iam::1:role/r"}},
		{ID: 2, PreviousEventID: 0, Timestamp: now, Type: "TaskStateEntered", Details: history.Details{Name: "T", Input: &in}},
		{ID: 3, PreviousEventID: 2, Timestamp: now, Type: "TaskScheduled", Details: history.Details{Resource: "invoke", ResourceType: "lambda", Region: "us-east-1", Parameters: &params, TimeoutInSeconds: &timeout}},
		{ID: 4, PreviousEventID: 3, Timestamp: now, Type: "TaskStarted", Details: history.Details{Resource: "invoke", ResourceType: "lambda"}},
		{ID: 5, PreviousEventID: 4, Timestamp: now, Type: "TaskFailed", Details: history.Details{Resource: "invoke", ResourceType: "lambda", Error: &errName, Cause: &cause}},
		{ID: 6, PreviousEventID: 5, Timestamp: now, Type: "ParallelStateStarted"},
		{ID: 7, PreviousEventID: 6, Timestamp: now, Type: "PassStateExited", Details: history.Details{Name: "P", Output: &out,
			AssignedVariables: []history.Assigned{{Name: "v", Value: "1"}}}},
		{ID: 8, PreviousEventID: 7, Timestamp: now, Type: "ExecutionSucceeded", Details: history.Details{Output: &out}},
	}
	arn := "arn:aws:states:us-east-1:1:execution:m:e"
	for _, include := range []bool{true, false} {
		for i := range events {
			want := string(events[i].AppendLogJSON(nil, arn, 2, include))
			stored := &store.HistoryEvent{ID: events[i].ID, Type: events[i].Type, Timestamp: events[i].Timestamp, Payload: events[i].AppendJSON(nil, true)}
			got, err := storedLogJSON(nil, stored, arn, 2, include)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Errorf("%s (includeExecutionData %v):\n got %s\nwant %s", events[i].Type, include, got, want)
			}
		}
	}
}

// revisions is a store of one execution pinned to one revision, counting reads.
type revisions struct {
	ex    store.Execution
	rev   store.StateMachine
	reads int
}

func (r *revisions) ExecutionGet(_ context.Context, p *store.ExecutionGetParams) (*store.Execution, error) {
	r.reads++
	if p.Arn != r.ex.Arn {
		return nil, store.ErrNotFound
	}
	return &r.ex, nil
}

func (r *revisions) StateMachineGet(_ context.Context, p *store.StateMachineGetParams) (*store.StateMachine, error) {
	r.reads++
	if p.Arn != r.rev.Arn || p.RevisionID != r.rev.RevisionID {
		return nil, store.ErrNotFound
	}
	return &r.rev, nil
}

// TestStoreLoggerFindsTheRevision: a step of an execution this node did not start (another
// node's, or before a restart) is logged by the loggingConfiguration of the revision the
// store says it runs, read once; an execution of a machine that logs nothing writes nothing.
func TestStoreLoggerFindsTheRevision(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sm := "arn:aws:states:us-east-1:123456789012:stateMachine:orders"
	arn := "arn:aws:states:us-east-1:123456789012:execution:orders:x1"
	r := &revisions{
		ex: store.Execution{Arn: arn, StateMachineArn: sm, RevisionID: "r2"},
		rev: store.StateMachine{Arn: sm, Revision: store.Revision{RevisionID: "r2", LoggingConfiguration: []byte(`{"level":"ALL","includeExecutionData":false,` +
			`"destinations":[{"cloudWatchLogsLogGroup":{"logGroupArn":"arn:aws:logs:us-east-1:123456789012:log-group:orders-logs:*"}}]}`)}},
	}
	l := &StoreLogger{Logs: b.svc.ExecutionLogs(), Store: r}
	in := `{"secret":1}`
	step := func(id int64, typ string) []*store.HistoryEvent {
		e := history.Event{ID: id, PreviousEventID: id - 1, Timestamp: b.clock.Now(), Type: typ, Details: history.Details{Name: "S", Input: &in}}
		return []*store.HistoryEvent{{ID: id, Type: typ, Timestamp: e.Timestamp, Payload: e.AppendJSON(nil, true)}}
	}
	child := "arn:aws:states:us-east-1:123456789012:express:orders/map:x1-child:1"
	tr := func(arn string, events []*store.HistoryEvent, children ...*store.ChildHistory) *store.Transition {
		return &store.Transition{ExecutionArn: arn, Mutations: store.Mutations{Events: events, Children: children}}
	}
	l.LogCommitted(context.Background(), []*store.Transition{tr(arn, step(5, "PassStateEntered"))})
	l.LogCommitted(context.Background(), []*store.Transition{tr(arn, step(6, "PassStateEntered"), &store.ChildHistory{ExecutionArn: child, Events: step(1, "ExecutionStarted")})})
	if r.reads != 2 {
		t.Fatalf("%d store reads for two steps, want 2 (the execution and its revision, once)", r.reads)
	}
	var f eventsOut
	b.call(t, "FilterLogEvents", map[string]any{"logGroupName": "orders-logs"}, &f)
	if got := messages(f); len(got) != 3 || strings.Contains(got[0], "secret") || !strings.Contains(got[0], `"details":{"name":"S"}`) ||
		!strings.HasPrefix(f.Events[0].LogStreamName, "states/orders/") {
		t.Fatalf("logged %v in %+v", got, f.Events)
	}
	// A Map Run child's events go to its parent's group, under the child's ARN.
	if got := messages(f)[2]; !strings.Contains(got, `"type":"ExecutionStarted"`) || !strings.Contains(got, `"execution_arn":"`+child+`"`) {
		t.Fatalf("the child's event: %s", got)
	}
	// An execution the store does not know is not logged, and says so only in the log.
	l.LogCommitted(context.Background(), []*store.Transition{tr(arn+"-gone", step(1, "ExecutionStarted"))})
	b.call(t, "FilterLogEvents", map[string]any{"logGroupName": "orders-logs"}, &f)
	if len(f.Events) != 3 {
		t.Fatalf("an unknown execution was logged: %v", messages(f))
	}
}

// TestDescribeLogStreamsPages: by name or by last write, a page at a time.
func TestDescribeLogStreamsPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.call(t, "CreateLogGroup", map[string]string{"logGroupName": "g"}, nil)
	for i, name := range []string{"b", "c", "a"} {
		b.call(t, "CreateLogStream", map[string]string{"logGroupName": "g", "logStreamName": name}, nil)
		b.put(t, "g", name, "x")
		when := b.clock.Now().Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(filepath.Join(b.dir, "logs", "g", "streams", name), when, when); err != nil {
			t.Fatal(err)
		}
	}
	type page struct {
		LogStreams []struct {
			LogStreamName string `json:"logStreamName"`
		} `json:"logStreams"`
		NextToken string `json:"nextToken"`
	}
	names := func(in map[string]any) []string {
		var out []string
		for {
			var p page
			b.call(t, "DescribeLogStreams", in, &p)
			for _, s := range p.LogStreams {
				out = append(out, s.LogStreamName)
			}
			if p.NextToken == "" {
				return out
			}
			in["nextToken"] = p.NextToken
		}
	}
	if got := names(map[string]any{"logGroupName": "g", "limit": 2}); strings.Join(got, ",") != "a,b,c" {
		t.Errorf("by name: %v", got)
	}
	if got := names(map[string]any{"logGroupName": "g", "limit": 2, "orderBy": "LastEventTime", "descending": true}); strings.Join(got, ",") != "a,c,b" {
		t.Errorf("by last write, newest first: %v", got)
	}
	if got := names(map[string]any{"logGroupName": "g", "logStreamNamePrefix": "c"}); strings.Join(got, ",") != "c" {
		t.Errorf("by prefix: %v", got)
	}
}
