package jsonata

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

// Internal values. Evaluation works on plain Go values so that arithmetic does not re-parse
// number text and so that JSONata's notion of "undefined" (Go nil) is distinct from JSON null:
//
//	nil            undefined (no value)
//	nullValue      JSON null
//	bool, float64, string
//	*array         arrays and sequences
//	*jsonv.Object  objects; members may hold raw jsonv values or internal values, so every
//	               read goes through norm
//	*lambda, *builtin  functions
//
// Input documents are not converted up front: raw jsonv values are normalised lazily, when a
// lookup or an iteration reaches them, so that an expression touching one field of a large
// document does not pay for the whole document.

type nullType struct{}

var null = nullType{}

// array is a JSON array or a JSONata sequence. The flags mirror the properties the reference
// implementation attaches to its JavaScript arrays, because the flattening rules depend on them.
type array struct {
	items []any
	// seq marks a sequence: a result of path navigation, which collapses to its single item
	// and is flattened into enclosing sequences.
	seq bool
	// keepSingleton stops a one-item sequence from collapsing (the [] path suffix).
	keepSingleton bool
	// cons marks an array built by an array constructor inside a path; it is not flattened.
	cons bool
	// outerWrapper marks the sequence that wraps an array input document, so that $ still
	// means the whole array.
	outerWrapper bool
}

func newSeq(items ...any) *array { return &array{items: items, seq: true} }

// smallInts holds boxed float64 values for 0..255, which most counts, indexes and quantities
// are, so that producing one does not allocate.
var smallInts = func() (t [256]any) {
	for i := range t {
		t[i] = float64(i)
	}
	return t
}()

// box converts a number to an interface value, without allocating for small integers.
func box(f float64) any {
	if f >= 0 && f < 256 && f == math.Trunc(f) && !(f == 0 && math.Signbit(f)) {
		return smallInts[int(f)]
	}
	return f
}

// norm turns a raw jsonv value reached inside an input document into its internal form.
func norm(v any) any {
	switch x := v.(type) {
	case nil:
		return null
	case jsonv.Number:
		return box(x.Float64())
	case []any:
		items := make([]any, len(x))
		for i, e := range x {
			items[i] = norm(e)
		}
		return &array{items: items}
	}
	return v
}

// fromJSON is norm for values handed in by callers (input, bindings, native results).
func fromJSON(v jsonv.Value) any { return norm(v) }

// isNumber reports whether v is a usable number. Like the reference's isNumeric, it fails with
// D1001 on ±Inf, which arithmetic can produce but JSON cannot carry.
func isNumber(v any) (float64, bool, error) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) {
		return 0, false, nil
	}
	if math.IsInf(f, 0) {
		return 0, false, newError("D1001", withValue(f))
	}
	return f, true, nil
}

func isFunction(v any) bool {
	switch v.(type) {
	case *lambda, *builtin:
		return true
	}
	return false
}

func isArrayOfStrings(v any) bool {
	a, ok := v.(*array)
	if !ok {
		return false
	}
	for _, e := range a.items {
		if _, ok := e.(string); !ok {
			return false
		}
	}
	return true
}

