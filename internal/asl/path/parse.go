package path

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type stepKind uint8

const (
	stepName     stepKind = iota // .a or ['a']
	stepIndex                    // [0], [-1]
	stepNames                    // ['a','b']
	stepIndexes                  // [0,1]
	stepSlice                    // [1:3], [:2], [-2:]
	stepWildcard                 // .* or [*]
	stepScan                     // .. (applies the next step at every depth)
	stepFilter                   // [?(...)]
)

type step struct {
	kind    stepKind
	name    string
	index   int
	names   []string
	indexes []int
	// from and to bound a slice; hasFrom and hasTo tell [:2] and [1:] apart from [1:2].
	from, to       int
	hasFrom, hasTo bool
	filter         expr
	filterText     string // as written between [? and ], for Jayway's rendering
}

func (st *step) appendJayway(b *strings.Builder) {
	switch st.kind {
	case stepName:
		b.WriteString("['" + st.name + "']")
	case stepNames:
		b.WriteByte('[')
		for i, n := range st.names {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("'" + n + "'")
		}
		b.WriteByte(']')
	case stepIndex:
		b.WriteString("[" + strconv.Itoa(st.index) + "]")
	case stepIndexes:
		b.WriteByte('[')
		for i, n := range st.indexes {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(n))
		}
		b.WriteByte(']')
	case stepSlice:
		b.WriteByte('[')
		if st.hasFrom {
			b.WriteString(strconv.Itoa(st.from))
		}
		b.WriteByte(':')
		if st.hasTo {
			b.WriteString(strconv.Itoa(st.to))
		}
		b.WriteByte(']')
	case stepWildcard:
		b.WriteString("[*]")
	case stepScan:
		b.WriteString("..")
	case stepFilter:
		b.WriteString("[?]")
	}
}

// definite reports whether the step keeps a path definite, as Jayway's isTokenDefinite does.
// A union of names is definite only as the last step, where Jayway merges the members into
// one object.
func (st *step) definite(last bool) bool {
	switch st.kind {
	case stepName, stepIndex:
		return true
	case stepNames:
		return last
	}
	return false
}

type parser struct {
	text string
	s    string
	pos  int
	// inFilter marks a path inside a filter: it may start with @, and ends at the first
	// operator character, blank or closing parenthesis, as in Jayway's FilterCompiler.
	inFilter bool
}

func (p *parser) fail(format string, args ...any) error {
	return &SyntaxError{Path: p.text, Msg: fmt.Sprintf(format, args...)}
}

func isVarStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isVarChar(r rune) bool  { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func compile(s string, inFilter bool) (*Path, error) {
	p := &parser{text: s, s: s, inFilter: inFilter}
	path := &Path{text: s}
	switch {
	case strings.HasPrefix(s, "$$") && !inFilter:
		path.root, p.pos = RootContext, 2
	case strings.HasPrefix(s, "$"):
		p.pos = 1
		if r, _ := utf8.DecodeRuneInString(s[1:]); !inFilter && isVarStart(r) {
			end := 1
			for end < len(s) {
				r, size := utf8.DecodeRuneInString(s[end:])
				if !isVarChar(r) {
					break
				}
				end += size
			}
			path.root, path.name, p.pos = RootVariable, s[1:end], end
		}
	case inFilter && strings.HasPrefix(s, "@"):
		p.pos = 1
	default:
		return nil, p.fail("a path must start with $")
	}
	for p.pos < len(p.s) {
		if path.fn != nil {
			return nil, p.fail("a function must be the last element of a path")
		}
		if err := p.step(path); err != nil {
			return nil, err
		}
	}
	path.definite = true
	for i := range path.steps {
		if !path.steps[i].definite(i == len(path.steps)-1) {
			path.definite = false
		}
	}
	return path, nil
}

// step reads one token at p.pos and appends it to path.
func (p *parser) step(path *Path) error {
	switch p.s[p.pos] {
	case '.':
		if strings.HasPrefix(p.s[p.pos:], "..") {
			p.pos += 2
			path.steps = append(path.steps, step{kind: stepScan})
		} else {
			p.pos++
		}
		if p.pos >= len(p.s) {
			return p.fail("a path must not end with a '.' or '..'")
		}
		switch p.s[p.pos] {
		case '.':
			return p.fail("character '.' at position %d is not valid", p.pos)
		case '[':
			return p.bracket(path)
		case '*':
			p.pos++
			path.steps = append(path.steps, step{kind: stepWildcard})
			return nil
		}
		return p.nameOrFunction(path)
	case '[':
		return p.bracket(path)
	case '*':
		p.pos++
		path.steps = append(path.steps, step{kind: stepWildcard})
		return nil
	}
	return p.fail("unexpected %q at position %d", p.s[p.pos], p.pos)
}

// nameOrFunction reads a dot-notation name. Like Jayway it takes any character up to the next
// '.', '[' or '(' ('(' makes it a function), so $.a-b and $.día are names.
func (p *parser) nameOrFunction(path *Path) error {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == ' ' {
			if p.inFilter {
				break
			}
			return p.fail("use bracket notation ['my prop'] if a name contains blanks (position %d)", p.pos)
		}
		if c == '.' || c == '[' || c == '(' {
			break
		}
		if p.inFilter && (c == ')' || isOperatorChar(c)) {
			break
		}
		p.pos++
	}
	name := p.s[start:p.pos]
	if name == "" {
		return p.fail("empty name at position %d", start)
	}
	if p.pos < len(p.s) && p.s[p.pos] == '(' {
		p.pos++
		if p.pos >= len(p.s) || p.s[p.pos] != ')' {
			return p.fail("function %s() takes no arguments", name)
		}
		p.pos++
		fn, ok := functions[name]
		if !ok {
			return p.fail("function with name: %s does not exist", name)
		}
		if n := len(path.steps); n > 0 && path.steps[n-1].kind == stepScan {
			return p.fail("a function cannot follow '..'")
		}
		path.fn = fn
		return nil
	}
	path.steps = append(path.steps, step{kind: stepName, name: name})
	return nil
}

