// Package teststate is the TestState API: it runs one state of a definition once, with a given
// input, variables, context object and optionally a mocked outcome of its work, and reports the
// state's outcome and the values of its input/output pipeline as AWS does.
//
// Stepline calls no AWS service, so a Task state can be tested only with a mock.
package teststate

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
)

// Request is a TestState request; the JSON names are the API's.
type Request struct {
	Definition string `json:"definition"`
	RoleArn    string `json:"roleArn"`
	// Input is the state's input as JSON text; empty means {}.
	Input string `json:"input"`
	// InspectionLevel is INFO (the default, also when empty), DEBUG or TRACE.
	InspectionLevel string `json:"inspectionLevel"`
	RevealSecrets   bool   `json:"revealSecrets"`
	// Variables is a JSON object of the variables the state sees; empty means none.
	Variables string `json:"variables"`
	// StateName, when set, names the state to test in Definition, which is then a whole machine.
	StateName string `json:"stateName"`
	// Context is the context object ($$) as JSON text; empty means the default.
	Context            string              `json:"context"`
	Mock               *Mock               `json:"mock"`
	StateConfiguration *StateConfiguration `json:"stateConfiguration"`
	// Region and Account name the machine the state runs in.
	Region  string `json:"-"`
	Account string `json:"-"`
}

// StateConfiguration sets up the state's situation: how often its retriers retried already,
// how many iterations of a mocked Map failed, what a Map's ItemReader reads.
type StateConfiguration struct {
	RetrierRetryCount        *int64  `json:"retrierRetryCount"`
	MapIterationFailureCount *int64  `json:"mapIterationFailureCount"`
	MapItemReaderData        *string `json:"mapItemReaderData"`
}

// Mock is TestState's mock: a result (JSON text) or an error output.
type Mock struct {
	Result              *string      `json:"result"`
	ErrorOutput         *ErrorOutput `json:"errorOutput"`
	FieldValidationMode string       `json:"fieldValidationMode"`
}

// ErrorOutput is a mocked error.
type ErrorOutput struct {
	Error *string `json:"error"`
	Cause *string `json:"cause"`
}

// Response is TestState's answer, with the API's field names.
type Response struct {
	Output         *string     `json:"output,omitempty"`
	Error          *string     `json:"error,omitempty"`
	Cause          *string     `json:"cause,omitempty"`
	InspectionData *Inspection `json:"inspectionData,omitempty"`
	NextState      string      `json:"nextState,omitempty"`
	Status         string      `json:"status"`
}

// Inspection is the inspectionData of a DEBUG or TRACE response: the state's pipeline step by
// step, each value as JSON text.
type Inspection struct {
	Input               *string       `json:"input,omitempty"`
	AfterArguments      *string       `json:"afterArguments,omitempty"`
	AfterInputPath      *string       `json:"afterInputPath,omitempty"`
	AfterItemsPath      *string       `json:"afterItemsPath,omitempty"`
	AfterParameters     *string       `json:"afterParameters,omitempty"`
	Result              *string       `json:"result,omitempty"`
	AfterResultSelector *string       `json:"afterResultSelector,omitempty"`
	AfterResultPath     *string       `json:"afterResultPath,omitempty"`
	Variables           *string       `json:"variables,omitempty"`
	ErrorDetails        *ErrorDetails `json:"errorDetails,omitempty"`
	// The settings of a Map, as evaluated.
	MaxConcurrency             *json.Number `json:"maxConcurrency,omitempty"`
	ToleratedFailureCount      *json.Number `json:"toleratedFailureCount,omitempty"`
	ToleratedFailurePercentage *json.Number `json:"toleratedFailurePercentage,omitempty"`
}

// ErrorDetails tells which retrier would retry, after how long, or which catcher caught.
type ErrorDetails struct {
	CatchIndex                  *int   `json:"catchIndex,omitempty"`
	RetryIndex                  *int   `json:"retryIndex,omitempty"`
	RetryBackoffIntervalSeconds *int64 `json:"retryBackoffIntervalSeconds,omitempty"`
}

