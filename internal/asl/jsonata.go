package asl

// JSONata in state machines: expressions written as "{% … %}" in the fields of a JSONata state,
// evaluated with the reserved variable $states, the workflow variables and AWS's own functions
// ($partition, $range, $hash, $random, $uuid, $parse), and their results checked for the field.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/stepline/stepline/internal/asl/intrinsic"
	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/jsonata"
	"github.com/stepline/stepline/internal/jsonv"
)

// EvaluationError is the States.QueryEvaluationError of a JSONata field. AWS records it in an
// EvaluationFailed event naming the field and the state before the state fails, so the
// interpreter needs the location besides the cause.
type EvaluationError struct {
	// Location is the field as AWS names it ("Output/result", "Items"); empty for the check of
	// a JSONata Map's input, which AWS reports without one.
	Location string
	Cause    string
	// Refused marks a value the expression returned but its field refused (a Wait Timestamp
	// that is no date-time): AWS chains that EvaluationFailed event to the StateEntered event,
	// and those of failed evaluations to the event before it.
	Refused bool
}

func (e *EvaluationError) Error() string { return sferr.QueryEvaluationError + ": " + e.Cause }

// Unwrap exposes the error as the *sferr.Error that Retry and Catch match.
func (e *EvaluationError) Unwrap() error {
	return &sferr.Error{Name: sferr.QueryEvaluationError, Cause: e.Cause}
}

// check says what a field requires of the value its expression returns.
type check uint8

const (
	checkAny         check = iota
	checkArray             // Map Items
	checkBoolean           // Choice Condition
	checkString            // Fail Error and Cause
	checkTimestamp         // Wait Timestamp
	checkSeconds           // Wait Seconds: an integer >= 0
	checkPositiveInt       // Task TimeoutSeconds and HeartbeatSeconds
	checkNonNegInt         // Map MaxConcurrency, ToleratedFailureCount, ItemBatcher limits
	checkPercentage        // Map ToleratedFailurePercentage: a number in [0, 100]
)

// jsonataExpr is a compiled "{% … %}" expression.
type jsonataExpr struct {
	x     *jsonata.Expr
	src   string // the expression as AWS quotes it: between the delimiters, trimmed
	field string // the field as AWS's causes name it: "Output/result"
	check check
	refs  jsonataRefs
	// functions holds the AWS functions the expression names; nil when it names none, which
	// spares the evaluator from preparing them.
	functions map[string]jsonata.Function
	// path is set when the expression is a plain field path, which Eval can often follow
	// without the evaluator.
	path *fieldPath
	// maxMemory is the evaluation's memory budget (ParseOptions.JSONataMemory).
	maxMemory int64

	// typeOf evaluates $type() of the expression. It is compiled on first use: only an
	// expression that returns nothing needs it, to tell a function (which JSON cannot carry)
	// from undefined.
	typeOnce sync.Once
	typeOf   *jsonata.Expr
}

// compileJSONata compiles the text between "{%" and "%}" for field (the field's path within its
// state). Syntax errors are *jsonata.Error values.
func compileJSONata(text, field string, chk check) (*jsonataExpr, error) {
	src := strings.TrimSpace(text)
	x, err := jsonata.Compile(src)
	if err != nil {
		return nil, err
	}
	e := &jsonataExpr{x: x, src: src, field: field, check: chk, refs: scanRefs(src), path: parseFieldPath(src)}
	for _, name := range e.refs.functions {
		if e.functions == nil {
			e.functions = map[string]jsonata.Function{}
		}
		e.functions[name] = awsFunctions[name]
	}
	return e, nil
}

// scopeKey carries the Scope to AWS functions that need its randomness.
type scopeKey struct{}

func (e *jsonataExpr) Eval(s Scope) (jsonv.Value, error) {
	if e.path != nil {
		if v, ok := e.path.follow(s); ok {
			return e.checked(v)
		}
	}
	ctx := context.Background()
	if e.refs.random {
		ctx = context.WithValue(ctx, scopeKey{}, s)
	}
	opts := e.options(s)
	v, ok, err := e.x.Eval(ctx, nil, &opts)
	switch {
	case err != nil:
		return nil, e.fail("threw an error during evaluation. %s", errorText(err))
	case !ok && e.returnsFunction(ctx, &opts):
		return nil, e.fail("returned an unsupported result type.")
	case !ok:
		return nil, e.fail("returned nothing (undefined).")
	}
	return e.checked(v)
}

