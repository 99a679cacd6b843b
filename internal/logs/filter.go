package logs

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Filter is a parsed filter pattern of FilterLogEvents. The subset Stepline understands:
//
//   - "" matches every event.
//   - Terms: `ERROR`, `"exact phrase"`, several terms (all must appear), `-term` (must not
//     appear), `?a ?b` (any of them), `%regex%` (Go's RE2 syntax). Matching is case-sensitive,
//     as CloudWatch's.
//   - JSON: `{ SELECTOR OP VALUE }` on events whose message is a JSON object, with
//     SELECTOR `$.a.b`, `$.a[0]`, OP `=` `!=` (strings, numbers, true/false/null; `*` in a
//     string is a wildcard) or `<` `<=` `>` `>=` (numbers), `$.x NOT EXISTS`, `$.x IS NULL`,
//     combined with `&&`, `||` and parentheses.
//
// Space-delimited patterns (`[ip, user, ...]`) and metric filter syntax are not supported.
type Filter struct {
	match func(msg string) bool
}

// Match reports whether an event's message matches.
func (f *Filter) Match(msg string) bool { return f.match == nil || f.match(msg) }

// ParseFilter parses a filter pattern.
func ParseFilter(pattern string) (*Filter, error) {
	p := strings.TrimSpace(pattern)
	switch {
	case p == "":
		return &Filter{}, nil
	case strings.HasPrefix(p, "{"):
		if !strings.HasSuffix(p, "}") {
			return nil, errors.New("a JSON filter pattern must end with }")
		}
		jp := &jsonParser{src: p[1 : len(p)-1]}
		cond, err := jp.parseOr()
		if err != nil {
			return nil, err
		}
		jp.skip()
		if jp.pos < len(jp.src) {
			return nil, fmt.Errorf("unexpected %q", jp.src[jp.pos:])
		}
		return &Filter{match: func(msg string) bool {
			var v any
			d := json.NewDecoder(strings.NewReader(msg))
			d.UseNumber()
			if d.Decode(&v) != nil {
				return false
			}
			if _, ok := v.(map[string]any); !ok {
				return false
			}
			return cond(v)
		}}, nil
	case strings.HasPrefix(p, "["):
		return nil, errors.New("space-delimited filter patterns are not supported")
	case len(p) > 1 && p[0] == '%' && p[len(p)-1] == '%':
		re, err := regexp.Compile(p[1 : len(p)-1])
		if err != nil {
			return nil, err
		}
		return &Filter{match: re.MatchString}, nil
	}
	terms, err := splitTerms(p)
	if err != nil {
		return nil, err
	}
	var all, none, any []string
	for _, t := range terms {
		switch {
		case strings.HasPrefix(t.text, "?") && !t.quoted:
			any = append(any, strings.Trim(t.text[1:], `"`))
		case strings.HasPrefix(t.text, "-") && !t.quoted && len(t.text) > 1:
			none = append(none, strings.Trim(t.text[1:], `"`))
		default:
			all = append(all, t.text)
		}
	}
	return &Filter{match: func(msg string) bool {
		if len(any) > 0 {
			for _, t := range any {
				if strings.Contains(msg, t) {
					return true
				}
			}
			return false
		}
		for _, t := range all {
			if !strings.Contains(msg, t) {
				return false
			}
		}
		for _, t := range none {
			if strings.Contains(msg, t) {
				return false
			}
		}
		return true
	}}, nil
}

type term struct {
	text   string
	quoted bool
}

func splitTerms(p string) ([]term, error) {
	var out []term
	for i := 0; i < len(p); {
		switch {
		case p[i] == ' ' || p[i] == '\t':
			i++
		case p[i] == '"':
			j := strings.IndexByte(p[i+1:], '"')
			if j < 0 {
				return nil, errors.New("unterminated quoted term")
			}
			out = append(out, term{text: p[i+1 : i+1+j], quoted: true})
			i += j + 2
		default:
			j := i
			for j < len(p) && p[j] != ' ' && p[j] != '\t' {
				if p[j] == '"' && j > i && (p[j-1] == '?' || p[j-1] == '-') {
					// ?"a phrase" or -"a phrase"
					k := strings.IndexByte(p[j+1:], '"')
					if k < 0 {
						return nil, errors.New("unterminated quoted term")
					}
					j += k + 2
					continue
				}
				j++
			}
			out = append(out, term{text: p[i:j]})
			i = j
		}
	}
	return out, nil
}

type cond func(v any) bool

type jsonParser struct {
	src string
	pos int
}

func (p *jsonParser) skip() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

func (p *jsonParser) eat(s string) bool {
	p.skip()
	if strings.HasPrefix(p.src[p.pos:], s) {
		p.pos += len(s)
		return true
	}
	return false
}

