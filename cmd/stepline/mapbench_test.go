package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/store/postgres/pgtest"
)

// envMapBench names the row counts TestDistributedMapBench runs, comma-separated
// ("10000,100000,1000000"); without it the test is skipped, as it is a measurement, not a check
// of the normal suite. envMapBenchPostgres=1 runs each on three nodes sharing a PostgreSQL
// schema (STEPLINE_TEST_POSTGRES) as well, =one on one node.
const (
	envMapBench         = "STEPLINE_MAP_BENCH"
	envMapBenchPostgres = "STEPLINE_MAP_BENCH_POSTGRES"
)

// mapBenchMachine is the workload: a Distributed Map over a CSV object, 1,000 rows per
// batch, EXPRESS children of a Choice and a Pass, MaxConcurrency 100, results to a bucket.
const mapBenchMachine = `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":100,
	"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"},
		"Parameters":{"Bucket":"bench-in","Key":"rows.csv"}},
	"ItemBatcher":{"MaxItemsPerBatch":1000},
	"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"bench-out","Prefix":"runs"}},
	"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"Route",
		"States":{
			"Route":{"Type":"Choice","Choices":[{"Variable":"$.Items[0].region","StringEquals":"north","Next":"North"}],"Default":"Other"},
			"North":{"Type":"Pass","Parameters":{"first.$":"$.Items[0].id","n.$":"States.ArrayLength($.Items)","region":"north"},"End":true},
			"Other":{"Type":"Pass","Parameters":{"first.$":"$.Items[0].id","n.$":"States.ArrayLength($.Items)","region":"other"},"End":true}}},
	"End":true}}}`

// TestDistributedMapBench runs the workload over CSV objects of the given sizes, each on a
// fresh `stepline serve` on SQLite, and reports wall time, children per second and the
// server's peak RSS (VmHWM); it checks that the result files hold a record per batch.
func TestDistributedMapBench(t *testing.T) {
	sizes := os.Getenv(envMapBench)
	if sizes == "" {
		t.Skip("set " + envMapBench + "=10000,100000,1000000 to measure")
	}
	bin := buildBinary(t)
	for _, s := range strings.Split(sizes, ",") {
		rows, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strconv.Itoa(rows)+"/sqlite", func(t *testing.T) { benchMapRun(t, bin, rows, false) })
		if os.Getenv(envMapBenchPostgres) != "" {
			t.Run(strconv.Itoa(rows)+"/postgres-3-nodes", func(t *testing.T) { benchMapRun(t, bin, rows, true) })
		}
	}
}

func benchMapRun(t *testing.T, bin string, rows int, postgres bool) {
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	var nodes []*node
	if postgres {
		// Nodes sharing a database share a data folder, as on a shared file system.
		_, _, dsn := pgtest.Schema(t)
		names := []string{"a", "b", "c"}
		if os.Getenv(envMapBenchPostgres) == "one" {
			names = names[:1]
		}
		for _, name := range names {
			nodes = append(nodes, startNode(t, bin, name, "--db", dsn, "--data", data))
		}
	} else {
		nodes = append(nodes, startNode(t, bin, "bench", "--db", filepath.Join(dir, "db"), "--data", data))
	}
	n := nodes[0]
	s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(n.url), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("x", "x", "")})
	for _, b := range []string{"bench-in", "bench-out"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	// A file dropped into a bucket's folder is an object: the data is written as it is made.
	f, err := os.Create(filepath.Join(dir, "data", "s3", "bench-in", "rows.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "id,region,amount,note")
	regions := []string{"north", "south", "east", "west"}
	for i := range rows {
		fmt.Fprintf(w, "%d,%s,%d.%02d,\"row %d, plain\"\n", i, regions[(i/1000)%4], i%997, i%100, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	f.Close()

	machine := createMachine(t, n.client, "bench", mapBenchMachine)
	began := time.Now()
	out, err := n.client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(machine), Input: aws.String("{}")})
	if err != nil {
		t.Fatal(err)
	}
	var d *sfn.DescribeExecutionOutput
	for {
		if d, err = n.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: out.ExecutionArn}); err != nil {
			t.Fatal(err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			break
		}
		time.Sleep(50 * time.Millisecond) // a measurement's poll: no assertion waits on it
	}
	wall := time.Since(began)
	var hwm int64
	var each []string
	for _, nd := range nodes {
		h := vmHWM(t, nd.cmd.Process.Pid)
		hwm = max(hwm, h)
		each = append(each, fmt.Sprintf("%.0f", float64(h)/(1<<20)))
	}
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("%s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var res struct{ ResultWriterDetails struct{ Bucket, Key string } }
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &res); err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		ResultFiles map[string][]struct {
			Key  string
			Size int64
		}
	}
	if err := json.Unmarshal(getObject(t, s3c, "bench-out", res.ResultWriterDetails.Key), &manifest); err != nil {
		t.Fatal(err)
	}
	files := manifest.ResultFiles["SUCCEEDED"]
	if len(files) != 1 || len(manifest.ResultFiles["FAILED"]) != 0 {
		t.Fatalf("manifest %+v", manifest)
	}
	// The records are read one at a time: the file holds every batch's input.
	o, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bench-out"), Key: aws.String(files[0].Key)})
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bufio.NewReader(o.Body))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	batches, total := 0, 0
	for dec.More() {
		var rec struct{ Status, Output string }
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		var got struct{ N int }
		if err := json.Unmarshal([]byte(rec.Output), &got); err != nil || rec.Status != "SUCCEEDED" {
			t.Fatalf("record %+v", rec)
		}
		batches++
		total += got.N
	}
	o.Body.Close()
	want := (rows + 999) / 1000
	if batches != want || total != rows {
		t.Fatalf("%d records of %d rows, want %d of %d", batches, total, want, rows)
	}
	var ran []string
	for _, nd := range nodes {
		ran = append(ran, strconv.Itoa(childrenRun(t, nd)))
	}
	t.Logf("rows=%d nodes=%d csv=%.1fMiB batches=%d wall=%v children/s=%.1f rows/s=%.0f peakRSS=%.1fMiB (per node %s MiB) children run per node %s results=%.1fMiB",
		rows, len(nodes), float64(st.Size())/(1<<20), batches, wall.Round(time.Millisecond), float64(batches)/wall.Seconds(),
		float64(rows)/wall.Seconds(), float64(hwm)/(1<<20), strings.Join(each, "/"), strings.Join(ran, "/"), float64(files[0].Size)/(1<<20))
}

func getObject(t *testing.T, c *s3.Client, bucket, key string) []byte {
	t.Helper()
	o, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer o.Body.Close()
	b, _ := io.ReadAll(o.Body)
	return b
}

// vmHWM is a process's peak resident set, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}
