package jsonata

import (
	"context"
	"errors"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/jsonv"
)

// FuzzCompileEval feeds arbitrary expressions through the parser and the evaluator: neither may
// panic, and evaluation must stop within its limits: its step budget, and its memory budget as
// charged (never past it but for the one charge that crossed it) and as allocated (a bounded
// multiple of it, since scopes and arguments are not charged).
func FuzzCompileEval(f *testing.F) {
	for _, s := range []string{
		`$sum(Account.Order.Product.(Price * Quantity))`,
		`Account.Order[0].Product[Price > 30].{"name": ` + "`Product Name`" + `, "p": %.OrderID}`,
		`$map([1..5], function($v, $i){ $v * $i }) ~> $reduce(λ($a, $b){$a + $b})`,
		`($f := function($n){ $n < 2 ? $n : $f($n-1) + $f($n-2) }; $f(10))`,
		`$ ~> |Account.Order.Product|{"Price": Price * 2}, ["SKU"]|`,
		`$replace("abc", /(b)/, "[$1]") & $formatNumber(1234.5, "#,##0.00")`,
		`$fromMillis(1e12, "[FNn], [D1o] [MNn] [Y]") & $toMillis("2020-01-01")`,
		`Account.Order#$i.Product@$p^(>Price){$string($i): $p.Price}`,
		`x ?? y ?: z`, `/ab+/i`, `"\u00e9\ud83d\ude00"`, `**[*]`, `$$.*[0]`,
		// expressions that ask for memory (issue 16)
		`$count($map([1..2000000], function($v){ $pad('x', 1000) }))`,
		`$length($join($map([1..90000], function($v){ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' })))`,
		`($f := function($s, $n){ $n = 0 ? $s : $f($s & $s, $n - 1) }; $f("ab", 30))`,
		`($a := [1..1000]; $string($map([1..1000], function(){ $a })))`,
		`($f := function($o, $n){ $n = 0 ? $o : $f({"a": $o, "b": $o}, $n - 1) }; $f({"x": "y"}, 30))`,
		`$replace($join([1..10000].$string()), /(\d)/, "$1$1$1")`,
		`$split($pad("", 100000, "ab"), "")`, `$spread($map([1..1000], function($v){ {"k": $v} }))`,
	} {
		f.Add(s)
	}
	// the reference suite's expressions make good seeds when it is available
	if cases, err := readSuite(); err == nil {
		for _, c := range cases {
			f.Add(c.expr)
		}
	}
	input, err := jsonv.ParseString(`{"Account":{"Account Name":"Firefly","Order":[{"OrderID":"order103",
		"Product":[{"Product Name":"Bowler Hat","ProductID":858383,"SKU":"0406654608","Price":34.45,"Quantity":2},
		{"Product Name":"Trilby hat","ProductID":858236,"SKU":"0406634348","Price":21.67,"Quantity":1}]},
		{"OrderID":"order104","Product":[{"Product Name":"Cloak","ProductID":345664,"SKU":"0406654603",
		"Price":107.99,"Quantity":1}]}]},"a":[1,[2,3],{"b":null}],"s":"text"}`)
	if err != nil {
		f.Fatal(err)
	}
	check := newBoundsCheck(input)
	f.Fuzz(func(t *testing.T, src string) {
		expr, err := Compile(src)
		if err != nil {
			var je *Error
			if !errors.As(err, &je) {
				t.Fatalf("Compile(%q) returned a non-JSONata error: %v", src, err)
			}
			return
		}
		check.eval(t, src, expr)
	})
}

// fuzzMemory is the memory budget the fuzz targets evaluate with.
const fuzzMemory = 4 << 20

// boundsCheck evaluates an expression the way the fuzz targets do and fails the test when it
// panics or passes its bounds.
type boundsCheck struct {
	input   jsonv.Value
	charged budget
	opts    *EvalOptions
	allocs  []metrics.Sample
}

func newBoundsCheck(input jsonv.Value) *boundsCheck {
	c := &boundsCheck{input: input, allocs: []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}}
	c.opts = &EvalOptions{MaxDepth: 200, MaxSteps: 200_000, MaxMemory: fuzzMemory,
		Now: func() time.Time { return time.UnixMilli(1e12) }, charged: &c.charged}
	return c
}

