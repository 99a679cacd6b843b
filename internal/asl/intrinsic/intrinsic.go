// Package intrinsic parses and evaluates the States.* intrinsic functions of Amazon States
// Language (States.Format, States.JsonMerge, States.MathAdd, …) with AWS's argument rules.
package intrinsic

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/stepline/stepline/internal/asl/path"
	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/jsonv"
)

// ErrSyntax is wrapped by every Parse error. The definition parser reports them all as AWS does:
// "The value for the field 'x.$' must be a valid JSONPath or a valid intrinsic function call".
var ErrSyntax = errors.New("invalid intrinsic function call")

// SyntaxError says why a call does not parse.
type SyntaxError struct {
	Call string
	Pos  int // byte offset in Call
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid intrinsic function call %q at position %d: %s", e.Call, e.Pos, e.Msg)
}

// Unwrap lets callers test errors.Is(err, ErrSyntax).
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Entropy is an optional interface of the Scope given to Eval. A scope that implements it
// supplies the random bytes of States.UUID and of States.MathRandom without a seed, so that
// executions can be replayed and tested; other scopes get crypto/rand.
type Entropy interface {
	ReadRandom(p []byte)
}

func readRandom(s path.Scope, p []byte) {
	if e, ok := s.(Entropy); ok {
		e.ReadRandom(p)
		return
	}
	// crypto/rand.Read never fails (it panics instead, on broken platforms).
	_, _ = rand.Read(p)
}

// Call is a compiled intrinsic function call. It is immutable and safe for concurrent use.
type Call struct {
	text string
	fn   *function
	args []arg
	// template is a States.Format literal template cut at its placeholders.
	template []string
}

// String returns the call as written.
func (c *Call) String() string { return c.text }

// Name returns the function's name, such as "States.Format".
func (c *Call) Name() string { return c.fn.name }

type argKind uint8

const (
	argLiteral argKind = iota
	argPath
	argCall
)

type arg struct {
	kind argKind
	v    jsonv.Value // argLiteral
	// raw is a string literal's text between the quotes, escapes kept: States.Format must tell
	// an escaped \{ from a placeholder.
	raw  string
	p    *path.Path // argPath
	call *Call      // argCall
}

// failure is an evaluation error before it is phrased for the whole expression.
type failure struct {
	name   string
	detail string
}

func fail(format string, args ...any) *failure {
	return &failure{name: sferr.IntrinsicFailure, detail: fmt.Sprintf(format, args...)}
}

// Eval evaluates the call; failures are *sferr.Error values named States.IntrinsicFailure (or
// States.Runtime where AWS says so). The cause names the outermost call, as AWS's does: "The
// function 'States.Format('{}', $.x)' had the following error: …". The interpreter puts
// "An error occurred while executing the state …" in front.
func (c *Call) Eval(s path.Scope) (jsonv.Value, error) {
	v, f := c.eval(s)
	if f != nil {
		return nil, &sferr.Error{Name: f.name, Cause: "The function '" + c.text + "' had the following error: " + f.detail}
	}
	return v, nil
}

func (c *Call) eval(s path.Scope) (jsonv.Value, *failure) {
	vals := make([]jsonv.Value, len(c.args))
	for i := range c.args {
		a := &c.args[i]
		switch a.kind {
		case argLiteral:
			vals[i] = a.v
		case argCall:
			v, f := a.call.eval(s)
			if f != nil {
				return nil, f
			}
			vals[i] = v
		case argPath:
			v, err := a.p.Eval(s)
			if err != nil {
				if !errors.Is(err, path.ErrNotFound) {
					return nil, &failure{name: sferr.Runtime, detail: err.Error()}
				}
				return nil, &failure{name: sferr.Runtime, detail: "The JsonPath argument for the field '" + a.p.String() +
					"' could not be found in the input '" + jsonv.String(s.Input()) + "'"}
			}
			vals[i] = v
		}
	}
	return c.fn.eval(c, vals, s)
}

// Parse compiles an intrinsic function call such as States.Format('{}', $.name).
func Parse(s string) (*Call, error) {
	p := &parser{s: s}
	c, err := p.call()
	if err != nil {
		return nil, err
	}
	p.blanks()
	if p.pos < len(s) {
		return nil, p.fail("unexpected %q after the call", s[p.pos:])
	}
	c.text = s
	return c, nil
}

type parser struct {
	s     string
	pos   int
	depth int
}

// maxDepth bounds nesting so that a hostile definition cannot exhaust the stack.
const maxDepth = 100

func (p *parser) fail(format string, args ...any) error {
	return &SyntaxError{Call: p.s, Pos: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) blanks() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n') {
		p.pos++
	}
}

