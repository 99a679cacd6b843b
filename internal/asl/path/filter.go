package path

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/stepline/stepline/internal/jsonv"
)

// expr is a compiled filter predicate, [?(<expr>)]. cur is the candidate (@), root the document
// ($).
type expr interface {
	test(cur, root jsonv.Value) bool
}

type orExpr struct{ l, r expr }
type andExpr struct{ l, r expr }
type notExpr struct{ e expr }

// existsExpr is a bare path: [?(@.tags)] keeps the candidates that have tags.
type existsExpr struct{ o *pathOperand }

type cmpExpr struct {
	op   string
	l, r operand
	re   *regexp.Regexp // for =~
}

func (e orExpr) test(cur, root jsonv.Value) bool  { return e.l.test(cur, root) || e.r.test(cur, root) }
func (e andExpr) test(cur, root jsonv.Value) bool { return e.l.test(cur, root) && e.r.test(cur, root) }
func (e notExpr) test(cur, root jsonv.Value) bool { return !e.e.test(cur, root) }

func (e existsExpr) test(cur, root jsonv.Value) bool {
	v, ok := e.o.value(cur, root)
	if a, isArray := v.([]jsonv.Value); ok && isArray && !e.o.p.definite {
		return len(a) > 0
	}
	return ok
}

// operand is one side of a comparison; ok is false when a path selects nothing, which Jayway
// treats as undefined: every comparison with it fails, and != holds.
type operand interface {
	value(cur, root jsonv.Value) (v jsonv.Value, ok bool)
}

type literal struct{ v jsonv.Value }

func (l literal) value(_, _ jsonv.Value) (jsonv.Value, bool) { return l.v, true }

type pathOperand struct {
	p        *Path
	relative bool // @ rather than $
}

func (o *pathOperand) value(cur, root jsonv.Value) (jsonv.Value, bool) {
	doc := root
	if o.relative {
		doc = cur
	}
	v, err := o.p.evalDoc(doc)
	return v, err == nil
}

func (e *cmpExpr) test(cur, root jsonv.Value) bool {
	l, lok := e.l.value(cur, root)
	if e.op == "=~" {
		s, ok := l.(string)
		return lok && ok && e.re.MatchString(s)
	}
	r, rok := e.r.value(cur, root)
	if e.op == "!=" {
		return !(lok && rok && jsonv.Equal(l, r))
	}
	if !lok || !rok {
		return e.op == "nin"
	}
	switch e.op {
	case "==":
		return jsonv.Equal(l, r)
	case "<", "<=", ">", ">=":
		c, ok := compare(l, r)
		if !ok {
			return false
		}
		switch e.op {
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		}
		return c >= 0
	case "in":
		return contains(r, l)
	case "nin":
		return !contains(r, l)
	case "subsetof", "anyof", "noneof":
		la, lok := l.([]jsonv.Value)
		ra, rok := r.([]jsonv.Value)
		if !lok || !rok {
			return false
		}
		n := 0
		for _, x := range la {
			if contains(ra, x) {
				n++
			}
		}
		switch e.op {
		case "subsetof":
			return n == len(la)
		case "anyof":
			return n > 0
		}
		return n == 0
	case "size":
		n, ok := r.(jsonv.Number)
		if !ok {
			return false
		}
		size, ok := sizeOf(l)
		return ok && float64(size) == n.Float64()
	case "empty":
		b, ok := r.(bool)
		size, sok := sizeOf(l)
		return ok && sok && (size == 0) == b
	case "contains":
		if s, ok := l.(string); ok {
			rs, ok := r.(string)
			return ok && strings.Contains(s, rs)
		}
		return contains(l, r)
	}
	return false
}

func sizeOf(v jsonv.Value) (int, bool) {
	switch v := v.(type) {
	case string:
		return len(utf16.Encode([]rune(v))), true
	case []jsonv.Value:
		return len(v), true
	}
	return 0, false
}

func contains(list, v jsonv.Value) bool {
	a, ok := list.([]jsonv.Value)
	if !ok {
		return false
	}
	for _, x := range a {
		if jsonv.Equal(x, v) {
			return true
		}
	}
	return false
}

// compare orders two numbers or two strings; other pairs do not compare.
func compare(a, b jsonv.Value) (int, bool) {
	switch a := a.(type) {
	case jsonv.Number:
		b, ok := b.(jsonv.Number)
		if !ok {
			return 0, false
		}
		x, y := a.Float64(), b.Float64()
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case string:
		b, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(a, b), true
	}
	return 0, false
}

// fparser parses a filter body with Jayway's FilterCompiler grammar.
type fparser struct {
	s   string
	pos int
}

func parseFilter(s string) (expr, error) {
	f := &fparser{s: s}
	e, err := f.or()
	if err != nil {
		return nil, err
	}
	f.blanks()
	if f.pos < len(f.s) {
		return nil, fmt.Errorf("unexpected %q in filter at position %d", f.s[f.pos:], f.pos)
	}
	return e, nil
}

