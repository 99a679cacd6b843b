package jsonata

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/stepline/stepline/internal/jsonv"
)

// builtins is the standard library. Arities are those of the reference's JavaScript
// implementations, because higher-order functions pass a function as many arguments as it
// declares.
var builtins map[string]*builtin

func init() {
	builtins = map[string]*builtin{}
	def := func(name, sig string, arity int, impl func(c call, args []any) (any, error)) {
		builtins[name] = &builtin{name: name, sig: mustSignature(sig), arity: arity, impl: impl}
	}
	def("sum", "<a<n>:n>", 1, fnSum)
	def("count", "<a:n>", 1, fnCount)
	def("max", "<a<n>:n>", 1, fnMax)
	def("min", "<a<n>:n>", 1, fnMin)
	def("average", "<a<n>:n>", 1, fnAverage)
	def("string", "<x-b?:s>", 1, fnString)
	def("substring", "<s-nn?:s>", 3, fnSubstring)
	def("substringBefore", "<s-s:s>", 2, fnSubstringBefore)
	def("substringAfter", "<s-s:s>", 2, fnSubstringAfter)
	def("lowercase", "<s-:s>", 1, stringFunc(lowercase))
	def("uppercase", "<s-:s>", 1, stringFunc(uppercase))
	def("length", "<s-:n>", 1, fnLength)
	def("trim", "<s-:s>", 1, stringFunc(trim))
	def("pad", "<s-ns?:s>", 3, fnPad)
	def("match", "<s-f<s:o>n?:a<o>>", 3, fnMatch)
	def("contains", "<s-(sf):b>", 2, fnContains)
	def("replace", "<s-(sf)(sf)n?:s>", 4, fnReplace)
	def("split", "<s-(sf)n?:a<s>>", 3, fnSplit)
	def("join", "<a<s>s?:s>", 2, fnJoin)
	def("formatNumber", "<n-so?:s>", 3, fnFormatNumber)
	def("formatBase", "<n-n?:s>", 2, fnFormatBase)
	def("formatInteger", "<n-s:s>", 2, fnFormatInteger)
	def("parseInteger", "<s-s:n>", 2, fnParseInteger)
	def("number", "<(nsb)-:n>", 1, fnNumber)
	def("floor", "<n-:n>", 1, numberFunc(math.Floor))
	def("ceil", "<n-:n>", 1, numberFunc(math.Ceil))
	def("round", "<n-n?:n>", 2, fnRound)
	def("abs", "<n-:n>", 1, numberFunc(math.Abs))
	def("sqrt", "<n-:n>", 1, fnSqrt)
	def("power", "<n-n:n>", 2, fnPower)
	def("random", "<:n>", 0, func(c call, args []any) (any, error) { return c.ev.random(), nil })
	def("boolean", "<x-:b>", 1, fnBoolean)
	def("not", "<x-:b>", 1, fnNot)
	def("map", "<af>", 2, fnMap)
	def("zip", "<a+>", 0, fnZip)
	def("filter", "<af>", 2, fnFilter)
	def("single", "<af?>", 2, fnSingle)
	def("reduce", "<afj?:j>", 3, fnReduce)
	def("sift", "<o-f?:o>", 2, fnSift)
	def("keys", "<x-:a<s>>", 1, fnKeys)
	def("lookup", "<x-s:x>", 2, fnLookup)
	def("append", "<xx:a>", 2, func(c call, args []any) (any, error) {
		r := appendValues(argAt(args, 0), argAt(args, 1))
		if a, ok := r.(*array); ok {
			if err := c.ev.allocSlots(len(a.items)); err != nil {
				return nil, err
			}
		}
		return r, nil
	})
	def("exists", "<x:b>", 1, func(c call, args []any) (any, error) { return argAt(args, 0) != nil, nil })
	def("spread", "<x-:a<o>>", 1, func(c call, args []any) (any, error) { return c.ev.spread(argAt(args, 0)) })
	def("merge", "<a<o>:o>", 1, fnMerge)
	def("reverse", "<a:a>", 1, fnReverse)
	def("each", "<o-f:a>", 2, fnEach)
	def("error", "<s?:x>", 1, fnError)
	def("assert", "<bs?:x>", 2, fnAssert)
	def("type", "<x:s>", 1, fnType)
	def("sort", "<af?:a>", 2, fnSort)
	def("shuffle", "<a:a>", 1, fnShuffle)
	def("distinct", "<x:x>", 1, fnDistinct)
	def("base64encode", "<s-:s>", 1, fnBase64Encode)
	def("base64decode", "<s-:s>", 1, fnBase64Decode)
	def("encodeUrlComponent", "<s-:s>", 1, urlEncoder("encodeUrlComponent", "-_.!~*'()"))
	def("encodeUrl", "<s-:s>", 1, urlEncoder("encodeUrl", "-_.!~*'();/?:@&=+$,#"))
	def("decodeUrlComponent", "<s-:s>", 1, urlDecoder("decodeUrlComponent", ""))
	def("decodeUrl", "<s-:s>", 1, urlDecoder("decodeUrl", ";/?:@&=+$,#"))
	def("toMillis", "<s-s?:n>", 2, fnToMillis)
	def("fromMillis", "<n-s?s?:s>", 3, fnFromMillis)
	def("clone", "<(oa)-:o>", 1, func(c call, args []any) (any, error) { return cloneValue(argAt(args, 0), 0, &c.ev.mem) })
	def("now", "<s?s?:s>", 2, fnNow)
	def("millis", "<:n>", 0, func(c call, args []any) (any, error) {
		return float64(c.ev.now.UnixMilli()), nil
	})
}

