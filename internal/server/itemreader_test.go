package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/s3/s3test"
	"github.com/stepline/stepline/internal/server"
)

func s3Client(url string) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
}

// gatedMap is a distributed Map over a CSV object in batches of 100 rows whose STANDARD
// children succeed, except those of the batches starting at rows 0 and 500, which first read
// gate.txt (failing while it is missing).
const gatedMap = `{"StartAt":"M","States":{"M":{"Type":"Map","Label":"Rows","MaxConcurrency":5,%s
	"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"},
		"Parameters":{"Bucket":"rows-in","Key":"rows.csv"}},
	"ItemBatcher":{"MaxItemsPerBatch":100,"BatchInput":{"run.$":"$.run"}},
	"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"C",
		"States":{
			"C":{"Type":"Choice","Choices":[{"Or":[{"Variable":"$.Items[0].id","StringEquals":"0"},{"Variable":"$.Items[0].id","StringEquals":"500"}],"Next":"Gate"}],"Default":"Count"},
			"Gate":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:getObject","Parameters":{"Bucket":"rows-in","Key":"gate.txt"},"ResultPath":null,"Next":"Count"},
			"Count":{"Type":"Pass","Parameters":{"run.$":"$.BatchInput.run","first.$":"$.Items[0].id","n.$":"States.ArrayLength($.Items)"},"End":true}}},
	"End":true}}}`

