// Package pattern is EventBridge's event-pattern language: a pattern is compiled once
// (Compile, which refuses what EventBridge refuses, with its InvalidEventPatternException
// reasons) and then matched against many events (Match, MatchValue).
//
// The language: a pattern is a JSON object whose fields name event fields; an object value
// descends into the event's object, an array value lists matchers of which one must match
// (any-of), every field must match (and), and "$or" lists alternative sub-patterns. Matchers
// are literal strings, numbers, true, false and null, and the operators prefix, suffix
// (each optionally {"equals-ignore-case": …}), anything-but (a value, a list, or prefix,
// suffix, wildcard or equals-ignore-case), numeric (comparisons and ranges), exists,
// equals-ignore-case, wildcard and cidr (IPv4 and IPv6). An event field holding an array
// matches when one of its elements does; an array of objects is descended element by
// element, so that the fields of one sub-pattern match within one element.
package pattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Error is a pattern EventBridge refuses; its message is the Reason of AWS's
// InvalidEventPatternException ("Event pattern is not valid. Reason: …").
type Error struct{ Reason string }

func (e *Error) Error() string { return "Event pattern is not valid. Reason: " + e.Reason }

func invalid(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// maxDepth bounds nesting, so that a hostile pattern cannot exhaust the stack.
const maxDepth = 100

// Pattern is a compiled event pattern. It is immutable and safe for concurrent use.
type Pattern struct {
	root *node
}

// node is one object level of a pattern: every field must match, and for every $or one of
// its alternatives must.
type node struct {
	fields []*field
	ors    [][]*node
}

type field struct {
	name     string
	child    *node     // an object in the pattern
	matchers []matcher // an array in the pattern
}

type kind int

const (
	kExact kind = iota
	kNumberExact
	kNull
	kBool
	kPrefix
	kSuffix
	kEqualsIgnoreCase
	kWildcard
	kNumeric
	kExists
	kCIDR
	kAnythingBut
)

// matcher is one element of a pattern's array.
type matcher struct {
	kind   kind
	s      string   // exact, prefix, suffix, equals-ignore-case (folded when fold)
	fold   bool     // prefix/suffix compared case-insensitively
	f      float64  // a number
	b      bool     // a boolean; exists' value
	wild   []string // a wildcard's literal segments between stars
	ranges []bound  // numeric
	prefix netip.Prefix
	// anything-but: any of these matching makes the matcher fail.
	not []matcher
}

type bound struct {
	op string
	v  float64
}

// Compile parses and validates a pattern.
func Compile(src []byte) (*Pattern, error) {
	d := json.NewDecoder(bytes.NewReader(src))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, invalid("Filter is not valid JSON: %s", err)
	}
	if d.More() {
		return nil, invalid("Filter is not valid JSON: unexpected data after the object")
	}
	if _, err := d.Token(); err == nil {
		return nil, invalid("Filter is not valid JSON: unexpected data after the object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, invalid("Filter is not an object")
	}
	n, err := compileNode(obj, 0)
	if err != nil {
		return nil, err
	}
	return &Pattern{root: n}, nil
}

// MustCompile is Compile for patterns known valid (tests, Stepline's own rules).
func MustCompile(src string) *Pattern {
	p, err := Compile([]byte(src))
	if err != nil {
		panic(err)
	}
	return p
}

func compileNode(obj map[string]any, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, invalid("Filter nesting is deeper than %d", maxDepth)
	}
	n := &node{}
	for _, name := range sortedKeys(obj) {
		v := obj[name]
		if name == "$or" {
			if alts, ok := orAlternatives(v); ok {
				if len(alts) < 2 {
					return nil, invalid("Must have at least 2 elements in $or array")
				}
				var compiled []*node
				for _, a := range alts {
					c, err := compileNode(a, depth+1)
					if err != nil {
						return nil, err
					}
					compiled = append(compiled, c)
				}
				n.ors = append(n.ors, compiled)
				continue
			}
			// An $or whose value is not a list of objects names an ordinary field "$or".
		}
		f := &field{name: name}
		switch v := v.(type) {
		case map[string]any:
			c, err := compileNode(v, depth+1)
			if err != nil {
				return nil, err
			}
			f.child = c
		case []any:
			if len(v) == 0 {
				return nil, invalid("Empty arrays are not allowed")
			}
			for _, e := range v {
				m, err := compileMatcher(e)
				if err != nil {
					return nil, err
				}
				f.matchers = append(f.matchers, m)
			}
		default:
			return nil, invalid("%q must be an object or an array", name)
		}
		n.fields = append(n.fields, f)
	}
	// Leaves first: they are cheaper to check than objects to descend, and most patterns
	// fail on source or detail-type before their detail is looked at.
	slices.SortStableFunc(n.fields, func(a, b *field) int {
		switch {
		case a.child == nil && b.child != nil:
			return -1
		case a.child != nil && b.child == nil:
			return 1
		}
		return 0
	})
	return n, nil
}