func (p *jsonParser) parseOr() (cond, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.eat("||") {
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(v any) bool { return l(v) || right(v) }
	}
	return left, nil
}

func (p *jsonParser) parseAnd() (cond, error) {
	left, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	for p.eat("&&") {
		right, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(v any) bool { return l(v) && right(v) }
	}
	return left, nil
}

var selectorRE = regexp.MustCompile(`^\$(\.[A-Za-z_][A-Za-z0-9_\-]*|\[\d+\]|\.\*)*`)

func (p *jsonParser) parseTerm() (cond, error) {
	if p.eat("(") {
		c, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if !p.eat(")") {
			return nil, errors.New("missing )")
		}
		return c, nil
	}
	p.skip()
	sel := selectorRE.FindString(p.src[p.pos:])
	if sel == "" {
		return nil, fmt.Errorf("expected a selector ($.field) at %q", p.src[p.pos:])
	}
	p.pos += len(sel)
	get := selector(sel)
	switch {
	case p.eat("NOT EXISTS"):
		return func(v any) bool { _, ok := get(v); return !ok }, nil
	case p.eat("IS NULL"):
		return func(v any) bool { x, ok := get(v); return ok && x == nil }, nil
	}
	var op string
	for _, o := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if p.eat(o) {
			op = o
			break
		}
	}
	if op == "" {
		return nil, fmt.Errorf("expected an operator after %s", sel)
	}
	p.skip()
	val, quoted, err := p.value()
	if err != nil {
		return nil, err
	}
	if n, err := strconv.ParseFloat(val, 64); err == nil && !quoted {
		return func(v any) bool {
			x, ok := get(v)
			if !ok {
				return false
			}
			num, ok := x.(json.Number)
			if !ok {
				return op == "!="
			}
			f, err := num.Float64()
			if err != nil {
				return false
			}
			switch op {
			case "=":
				return f == n
			case "!=":
				return f != n
			case "<":
				return f < n
			case "<=":
				return f <= n
			case ">":
				return f > n
			}
			return f >= n
		}, nil
	}
	if op != "=" && op != "!=" {
		return nil, fmt.Errorf("%s compares numbers only", op)
	}
	parts := strings.Split(val, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	wild := regexp.MustCompile("^(?s:" + strings.Join(parts, ".*") + ")$")
	eq := func(x any) bool {
		switch x := x.(type) {
		case string:
			return wild.MatchString(x)
		case bool:
			return !quoted && val == strconv.FormatBool(x)
		case nil:
			return !quoted && val == "null"
		case json.Number:
			return x.String() == val
		}
		return false
	}
	return func(v any) bool {
		x, ok := get(v)
		if !ok {
			return false
		}
		if op == "=" {
			return eq(x)
		}
		return !eq(x)
	}, nil
}

// value reads a quoted string or a bare word.
func (p *jsonParser) value() (string, bool, error) {
	if p.pos < len(p.src) && p.src[p.pos] == '"' {
		var b strings.Builder
		for i := p.pos + 1; i < len(p.src); i++ {
			switch c := p.src[i]; c {
			case '\\':
				if i+1 < len(p.src) {
					i++
					b.WriteByte(p.src[i])
				}
			case '"':
				p.pos = i + 1
				return b.String(), true, nil
			default:
				b.WriteByte(c)
			}
		}
		return "", false, errors.New("unterminated string")
	}
	start := p.pos
	for p.pos < len(p.src) && !strings.ContainsRune(" \t)&|", rune(p.src[p.pos])) {
		p.pos++
	}
	if p.pos == start {
		return "", false, errors.New("expected a value")
	}
	return p.src[start:p.pos], false, nil
}

// selector returns a function that finds the value at sel ($.a.b[0]) in a decoded object.
func selector(sel string) func(v any) (any, bool) {
	var steps []string
	rest := sel[1:]
	for rest != "" {
		if rest[0] == '.' {
			j := 1
			for j < len(rest) && rest[j] != '.' && rest[j] != '[' {
				j++
			}
			steps = append(steps, rest[1:j])
			rest = rest[j:]
			continue
		}
		j := strings.IndexByte(rest, ']')
		steps = append(steps, rest[:j+1])
		rest = rest[j+1:]
	}
	return func(v any) (any, bool) {
		for _, s := range steps {
			if strings.HasPrefix(s, "[") {
				a, ok := v.([]any)
				i, _ := strconv.Atoi(s[1 : len(s)-1])
				if !ok || i >= len(a) {
					return nil, false
				}
				v = a[i]
				continue
			}
			o, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = o[s]; !ok {
				return nil, false
			}
		}
		return v, true
	}
}