func isArrayOfNumbers(v any) (bool, error) {
	a, ok := v.(*array)
	if !ok {
		return false, nil
	}
	for _, e := range a.items {
		if _, ok, err := isNumber(e); err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// appendValues is the reference's fn.append: undefined operands vanish, anything else is
// concatenated into a new (non-sequence) array.
func appendValues(a, b any) any {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	aa, aIsArr := a.(*array)
	ba, bIsArr := b.(*array)
	if aIsArr && len(aa.items) == 0 && bIsArr {
		// Share b's items rather than copying them (large ranges): the capacity is capped so
		// that a later append to either array cannot write into the other.
		return &array{items: ba.items[:len(ba.items):len(ba.items)]}
	}
	n := 1
	if aIsArr {
		n = len(aa.items)
	}
	if bIsArr {
		n += len(ba.items)
	} else {
		n++
	}
	items := make([]any, 0, n)
	if aIsArr {
		items = append(items, aa.items...)
	} else {
		items = append(items, a)
	}
	if bIsArr {
		items = append(items, ba.items...)
	} else {
		items = append(items, b)
	}
	return &array{items: items}
}

// deepEqual is the reference's isDeepEqual: arrays by position, objects by key set. Each item
// or member compared is an evaluation step: values built by an expression can hold one
// another many times over, which makes comparing them exponential in the steps that built them.
func (ev *evaluator) deepEqual(a, b any) (bool, error) {
	var err error
	eq := deepEqualDepth(a, b, 0, func() bool {
		err = ev.tick()
		return err == nil
	})
	return eq && err == nil, err
}

func deepEqualDepth(a, b any, depth int, step func() bool) bool {
	if depth > jsonv.MaxDepth || !step() {
		return false
	}
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nullType:
		return b == null
	case *array:
		y, ok := b.(*array)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		if len(x.items) != len(y.items) {
			return false
		}
		for i := range x.items {
			if !deepEqualDepth(x.items[i], y.items[i], depth+1, step) {
				return false
			}
		}
		return true
	case *jsonv.Object:
		y, ok := b.(*jsonv.Object)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		if x.Len() != y.Len() {
			return false
		}
		for _, m := range x.Members() {
			v, ok := y.Get(m.Key)
			if !ok || !deepEqualDepth(norm(m.Value), norm(v), depth+1, step) {
				return false
			}
		}
		return true
	case nil:
		return b == nil
	}
	return a == b
}

// typeSymbol is the one-letter type code used by function signatures.
func typeSymbol(v any) byte {
	switch v.(type) {
	case nil:
		return 'm'
	case nullType:
		return 'l'
	case bool:
		return 'b'
	case float64:
		return 'n'
	case string:
		return 's'
	case *array:
		return 'a'
	case *jsonv.Object:
		return 'o'
	case *lambda, *builtin:
		return 'f'
	}
	return 'm'
}

// toBoolean is the reference's $boolean cast; ok is false for undefined.
func toBoolean(v any) (bool, error) {
	switch x := v.(type) {
	case nil:
		return false, nil
	case *array:
		if len(x.items) == 1 {
			return toBoolean(x.items[0])
		}
		for _, e := range x.items {
			b, err := toBoolean(e)
			if err != nil {
				return false, err
			}
			if b {
				return true, nil
			}
		}
		return false, nil
	case string:
		return x != "", nil
	case float64:
		f, ok, err := isNumber(x)
		if err != nil {
			return false, err
		}
		return ok && f != 0, nil
	case *jsonv.Object:
		return x.Len() > 0, nil
	case bool:
		return x, nil
	}
	return false, nil
}

// formatNumber writes f as JavaScript's Number.prototype.toString does.
func formatNumber(f float64) string {
	switch {
	case f == 0:
		return "0"
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == math.Trunc(f) && math.Abs(f) < 1e21:
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	var buf [32]byte
	var out [48]byte
	b := out[:0]
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	// Shortest round-tripping digits, then the ECMA-262 Number::toString layout.
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	ei := 0
	for ei < len(e) && e[ei] != 'e' {
		ei++
	}
	mant := e[:ei]
	exp, _ := strconv.Atoi(string(e[ei+1:]))
	var digitBuf [24]byte
	digits := append(digitBuf[:0], mant[0])
	if len(mant) > 2 {
		digits = append(digits, mant[2:]...)
	}
	k := len(digits)
	n := exp + 1
	switch {
	case k <= n && n <= 21:
		b = append(b, digits...)
		for i := k; i < n; i++ {
			b = append(b, '0')
		}
	case 0 < n && n <= 21:
		b = append(b, digits[:n]...)
		b = append(b, '.')
		b = append(b, digits[n:]...)
	case -6 < n && n <= 0:
		b = append(b, "0."...)
		for i := 0; i < -n; i++ {
			b = append(b, '0')
		}
		b = append(b, digits...)
	default:
		b = append(b, digits[0])
		if k > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if n-1 >= 0 {
			b = append(b, '+')
		}
		b = strconv.AppendInt(b, int64(n-1), 10)
	}
	return string(b)
}

// toPrecision15 mimics Number(x.toPrecision(15)), which $string applies to hide binary noise.
func toPrecision15(f float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(f, 'e', 14, 64), 64)
	if err != nil {
		return f
	}
	return r
}

// toJSONBudget converts an internal value to a jsonv value for callers, as JSON.stringify
// would serialise it: function values are dropped (null inside arrays) and NaN and ±Infinity
// become null. Raw subtrees are returned without copying. What it builds, and the members of
// the objects it hands out as they are, are charged to b (nil: no limit).
func toJSONBudget(v any, b *budget) (jsonv.Value, bool, error) { return toJSONDepth(v, 0, b) }

// errTooDeep reports a value nested deeper than JSON documents may be; such values can only be
// built by deep recursion, and converting them recursively could exhaust the stack.
var errTooDeep = fmt.Errorf("jsonata: value nested more than %d levels deep", jsonv.MaxDepth)

func toJSONDepth(v any, depth int, b *budget) (jsonv.Value, bool, error) {
	if depth > jsonv.MaxDepth {
		return nil, false, errTooDeep
	}
	switch x := v.(type) {
	case nil:
		return nil, false, nil
	case nullType:
		return nil, true, nil
	case bool:
		return x, true, nil
	case string:
		// lone surrogates kept from \u escapes have no UTF-8 form
		return strings.ToValidUTF8(x, "\uFFFD"), true, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			// no JSON form; JSON.stringify writes null, as the reference's callers see it
			return nil, true, nil
		}
		return jsonv.Number(formatNumber(x)), true, nil
	case jsonv.Number:
		return x, true, nil
	case []any:
		return x, true, nil
	case *array:
		// each item takes a slot, and most a boxed value besides
		if err := b.alloc(int64(len(x.items)) * 2 * slotBytes); err != nil {
			return nil, false, err
		}
		out := make([]jsonv.Value, len(x.items))
		for i, e := range x.items {
			j, ok, err := toJSONDepth(e, depth+1, b)
			if err != nil {
				return nil, false, err
			}
			if ok {
				out[i] = j
			}
		}
		return out, true, nil
	case *jsonv.Object:
		o, err := objectToJSON(x, depth, b)
		return o, err == nil, err
	}
	return nil, false, nil
}