func orAlternatives(v any) ([]map[string]any, bool) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, false
	}
	var out []map[string]any
	for _, e := range arr {
		o, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		out = append(out, o)
	}
	return out, true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Sorted so that compilation, and its first error, do not depend on map order.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func compileMatcher(e any) (matcher, error) {
	switch e := e.(type) {
	case string:
		return matcher{kind: kExact, s: e}, nil
	case json.Number:
		f, err := number(e)
		if err != nil {
			return matcher{}, err
		}
		return matcher{kind: kNumberExact, f: f}, nil
	case nil:
		return matcher{kind: kNull}, nil
	case bool:
		return matcher{kind: kBool, b: e}, nil
	case []any:
		return matcher{}, invalid("Match value must be String, number, true, false, or null")
	case map[string]any:
		if len(e) != 1 {
			if len(e) == 0 {
				return matcher{}, invalid("Empty objects are not allowed")
			}
			return matcher{}, invalid("Only one key allowed in match expression")
		}
		for op, arg := range e {
			return compileOperator(op, arg)
		}
	}
	return matcher{}, invalid("Match value must be String, number, true, false, or null")
}

func number(n json.Number) (float64, error) {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, invalid("Value %s is not a valid number", n)
	}
	return f, nil
}

func compileOperator(op string, arg any) (matcher, error) {
	switch op {
	case "prefix", "suffix":
		k := kPrefix
		if op == "suffix" {
			k = kSuffix
		}
		switch a := arg.(type) {
		case string:
			return matcher{kind: k, s: a}, nil
		case map[string]any:
			if s, ok := a["equals-ignore-case"].(string); ok && len(a) == 1 {
				return matcher{kind: k, s: strings.ToLower(s), fold: true}, nil
			}
		}
		return matcher{}, invalid("Value of %s must be a string or nested equals-ignore-case", op)
	case "equals-ignore-case":
		s, ok := arg.(string)
		if !ok {
			return matcher{}, invalid("Value of equals-ignore-case must be a string")
		}
		return matcher{kind: kEqualsIgnoreCase, s: strings.ToLower(s)}, nil
	case "wildcard":
		s, ok := arg.(string)
		if !ok {
			return matcher{}, invalid("Value of wildcard must be a string")
		}
		segs, err := compileWildcard(s)
		if err != nil {
			return matcher{}, err
		}
		return matcher{kind: kWildcard, wild: segs}, nil
	case "exists":
		b, ok := arg.(bool)
		if !ok {
			return matcher{}, invalid("Value of exists must be true or false")
		}
		return matcher{kind: kExists, b: b}, nil
	case "cidr":
		s, ok := arg.(string)
		if !ok {
			return matcher{}, invalid("Value of cidr must be a string")
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			// A bare address is a one-address range.
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return matcher{}, invalid("Malformed CIDR, one '/' required")
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		return matcher{kind: kCIDR, prefix: p.Masked()}, nil
	case "numeric":
		return compileNumeric(arg)
	case "anything-but":
		return compileAnythingBut(arg)
	}
	return matcher{}, invalid("Unrecognized match type %s", op)
}

func compileNumeric(arg any) (matcher, error) {
	arr, ok := arg.([]any)
	if !ok || len(arr) == 0 {
		return matcher{}, invalid("Value of numeric must be an array.")
	}
	if len(arr) > 4 || len(arr)%2 != 0 {
		return matcher{}, invalid("Too many elements in numeric expression")
	}
	m := matcher{kind: kNumeric}
	var lower, upper, eq bool
	for i := 0; i < len(arr); i += 2 {
		op, ok := arr[i].(string)
		if !ok {
			return matcher{}, invalid("Unrecognized numeric range operator: %v", arr[i])
		}
		n, ok := arr[i+1].(json.Number)
		if !ok {
			return matcher{}, invalid("Value of %s must be numeric", op)
		}
		f, err := number(n)
		if err != nil {
			return matcher{}, err
		}
		switch op {
		case "=":
			if len(arr) != 2 {
				return matcher{}, invalid("Too many elements in numeric expression")
			}
			eq = true
		case ">", ">=":
			if lower || eq {
				return matcher{}, invalid("Bad numeric range operator: %s", op)
			}
			lower = true
		case "<", "<=":
			if upper || eq {
				return matcher{}, invalid("Bad numeric range operator: %s", op)
			}
			upper = true
		default:
			return matcher{}, invalid("Unrecognized numeric range operator: %s", op)
		}
		m.ranges = append(m.ranges, bound{op: op, v: f})
	}
	if len(m.ranges) == 2 {
		lo, hi := m.ranges[0], m.ranges[1]
		if lo.op[0] == '<' {
			lo, hi = hi, lo
		}
		if lo.v > hi.v || (lo.v == hi.v && (lo.op == ">" || hi.op == "<")) {
			return matcher{}, invalid("Bottom must be less than top")
		}
	}
	return m, nil
}

func compileAnythingBut(arg any) (matcher, error) {
	m := matcher{kind: kAnythingBut}
	scalar := func(v any) (matcher, error) {
		switch v := v.(type) {
		case string:
			return matcher{kind: kExact, s: v}, nil
		case json.Number:
			f, err := number(v)
			return matcher{kind: kNumberExact, f: f}, err
		}
		return matcher{}, invalid("Inside anything but list, start|null|boolean is not supported.")
	}
	switch a := arg.(type) {
	case string, json.Number:
		s, err := scalar(a)
		if err != nil {
			return matcher{}, err
		}
		m.not = []matcher{s}
	case []any:
		if len(a) == 0 {
			return matcher{}, invalid("Empty arrays are not allowed")
		}
		for _, e := range a {
			s, err := scalar(e)
			if err != nil {
				return matcher{}, err
			}
			m.not = append(m.not, s)
		}
	case map[string]any:
		if len(a) != 1 {
			return matcher{}, invalid("Only one key allowed in match expression")
		}
		for op, v := range a {
			switch op {
			case "prefix", "suffix":
				s, ok := v.(string)
				if !ok {
					return matcher{}, invalid("prefix/suffix match pattern must be a string")
				}
				if s == "" {
					return matcher{}, invalid("Null prefix/suffix not allowed")
				}
				k := kPrefix
				if op == "suffix" {
					k = kSuffix
				}
				m.not = []matcher{{kind: k, s: s}}
			case "equals-ignore-case", "wildcard":
				var vals []string
				switch v := v.(type) {
				case string:
					vals = []string{v}
				case []any:
					if len(v) == 0 {
						return matcher{}, invalid("Empty arrays are not allowed")
					}
					for _, e := range v {
						s, ok := e.(string)
						if !ok {
							return matcher{}, invalid("Inside anything-but/%s list, number|start|null|boolean is not supported.", op)
						}
						vals = append(vals, s)
					}
				default:
					return matcher{}, invalid("Value of anything-but/%s must be an array or single string", op)
				}
				for _, s := range vals {
					if op == "wildcard" {
						segs, err := compileWildcard(s)
						if err != nil {
							return matcher{}, err
						}
						m.not = append(m.not, matcher{kind: kWildcard, wild: segs})
					} else {
						m.not = append(m.not, matcher{kind: kEqualsIgnoreCase, s: strings.ToLower(s)})
					}
				}
			default:
				return matcher{}, invalid("Unsupported anything-but pattern: %s", op)
			}
		}
	default:
		return matcher{}, invalid("Value of anything-but must be an array or single string/number value.")
	}
	return m, nil
}

// compileWildcard splits a wildcard pattern into its literal segments around the stars:
// "a*b" is ["a","b"], "*" is ["",""]. A backslash escapes a star or a backslash;
// consecutive stars are refused, as EventBridge refuses them.
func compileWildcard(s string) ([]string, error) {
	var segs []string
	var cur strings.Builder
	prevStar := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return nil, invalid("Invalid escape character at pos %d", i)
			}
			cur.WriteByte(s[i+1])
			i++
			prevStar = false
		case c == '*':
			if prevStar {
				return nil, invalid("Consecutive wildcard characters at pos %d", i)
			}
			segs = append(segs, cur.String())
			cur.Reset()
			prevStar = true
		default:
			cur.WriteByte(c)
			prevStar = false
		}
	}
	return append(segs, cur.String()), nil
}

