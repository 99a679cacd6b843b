package asl

// Expressions: what a state computes from its scope when it runs.
//
// Contract with the interpreter: Expr.Eval returns either a value that is ready to use or a
// *sferr.Error whose Name and Cause are exactly AWS's, minus the prefix the interpreter adds
// ("An error occurred while executing the state 'X' (entered at the event id #N). "). The
// interpreter uses those errors as they are.
//
// Value checks live here, not in the interpreter: an Expr built for a field that AWS reads as a
// number or a timestamp validates the value it reads and fails with that field's own message
// (Wait SecondsPath, TimestampPath, MaxConcurrencyPath, ToleratedFailure*Path, …). So
//
//   - Wait.Seconds returns a non-negative integer jsonv.Number;
//   - Wait.Timestamp returns a string that is a valid ISO-8601 offset date-time;
//   - Task TimeoutSeconds/HeartbeatSeconds, Map MaxConcurrency, ToleratedFailureCount and the
//     ItemBatcher limits return an integer jsonv.Number;
//   - ToleratedFailurePercentage returns a jsonv.Number between 0 and 100.
//
// Literal fields need no runtime check: Parse has validated them. JSONata expressions in those
// fields check their values the same way (see check), failing with an *EvaluationError.

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/stepline/stepline/internal/asl/intrinsic"
	"github.com/stepline/stepline/internal/asl/path"
	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/jsonv"
)

// literalExpr is a constant. Its value is shared by every evaluation; values are immutable.
type literalExpr struct{ v jsonv.Value }

func (e literalExpr) Eval(Scope) (jsonv.Value, error) { return e.v, nil }

// fieldPathExpr reads a path for a payload-template key or a Fail ErrorPath/CausePath, where AWS
// names the field and prints the input when nothing is found.
type fieldPathExpr struct {
	p     *path.Path
	field string
}

func (e fieldPathExpr) Eval(s Scope) (jsonv.Value, error) {
	v, err := e.p.Eval(s)
	if err == nil {
		return v, nil
	}
	// AWS reads an array element past either end as null here.
	var nf *path.NotFoundError
	if errors.As(err, &nf) && nf.OutOfRange {
		return nil, nil
	}
	if errors.Is(err, path.ErrNotFound) {
		return nil, sferr.New(sferr.Runtime,
			"The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'",
			e.p, e.field, jsonv.String(s.Input()))
	}
	return v, err
}

// refPathExpr reads a path where AWS reports a miss as an invalid path (ItemsPath, the
// *SecondsPath fields of a Task).
type refPathExpr struct{ p *path.Path }

func (e refPathExpr) Eval(s Scope) (jsonv.Value, error) {
	v, err := e.p.Eval(s)
	if errors.Is(err, path.ErrNotFound) {
		return nil, invalidPath(err)
	}
	return v, err
}

// intrinsicExpr is an intrinsic function call; its errors are already AWS's.
type intrinsicExpr struct{ c *intrinsic.Call }

func (e intrinsicExpr) Eval(s Scope) (jsonv.Value, error) { return e.c.Eval(s) }

// secondsPathExpr is Wait's SecondsPath: a non-negative integer.
type secondsPathExpr struct{ p *path.Path }

func (e secondsPathExpr) Eval(s Scope) (jsonv.Value, error) {
	v, err := e.p.Eval(s)
	if errors.Is(err, path.ErrNotFound) {
		return nil, sferr.New(sferr.Runtime, "The SecondsPath parameter does not reference an input value: %s", e.p)
	}
	if err != nil {
		return nil, err
	}
	n, ok := v.(jsonv.Number)
	if !ok || !n.IsInteger() {
		return nil, sferr.New(sferr.Runtime, "The SecondsPath parameter cannot be parsed as a long value: %s == %s", e.p, valueText(v))
	}
	if i, ok := n.Int64(); !ok || i < 0 {
		if ok {
			return nil, sferr.New(sferr.Runtime, "The SecondsPath parameter references a negative value: %s == %s", e.p, valueText(v))
		}
		return nil, sferr.New(sferr.Runtime, "The SecondsPath parameter cannot be parsed as a long value: %s == %s", e.p, valueText(v))
	}
	return n, nil
}

// timestampPathExpr is Wait's TimestampPath: an ISO-8601 date-time with an offset.
type timestampPathExpr struct{ p *path.Path }

func (e timestampPathExpr) Eval(s Scope) (jsonv.Value, error) {
	v, err := e.p.Eval(s)
	if errors.Is(err, path.ErrNotFound) {
		return nil, sferr.New(sferr.Runtime, "The TimestampPath parameter does not reference an input value: %s", e.p)
	}
	if err != nil {
		return nil, err
	}
	if str, ok := v.(string); !ok || !isOffsetDateTime(str) {
		return nil, sferr.New(sferr.Runtime,
			"The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s == %s",
			e.p, valueText(v))
	}
	return v, nil
}

// numberKind says what a numeric *Path field must hold.
type numberKind uint8

const (
	kindInteger    numberKind = iota // any integer
	kindNonNegInt                    // integer >= 0
	kindPercentage                   // number in [0, 100]
)

// numberPathExpr is a numeric *Path field of a Task, a Map or an ItemBatcher: field is its
// name ("MaxConcurrencyPath"), and the checks and messages follow AWS's for that field.
type numberPathExpr struct {
	p     *path.Path
	field string
	kind  numberKind
}

func (e numberPathExpr) Eval(s Scope) (jsonv.Value, error) {
	v, err := e.p.Eval(s)
	if errors.Is(err, path.ErrNotFound) {
		return nil, invalidPath(err)
	}
	if err != nil {
		return nil, err
	}
	n, ok := v.(jsonv.Number)
	if str, isString := v.(string); isString {
		// AWS reads the value's text as a number, so a string holding one will do.
		n, ok = numberText(str, e.kind)
	}
	base := strings.TrimSuffix(e.field, "Path")
	if e.kind == kindPercentage {
		if !ok {
			return nil, sferr.New(sferr.Runtime, "The %s field refers to value \"%s\" which is not a valid float: %s", e.field, valueText(v), e.p)
		}
		if f := n.Float64(); f < 0 || f > 100 {
			return nil, sferr.New(sferr.Runtime, "%s must be between 0 and 100.", base)
		}
		return n, nil
	}
	i, isInt := int64(0), false
	if ok && n.IsInteger() {
		i, isInt = n.Int64()
	}
	if !isInt {
		return nil, sferr.New(sferr.Runtime, "The %s field refers to value \"%s\" which is not a valid integer: %s", e.field, valueText(v), e.p)
	}
	if e.kind == kindNonNegInt && i < 0 {
		return nil, sferr.New(sferr.Runtime, "%s cannot be negative.", base)
	}
	return n, nil
}

// numberText parses a string as the number a numeric *Path field reads: an integer, or for a
// percentage any decimal number.
func numberText(s string, kind numberKind) (jsonv.Number, bool) {
	if kind == kindPercentage {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return "", false
		}
		return jsonv.Float(f), true
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return "", false
	}
	return jsonv.Int(i), true
}

// valueText renders a value the way AWS quotes it in runtime causes: strings bare, everything
// else as JSON.
func valueText(v jsonv.Value) string {
	if s, ok := v.(string); ok {
		return s
	}
	return jsonv.String(v)
}

// invalidPath turns a path miss into AWS's States.Runtime error. The path package words its
// misses as AWS quotes them ("Invalid path '$.a' : No results for path: $['a']").
func invalidPath(err error) error {
	return &sferr.Error{Name: sferr.Runtime, Cause: err.Error()}
}
