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
	const maxMemory = 4 << 20
	var charged budget
	opts := &EvalOptions{MaxDepth: 200, MaxSteps: 200_000, MaxMemory: maxMemory,
		Now: func() time.Time { return time.UnixMilli(1e12) }, charged: &charged}
	allocs := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	f.Fuzz(func(t *testing.T, src string) {
		expr, err := Compile(src)
		if err != nil {
			var je *Error
			if !errors.As(err, &je) {
				t.Fatalf("Compile(%q) returned a non-JSONata error: %v", src, err)
			}
			return
		}
		start := time.Now()
		metrics.Read(allocs)
		before := allocs[0].Value.Uint64()
		_, _, err = expr.Eval(context.Background(), input, opts)
		metrics.Read(allocs)
		allocated := allocs[0].Value.Uint64() - before
		if errors.Is(err, errInternal) {
			t.Fatalf("Eval(%q) panicked: %v", src, err)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Fatalf("Eval(%q) took %v despite its step and memory limits", src, d)
		}
		if charged.used-charged.crossing > maxMemory || charged.later > 0 {
			t.Fatalf("Eval(%q) was charged %d bytes against %d, %d past the limit and %d charges after it: %v",
				src, charged.used, maxMemory, charged.crossing, charged.later, err)
		}
		// 200,000 steps may each allocate a scope and arguments besides what is charged
		if allocated > 256<<20 {
			t.Fatalf("Eval(%q) allocated %d MiB with a budget of %d MiB (charged %d bytes): %v",
				src, allocated>>20, maxMemory>>20, charged.used, err)
		}
	})
}
