// Package asl parses and validates Amazon States Language definitions into an immutable, typed
// model in which every path, template, intrinsic call and expression is already compiled, so that
// nothing is parsed again while executions run.
//
// The model holds no execution state: attempts, timers and fan-out belong to the interpreter.
package asl

import (
	"time"

	"github.com/stepline/stepline/internal/asl/intrinsic"
	"github.com/stepline/stepline/internal/asl/path"
	"github.com/stepline/stepline/internal/jsonv"
)

// QueryLanguage selects how a state's fields are evaluated.
type QueryLanguage uint8

// The query languages; JSONPath is AWS's default.
const (
	JSONPath QueryLanguage = iota
	JSONata
)

func (q QueryLanguage) String() string {
	if q == JSONata {
		return "JSONata"
	}
	return "JSONPath"
}

// MachineType is STANDARD or EXPRESS; some definitions are valid for one only.
type MachineType uint8

// The state machine types.
const (
	Standard MachineType = iota
	Express
)

func (t MachineType) String() string {
	if t == Express {
		return "EXPRESS"
	}
	return "STANDARD"
}

// StateMachine is a parsed, validated definition.
type StateMachine struct {
	Machine
	Version        string
	TimeoutSeconds int64 // 0: none
	// Source is the definition text as given, kept for DescribeStateMachine.
	Source string

	variableRefs map[string][]string
}

// VariableReferences returns, for each state that reads workflow variables, their names in the
// order the state first reads them, as DescribeStateMachine reports them in variableReferences.
// States that read none are absent. The map is shared: callers must not modify it.
func (sm *StateMachine) VariableReferences() map[string][]string { return sm.variableRefs }

// Machine is a set of states with a start: the top level, a Parallel branch or a Map processor.
type Machine struct {
	Comment       string
	StartAt       string
	QueryLanguage QueryLanguage
	// States holds every state by name; Order lists the names in definition order.
	States map[string]*State
	Order  []string
	// Processor is set for a Map's ItemProcessor (or legacy Iterator).
	Processor *ProcessorConfig
}

// StateType is the Type field of a state.
type StateType uint8

// The state types.
const (
	Pass StateType = iota
	Task
	Choice
	Wait
	Succeed
	Fail
	Parallel
	Map
)

