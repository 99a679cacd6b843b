package asl

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/stepline/stepline/internal/asl/intrinsic"
	"github.com/stepline/stepline/internal/jsonata"
	"github.com/stepline/stepline/internal/jsonv"
)

// maxRangeLength bounds the array $range builds, so that one expression cannot exhaust memory.
const maxRangeLength = 1_000_000

// awsFunctions are the functions Step Functions adds to JSONata, the counterparts of the
// intrinsics. $random replaces JSONata's own to accept a seed.
var awsFunctions = map[string]jsonata.Function{
	"partition": {Signature: "<an:a>", Impl: partition},
	"range":     {Signature: "<nnn:a>", Impl: rangeFunc},
	"hash":      {Signature: "<ss:s>", Impl: hashFunc},
	"random":    {Signature: "<n?:n>", Impl: random},
	"uuid":      {Signature: "<:s>", Impl: uuid},
	"parse":     {Signature: "<s:j>", Impl: parse},
}

// partition splits an array into chunks of size elements, the last one shorter if need be.
func partition(_ context.Context, args []jsonata.Arg) (jsonv.Value, bool, error) {
	if !args[0].Defined || !args[1].Defined {
		return nil, false, nil
	}
	items, _ := args[0].Value.([]jsonv.Value)
	size, ok := args[1].Value.(jsonv.Number).Int64()
	if !ok || size <= 0 {
		return nil, false, fmt.Errorf("the chunk size must be a positive integer, but was %s", args[1].Value)
	}
	out := make([]jsonv.Value, 0, (int64(len(items))+size-1)/size)
	for len(items) > 0 {
		n := int(min(size, int64(len(items))))
		out = append(out, items[:n:n])
		items = items[n:]
	}
	return out, true, nil
}

// rangeFunc is $range(start, end, step): start, start+step, … up to end inclusive. A range of
// one number is that number, as AWS returns it: its $range yields a JSONata sequence, and a
// sequence of one is its item.
func rangeFunc(_ context.Context, args []jsonata.Arg) (jsonv.Value, bool, error) {
	for _, a := range args {
		if !a.Defined {
			return nil, false, nil
		}
	}
	start, end, step := args[0].Value.(jsonv.Number).Float64(), args[1].Value.(jsonv.Number).Float64(), args[2].Value.(jsonv.Number).Float64()
	if step == 0 {
		return nil, false, errors.New("the step must not be 0")
	}
	if start > end && step > 0 || start < end && step < 0 {
		return []jsonv.Value{}, true, nil
	}
	count := math.Floor((end-start)/step) + 1
	if count > maxRangeLength {
		return nil, false, fmt.Errorf("the range would hold %v numbers, more than %d", count, maxRangeLength)
	}
	out := make([]jsonv.Value, int(count))
	for i := range out {
		out[i] = jsonv.Float(start + float64(i)*step)
	}
	if len(out) == 1 {
		return out[0], true, nil
	}
	return out, true, nil
}

func hashFunc(_ context.Context, args []jsonata.Arg) (jsonv.Value, bool, error) {
	if !args[0].Defined || !args[1].Defined {
		return nil, false, nil
	}
	alg := args[1].Value.(string)
	sum, ok := intrinsic.Hash(args[0].Value.(string), alg)
	if !ok {
		return nil, false, fmt.Errorf("unsupported algorithm %q; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512", alg)
	}
	return sum, true, nil
}

// random is $random([seed]): with a seed, java.util.Random's first nextDouble, which is what
// AWS returns for it; without, a number from the execution's randomness.
func random(ctx context.Context, args []jsonata.Arg) (jsonv.Value, bool, error) {
	if len(args) > 0 && args[0].Defined {
		seed := args[0].Value.(jsonv.Number).Float64()
		return jsonv.Float(intrinsic.SeededFloat(int64(seed))), true, nil
	}
	return jsonv.Float(intrinsic.RandomFloat(scopeOf(ctx))), true, nil
}

func uuid(ctx context.Context, _ []jsonata.Arg) (jsonv.Value, bool, error) {
	return intrinsic.UUID(scopeOf(ctx)), true, nil
}

// parse is $parse(text): the JSON value the text holds.
func parse(_ context.Context, args []jsonata.Arg) (jsonv.Value, bool, error) {
	if !args[0].Defined {
		return nil, false, nil
	}
	v, err := jsonv.ParseString(args[0].Value.(string))
	if err != nil {
		return nil, false, fmt.Errorf("the argument is not valid JSON: %w", err)
	}
	return v, true, nil
}

// scopeOf returns the Scope that Eval put in ctx for the functions that need randomness.
func scopeOf(ctx context.Context) Scope {
	s, _ := ctx.Value(scopeKey{}).(Scope)
	return s
}
