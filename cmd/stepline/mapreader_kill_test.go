package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// readerKillMachine reads 3,000 CSV rows in batches of 100 into STANDARD children that wait a
// second, six at a time, and writes their results to a bucket: a kill finds some children
// done and their records handed to the writer, others waiting, others not started.
const readerKillMachine = `{"StartAt":"M","States":{"M":{"Type":"Map","Label":"Rows","MaxConcurrency":6,
	"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"},
		"Parameters":{"Bucket":"kill-in","Key":"rows.csv"}},
	"ItemBatcher":{"MaxItemsPerBatch":100},
	"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"kill-out","Prefix":"runs"}},
	"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"W","States":{
		"W":{"Type":"Wait","Seconds":1,"Next":"P"},
		"P":{"Type":"Pass","Parameters":{"first.$":"$.Items[0].id","n.$":"States.ArrayLength($.Items)"},"End":true}}},
	"End":true}}}`

// TestServeItemReaderSurvivesKill9OnSQLite kills the server in the middle of a Map that reads
// its items from S3 and writes its results there; the restarted server finishes it, and the
// result files hold every batch exactly once.
func TestServeItemReaderSurvivesKill9OnSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	args := []string{"--db", filepath.Join(dir, "crash.db"), "--data", filepath.Join(dir, "data")}
	first := startNode(t, bin, "first", args...)
	ctx := context.Background()
	s3c := func(n *node) *s3.Client {
		return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(n.url), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider("x", "x", "")})
	}
	for _, b := range []string{"kill-in", "kill-out"} {
		if _, err := s3c(first).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	var csv strings.Builder
	csv.WriteString("id,word\n")
	for i := range 3000 {
		fmt.Fprintf(&csv, "%d,w%d\n", i, i)
	}
	if _, err := s3c(first).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("kill-in"), Key: aws.String("rows.csv"),
		Body: strings.NewReader(csv.String())}); err != nil {
		t.Fatal(err)
	}
	machine := createMachine(t, first.client, "rows", readerKillMachine)
	out, err := first.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(machine), Input: aws.String("{}")})
	if err != nil {
		t.Fatal(err)
	}
	// Kill once some children succeeded (their records are on their way to the bucket).
	deadline := time.Now().Add(60 * time.Second)
	for {
		runs, err := first.client.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: out.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs.MapRuns) == 1 {
			d, err := first.client.DescribeMapRun(ctx, &sfn.DescribeMapRunInput{MapRunArn: runs.MapRuns[0].MapRunArn})
			if err != nil {
				t.Fatal(err)
			}
			if d.ItemCounts.Succeeded >= 7 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no child succeeded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	requireRunning(t, first.client, machine)
	first.kill()

	second := startNode(t, bin, "second", args...)
	var d *sfn.DescribeExecutionOutput
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if d, err = second.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: out.ExecutionArn}); err != nil {
			t.Fatal(err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning || time.Now().After(deadline) {
			break
		}
	}
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("after the restart: %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var res struct{ ResultWriterDetails struct{ Key string } }
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &res); err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		ResultFiles map[string][]struct{ Key string }
	}
	if err := json.Unmarshal(getObject(t, s3c(second), "kill-out", res.ResultWriterDetails.Key), &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest.ResultFiles["SUCCEEDED"]) != 1 || len(manifest.ResultFiles["FAILED"]) != 0 {
		t.Fatalf("manifest %+v", manifest)
	}
	var recs []struct{ Name, Status, Output string }
	if err := json.Unmarshal(getObject(t, s3c(second), "kill-out", manifest.ResultFiles["SUCCEEDED"][0].Key), &recs); err != nil {
		t.Fatal(err)
	}
	names, firsts, rows := map[string]bool{}, map[string]bool{}, 0
	for _, r := range recs {
		var o struct {
			First string
			N     int
		}
		if err := json.Unmarshal([]byte(r.Output), &o); err != nil || r.Status != "SUCCEEDED" || names[r.Name] || firsts[o.First] {
			t.Fatalf("record %+v (a batch twice?)", r)
		}
		names[r.Name], firsts[o.First] = true, true
		rows += o.N
	}
	if len(recs) != 30 || rows != 3000 {
		t.Fatalf("%d records of %d rows, want 30 of 3000", len(recs), rows)
	}
	list, err := s3c(second).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("kill-out")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != 2 {
		t.Errorf("the results bucket holds %d objects, want the manifest and one file", len(list.Contents))
	}
	second.stop()
}
