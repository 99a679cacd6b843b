package jsonata

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stepline/stepline/internal/jsonv"
)

func BenchmarkSumProducts(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(suiteDir, "datasets", "dataset5.json"))
	if err != nil {
		b.Skipf("JSONata test suite dataset not available: %v", err)
	}
	input, err := jsonv.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	expr, err := Compile(`$sum(Account.Order.Product.(Price * Quantity))`)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	v, _, err := expr.Eval(ctx, input, nil)
	if err != nil || v != jsonv.Number("336.36") {
		b.Fatalf("got %v, %v; want 336.36", v, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := expr.Eval(ctx, input, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// The benchmarks below cover what memory accounting touches: sequences built by $map and path
// steps, string concatenation, $join and object construction.

func benchExpr(b *testing.B, src string, want jsonv.Value) {
	expr, err := Compile(src)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	v, _, err := expr.Eval(ctx, nil, &EvalOptions{NoInput: true})
	if err != nil || jsonv.String(v) != jsonv.String(want) {
		b.Fatalf("got %v, %v; want %v", jsonv.String(v), err, jsonv.String(want))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := expr.Eval(ctx, nil, &EvalOptions{NoInput: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMapConcat(b *testing.B) {
	benchExpr(b, `$count($map([1..1000], function($v){ "item-" & $v }))`, jsonv.Number("1000"))
}

func BenchmarkPathObjects(b *testing.B) {
	benchExpr(b, `$sum([1..1000].{"v": $, "w": $ * 2}.w)`, jsonv.Number("1001000"))
}

func BenchmarkJoinPad(b *testing.B) {
	benchExpr(b, `$length($join([1..500].$pad($string($), 8, "0"), ","))`, jsonv.Number("4499"))
}