func wildcardMatch(segs []string, s string) bool {
	if len(segs) == 1 {
		return s == segs[0]
	}
	first, last := segs[0], segs[len(segs)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	mid := s[len(first) : len(s)-len(last)]
	// Greedy leftmost placement of each middle segment is optimal for star-only patterns.
	for _, seg := range segs[1 : len(segs)-1] {
		i := strings.Index(mid, seg)
		if i < 0 {
			return false
		}
		mid = mid[i+len(seg):]
	}
	return true
}

// Match reports whether a JSON event matches. An event that is not a JSON object is an error.
func (p *Pattern) Match(event []byte) (bool, error) {
	v, err := Decode(event)
	if err != nil {
		return false, err
	}
	return p.MatchValue(v), nil
}

// Decode parses an event for MatchValue, numbers kept as json.Number.
func Decode(event []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(event))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("pattern: event is not JSON: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("pattern: event is not a JSON object")
	}
	return obj, nil
}

// MatchValue reports whether an event, decoded by Decode (or any map of JSON values whose
// numbers are json.Number or float64), matches.
func (p *Pattern) MatchValue(event map[string]any) bool {
	return p.root.match(event)
}

func (n *node) match(obj map[string]any) bool {
	for _, f := range n.fields {
		if !f.match(obj) {
			return false
		}
	}
	for _, alts := range n.ors {
		ok := false
		for _, a := range alts {
			if a.match(obj) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (f *field) match(obj map[string]any) bool {
	v, present := obj[f.name]
	if f.child != nil {
		if o, ok := v.(map[string]any); ok {
			return f.child.match(o)
		}
		objs := objects(v, nil)
		if !present || len(objs) == 0 {
			// A missing object matches as an empty one: only exists:false and the like hold.
			return f.child.match(nil)
		}
		for _, o := range objs {
			if f.child.match(o) {
				return true
			}
		}
		return false
	}
	switch v.(type) {
	case []any, map[string]any:
	default:
		if present {
			// One scalar: no list to build.
			for i := range f.matchers {
				m := &f.matchers[i]
				if m.kind == kExists && m.b || m.kind != kExists && m.matchValue(v) {
					return true
				}
			}
			return false
		}
	}
	var leaves []any
	if present {
		leaves = flatten(v, nil)
	}
	for i := range f.matchers {
		if f.matchers[i].matchField(leaves) {
			return true
		}
	}
	return false
}

// objects returns the objects v holds: v itself, or the objects of an array (nested arrays too).
func objects(v any, out []map[string]any) []map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return append(out, v)
	case []any:
		for _, e := range v {
			out = objects(e, out)
		}
	}
	return out
}

// flatten returns the leaf values of v: v itself or the scalars of an array, nested
// arrays included; objects hold no leaf at this path.
func flatten(v any, out []any) []any {
	switch v := v.(type) {
	case map[string]any:
		return out
	case []any:
		for _, e := range v {
			out = flatten(e, out)
		}
		return out
	}
	return append(out, v)
}

func (m *matcher) matchField(leaves []any) bool {
	if m.kind == kExists {
		return (len(leaves) > 0) == m.b
	}
	for _, l := range leaves {
		if m.matchValue(l) {
			return true
		}
	}
	return false
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		return f, err == nil
	case float64:
		return v, true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	}
	return 0, false
}

