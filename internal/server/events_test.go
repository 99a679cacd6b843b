package server_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stepline/stepline/internal/server"
	"github.com/stepline/stepline/internal/store/postgres/pgtest"
)

func eventsClient(url string) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1,
	})
}

// waitExecutions polls ListExecutions until a machine has n executions, and returns their inputs.
func (b *bundle) waitExecutions(t *testing.T, machine string, n int) []string {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, err := b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Executions) > n {
			t.Fatalf("%d executions of %s, want %d", len(out.Executions), machine, n)
		}
		if len(out.Executions) == n {
			var inputs []string
			for _, x := range out.Executions {
				d := b.waitDone(t, *x.ExecutionArn)
				inputs = append(inputs, *d.Input)
			}
			return inputs
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not get %d executions", machine, n)
	return nil
}

func TestEventBridgeRuleStartsExecutions(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	eb := eventsClient(b.url)
	machine := b.createMachine(t, "orders", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("big-orders"),
		EventPattern: aws.String(`{"source":["shop"],"detail":{"total":[{"numeric":[">",100]}]}}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("big-orders"), Targets: []ebtypes.Target{
		{Id: aws.String("whole"), Arn: aws.String(machine)},
		{Id: aws.String("detail"), Arn: aws.String(machine), InputPath: aws.String("$.detail")},
		{Id: aws.String("shaped"), Arn: aws.String(machine), InputTransformer: &ebtypes.InputTransformer{
			InputPathsMap: map[string]string{"total": "$.detail.total", "src": "$.source"},
			InputTemplate: aws.String(`{"order":"from <src>","total":<total>}`)}},
	}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}
	// The small order matches nothing and is put first: if it started anything, it would be
	// among the executions counted below.
	pe, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{Source: aws.String("shop"), DetailType: aws.String("Order"), Detail: aws.String(`{"total":5}`)},
	}})
	if err != nil || pe.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, pe)
	}
	pe, err = eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{Source: aws.String("shop"), DetailType: aws.String("Order"), Detail: aws.String(`{"total":250}`)},
		{Source: aws.String("aws.shop"), DetailType: aws.String("Order"), Detail: aws.String(`{"total":250}`)},
	}})
	if err != nil || pe.FailedEntryCount != 1 || *pe.Entries[1].ErrorCode != "NotAuthorizedForSourceException" {
		t.Fatalf("PutEvents: %v %+v", err, pe)
	}
	id := *pe.Entries[0].EventId
	got := map[string]bool{}
	for _, in := range b.waitExecutions(t, machine, 3) {
		var v map[string]any
		if err := json.Unmarshal([]byte(in), &v); err != nil {
			t.Fatal(err)
		}
		switch {
		case v["id"] == id:
			if v["source"] != "shop" || v["detail-type"] != "Order" || v["account"] != "123456789012" || v["region"] != "us-east-1" {
				t.Errorf("envelope = %s", in)
			}
			got["whole"] = true
		case in == `{"total":250}`:
			got["detail"] = true
		case in == `{"order":"from shop","total":250}`:
			got["shaped"] = true
		default:
			t.Errorf("unexpected input %s", in)
		}
	}
	if len(got) != 3 {
		t.Fatalf("inputs = %v", got)
	}
	if _, err := eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("big-orders")}); err == nil {
		t.Fatal("DeleteRule with targets succeeded")
	}
}

func TestStatusChangeEventsChainPipelines(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	eb := eventsClient(b.url)
	a := b.createMachine(t, "a", `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"made":"x"},"End":true}}}`)
	next := b.createMachine(t, "b", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	pattern, _ := json.Marshal(map[string]any{"source": []string{"aws.states"}, "detail-type": []string{"Step Functions Execution Status Change"},
		"detail": map[string]any{"status": []string{"SUCCEEDED"}, "stateMachineArn": []string{a}}})
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("a-done"), EventPattern: aws.String(string(pattern))}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("a-done"), Targets: []ebtypes.Target{
		{Id: aws.String("b"), Arn: aws.String(next), InputPath: aws.String("$.detail")}}}); err != nil {
		t.Fatal(err)
	}
	arn := b.start(t, a, "first", `{"n":1}`)
	inputs := b.waitExecutions(t, next, 1)
	var d map[string]any
	if err := json.Unmarshal([]byte(inputs[0]), &d); err != nil {
		t.Fatal(err)
	}
	if d["executionArn"] != arn || d["stateMachineArn"] != a || d["name"] != "first" || d["status"] != "SUCCEEDED" ||
		d["input"] != `{"n":1}` || d["output"] != `{"made":"x"}` || d["startDate"] == nil || d["stopDate"] == nil || d["error"] != nil {
		t.Fatalf("detail = %s", inputs[0])
	}
	// B's own SUCCEEDED does not match A's rule: still one execution of B once B is done.
	if n := len(b.waitExecutions(t, next, 1)); n != 1 {
		t.Fatalf("%d executions of b", n)
	}
}

func TestDroppedFileStartsPipeline(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	b := setup(t, server.Options{DataDir: data})
	ctx := context.Background()
	eb := eventsClient(b.url)
	objects := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(b.url), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""), RetryMaxAttempts: 1})
	if _, err := objects.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("drops")}); err != nil {
		t.Fatal(err)
	}
	if _, err := objects.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("drops"),
		NotificationConfiguration: &s3types.NotificationConfiguration{EventBridgeConfiguration: &s3types.EventBridgeConfiguration{}}}); err != nil {
		t.Fatal(err)
	}
	machine := b.createMachine(t, "ingest", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("incoming"),
		EventPattern: aws.String(`{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"bucket":{"name":["drops"]},"object":{"key":[{"prefix":"incoming/"}]}}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("incoming"), Targets: []ebtypes.Target{
		{Id: aws.String("ingest"), Arn: aws.String(machine), InputTransformer: &ebtypes.InputTransformer{
			InputPathsMap: map[string]string{"bucket": "$.detail.bucket.name", "key": "$.detail.object.key", "size": "$.detail.object.size"},
			InputTemplate: aws.String(`{"bucket":<bucket>,"key":<key>,"size":<size>}`)}}}}); err != nil {
		t.Fatal(err)
	}
	// An object outside incoming/ through the API, then a file dropped by hand into incoming/.
	if _, err := objects.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("drops"), Key: aws.String("other/x.csv"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(data, "s3", "drops", "incoming"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "s3", "drops", "incoming", "day1.csv"), []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inputs := b.waitExecutions(t, machine, 1)
	if inputs[0] != `{"bucket":"drops","key":"incoming/day1.csv","size":8}` {
		t.Fatalf("input = %s", inputs[0])
	}
}

