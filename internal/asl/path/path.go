// Package path implements the JSONPath dialect of Amazon States Language: full paths (InputPath,
// OutputPath, Parameters values, ItemsPath…) and reference paths (ResultPath, Choice Variable…),
// rooted at the input ($), the context object ($$) or a variable ($name).
//
// Paths are compiled once when a definition is parsed and evaluated many times.
package path

import (
	"errors"
	"fmt"
	"strconv"
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

// Path is a compiled JSONPath. It is immutable and safe for concurrent use.
type Path struct {
	text  string
	root  Root
	name  string
	steps []step
}

type step struct {
	key   string
	index int
	isIdx bool
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
func Compile(s string) (*Path, error) { return CompileReference(s) }

// CompileReference compiles a reference path (ResultPath, Choice Variable, *Path fields): only
// names and indexes, selecting a single node.
func CompileReference(s string) (*Path, error) {
	p := &Path{text: s}
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("path %q does not start with $", s)
	}
	i := 1
	if strings.HasPrefix(s, "$$") {
		p.root, i = RootContext, 2
	} else {
		j := i
		for j < len(s) && s[j] != '.' && s[j] != '[' {
			j++
		}
		if j > i {
			p.root, p.name = RootVariable, s[i:j]
		}
		i = j
	}
	for i < len(s) {
		switch s[i] {
		case '.':
			j := i + 1
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			if j == i+1 {
				return nil, fmt.Errorf("invalid path %q", s)
			}
			p.steps = append(p.steps, step{key: s[i+1 : j]})
			i = j
		case '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("invalid path %q", s)
			}
			in := s[i+1 : i+j]
			if len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0] {
				p.steps = append(p.steps, step{key: in[1 : len(in)-1]})
			} else if n, err := strconv.Atoi(in); err == nil {
				p.steps = append(p.steps, step{index: n, isIdx: true})
			} else {
				return nil, fmt.Errorf("invalid path %q", s)
			}
			i += j + 1
		default:
			return nil, fmt.Errorf("invalid path %q", s)
		}
	}
	return p, nil
}

// Eval evaluates the path in scope. A definite path that selects nothing returns an error
// wrapping ErrNotFound; an indefinite one (wildcard, filter, slice, deep scan) returns an array.
func (p *Path) Eval(s Scope) (jsonv.Value, error) {
	var v jsonv.Value
	switch p.root {
	case RootInput:
		v = s.Input()
	case RootContext:
		v = s.Context()
	default:
		var ok bool
		if v, ok = s.Variable(p.name); !ok {
			return nil, fmt.Errorf("%s: %w", p.text, ErrNotFound)
		}
	}
	for _, st := range p.steps {
		var ok bool
		if v, ok = st.get(v); !ok {
			return nil, fmt.Errorf("%s: %w", p.text, ErrNotFound)
		}
	}
	return v, nil
}

func (st step) get(v jsonv.Value) (jsonv.Value, bool) {
	if st.isIdx {
		a, ok := v.([]jsonv.Value)
		i := st.index
		if i < 0 {
			i += len(a)
		}
		if !ok || i < 0 || i >= len(a) {
			return nil, false
		}
		return a[i], true
	}
	o, ok := v.(*jsonv.Object)
	if !ok {
		return nil, false
	}
	return o.Get(st.key)
}

// Root returns what the path starts from; Variable names the variable for RootVariable.
func (p *Path) Root() Root { return p.root }

// Variable returns the variable's name for a path rooted at a variable.
func (p *Path) Variable() string { return p.name }

// Set returns a copy of target with the node at reference path p set to v, creating objects
// along the way (ResultPath semantics). target is not changed.
func (p *Path) Set(target, v jsonv.Value) (jsonv.Value, error) { return set(target, p.steps, v) }

func set(target jsonv.Value, steps []step, v jsonv.Value) (jsonv.Value, error) {
	if len(steps) == 0 {
		return v, nil
	}
	st := steps[0]
	if st.isIdx {
		a, ok := target.([]jsonv.Value)
		if !ok || st.index < 0 || st.index >= len(a) {
			return nil, fmt.Errorf("cannot set index %d", st.index)
		}
		nv, err := set(a[st.index], steps[1:], v)
		if err != nil {
			return nil, err
		}
		c := append([]jsonv.Value(nil), a...)
		c[st.index] = nv
		return c, nil
	}
	o, ok := target.(*jsonv.Object)
	if !ok {
		if target != nil {
			return nil, fmt.Errorf("cannot set field %q", st.key)
		}
		o = &jsonv.Object{}
	}
	cur, _ := o.Get(st.key)
	nv, err := set(cur, steps[1:], v)
	if err != nil {
		return nil, err
	}
	return o.With(st.key, nv), nil
}