// objectToJSON copies an object only when one of its members is not already a jsonv value.
func objectToJSON(o *jsonv.Object, depth int, b *budget) (*jsonv.Object, error) {
	members := o.Members()
	for i, m := range members {
		raw, err := isRawJSON(m.Value, depth+1, b)
		if err != nil {
			return nil, err
		}
		if raw {
			continue
		}
		if err := b.alloc(int64(len(members)) * memberBytes); err != nil {
			return nil, err
		}
		out := jsonv.NewObject(len(members))
		for _, p := range members[:i] {
			out.Set(p.Key, p.Value)
		}
		for _, p := range members[i:] {
			j, ok, err := toJSONDepth(p.Value, depth+1, b)
			if err != nil {
				return nil, err
			}
			if ok {
				out.Set(p.Key, j)
			}
		}
		return out, nil
	}
	return o, nil
}

// isRawJSON reports whether v is already a jsonv value all the way down, so that it can be
// handed out as it is. Every member it visits is charged to b as if it were copied: an object
// built by an expression can hold another many times over, and the caller will write each copy.
func isRawJSON(v any, depth int, b *budget) (bool, error) {
	if depth > jsonv.MaxDepth {
		return false, nil
	}
	switch x := v.(type) {
	case nil, bool, string, jsonv.Number, []any:
		return true, nil
	case *jsonv.Object:
		if err := b.alloc(int64(x.Len()) * memberBytes); err != nil {
			return false, err
		}
		for _, m := range x.Members() {
			if raw, err := isRawJSON(m.Value, depth+1, b); err != nil || !raw {
				return false, err
			}
		}
		return true, nil
	}
	return false, nil
}
