package jsonata

import (
	"strconv"
	"unicode/utf8"

	"github.com/stepline/stepline/internal/jsonv"
)

// Memory accounting.
//
// The step budget bounds how many things an evaluation does, not how big they are: one step can
// build a range of millions of numbers, double a string or flatten a sequence that repeats a
// large array a million times. So an evaluation also has a memory budget (EvalOptions.MaxMemory,
// DefaultMaxMemory unless set), charged as values are created:
//
//   - a sequence or array: slotBytes per item it holds, charged as items are added (a range
//     charges its whole size, and a boxed number per item, before it is allocated);
//   - a string: its length in bytes, charged before it is built wherever its length can be
//     known first (&, $pad, $join, $replace, $string, pictures...), else once built;
//   - an object: memberBytes per member;
//   - a function value: lambdaBytes, for the closure and the scope it keeps alive;
//   - an array of the input: its items, the first time the evaluation reads it (it is
//     converted once, see evaluator.norm), and what a caller's function returns;
//   - the result: converting it for the caller is charged as building it, since a sequence
//     that holds one array a million times is cheap to hold and dear to write out.
//
// Walking such shared values (comparing them, looking fields up through nested arrays,
// checking a transform's update) asks for no memory; each value visited is an evaluation step
// instead, so the step budget bounds it.
//
// The charge is cumulative: nothing is ever credited back when a value becomes garbage, so the
// total is an upper bound on what the evaluation holds at any moment (for the values it counts)
// rather than a live set. That keeps it deterministic, like the step budget: an expression has
// the same outcome on a busy machine as on an idle one, in a test as in a replayed history.
// The price is that an expression which rebuilds a large value over and over, such as a string
// concatenated one character at a time in $reduce, is charged for every copy; such loops copy
// quadratically many bytes and are better written with $join.
//
// What is not charged: scopes and argument lists of function calls (bounded by the step
// budget, since each is created by a step, and garbage once the call returns unless a function
// value keeps them, which is charged), regular-expression matching state, and small fixed-size
// results (numbers, booleans, dates formatted from a picture of bounded length).

const (
	// DefaultMaxMemory is the memory budget of one evaluation when EvalOptions leaves it unset:
	// 128 MiB. Step Functions payloads are at most 256 KiB, so this leaves an expression room for
	// intermediate values hundreds of times its input, while a server running one hostile
	// expression stays well under half a gigabyte (the Go heap grows to about twice what is
	// live before it collects).
	DefaultMaxMemory = 128 << 20

	// slotBytes is the charge for one item of a sequence or array: an interface value.
	slotBytes = 16
	// numberBytes is the charge for a number boxed into an interface value.
	numberBytes = 8
	// memberBytes is the charge for one member of an object: the key and value and their share
	// of the object's index.
	memberBytes = 64
	// lambdaBytes is the charge for a function value: the closure and the scope it keeps.
	lambdaBytes = 256
	// tupleBytes is the charge for one tuple of a path with variable bindings (@, #, %).
	tupleBytes = 64
)

// budget counts the bytes an evaluation has been charged. A zero max means no limit (used when
// converting values outside an evaluation).
type budget struct {
	used int64
	max  int64 // <= 0: no limit
	// crossing is the charge that took used past max, and later counts the charges made
	// after it, which evaluation must not make: tests check both (see FuzzCompileEval).
	crossing int64
	later    int
}

// alloc charges n bytes, failing once the total exceeds the budget. Callers charge before they
// allocate wherever the size is known in advance, so that the budget is never exceeded by more
// than one allocation's worth of counted memory, and most often not at all.
func (b *budget) alloc(n int64) error {
	if b == nil {
		return nil
	}
	b.used += n
	if b.max > 0 && b.used > b.max {
		if b.crossing == 0 {
			b.crossing = n
		} else {
			b.later++
		}
		return b.exceeded()
	}
	return nil
}

// fits fails if charging n more bytes would exceed the budget, without charging them: for
// results whose exact size is known only once built but whose upper bound is known before.
func (b *budget) fits(n int64) error {
	if b == nil || b.max <= 0 || b.used+n <= b.max {
		return nil
	}
	return b.exceeded()
}

func (b *budget) exceeded() error {
	return newError("U1001", withMessage("Expression evaluation memory limit exceeded: Check for values growing without bound (the limit is "+formatBytes(b.max)+")"))
}

// rangeTooLarge is the error of a range the budget cannot hold, reported before it is built.
func (b *budget) rangeTooLarge(size float64) error {
	return newError("U1001", withMessage("Expression evaluation memory limit exceeded: The range operator (..) would allocate "+
		formatNumber(size)+" items, more than the limit of "+formatBytes(b.max)+" allows"))
}

// formatBytes writes a byte count the way limits are usually given: 128 MiB.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// alloc charges the evaluation's budget.
func (ev *evaluator) alloc(n int64) error { return ev.mem.alloc(n) }

// allocSlots charges n items of a sequence.
func (ev *evaluator) allocSlots(n int) error { return ev.mem.alloc(int64(n) * slotBytes) }

// allocString charges a string of n bytes.
func (ev *evaluator) allocString(n int) error { return ev.mem.alloc(int64(n)) }

// jsonSize is what the budget charges for a jsonv value built outside the evaluator.
func jsonSize(v jsonv.Value, depth int) int64 {
	if depth > jsonv.MaxDepth {
		return 0
	}
	switch x := v.(type) {
	case string:
		return int64(len(x))
	case jsonv.Number:
		return int64(len(x)) + numberBytes
	case []any:
		n := int64(len(x)) * slotBytes
		for _, e := range x {
			n += jsonSize(e, depth+1)
		}
		return n
	case *jsonv.Object:
		n := int64(x.Len()) * memberBytes
		for _, m := range x.Members() {
			n += int64(len(m.Key)) + jsonSize(m.Value, depth+1)
		}
		return n
	}
	return 0
}

// runeCount is the number of characters runes(s) returns, for charging before splitting.
func runeCount(s string) int { return utf8.RuneCountInString(s) }

// rawKey identifies an array of the input document (or of a binding).
type rawKey struct {
	first *any
	n     int
}

// rawArray is an array of the input and its conversion.
type rawArray struct {
	key rawKey
	a   any
}

// norm is the package's norm converting each array of the input at most once per evaluation:
// an expression that reads the same array in a loop gets the same *array every time, which
// costs neither memory nor budget again (and, as in the reference, the array read twice is
// the same array to the in operator). Arrays are never modified once built, so sharing them is
// safe.
func (ev *evaluator) norm(v any) (any, error) {
	x, ok := v.([]any)
	if !ok || len(x) == 0 {
		return norm(v), nil
	}
	key := rawKey{&x[0], len(x)}
	// most expressions read a few arrays: those live in the evaluator, the rest in a map
	for _, e := range ev.fewArrays[:ev.nFewArrays] {
		if e.key == key {
			return e.a, nil
		}
	}
	if a, ok := ev.arrays[key]; ok {
		return a, nil
	}
	if err := ev.alloc(int64(len(x))*slotBytes + memberBytes); err != nil {
		return nil, err
	}
	a := norm(v) // v, not x, which would be boxed again
	switch {
	case ev.nFewArrays < len(ev.fewArrays):
		ev.fewArrays[ev.nFewArrays] = rawArray{key, a}
		ev.nFewArrays++
	case ev.arrays == nil:
		ev.arrays = map[rawKey]any{key: a}
	default:
		ev.arrays[key] = a
	}
	return a, nil
}