func (m *matcher) matchValue(v any) bool {
	switch m.kind {
	case kExact:
		s, ok := v.(string)
		return ok && s == m.s
	case kNumberExact:
		f, ok := toFloat(v)
		return ok && f == m.f
	case kNull:
		return v == nil
	case kBool:
		b, ok := v.(bool)
		return ok && b == m.b
	case kPrefix:
		s, ok := v.(string)
		if !ok {
			return false
		}
		if m.fold {
			return len(s) >= len(m.s) && strings.EqualFold(s[:len(m.s)], m.s) || hasFoldPrefix(s, m.s)
		}
		return strings.HasPrefix(s, m.s)
	case kSuffix:
		s, ok := v.(string)
		if !ok {
			return false
		}
		if m.fold {
			return len(s) >= len(m.s) && strings.EqualFold(s[len(s)-len(m.s):], m.s) || hasFoldSuffix(s, m.s)
		}
		return strings.HasSuffix(s, m.s)
	case kEqualsIgnoreCase:
		s, ok := v.(string)
		return ok && strings.EqualFold(s, m.s)
	case kWildcard:
		s, ok := v.(string)
		return ok && wildcardMatch(m.wild, s)
	case kCIDR:
		s, ok := v.(string)
		if !ok {
			return false
		}
		a, err := netip.ParseAddr(s)
		return err == nil && m.prefix.Contains(a.Unmap()) || err == nil && m.prefix.Contains(a)
	case kNumeric:
		f, ok := toFloat(v)
		if !ok {
			return false
		}
		for _, b := range m.ranges {
			var hold bool
			switch b.op {
			case "=":
				hold = f == b.v
			case "<":
				hold = f < b.v
			case "<=":
				hold = f <= b.v
			case ">":
				hold = f > b.v
			case ">=":
				hold = f >= b.v
			}
			if !hold {
				return false
			}
		}
		return true
	case kAnythingBut:
		for i := range m.not {
			if m.not[i].matchValue(v) {
				return false
			}
		}
		return true
	}
	return false
}

// hasFoldPrefix is a case-insensitive prefix test for strings whose case folding changes
// their byte length (the fast path compares equal byte lengths only).
func hasFoldPrefix(s, prefix string) bool {
	return strings.HasPrefix(strings.ToLower(s), prefix)
}

func hasFoldSuffix(s, suffix string) bool {
	return strings.HasSuffix(strings.ToLower(s), suffix)
}

// ExactValues returns the strings a top-level field must equal for the pattern to match, when
// the pattern says so (the field is matched only by literal strings, outside any $or): an
// index of patterns by, say, source need then look only at those listing the event's source.
func (p *Pattern) ExactValues(name string) ([]string, bool) {
	for _, f := range p.root.fields {
		if f.name != name || f.child != nil {
			continue
		}
		vals := make([]string, 0, len(f.matchers))
		for i := range f.matchers {
			if f.matchers[i].kind != kExact {
				return nil, false
			}
			vals = append(vals, f.matchers[i].s)
		}
		return vals, true
	}
	return nil, false
}
