package interp_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
)

// fakeReader answers a Map's read tasks from items, chunk at a time, its cursor the index of
// the next item: the runner's part, which package itemreader does for S3.
type fakeReader struct {
	t     *testing.T
	items []string
	chunk int
	reads int
	specs []string
}

func (f *fakeReader) answer(s interp.ScheduleTask) interp.Event {
	f.t.Helper()
	if s.Resource != interp.ReadItemsResource {
		f.t.Fatalf("task %s, want a read", s.Resource)
	}
	f.reads++
	p := s.Parameters.(*jsonv.Object)
	spec, _ := p.Get("Reader")
	f.specs = append(f.specs, jsonv.String(spec))
	start := 0
	if c, _ := p.Get("Cursor"); c != nil {
		n, _ := c.(jsonv.Number).Int64()
		start = int(n)
	}
	end := min(start+f.chunk, len(f.items))
	out := `{"Items":[` + strings.Join(f.items[start:end], ",") + `],"Cursor":` + strconv.Itoa(end) +
		`,"Done":` + strconv.FormatBool(end == len(f.items)) + `}`
	return interp.TaskSucceeded{TaskID: s.TaskID, Output: out}
}

func TestMapReaderBatchesSelectsAndResumes(t *testing.T) {
	def := mustParse(t, `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":2,
		"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"JSON","MaxItemsPath":"$.max"},
			"Parameters":{"Bucket":"b","Key.$":"$.key"}},
		"ItemSelector":{"v.$":"$$.Map.Item.Value","i.$":"$$.Map.Item.Index"},
		"ItemBatcher":{"MaxItemsPerBatch":3,"BatchInput":{"b.$":"$.key"}},
		"ItemsPath":"$.ignored",
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"P",
			"States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`)
	f := &fakeReader{t: t, chunk: 4}
	for i := range 10 {
		f.items = append(f.items, strconv.Itoa(i*10))
	}
	x, events := driveWith(t, def, `{"key":"k.json","max":7}`, f.answer, true)
	if x.Status != interp.Succeeded {
		t.Fatalf("status %s: %v %v", x.Status, deref(x.Error), deref(x.Cause))
	}
	batch := func(b string, from, to int) string {
		var items []string
		for i := from; i < to; i++ {
			items = append(items, `{"v":`+strconv.Itoa(i*10)+`,"i":`+strconv.Itoa(i)+`}`)
		}
		return `{"BatchInput":{"b":"` + b + `"},"Items":[` + strings.Join(items, ",") + `]}`
	}
	want := "[" + batch("k.json", 0, 3) + "," + batch("k.json", 3, 6) + "," + batch("k.json", 6, 9) + "," + batch("k.json", 9, 10) + "]"
	if *x.Output != want {
		t.Fatalf("output\n got %s\nwant %s", *x.Output, want)
	}
	// The reader is asked a chunk at a time (the fake ignores MaxItems: it is the runner's).
	if f.reads != 3 {
		t.Errorf("%d reads, want 3 chunks of 4", f.reads)
	}
	if want := `{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"b","Key":"k.json"},"ReaderConfig":{"InputType":"JSON","MaxItems":7}}`; f.specs[0] != want {
		t.Errorf("reader spec\n got %s\nwant %s", f.specs[0], want)
	}
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
	}
	if got := strings.Join(types, " "); got != "ExecutionStarted MapStateEntered MapStateStarted MapRunStarted MapRunSucceeded MapStateSucceeded MapStateExited ExecutionSucceeded" {
		t.Errorf("history: %s", got)
	}
	if l := events[2].Details.Length; l == nil || *l != 0 {
		t.Errorf("MapStateStarted length %v, want 0 as AWS records a reader's Map", l)
	}
	if runs := x.MapRuns(); len(runs) != 1 || runs[0].Items.Succeeded != 4 {
		t.Errorf("map runs %+v, want one of 4 succeeded items", runs)
	}
}

