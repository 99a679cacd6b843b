package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/server"
)

// resultFile is a record of a ResultWriter's file, as far as these tests read it.
type resultFile struct {
	Status, Error, Input, Output string
	InputDetails                 struct{ Included bool }
}

type resultManifest struct {
	DestinationBucket, MapRunArn string
	ResultFiles                  map[string][]struct {
		Key  string
		Size int64
	}
}

// TestResultWriterWhenTheMapFails runs a Distributed Map over 30 batches, one at a time, whose
// eleventh batch fails while gate.txt is missing: the Map fails with the child's error, and its
// ResultWriter has written AWS's files for the failed Map Run first (ten records in
// SUCCEEDED_0.json, the failed one in FAILED_0.json, the nineteen batches that never started
// in PENDING_0.json, manifest.json listing them). Redriven once the gate is there, the Map Run
// runs the twenty others; the redrive's files are a generation of their own (Redrive-1/),
// its manifest lists both generations', which hold the whole Map Run's results together, and
// no part file is left in the bucket.
func TestResultWriterWhenTheMapFails(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	s3c := s3Client(b.url)
	for _, bucket := range []string{"fail-in", "fail-out"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
	}
	var csv strings.Builder
	csv.WriteString("id,word\n")
	for i := range 3000 {
		fmt.Fprintf(&csv, "%d,w%d\n", i, i)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("fail-in"), Key: aws.String("rows.csv"),
		Body: strings.NewReader(csv.String())}); err != nil {
		t.Fatal(err)
	}
	machine := b.createMachine(t, "fails-written", `{"StartAt":"M","States":{"M":{"Type":"Map","Label":"Rows","MaxConcurrency":1,
		"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"},
			"Parameters":{"Bucket":"fail-in","Key":"rows.csv"}},
		"ItemBatcher":{"MaxItemsPerBatch":100},
		"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"fail-out","Prefix":"runs"}},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"C",
			"States":{
				"C":{"Type":"Choice","Choices":[{"Variable":"$.Items[0].id","StringEquals":"1000","Next":"Gate"}],"Default":"Count"},
				"Gate":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:getObject","Parameters":{"Bucket":"fail-in","Key":"gate.txt"},"ResultPath":null,"Next":"Count"},
				"Count":{"Type":"Pass","Parameters":{"first.$":"$.Items[0].id"},"End":true}}},
		"End":true}}}`)
	exec := b.start(t, machine, "fails-1", `{}`)
	out := b.waitDone(t, exec)
	if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != "S3.NoSuchKeyException" {
		t.Fatalf("%s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	mapRun := *b.onlyMapRun(t, exec).MapRunArn
	id := mapRun[strings.LastIndexByte(mapRun, ':')+1:]
	if d := b.describeMapRun(t, mapRun); d.Status != types.MapRunStatusFailed || counts(d.ItemCounts) != "19/0/10/1/0/30" {
		t.Fatalf("failed Map Run: %s, items %s", d.Status, counts(d.ItemCounts))
	}
	get := func(key string) []byte {
		t.Helper()
		o, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("fail-out"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		defer o.Body.Close()
		body, _ := io.ReadAll(o.Body)
		return body
	}
	records := func(key string) []resultFile {
		t.Helper()
		var recs []resultFile
		if err := json.Unmarshal(get(key), &recs); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return recs
	}
	var manifest resultManifest
	if err := json.Unmarshal(get("runs/"+id+"/manifest.json"), &manifest); err != nil || manifest.MapRunArn != mapRun || manifest.DestinationBucket != "fail-out" {
		t.Fatalf("manifest of the failed run: %+v (%v)", manifest, err)
	}
	for status, n := range map[string]int{"SUCCEEDED": 10, "FAILED": 1, "PENDING": 19} {
		files := manifest.ResultFiles[status]
		if len(files) != 1 || files[0].Key != "runs/"+id+"/"+status+"_0.json" || files[0].Size != int64(len(get(files[0].Key))) {
			t.Fatalf("%s files %+v", status, files)
		}
		recs := records(files[0].Key)
		if len(recs) != n {
			t.Fatalf("%s_0.json: %d records, want %d", status, len(recs), n)
		}
		for i, rec := range recs {
			switch {
			case status == "PENDING" && (rec.Status != "PENDING" || !rec.InputDetails.Included ||
				!strings.Contains(rec.Input, fmt.Sprintf(`{"id":"%d","word":"w%d"}`, 1100+100*i, 1100+100*i))):
				t.Fatalf("pending record %d: %+v", i, rec)
			case status == "FAILED" && (rec.Status != "FAILED" || rec.Error != "S3.NoSuchKeyException" || !strings.Contains(rec.Input, `"id":"1000"`)):
				t.Fatalf("failed record: %+v", rec)
			case status == "SUCCEEDED" && (rec.Status != "SUCCEEDED" || rec.Output != fmt.Sprintf(`{"first":"%d"}`, 100*i)):
				t.Fatalf("succeeded record %d: %+v", i, rec)
			}
		}
	}

	// Redriven with the gate there: the failed batch and the nineteen pending ones run.
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("fail-in"), Key: aws.String("gate.txt"),
		Body: strings.NewReader("open")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(exec)}); err != nil {
		t.Fatalf("RedriveExecution: %v", err)
	}
	out = b.waitDone(t, exec)
	if out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("redriven: %s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	var res struct {
		MapRunArn           string
		ResultWriterDetails struct{ Bucket, Key string }
	}
	redriveDir := "runs/" + id + "/Redrive-1/"
	if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &res); err != nil || res.MapRunArn != mapRun ||
		res.ResultWriterDetails.Bucket != "fail-out" || res.ResultWriterDetails.Key != redriveDir+"manifest.json" {
		t.Fatalf("redriven output %s", aws.ToString(out.Output))
	}
	manifest = resultManifest{}
	if err := json.Unmarshal(get(res.ResultWriterDetails.Key), &manifest); err != nil || manifest.MapRunArn != mapRun {
		t.Fatalf("manifest of the redrive: %+v (%v)", manifest, err)
	}
	var keys []string
	firsts := map[string]bool{}
	for _, status := range []string{"FAILED", "PENDING", "SUCCEEDED"} {
		for _, f := range manifest.ResultFiles[status] {
			keys = append(keys, f.Key)
			if f.Size != int64(len(get(f.Key))) {
				t.Fatalf("%s: size %d in the manifest", f.Key, f.Size)
			}
			if status == "SUCCEEDED" {
				for _, rec := range records(f.Key) {
					var o struct{ First string }
					_ = json.Unmarshal([]byte(rec.Output), &o)
					firsts[o.First] = true
				}
			}
		}
	}
	want := []string{"runs/" + id + "/FAILED_0.json", "runs/" + id + "/PENDING_0.json",
		"runs/" + id + "/SUCCEEDED_0.json", redriveDir + "SUCCEEDED_0.json"}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("redrive's manifest lists %v, want %v", keys, want)
	}
	if len(firsts) != 30 {
		t.Fatalf("the succeeded files hold %d batches, want the 30", len(firsts))
	}
	if n := len(records(redriveDir + "SUCCEEDED_0.json")); n != 20 {
		t.Fatalf("the redrive's SUCCEEDED_0.json has %d records, want 20", n)
	}
	// Only the files and manifests remain: no part of either run.
	list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("fail-out"), Prefix: aws.String("runs/")})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, o := range list.Contents {
		left = append(left, strings.TrimPrefix(aws.ToString(o.Key), "runs/"+id+"/"))
	}
	if got := strings.Join(left, " "); got != "FAILED_0.json PENDING_0.json Redrive-1/SUCCEEDED_0.json Redrive-1/manifest.json SUCCEEDED_0.json manifest.json" {
		t.Fatalf("objects left: %s", got)
	}
}