var stateTypeNames = [...]string{"Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}

func (t StateType) String() string { return stateTypeNames[t] }

// State is one state. Fields not used by its Type are zero. Field groups follow AWS's
// input/output pipeline: InputPath → Parameters/Arguments → work → ResultSelector → ResultPath →
// OutputPath/Output, with Retry and Catch around the work and Assign alongside Output.
type State struct {
	Name          string
	Type          StateType
	Comment       string
	QueryLanguage QueryLanguage // the effective language (the state's own, else the machine's)

	// Next is the following state; End marks a terminal state (Succeed and Fail are terminal
	// without End).
	Next string
	End  bool

	InputPath  OptPath // JSONPath only
	OutputPath OptPath // JSONPath only
	ResultPath OptPath // JSONPath only; ResultPath's path is a reference path rooted at $

	// Parameters holds Parameters (JSONPath) or Arguments (JSONata); nil when absent.
	Parameters     Expr
	ResultSelector Expr // JSONPath only
	Output         Expr // JSONata only
	// Assign evaluates to an object whose members are the variables to assign, in order; nil
	// when absent. In a JSONPath state its $ is the state's result (after ResultSelector); for a
	// Choice or Wait, its effective input.
	Assign Expr

	// Result is the Pass state's fixed result (JSONPath); HasResult tells it apart from null.
	Result    jsonv.Value
	HasResult bool

	Retry []Retrier
	Catch []Catcher

	Task     *TaskFields
	Choice   *ChoiceFields
	Wait     *WaitFields
	Fail     *FailFields
	Parallel *ParallelFields
	Map      *MapFields
}

// OptPath is an optional path field: absent means "$" (Path is nil and Null is false), JSON null
// means Null.
type OptPath struct {
	Path *path.Path
	Null bool
}

// Expr computes a value when a state runs: a literal, a path, an intrinsic call, a payload
// template or a JSONata expression.
type Expr interface {
	Eval(s Scope) (jsonv.Value, error)
}

// Scope is what an Expr reads: the state's input, the context object and variables (through
// path.Scope), and what JSONata expressions see beyond them. Input is $ for JSONPath and
// $states.input for JSONata; Context is $$ and $states.context.
type Scope interface {
	path.Scope
	// Result is $states.result: the result of a Task, Parallel or Map, which its Output and
	// Assign read.
	Result() (jsonv.Value, bool)
	// ErrorOutput is $states.errorOutput, the error a Catch caught, which its Output and Assign
	// read.
	ErrorOutput() (jsonv.Value, bool)
	// Now is the time $now() and $millis() report: the time of the interpreter's step, so that
	// evaluation does not read the clock.
	Now() time.Time
	// ReadRandom supplies the randomness of $random(), $uuid() and the intrinsics that need
	// some, so that the interpreter can make executions replayable.
	intrinsic.Entropy
}

// TaskFields are the fields only a Task state has.
type TaskFields struct {
	Resource string
	// TimeoutSeconds and HeartbeatSeconds come from the literal, the *Path field or a JSONata
	// expression; nil when absent (AWS's default timeout then applies).
	TimeoutSeconds   Expr
	HeartbeatSeconds Expr
	Credentials      Expr
}

// ChoiceFields are the fields of a Choice state.
type ChoiceFields struct {
	Choices []*ChoiceRule
	Default string
}

// ChoiceRule is a top-level choice (with Next) or a nested one (inside And, Or, Not).
type ChoiceRule struct {
	Next string // top-level rules only

	// JSONPath rules: a comparison of Variable against Value (or ValuePath for …Path operators),
	// or a boolean combination.
	Variable  *path.Path
	Op        Operator
	Value     jsonv.Value
	ValuePath *path.Path
	And       []*ChoiceRule
	Or        []*ChoiceRule
	Not       *ChoiceRule

	// Condition is the JSONata rule.
	Condition Expr

	// Top-level rules may assign variables and (JSONata) shape the output when chosen.
	Assign Expr
	Output Expr
}

// Operator is a Choice comparison operator.
type Operator uint8

// The comparison operators. The …Path forms compare with ValuePath instead of Value.
const (
	OpNone Operator = iota
	OpStringEquals
	OpStringLessThan
	OpStringGreaterThan
	OpStringLessThanEquals
	OpStringGreaterThanEquals
	OpStringMatches
	OpNumericEquals
	OpNumericLessThan
	OpNumericGreaterThan
	OpNumericLessThanEquals
	OpNumericGreaterThanEquals
	OpBooleanEquals
	OpTimestampEquals
	OpTimestampLessThan
	OpTimestampGreaterThan
	OpTimestampLessThanEquals
	OpTimestampGreaterThanEquals
	OpIsNull
	OpIsPresent
	OpIsNumeric
	OpIsString
	OpIsBoolean
	OpIsTimestamp
)

// WaitFields are the fields of a Wait state: exactly one of Seconds and Timestamp is set.
type WaitFields struct {
	Seconds   Expr
	Timestamp Expr
	// FieldName is the field that set the wait ("Seconds", "SecondsPath", "Timestamp",
	// "TimestampPath"), as AWS's error causes name it.
	FieldName string
}

// FailFields are the fields of a Fail state; nil Exprs mean absent.
type FailFields struct {
	Error Expr
	Cause Expr
}

// ParallelFields are the fields of a Parallel state.
type ParallelFields struct {
	Branches []*Machine
}

// MapFields are the fields of a Map state.
type MapFields struct {
	Processor *Machine
	// Items is ItemsPath (JSONPath; nil means "$") or Items (JSONata, or a literal array).
	Items Expr
	// ItemSelector is ItemSelector, or the legacy Parameters of an Iterator-style Map.
	ItemSelector Expr

	MaxConcurrency             Expr // nil means 0: no limit
	ToleratedFailureCount      Expr
	ToleratedFailurePercentage Expr
	Label                      string

	// Distributed-mode fields, validated now and run by the distributed Map later.
	ItemReader   *ItemReader
	ItemBatcher  *ItemBatcher
	ResultWriter *ResultWriter
}

// ProcessorConfig is a Map processor's ProcessorConfig.
type ProcessorConfig struct {
	Mode          string // INLINE (default) or DISTRIBUTED
	ExecutionType string // STANDARD or EXPRESS, DISTRIBUTED only
}

// ItemReader reads a distributed Map's items from a resource.
type ItemReader struct {
	Resource     string
	Parameters   Expr
	ReaderConfig jsonv.Value
	// MaxItemsPath is ReaderConfig's MaxItemsPath, kept parsed for the variables it reads.
	MaxItemsPath *path.Path
	// MaxItems is ReaderConfig's MaxItems (a number or a JSONata expression) or MaxItemsPath,
	// to evaluate; nil when neither is given. Its value's checks are the reader's.
	MaxItems Expr
}

// ItemBatcher groups items into batches for a distributed Map.
type ItemBatcher struct {
	MaxItemsPerBatch      Expr
	MaxInputBytesPerBatch Expr
	BatchInput            Expr
}

// ResultWriter writes a distributed Map's results to a resource.
type ResultWriter struct {
	Resource     string
	Parameters   Expr
	WriterConfig jsonv.Value
}

// Retrier is one Retry entry.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds int64   // default 1
	MaxAttempts     int64   // default 3; 0 means never retry
	BackoffRate     float64 // default 2.0
	MaxDelaySeconds int64   // 0: no cap
	JitterFull      bool    // JitterStrategy FULL
}

// Catcher is one Catch entry.
type Catcher struct {
	ErrorEquals []string
	Next        string
	ResultPath  OptPath // JSONPath only
	Assign      Expr
	Output      Expr // JSONata only
}