// TestDistributedMapOverS3 drives Distributed Maps that read a CSV object from Stepline's S3
// through aws-sdk-go-v2: a tolerated failure percentage exceeded fails the Map with
// States.ExceedToleratedFailureThreshold; the execution is redriven once the missing object is
// there, its Map Run reads the items again and reruns only what did not succeed; a Map within
// its threshold succeeds and its ResultWriter leaves AWS's files.
func TestDistributedMapOverS3(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	s3c := s3Client(b.url)
	for _, bucket := range []string{"rows-in", "rows-out"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
	}
	var csv strings.Builder
	csv.WriteString("id,word\n")
	for i := range 3000 {
		fmt.Fprintf(&csv, "%d,w%d\n", i, i)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("rows-in"), Key: aws.String("rows.csv"),
		Body: strings.NewReader(csv.String())}); err != nil {
		t.Fatal(err)
	}

	// 2 of 30 batches fail: more than 5%.
	strict := b.createMachine(t, "strict", fmt.Sprintf(gatedMap, `"ToleratedFailurePercentagePath":"$.pct",`))
	exec := b.start(t, strict, "strict-1", `{"run":"a","pct":5}`)
	out := b.waitDone(t, exec)
	if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != "States.ExceedToleratedFailureThreshold" {
		t.Fatalf("strict: %s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	mapRun := *b.onlyMapRun(t, exec).MapRunArn
	if d := b.describeMapRun(t, mapRun); d.Status != types.MapRunStatusFailed || d.ItemCounts.Failed < 1 || d.ToleratedFailurePercentage != 5 {
		t.Fatalf("failed Map Run: %s, items %s, tolerated %g%%", d.Status, counts(d.ItemCounts), d.ToleratedFailurePercentage)
	}

	// With the gate there, the redrive reruns the batches that did not succeed.
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("rows-in"), Key: aws.String("gate.txt"),
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
	var results []struct {
		Run, First string
		N          int
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &results); err != nil || len(results) != 30 {
		t.Fatalf("redriven output: %d results (%v)", len(results), err)
	}
	for i, r := range results {
		if r.Run != "a" || r.First != fmt.Sprint(i*100) || r.N != 100 {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	d := b.describeMapRun(t, mapRun)
	if d.Status != types.MapRunStatusSucceeded || d.RedriveCount == nil || *d.RedriveCount != 1 || counts(d.ItemCounts) != "0/0/30/0/0/30" {
		t.Fatalf("redriven Map Run: %s, redrives %v, items %s", d.Status, d.RedriveCount, counts(d.ItemCounts))
	}

	// Within 10%, the Map succeeds; the gate is open now, so fail a batch another way: a
	// count threshold of 0 would fail, 1 tolerates the one batch whose gate is closed again.
	if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("rows-in"), Key: aws.String("gate.txt")}); err != nil {
		t.Fatal(err)
	}
	written := b.createMachine(t, "written", fmt.Sprintf(gatedMap, `"ToleratedFailurePercentage":10,
		"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"rows-out","Prefix":"runs"}},`))
	out = b.waitDone(t, b.start(t, written, "written-1", `{"run":"b"}`))
	if out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("written: %s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	var res struct {
		MapRunArn           string
		ResultWriterDetails struct{ Bucket, Key string }
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &res); err != nil || res.ResultWriterDetails.Bucket != "rows-out" ||
		!strings.HasPrefix(res.ResultWriterDetails.Key, "runs/") || !strings.HasSuffix(res.ResultWriterDetails.Key, "/manifest.json") {
		t.Fatalf("written output %s", aws.ToString(out.Output))
	}
	get := func(key string) []byte {
		t.Helper()
		o, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("rows-out"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		defer o.Body.Close()
		body, _ := io.ReadAll(o.Body)
		return body
	}
	var manifest struct {
		DestinationBucket, MapRunArn string
		ResultFiles                  map[string][]struct{ Key string }
	}
	if err := json.Unmarshal(get(res.ResultWriterDetails.Key), &manifest); err != nil || manifest.MapRunArn != res.MapRunArn {
		t.Fatalf("manifest: %+v (%v)", manifest, err)
	}
	var succeeded, failed []struct{ Status, Error, Input, Output string }
	if err := json.Unmarshal(get(manifest.ResultFiles["SUCCEEDED"][0].Key), &succeeded); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(get(manifest.ResultFiles["FAILED"][0].Key), &failed); err != nil {
		t.Fatal(err)
	}
	if len(succeeded) != 28 || len(failed) != 2 || failed[0].Error != "S3.NoSuchKeyException" || !strings.Contains(failed[0].Input, `"BatchInput":{"run":"b"}`) {
		t.Fatalf("%d succeeded, %d failed: %+v", len(succeeded), len(failed), failed)
	}
}

// TestItemReaderBoundBucket reads a Map's items from a bucket bound to a real moto_server: the
// reader goes through the S3 handler, which forwards.
func TestItemReaderBoundBucket(t *testing.T) {
	if testing.Short() {
		t.Skip("runs moto_server")
	}
	motoURL := s3test.StartMoto(t)
	ctx := context.Background()
	moto := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(motoURL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDMOTO", "moto", "")})
	if _, err := moto.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake-remote")}); err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&body, "{\"n\":%d}\n", i)
	}
	if _, err := moto.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lake-remote"), Key: aws.String("in/rows.jsonl"),
		Body: strings.NewReader(body.String())}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	project := "buckets:\n  lake:\n    endpoint: " + motoURL + "\n    bucketName: lake-remote\n"
	if err := os.WriteFile(filepath.Join(dir, "stepline.yaml"), []byte(project), 0o644); err != nil {
		t.Fatal(err)
	}
	b := setup(t, server.Options{Project: dir})
	machine := b.createMachine(t, "lake-map", `{"StartAt":"M","States":{"M":{"Type":"Map",
		"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"JSONL","MaxItems":4500},
			"Parameters":{"Bucket":"lake","Key":"in/rows.jsonl"}},
		"ItemBatcher":{"MaxItemsPerBatch":1000},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"P",
			"States":{"P":{"Type":"Pass","Parameters":{"first.$":"$.Items[0].n","n.$":"States.ArrayLength($.Items)"},"End":true}}},
		"End":true}}}`)
	out := b.waitDone(t, b.start(t, machine, "", `{}`))
	if out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("%s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	if got, want := aws.ToString(out.Output), `[{"first":0,"n":1000},{"first":1000,"n":1000},{"first":2000,"n":1000},{"first":3000,"n":1000},{"first":4000,"n":500}]`; got != want {
		t.Fatalf("output %s, want %s", got, want)
	}
}

// TestUpdateMapRunWithReader raises the MaxConcurrency of a running Map Run whose items a
// reader read from S3: the items waiting start at once.
func TestUpdateMapRunWithReader(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	s3c := s3Client(b.url)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("queue-in")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("queue-in"), Key: aws.String("jobs.json"),
		Body: strings.NewReader(`[{"job":1},{"job":2},{"job":3},{"job":4},{"job":5},{"job":6}]`)}); err != nil {
		t.Fatal(err)
	}
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("job-worker")})
	if err != nil {
		t.Fatal(err)
	}
	machine := b.createMachine(t, "jobs", mapOnActivity(*act.ActivityArn, `"MaxConcurrency":1,
		"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"JSON"},
			"Parameters":{"Bucket":"queue-in","Key":"jobs.json"}},`))
	exec := b.start(t, machine, "", `{}`)
	mapRun := *b.onlyMapRun(t, exec).MapRunArn
	// The items are read by a task of their own: the first child starts once they are in.
	first := b.pollTask(t, *act.ActivityArn)
	if d := b.describeMapRun(t, mapRun); counts(d.ItemCounts) != "5/1/0/0/0/6" {
		t.Fatalf("before the update: items %s", counts(d.ItemCounts))
	}
	if _, err := b.client.UpdateMapRun(ctx, &sfn.UpdateMapRunInput{MapRunArn: aws.String(mapRun), MaxConcurrency: aws.Int32(6)}); err != nil {
		t.Fatalf("UpdateMapRun: %v", err)
	}
	if d := b.describeMapRun(t, mapRun); d.MaxConcurrency != 6 || counts(d.ItemCounts) != "0/6/0/0/0/6" {
		t.Fatalf("after UpdateMapRun: max %d, items %s", d.MaxConcurrency, counts(d.ItemCounts))
	}
	tokens := []*string{first.TaskToken}
	for range 5 {
		tokens = append(tokens, b.pollTask(t, *act.ActivityArn).TaskToken)
	}
	for _, tok := range tokens {
		if _, err := b.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: tok, Output: aws.String(`"done"`)}); err != nil {
			t.Fatal(err)
		}
	}
	if out := b.waitDone(t, exec); out.Status != types.ExecutionStatusSucceeded || aws.ToString(out.Output) != `["done","done","done","done","done","done"]` {
		t.Fatalf("%s %s %s", out.Status, aws.ToString(out.Output), aws.ToString(out.Cause))
	}
}
