package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/server"
)

// TestExpressChildGroupsRedriven: a Map Run's EXPRESS children, which the server runs in
// groups, call S3 through their tasks and read their own execution in the context object.
// One child fails on a missing object, which fails the Map; redriven once the object is there,
// the Map Run reruns the children that did not succeed and the execution succeeds with every
// item's output, in order.
func TestExpressChildGroupsRedriven(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{})
	ctx := context.Background()
	s3c := s3Client(b.url)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("groups")}); err != nil {
		t.Fatal(err)
	}
	machine := b.createMachine(t, "groups", `{"StartAt":"M","States":{"M":{"Type":"Map","Label":"Items","MaxConcurrency":4,"End":true,
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"C","States":{
			"C":{"Type":"Choice","Choices":[{"Variable":"$","NumericEquals":7,"Next":"Gate"}],"Default":"P"},
			"Gate":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:getObject","Parameters":{"Bucket":"groups","Key":"gate.txt"},"ResultPath":null,"Next":"P"},
			"P":{"Type":"Pass","Parameters":{"item.$":"$","machine.$":"$$.StateMachine.Name","input.$":"$$.Execution.Input"},"End":true}}}}}}`)
	var items, want []string
	for i := range 20 {
		items = append(items, fmt.Sprint(i))
		want = append(want, fmt.Sprintf(`{"item":%d,"machine":"groups/Items","input":%d}`, i, i))
	}
	exec := b.start(t, machine, "g1", "["+strings.Join(items, ",")+"]")
	out := b.waitDone(t, exec)
	if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != "S3.NoSuchKeyException" {
		t.Fatalf("%s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	mapRun := *b.onlyMapRun(t, exec).MapRunArn
	// Which other children ended before the failure depends on when their groups came back.
	if d := b.describeMapRun(t, mapRun); d.Status != types.MapRunStatusFailed || d.ItemCounts.Failed != 1 || d.ItemCounts.Total != 20 {
		t.Fatalf("failed Map Run: %s, items %s", d.Status, counts(d.ItemCounts))
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("groups"), Key: aws.String("gate.txt"),
		Body: strings.NewReader("open")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(exec)}); err != nil {
		t.Fatal(err)
	}
	out = b.waitDone(t, exec)
	if out.Status != types.ExecutionStatusSucceeded || aws.ToString(out.Output) != "["+strings.Join(want, ",")+"]" {
		t.Fatalf("redriven: %s %s %s", out.Status, aws.ToString(out.Output), aws.ToString(out.Error))
	}
	if d := b.describeMapRun(t, mapRun); d.Status != types.MapRunStatusSucceeded || d.RedriveCount == nil || *d.RedriveCount != 1 ||
		d.ItemCounts.Succeeded != 20 {
		t.Fatalf("redriven Map Run: %s, redrives %v, items %s", d.Status, d.RedriveCount, counts(d.ItemCounts))
	}
}
