package jsonata

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

// regexLiteral is a compiled /pattern/flags literal.
type regexLiteral struct {
	re     *regexp.Regexp
	source string
}

// compileRegex translates a JavaScript regular expression to Go's RE2 syntax. RE2 has no
// backreferences or lookaround; patterns using them are rejected rather than silently changed.
func compileRegex(pattern, flags string) (*regexLiteral, error) {
	translated, err := translateRegex(pattern)
	if err != nil {
		return nil, err
	}
	prefix := ""
	if strings.Contains(flags, "i") || strings.Contains(flags, "m") {
		prefix = "(?"
		if strings.Contains(flags, "i") {
			prefix += "i"
		}
		if strings.Contains(flags, "m") {
			prefix += "m"
		}
		prefix += ")"
	}
	re, err := regexp.Compile(prefix + translated)
	if err != nil {
		return nil, fmt.Errorf("regular expression /%s/: %w", pattern, err)
	}
	return &regexLiteral{re: re, source: pattern}, nil
}

// jsDot is JavaScript's '.', which excludes every line terminator, not only '\n'.
const jsDot = `[^\n\r\x{2028}\x{2029}]`

func translateRegex(p string) (string, error) {
	var sb strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			if i+1 >= len(p) {
				return "", fmt.Errorf("trailing backslash in /%s/", p)
			}
			i++
			e := p[i]
			switch {
			case e == 'u' && isHexN(p[i+1:], 4):
				sb.WriteString(`\x{` + p[i+1:i+5] + `}`)
				i += 4
			case e == 'x' && isHexN(p[i+1:], 2):
				sb.WriteString(`\x{` + p[i+1:i+3] + `}`)
				i += 2
			case e == '0':
				sb.WriteString(`\x00`)
			case e >= '1' && e <= '9' && !inClass:
				return "", fmt.Errorf("backreferences are not supported in /%s/", p)
			case e == 'd' || e == 'D' || e == 'w' || e == 'W' || e == 's' || e == 'S' ||
				e == 'b' || e == 'B' || e == 'n' || e == 'r' || e == 't' || e == 'f' || e == 'v':
				if e == 'b' && inClass {
					sb.WriteString(`\x08`)
				} else {
					sb.WriteByte('\\')
					sb.WriteByte(e)
				}
			case (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z'):
				// JavaScript treats an unknown letter escape as the letter itself.
				sb.WriteByte(e)
			default:
				sb.WriteByte('\\')
				sb.WriteByte(e)
			}
		case inClass:
			if c == ']' {
				inClass = false
			}
			if c == '[' {
				sb.WriteString(`\[`)
				continue
			}
			sb.WriteByte(c)
		case c == '[':
			if strings.HasPrefix(p[i:], "[^]") {
				sb.WriteString(`[\x{0}-\x{10FFFF}]`)
				i += 2
				continue
			}
			inClass = true
			sb.WriteByte(c)
			// A ']' right after '[' or '[^' is a literal in JavaScript only when escaped, but
			// an empty class never matches; RE2 reads it as a literal, so keep the text.
		case c == '.':
			sb.WriteString(jsDot)
		case c == '(' && strings.HasPrefix(p[i:], "(?"):
			rest := p[i+2:]
			switch {
			case strings.HasPrefix(rest, ":"):
				sb.WriteString("(?:")
				i += 2
			case strings.HasPrefix(rest, "<") && !strings.HasPrefix(rest, "<=") && !strings.HasPrefix(rest, "<!"):
				sb.WriteString("(?P<")
				i += 2
			default:
				return "", fmt.Errorf("lookaround is not supported in /%s/", p)
			}
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String(), nil
}

func isHexN(s string, n int) bool {
	if len(s) < n {
		return false
	}
	for i := 0; i < n; i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// match is one match of a matcher (a regex or a custom matcher function), in byte offsets.
type match struct {
	text       string
	start, end int
	groups     []any
}

// matchIter yields the successive matches of a matcher over a string, as the reference's
// match.next() chain does.
type matchIter interface {
	next() (*match, error)
}

// regexIter walks the matches of a regex literal. It reproduces the reference's rule that a
// zero-length match can only be the last one requested (D1004): JavaScript's exec would find
// it again forever.
type regexIter struct {
	str     string
	all     [][]int
	i       int
	lastEnd int
	err     error
}

// newRegexIter finds the matches of re in str at once, as many as b can hold: the offsets
// of a match take a few words per group, and a long string can have millions of matches.
func newRegexIter(re *regexLiteral, str string, b *budget) *regexIter {
	perMatch := int64(48 + 16*(re.re.NumSubexp()+1))
	n := -1
	if b != nil && b.max > 0 {
		// one more than fits, to tell a string with too many matches from one with just enough
		n = int(max(b.max-b.used, 0)/perMatch) + 1
	}
	it := &regexIter{str: str, all: re.re.FindAllStringSubmatchIndex(str, n)}
	it.err = b.alloc(int64(len(it.all)) * perMatch)
	return it
}

func (it *regexIter) next() (*match, error) {
	if it.err != nil {
		return nil, it.err
	}
	if it.i > 0 {
		if it.lastEnd >= len(it.str) {
			return nil, nil
		}
		prev := it.all[it.i-1]
		if prev[0] == prev[1] {
			return nil, newError("D1004")
		}
	}
	if it.i >= len(it.all) {
		return nil, nil
	}
	loc := it.all[it.i]
	if it.i > 0 && loc[0] == loc[1] {
		return nil, newError("D1004")
	}
	it.i++
	it.lastEnd = loc[1]
	m := &match{text: it.str[loc[0]:loc[1]], start: loc[0], end: loc[1]}
	m.groups = make([]any, 0, len(loc)/2-1)
	for g := 2; g < len(loc); g += 2 {
		if loc[g] < 0 {
			// an unmatched group is undefined: null in $match results, nothing in $replace
			m.groups = append(m.groups, nil)
		} else {
			m.groups = append(m.groups, it.str[loc[g]:loc[g+1]])
		}
	}
	return m, nil
}

// matchObject is the object a matcher function returns: {match, start, end, groups, next},
// with offsets in UTF-16 code units as JavaScript reports them.
func (m *match) object(str string, next *builtin) *jsonv.Object {
	o := jsonv.NewObject(5)
	o.Set("match", m.text)
	o.Set("start", float64(utf16Offset(str, m.start)))
	o.Set("end", float64(utf16Offset(str, m.end)))
	o.Set("groups", &array{items: m.groups})
	if next != nil {
		o.Set("next", next)
	}
	return o
}

// regexFunction is the function value a regex literal evaluates to: called with a string it
// returns the first match object, whose next() returns the following one.
func regexFunction(re *regexLiteral) *builtin {
	return &builtin{name: "", arity: 2, re: re, impl: func(c call, args []any) (any, error) {
		str, ok := argAt(args, 0).(string)
		if !ok {
			return nil, nil
		}
		return iterObject(newRegexIter(re, str, &c.ev.mem), str)
	}}
}

func iterObject(it matchIter, str string) (any, error) {
	m, err := it.next()
	if err != nil || m == nil {
		return nil, err
	}
	next := &builtin{arity: 0, impl: func(c call, args []any) (any, error) {
		return iterObject(it, str)
	}}
	return m.object(str, next), nil
}

// customIter drives a matcher written in JSONata: a function returning match objects.
type customIter struct {
	c     call
	str   string
	fn    any
	first bool
}

func (it *customIter) next() (*match, error) {
	var res any
	var err error
	if !it.first {
		it.first = true
		res, err = it.c.ev.apply(it.fn, []any{it.str}, it.c.input, it.c.env, applySite{})
	} else {
		res, err = it.c.ev.apply(it.fn, nil, it.c.input, it.c.env, applySite{})
	}
	if err != nil || res == nil {
		return nil, err
	}
	o, ok := res.(*jsonv.Object)
	if !ok {
		return nil, newError("T1010")
	}
	get := func(k string) any {
		v, _ := o.Get(k)
		if v == nil {
			return nil
		}
		return norm(v)
	}
	start, sok := get("start").(float64)
	end, eok := get("end").(float64)
	groups, gok := get("groups").(*array)
	nextFn := get("next")
	if !sok && !eok && !gok && !isFunction(nextFn) {
		return nil, newError("T1010")
	}
	text, _ := get("match").(string)
	m := &match{text: text, start: byteOffset(it.str, int(start)), end: byteOffset(it.str, int(end))}
	if !eok {
		m.end = m.start + len(text)
	}
	if gok {
		m.groups = groups.items
	}
	it.fn = nextFn
	if !isFunction(nextFn) {
		it.fn = nil
	}
	return m, nil
}

// newMatchIter returns the iterator for a matcher argument of $match, $contains, $split or
// $replace.
func newMatchIter(c call, matcher any, str string) matchIter {
	if b, ok := matcher.(*builtin); ok && b.re != nil {
		return newRegexIter(b.re, str, &c.ev.mem)
	}
	return &nilSafeIter{&customIter{c: c, str: str, fn: matcher}}
}

// nilSafeIter stops a custom matcher chain whose next function is missing.
type nilSafeIter struct{ it *customIter }

func (n *nilSafeIter) next() (*match, error) {
	if n.it.first && n.it.fn == nil {
		return nil, nil
	}
	return n.it.next()
}

// byteOffset converts a UTF-16 offset in s to a byte offset, clamped to the string.
func byteOffset(s string, u16 int) int {
	if u16 <= 0 {
		return 0
	}
	n := 0
	for i, r := range s {
		if n >= u16 {
			return i
		}
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return len(s)
}