// TestEventBridgeTwoNodesPostgres: two nodes on one PostgreSQL database; a rule made through
// one matches entries put through the other, and each entry starts one execution though both
// nodes' delivery loops run.
func TestEventBridgeTwoNodesPostgres(t *testing.T) {
	t.Parallel()
	_, _, dsn := pgtest.Schema(t)
	// With PostgreSQL the data folder defaults to ./stepline-data: one of the test's own.
	data := t.TempDir()
	a := setup(t, server.Options{DB: dsn, Node: "node-a", DataDir: data})
	b := setup(t, server.Options{DB: dsn, Node: "node-b", DataDir: data})
	ctx := context.Background()
	machine := a.createMachine(t, "pg-orders", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	if _, err := eventsClient(a.url).PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("pg"),
		EventPattern: aws.String(`{"source":["shop"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eventsClient(a.url).PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("pg"), Targets: []ebtypes.Target{
		{Id: aws.String("m"), Arn: aws.String(machine)}}}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		out, err := eventsClient(b.url).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
			{Source: aws.String("shop"), DetailType: aws.String("Order"), Detail: aws.String(`{"n":` + string(rune('0'+i)) + `}`)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
	}
	got := map[string]bool{}
	for _, in := range b.waitExecutions(t, machine, 10) {
		var v struct{ Detail map[string]int }
		if err := json.Unmarshal([]byte(in), &v); err != nil {
			t.Fatal(err)
		}
		got[in] = true
	}
	if len(got) != 10 {
		t.Fatalf("%d distinct inputs", len(got))
	}
}

func TestStatusChangeEventsFailedAndAborted(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	eb := eventsClient(b.url)
	failing := b.createMachine(t, "failing", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"because"}}}`)
	waiting := b.createMachine(t, "waiting", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}}`)
	watcher := b.createMachine(t, "watcher", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	pattern, _ := json.Marshal(map[string]any{"source": []string{"aws.states"},
		"detail": map[string]any{"status": []string{"FAILED", "ABORTED", "RUNNING"}, "stateMachineArn": []string{failing, waiting}}})
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("bad-ends"), EventPattern: aws.String(string(pattern))}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("bad-ends"), Targets: []ebtypes.Target{
		{Id: aws.String("w"), Arn: aws.String(watcher), InputTransformer: &ebtypes.InputTransformer{
			InputPathsMap: map[string]string{"s": "$.detail.status", "e": "$.detail.error", "n": "$.detail.name"},
			InputTemplate: aws.String(`{"name":<n>,"status":<s>,"error":<e>}`)}}}}); err != nil {
		t.Fatal(err)
	}
	b.start(t, failing, "f1", "")
	w := b.start(t, waiting, "w1", "")
	if _, err := b.client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(w), Error: aws.String("Halt")}); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, in := range b.waitExecutions(t, watcher, 4) {
		got[in] = true
	}
	for _, want := range []string{`{"name":"f1","status":"RUNNING","error":null}`, `{"name":"f1","status":"FAILED","error":"Boom"}`,
		`{"name":"w1","status":"RUNNING","error":null}`, `{"name":"w1","status":"ABORTED","error":"Halt"}`} {
		if !got[want] {
			t.Errorf("no execution with input %s; got %v", want, got)
		}
	}
}

func TestStatusChangeEventOfRedrive(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	eb := eventsClient(b.url)
	failing := b.createMachine(t, "redriven", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom"}}}`)
	watcher := b.createMachine(t, "redrive-watcher", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("redrives"),
		EventPattern: aws.String(`{"source":["aws.states"],"detail":{"status":["RUNNING"],"redriveCount":[{"numeric":[">",0]}]}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("redrives"), Targets: []ebtypes.Target{
		{Id: aws.String("w"), Arn: aws.String(watcher), InputPath: aws.String("$.detail")}}}); err != nil {
		t.Fatal(err)
	}
	x := b.start(t, failing, "r1", "")
	b.waitDone(t, x)
	if _, err := b.client.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(x)}); err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(b.waitExecutions(t, watcher, 1)[0]), &d); err != nil {
		t.Fatal(err)
	}
	if d["executionArn"] != x || d["redriveCount"] != 1.0 || d["redriveDate"] == nil || d["status"] != "RUNNING" {
		t.Fatalf("detail = %v", d)
	}
}
