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
