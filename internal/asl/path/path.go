// Package path implements the JSONPath dialect of Amazon States Language: full paths (InputPath,
// OutputPath, Parameters values, ItemsPath…) and reference paths (ResultPath, Choice Variable…),
// rooted at the input ($), the context object ($$) or a variable ($name).
//
// AWS evaluates paths with Jayway JsonPath (Java) over Jackson trees, so this package follows
// Jayway's grammar and results, and its error texts, which AWS quotes in its causes ("Invalid path
// '$.a' : No results for path: $['a']").
//
// Paths are compiled once when a definition is parsed and evaluated many times.
package path

import (
	"errors"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

// Scope supplies the roots a path can start from. Context is called only by paths that read $$,
// so callers may build the context object lazily.
type Scope interface {
	Input() jsonv.Value
	Context() jsonv.Value
	Variable(name string) (jsonv.Value, bool)
}

// ErrNotFound is wrapped by Eval when a path selects nothing in a definite position.
var ErrNotFound = errors.New("path not found")

// ErrInvalid is wrapped by Compile and CompileReference errors.
var ErrInvalid = errors.New("invalid path")

// ErrCannotSet is wrapped by Set when the path does not fit the target (States.ResultPathMatchFailure).
var ErrCannotSet = errors.New("cannot apply reference path")

// NotFoundError is returned by Eval when a definite path selects nothing. Detail is Jayway's
// message, which AWS quotes after "Invalid path '<path>' : ".
type NotFoundError struct {
	Path   string // the path as written
	Detail string // e.g. "No results for path: $['a']" or "Missing property in path $['a']"
	// OutOfRange is set when the last step is an array index past either end. AWS's Jackson
	// provider reads such an element as null in InputPath, OutputPath and Parameters; callers
	// that follow AWS there may take null instead of failing.
	OutOfRange bool
}

func (e *NotFoundError) Error() string { return "Invalid path '" + e.Path + "' : " + e.Detail }

// Unwrap lets callers test errors.Is(err, ErrNotFound).
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// UndefinedVariableError is returned by Eval when a path's variable has not been assigned.
type UndefinedVariableError struct {
	Path string
	Name string
}

func (e *UndefinedVariableError) Error() string {
	return "Invalid path '" + e.Path + "' : variable $" + e.Name + " is not defined"
}

// Unwrap lets callers test errors.Is(err, ErrNotFound).
func (e *UndefinedVariableError) Unwrap() error { return ErrNotFound }

// SyntaxError describes why a path does not compile.
type SyntaxError struct {
	Path string
	Msg  string
}

func (e *SyntaxError) Error() string { return "invalid path '" + e.Path + "': " + e.Msg }

// Unwrap lets callers test errors.Is(err, ErrInvalid).
func (e *SyntaxError) Unwrap() error { return ErrInvalid }

// Path is a compiled JSONPath. It is immutable and safe for concurrent use.
type Path struct {
	text     string
	root     Root
	name     string // the variable, for RootVariable
	steps    []step
	fn       *function // a trailing function such as length(), or nil
	definite bool      // selects at most one node: Eval returns it rather than an array
}

// String returns the path as written in the definition.
func (p *Path) String() string { return p.text }

// Root names what a path starts from.
type Root uint8

// The roots of a path.
const (
	RootInput    Root = iota // $
	RootContext              // $$
	RootVariable             // $name
)

// Root returns what the path starts from; Variable names the variable for RootVariable.
func (p *Path) Root() Root { return p.root }

// Variable returns the variable's name for a path rooted at a variable.
func (p *Path) Variable() string { return p.name }

// IsDefinite reports whether the path selects a single node (no wildcard, slice, union, filter
// or deep scan), so that Eval returns the node itself rather than an array of matches.
func (p *Path) IsDefinite() bool { return p.definite }

// IsReference reports whether the path is a reference path: names and single indexes only.
func (p *Path) IsReference() bool {
	if p.fn != nil {
		return false
	}
	for i := range p.steps {
		if k := p.steps[i].kind; k != stepName && k != stepIndex {
			return false
		}
	}
	return true
}

// Normalized renders the path in Jayway's bracket notation, as AWS's messages quote it:
// $.a.b[0] is $['a']['b'][0]. The root is always $, because AWS hands Jayway the variable or
// context object as the document.
func (p *Path) Normalized() string {
	var b strings.Builder
	b.WriteByte('$')
	for i := range p.steps {
		p.steps[i].appendJayway(&b)
	}
	if p.fn != nil {
		b.WriteString("." + p.fn.name + "()")
	}
	return b.String()
}

// normalizedPrefix renders the root and the first n steps, as Jayway names the node it was at.
func (p *Path) normalizedPrefix(n int) string {
	var b strings.Builder
	b.WriteByte('$')
	for i := range n {
		p.steps[i].appendJayway(&b)
	}
	return b.String()
}

// Compile compiles a JSONPath as AWS accepts it in InputPath, OutputPath, ItemsPath and
// Parameters values: wildcards, slices, filters and deep scans allowed.
func Compile(s string) (*Path, error) {
	return compile(s, false)
}

// CompileReference compiles a reference path (ResultPath, Choice Variable, *Path fields): only
// names and indexes, selecting a single node.
func CompileReference(s string) (*Path, error) {
	p, err := compile(s, false)
	if err != nil {
		return nil, err
	}
	if !p.IsReference() {
		return nil, &SyntaxError{Path: s, Msg: "a reference path may only use names and indexes"}
	}
	return p, nil
}

// Eval evaluates the path in scope. A definite path that selects nothing returns an error
// wrapping ErrNotFound; an indefinite one (wildcard, filter, slice, deep scan) returns an array.
func (p *Path) Eval(s Scope) (jsonv.Value, error) {
	var doc jsonv.Value
	switch p.root {
	case RootInput:
		doc = s.Input()
	case RootContext:
		doc = s.Context()
	default:
		v, ok := s.Variable(p.name)
		if !ok {
			return nil, &UndefinedVariableError{Path: p.text, Name: p.name}
		}
		doc = v
	}
	return p.evalDoc(doc)
}

// EvalValue evaluates the path against doc as its root, whatever root the path names.
func (p *Path) EvalValue(doc jsonv.Value) (jsonv.Value, error) { return p.evalDoc(doc) }
