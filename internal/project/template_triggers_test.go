package project_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stepline/stepline/internal/server"
)

const triggersTemplate = `Transform: AWS::Serverless-2016-10-31
Resources:
  Ticker:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: ticker
      Definition: {StartAt: Done, States: {Done: {Type: Pass, End: true}}}
      Events:
        Tick: {Type: Schedule, Properties: {Schedule: rate(1 minute), Input: '{"from": "tick"}'}}
  Later:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: later
      Definition: {StartAt: Done, States: {Done: {Type: Pass, End: true}}}
      Events:
        Often: {Type: ScheduleV2, Properties: {ScheduleExpression: rate(1 minute), Input: '{"from": "v2"}'}}
  Orders:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: orders
      Definition: {StartAt: Done, States: {Done: {Type: Pass, End: true}}}
      Events:
        Placed: {Type: EventBridgeRule, Properties: {Pattern: {source: [shop]}, InputPath: $.detail}}
  Queue:
    Type: AWS::SQS::Queue
  ToQueue:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [shop]}
      Targets: [{Id: queue, Arn: !GetAtt Queue.Arn}, {Id: orders, Arn: !Ref Orders, Input: '{"copy": true}'}]
`

// TestDeployTemplateTriggers: a SAM template's Schedule (rate(1 minute) at --wait-scale 0.01)
// and ScheduleV2 events start their state machines, its EventBridgeRule event and an
// AWS::Events::Rule start theirs on PutEvents; the rule's SQS target is left out, not refused.
func TestDeployTemplateTriggers(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"template.yaml": triggersTemplate})
	db := filepath.Join(t.TempDir(), "s.db")
	srv, err := server.New(context.Background(), server.Options{Addr: "127.0.0.1:0", DB: "sqlite:" + db, Project: dir,
		DataDir: filepath.Join(filepath.Dir(db), "data"), WaitScale: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	url, creds := "http://"+srv.Addr(), credentials.NewStaticCredentialsProvider("x", "x", "")
	sf := sfn.New(sfn.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(url)})
	eb := eventbridge.New(eventbridge.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(url), RetryMaxAttempts: 1})
	ctx := context.Background()

	rules, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rules.Rules {
		names = append(names, aws.ToString(r.Name))
	}
	stack := filepath.Base(dir)
	if len(names) != 3 || !strings.HasPrefix(names[0], stack+"-OrdersPlaced-") || !strings.HasPrefix(names[1], stack+"-TickerTick-") ||
		!strings.HasPrefix(names[2], stack+"-ToQueue-") {
		t.Fatalf("rules %v", names)
	}
	if ts, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(names[2])}); err != nil ||
		len(ts.Targets) != 1 || aws.ToString(ts.Targets[0].Id) != "orders" {
		t.Fatalf("targets of %s: %+v, %v", names[2], ts, err)
	}

	pe, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{Source: aws.String("shop"), DetailType: aws.String("Order"), Detail: aws.String(`{"id": 7}`)}}})
	if err != nil || pe.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, pe)
	}
	// inputs polls a machine's executions until it has at least n, and returns their inputs.
	inputs := func(machine string, n int) map[string]bool {
		t.Helper()
		arn := "arn:aws:states:us-east-1:123456789012:stateMachine:" + machine
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			list, err := sf.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: &arn})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Executions) < n {
				continue
			}
			got := map[string]bool{}
			for _, e := range list.Executions {
				d, err := sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: e.ExecutionArn})
				if err != nil {
					t.Fatal(err)
				}
				got[aws.ToString(d.Input)] = true
			}
			return got
		}
		t.Fatalf("%s has fewer than %d executions after 20 s", machine, n)
		return nil
	}
	if got := inputs("ticker", 2); len(got) != 1 || !got[`{"from": "tick"}`] {
		t.Errorf("ticker inputs %v", got)
	}
	if got := inputs("later", 1); len(got) != 1 || !got[`{"from": "v2"}`] {
		t.Errorf("later inputs %v", got)
	}
	if got := inputs("orders", 2); len(got) != 2 || !got[`{"id":7}`] || !got[`{"copy": true}`] {
		t.Errorf("orders inputs %v", got)
	}
}
