package jsonata

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/jsonv"
)

// The expressions of issue 16, each of which held a server for seconds to minutes and gigabytes
// before evaluation was bounded by memory.
var (
	padMillions    = `$count($map([1..2000000], function($v){ $pad('x', 1000) }))`
	padTenMillions = `$count($map([1..9999999], function($v){ $pad('x', 1000) }))`
	joinMillions   = `$length($join($map([1..9000000], function($v){ '` + strings.Repeat("x", 56) + `' })))`
)

const (
	memoryCause = "Expression evaluation memory limit exceeded: Check for values growing without bound (the limit is 128 MiB)"
)

func evalErr(t *testing.T, src string, opts *EvalOptions) *Error {
	t.Helper()
	expr, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := expr.Eval(context.Background(), nil, opts)
	var je *Error
	if !errors.As(err, &je) {
		t.Fatalf("%s: got %v, %v; want a JSONata error", src, v, err)
	}
	return je
}

func TestMemoryLimitIssueExpressions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, expr, message string }{
		{"pad over two million", padMillions, memoryCause},
		{"pad over ten million", padTenMillions,
			"Expression evaluation memory limit exceeded: The range operator (..) would allocate 9999999 items, more than the limit of 128 MiB allows"},
		{"join of nine million", joinMillions,
			"Expression evaluation memory limit exceeded: The range operator (..) would allocate 9000000 items, more than the limit of 128 MiB allows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := evalErr(t, tc.expr, &EvalOptions{NoInput: true})
			if e.Code != "U1001" || e.Message != tc.message {
				t.Errorf("got %s: %s\nwant U1001: %s", e.Code, e.Message, tc.message)
			}
		})
	}
}

// TestMemoryLimit covers the ways an expression can ask for memory in few steps: each must fail
// with the memory error rather than allocate. They run with a 16 MiB budget, which fails them
// sooner than the default would, and charge the same way.
func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	x56 := `'` + strings.Repeat("x", 56) + `'`
	for _, tc := range []struct{ name, expr string }{
		// the largest range the reference allows, refused by the default budget
		{"range of 1e7", `[1..10000000] ~> $count()`},
		{"join of a large sequence", `$length($join($map([1..200000], function($v){ ` + x56 + ` })))`},
		{"string doubling", `($s := "x"; $f := function($s, $n){ $n = 0 ? $s : $f($s & $s, $n - 1) }; $length($f($s, 40)))`},
		{"pad in a loop", `$count([1..100000].$pad("", 1000))`},
		{"replace growing a string", `($f := function($s, $n){ $n = 0 ? $s : $f($replace($s, "x", "xx"), $n - 1) }; $length($f("x", 40)))`},
		{"regex replace growing a string", `($f := function($s, $n){ $n = 0 ? $s : $f($replace($s, /(x+)/, "$1$1"), $n - 1) }; $length($f("x", 40)))`},
		// a sequence that repeats one array: little to hold, a lot to flatten or convert
		{"flattening a repeated array", `($a := [1..100000]; $count($map([1..1000], function(){ $a }).$))`},
		{"wildcard over a repeated array", `($a := [1..100000]; $count($map([1..1000], function(){ $a }).*))`},
		{"converting a repeated array", `($a := [1..100000]; [$map([1..100000], function(){ $a })])`},
		{"stringifying a repeated array", `($a := [1..100000]; $length($string($map([1..100000], function(){ $a }))))`},
		{"concatenating a repeated array", `($a := [1..100000]; $length("" & [$map([1..100000], function(){ $a })]))`},
		{"nested objects sharing members", `($f := function($o, $n){ $n = 0 ? $o : $f({"a": $o, "b": $o}, $n - 1) }; $f({"x": "y"}, 60))`},
		{"functions kept in a sequence", `$count($map([1..100000], function($v){ function(){ $v } }))`},
		{"split into characters", `($s := $join($map([1..100000], function(){ "0123456789" })); $count($split($s, "")))`},
		{"base64 of a large string", `($s := $join($map([1..200000], function(){ "0123456789" })); $length($base64encode($s)))`},
		{"regex matches of a long string", `$count($match($join([1..200000].$string()), /(\d)/))`},
		{"objects built in a loop", `$count([1..100000].{"a": $, "b": $, "c": $})`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := &EvalOptions{NoInput: true, MaxMemory: 16 << 20}
			if strings.HasPrefix(tc.name, "range of 1e7") {
				opts.MaxMemory = 0
			}
			e := evalErr(t, tc.expr, opts)
			// the range check has a message of its own: the others must not fail there
			want := "Expression evaluation memory limit exceeded: Check for values growing without bound (the limit is 16 MiB)"
			if opts.MaxMemory == 0 {
				want = "Expression evaluation memory limit exceeded: The range operator (..) would allocate 10000000 items, more than the limit of 128 MiB allows"
			}
			if e.Code != "U1001" || e.Message != want {
				t.Errorf("got %s: %s\nwant U1001: %s", e.Code, e.Message, want)
			}
		})
	}
}

