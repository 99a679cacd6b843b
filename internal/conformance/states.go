package conformance

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/inproc"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/task"
)

// childTemplates are the state machines the corpus's `states` tests created before their
// execution and started from it, by the test that recorded them: the corpus names the child
// (its ARN is in the input or the definition) but records neither its definition nor a
// resource for it, so they are LocalStack's templates written anew. Tests absent here created
// none (a test of a machine that does not exist).
var childTemplates = map[string]string{
	// BaseTemplate.BASE_PASS_RESULT
	"test_start_execution_sync":                            basePassResult,
	"test_start_execution_sync2":                           basePassResult,
	"test_sfn_start_execution_sync":                        basePassResult,
	"test_start_execution":                                 basePassResult,
	"test_start_execution_input_json":                      basePassResult,
	"test_sfn_start_execution":                             basePassResult,
	"test_sfn_start_execution_implicit_json_serialisation": basePassResult,
	// BaseTemplate.BASE_RAISE_FAILURE
	"test_start_execution_sync_delegate_failure": `{"Comment":"BASE_RAISE_FAILURE","StartAt":"FailState","States":{"FailState":{"Type":"Fail","Error":"SomeFailure","Cause":"This state machines raises a 'SomeFailure' failure."}}}`,
	// TimeoutTemplates.LAMBDA_WAIT_WITH_TIMEOUT_SECONDS on the case's function, which sleeps a minute.
	"test_start_execution_sync_delegate_timeout": `{"Comment":"LAMBDA_WAIT_WITH_TIMEOUT_SECONDS","StartAt":"Start","States":{"Start":{"Type":"Task","Resource":"${function}","TimeoutSeconds":5,"End":true}}}`,
}

const basePassResult = `{"Comment":"BASE_PASS_RESULT","StartAt":"State_1","States":{"State_1":{"Type":"Pass","Result":{"Arg1":"argument1"},"End":true}}}`

var stateMachineArn = regexp.MustCompile(`arn:aws:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]+`)

// stateMachines returns the child state machines c's test created, by ARN: nil for a case
// that does not need Step Functions, empty for one whose test created none.
func stateMachines(c *Case) map[string]string {
	if !slices.Contains(c.Requires, "states") {
		return nil
	}
	out := map[string]string{}
	def, ok := childTemplates[testName(c)]
	if !ok {
		return out
	}
	for _, fn := range functions(c) {
		def = strings.ReplaceAll(def, "${function}", "arn:aws:lambda:"+Region+":"+Account+":function:"+fn.Name)
	}
	for _, arn := range stateMachineArn.FindAllString(c.ctx("input_text")+c.Definition, -1) {
		if !strings.HasSuffix(arn, ":"+c.ctx("state_machine_name")) {
			out[arn] = def
		}
	}
	return out
}

// testName is the test function that recorded c ("test_start_execution_sync"), from its
// provenance's node id, without parameters.
func testName(c *Case) string {
	prov, _ := get(c.Context, "provenance").(*jsonv.Object)
	node := str(prov, "nodeid")
	node = node[strings.LastIndex(node, "::")+2:]
	name, _, _ := strings.Cut(node, "[")
	return name
}

// newRunner is the task Runner of `stepline serve` for one case: its Lambda service (nil for
// none) and, when machines is not nil, nested executions in memory. It is nil when the case
// needs neither.
func newRunner(lam *lambda.Service, machines map[string]string, s3svc http.Handler, ev task.Events) engine.Runner {
	if lam == nil && machines == nil && s3svc == nil && ev == nil {
		return nil
	}
	o := task.Options{Region: Region, Account: Account, S3: s3svc, Events: ev}
	if lam != nil {
		o.Lambda = lam
	}
	r := task.New(o)
	if machines != nil {
		r.SetExecutions(&memExecutions{machines: machines, runner: r})
	}
	return r
}

// memExecutions is the Step Functions API of one case's world, in memory: StartExecution runs
// the child to its end with the in-process runner and the case's task runner before it
// answers, so a .sync task finds it ended at its first DescribeExecution.
type memExecutions struct {
	machines map[string]string // ARN → definition
	runner   engine.Runner

	mu   sync.Mutex
	runs map[string]*store.Execution
}