func TestMapReaderFailure(t *testing.T) {
	def := mustParse(t, `{"StartAt":"M","States":{"M":{"Type":"Map",
		"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"},
			"Parameters":{"Bucket":"b","Key":"k"}},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P",
			"States":{"P":{"Type":"Pass","End":true}}},
		"Catch":[{"ErrorEquals":["States.ItemReaderFailed"],"Next":"Caught"}],"End":true},
		"Caught":{"Type":"Pass","End":true}}}`)
	x, events := driveWith(t, def, `{}`, func(s interp.ScheduleTask) interp.Event {
		return interp.TaskFailed{TaskID: s.TaskID, Error: "States.ItemReaderFailed", Cause: "CSV headers cannot contain duplicates."}
	}, true)
	if x.Status != interp.Succeeded || *x.Output != `{"Error":"States.ItemReaderFailed","Cause":"CSV headers cannot contain duplicates."}` {
		t.Fatalf("status %s output %v", x.Status, deref(x.Output))
	}
	var failed *history.Event
	for i := range events {
		if events[i].Type == "MapRunFailed" {
			failed = &events[i]
		}
	}
	if failed == nil || deref(failed.Details.Error) != "States.ItemReaderFailed" || deref(failed.Details.Cause) != "CSV headers cannot contain duplicates." {
		t.Fatalf("MapRunFailed %+v", failed)
	}
}

func TestMapResultWriterRecords(t *testing.T) {
	def := mustParse(t, `{"StartAt":"M","States":{"M":{"Type":"Map","ToleratedFailureCount":1,
		"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"out","Prefix.$":"$.prefix"}},
		"ItemsPath":"$.items",
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"C",
			"States":{"C":{"Type":"Choice","Choices":[{"Variable":"$","NumericEquals":3,"Next":"F"}],"Default":"P"},
				"F":{"Type":"Fail","Error":"Bad","Cause":"three"},
				"P":{"Type":"Pass","End":true}}},"End":true}}}`)
	var writes []string
	x, _ := driveWith(t, def, `{"prefix":"p","items":[1,2,3,4,5]}`, func(s interp.ScheduleTask) interp.Event {
		if s.Resource != interp.WriteResultsResource {
			t.Fatalf("task %s, want a write", s.Resource)
		}
		writes = append(writes, jsonv.String(s.Parameters))
		if strings.Contains(writes[len(writes)-1], `"Manifest":true`) {
			return interp.TaskSucceeded{TaskID: s.TaskID, Output: `{"Bucket":"out","Key":"p/x/manifest.json"}`}
		}
		return interp.TaskSucceeded{TaskID: s.TaskID, Output: `{}`}
	}, true)
	if x.Status != interp.Succeeded {
		t.Fatalf("status %s: %v %v", x.Status, deref(x.Error), deref(x.Cause))
	}
	arn := x.MapRuns()[0].Arn
	if want := `{"MapRunArn":"` + arn + `","ResultWriterDetails":{"Bucket":"out","Key":"p/x/manifest.json"}}`; *x.Output != want {
		t.Fatalf("output %s, want %s", *x.Output, want)
	}
	if len(writes) != 2 {
		t.Fatalf("writes %q, want a part and the manifest", writes)
	}
	part, err := jsonv.ParseString(writes[0])
	if err != nil {
		t.Fatal(err)
	}
	w, _ := part.(*jsonv.Object).Get("Write")
	succeeded, _ := w.(*jsonv.Object).Get("SUCCEEDED")
	recs, _ := succeeded.(*jsonv.Object).Get("Records")
	if n := len(recs.([]jsonv.Value)); n != 4 {
		t.Fatalf("%d succeeded records, want 4: %s", n, writes[0])
	}
	r0 := recs.([]jsonv.Value)[0].(*jsonv.Object)
	for k, want := range map[string]string{"Input": "1", "Output": "1", "Status": "SUCCEEDED", "RedriveStatus": "NOT_REDRIVABLE"} {
		if v, _ := r0.Get(k); v != want {
			t.Errorf("record %s = %v, want %s", k, v, want)
		}
	}
	if v, _ := r0.Get("ExecutionArn"); !strings.Contains(v.(string), ":execution:") {
		t.Errorf("record ExecutionArn %v", v)
	}
	failed, _ := w.(*jsonv.Object).Get("FAILED")
	frecs, _ := failed.(*jsonv.Object).Get("Records")
	f0 := frecs.([]jsonv.Value)[0].(*jsonv.Object)
	for k, want := range map[string]string{"Input": "3", "Error": "Bad", "Cause": "three", "Status": "FAILED"} {
		if v, _ := f0.Get(k); v != want {
			t.Errorf("failed record %s = %v, want %s", k, v, want)
		}
	}
	if !strings.Contains(writes[1], `"Parts":{"FAILED":1,"PENDING":0,"SUCCEEDED":1}`) || !strings.Contains(writes[1], `"Prefix":"p"`) {
		t.Errorf("manifest task %s", writes[1])
	}
}

