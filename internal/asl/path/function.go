package path

import (
	"math"

	"github.com/stepline/stepline/internal/jsonv"
)

// function is one of Jayway's path functions, written as the last step: $.items.length().
type function struct {
	name string
	call func(v jsonv.Value, p *Path) (jsonv.Value, error)
}

var functions = map[string]*function{}

func init() {
	for _, f := range []*function{
		{"length", length},
		{"size", length},
		{"keys", keys},
		{"first", func(v jsonv.Value, p *Path) (jsonv.Value, error) { return end(v, p, true) }},
		{"last", func(v jsonv.Value, p *Path) (jsonv.Value, error) { return end(v, p, false) }},
		{"min", aggregate(func(xs []float64) float64 {
			m := xs[0]
			for _, x := range xs[1:] {
				m = math.Min(m, x)
			}
			return m
		})},
		{"max", aggregate(func(xs []float64) float64 {
			m := xs[0]
			for _, x := range xs[1:] {
				m = math.Max(m, x)
			}
			return m
		})},
		{"sum", aggregate(sum)},
		{"avg", aggregate(func(xs []float64) float64 { return sum(xs) / float64(len(xs)) })},
		{"stddev", aggregate(func(xs []float64) float64 {
			mean := sum(xs) / float64(len(xs))
			var sq float64
			for _, x := range xs {
				sq += (x - mean) * (x - mean)
			}
			return math.Sqrt(sq / float64(len(xs)))
		})},
	} {
		functions[f.name] = f
	}
}

func functionError(p *Path, detail string) error {
	return &NotFoundError{Path: p.text, Detail: detail}
}

func length(v jsonv.Value, p *Path) (jsonv.Value, error) {
	switch v := v.(type) {
	case []jsonv.Value:
		return jsonv.Int(int64(len(v))), nil
	case *jsonv.Object:
		return jsonv.Int(int64(v.Len())), nil
	}
	return nil, functionError(p, "Invalid property name for length(): not an array or object")
}

func keys(v jsonv.Value, p *Path) (jsonv.Value, error) {
	o, ok := v.(*jsonv.Object)
	if !ok {
		return nil, functionError(p, "keys() can only be applied to an object")
	}
	ks := make([]jsonv.Value, o.Len())
	for i, m := range o.Members() {
		ks[i] = m.Key
	}
	return ks, nil
}

func end(v jsonv.Value, p *Path, first bool) (jsonv.Value, error) {
	a, ok := v.([]jsonv.Value)
	if !ok || len(a) == 0 {
		return nil, functionError(p, "Aggregation function attempted to calculate value using empty array")
	}
	if first {
		return a[0], nil
	}
	return a[len(a)-1], nil
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// aggregate wraps a numeric function the way Jayway's aggregations work: over the numbers of an
// array (other members ignored), failing on none, answering a Java double.
func aggregate(f func([]float64) float64) func(jsonv.Value, *Path) (jsonv.Value, error) {
	return func(v jsonv.Value, p *Path) (jsonv.Value, error) {
		a, _ := v.([]jsonv.Value)
		var xs []float64
		for _, e := range a {
			if n, ok := e.(jsonv.Number); ok {
				xs = append(xs, n.Float64())
			}
		}
		if len(xs) == 0 {
			return nil, functionError(p, "Aggregation function attempted to calculate value using empty array")
		}
		r := f(xs)
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return nil, functionError(p, "Aggregation function result is not a finite number")
		}
		return jsonv.Number(formatJavaDouble(r)), nil
	}
}
