package server_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/stepline/stepline/internal/server"
	"github.com/stepline/stepline/internal/store/postgres/pgtest"
)

// AWS's example mock configuration and its state machine, from the Step Functions Local
// documentation.
var (
	awsMockConfig  = filepath.Join("..", "mock", "testdata", "MockConfigFile.json")
	awsMockMachine = filepath.Join("..", "mock", "testdata", "LambdaSQSIntegration.json")
)

const (
	mockedLambda = `{"StatusCode":200,"Payload":{"StatusCode":200,"body":"Hello from Lambda!"}}`
	mockedSQS    = `{"MD5OfMessageBody":"3bcb6e8e-7h85-4375-b0bc-1a59812c6e51","MessageId":"3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}`
)

func readFile(t testing.TB, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// taskEvents renders the task events of a history, one per event: "TaskScheduled lambda:invoke",
// "TaskFailed Lambda.TimeoutException", "TaskSucceeded {output}".
func (b *bundle) taskEvents(t testing.TB, arn string) []string {
	t.Helper()
	h, err := b.client.GetExecutionHistory(context.Background(), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range h.Events {
		switch {
		case e.TaskScheduledEventDetails != nil:
			d := e.TaskScheduledEventDetails
			out = append(out, fmt.Sprintf("TaskScheduled %s:%s", aws.ToString(d.ResourceType), aws.ToString(d.Resource)))
		case e.TaskStartedEventDetails != nil:
			out = append(out, "TaskStarted")
		case e.TaskFailedEventDetails != nil:
			out = append(out, "TaskFailed "+aws.ToString(e.TaskFailedEventDetails.Error)+": "+aws.ToString(e.TaskFailedEventDetails.Cause))
		case e.TaskSucceededEventDetails != nil:
			out = append(out, "TaskSucceeded "+aws.ToString(e.TaskSucceededEventDetails.Output))
		case e.StateEnteredEventDetails != nil:
			out = append(out, "Entered "+aws.ToString(e.StateEnteredEventDetails.Name))
		}
	}
	return out
}

func checkEvents(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s history:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMockConfigAWSExample runs the test cases of AWS's example through the SDK, as its
// documentation describes them: HappyPath returns both mocks; RetryPath fails three times
// (invocation 0, then 1-2) and succeeds at the third retry; HybridPath mocks LambdaState and
// calls SQS for real, which Stepline does not serve, so the execution fails as an unmocked one
// does. The execution ARN is the ordinary one, without the test case.
func TestMockConfigAWSExample(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{MockConfig: awsMockConfig, WaitScale: 0.001})
	machine := b.createMachine(t, "LambdaSQSIntegration", readFile(t, awsMockMachine))

	ex := b.start(t, machine+"#HappyPath", "executionWithHappyPathMockedServices", "")
	if ex != exArn+"LambdaSQSIntegration:executionWithHappyPathMockedServices" {
		t.Errorf("execution ARN %s", ex)
	}
	d := b.waitDone(t, ex)
	if d.Status != types.ExecutionStatusSucceeded || aws.ToString(d.Output) != mockedSQS || aws.ToString(d.StateMachineArn) != machine {
		t.Errorf("HappyPath: %s %s (machine %s)", d.Status, aws.ToString(d.Output), aws.ToString(d.StateMachineArn))
	}
	checkEvents(t, "HappyPath", b.taskEvents(t, ex),
		"Entered LambdaState", "TaskScheduled lambda:invoke", "TaskStarted", "TaskSucceeded "+mockedLambda,
		"Entered SQSState", "TaskScheduled sqs:sendMessage", "TaskStarted", "TaskSucceeded "+mockedSQS)

	ex = b.start(t, machine+"#RetryPath", "", "")
	d = b.waitDone(t, ex)
	if d.Status != types.ExecutionStatusSucceeded || aws.ToString(d.Output) != mockedSQS {
		t.Errorf("RetryPath: %s %s %s", d.Status, aws.ToString(d.Output), aws.ToString(d.Cause))
	}
	checkEvents(t, "RetryPath", b.taskEvents(t, ex),
		"Entered LambdaState",
		"TaskScheduled lambda:invoke", "TaskStarted", "TaskFailed Lambda.ResourceNotReadyException: Lambda resource is not ready.",
		"TaskScheduled lambda:invoke", "TaskStarted", "TaskFailed Lambda.TimeoutException: Lambda timed out.",
		"TaskScheduled lambda:invoke", "TaskStarted", "TaskFailed Lambda.TimeoutException: Lambda timed out.",
		"TaskScheduled lambda:invoke", "TaskStarted", "TaskSucceeded "+mockedLambda,
		"Entered SQSState", "TaskScheduled sqs:sendMessage", "TaskStarted", "TaskSucceeded "+mockedSQS)

	ex = b.start(t, machine+"#HybridPath", "", `{"from":"hybrid"}`)
	d = b.waitDone(t, ex)
	if d.Status != types.ExecutionStatusFailed || aws.ToString(d.Error) != "States.TaskFailed" ||
		!strings.Contains(aws.ToString(d.Cause), "arn:aws:states:::sqs:sendMessage") {
		t.Errorf("HybridPath: %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	if ev := b.taskEvents(t, ex); len(ev) < 4 || ev[3] != "TaskSucceeded "+mockedLambda {
		t.Errorf("HybridPath history %v", ev)
	}

	// Without a test case nothing is mocked: the real Lambda has no HelloWorldFunction, and
	// Retry tries it four times.
	ex = b.start(t, machine, "", "")
	if d = b.waitDone(t, ex); d.Status != types.ExecutionStatusFailed || aws.ToString(d.Error) != "Lambda.ResourceNotFoundException" {
		t.Errorf("unmocked: %s %s", d.Status, aws.ToString(d.Error))
	}
}

// TestMockConfigStartErrors: a test case the file does not define, a state machine it does not
// name, a mocked activity state and a server without a mock file refuse the start with a
// ValidationException that says which.
func TestMockConfigStartErrors(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "mocks.json")
	doc := strings.Replace(readFile(t, awsMockConfig), `"StateMachines":{`,
		`"StateMachines":{"WithActivity":{"TestCases":{"T":{"Work":"MockedLambdaSuccess"}}},`, 1)
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	b := setup(t, server.Options{MockConfig: file})
	machine := b.createMachine(t, "LambdaSQSIntegration", readFile(t, awsMockMachine))
	other := b.createMachine(t, "Other", passChain)
	withActivity := b.createMachine(t, "WithActivity", `{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
		{"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":"`+actArn+`a","End":true}}}]}}}`)
	bare := setup(t, server.Options{})
	bareMachine := bare.createMachine(t, "LambdaSQSIntegration", readFile(t, awsMockMachine))
	tests := []struct {
		b       *bundle
		arn     string
		code    string
		message string
	}{
		{b, machine + "#SadPath", "ValidationException", "state machine 'LambdaSQSIntegration' has no such test case"},
		{b, machine + "#", "ValidationException", "without a test case name"},
		{b, other + "#HappyPath", "ValidationException", "has no state machine 'Other'"},
		{b, smArn + "Missing#HappyPath", "StateMachineDoesNotExist", "State Machine Does Not Exist"},
		{b, withActivity + "#T", "ValidationException", "Activity state cannot be mocked. Please remove mocks mapped for all activity state in the mock config file. (state 'Work'"},
		{bare, bareMachine + "#HappyPath", "ValidationException", "no mock configuration is loaded"},
	}
	for _, tt := range tests {
		_, err := tt.b.client.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String(tt.arn)})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != tt.code || !strings.Contains(ae.ErrorMessage(), tt.message) {
			t.Errorf("StartExecution %s: %v; want %s containing %q", tt.arn, err, tt.code, tt.message)
		}
	}
	if _, err := server.New(context.Background(), server.Options{DB: filepath.Join(t.TempDir(), "x.db"), Addr: "127.0.0.1:0",
		MockConfig: filepath.Join(t.TempDir(), "missing.json")}); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("a missing mock file: %v", err)
	}
}