func (p *parser) call() (*Call, error) {
	if p.depth++; p.depth > maxDepth {
		return nil, p.fail("calls nested deeper than %d", maxDepth)
	}
	defer func() { p.depth-- }()
	start := p.pos
	open := strings.IndexByte(p.s[p.pos:], '(')
	if open < 0 {
		return nil, p.fail("expected '(' after a function name")
	}
	name := strings.TrimRight(p.s[p.pos:p.pos+open], " \t\n")
	fn, ok := functions[name]
	if !ok {
		return nil, p.fail("unknown intrinsic function %q", name)
	}
	p.pos += open + 1
	c := &Call{fn: fn}
	p.blanks()
	if p.pos < len(p.s) && p.s[p.pos] == ')' {
		p.pos++
	} else {
		for {
			a, err := p.arg()
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, a)
			p.blanks()
			if p.pos >= len(p.s) {
				return nil, p.fail("unclosed '(' of %s", name)
			}
			if p.s[p.pos] == ')' {
				p.pos++
				break
			}
			if p.s[p.pos] != ',' {
				return nil, p.fail("expected ',' or ')' between arguments")
			}
			p.pos++
		}
	}
	if n := len(c.args); n < fn.min || (fn.max >= 0 && n > fn.max) {
		return nil, p.fail("%s takes %s, not %d", name, fn.arity(), n)
	}
	if name == "States.Format" && c.args[0].kind == argLiteral {
		if _, ok := c.args[0].v.(string); ok {
			c.template = splitTemplate(c.args[0].raw)
		}
	}
	c.text = p.s[start:p.pos]
	return c, nil
}

func (p *parser) arg() (arg, error) {
	p.blanks()
	if p.pos >= len(p.s) {
		return arg{}, p.fail("expected an argument")
	}
	rest := p.s[p.pos:]
	switch c := rest[0]; {
	case c == '\'':
		return p.str()
	case c == '$':
		return p.path()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case strings.HasPrefix(rest, "States."):
		call, err := p.call()
		if err != nil {
			return arg{}, err
		}
		return arg{kind: argCall, call: call}, nil
	}
	for _, kw := range keywords {
		if strings.HasPrefix(rest, kw.word) && (len(rest) == len(kw.word) || strings.IndexByte(" \t\n,)", rest[len(kw.word)]) >= 0) {
			p.pos += len(kw.word)
			return arg{kind: argLiteral, v: kw.v}, nil
		}
	}
	return arg{}, p.fail("unexpected %q in the arguments", rest[0])
}

var keywords = []struct {
	word string
	v    jsonv.Value
}{{"true", true}, {"false", false}, {"null", nil}}

// str reads a quoted string. AWS reserves ' { } and \ in intrinsic strings and accepts only
// those after a backslash: \" and \n are invalid definitions. Other characters, newlines
// included, stand for themselves.
func (p *parser) str() (arg, error) {
	p.pos++
	start := p.pos
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch c {
		case '\'':
			raw := p.s[start:p.pos]
			p.pos++
			return arg{kind: argLiteral, v: b.String(), raw: raw}, nil
		case '\\':
			if p.pos+1 >= len(p.s) || strings.IndexByte(`'{}\`, p.s[p.pos+1]) < 0 {
				return arg{}, p.fail("invalid escape in a string: only \\', \\{, \\} and \\\\ are allowed")
			}
			b.WriteByte(p.s[p.pos+1])
			p.pos += 2
			continue
		}
		b.WriteByte(c)
		p.pos++
	}
	return arg{}, p.fail("unterminated string")
}

// number reads a JSON number; its text is kept, as for numbers in the input.
func (p *parser) number() (arg, error) {
	end := p.pos
	for end < len(p.s) && strings.IndexByte("+-.eE0123456789", p.s[end]) >= 0 {
		end++
	}
	v, err := jsonv.ParseString(p.s[p.pos:end])
	n, ok := v.(jsonv.Number)
	if err != nil || !ok {
		return arg{}, p.fail("invalid number %q", p.s[p.pos:end])
	}
	p.pos = end
	return arg{kind: argLiteral, v: n}, nil
}

// path reads a path argument up to a blank, ',' or ')' outside brackets and function
// parentheses, and compiles it.
func (p *parser) path() (arg, error) {
	start := p.pos
	depth := 0
scan:
	for p.pos < len(p.s) {
		switch c := p.s[p.pos]; c {
		case '\'', '"':
			if depth == 0 {
				break scan
			}
			for p.pos++; p.pos < len(p.s) && p.s[p.pos] != c; p.pos++ {
				if p.s[p.pos] == '\\' {
					p.pos++
				}
			}
		case '[', '(':
			depth++
		case ']':
			depth--
		case ')':
			if depth == 0 {
				break scan
			}
			depth--
		case ',', ' ', '\t', '\n':
			if depth == 0 {
				break scan
			}
		}
		p.pos++
	}
	// An unterminated quote inside brackets runs the scan one past the end.
	if p.pos > len(p.s) {
		p.pos = len(p.s)
	}
	pp, err := path.Compile(p.s[start:p.pos])
	if err != nil {
		return arg{}, p.fail("%v", err)
	}
	return arg{kind: argPath, p: pp}, nil
}

// Paths returns the paths among the call's arguments, those of nested calls included, in the
// order they are written.
func (c *Call) Paths() []*path.Path {
	var out []*path.Path
	for i := range c.args {
		switch a := &c.args[i]; a.kind {
		case argPath:
			out = append(out, a.p)
		case argCall:
			out = append(out, a.call.Paths()...)
		}
	}
	return out
}