// TestMemoryLimitOption checks that MaxMemory sets the budget, and that the charges do not stop
// an evaluation well within it.
func TestMemoryLimitOption(t *testing.T) {
	t.Parallel()
	const src = `$sum($map([1..10000], function($v){ $length("n" & $v) }))`
	for _, tc := range []struct {
		max  int64
		fail bool
	}{
		{max: 256 << 10, fail: true},
		{max: 16 << 20},
		{max: 0},
		{max: -1},
	} {
		expr, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		v, _, err := expr.Eval(context.Background(), nil, &EvalOptions{NoInput: true, MaxMemory: tc.max})
		var je *Error
		switch {
		case tc.fail && (!errors.As(err, &je) || je.Message != "Expression evaluation memory limit exceeded: Check for values growing without bound (the limit is 256 KiB)"):
			t.Errorf("MaxMemory %d: got %v, %v; want the memory limit", tc.max, v, err)
		case !tc.fail && (err != nil || v == nil):
			t.Errorf("MaxMemory %d: got %v, %v; want a result", tc.max, v, err)
		}
	}
	// without a limit, the range the default refuses is built
	e, err := Compile(`[1..10000000] ~> $count()`)
	if err != nil {
		t.Fatal(err)
	}
	if v, _, err := e.Eval(context.Background(), nil, &EvalOptions{NoInput: true, MaxMemory: 512 << 20}); err != nil || v == nil {
		t.Errorf("range of 1e7 with 512 MiB: got %v, %v", v, err)
	}
}

// TestMemoryAccountingKeepsResults checks results of the functions whose accounting changed how
// they build them: grouping appends in place, $spread appends in place, $substring slices and
// $pad repeats.
func TestMemoryAccountingKeepsResults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ expr, input, want string }{
		{`a{"k": b}`, `{"a":[{"b":1},{"b":[2,3]},{"b":4},{"c":5},{"b":[]}]}`, `{"k":[1,2,3,4]}`},
		// the group's first value is an array of the input, which must not be appended to
		{`($x := [[1,2],[3],[4]]; [$x{"k": $}, $x])`, ``, `[{"k":[1,2,3,4]},[1,2],[3],[4]]`},
		{`[a{"k": $}, a]`, `{"a":[[1,2],[3],[4]]}`, `[{"k":[1,2,3,4]},[1,2],[3],[4]]`},
		{`$spread([{"a":1,"b":2},[{"c":3}],5,[]])`, ``, `[{"a":1},{"b":2},{"c":3},5]`},
		{`$spread([])`, ``, `undefined`},
		{`[$substring("héllo wörld", 1, 4), $substring("héllo", -3), $substring("héllo", 2), $substring("héllo", 9)]`, ``, `["éllo","llo","llo",""]`},
		{`[$pad("é", 5, "ab"), $pad("é", -6, "xý"), $pad("abc", 2), $pad("a", 4)]`, ``, `["éabab","xýxýxé","abc","a   "]`},
		{`$join(["a","b","c"], "--")`, ``, `"a--b--c"`},
	} {
		got, err := eval(t, tc.expr, tc.input, nil)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %s, %v; want %s", tc.expr, got, err, tc.want)
		}
	}
}