// TestMockConfigExpress: StartSyncExecution on an Express machine runs under the test case too.
func TestMockConfigExpress(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Options{MockConfig: awsMockConfig, WaitScale: 0.001})
	out, err := b.client.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name: aws.String("LambdaSQSIntegration"), Definition: aws.String(readFile(t, awsMockMachine)), RoleArn: aws.String(role),
		Type: types.StateMachineTypeExpress,
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.client.StartSyncExecution(context.Background(), &sfn.StartSyncExecutionInput{
		StateMachineArn: aws.String(*out.StateMachineArn + "#RetryPath")}, withoutHostPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != types.SyncExecutionStatusSucceeded || aws.ToString(res.Output) != mockedSQS ||
		!strings.HasPrefix(aws.ToString(res.ExecutionArn), "arn:aws:states:us-east-1:123456789012:express:LambdaSQSIntegration:") {
		t.Errorf("StartSyncExecution: %s %s %s %s", res.Status, aws.ToString(res.Output), aws.ToString(res.Cause), aws.ToString(res.ExecutionArn))
	}
}

// TestMockConfigRealLambda: a state the test case does not mock calls its real integration —
// here a Python function in Stepline's Lambda — while the mocked one does not.
func TestMockConfigRealLambda(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python")
	}
	t.Parallel()
	file := filepath.Join(t.TempDir(), "mocks.json")
	err := os.WriteFile(file, []byte(`{"StateMachines":{"LambdaSQSIntegration":{"TestCases":{"RealLambda":{"SQSState":"MockedSQSSuccess"}}}},
		"MockedResponses":{"MockedSQSSuccess":{"0":{"Return":`+mockedSQS+`}}}}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, server.Options{MockConfig: file, WaitScale: 0.001})
	createFunction(t, newLambdaClient(b.url), "HelloWorldFunction", "python3.12", "app.handler",
		pyZip(t, "def handler(event, context):\n    return {'hello': event['name']}\n"))
	machine := b.createMachine(t, "LambdaSQSIntegration", readFile(t, awsMockMachine))
	ex := b.start(t, machine+"#RealLambda", "", `{"name":"real"}`)
	d := b.waitDone(t, ex)
	if d.Status != types.ExecutionStatusSucceeded || aws.ToString(d.Output) != mockedSQS {
		t.Fatalf("RealLambda: %s %s %s", d.Status, aws.ToString(d.Output), aws.ToString(d.Cause))
	}
	ev := b.taskEvents(t, ex)
	if len(ev) < 4 || !strings.Contains(ev[3], `"Payload":{"hello":"real"}`) || !strings.Contains(ev[3], `"SdkHttpMetadata"`) {
		t.Errorf("the real function's result: %v", ev)
	}
}

// TestMockConfigSurvivesRestart: the test case and the invocation count are kept with the
// execution, so a server restarted in the middle of RetryPath's retries goes on where it was,
// and on PostgreSQL another node finishes what the first began.
func TestMockConfigSurvivesRestart(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testMockRestart(t, filepath.Join(t.TempDir(), "stepline.db"), "node-a")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		_, _, dsn := pgtest.Schema(t)
		testMockRestart(t, dsn, "node-b")
	})
}

func testMockRestart(t *testing.T, db, secondNode string) {
	// At full scale the first retry waits two seconds: long enough to restart in.
	first, err := server.New(context.Background(), server.Options{DB: db, Addr: "127.0.0.1:0", MockConfig: awsMockConfig, WaitScale: 1,
		Node: "node-a", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := &bundle{srv: first, url: "http://" + first.Addr(), client: newClient("http://" + first.Addr())}
	machine := b.createMachine(t, "LambdaSQSIntegration", readFile(t, awsMockMachine))
	ex := b.start(t, machine+"#RetryPath", "restarted", "")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(strings.Join(b.taskEvents(t, ex), "\n"), "TaskFailed") {
		if time.Now().After(deadline) {
			t.Fatal("the first invocation did not fail")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := first.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	b = setup(t, server.Options{DB: db, MockConfig: awsMockConfig, WaitScale: 0.001, Node: secondNode, DataDir: t.TempDir()})
	d := b.waitDone(t, ex)
	if d.Status != types.ExecutionStatusSucceeded || aws.ToString(d.Output) != mockedSQS {
		t.Errorf("after a restart: %s %s %s", d.Status, aws.ToString(d.Output), aws.ToString(d.Cause))
	}
	var failed []string
	for _, e := range b.taskEvents(t, ex) {
		if strings.HasPrefix(e, "TaskFailed") {
			failed = append(failed, strings.Fields(e)[1])
		}
	}
	if got := strings.Join(failed, " "); got != "Lambda.ResourceNotReadyException: Lambda.TimeoutException: Lambda.TimeoutException:" {
		t.Errorf("failures across the restart: %s", got)
	}
}

// TestMockConfigCallbackAndMap: a mocked .waitForTaskToken task answers at once (Step Functions
// Local makes up its token), and a Map's iterations share their state's invocation count, so
// with MaxConcurrency 1 item i gets response i — for an integration Stepline does not serve.
func TestMockConfigCallbackAndMap(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "mocks.json")
	err := os.WriteFile(file, []byte(`{"StateMachines":{"Orders":{"TestCases":{"T":{"Ask":"Approved","Get":"Items"}}}},
		"MockedResponses":{"Approved":{"0":{"Return":{"approved":true}}},
			"Items":{"0":{"Return":{"Item":{"id":"a"}}},"1-2":{"Return":{"Item":{"id":"b"}}}}}}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, server.Options{MockConfig: file})
	machine := b.createMachine(t, "Orders", `{"StartAt":"Ask","States":{
		"Ask":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
			"Parameters":{"FunctionName":"approver","Payload":{"token.$":"$$.Task.Token"}},"ResultPath":"$.answer","Next":"Each"},
		"Each":{"Type":"Map","ItemsPath":"$.ids","MaxConcurrency":1,"ItemProcessor":{"StartAt":"Get","States":{
			"Get":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:dynamodb:getItem",
				"Parameters":{"TableName":"t","Key":{"id":{"S.$":"$"}}},"OutputPath":"$.Item.id","End":true}}},
			"ResultPath":"$.got","End":true}}}`)
	ex := b.start(t, machine+"#T", "", `{"ids":["x","y","z"]}`)
	d := b.waitDone(t, ex)
	if want := `{"ids":["x","y","z"],"answer":{"approved":true},"got":["a","b","b"]}`; d.Status != types.ExecutionStatusSucceeded || aws.ToString(d.Output) != want {
		t.Errorf("got %s %s %s, want %s", d.Status, aws.ToString(d.Output), aws.ToString(d.Cause), want)
	}
}