// stringFunc makes a function of a string that returns about as long a string; the result is
// charged as if it were as long as the argument.
func stringFunc(f func(string) string) func(c call, args []any) (any, error) {
	return func(c call, args []any) (any, error) {
		s, ok := argAt(args, 0).(string)
		if !ok {
			return nil, nil
		}
		if err := c.ev.allocString(len(s)); err != nil {
			return nil, err
		}
		return f(s), nil
	}
}

// specialUpper holds the unconditional one-to-many upper-case mappings of Unicode's
// SpecialCasing.txt that JavaScript's toUpperCase applies and Go's simple case mapping does not.
var specialUpper = map[rune]string{
	'ß': "SS", 'ŉ': "ʼN", 'ǰ': "J̌", 'ΐ': "Ϊ́", 'ΰ': "Ϋ́", 'և': "ԵՒ", 'ẖ': "H̱", 'ẗ': "T̈",
	'ẘ': "W̊", 'ẙ': "Y̊", 'ẚ': "Aʾ", 'ﬀ': "FF", 'ﬁ': "FI", 'ﬂ': "FL", 'ﬃ': "FFI", 'ﬄ': "FFL",
	'ﬅ': "ST", 'ﬆ': "ST", 'ﬓ': "ՄՆ", 'ﬔ': "ՄԵ", 'ﬕ': "ՄԻ", 'ﬖ': "ՎՆ", 'ﬗ': "ՄԽ",
}

func uppercase(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { _, ok := specialUpper[r]; return ok }) {
		return strings.ToUpper(s)
	}
	var sb strings.Builder
	for _, r := range s {
		if u, ok := specialUpper[r]; ok {
			sb.WriteString(u)
		} else {
			sb.WriteString(strings.ToUpper(string(r)))
		}
	}
	return sb.String()
}

// lowercase is strings.ToLower except for İ, which JavaScript lowers to i and a combining dot.
func lowercase(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "İ", "i\u0307"))
}

func numberFunc(f func(float64) float64) func(c call, args []any) (any, error) {
	return func(c call, args []any) (any, error) {
		x, ok := argAt(args, 0).(float64)
		if !ok {
			return nil, nil
		}
		return f(x), nil
	}
}

func items(v any) []any {
	if a, ok := v.(*array); ok {
		return a.items
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func fnSum(c call, args []any) (any, error) {
	a := argAt(args, 0)
	if a == nil {
		return nil, nil
	}
	total := 0.0
	for _, v := range items(a) {
		total += v.(float64)
	}
	return total, nil
}

func fnCount(c call, args []any) (any, error) {
	return float64(len(items(argAt(args, 0)))), nil
}

func fnMax(c call, args []any) (any, error) {
	xs := items(argAt(args, 0))
	if len(xs) == 0 {
		return nil, nil
	}
	m := math.Inf(-1)
	for _, v := range xs {
		m = math.Max(m, v.(float64))
	}
	return m, nil
}

func fnMin(c call, args []any) (any, error) {
	xs := items(argAt(args, 0))
	if len(xs) == 0 {
		return nil, nil
	}
	m := math.Inf(1)
	for _, v := range xs {
		m = math.Min(m, v.(float64))
	}
	return m, nil
}

func fnAverage(c call, args []any) (any, error) {
	xs := items(argAt(args, 0))
	if len(xs) == 0 {
		return nil, nil
	}
	total := 0.0
	for _, v := range xs {
		total += v.(float64)
	}
	return total / float64(len(xs)), nil
}

func fnString(c call, args []any) (any, error) {
	v := argAt(args, 0)
	if v == nil {
		return nil, nil
	}
	if a, ok := v.(*array); ok && a.outerWrapper {
		v = a.items[0]
	}
	if p, ok := argAt(args, 1).(bool); ok && p {
		switch v.(type) {
		case string, *lambda, *builtin:
		default:
			return jsonText(v, true, &c.ev.mem)
		}
	}
	return toString(v, &c.ev.mem)
}

// runes splits s into characters as JavaScript's string iterator does (by code point).
func runes(s string) []string {
	out := make([]string, 0, len(s))
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		out = append(out, s[i:i+size])
		i += size
	}
	return out
}

// jsSliceIndex resolves a start or end argument of Array.prototype.slice.
func jsSliceIndex(f float64, n int) int {
	if math.IsNaN(f) {
		return 0
	}
	f = math.Trunc(f)
	if f < 0 {
		f += float64(n)
		if f < 0 {
			return 0
		}
		return int(f)
	}
	if f > float64(n) {
		return n
	}
	return int(f)
}

func fnSubstring(c call, args []any) (any, error) {
	s, ok := argAt(args, 0).(string)
	if !ok {
		return nil, nil
	}
	// characters are code points; the result is a slice of s, which allocates nothing
	n := runeCount(s)
	start, _ := argAt(args, 1).(float64)
	if float64(n)+start < 0 {
		start = 0
	}
	from := jsSliceIndex(start, n)
	if l, ok := argAt(args, 2).(float64); ok {
		if l <= 0 {
			return "", nil
		}
		end := start + l
		if start < 0 {
			end = float64(n) + start + l
		}
		to := jsSliceIndex(end, n)
		if to <= from {
			return "", nil
		}
		return s[runeOffset(s, from):runeOffset(s, to)], nil
	}
	return s[runeOffset(s, from):], nil
}

// runeOffset is the byte offset of the i-th character of s (len(s) past the last).
func runeOffset(s string, i int) int {
	for off := range s {
		if i == 0 {
			return off
		}
		i--
	}
	return len(s)
}

func fnSubstringBefore(c call, args []any) (any, error) {
	s, ok := argAt(args, 0).(string)
	if !ok {
		return nil, nil
	}
	sep, err := toString(argAt(args, 1), &c.ev.mem)
	if err != nil {
		return nil, err
	}
	if i := strings.Index(s, sep); i >= 0 {
		return s[:i], nil
	}
	return s, nil
}

func fnSubstringAfter(c call, args []any) (any, error) {
	s, ok := argAt(args, 0).(string)
	if !ok {
		return nil, nil
	}
	sep, err := toString(argAt(args, 1), &c.ev.mem)
	if err != nil {
		return nil, err
	}
	if i := strings.Index(s, sep); i >= 0 {
		return s[i+len(sep):], nil
	}
	return s, nil
}

func fnLength(c call, args []any) (any, error) {
	s, ok := argAt(args, 0).(string)
	if !ok {
		return nil, nil
	}
	return float64(utf8.RuneCountInString(s)), nil
}

func trim(s string) string {
	var sb strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			space = true
		default:
			if space {
				sb.WriteByte(' ')
				space = false
			}
			sb.WriteByte(s[i])
		}
	}
	if space {
		sb.WriteByte(' ')
	}
	r := sb.String()
	r = strings.TrimPrefix(r, " ")
	return strings.TrimSuffix(r, " ")
}