func (f *fparser) blanks() {
	for f.pos < len(f.s) && (f.s[f.pos] == ' ' || f.s[f.pos] == '\t' || f.s[f.pos] == '\n') {
		f.pos++
	}
}

func (f *fparser) accept(tok string) bool {
	f.blanks()
	if strings.HasPrefix(f.s[f.pos:], tok) {
		f.pos += len(tok)
		return true
	}
	return false
}

func (f *fparser) or() (expr, error) {
	l, err := f.and()
	for err == nil && f.accept("||") {
		var r expr
		if r, err = f.and(); err == nil {
			l = orExpr{l, r}
		}
	}
	return l, err
}

func (f *fparser) and() (expr, error) {
	l, err := f.unary()
	for err == nil && f.accept("&&") {
		var r expr
		if r, err = f.unary(); err == nil {
			l = andExpr{l, r}
		}
	}
	return l, err
}

func (f *fparser) unary() (expr, error) {
	f.blanks()
	if f.pos < len(f.s) && f.s[f.pos] == '!' && !strings.HasPrefix(f.s[f.pos:], "!=") {
		f.pos++
		e, err := f.unary()
		if err != nil {
			return nil, err
		}
		return notExpr{e}, nil
	}
	if f.pos < len(f.s) && f.s[f.pos] == '(' {
		f.pos++
		e, err := f.or()
		if err != nil {
			return nil, err
		}
		if !f.accept(")") {
			return nil, fmt.Errorf("expected ')' in filter at position %d", f.pos)
		}
		return e, nil
	}
	return f.relation()
}

var operators = []string{"==", "!=", "<=", ">=", "=~", "<", ">"}
var wordOperators = []string{"subsetof", "contains", "noneof", "anyof", "empty", "size", "nin", "in"}

func (f *fparser) operator() string {
	f.blanks()
	for _, op := range operators {
		if strings.HasPrefix(f.s[f.pos:], op) {
			f.pos += len(op)
			return op
		}
	}
	for _, op := range wordOperators {
		rest := f.s[f.pos:]
		if strings.HasPrefix(rest, op) && (len(rest) == len(op) || !isWordChar(rest[len(op)])) {
			f.pos += len(op)
			return op
		}
	}
	return ""
}