func (p *parser) skipBlanks() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *parser) bracket(path *Path) error {
	open := p.pos
	p.pos++
	p.skipBlanks()
	if p.pos >= len(p.s) {
		return p.fail("unclosed '[' at position %d", open)
	}
	switch c := p.s[p.pos]; {
	case c == '\'' || c == '"':
		return p.quotedNames(path)
	case c == '*':
		p.pos++
		p.skipBlanks()
		if p.pos >= len(p.s) || p.s[p.pos] != ']' {
			return p.fail("expected ']' at position %d", p.pos)
		}
		p.pos++
		path.steps = append(path.steps, step{kind: stepWildcard})
		return nil
	case c == '?':
		return p.filter(path)
	case c == '-' || c == ':' || (c >= '0' && c <= '9'):
		return p.indexes(path, open)
	}
	return p.fail("could not parse token starting at position %d: expected ?, ', 0-9, *", open)
}

// quotedNames reads ['a'], ["a"] or ['a','b']. A backslash keeps the next character from
// closing the name but stays in it: AWS looks up $['a\"b'] as the key a\"b.
func (p *parser) quotedNames(path *Path) error {
	var names []string
	for {
		p.skipBlanks()
		if p.pos >= len(p.s) {
			return p.fail("unclosed '['")
		}
		q := p.s[p.pos]
		if q != '\'' && q != '"' {
			return p.fail("expected a quoted name at position %d", p.pos)
		}
		p.pos++
		start := p.pos
		for p.pos < len(p.s) && p.s[p.pos] != q {
			if p.s[p.pos] == '\\' {
				p.pos++
			}
			p.pos++
		}
		if p.pos >= len(p.s) {
			return p.fail("unterminated quoted name at position %d", start-1)
		}
		names = append(names, p.s[start:p.pos])
		p.pos++
		p.skipBlanks()
		if p.pos >= len(p.s) {
			return p.fail("unclosed '['")
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
			continue
		case ']':
			p.pos++
			if len(names) == 1 {
				path.steps = append(path.steps, step{kind: stepName, name: names[0]})
			} else {
				path.steps = append(path.steps, step{kind: stepNames, names: names})
			}
			return nil
		}
		return p.fail("names must be separated by ',' and closed by ']' (position %d)", p.pos)
	}
}

// indexes reads [0], [-1], [0,2] or a slice [1:3], [:2], [-2:].
func (p *parser) indexes(path *Path, open int) error {
	end := strings.IndexByte(p.s[p.pos:], ']')
	if end < 0 {
		return p.fail("unclosed '[' at position %d", open)
	}
	body := strings.TrimSpace(p.s[p.pos : p.pos+end])
	p.pos += end + 1
	if strings.Contains(body, ":") {
		from, to, ok := strings.Cut(body, ":")
		if strings.Contains(to, ":") {
			return p.fail("a slice takes at most two bounds: [%s]", body)
		}
		st := step{kind: stepSlice}
		var err error
		if from = strings.TrimSpace(from); from != "" {
			if st.from, err = strconv.Atoi(from); err != nil {
				return p.fail("invalid slice bound %q", from)
			}
			st.hasFrom = true
		}
		if to = strings.TrimSpace(to); ok && to != "" {
			if st.to, err = strconv.Atoi(to); err != nil {
				return p.fail("invalid slice bound %q", to)
			}
			st.hasTo = true
		}
		if !st.hasFrom && !st.hasTo {
			return p.fail("a slice needs a bound: [%s]", body)
		}
		path.steps = append(path.steps, st)
		return nil
	}
	var idx []int
	for part := range strings.SplitSeq(body, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return p.fail("invalid array index %q", strings.TrimSpace(part))
		}
		idx = append(idx, n)
	}
	if len(idx) == 1 {
		path.steps = append(path.steps, step{kind: stepIndex, index: idx[0]})
	} else {
		path.steps = append(path.steps, step{kind: stepIndexes, indexes: idx})
	}
	return nil
}

// filter reads [?(...)]: the expression runs to the parenthesis that closes the opening one,
// quoted strings skipped, and only blanks may stand between it and ']'.
func (p *parser) filter(path *Path) error {
	start := p.pos // at '?'
	p.pos++
	p.skipBlanks()
	if p.pos >= len(p.s) || p.s[p.pos] != '(' {
		return p.fail("expected '(' after '?' at position %d", p.pos)
	}
	closing := matchParen(p.s, p.pos)
	if closing < 0 {
		return p.fail("unbalanced parentheses in filter at position %d", start)
	}
	body := p.s[p.pos+1 : closing]
	p.pos = closing + 1
	p.skipBlanks()
	if p.pos >= len(p.s) || p.s[p.pos] != ']' {
		return p.fail("expected ']' after filter at position %d", p.pos)
	}
	p.pos++
	e, err := parseFilter(body)
	if err != nil {
		return p.fail("%s", err.Error())
	}
	path.steps = append(path.steps, step{kind: stepFilter, filter: e, filterText: body})
	return nil
}

// matchParen returns the index of the ')' closing the '(' at open, skipping quoted strings.
func matchParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '"':
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func isOperatorChar(c byte) bool {
	return c == '<' || c == '>' || c == '=' || c == '~' || c == '!'
}