// maxStringLength caps strings a single function call builds from a number, such as $pad's
// width, so that one argument cannot demand gigabytes. JavaScript engines have a similar cap.
const maxStringLength = 1 << 24

func fnPad(c call, args []any) (any, error) {
	s, ok := argAt(args, 0).(string)
	if !ok {
		return nil, nil
	}
	width, _ := argAt(args, 1).(float64)
	char, _ := argAt(args, 2).(string)
	if char == "" {
		char = " "
	}
	if math.Abs(width) > maxStringLength {
		return nil, fmt.Errorf("jsonata: $pad width %s exceeds %d characters", formatNumber(width), maxStringLength)
	}
	padLen := int(math.Abs(width)) - utf8.RuneCountInString(s)
	if padLen <= 0 {
		return s, nil
	}
	// the padding repeats char's characters, cut to padLen characters
	unit := runeCount(char)
	full, part := padLen/unit, padLen%unit
	if err := c.ev.allocString(len(s) + full*len(char) + runeOffset(char, part)); err != nil {
		return nil, err
	}
	pad := strings.Repeat(char, full) + char[:runeOffset(char, part)]
	if width > 0 {
		return s + pad, nil
	}
	return pad + s, nil
}

func fnMatch(c call, args []any) (any, error) {
	s, ok := argAt(args, 0).(string)
	if !ok {
		return nil, nil
	}
	limit, hasLimit := argAt(args, 2).(float64)
	if hasLimit && limit < 0 {
		return nil, newError("D3040", withValue(limit), withIndex(3))
	}
	result := &array{seq: true}
	if hasLimit && limit == 0 {
		return result, nil
	}
	it := newMatchIter(c, argAt(args, 1), s)
	// match offsets are converted to UTF-16 from the previous match on, not from the start
	// of the string each time, which would take time quadratic in the number of matches
	prevByte, prevUnit := 0, 0
	for count := 0; !hasLimit || float64(count) < limit; count++ {
		m, err := it.next()
		if err != nil {
			return nil, err
		}
		if m == nil {
			break
		}
		if err := c.ev.alloc(3*memberBytes + int64(len(m.groups)+1)*slotBytes); err != nil {
			return nil, err
		}
		o := jsonv.NewObject(3)
		o.Set("match", m.text)
		if m.start >= prevByte {
			prevUnit += utf16Offset(s[prevByte:], m.start-prevByte)
		} else {
			prevUnit = utf16Offset(s, m.start)
		}
		prevByte = m.start
		o.Set("index", float64(prevUnit))
		o.Set("groups", &array{items: m.groups})
		result.items = append(result.items, o)
	}
	return result, nil
}

func fnContains(c call, args []any) (any, error) {
	s, ok := argAt(args, 0).(string)
	if !ok {
		return nil, nil
	}
	switch t := argAt(args, 1).(type) {
	case string:
		return strings.Contains(s, t), nil
	case nil:
		return strings.Contains(s, "undefined"), nil
	default:
		m, err := newMatchIter(c, t, s).next()
		return m != nil, err
	}
}

