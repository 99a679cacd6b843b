package server_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/server"
)

// These tests read an execution's logs (a loggingConfiguration's CloudWatch Logs events) and a
// Lambda function's logs through the CloudWatch Logs API on the serve port, with aws-sdk-go-v2.

func newLogsClient(url string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
	})
}

func logging(level types.LogLevel, data bool, group string) *types.LoggingConfiguration {
	return &types.LoggingConfiguration{Level: level, IncludeExecutionData: data, Destinations: []types.LogDestination{{
		CloudWatchLogsLogGroup: &types.CloudWatchLogsLogGroup{LogGroupArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:" + group + ":*")},
	}}}
}

// logEvent is one execution log event as Step Functions writes it.
type logEvent struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Details      json.RawMessage `json:"details"`
	Previous     string          `json:"previous_event_id"`
	Timestamp    string          `json:"event_timestamp"`
	ExecutionArn string          `json:"execution_arn"`
	RedriveCount string          `json:"redrive_count"`
}

func filterAll(t *testing.T, c *cloudwatchlogs.Client, in *cloudwatchlogs.FilterLogEventsInput) []string {
	t.Helper()
	var msgs []string
	p := cloudwatchlogs.NewFilterLogEventsPaginator(c, in)
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("FilterLogEvents: %v", err)
		}
		for _, e := range out.Events {
			msgs = append(msgs, aws.ToString(e.Message))
		}
	}
	return msgs
}

var streamRE = regexp.MustCompile(`^states/logged/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}/[0-9a-f]{8}$`)

func TestExecutionLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python")
	}
	t.Parallel()
	b := setup(t, server.Options{WaitScale: 0.001})
	ctx := context.Background()
	lc := newLambdaClient(b.url)
	createFunction(t, lc, "py-echo", lambdatypes.RuntimePython312, "app.handler", pyZip(t, pyEcho))
	logs := newLogsClient(b.url)
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/sfn/logged")}); err != nil {
		t.Fatal(err)
	}

	// A Wait puts the Lambda task and the end in later steps of the engine's loop than the
	// first burst that StartExecution commits: both paths log.
	def := `{"StartAt":"W","States":{
		"W":{"Type":"Wait","Seconds":1,"Next":"L"},
		"L":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"py-echo","Payload.$":"$"},"OutputPath":"$.Payload","End":true}}}`
	sm, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("logged"), Definition: aws.String(def),
		RoleArn: aws.String(role), LoggingConfiguration: logging(types.LogLevelAll, true, "/sfn/logged")})
	if err != nil {
		t.Fatal(err)
	}
	arn := b.start(t, *sm.StateMachineArn, "one", `{"k":"v"}`)
	if out := b.waitDone(t, arn); out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("execution: %s", out.Status)
	}
	hist, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}

	streams, err := logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/sfn/logged")})
	if err != nil {
		t.Fatal(err)
	}
	if len(streams.LogStreams) == 0 || !streamRE.MatchString(aws.ToString(streams.LogStreams[0].LogStreamName)) {
		t.Fatalf("streams: %+v", streams.LogStreams)
	}
	msgs := filterAll(t, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/sfn/logged"),
		FilterPattern: aws.String(`{ $.execution_arn = "` + arn + `" }`)})
	if len(msgs) != len(hist.Events) {
		t.Fatalf("%d events logged, history has %d:\n%s", len(msgs), len(hist.Events), strings.Join(msgs, "\n"))
	}
	for i, m := range msgs {
		var e logEvent
		if err := json.Unmarshal([]byte(m), &e); err != nil {
			t.Fatalf("event %d is not JSON: %s", i, m)
		}
		h := hist.Events[i]
		if e.ID != strconv.FormatInt(h.Id, 10) || e.Previous != strconv.FormatInt(h.PreviousEventId, 10) || e.Type != string(h.Type) ||
			e.Timestamp != strconv.FormatInt(h.Timestamp.UnixMilli(), 10) || e.ExecutionArn != arn || e.RedriveCount != "0" {
			t.Errorf("log event %d: %s\nhistory: %d %d %s %v", i, m, h.Id, h.PreviousEventId, h.Type, h.Timestamp)
		}
	}
	var last struct {
		Output string `json:"output"`
	}
	var end logEvent
	_ = json.Unmarshal([]byte(msgs[len(msgs)-1]), &end)
	if err := json.Unmarshal(end.Details, &last); err != nil || !strings.Contains(last.Output, `"fn":"py-echo"`) {
		t.Errorf("ExecutionSucceeded's output: %s", end.Details)
	}

	// ERROR without execution data: nothing of a successful execution; FATAL of a failed one,
	// only its end, and the group is made when missing.
	failing := `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Bad","Cause":"it broke"}}}`
	fm, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("failing"), Definition: aws.String(failing),
		RoleArn: aws.String(role), LoggingConfiguration: logging(types.LogLevelFatal, false, "/sfn/made")})
	if err != nil {
		t.Fatal(err)
	}
	farn := b.start(t, *fm.StateMachineArn, "f1", "")
	b.waitDone(t, farn)
	got := filterAll(t, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/sfn/made")})
	if len(got) != 1 || !strings.Contains(got[0], `"type":"ExecutionFailed","details":{"error":"Bad","cause":"it broke"}`) {
		t.Fatalf("FATAL logged %v", got)
	}

	// A distributed Map's child executions log to their parent's group, under their own ARNs.
	dmap := `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Next":"M"},"M":{"Type":"Map","Label":"Items","ItemsPath":"$.items",
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P",
			"States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`
	dm, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("dmap"), Definition: aws.String(dmap),
		RoleArn: aws.String(role), LoggingConfiguration: logging(types.LogLevelAll, false, "/sfn/dmap")})
	if err != nil {
		t.Fatal(err)
	}
	darn := b.start(t, *dm.StateMachineArn, "d1", `{"items":[1,2,3]}`)
	if out := b.waitDone(t, darn); out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("distributed Map: %s", out.Status)
	}
	children := map[string][]string{}
	for _, m := range filterAll(t, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/sfn/dmap")}) {
		var e logEvent
		_ = json.Unmarshal([]byte(m), &e)
		if e.ExecutionArn != darn {
			children[e.ExecutionArn] = append(children[e.ExecutionArn], e.Type)
		}
	}
	if len(children) != 3 {
		t.Fatalf("%d child executions logged, want 3: %v", len(children), children)
	}
	for arn, types := range children {
		if types[0] != "ExecutionStarted" || types[len(types)-1] != "ExecutionSucceeded" {
			t.Errorf("child %s logged %v", arn, types)
		}
	}

	// An Express execution's events are logged as it runs; StartSyncExecution returns after.
	em, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("fast"), Type: types.StateMachineTypeExpress,
		Definition: aws.String(passChain), RoleArn: aws.String(role), LoggingConfiguration: logging(types.LogLevelAll, true, "/sfn/express")})
	if err != nil {
		t.Fatal(err)
	}
	sx, err := b.client.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: em.StateMachineArn, Input: aws.String(`{}`)}, withoutHostPrefix)
	if err != nil {
		t.Fatal(err)
	}
	got = filterAll(t, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/sfn/express")})
	var types_ []string
	for _, m := range got {
		var e logEvent
		_ = json.Unmarshal([]byte(m), &e)
		if e.ExecutionArn != aws.ToString(sx.ExecutionArn) {
			t.Errorf("express event of %s, want %s", e.ExecutionArn, aws.ToString(sx.ExecutionArn))
		}
		types_ = append(types_, e.Type)
	}
	if strings.Join(types_, ",") != "ExecutionStarted,PassStateEntered,PassStateExited,PassStateEntered,PassStateExited,ExecutionSucceeded" {
		t.Fatalf("express logged %v", types_)
	}

	// The Lambda function's invocation logs are in /aws/lambda/py-echo, START/END/REPORT
	// included, in a stream named as Lambda names them.
	lstreams, err := logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/py-echo"),
		OrderBy: "LastEventTime", Descending: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lstreams.LogStreams) == 0 || !regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]+$`).MatchString(aws.ToString(lstreams.LogStreams[0].LogStreamName)) {
		t.Fatalf("Lambda's streams: %+v", lstreams.LogStreams)
	}
	reports := filterAll(t, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/py-echo"), FilterPattern: aws.String("?START ?REPORT")})
	if len(reports) != 2 || !strings.HasPrefix(reports[0], "START RequestId: ") || !strings.HasPrefix(reports[1], "REPORT RequestId: ") {
		t.Fatalf("Lambda's START and REPORT lines: %q", reports)
	}
}