// Scratch is working memory that the JSONata expressions evaluated in one scope share, so that
// a state's expressions bind $states once and evaluations reuse their bindings. A Scope offers
// it by implementing ScratchScope; the zero value is ready to use.
type Scratch struct {
	// Bindings is reused by every evaluation; it may outlive the scope.
	Bindings map[string]jsonv.Value
	// states holds $states as built without and with the context object, which costs more.
	states [2]*jsonv.Object
}

// ScratchScope is implemented by Scopes that offer Scratch memory. Scratch.states must be
// reset (a new Scratch) whenever what the scope reads changes.
type ScratchScope interface {
	Scratch() *Scratch
}

// options binds $states and the variables the expression names. Variables are bound only when
// named, and the context only when $states may read it, so that an evaluation costs what it
// reads.
func (e *jsonataExpr) options(s Scope) jsonata.EvalOptions {
	opts := jsonata.EvalOptions{NoInput: true, Functions: e.functions, MaxMemory: e.maxMemory}
	if len(e.refs.names) == 0 && !e.refs.states {
		return opts
	}
	var scratch *Scratch
	if ss, ok := s.(ScratchScope); ok {
		scratch = ss.Scratch()
	} else {
		scratch = &Scratch{}
	}
	if scratch.Bindings == nil {
		scratch.Bindings = make(map[string]jsonv.Value, len(e.refs.names)+1)
	}
	clear(scratch.Bindings)
	opts.Bindings = scratch.Bindings
	if e.refs.states {
		withContext := 0
		if e.refs.context {
			withContext = 1
		}
		if scratch.states[withContext] == nil {
			scratch.states[withContext] = statesObject(s, withContext == 1)
		}
		opts.Bindings["states"] = scratch.states[withContext]
	}
	for _, name := range e.refs.names {
		if v, ok := s.Variable(name); ok {
			opts.Bindings[name] = v
		}
	}
	if e.refs.clock {
		opts.Now = s.Now
	}
	if e.refs.random {
		opts.Random = func() float64 { return intrinsic.RandomFloat(s) }
	}
	return opts
}

// statesObject builds $states in AWS's order: input, result and errorOutput where the field
// reading them may, and the context object if asked for.
func statesObject(s Scope, withContext bool) *jsonv.Object {
	o := jsonv.NewObject(4)
	o.Set("input", s.Input())
	if v, ok := s.Result(); ok {
		o.Set("result", v)
	}
	if v, ok := s.ErrorOutput(); ok {
		o.Set("errorOutput", v)
	}
	if withContext {
		o.Set("context", s.Context())
	}
	return o
}

// returnsFunction reports whether an expression that returned nothing returned a function.
func (e *jsonataExpr) returnsFunction(ctx context.Context, opts *jsonata.EvalOptions) bool {
	e.typeOnce.Do(func() {
		// The newline ends a trailing comment; an expression that compiled alone compiles here.
		e.typeOf, _ = jsonata.Compile("$type((" + e.src + "\n))")
	})
	if e.typeOf == nil {
		return false
	}
	t, _, err := e.typeOf.Eval(ctx, nil, opts)
	return err == nil && t == "function"
}

// errorText renders an evaluation error as AWS quotes it: "T1006: Attempted to invoke a
// non-function".
func errorText(err error) string {
	var je *jsonata.Error
	if errors.As(err, &je) && je.Code != "" {
		return je.Code + ": " + je.Message
	}
	return err.Error()
}

func (e *jsonataExpr) fail(format string, args ...any) *EvaluationError {
	return &EvaluationError{Location: e.field,
		Cause: "The JSONata expression '" + e.src + "' specified for the field '" + e.field + "' " + fmt.Sprintf(format, args...)}
}

func (e *jsonataExpr) unexpectedType(want string, v jsonv.Value) *EvaluationError {
	return e.fail("returned an unexpected result type. Expected '%s', but was '%s' for value: %s", want, typeName(v), jsonv.String(v))
}