// TestToleratedPercentageOfAllItems: a reader's Map judges ToleratedFailurePercentage against
// all its items, as AWS does, not the items read so far. 100 of 3,000 JSON Lines items fail
// among the first 2,500 read (4% of those, 3.33% of all): a 3.5% threshold holds; 120 (4%)
// exceed it, and the Map fails with States.ExceedToleratedFailureThreshold once all are read
// and more than 105 failed.
func TestToleratedPercentageOfAllItems(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	s3c := s3Client(b.url)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pct-in")}); err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&body, "{\"n\":%d}\n", i)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pct-in"), Key: aws.String("rows.jsonl"),
		Body: strings.NewReader(body.String())}); err != nil {
		t.Fatal(err)
	}
	machine := b.createMachine(t, "pct", `{"StartAt":"M","States":{"M":{"Type":"Map","ToleratedFailurePercentage":3.5,
		"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"JSONL"},
			"Parameters":{"Bucket":"pct-in","Key":"rows.jsonl"}},
		"ItemSelector":{"n.$":"$$.Map.Item.Value.n","below.$":"$.below"},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"C",
			"States":{
				"C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericLessThanPath":"$.below","Next":"F"}],"Default":"P"},
				"F":{"Type":"Fail","Error":"Row.Bad","Cause":"a bad row"},
				"P":{"Type":"Pass","OutputPath":"$.n","End":true}}},
		"ResultPath":null,"End":true}}}`)
	for _, c := range []struct {
		below  int
		status types.ExecutionStatus
		failed int64
	}{{100, types.ExecutionStatusSucceeded, 100}, {120, types.ExecutionStatusFailed, 120}} {
		exec := b.start(t, machine, fmt.Sprintf("below-%d", c.below), fmt.Sprintf(`{"below":%d}`, c.below))
		out := b.waitDone(t, exec)
		if out.Status != c.status || c.status == types.ExecutionStatusFailed && aws.ToString(out.Error) != "States.ExceedToleratedFailureThreshold" {
			t.Fatalf("%d failing: %s %s %s", c.below, out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
		}
		d := b.describeMapRun(t, *b.onlyMapRun(t, exec).MapRunArn)
		// A Map that fails stops at the first failure past the threshold: 106 is 3.53% of
		// all the items. Which of the 120 failing children ended by then depends on when
		// their groups came back (the others are aborted).
		if c.status == types.ExecutionStatusFailed && d.ItemCounts.Failed >= 106 && d.ItemCounts.Failed <= c.failed {
			c.failed = d.ItemCounts.Failed
		}
		if d.ItemCounts.Failed != c.failed || d.ItemCounts.Total != 3000 {
			t.Fatalf("%d failing: items %s", c.below, counts(d.ItemCounts))
		}
	}
}

