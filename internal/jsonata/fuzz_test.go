package jsonata

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/jsonv"
)

// FuzzCompileEval feeds arbitrary expressions through the parser and the evaluator: neither may
// panic, and evaluation must stop within its limits.
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
	opts := &EvalOptions{MaxDepth: 200, MaxSteps: 200_000, Now: func() time.Time { return time.UnixMilli(1e12) }}
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
		_, _, err = expr.Eval(context.Background(), input, opts)
		if errors.Is(err, errInternal) {
			t.Fatalf("Eval(%q) panicked: %v", src, err)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Fatalf("Eval(%q) took %v despite a 200ms limit", src, d)
		}
	})
}
