package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// slowEcho sleeps long enough for the kill to find invocations in flight, then returns its
// event with a mark, so that the output proves the function's result was recorded.
const slowEcho = `import time

def handler(event, context):
    time.sleep(1.5)
    return {"n": event["n"], "by": "lambda"}
`

// lambdaDefinition passes through one Lambda task between two Pass states.
const lambdaDefinition = `{"StartAt":"In","States":{
	"In":{"Type":"Pass","Parameters":{"n.$":"$.n"},"Next":"Work"},
	"Work":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:slow-echo","Next":"Out"},
	"Out":{"Type":"Pass","Result":"done","ResultPath":"$.end","End":true}}}`

func lambdaClient(n *node) *lambda.Client {
	return lambda.New(lambda.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("x", "x", ""),
		BaseEndpoint: aws.String(n.url), RetryMaxAttempts: 3,
	})
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for name, text := range files {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestServeLambdaTasksSurviveKill9OnSQLite kills the server while 20 executions are inside a
// Lambda task, and checks on the restarted server that every execution succeeds once with the
// function's result, recorded once: one LambdaFunctionSucceeded each, whatever number of
// times the at-least-once dispatch invoked the function.
func TestServeLambdaTasksSurviveKill9OnSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "crash.db")
	first := startNode(t, bin, "first", "--db", db, "--data", filepath.Join(dir, "data"))
	ctx := context.Background()
	_, err := lambdaClient(first).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("slow-echo"), Runtime: lambdatypes.RuntimePython312, Handler: aws.String("app.handler"),
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Timeout: aws.Int32(30),
		Code: &lambdatypes.FunctionCode{ZipFile: zipOf(t, map[string]string{"app.py": slowEcho})},
	})
	if err != nil {
		t.Fatal(err)
	}
	machine := createMachine(t, first.client, "lambda-crashy", lambdaDefinition)
	const n = 20
	arns := make([]string, n)
	for i := range n {
		out, err := first.client.StartExecution(ctx, &sfn.StartExecutionInput{
			StateMachineArn: aws.String(machine), Name: aws.String(fmt.Sprintf("e%d", i)), Input: aws.String(fmt.Sprintf(`{"n":%d}`, i)),
		})
		if err != nil {
			t.Fatalf("StartExecution %d: %v", i, err)
		}
		arns[i] = *out.ExecutionArn
	}
	// Wait until every execution has scheduled its task: the function sleeps 1.5 s and runs a
	// few at a time, so the kill finds invocations running and others queued.
	deadline := time.Now().Add(30 * time.Second)
	for i, arn := range arns {
		for !hasEvent(t, first.client, arn, types.HistoryEventTypeLambdaFunctionScheduled) {
			if time.Now().After(deadline) {
				t.Fatalf("execution %d never scheduled its task", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	requireRunning(t, first.client, machine)
	first.kill()

	second := startNode(t, bin, "second", "--db", db, "--data", filepath.Join(dir, "data"))
	for i, arn := range arns {
		checkEnded(t, second.client, arn, fmt.Sprintf(`{"n":%d,"by":"lambda","end":"done"}`, i), []string{"In", "Work", "Out"}, 120*time.Second)
		h, err := second.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
		if err != nil {
			t.Fatal(err)
		}
		succeeded := 0
		for _, ev := range h.Events {
			if ev.Type == types.HistoryEventTypeLambdaFunctionSucceeded {
				succeeded++
			}
		}
		if succeeded != 1 {
			t.Errorf("%s: %d LambdaFunctionSucceeded events, want 1", arn, succeeded)
		}
	}
	second.stop()
}

func hasEvent(t *testing.T, c *sfn.Client, arn string, typ types.HistoryEventType) bool {
	t.Helper()
	h, err := c.GetExecutionHistory(context.Background(), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range h.Events {
		if ev.Type == typ {
			return true
		}
	}
	return false
}
