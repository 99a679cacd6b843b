package task_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/s3"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/sqlite"
	"github.com/stepline/stepline/internal/task"
)

// TestDurableItemReaderResultWriter runs a distributed Map over a CSV object through the
// durable engine on SQLite and the real S3 service: 10,000 rows read in chunks, batched 500 to
// a child, EXPRESS children of a Choice that fails the batch holding row 5000 (tolerated),
// results written to another bucket in parts and joined into AWS's files; then a Map whose
// object is missing fails with States.ItemReaderFailed and S3's message.
func TestDurableItemReaderResultWriter(t *testing.T) {
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
	call := func(method, path string, body string) *httptest.ResponseRecorder {
		t.Helper()
		rec := httptest.NewRecorder()
		s3svc.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		if rec.Code >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		return rec
	}
	call(http.MethodPut, "/in-bucket", "")
	call(http.MethodPut, "/out-bucket", "")
	const rows = 10000
	var csv strings.Builder
	csv.WriteString("id,name,pad\n")
	pad := strings.Repeat("x", 200)
	for i := range rows {
		fmt.Fprintf(&csv, "%d,\"name, %d\",%s\n", i, i, pad)
	}
	call(http.MethodPut, "/in-bucket/data/rows.csv", csv.String())

	e, err := engine.New(engine.Options{Store: st, Node: "n1", PollInterval: 5 * time.Millisecond,
		Runner: task.New(task.Options{S3: s3svc})})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Stop(ctx)
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":4,"ToleratedFailureCount":1,
		"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"},
			"Parameters":{"Bucket":"in-bucket","Key.$":"$.key"}},
		"ItemBatcher":{"MaxItemsPerBatch":500},
		"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"out-bucket","Prefix":"runs"}},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"C",
			"States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.Items[0].id","StringEquals":"5000","Next":"F"}],"Default":"P"},
				"F":{"Type":"Fail","Error":"Bad","Cause":"row 5000"},
				"P":{"Type":"Pass","Parameters":{"first.$":"$.Items[0].id","n.$":"States.ArrayLength($.Items)"},"End":true}}},
		"End":true}}}`
	now := time.Now().UTC()
	sm, err := st.StateMachineCreate(ctx, &store.StateMachineCreateParams{
		Arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm", Name: "sm", Type: store.StateMachineStandard, CreatedAt: now,
		Revision: store.Revision{RevisionID: "r1", RevisionCreatedAt: now, Definition: def, RoleArn: "arn:aws:iam::123456789012:role/r"},
	})
	if err != nil {
		t.Fatal(err)
	}
	run := func(name, input string) *store.Execution {
		t.Helper()
		ex, err := e.StartExecution(ctx, engine.StartParams{StateMachine: sm, Name: name, Input: input})
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			got, err := st.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: ex.Arn})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.Terminal() || time.Now().After(deadline) {
				return got
			}
		}
	}

	got := run("ok", `{"key":"data/rows.csv"}`)
	if got.Status != store.StatusSucceeded || got.Output == nil {
		t.Fatalf("status %s error %v cause %v", got.Status, deref(got.Error), deref(got.Cause))
	}
	var out struct {
		MapRunArn           string
		ResultWriterDetails struct{ Bucket, Key string }
	}
	if err := json.Unmarshal([]byte(*got.Output), &out); err != nil {
		t.Fatal(err)
	}
	id := out.MapRunArn[strings.LastIndexByte(out.MapRunArn, ':')+1:]
	if out.ResultWriterDetails.Bucket != "out-bucket" || out.ResultWriterDetails.Key != "runs/"+id+"/manifest.json" {
		t.Fatalf("output %s", *got.Output)
	}
	var manifest struct {
		DestinationBucket, MapRunArn string
		ResultFiles                  map[string][]struct {
			Key  string
			Size int64
		}
	}
	if err := json.Unmarshal(call(http.MethodGet, "/out-bucket/"+out.ResultWriterDetails.Key, "").Body.Bytes(), &manifest); err != nil {
		t.Fatal(err)
	}
	if manifest.DestinationBucket != "out-bucket" || manifest.MapRunArn != out.MapRunArn || len(manifest.ResultFiles["PENDING"]) != 0 ||
		len(manifest.ResultFiles["SUCCEEDED"]) != 1 || len(manifest.ResultFiles["FAILED"]) != 1 {
		t.Fatalf("manifest %+v", manifest)
	}
	type record struct {
		ExecutionArn, Name, Input, Output, Status, Error, Cause, StartDate, StopDate, StateMachineArn string
		InputDetails                                                                                  struct{ Included bool }
	}
	read := func(status string) []record {
		t.Helper()
		f := manifest.ResultFiles[status][0]
		if f.Key != "runs/"+id+"/"+status+"_0.json" {
			t.Fatalf("%s file %s", status, f.Key)
		}
		body := call(http.MethodGet, "/out-bucket/"+f.Key, "").Body.Bytes()
		if int64(len(body)) != f.Size {
			t.Errorf("%s file of %d bytes, manifest says %d", status, len(body), f.Size)
		}
		var recs []record
		if err := json.Unmarshal(body, &recs); err != nil {
			t.Fatalf("%s file: %v", status, err)
		}
		return recs
	}
	succeeded, failed := read("SUCCEEDED"), read("FAILED")
	if len(succeeded) != rows/500-1 || len(failed) != 1 {
		t.Fatalf("%d succeeded and %d failed records, want %d and 1", len(succeeded), len(failed), rows/500-1)
	}
	seen := map[string]bool{}
	for _, r := range succeeded {
		var in struct{ Items []map[string]string }
		var o struct {
			First string
			N     int
		}
		if err := json.Unmarshal([]byte(r.Input), &in); err != nil || json.Unmarshal([]byte(r.Output), &o) != nil {
			t.Fatalf("record %+v", r)
		}
		if r.Status != "SUCCEEDED" || len(in.Items) != 500 || o.N != 500 || in.Items[0]["id"] != o.First ||
			in.Items[1]["name"] != "name, "+in.Items[1]["id"] || in.Items[0]["pad"] != pad || !strings.Contains(r.ExecutionArn, ":express:sm/") ||
			!r.InputDetails.Included || r.StartDate == "" || r.StateMachineArn == "" {
			t.Fatalf("record %s %s %+v", r.Status, r.Output, in.Items[0])
		}
		seen[o.First] = true
	}
	if len(seen) != rows/500-1 || seen["5000"] {
		t.Errorf("batches starting at %v", seen)
	}
	if f := failed[0]; f.Error != "Bad" || f.Cause != "row 5000" || f.Status != "FAILED" || !strings.Contains(f.Input, `"id":"5000"`) {
		t.Errorf("failed record %+v", f)
	}
	// The parts were joined and deleted: the Map Run's folder holds the manifest and the files.
	list := call(http.MethodGet, "/out-bucket?list-type=2&prefix=runs/", "").Body.String()
	if n := strings.Count(list, "<Key>"); n != 3 || strings.Contains(list, ".parts") {
		t.Errorf("the results folder holds %d objects: %s", n, list)
	}

	got = run("missing", `{"key":"data/nope.csv"}`)
	if got.Status != store.StatusFailed || deref(got.Error) != "States.ItemReaderFailed" || !strings.Contains(deref(got.Cause), "The specified key does not exist.") {
		t.Fatalf("missing object: status %s error %v cause %v", got.Status, deref(got.Error), deref(got.Cause))
	}
}
