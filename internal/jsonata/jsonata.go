// Package jsonata evaluates JSONata 2.0.6 expressions, the query and transformation language
// AWS Step Functions uses. It knows nothing about Step Functions itself.
//
// An expression is compiled once and can then be evaluated any number of times, concurrently:
//
//	expr, err := jsonata.Compile(`$sum(Account.Order.Product.(Price * Quantity))`)
//	v, defined, err := expr.Eval(ctx, input, nil)
//
// Values cross the API as jsonv values. JSONata distinguishes "no result" (undefined) from null,
// so Eval reports whether its result is defined. Errors are *Error values carrying the reference
// implementation's error codes and messages (S0xxx for syntax errors, T/D codes for type and
// dynamic errors, U1001 when the depth, time or memory limit is exceeded).
//
// EvalOptions supplies variable bindings, extra native functions (with JSONata signature
// checking, see Function), limits and the clock and random source behind $now(), $millis(),
// $random() and $shuffle(). $eval is deliberately not provided.
//
// The reference implementation's test suite passes except where Go cannot follow JavaScript;
// the differences a caller can see are:
//
//   - Beyond 2.0.6 the parser accepts the ?? (coalescing) and ?: (default) operators of later
//     JSONata releases.
//   - Regular expressions run on Go's RE2 engine: lookaround and backreferences are rejected
//     when the expression is compiled (error S0303).
//   - Objects keep insertion order for every key; JavaScript moves integer-like keys first.
//   - Results are returned as JSON.stringify would serialise them: function values are
//     dropped (null inside arrays), NaN and ±Infinity become null.
//   - Strings cannot hold lone UTF-16 surrogates; \uD800-style escapes survive inside an
//     evaluation (so $encodeUrl still rejects them) but results carry U+FFFD.
//   - Evaluation is bounded by memory as well as by steps (see memory.go): with the default
//     budget a range of more than about five million numbers fails at once (U1001), where
//     the reference allows ten million.
package jsonata

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/jsonv"
)

// Limits applied when EvalOptions leaves them unset.
const (
	// DefaultMaxDepth bounds evaluation nesting. Like the reference's timebox it counts every
	// nested evaluation, so a simple recursive function uses about three levels per call.
	DefaultMaxDepth = 1000
	// DefaultMaxSteps bounds the evaluation steps (nested evaluations and iterations of the
	// higher-order functions) of one evaluation: a few seconds of work. A step budget rather
	// than a time limit gives an expression the same outcome on a busy machine as on an idle
	// one, and on Stepline as in a replayed history.
	DefaultMaxSteps = 20_000_000
	// DefaultMaxMemory is in memory.go, with the model it bounds.
)

// errInternal marks a recovered panic: a bug in this package, never an expression error.
var errInternal = errors.New("jsonata: internal error")

// Expr is a compiled expression. It is immutable and safe for concurrent use.
type Expr struct {
	src  string
	root *node
}

// Compile parses an expression. Syntax errors are returned as *Error.
func Compile(src string) (*Expr, error) {
	root, err := parse(src)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, e.finish(src)
		}
		return nil, err
	}
	return &Expr{src: src, root: root}, nil
}

// Source returns the expression text.
func (e *Expr) Source() string { return e.src }

// EvalOptions configures one evaluation. The zero value (or a nil pointer) is valid.
type EvalOptions struct {
	// Bindings are variables, referenced as $name.
	Bindings map[string]jsonv.Value
	// Functions are extra native functions, referenced as $name. Bindings take precedence
	// over them, and they over the standard library.
	Functions map[string]Function
	// MaxDepth bounds evaluation nesting (DefaultMaxDepth if 0); exceeding it is error U1001.
	MaxDepth int
	// MaxSteps bounds the evaluation steps (DefaultMaxSteps if 0, none if negative);
	// exceeding it is error U1001, as the reference's timebox is. The context's cancellation
	// or deadline also ends evaluation, with an error wrapping the context's.
	MaxSteps int
	// MaxMemory bounds the bytes of the values one evaluation creates, as memory.go counts
	// them (DefaultMaxMemory if 0, none if negative); exceeding it is error U1001, and a range
	// larger than it allows fails before it is allocated.
	MaxMemory int64
	// Now supplies the time $now() and $millis() report; it is read once per evaluation.
	Now func() time.Time
	// Random supplies numbers in [0, 1) for $random() and $shuffle().
	Random func() float64
	// NoInput evaluates without an input document (JSONata's undefined input) instead of the
	// input argument.
	NoInput bool

	// charged, if set, receives the evaluation's memory accounting when it ends (for tests).
	charged *budget
}

// Function is a native function made available to expressions.
type Function struct {
	// Signature is a JSONata function signature such as "<n-n?:n>". Arguments are checked
	// against it (error T0410 and friends) before Impl runs, and its parameter count is the
	// function's arity for higher-order functions. Empty means no checking.
	Signature string
	// Impl computes the result: the value and whether it is defined.
	Impl func(ctx context.Context, args []Arg) (jsonv.Value, bool, error)
}