// refused reports a value of the right type that the field does not accept.
func (e *jsonataExpr) refused(format string, args ...any) *EvaluationError {
	return &EvaluationError{Location: e.field, Cause: fmt.Sprintf(format, args...), Refused: true}
}

// checked validates v for the expression's field, as the Expr contract requires.
func (e *jsonataExpr) checked(v jsonv.Value) (jsonv.Value, error) {
	switch e.check {
	case checkArray:
		if _, ok := v.([]jsonv.Value); !ok {
			return nil, e.unexpectedType("array", v)
		}
	case checkBoolean:
		if _, ok := v.(bool); !ok {
			return nil, e.unexpectedType("boolean", v)
		}
	case checkString:
		if _, ok := v.(string); !ok {
			return nil, e.unexpectedType("string", v)
		}
	case checkTimestamp:
		s, ok := v.(string)
		if !ok {
			return nil, e.unexpectedType("string", v)
		}
		if !isOffsetDateTime(s) {
			return nil, e.refused("The %s field cannot be parsed as an ISO-8601 extended offset date-time format string: %s", e.field, s)
		}
	case checkSeconds, checkPositiveInt, checkNonNegInt:
		n, ok := v.(jsonv.Number)
		i, fits := int64(0), false
		if ok && n.IsInteger() {
			i, fits = n.Int64()
		}
		switch {
		case !fits:
			return nil, e.unexpectedType("integer", v)
		case e.check == checkSeconds && i < 0:
			return nil, e.refused("The %s parameter references a negative value: %s", e.field, n)
		case e.check == checkPositiveInt && i <= 0:
			return nil, e.refused("The %s field must be a positive integer: %s", e.field, n)
		case e.check == checkNonNegInt && i < 0:
			return nil, e.refused("%s cannot be negative.", e.field)
		}
	case checkPercentage:
		n, ok := v.(jsonv.Number)
		if !ok {
			return nil, e.unexpectedType("number", v)
		}
		if f := n.Float64(); f < 0 || f > 100 {
			return nil, e.refused("%s must be between 0 and 100.", e.field)
		}
	}
	return v, nil
}

// typeName names a value's type as AWS's JSONata messages do.
func typeName(v jsonv.Value) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case jsonv.Number:
		return "number"
	case []jsonv.Value:
		return "array"
	}
	return "object"
}

// fieldPath is an expression such as $states.input.order.id or $var.a: a root and names.
type fieldPath struct {
	root  string // a variable, or the $states field for a path from $states
	state bool   // the root is a $states field
	steps []string
}

// parseFieldPath recognises a plain field path, or returns nil.
func parseFieldPath(src string) *fieldPath {
	if !strings.HasPrefix(src, "$") {
		return nil
	}
	parts := strings.Split(src[1:], ".")
	for _, p := range parts {
		if !isPlainName(p) {
			return nil
		}
	}
	if parts[0] != "states" {
		return &fieldPath{root: parts[0], steps: parts[1:]}
	}
	if len(parts) < 2 {
		return nil
	}
	switch parts[1] {
	case "input", "result", "errorOutput", "context":
		return &fieldPath{root: parts[1], state: true, steps: parts[2:]}
	}
	return nil
}

// isPlainName reports whether s is a name JSONata reads as a field name in a path step.
func isPlainName(s string) bool {
	switch s {
	case "", "and", "or", "in", "true", "false", "null", "function":
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// follow evaluates the path where that gives what the evaluator would: through objects only,
// to a value the evaluator returns as it is (an object, a string, a boolean or null; it
// rewrites numbers and arrays). ok is false when the evaluator must decide.
func (p *fieldPath) follow(s Scope) (v jsonv.Value, ok bool) {
	switch {
	case !p.state:
		v, ok = s.Variable(p.root)
	case p.root == "input":
		v, ok = s.Input(), true
	case p.root == "result":
		v, ok = s.Result()
	case p.root == "errorOutput":
		v, ok = s.ErrorOutput()
	default:
		v, ok = s.Context(), true
	}
	for _, name := range p.steps {
		o, isObject := v.(*jsonv.Object)
		if !ok || !isObject {
			return nil, false
		}
		v, ok = o.Get(name)
	}
	if !ok {
		return nil, false
	}
	switch v.(type) {
	case *jsonv.Object, string, bool, nil:
		return v, true
	}
	return nil, false
}