func (c *boundsCheck) eval(t *testing.T, src string, expr *Expr) {
	t.Helper()
	start := time.Now()
	metrics.Read(c.allocs)
	before := c.allocs[0].Value.Uint64()
	_, _, err := expr.Eval(context.Background(), c.input, c.opts)
	metrics.Read(c.allocs)
	allocated := c.allocs[0].Value.Uint64() - before
	if errors.Is(err, errInternal) {
		t.Fatalf("Eval(%q) panicked: %v", src, err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("Eval(%q) took %v despite its step and memory limits", src, d)
	}
	if c.charged.used-c.charged.crossing > fuzzMemory || c.charged.later > 0 {
		t.Fatalf("Eval(%q) was charged %d bytes against %d, %d past the limit and %d charges after it: %v",
			src, c.charged.used, fuzzMemory, c.charged.crossing, c.charged.later, err)
	}
	// 200,000 steps may each allocate a scope and arguments besides what is charged; under
	// -race, pooled memory is not reused and allocations say little
	if allocated > 256<<20 && !raceEnabled {
		t.Fatalf("Eval(%q) allocated %d MiB with a budget of %d MiB (charged %d bytes): %v",
			src, allocated>>20, fuzzMemory>>20, c.charged.used, err)
	}
}

// FuzzEvalGenerated evaluates expressions generated from the fuzzer's bytes by a small grammar
// of what asks for memory and work: ranges, higher-order functions, recursion, string
// building, objects, paths and comparisons. Mutating expression text, as FuzzCompileEval does,
// mostly yields syntax errors; every generated expression compiles.
func FuzzEvalGenerated(f *testing.F) {
	for _, seed := range [][]byte{
		{3, 2, 0, 5, 6, 1, 5, 1}, {7, 3, 2, 0, 6, 8, 1, 1, 1}, {19, 4, 8, 12, 12}, {5, 2, 1, 6, 8, 12, 12},
		{14, 10, 1, 2, 0, 6, 3, 22, 11, 12, 12}, {17, 19, 6, 11, 12, 12, 19, 6, 11, 12, 12},
		{23, 6, 4}, {20, 2, 1, 7, 2, 0, 7}, {9, 3, 2, 0, 7, 11, 12, 12},
	} {
		f.Add(seed)
	}
	check := newBoundsCheck(nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &exprGen{data: data}
		src := g.expr(0)
		expr, err := Compile(src)
		if err != nil {
			t.Fatalf("generated expression %q does not compile: %v", src, err)
		}
		check.eval(t, src, expr)
	})
}

// exprGen generates an expression from bytes, each choosing the next production.
type exprGen struct {
	data []byte
	pos  int
}

func (g *exprGen) next() int {
	if g.pos >= len(g.data) {
		return 0
	}
	b := g.data[g.pos]
	g.pos++
	return int(b)
}

func (g *exprGen) num() string {
	return []string{"0", "1", "2", "7", "255", "1000", "65536", "100000", "1000000", "9999999", "-3", "1.5"}[g.next()%12]
}

func (g *exprGen) str() string {
	return []string{`"x"`, `"ab"`, `""`, `"é😀"`, `"[Y,100]"`, `"[Y0001]-[M01]"`, `"$1$1"`, `"."`}[g.next()%8]
}

func (g *exprGen) expr(depth int) string {
	if depth > 6 {
		return []string{"$v", "1", `"x"`, "$"}[g.next()%4]
	}
	e := func() string { return g.expr(depth + 1) }
	switch g.next() % 30 {
	case 0:
		return g.num()
	case 1:
		return g.str()
	case 2:
		return "[" + g.num() + ".." + g.num() + "]"
	case 3:
		return "$map(" + e() + ", function($v, $i){ " + e() + " })"
	case 4:
		return "$filter(" + e() + ", function($v){ " + e() + " })"
	case 5:
		return "$reduce(" + e() + ", function($a, $v){ " + e() + " })"
	case 6:
		return "$pad(" + e() + ", " + g.num() + ", " + g.str() + ")"
	case 7:
		return "$join(" + e() + ", " + g.str() + ")"
	case 8:
		return "(" + e() + " & " + e() + ")"
	case 9:
		return "$string(" + e() + ")"
	case 10:
		return "{" + g.str() + ": " + e() + "}"
	case 11:
		return "[" + e() + ", " + e() + "]"
	case 12:
		return []string{"$v", "$a", "$i", "$", "$$"}[g.next()%5]
	case 13:
		return "$count(" + e() + ")"
	case 14:
		return "(" + e() + ")." + "(" + e() + ")"
	case 15:
		return "$split(" + e() + ", " + g.str() + ")"
	case 16:
		return "$replace(" + e() + ", " + []string{`"x"`, `/x*/`, `/(.)/`, `"."`}[g.next()%4] + ", " + g.str() + ")"
	case 17:
		return "(" + e() + " = " + e() + ")"
	case 18:
		return []string{"$spread", "$distinct", "$reverse", "$sort", "$keys", "$merge", "$uppercase", "$trim"}[g.next()%8] + "(" + e() + ")"
	case 19:
		return "($f := function($n, $x){ $n <= 0 ? $x : $f($n - 1, " + e() + ") }; $f(" + g.num() + ", " + e() + "))"
	case 20:
		return "$append(" + e() + ", " + e() + ")"
	case 21:
		return "(" + e() + ")[" + e() + "]"
	case 22:
		return "(" + e() + ")." + []string{"*", "**", "$", "a"}[g.next()%4]
	case 23:
		return "$fromMillis(" + g.num() + ", " + g.str() + ")"
	case 24:
		return "$substring(" + e() + ", " + g.num() + ", " + g.num() + ")"
	case 25:
		return "(" + e() + " ~> $sum())"
	case 26:
		return "$match(" + e() + ", /(.)/)"
	case 27:
		return "(" + e() + "){" + g.str() + ": " + e() + "}"
	case 28:
		return "$formatInteger(" + g.num() + ", " + []string{`"I"`, `"w"`, `"000"`, `"#,##0"`}[g.next()%4] + ")"
	}
	return "(" + e() + ") ~> |$|{" + g.str() + ": " + e() + "}|"
}