// Arg is one argument of a native function. Defined is false when JSONata passes undefined:
// an optional argument not supplied, an expression with no result, or a function value (which
// has no JSON form).
type Arg struct {
	Value   jsonv.Value
	Defined bool
}

// Eval evaluates the expression against input. It returns the result, whether it is defined,
// and an error, which is an *Error for JSONata errors.
func (e *Expr) Eval(ctx context.Context, input jsonv.Value, opts *EvalOptions) (result jsonv.Value, defined bool, err error) {
	if opts == nil {
		opts = &EvalOptions{}
	}
	ev := &evaluator{ctx: ctx, src: e.src, maxDepth: opts.MaxDepth, random: opts.Random}
	if ev.maxDepth <= 0 {
		ev.maxDepth = DefaultMaxDepth
	}
	if ev.random == nil {
		ev.random = rand.Float64
	}
	if opts.Now != nil {
		ev.now = opts.Now()
	} else {
		ev.now = time.Now()
	}
	ev.maxSteps = int64(opts.MaxSteps)
	if ev.maxSteps == 0 {
		ev.maxSteps = DefaultMaxSteps
	}
	switch {
	case opts.MaxMemory == 0:
		ev.mem.max = DefaultMaxMemory
	case opts.MaxMemory > 0:
		ev.mem.max = opts.MaxMemory
	}
	if len(opts.Functions) > 0 {
		ev.functions = make(map[string]*builtin, len(opts.Functions))
		for name, f := range opts.Functions {
			b, err := nativeFunction(name, f)
			if err != nil {
				return nil, false, err
			}
			ev.functions[name] = b
		}
	}
	env := &ev.root
	for name, v := range opts.Bindings {
		env.bind(name, fromJSON(v))
	}
	var in any
	if !opts.NoInput {
		in = fromJSON(input)
	}
	env.bind("$", in)
	if a, ok := in.(*array); ok {
		// an array input is wrapped so that paths see it as one item and $ is still the array
		in = &array{items: []any{a}, seq: true, outerWrapper: true}
	}

	if opts.charged != nil {
		defer func() { *opts.charged = ev.mem }()
	}
	defer func() {
		// Evaluation code does not panic by design; this keeps a bug from taking the caller down.
		if r := recover(); r != nil {
			result, defined, err = nil, false, fmt.Errorf("%w evaluating %q: %v", errInternal, e.src, r)
		}
	}()
	res, err := ev.eval(e.root, in, env)
	if err != nil {
		var je *Error
		if errors.As(err, &je) {
			je.finish(e.src)
		}
		return nil, false, err
	}
	// the result is converted within the budget too: a sequence repeating one array a million
	// times costs little to hold but a million copies to convert
	out, ok, err := toJSONBudget(res, &ev.mem)
	if err != nil {
		var je *Error
		if errors.As(err, &je) {
			je.finish(e.src)
		}
		return nil, false, err
	}
	return out, ok, nil
}

// nativeFunction adapts a caller's Function to the evaluator.
func nativeFunction(name string, f Function) (*builtin, error) {
	b := &builtin{name: name, arity: 1}
	if f.Signature != "" {
		sig, err := cachedSignature(f.Signature)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.finish(f.Signature)
			}
			return nil, fmt.Errorf("signature of $%s: %w", name, err)
		}
		b.sig = sig
		b.arity = len(sig.params)
	}
	impl := f.Impl
	b.impl = func(c call, args []any) (any, error) {
		jargs := make([]Arg, len(args))
		for i, a := range args {
			if isFunction(a) {
				continue
			}
			v, ok, err := toJSONBudget(a, &c.ev.mem)
			if err != nil {
				return nil, err
			}
			jargs[i] = Arg{Value: v, Defined: ok}
		}
		v, ok, err := impl(c.ev.ctx, jargs)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return nil, err
			}
			return nil, fmt.Errorf("$%s: %w", name, err)
		}
		if !ok {
			return nil, nil
		}
		// a native function's result is new memory (a parsed document, say): it is charged
		// once built, so a loop calling the function cannot keep many of them
		if err := c.ev.alloc(jsonSize(v, 0)); err != nil {
			return nil, err
		}
		return fromJSON(v), nil
	}
	return b, nil
}

// signatures caches parsed signatures of caller-supplied functions, which are typically the
// same few on every evaluation.
var signatures sync.Map // string -> *signature

func cachedSignature(s string) (*signature, error) {
	if sig, ok := signatures.Load(s); ok {
		return sig.(*signature), nil
	}
	sig, err := parseSignature(s)
	if err != nil {
		return nil, err
	}
	signatures.Store(s, sig)
	return sig, nil
}