// Error is a request TestState refuses, with AWS's code (ValidationException or
// InvalidDefinition) and message.
type Error struct {
	Code    string
	Message string
	// Err is the underlying error, such as asl.Parse's *asl.DefinitionError.
	Err error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// The codes of Error.
const (
	CodeValidation        = "ValidationException"
	CodeInvalidDefinition = "InvalidDefinition"
)

func invalid(format string, args ...any) error {
	return &Error{Code: CodeValidation, Message: fmt.Sprintf(format, args...)}
}

// stateName is the name AWS gives a state tested on its own, in validation messages and in $$.
const stateName = "StateName"

// Run tests the state req describes at time now.
func Run(req *Request, now time.Time) (*Response, error) {
	def, st, err := parse(req)
	if err != nil {
		return nil, err
	}
	opts, err := options(req, st)
	if err != nil {
		return nil, err
	}
	input := req.Input
	if input == "" {
		input = "{}"
	}
	in, err := jsonv.ParseString(input)
	if err != nil {
		return nil, invalid("Invalid input: %s", err.Error())
	}
	id := identity(req, now)
	if opts.Context == nil {
		opts.Context = defaultContext(id, in, st, now)
	}
	rec, err := interp.StartTest(def, id, input, now, opts)
	if err != nil {
		return nil, fmt.Errorf("test state: %w", err)
	}
	// AWS passes the mock's text on unchanged where the value is the mock itself, as it does the
	// input's (recorded is the text the interpreter gave the value).
	text := func(v jsonv.Value, recorded string) *string {
		if m := opts.Mock; m != nil && m.Result != nil && jsonv.String(v) == jsonv.String(m.Result) {
			return req.Mock.Result
		}
		return &recorded
	}
	resp := &Response{Status: string(rec.Status), NextState: rec.NextState, Error: rec.Error, Cause: rec.Cause}
	if rec.Output != nil && rec.Status != interp.TestFailed && rec.Status != interp.TestRetriable {
		v, err := jsonv.ParseString(*rec.Output)
		resp.Output = rec.Output
		if err == nil {
			resp.Output = text(v, *rec.Output)
		}
	} else {
		resp.NextState = ""
	}
	if req.InspectionLevel == "DEBUG" || req.InspectionLevel == "TRACE" {
		resp.InspectionData = inspection(req, &input, rec, text)
	}
	return resp, nil
}

// parse returns the machine whose first state is the one to test.
func parse(req *Request) (*asl.StateMachine, *asl.State, error) {
	text := []byte(req.Definition)
	if req.StateName == "" {
		v, err := jsonv.Parse(text)
		if err != nil {
			return nil, nil, definitionError(fmt.Errorf("definition: %w", err))
		}
		text = []byte(jsonv.String(wrap(v)))
	}
	// Parsed as a Standard machine, which accepts every integration pattern the state may use.
	def, err := asl.Parse(text, asl.ParseOptions{Type: asl.Standard})
	if err != nil {
		return nil, nil, definitionError(err)
	}
	name := stateName
	if req.StateName != "" {
		name = req.StateName
	}
	m := find(&def.Machine, name)
	if m == nil {
		return nil, nil, invalid("State not found in definition")
	}
	// A copy whose start is the state to test, in the machine (or branch, or Map processor)
	// that holds it; the states themselves are shared, read only.
	d := *def
	d.Machine = *m
	d.StartAt, d.Processor = name, nil
	return &d, m.States[name], nil
}

// find returns the machine that holds the state name, searching Parallel branches and Map
// processors too.
func find(m *asl.Machine, name string) *asl.Machine {
	if m.States[name] != nil {
		return m
	}
	for _, st := range m.States {
		var inner []*asl.Machine
		switch st.Type {
		case asl.Parallel:
			inner = st.Parallel.Branches
		case asl.Map:
			inner = []*asl.Machine{st.Map.Processor}
		}
		for _, in := range inner {
			if found := find(in, name); found != nil {
				return found
			}
		}
	}
	return nil
}

func definitionError(err error) error {
	var de *asl.DefinitionError
	if errors.As(err, &de) {
		return &Error{Code: CodeInvalidDefinition, Message: de.Error(), Err: err}
	}
	return &Error{Code: CodeInvalidDefinition, Message: "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Definition must be a valid JSON object'", Err: err}
}

// wrap makes a machine of a lone state. The states it names as its successors do not exist in
// that machine, so each gets a stand-in that validation accepts and the test never enters.
func wrap(state jsonv.Value) jsonv.Value {
	states := jsonv.ObjectOf(jsonv.Member{Key: stateName, Value: state})
	if o, ok := state.(*jsonv.Object); ok {
		for _, next := range successors(o) {
			if next != stateName && !states.Has(next) {
				states.Set(next, jsonv.ObjectOf(jsonv.Member{Key: "Type", Value: "Succeed"}))
			}
		}
	}
	return jsonv.ObjectOf(jsonv.Member{Key: "StartAt", Value: stateName}, jsonv.Member{Key: "States", Value: states})
}

func successors(o *jsonv.Object) []string {
	var names []string
	add := func(o *jsonv.Object, key string) {
		if v, ok := o.Get(key); ok {
			if s, ok := v.(string); ok {
				names = append(names, s)
			}
		}
	}
	add(o, "Next")
	add(o, "Default")
	for _, list := range []string{"Choices", "Catch"} {
		v, _ := o.Get(list)
		items, _ := v.([]jsonv.Value)
		for _, it := range items {
			if io, ok := it.(*jsonv.Object); ok {
				add(io, "Next")
			}
		}
	}
	return names
}

// options checks the request's mock, variables and context against the state, as AWS does
// before running it.
func options(req *Request, st *asl.State) (interp.TestOptions, error) {
	var opts interp.TestOptions
	if c := req.StateConfiguration; c != nil {
		if c.RetrierRetryCount != nil {
			opts.RetrierRetryCount = *c.RetrierRetryCount
		}
		if n := c.MapIterationFailureCount; n != nil {
			if req.Mock == nil {
				return opts, invalid("TestState does not support MapIterationFailureCount when a mock is not specified.")
			}
			opts.MapIterationFailureCount = n
		}
		if d := c.MapItemReaderData; d != nil {
			v, err := jsonv.ParseString(*d)
			if err != nil {
				return opts, invalid("Map item reader data must be valid JSON")
			}
			opts.MapItems = v
		}
	}
	if m := req.Mock; m != nil {
		mock, err := mockOf(m, req, st)
		if err != nil {
			return opts, err
		}
		opts.Mock = mock
		if n := opts.MapIterationFailureCount; n != nil {
			if a, ok := mock.Result.([]jsonv.Value); ok && *n > int64(len(a)) {
				return opts, invalid("Map iteration failure count must be less than or equal to the number of Map iterations")
			}
		}
	} else {
		switch st.Type {
		case asl.Map, asl.Parallel:
			return opts, &Error{Code: CodeInvalidDefinition, Message: "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]"}
		case asl.Task:
			if req.RoleArn == "" {
				return opts, invalid("RoleArn must be specified when testing a Task state")
			}
			return opts, invalid("Stepline does not call AWS services: test a Task state with a mock")
		}
	}
	if req.Variables != "" {
		v, err := jsonv.ParseString(req.Variables)
		o, ok := v.(*jsonv.Object)
		if err != nil || !ok {
			return opts, invalid("Variables must be a valid JSON object")
		}
		opts.Variables = o
	}
	if req.Context != "" {
		ctx, err := contextOf(req.Context, st)
		if err != nil {
			return opts, err
		}
		opts.Context = ctx
	}
	return opts, nil
}

func mockOf(m *Mock, req *Request, st *asl.State) (*interp.Mock, error) {
	if (m.Result == nil) == (m.ErrorOutput == nil) {
		return nil, invalid("A test mock should have only one of the following fields: [result, errorOutput].")
	}
	if req.RevealSecrets {
		return nil, invalid("TestState does not support RevealSecrets when a mock is specified.")
	}
	switch st.Type {
	case asl.Task, asl.Map, asl.Parallel:
	default:
		return nil, invalid("State type '%s' is not supported when a mock is specified", st.Type)
	}
	if e := m.ErrorOutput; e != nil {
		return &interp.Mock{Failed: true, Error: e.Error, Cause: e.Cause}, nil
	}
	v, err := jsonv.ParseString(*m.Result)
	if err != nil {
		return nil, invalid("Mocked result must be valid JSON")
	}
	if st.Type == asl.Task {
		if err := validateMock(st.Task.Resource, m.FieldValidationMode, v); err != nil {
			return nil, err
		}
	}
	if st.Type == asl.Map && st.Map.ResultWriter != nil {
		// A Map that writes its results elsewhere returns a description of what it wrote.
		if _, ok := v.(*jsonv.Object); !ok {
			return nil, invalid("Mocked result must be a JSON object.")
		}
		return &interp.Mock{Result: v}, nil
	}
	switch st.Type {
	case asl.Map, asl.Parallel:
		a, ok := v.([]jsonv.Value)
		if !ok {
			return nil, invalid("Mocked result must be an array.")
		}
		if st.Type == asl.Parallel && len(a) != len(st.Parallel.Branches) {
			return nil, invalid("Mocked result must contain the same number of items as number of Parallel branches.")
		}
	}
	return &interp.Mock{Result: v}, nil
}

// contextFields are the fields of the context object a request may give, with those of each
// the checks know.
var contextFields = map[string][]string{
	"Execution":    {"Id", "Input", "Name", "RoleArn", "StartTime", "RedriveCount"},
	"State":        {"EnteredTime", "Name", "RetryCount"},
	"StateMachine": {"Id", "Name"},
	"Task":         {"Token"},
}

func contextOf(text string, st *asl.State) (jsonv.Value, error) {
	v, err := jsonv.ParseString(text)
	o, ok := v.(*jsonv.Object)
	if err != nil || !ok {
		return nil, invalid("Invalid Context object provided: Context object must be a valid JSON object")
	}
	for _, m := range o.Members() {
		switch m.Key {
		case "Map":
			return nil, invalid("Invalid Context object provided: 'Map' field is not supported when mocking a Context object")
		case "Task":
			if st.Type != asl.Task || !hasTaskToken(st.Task.Resource) {
				return nil, invalid("Invalid Context object provided: Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern")
			}
		}
		fields, known := contextFields[m.Key]
		if !known {
			return nil, invalid("Invalid Context object provided: Field '%s' is not allowed", m.Key)
		}
		sub, _ := m.Value.(*jsonv.Object)
		for _, f := range sub.Members() {
			if !slices.Contains(fields, f.Key) {
				return nil, invalid("Invalid Context object provided: Field '%s' is not allowed", f.Key)
			}
			if _, isStr := f.Value.(string); !isStr && (f.Key == "Id" || f.Key == "Name") {
				return nil, invalid("Invalid Context object provided: %s.%s must be a string", m.Key, f.Key)
			}
		}
	}
	return o, nil
}

func hasTaskToken(resource string) bool {
	return strings.HasSuffix(resource, ".sync") || strings.HasSuffix(resource, ".sync:2") || strings.HasSuffix(resource, ".waitForTaskToken")
}

// identity names the execution a test runs in: AWS runs it as an Express execution of a machine
// of its own, with names it makes up.
func identity(req *Request, now time.Time) interp.Identity {
	machine, exec := newUUID(), newUUID()
	arn := "arn:aws:states:" + req.Region + ":" + req.Account
	return interp.Identity{
		ExecutionArn: arn + ":express:" + machine + ":" + exec, Name: exec,
		StateMachineArn: arn + ":stateMachine:" + machine, StateMachineName: machine,
		RoleArn: req.RoleArn, Region: req.Region, Account: req.Account, StartTime: now, Sync: true,
	}
}

// defaultContext is $$ as AWS gives it to a tested state: no RedriveCount, the state named
// StateName whatever its name, and a null RoleArn when the request has none.
func defaultContext(id interp.Identity, input jsonv.Value, st *asl.State, now time.Time) jsonv.Value {
	var role jsonv.Value
	if id.RoleArn != "" {
		role = id.RoleArn
	}
	start := now.UTC().Format("2006-01-02T15:04:05.000Z")
	state := jsonv.ObjectOf(jsonv.Member{Key: "Name", Value: stateName}, jsonv.Member{Key: "EnteredTime", Value: start})
	switch st.Type {
	case asl.Task, asl.Parallel, asl.Map:
		state.Set("RetryCount", jsonv.Int(0))
	}
	return jsonv.ObjectOf(
		jsonv.Member{Key: "Execution", Value: jsonv.ObjectOf(
			jsonv.Member{Key: "Id", Value: id.ExecutionArn},
			jsonv.Member{Key: "Input", Value: input},
			jsonv.Member{Key: "Name", Value: id.Name},
			jsonv.Member{Key: "RoleArn", Value: role},
			jsonv.Member{Key: "StartTime", Value: start},
		)},
		jsonv.Member{Key: "StateMachine", Value: jsonv.ObjectOf(
			jsonv.Member{Key: "Id", Value: id.StateMachineArn},
			jsonv.Member{Key: "Name", Value: id.StateMachineName},
		)},
		jsonv.Member{Key: "State", Value: state},
	)
}

func inspection(req *Request, input *string, rec *interp.TestRecord, text func(jsonv.Value, string) *string) *Inspection {
	in := &Inspection{Input: input}
	for _, v := range rec.Inspected {
		switch v.Name {
		case "afterArguments":
			in.AfterArguments = text(v.Value, v.Text)
		case "afterInputPath":
			in.AfterInputPath = text(v.Value, v.Text)
		case "afterItemsPath":
			in.AfterItemsPath = text(v.Value, v.Text)
		case "afterParameters":
			in.AfterParameters = text(v.Value, v.Text)
		case "result":
			in.Result = text(v.Value, v.Text)
		case "afterResultSelector":
			in.AfterResultSelector = text(v.Value, v.Text)
		case "afterResultPath":
			in.AfterResultPath = text(v.Value, v.Text)
		case "maxConcurrency":
			in.MaxConcurrency = number(v.Value)
		case "toleratedFailureCount":
			in.ToleratedFailureCount = number(v.Value)
		case "toleratedFailurePercentage":
			in.ToleratedFailurePercentage = number(v.Value)
		}
	}
	if vars, err := jsonv.ParseString(req.Variables); err == nil {
		if o, ok := vars.(*jsonv.Object); ok && o.Len() > 0 {
			in.Variables = &req.Variables
		}
	}
	if rec.RetryIndex != nil || rec.CatchIndex != nil {
		in.ErrorDetails = &ErrorDetails{RetryIndex: rec.RetryIndex, CatchIndex: rec.CatchIndex}
		if rec.Status == interp.TestRetriable {
			secs := int64(rec.RetryBackoff / time.Second)
			in.ErrorDetails.RetryBackoffIntervalSeconds = &secs
		}
	}
	return in
}

func number(v jsonv.Value) *json.Number {
	n, _ := v.(jsonv.Number)
	j := json.Number(n)
	return &j
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0xf])
	}
	return string(out)
}