func fnReplace(c call, args []any) (any, error) {
	s, ok := argAt(args, 0).(string)
	if !ok {
		return nil, nil
	}
	pattern := argAt(args, 1)
	if pattern == "" {
		return nil, newError("D3010", withValue(pattern), withIndex(2))
	}
	limit, hasLimit := argAt(args, 3).(float64)
	if hasLimit && limit < 0 {
		return nil, newError("D3011", withValue(limit), withIndex(4))
	}
	if hasLimit && limit == 0 {
		return s, nil
	}
	replacement := argAt(args, 2)
	var sb strings.Builder
	if p, ok := pattern.(string); ok {
		rep, _ := replacement.(string)
		pos := 0
		for count := 0; !hasLimit || float64(count) < limit; count++ {
			i := strings.Index(s[pos:], p)
			if i < 0 {
				break
			}
			// each replacement is charged a slot more than it adds, which bounds the work of
			// replacing many short matches as well as the memory
			if err := c.ev.allocString(i + len(rep) + slotBytes); err != nil {
				return nil, err
			}
			sb.WriteString(s[pos : pos+i])
			sb.WriteString(rep)
			pos += i + len(p)
		}
		if err := c.ev.allocString(len(s) - pos); err != nil {
			return nil, err
		}
		sb.WriteString(s[pos:])
		return sb.String(), nil
	}
	it := newMatchIter(c, pattern, s)
	pos := 0
	for count := 0; !hasLimit || float64(count) < limit; count++ {
		m, err := it.next()
		if err != nil {
			return nil, err
		}
		if m == nil {
			break
		}
		if m.start < pos {
			m.start = pos
		}
		if err := c.ev.allocString(m.start - pos); err != nil {
			return nil, err
		}
		sb.WriteString(s[pos:m.start])
		var sub string
		if r, ok := replacement.(string); ok {
			// each $ of the replacement expands to at most the match
			if err := c.ev.mem.fits(int64(len(r) + strings.Count(r, "$")*len(m.text))); err != nil {
				return nil, err
			}
			sub = expandReplacement(r, m)
		} else {
			res, err := c.ev.apply(replacement, []any{m.object(s, nil)}, c.input, c.env, applySite{})
			if err != nil {
				return nil, err
			}
			str, ok := res.(string)
			if !ok {
				return nil, newError("D3012", withValue(res))
			}
			sub = str
		}
		if err := c.ev.allocString(len(sub) + slotBytes); err != nil {
			return nil, err
		}
		sb.WriteString(sub)
		pos = min(m.start+len(m.text), len(s))
	}
	if err := c.ev.allocString(len(s) - pos); err != nil {
		return nil, err
	}
	sb.WriteString(s[pos:])
	return sb.String(), nil
}

// expandReplacement substitutes $0, $1... in a replacement string the way the reference does:
// it reads as many digits as the number of groups could need, backing off by one if that
// overshoots, and treats $$ as a literal $.
func expandReplacement(rep string, m *match) string {
	var sb strings.Builder
	pos := 0
	idx := strings.IndexByte(rep, '$')
	for idx >= 0 && pos < len(rep) {
		sb.WriteString(rep[pos:idx])
		pos = idx + 1
		var next byte
		if pos < len(rep) {
			next = rep[pos]
		}
		switch {
		case next == '$':
			sb.WriteByte('$')
			pos++
		case next == '0':
			sb.WriteString(m.text)
			pos++
		default:
			maxDigits := 1
			if len(m.groups) > 0 {
				maxDigits = int(math.Floor(math.Log10(float64(len(m.groups))))) + 1
			}
			n, ok := parseIntPrefix(rep[pos:min(pos+maxDigits, len(rep))])
			if maxDigits > 1 && ok && n > len(m.groups) {
				n, ok = parseIntPrefix(rep[pos:min(pos+maxDigits-1, len(rep))])
			}
			if ok {
				if len(m.groups) > 0 && n >= 1 && n <= len(m.groups) {
					if g, isStr := m.groups[n-1].(string); isStr {
						sb.WriteString(g)
					}
				}
				pos += len(strconv.Itoa(n))
			} else {
				sb.WriteByte('$')
			}
		}
		idx = strings.IndexByte(rep[pos:], '$')
		if idx >= 0 {
			idx += pos
		}
	}
	if pos < len(rep) {
		sb.WriteString(rep[pos:])
	}
	return sb.String()
}

// parseIntPrefix is JavaScript's parseInt(s, 10): optional sign, then leading digits.
func parseIntPrefix(s string) (int, bool) {
	s = strings.TrimLeft(s, " \t\n\r")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n, digits := 0, 0
	for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
		n = n*10 + int(s[digits]-'0')
		digits++
	}
	if digits == 0 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func fnSplit(c call, args []any) (any, error) {
	s, ok := argAt(args, 0).(string)
	if !ok {
		return nil, nil
	}
	limit, hasLimit := argAt(args, 2).(float64)
	if hasLimit && limit < 0 {
		return nil, newError("D3020", withValue(limit), withIndex(3))
	}
	result := &array{}
	if hasLimit && limit == 0 {
		return result, nil
	}
	if sep, ok := argAt(args, 1).(string); ok {
		var parts []string
		if sep == "" {
			if err := c.ev.allocSlots(2 * runeCount(s)); err != nil {
				return nil, err
			}
			parts = runes(s)
		} else {
			// the parts, and the items of the result
			if err := c.ev.allocSlots(2 * (strings.Count(s, sep) + 1)); err != nil {
				return nil, err
			}
			parts = strings.Split(s, sep)
		}
		if hasLimit && float64(len(parts)) > limit {
			parts = parts[:int(limit)]
		}
		for _, p := range parts {
			result.items = append(result.items, p)
		}
		return result, nil
	}
	it := newMatchIter(c, argAt(args, 1), s)
	start, count := 0, 0
	for ; !hasLimit || float64(count) < limit; count++ {
		m, err := it.next()
		if err != nil {
			return nil, err
		}
		if m == nil {
			break
		}
		if err := c.ev.allocSlots(1); err != nil {
			return nil, err
		}
		result.items = append(result.items, s[min(start, m.start):m.start])
		start = m.end
	}
	if !hasLimit || float64(count) < limit {
		result.items = append(result.items, s[min(start, len(s)):])
	}
	return result, nil
}