// TestMapResultWriterWhenTheMapFails: a Map with a ResultWriter that fails (its first child
// fails, nothing tolerated) writes its records first, as AWS writes a failed Map Run's: the
// failed child and the two it aborted in FAILED (statuses FAILED, ABORTED, ABORTED), the three
// items that never started in PENDING, then the manifest; only then does the Map fail with the
// child's error. The execution is restored from its snapshot between steps, the failure too.
func TestMapResultWriterWhenTheMapFails(t *testing.T) {
	def := mustParse(t, `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":3,
		"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"out","Prefix":"p"}},
		"ItemSelector":{"n.$":"$$.Map.Item.Value"},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"C",
			"States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericEquals":1,"Next":"F"}],"Default":"W"},
				"F":{"Type":"Fail","Error":"Bad","Cause":"one"},
				"W":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},"End":true}}},"End":true}}}`)
	var writes []string
	x, events := driveWith(t, def, `[1,2,3,4,5,6]`, func(s interp.ScheduleTask) interp.Event {
		if s.Resource != interp.WriteResultsResource {
			return interp.TaskSucceeded{TaskID: s.TaskID, Output: `{}`} // an aborted child's task, if it got one
		}
		writes = append(writes, jsonv.String(s.Parameters))
		if strings.Contains(writes[len(writes)-1], `"Manifest":true`) {
			return interp.TaskSucceeded{TaskID: s.TaskID, Output: `{"Bucket":"out","Key":"p/x/manifest.json"}`}
		}
		return interp.TaskSucceeded{TaskID: s.TaskID, Output: `{}`}
	}, true)
	if x.Status != interp.Failed || deref(x.Error) != "Bad" || deref(x.Cause) != "one" {
		t.Fatalf("status %s: %v %v", x.Status, deref(x.Error), deref(x.Cause))
	}
	if len(writes) != 2 || !strings.Contains(writes[1], `"Parts":{"FAILED":1,"PENDING":1,"SUCCEEDED":0}`) {
		t.Fatalf("writes %q, want a part and the manifest", writes)
	}
	part, err := jsonv.ParseString(writes[0])
	if err != nil {
		t.Fatal(err)
	}
	w, _ := part.(*jsonv.Object).Get("Write")
	field := func(status, key string) []string {
		s, _ := w.(*jsonv.Object).Get(status)
		recs, _ := s.(*jsonv.Object).Get("Records")
		var out []string
		for _, r := range recs.([]jsonv.Value) {
			v, _ := r.(*jsonv.Object).Get(key)
			out = append(out, v.(string))
		}
		return out
	}
	if got := strings.Join(field("FAILED", "Status"), " "); got != "FAILED ABORTED ABORTED" {
		t.Errorf("FAILED records' statuses: %s", got)
	}
	if got := strings.Join(field("PENDING", "Input"), " "); got != `{"n":4} {"n":5} {"n":6}` {
		t.Errorf("PENDING records' inputs: %s", got)
	}
	if got := strings.Join(field("PENDING", "Status"), " "); got != "PENDING PENDING PENDING" {
		t.Errorf("PENDING records' statuses: %s", got)
	}
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
	}
	if got := strings.Join(types, " "); !strings.Contains(got, "MapRunStarted MapRunFailed MapStateFailed ExecutionFailed") {
		t.Errorf("history: %s", got)
	}
	if runs := x.MapRuns(); len(runs) != 1 || runs[0].Status != interp.MapRunFailed || runs[0].Items.Failed != 1 ||
		runs[0].Items.Aborted != 2 || runs[0].Items.Pending != 3 {
		t.Errorf("map runs %+v", runs)
	}
}
