package server_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/server"
)

// TestRetention: an execution that ended more than the retention ago is deleted by the sweep,
// after which DescribeExecution and GetExecutionHistory answer ExecutionDoesNotExist, as AWS
// does once its 90 days are over, and its name can be used again; a running execution, however
// old, stays.
func TestRetention(t *testing.T) {
	ctx := t.Context()
	b := setup(t, server.Options{Retention: 200 * time.Millisecond, RetentionSweep: 20 * time.Millisecond})
	waiting := b.createMachine(t, "waits", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}`)
	running := b.start(t, waiting, "running", "")
	passing := b.createMachine(t, "passes", passChain)
	ended := b.start(t, passing, "ended", `{}`)
	if out := b.waitDone(t, ended); out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("ended: status %s", out.Status)
	}

	// The sweep has no signal to wait for: poll, as waitDone does, until the execution is gone.
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err = b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(ended)}); err != nil {
			break
		}
	}
	if dne := new(types.ExecutionDoesNotExist); !errors.As(err, &dne) {
		t.Fatalf("DescribeExecution of a swept execution: %v, want ExecutionDoesNotExist", err)
	}
	_, err = b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(ended)})
	if dne := new(types.ExecutionDoesNotExist); !errors.As(err, &dne) {
		t.Fatalf("GetExecutionHistory of a swept execution: %v, want ExecutionDoesNotExist", err)
	}

	// The running execution started before the swept one and is still there, with its history.
	out, err := b.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(running)})
	if err != nil || out.Status != types.ExecutionStatusRunning {
		t.Fatalf("DescribeExecution of the running execution: %+v, %v", out, err)
	}
	h, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(running)})
	if err != nil || len(h.Events) == 0 {
		t.Fatalf("GetExecutionHistory of the running execution: %v events, %v", len(h.Events), err)
	}
	list, err := b.client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(passing)})
	if err != nil || len(list.Executions) != 0 {
		t.Fatalf("ListExecutions after the sweep: %+v, %v", list, err)
	}

	// The name is free again.
	again := b.start(t, passing, "ended", `{}`)
	if again != ended {
		t.Fatalf("ARN of the name used again: %s, want %s", again, ended)
	}
}
