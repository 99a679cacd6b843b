package task

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/mock"
)

// TestMockedTasks runs tasks of AWS's example test cases through a Runner that has no Lambda:
// mocked states answer from the file whatever their integration pattern, and an unmocked one
// reaches its real integration (here, the missing Lambda).
func TestMockedTasks(t *testing.T) {
	t.Parallel()
	c, err := mock.Load(filepath.Join("..", "mock", "testdata", "MockConfigFile.json"))
	if err != nil {
		t.Fatal(err)
	}
	const lambdaOK = `{"StatusCode":200,"Payload":{"StatusCode":200,"body":"Hello from Lambda!"}}`
	happy := &interp.TestCase{StateMachine: "LambdaSQSIntegration", Name: "HappyPath"}
	retry := &interp.TestCase{StateMachine: "LambdaSQSIntegration", Name: "RetryPath"}
	hybrid := &interp.TestCase{StateMachine: "LambdaSQSIntegration", Name: "HybridPath"}
	gone := &interp.TestCase{StateMachine: "LambdaSQSIntegration", Name: "Gone"}
	tests := []struct {
		name       string
		mocks      *mock.Config
		tc         *interp.TestCase
		state      string
		resource   string
		invocation int64
		out        string
		errName    string
	}{
		{"return", c, happy, "LambdaState", "arn:aws:states:::lambda:invoke", 0, lambdaOK, ""},
		{"a callback task answers at once", c, happy, "LambdaState", "arn:aws:states:::lambda:invoke.waitForTaskToken", 0, lambdaOK, ""},
		{"throw", c, retry, "LambdaState", "arn:aws:states:::lambda:invoke", 2, "", "Lambda.TimeoutException"},
		{"range end", c, retry, "LambdaState", "arn:aws:states:::lambda:invoke", 3, lambdaOK, ""},
		{"no response for the invocation", c, retry, "LambdaState", "arn:aws:states:::lambda:invoke", 4, "", "States.Runtime"},
		{"unmocked state calls the integration", c, hybrid, "SQSState", "arn:aws:states:::lambda:invoke", 0, "", "States.TaskFailed"},
		{"test case gone from the file", c, gone, "LambdaState", "arn:aws:states:::lambda:invoke", 0, "", "States.Runtime"},
		{"no file loaded", nil, happy, "LambdaState", "arn:aws:states:::lambda:invoke", 0, "", "States.Runtime"},
	}
	for _, tt := range tests {
		r := New(Options{Mocks: tt.mocks})
		out, err := r.Run(context.Background(), &engine.Task{ExecutionArn: "arn:aws:states:us-east-1:123456789012:execution:LambdaSQSIntegration:x",
			TaskID: "task-1", StateName: tt.state, Resource: tt.resource, Parameters: `{"FunctionName":"HelloWorldFunction"}`,
			TestCase: tt.tc, Invocation: tt.invocation})
		var te *engine.TaskError
		switch {
		case tt.errName == "" && (err != nil || out != tt.out):
			t.Errorf("%s: %q, %v; want %s", tt.name, out, err, tt.out)
		case tt.errName != "" && (!errors.As(err, &te) || te.Name != tt.errName):
			t.Errorf("%s: %q, %v; want %s", tt.name, out, err, tt.errName)
		}
	}
}