func isWordChar(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func (f *fparser) relation() (expr, error) {
	l, err := f.operand()
	if err != nil {
		return nil, err
	}
	op := f.operator()
	if op == "" {
		po, ok := l.(*pathOperand)
		if !ok {
			return nil, fmt.Errorf("expected an operator at position %d", f.pos)
		}
		return existsExpr{po}, nil
	}
	e := &cmpExpr{op: op, l: l}
	if op == "=~" {
		f.blanks()
		if e.re, err = f.regex(); err != nil {
			return nil, err
		}
		return e, nil
	}
	if e.r, err = f.operand(); err != nil {
		return nil, err
	}
	return e, nil
}

var errEnd = errors.New("unexpected end of filter")

var keywords = []struct {
	word string
	v    jsonv.Value
}{{"true", true}, {"false", false}, {"null", nil}}

func (f *fparser) operand() (operand, error) {
	f.blanks()
	if f.pos >= len(f.s) {
		return nil, errEnd
	}
	switch c := f.s[f.pos]; {
	case c == '@' || c == '$':
		return f.path()
	case c == '\'' || c == '"':
		s, err := f.str()
		return literal{s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		n, err := f.number()
		return literal{n}, err
	case c == '[' || c == '{':
		v, err := f.json()
		return literal{v}, err
	}
	for _, kw := range keywords {
		rest := f.s[f.pos:]
		if strings.HasPrefix(rest, kw.word) && (len(rest) == len(kw.word) || !isWordChar(rest[len(kw.word)])) {
			f.pos += len(kw.word)
			return literal{kw.v}, nil
		}
	}
	return nil, fmt.Errorf("unexpected %q in filter at position %d", f.s[f.pos], f.pos)
}

// path reads a path operand the way Jayway's FilterCompiler delimits one: up to a blank, an
// operator character or a ')' that does not close a function's "()".
func (f *fparser) path() (operand, error) {
	start := f.pos
	f.pos++
	for f.pos < len(f.s) {
		c := f.s[f.pos]
		if c == '[' {
			end := closingBracket(f.s, f.pos)
			if end < 0 {
				return nil, fmt.Errorf("square brackets do not match in filter at position %d", f.pos)
			}
			f.pos = end + 1
			continue
		}
		if c == ')' && f.s[f.pos-1] == '(' {
			f.pos++
			continue
		}
		if c == ' ' || c == ')' || isOperatorChar(c) || c == '&' || c == '|' {
			break
		}
		f.pos++
	}
	text := f.s[start:f.pos]
	p, err := compile(text, true)
	if err != nil {
		return nil, err
	}
	return &pathOperand{p: p, relative: text[0] == '@'}, nil
}

// closingBracket returns the index of the ']' closing the '[' at open, skipping quoted text.
func closingBracket(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '"':
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// str reads a quoted string literal, either quote, with Java's escapes.
func (f *fparser) str() (string, error) {
	q := f.s[f.pos]
	f.pos++
	var b strings.Builder
	for f.pos < len(f.s) {
		c := f.s[f.pos]
		f.pos++
		switch {
		case c == q:
			return b.String(), nil
		case c != '\\':
			b.WriteByte(c)
			continue
		}
		if f.pos >= len(f.s) {
			break
		}
		e := f.s[f.pos]
		f.pos++
		switch e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if f.pos+4 > len(f.s) {
				return "", fmt.Errorf("invalid \\u escape in filter")
			}
			r, err := strconv.ParseUint(f.s[f.pos:f.pos+4], 16, 16)
			if err != nil {
				return "", fmt.Errorf("invalid \\u escape in filter")
			}
			b.WriteRune(rune(r))
			f.pos += 4
		default:
			b.WriteByte(e)
		}
	}
	return "", fmt.Errorf("unterminated string in filter")
}

func (f *fparser) number() (jsonv.Number, error) {
	start := f.pos
	if f.s[f.pos] == '-' {
		f.pos++
	}
	for f.pos < len(f.s) && (isDigit(f.s[f.pos]) || strings.IndexByte(".eE+-", f.s[f.pos]) >= 0) {
		if (f.s[f.pos] == '+' || f.s[f.pos] == '-') && f.s[f.pos-1] != 'e' && f.s[f.pos-1] != 'E' {
			break
		}
		f.pos++
	}
	v, err := jsonv.ParseString(f.s[start:f.pos])
	n, ok := v.(jsonv.Number)
	if err != nil || !ok {
		return "", fmt.Errorf("invalid number %q in filter", f.s[start:f.pos])
	}
	return n, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// json reads an array or object literal. Like json-smart, which Jayway uses for these, it
// accepts single-quoted strings.
func (f *fparser) json() (jsonv.Value, error) {
	f.blanks()
	if f.pos >= len(f.s) {
		return nil, errEnd
	}
	switch c := f.s[f.pos]; c {
	case '[':
		f.pos++
		a := []jsonv.Value{}
		if f.accept("]") {
			return a, nil
		}
		for {
			v, err := f.json()
			if err != nil {
				return nil, err
			}
			a = append(a, v)
			if f.accept("]") {
				return a, nil
			}
			if !f.accept(",") {
				return nil, fmt.Errorf("expected ',' or ']' in filter at position %d", f.pos)
			}
		}
	case '{':
		f.pos++
		o := jsonv.NewObject(0)
		if f.accept("}") {
			return o, nil
		}
		for {
			f.blanks()
			if f.pos >= len(f.s) || (f.s[f.pos] != '\'' && f.s[f.pos] != '"') {
				return nil, fmt.Errorf("expected a key in filter at position %d", f.pos)
			}
			k, err := f.str()
			if err != nil {
				return nil, err
			}
			if !f.accept(":") {
				return nil, fmt.Errorf("expected ':' in filter at position %d", f.pos)
			}
			v, err := f.json()
			if err != nil {
				return nil, err
			}
			o.Set(k, v)
			if f.accept("}") {
				return o, nil
			}
			if !f.accept(",") {
				return nil, fmt.Errorf("expected ',' or '}' in filter at position %d", f.pos)
			}
		}
	}
	op, err := f.operand()
	if err != nil {
		return nil, err
	}
	l, ok := op.(literal)
	if !ok {
		return nil, fmt.Errorf("a path cannot be part of a literal in filter")
	}
	return l.v, nil
}

// regex reads /pattern/flags. Java's Matcher.matches() needs the whole string to match, so the
// pattern is anchored.
func (f *fparser) regex() (*regexp.Regexp, error) {
	if f.pos >= len(f.s) || f.s[f.pos] != '/' {
		return nil, fmt.Errorf("expected a /regex/ after =~ at position %d", f.pos)
	}
	f.pos++
	start := f.pos
	for f.pos < len(f.s) && f.s[f.pos] != '/' {
		if f.s[f.pos] == '\\' {
			f.pos++
		}
		f.pos++
	}
	if f.pos >= len(f.s) {
		return nil, fmt.Errorf("unterminated regex in filter")
	}
	pattern := f.s[start:f.pos]
	f.pos++
	flags := ""
	for f.pos < len(f.s) && isWordChar(f.s[f.pos]) {
		switch c := f.s[f.pos]; c {
		case 'i', 'm', 's':
			flags += string(c)
		default:
			return nil, fmt.Errorf("unsupported regex flag %q", c)
		}
		f.pos++
	}
	if flags != "" {
		flags = "(?" + flags + ")"
	}
	return regexp.Compile(flags + "^(?:" + pattern + ")$")
}
