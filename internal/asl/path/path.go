// Package path implements the JSONPath dialect of Amazon States Language: full paths (InputPath,
// OutputPath, Parameters values, ItemsPath…) and reference paths (ResultPath, Choice Variable…),
// rooted at the input ($), the context object ($$) or a variable ($name).
//
// Paths are compiled once when a definition is parsed and evaluated many times.
package path

import (
	"errors"

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

// Path is a compiled JSONPath. It is immutable and safe for concurrent use.
type Path struct {
	text string
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

// Compile compiles a JSONPath as AWS accepts it in InputPath, OutputPath, ItemsPath and
// Parameters values: wildcards, slices, filters and deep scans allowed.
func Compile(s string) (*Path, error) { panic("TODO(path): not written yet") }

// CompileReference compiles a reference path (ResultPath, Choice Variable, *Path fields): only
// names and indexes, selecting a single node.
func CompileReference(s string) (*Path, error) { panic("TODO(path): not written yet") }

// Eval evaluates the path in scope. A definite path that selects nothing returns an error
// wrapping ErrNotFound; an indefinite one (wildcard, filter, slice, deep scan) returns an array.
func (p *Path) Eval(s Scope) (jsonv.Value, error) { panic("TODO(path): not written yet") }

// Root returns what the path starts from; Variable names the variable for RootVariable.
func (p *Path) Root() Root { panic("TODO(path): not written yet") }

// Variable returns the variable's name for a path rooted at a variable.
func (p *Path) Variable() string { panic("TODO(path): not written yet") }

// Set returns a copy of target with the node at reference path p set to v, creating objects
// along the way (ResultPath semantics). target is not changed.
func (p *Path) Set(target, v jsonv.Value) (jsonv.Value, error) { panic("TODO(path): not written yet") }