func fnJoin(c call, args []any) (any, error) {
	a := argAt(args, 0)
	if a == nil {
		return nil, nil
	}
	sep, _ := argAt(args, 1).(string)
	xs := items(a)
	size := 0
	for _, v := range xs {
		size += len(v.(string))
	}
	if len(xs) > 1 {
		size += (len(xs) - 1) * len(sep)
	}
	if err := c.ev.allocString(size); err != nil {
		return nil, err
	}
	var sb strings.Builder
	sb.Grow(size)
	for i, v := range xs {
		if i > 0 {
			sb.WriteString(sep)
		}
		sb.WriteString(v.(string))
	}
	return sb.String(), nil
}

func fnNumber(c call, args []any) (any, error) {
	switch v := argAt(args, 0).(type) {
	case nil:
		return nil, nil
	case float64:
		return v, nil
	case bool:
		if v {
			return 1.0, nil
		}
		return 0.0, nil
	case string:
		if f, ok := parseNumber(v); ok {
			return f, nil
		}
		return nil, newError("D3030", withValue(v), withIndex(1))
	default:
		return nil, newError("D3030", withValue(v), withIndex(1))
	}
}

// parseNumber accepts the strings $number converts: decimal numbers (leading zeros allowed)
// and 0x, 0o, 0b integers.
func parseNumber(s string) (float64, bool) {
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			n, err := strconv.ParseUint(s[2:], base, 64)
			if err != nil {
				return 0, false
			}
			return float64(n), true
		}
	}
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if digits() == 0 {
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func fnSqrt(c call, args []any) (any, error) {
	x, ok := argAt(args, 0).(float64)
	if !ok {
		return nil, nil
	}
	if x < 0 {
		return nil, newError("D3060", withValue(x), withIndex(1))
	}
	return math.Sqrt(x), nil
}

func fnPower(c call, args []any) (any, error) {
	x, ok := argAt(args, 0).(float64)
	if !ok {
		return nil, nil
	}
	y, _ := argAt(args, 1).(float64)
	r := math.Pow(x, y)
	if math.IsNaN(r) || math.IsInf(r, 0) {
		e := newError("D3061", withValue(x), withIndex(1))
		e.exp = y
		return nil, e
	}
	return r, nil
}

func fnBoolean(c call, args []any) (any, error) {
	v := argAt(args, 0)
	if v == nil {
		return nil, nil
	}
	return toBoolean(v)
}

func fnNot(c call, args []any) (any, error) {
	v := argAt(args, 0)
	if v == nil {
		return nil, nil
	}
	b, err := toBoolean(v)
	return !b, err
}

// hofArgs passes a function the value, then the index or key, then the whole collection, as
// far as its arity allows.
func hofArgs(f any, v, key, whole any) []any {
	n := arity(f)
	args := []any{v}
	if n >= 2 {
		args = append(args, key)
	}
	if n >= 3 {
		args = append(args, whole)
	}
	return args
}

func fnMap(c call, args []any) (any, error) {
	a := argAt(args, 0)
	if a == nil {
		return nil, nil
	}
	f := argAt(args, 1)
	result := &array{seq: true}
	xs := items(a)
	for i, v := range xs {
		r, err := c.ev.apply(f, hofArgs(f, v, float64(i), a), c.input, c.env, applySite{})
		if err != nil {
			return nil, err
		}
		if r != nil {
			if err := c.ev.allocSlots(1); err != nil {
				return nil, err
			}
			result.items = append(result.items, r)
		}
	}
	return result, nil
}

func fnFilter(c call, args []any) (any, error) {
	a := argAt(args, 0)
	if a == nil {
		return nil, nil
	}
	f := argAt(args, 1)
	result := &array{seq: true}
	for i, v := range items(a) {
		r, err := c.ev.apply(f, hofArgs(f, v, float64(i), a), c.input, c.env, applySite{})
		if err != nil {
			return nil, err
		}
		b, err := toBoolean(r)
		if err != nil {
			return nil, err
		}
		if b {
			if err := c.ev.allocSlots(1); err != nil {
				return nil, err
			}
			result.items = append(result.items, v)
		}
	}
	return result, nil
}

func fnSingle(c call, args []any) (any, error) {
	a := argAt(args, 0)
	if a == nil {
		return nil, nil
	}
	f := argAt(args, 1)
	var result any
	found := false
	for i, v := range items(a) {
		ok := true
		if f != nil {
			r, err := c.ev.apply(f, hofArgs(f, v, float64(i), a), c.input, c.env, applySite{})
			if err != nil {
				return nil, err
			}
			if ok, err = toBoolean(r); err != nil {
				return nil, err
			}
		}
		if ok {
			if found {
				return nil, newError("D3138", withIndex(i))
			}
			result, found = v, true
		}
	}
	if !found {
		return nil, newError("D3139")
	}
	return result, nil
}

func fnZip(c call, args []any) (any, error) {
	n := math.MaxInt
	for _, a := range args {
		arr, ok := a.(*array)
		if !ok {
			n = 0
			break
		}
		n = min(n, len(arr.items))
	}
	if len(args) == 0 {
		n = 0
	}
	if err := c.ev.allocSlots(n * (len(args) + 1)); err != nil {
		return nil, err
	}
	result := &array{items: make([]any, 0, n)}
	for i := 0; i < n; i++ {
		t := &array{items: make([]any, len(args))}
		for j, a := range args {
			t.items[j] = a.(*array).items[i]
		}
		result.items = append(result.items, t)
	}
	return result, nil
}

func fnReduce(c call, args []any) (any, error) {
	a := argAt(args, 0)
	if a == nil {
		return nil, nil
	}
	f := argAt(args, 1)
	n := arity(f)
	if n < 2 {
		return nil, newError("D3050", withIndex(1))
	}
	xs := items(a)
	var acc any
	i := 0
	if init := argAt(args, 2); init == nil && len(xs) > 0 {
		acc = xs[0]
		i = 1
	} else {
		acc = init
	}
	for ; i < len(xs); i++ {
		fargs := []any{acc, xs[i]}
		if n >= 3 {
			fargs = append(fargs, float64(i))
		}
		if n >= 4 {
			fargs = append(fargs, a)
		}
		var err error
		if acc, err = c.ev.apply(f, fargs, c.input, c.env, applySite{}); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

func fnSift(c call, args []any) (any, error) {
	o, ok := argAt(args, 0).(*jsonv.Object)
	if !ok {
		return nil, nil
	}
	f := argAt(args, 1)
	result := jsonv.NewObject(0)
	for _, m := range o.Members() {
		v, err := c.ev.norm(m.Value)
		if err != nil {
			return nil, err
		}
		r, err := c.ev.apply(f, hofArgs(f, v, m.Key, o), c.input, c.env, applySite{})
		if err != nil {
			return nil, err
		}
		b, err := toBoolean(r)
		if err != nil {
			return nil, err
		}
		if b {
			if err := c.ev.alloc(memberBytes); err != nil {
				return nil, err
			}
			result.Set(m.Key, v)
		}
	}
	if result.Len() == 0 {
		return nil, nil
	}
	return result, nil
}

func fnKeys(c call, args []any) (any, error) {
	result := &array{seq: true}
	switch v := argAt(args, 0).(type) {
	case *array:
		seen := map[string]bool{}
		for _, item := range v.items {
			if o, ok := item.(*jsonv.Object); ok {
				for _, m := range o.Members() {
					if !seen[m.Key] {
						seen[m.Key] = true
						result.items = append(result.items, m.Key)
					}
				}
			}
		}
	case *jsonv.Object:
		for _, m := range v.Members() {
			result.items = append(result.items, m.Key)
		}
	}
	// at most as many keys as the objects, already charged, have members
	if err := c.ev.allocSlots(len(result.items)); err != nil {
		return nil, err
	}
	return result, nil
}

func fnLookup(c call, args []any) (any, error) {
	key, _ := argAt(args, 1).(string)
	return c.ev.lookupField(argAt(args, 0), key)
}

// spread is the reference's $spread. Where the reference appends each item's result to a
// copy of the result so far, this appends in place, which gives the same array in linear time.
func (ev *evaluator) spread(v any) (any, error) {
	switch x := v.(type) {
	case *array:
		// each array visited is a step (see lookupField)
		if err := ev.tick(); err != nil {
			return nil, err
		}
		var out []any
		appended := false
		for _, item := range x.items {
			r, err := ev.spread(item)
			if err != nil {
				return nil, err
			}
			if r == nil {
				continue
			}
			appended = true
			if a, ok := r.(*array); ok {
				if err := ev.allocSlots(len(a.items)); err != nil {
					return nil, err
				}
				out = append(out, a.items...)
			} else {
				if err := ev.allocSlots(1); err != nil {
					return nil, err
				}
				out = append(out, r)
			}
		}
		if !appended {
			return &array{seq: true}, nil
		}
		return &array{items: out}, nil
	case *jsonv.Object:
		if err := ev.alloc(int64(x.Len()) * (memberBytes + slotBytes)); err != nil {
			return nil, err
		}
		result := &array{seq: true}
		for _, m := range x.Members() {
			o := jsonv.NewObject(1)
			o.Set(m.Key, m.Value)
			result.items = append(result.items, o)
		}
		return result, nil
	}
	return v, nil
}

func fnMerge(c call, args []any) (any, error) {
	a := argAt(args, 0)
	if a == nil {
		return nil, nil
	}
	result := jsonv.NewObject(0)
	for _, item := range items(a) {
		if o, ok := item.(*jsonv.Object); ok {
			if err := c.ev.alloc(int64(o.Len()) * memberBytes); err != nil {
				return nil, err
			}
			for _, m := range o.Members() {
				result.Set(m.Key, m.Value)
			}
		}
	}
	return result, nil
}

func fnReverse(c call, args []any) (any, error) {
	a, ok := argAt(args, 0).(*array)
	if !ok {
		return nil, nil
	}
	if len(a.items) <= 1 {
		return a, nil
	}
	if err := c.ev.allocSlots(len(a.items)); err != nil {
		return nil, err
	}
	out := make([]any, len(a.items))
	for i, v := range a.items {
		out[len(out)-1-i] = v
	}
	return &array{items: out}, nil
}

func fnEach(c call, args []any) (any, error) {
	o, ok := argAt(args, 0).(*jsonv.Object)
	result := &array{seq: true}
	if !ok {
		return result, nil
	}
	f := argAt(args, 1)
	for _, m := range o.Members() {
		v, err := c.ev.norm(m.Value)
		if err != nil {
			return nil, err
		}
		r, err := c.ev.apply(f, hofArgs(f, v, m.Key, o), c.input, c.env, applySite{})
		if err != nil {
			return nil, err
		}
		if r != nil {
			if err := c.ev.allocSlots(1); err != nil {
				return nil, err
			}
			result.items = append(result.items, r)
		}
	}
	return result, nil
}

func fnError(c call, args []any) (any, error) {
	msg, _ := argAt(args, 0).(string)
	if msg == "" {
		msg = "$error() function evaluated"
	}
	return nil, newError("D3137", withMessage(msg))
}

func fnAssert(c call, args []any) (any, error) {
	if b, _ := argAt(args, 0).(bool); b {
		return nil, nil
	}
	msg, _ := argAt(args, 1).(string)
	if msg == "" {
		msg = "$assert() statement failed"
	}
	return nil, newError("D3141", withMessage(msg))
}

func fnType(c call, args []any) (any, error) {
	switch v := argAt(args, 0).(type) {
	case nil:
		return nil, nil
	case nullType:
		return "null", nil
	case float64:
		if _, ok, err := isNumber(v); err != nil || ok {
			return "number", err
		}
		return "object", nil
	case string:
		return "string", nil
	case bool:
		return "boolean", nil
	case *array:
		return "array", nil
	case *lambda, *builtin:
		return "function", nil
	}
	return "object", nil
}

func fnSort(c call, args []any) (any, error) {
	a := argAt(args, 0)
	if a == nil {
		return nil, nil
	}
	arr, ok := a.(*array)
	if !ok || len(arr.items) <= 1 {
		return a, nil
	}
	f := argAt(args, 1)
	var swap func(x, y any) (bool, error)
	if f == nil {
		nums, err := isArrayOfNumbers(arr)
		if err != nil {
			return nil, err
		}
		switch {
		case nums:
			swap = func(x, y any) (bool, error) { return x.(float64) > y.(float64), nil }
		case isArrayOfStrings(arr):
			swap = func(x, y any) (bool, error) { return compareStrings(x.(string), y.(string)) > 0, nil }
		default:
			return nil, newError("D3070", withIndex(1))
		}
	} else {
		swap = func(x, y any) (bool, error) {
			r, err := c.ev.apply(f, []any{x, y}, c.input, c.env, applySite{})
			return jsTruthy(r), err
		}
	}
	if err := c.ev.allocSlots(len(arr.items)); err != nil {
		return nil, err
	}
	sorted, err := mergeSort(arr.items, swap)
	if err != nil {
		return nil, err
	}
	return &array{items: sorted}, nil
}

func fnShuffle(c call, args []any) (any, error) {
	a, ok := argAt(args, 0).(*array)
	if !ok {
		return nil, nil
	}
	if len(a.items) <= 1 {
		return a, nil
	}
	if err := c.ev.allocSlots(len(a.items)); err != nil {
		return nil, err
	}
	out := make([]any, len(a.items))
	for i, v := range a.items {
		j := int(math.Floor(c.ev.random() * float64(i+1)))
		if i != j {
			out[i] = out[j]
		}
		out[j] = v
	}
	return &array{items: out}, nil
}

func fnDistinct(c call, args []any) (any, error) {
	v := argAt(args, 0)
	a, ok := v.(*array)
	if !ok || len(a.items) <= 1 {
		return v, nil
	}
	result := &array{seq: a.seq}
	for _, item := range a.items {
		// this loop is quadratic, so it must honour the time limit itself
		if err := c.ev.tick(); err != nil {
			return nil, err
		}
		dup := false
		for _, r := range result.items {
			eq, err := c.ev.deepEqual(item, r)
			if err != nil {
				return nil, err
			}
			if eq {
				dup = true
				break
			}
		}
		if !dup {
			if err := c.ev.allocSlots(1); err != nil {
				return nil, err
			}
			result.items = append(result.items, item)
		}
	}
	return result, nil
}

// fnBase64Encode encodes the string's UTF-16 code units as bytes, keeping the low byte of each,
// as Node's Buffer.from(str, 'binary') does.
func fnBase64Encode(c call, args []any) (any, error) {
	s, ok := argAt(args, 0).(string)
	if !ok {
		return nil, nil
	}
	// the runes, their UTF-16 units, the bytes and the encoded text
	if err := c.ev.allocString(len(s) * 12); err != nil {
		return nil, err
	}
	units := utf16.Encode([]rune(s))
	b := make([]byte, len(units))
	for i, u := range units {
		b[i] = byte(u)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// fnBase64Decode decodes to one character per byte (Latin-1), as Node's
// Buffer.toString('binary') does, and is as lenient as Node about padding and stray characters.
func fnBase64Decode(c call, args []any) (any, error) {
	s, ok := argAt(args, 0).(string)
	if !ok {
		return nil, nil
	}
	// the cleaned text, the bytes, the runes and the decoded text
	if err := c.ev.allocString(len(s) * 8); err != nil {
		return nil, err
	}
	var clean []byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= 'A' && ch <= 'Z', ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9', ch == '+', ch == '/':
			clean = append(clean, ch)
		case ch == '-':
			clean = append(clean, '+')
		case ch == '_':
			clean = append(clean, '/')
		case ch == '=':
			i = len(s)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	b, err := base64.RawStdEncoding.DecodeString(string(clean))
	if err != nil {
		return "", nil
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r), nil
}

func urlEncoder(name, unreserved string) func(c call, args []any) (any, error) {
	const hex = "0123456789ABCDEF"
	return func(c call, args []any) (any, error) {
		s, ok := argAt(args, 0).(string)
		if !ok {
			return nil, nil
		}
		if !utf8.ValidString(s) {
			e := newError("D3140", withValue(s))
			e.funcName = name
			return nil, e
		}
		// an escaped byte takes three characters
		if err := c.ev.allocString(len(s) * 3); err != nil {
			return nil, err
		}
		var sb strings.Builder
		for i := 0; i < len(s); i++ {
			ch := s[i]
			if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
				strings.IndexByte(unreserved, ch) >= 0 && ch < 0x80 {
				sb.WriteByte(ch)
				continue
			}
			sb.WriteByte('%')
			sb.WriteByte(hex[ch>>4])
			sb.WriteByte(hex[ch&0xF])
		}
		return sb.String(), nil
	}
}

func urlDecoder(name, reserved string) func(c call, args []any) (any, error) {
	return func(c call, args []any) (any, error) {
		s, ok := argAt(args, 0).(string)
		if !ok {
			return nil, nil
		}
		fail := func() (any, error) {
			e := newError("D3140", withValue(s))
			e.funcName = name
			return nil, e
		}
		if err := c.ev.allocString(len(s)); err != nil {
			return nil, err
		}
		var out []byte
		for i := 0; i < len(s); i++ {
			if s[i] != '%' {
				out = append(out, s[i])
				continue
			}
			// one escaped character: a lead byte and its continuation bytes
			b, ok := hexByte(s, i+1)
			if !ok {
				return fail()
			}
			n := 1
			switch {
			case b < 0x80:
			case b&0xE0 == 0xC0:
				n = 2
			case b&0xF0 == 0xE0:
				n = 3
			case b&0xF8 == 0xF0:
				n = 4
			default:
				return fail()
			}
			seq := []byte{b}
			j := i + 3
			for k := 1; k < n; k++ {
				if j >= len(s) || s[j] != '%' {
					return fail()
				}
				cb, ok := hexByte(s, j+1)
				if !ok || cb&0xC0 != 0x80 {
					return fail()
				}
				seq = append(seq, cb)
				j += 3
			}
			if !utf8.Valid(seq) {
				return fail()
			}
			if n == 1 && strings.IndexByte(reserved, b) >= 0 {
				out = append(out, s[i:i+3]...)
			} else {
				out = append(out, seq...)
			}
			i = j - 1
		}
		return string(out), nil
	}
}

func hexByte(s string, i int) (byte, bool) {
	if i+2 > len(s) || !isHexN(s[i:], 2) {
		return 0, false
	}
	v, _ := strconv.ParseUint(s[i:i+2], 16, 8)
	return byte(v), true
}

// cloneValue deep-copies a value as JSON.parse(JSON.stringify(v)) would, which is how the
// reference's $clone (and so the transform operator) copies.
func cloneValue(v any, depth int, b *budget) (any, error) {
	if depth > jsonv.MaxDepth {
		return nil, errTooDeep
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case float64:
		if _, _, err := isNumber(x); err != nil {
			return nil, err
		}
		if math.IsNaN(x) {
			return null, nil
		}
		return toPrecision15(x), nil
	case *lambda, *builtin:
		return "", nil
	case *array:
		if err := b.alloc(int64(len(x.items)) * (slotBytes + numberBytes)); err != nil {
			return nil, err
		}
		out := make([]any, len(x.items))
		for i, e := range x.items {
			c, err := cloneValue(e, depth+1, b)
			if err != nil {
				return nil, err
			}
			if c == nil {
				c = null
			}
			out[i] = c
		}
		return &array{items: out}, nil
	case *jsonv.Object:
		if err := b.alloc(int64(x.Len()) * memberBytes); err != nil {
			return nil, err
		}
		o := jsonv.NewObject(x.Len())
		for _, m := range x.Members() {
			c, err := cloneValue(norm(m.Value), depth+1, b)
			if err != nil {
				return nil, err
			}
			o.Set(m.Key, c)
		}
		return o, nil
	}
	return v, nil
}