// TestResultWriterPartsOfAStoppedRun: a Map Run stopped after one child's record was written
// as a part leaves that part (it wrote no manifest); its redrive writes its own generation and
// deletes the stopped run's parts, so that only result files and manifests stay in the bucket.
func TestResultWriterPartsOfAStoppedRun(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	s3c := s3Client(b.url)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("stop-out")}); err != nil {
		t.Fatal(err)
	}
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("stop-worker")})
	if err != nil {
		t.Fatal(err)
	}
	machine := b.createMachine(t, "stopped-parts", mapOnActivity(*act.ActivityArn, `"MaxConcurrency":1,
		"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"stop-out","Prefix":"runs"}},`))
	exec := b.start(t, machine, "", `[1,2,3]`)
	keys := func() []string {
		t.Helper()
		list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("stop-out")})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range list.Contents {
			out = append(out, aws.ToString(o.Key))
		}
		return out
	}
	tok := b.pollTask(t, *act.ActivityArn).TaskToken
	if _, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: tok, Output: aws.String(`"one"`)}); err != nil {
		t.Fatal(err)
	}
	// The second child's task arrives once the first child's step ended, whose records were
	// handed to a part task then; the part is there once that task ran.
	tok = b.pollTask(t, *act.ActivityArn).TaskToken
	for range 500 {
		if len(keys()) > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond) // waits for the part task, which reports to nobody
	}
	if k := keys(); len(k) != 1 || !strings.Contains(k[0], "/.parts/SUCCEEDED_0") {
		t.Fatalf("objects before the stop: %v", k)
	}
	if _, err := b.client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(exec)}); err != nil {
		t.Fatal(err)
	}
	if out := b.waitDone(t, exec); out.Status != types.ExecutionStatusAborted {
		t.Fatalf("stopped: %s", out.Status)
	}
	if _, err := b.client.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(exec)}); err != nil {
		t.Fatalf("RedriveExecution: %v", err)
	}
	_ = tok // the stopped child's token: its task was withdrawn
	for range 2 {
		tok := b.pollTask(t, *act.ActivityArn).TaskToken
		if _, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: tok, Output: aws.String(`"more"`)}); err != nil {
			t.Fatal(err)
		}
	}
	out := b.waitDone(t, exec)
	if out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("redriven: %s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	for _, k := range keys() {
		if strings.Contains(k, "/.parts/") {
			t.Fatalf("a part was left behind: %v", keys())
		}
	}
	// The stopped run's part became its SUCCEEDED_0.json and manifest, which the redrive's
	// manifest lists with its own file: the three children's records.
	k := keys()
	if len(k) != 4 || !strings.HasSuffix(k[0], "/Redrive-1/SUCCEEDED_0.json") || !strings.HasSuffix(k[1], "/Redrive-1/manifest.json") ||
		!strings.HasSuffix(k[2], "/SUCCEEDED_0.json") || !strings.HasSuffix(k[3], "/manifest.json") {
		t.Fatalf("objects after the redrive: %v", k)
	}
	var res struct{ ResultWriterDetails struct{ Key string } }
	if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &res); err != nil || res.ResultWriterDetails.Key != k[1] {
		t.Fatalf("output %s", aws.ToString(out.Output))
	}
	read := func(key string) []byte {
		t.Helper()
		o, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("stop-out"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		defer o.Body.Close()
		b, _ := io.ReadAll(o.Body)
		return b
	}
	var manifest resultManifest
	if err := json.Unmarshal(read(k[1]), &manifest); err != nil {
		t.Fatal(err)
	}
	var outputs []string
	for _, f := range manifest.ResultFiles["SUCCEEDED"] {
		var recs []resultFile
		if err := json.Unmarshal(read(f.Key), &recs); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			outputs = append(outputs, r.Output)
		}
	}
	if got := strings.Join(outputs, " "); got != `"one" "more" "more"` || len(manifest.ResultFiles["FAILED"])+len(manifest.ResultFiles["PENDING"]) != 0 {
		t.Fatalf("the redrive's manifest %+v holds %s", manifest, got)
	}
}