// TestSharedValuesWork checks that walking a value that holds another many times over counts
// as evaluation steps, where no memory is asked for: comparing two such values, and checking
// that a transform does not make an object contain itself.
func TestSharedValuesWork(t *testing.T) {
	t.Parallel()
	const dag = `$f := function($o, $n){ $n = 0 ? $o : $f({"a": $o, "b": $o}, $n - 1) };`
	const nested = `$g := function($a, $n){ $n = 0 ? $a : $g($map([1, 2], function(){ $a }), $n - 1) };`
	for _, expr := range []string{
		`(` + dag + ` $f({"x": "y"}, 60) = $f({"x": "y"}, 60))`,
		`(` + dag + ` $distinct([$f({"x": "y"}, 60), $f({"x": "y"}, 60)]))`,
		`(` + dag + ` $d := $f({"x": "y"}, 60); $count({"k": 1} ~> |$|{"c": $d}|))`,
		// arrays holding one array twice, sixty deep, with nothing at the bottom
		`(` + nested + ` $count($g([], 60).x))`,
		`(` + nested + ` $count($g([], 60).*))`,
		`(` + nested + ` $count($g([], 60).**))`,
		`(` + nested + ` $count($spread($g([], 60))))`,
	} {
		e := evalErr(t, expr, &EvalOptions{NoInput: true, MaxSteps: 100_000})
		if e.Code != "U1001" || e.Message != "Expression evaluation timeout: Check for infinite loop" {
			t.Errorf("%s: got %s: %s; want the step limit", expr, e.Code, e.Message)
		}
	}
}

// TestMemoryLimitPictures checks the pictures of $fromMillis and $formatInteger, whose width
// modifiers and roman numerals make short pictures ask for long strings.
func TestMemoryLimitPictures(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{
		`$fromMillis(0, "[Y,10000000]")`,
		`$fromMillis(0, $join($map([1..1000], function(){ "[Y,100000]" })))`,
		`$formatInteger(1e10, "I")`,
		`$formatInteger(1, $pad("", 5000000, "0"))`,
		`$count($map([1..100], function(){ $fromMillis(0, "[Y,200000]") }))`,
	} {
		e := evalErr(t, expr, &EvalOptions{NoInput: true, MaxMemory: 16 << 20})
		if e.Code != "U1001" || !strings.HasPrefix(e.Message, "Expression evaluation memory limit exceeded") {
			t.Errorf("%s: got %s: %s; want the memory limit", expr, e.Code, e.Message)
		}
	}
}

// TestMemoryLimitNativeResults checks that what a caller's function returns is charged: each
// call builds a new document, which a loop can keep.
func TestMemoryLimitNativeResults(t *testing.T) {
	t.Parallel()
	doc := func(ctx context.Context, args []Arg) (jsonv.Value, bool, error) {
		items := make([]jsonv.Value, 10_000)
		for i := range items {
			items[i] = "0123456789"
		}
		return items, true, nil
	}
	opts := &EvalOptions{NoInput: true, MaxMemory: 16 << 20, Functions: map[string]Function{"doc": {Signature: "<:a>", Impl: doc}}}
	if got, err := eval(t, `$count($doc())`, "", opts); err != nil || got != "10000" {
		t.Errorf("one document: got %s, %v", got, err)
	}
	e := evalErr(t, `$count($map([1..100], function(){ $doc() }))`, opts)
	if e.Code != "U1001" || !strings.HasPrefix(e.Message, "Expression evaluation memory limit exceeded") {
		t.Errorf("a hundred documents: got %s: %s; want the memory limit", e.Code, e.Message)
	}
}