var _ task.Executions = (*memExecutions)(nil)

func (m *memExecutions) StartExecution(ctx context.Context, in *service.StartExecutionInput) (*store.Execution, error) {
	def, ok := m.machines[in.StateMachineArn]
	if !ok {
		return nil, &service.Error{Code: service.CodeStateMachineDoesNotExist,
			Message: fmt.Sprintf("State Machine Does Not Exist: '%s'", in.StateMachineArn)}
	}
	parsed, err := asl.Parse([]byte(def), asl.ParseOptions{Type: asl.Standard})
	if err != nil {
		return nil, fmt.Errorf("child definition of %s: %w", in.StateMachineArn, err)
	}
	smName := in.StateMachineArn[strings.LastIndex(in.StateMachineArn, ":")+1:]
	name := in.Name
	if name == "" {
		name = rand.Text() // StartExecution's default name is random (a UUID on AWS)
	}
	input := "{}"
	if in.Input != nil {
		input = *in.Input
	}
	arn := fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", Region, Account, smName, name)
	start := time.Now().UTC().Truncate(time.Millisecond)
	res, err := inproc.Run(ctx, inproc.Options{
		Definition: parsed, Input: input, StateMachineName: smName, ExecutionName: name,
		RoleArn: "arn:aws:iam::" + Account + ":role/child", Type: asl.Standard, Account: Account, Region: Region,
		RunTask: engine.InprocTask(m.runner, arn),
	})
	if err != nil {
		return nil, fmt.Errorf("running child %s: %w", arn, err)
	}
	stop := time.Now().UTC().Truncate(time.Millisecond)
	x := &store.Execution{Arn: arn, StateMachineArn: in.StateMachineArn, Name: name, Type: store.StateMachineStandard,
		Status: store.ExecutionStatus(res.Status), Input: input, Output: res.Output, Error: res.Error, Cause: res.Cause,
		StartDate: start, StopDate: &stop}
	if res.Status == interp.Running {
		x.StopDate = nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runs == nil {
		m.runs = map[string]*store.Execution{}
	}
	m.runs[arn] = x
	return x, nil
}

func (m *memExecutions) DescribeExecution(_ context.Context, arn string) (*store.Execution, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if x, ok := m.runs[arn]; ok {
		return x, nil
	}
	return nil, &service.Error{Code: service.CodeExecutionDoesNotExist, Message: fmt.Sprintf("Execution Does Not Exist: '%s'", arn)}
}

func (m *memExecutions) StopExecution(ctx context.Context, arn string, _, _ *string) (time.Time, error) {
	x, err := m.DescribeExecution(ctx, arn)
	if err != nil {
		return time.Time{}, err
	}
	if x.StopDate != nil {
		return *x.StopDate, nil
	}
	return time.Now(), nil
}

func (m *memExecutions) ListExecutions(_ context.Context, in *service.ListExecutionsInput) ([]*store.Execution, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*store.Execution
	for _, x := range m.runs {
		if x.StateMachineArn == in.StateMachineArn && (in.Status == "" || x.Status == in.Status) {
			out = append(out, x)
		}
	}
	return out, "", nil
}

func (m *memExecutions) Redrives(context.Context, string) (*store.Redrives, error) { return nil, nil }

// Redrivable answers as AWS does for an execution never redriven.
func (m *memExecutions) Redrivable(_ context.Context, x *store.Execution, _ *store.Redrives) (bool, string, error) {
	switch x.Status {
	case store.StatusFailed, store.StatusTimedOut, store.StatusAborted:
		return true, "", nil
	}
	return false, fmt.Sprintf("Execution is %s and cannot be redriven", x.Status), nil
}

// Task tokens: an execution run in memory issues none that could be sent back, so every
// token is one never issued.
func (m *memExecutions) SendTaskSuccess(context.Context, string, string) error { return invalidToken() }
func (m *memExecutions) SendTaskFailure(context.Context, string, *string, *string) error {
	return invalidToken()
}
func (m *memExecutions) SendTaskHeartbeat(context.Context, string) error { return invalidToken() }

func invalidToken() error {
	return &service.Error{Code: service.CodeInvalidToken, Message: "Invalid Token: 'Invalid token'"}
}
