package jsonata

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/jsonv"
)

func mustJSON(t *testing.T, s string) jsonv.Value {
	t.Helper()
	v, err := jsonv.ParseString(s)
	if err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func eval(t *testing.T, expr, input string, opts *EvalOptions) (string, error) {
	t.Helper()
	e, err := Compile(expr)
	if err != nil {
		return "", err
	}
	var in jsonv.Value
	if input != "" {
		in = mustJSON(t, input)
	} else {
		if opts == nil {
			opts = &EvalOptions{}
		}
		opts.NoInput = true
	}
	v, ok, err := e.Eval(context.Background(), in, opts)
	if err != nil {
		return "", err
	}
	if !ok {
		return "undefined", nil
	}
	return jsonv.String(v), nil
}

func TestEvalResults(t *testing.T) {
	for _, tc := range []struct {
		expr, input, want string
	}{
		// numbers are written the way JavaScript writes them
		{`1e21`, ``, `1e+21`},
		{`1e20`, ``, `100000000000000000000`},
		{`1e-7`, ``, `1e-7`},
		{`0.000001`, ``, `0.000001`},
		{`0.1 + 0.2`, ``, `0.30000000000000004`},
		{`-0`, ``, `0`},
		{`$string(0.1 + 0.2)`, ``, `"0.3"`},
		{`$string(1e-7)`, ``, `"1e-7"`},
		// undefined and null are different things
		{`nothing`, `{}`, `undefined`},
		{`a`, `{"a":null}`, `null`},
		{`[a, b]`, `{"a":null}`, `[null]`},
		{`$`, ``, `undefined`},
		// input numbers keep their value, and objects their key order
		{`$`, `{"z":1.50,"a":[2e3]}`, `{"z":1.50,"a":[2e3]}`},
		{`{"z": 1, "a": 2, "m": 3}`, ``, `{"z":1,"a":2,"m":3}`},
		{`$merge([{"b":1,"a":2},{"c":3,"b":4}])`, ``, `{"b":4,"a":2,"c":3}`},
		{`items{type: $sum(n)}`, `{"items":[{"type":"y","n":1},{"type":"x","n":2},{"type":"y","n":3}]}`, `{"y":4,"x":2}`},
		// the coalescing and default operators of later JSONata versions
		{`missing ?? "d"`, `{}`, `"d"`},
		{`a ?? "d"`, `{"a":0}`, `0`},
		{`a ?? "d"`, `{"a":null}`, `null`},
		{`a ?: "d"`, `{"a":0}`, `"d"`},
		{`a ?: "d"`, `{"a":"x"}`, `"x"`},
		{`a ?: b ?: "c"`, `{"a":"","b":[]}`, `"c"`},
		// flattening, singleton arrays and the parent operator
		{`a.b`, `{"a":[{"b":[1,2]},{"b":3}]}`, `[1,2,3]`},
		{`a.b[]`, `{"a":{"b":1}}`, `[1]`},
		{`a[0].b`, `{"a":[{"b":1},{"b":2}]}`, `1`},
		{`a.b.%.c`, `{"a":{"b":1,"c":"up"}}`, `"up"`},
		{`a#$i[$i>0].v`, `{"a":[{"v":1},{"v":2},{"v":3}]}`, `[2,3]`},
		{`[{"a":1}][0].a`, ``, `undefined`},
		// functions
		{`$map([1,2,3], $string)`, ``, `["1","2","3"]`},
		{`$substring("😀abc", 1, 2)`, ``, `"ab"`},
		{`$uppercase("straße")`, ``, `"STRASSE"`},
		{`$match("abc", /(x)?b/).groups`, ``, `[null]`},
		{`$replace("abc", /(x)?b/, "[$1]")`, ``, `"a[]c"`},
		{`$round(2.5) & " " & $round(3.5) & " " & $round(1.005, 2)`, ``, `"2 4 1"`},
		{`$formatNumber(1234.5678, "#,##0.00")`, ``, `"1,234.57"`},
		{`$toMillis("2020-02-30")`, ``, `1583020800000`},
		{`$fromMillis(0, "[FNn] [D1o] [MNn] [Y]")`, ``, `"Thursday 1st January 1970"`},
		{`(λ($n){$n < 2 ? $n : $n + 1})(5)`, ``, `6`},
	} {
		got, err := eval(t, tc.expr, tc.input, nil)
		if err != nil {
			t.Errorf("%s: unexpected error %v", tc.expr, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s on %s = %s, want %s", tc.expr, tc.input, got, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		expr, input string
		code, token string
		message     string
		position    int
	}{
		{expr: `"abc`, code: "S0101", position: 4, message: "String literal must be terminated by a matching quote"},
		{expr: `1 +`, code: "S0207"},
		{expr: `a ! b`, code: "S0204", token: "!"},
		{expr: `$f := 1 $g`, code: "S0201"},
		{expr: `function($x, y){1}`, code: "S0208"},
		{expr: `1 + "a"`, code: "T2002", token: "+", message: `The right side of the "+" operator must evaluate to a number`},
		{expr: `"a" < 1`, code: "T2009", token: "<"},
		{expr: `$uppercase(1)`, code: "T0410", token: "uppercase", position: 11,
			message: "Argument 1 of function \"uppercase\" does not match function signature"},
		{expr: `$sum("a")`, code: "T0412", token: "sum", message: `Argument 1 of function "sum" must be an array of "numbers"`},
		{expr: `$error("custom")`, code: "D3137", message: "custom"},
		{expr: `$number("x")`, code: "D3030", message: `Unable to cast value to a number: "x"`},
		{expr: `[1..20000000]`, code: "D2014"},
		{expr: `$encodeUrl("\ud800")`, code: "D3140", message: `Malformed URL passed to $encodeUrl(): "\ud800"`},
		{expr: `sum(1)`, code: "T1005", token: "sum"},
		{expr: `"é" + 1`, code: "T2001", position: 5},
		{expr: strings.Repeat("(", 600) + strings.Repeat(")", 600), code: "U1001"},
	} {
		_, err := eval(t, tc.expr, tc.input, nil)
		var je *Error
		if !errors.As(err, &je) {
			t.Errorf("%s: want error %s, got %v", tc.expr, tc.code, err)
			continue
		}
		if je.Code != tc.code {
			t.Errorf("%s: code %s (%s), want %s", tc.expr, je.Code, je.Message, tc.code)
		}
		if tc.token != "" && je.Token != tc.token {
			t.Errorf("%s: token %q, want %q", tc.expr, je.Token, tc.token)
		}
		if tc.message != "" && je.Message != tc.message {
			t.Errorf("%s: message %q, want %q", tc.expr, je.Message, tc.message)
		}
		if tc.position != 0 && je.Position != tc.position {
			t.Errorf("%s: position %d, want %d", tc.expr, je.Position, tc.position)
		}
		if je.Error() != je.Message {
			t.Errorf("%s: Error() = %q, want the message", tc.expr, je.Error())
		}
	}
}

func TestBindingsAndFunctions(t *testing.T) {
	var gotArgs []Arg
	opts := &EvalOptions{
		Bindings: map[string]jsonv.Value{"limit": jsonv.Number("2"), "name": "x"},
		Functions: map[string]Function{
			"partition": {
				Signature: "<an:a>",
				Impl: func(ctx context.Context, args []Arg) (jsonv.Value, bool, error) {
					gotArgs = args
					items := args[0].Value.([]jsonv.Value)
					n, _ := args[1].Value.(jsonv.Number).Int64()
					var out []jsonv.Value
					for i := 0; i < len(items); i += int(n) {
						out = append(out, items[i:min(i+int(n), len(items))])
					}
					return out, true, nil
				},
			},
			"nothing": {Impl: func(ctx context.Context, args []Arg) (jsonv.Value, bool, error) {
				return nil, false, nil
			}},
			"fail": {Impl: func(ctx context.Context, args []Arg) (jsonv.Value, bool, error) {
				return nil, false, errors.New("backend down")
			}},
		},
	}
	got, err := eval(t, `$partition([1,2,3], $limit) ~> $map(function($p){ $count($p) })`, `{}`, opts)
	if err != nil || got != `[2,1]` {
		t.Fatalf("partition = %s, %v", got, err)
	}
	if len(gotArgs) != 2 || !gotArgs[1].Defined {
		t.Errorf("native args = %+v", gotArgs)
	}
	if got, err := eval(t, `$partition(1, 1)`, `{}`, opts); err != nil || got != `[[1]]` {
		t.Errorf("signature coercion: %s, %v", got, err)
	}
	if _, err := eval(t, `$partition([1], "x")`, `{}`, opts); !isCode(err, "T0410") {
		t.Errorf("signature check: %v", err)
	}
	if got, err := eval(t, `$exists($nothing())`, `{}`, opts); err != nil || got != `false` {
		t.Errorf("undefined result: %s, %v", got, err)
	}
	if got, err := eval(t, `$name`, `{}`, opts); err != nil || got != `"x"` {
		t.Errorf("binding: %s, %v", got, err)
	}
	_, err = eval(t, `$fail()`, `{}`, opts)
	if err == nil || !strings.Contains(err.Error(), "backend down") || !strings.Contains(err.Error(), "$fail") {
		t.Errorf("native error = %v", err)
	}
	if _, _, err := (&Expr{}).Eval(context.Background(), nil, &EvalOptions{Functions: map[string]Function{"bad": {Signature: "<s<n>>"}}}); err == nil {
		t.Errorf("a bad signature must be reported")
	}
}

func isCode(err error, code string) bool {
	var je *Error
	return errors.As(err, &je) && je.Code == code
}

func TestLimits(t *testing.T) {
	recursive := `($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(1000))`
	if _, err := eval(t, recursive, ``, &EvalOptions{MaxDepth: 100}); !isCode(err, "U1001") {
		t.Errorf("depth limit: %v", err)
	}
	if got, err := eval(t, recursive, ``, &EvalOptions{MaxDepth: 5000}); err != nil || got != "1000" {
		t.Errorf("deep recursion within the limit: %s, %v", got, err)
	}
	// tail calls run in constant depth
	tail := `($f := function($n, $acc){ $n = 0 ? $acc : $f($n - 1, $acc + 1) }; $f(10000, 0))`
	if got, err := eval(t, tail, ``, &EvalOptions{MaxDepth: 50}); err != nil || got != "10000" {
		t.Errorf("tail recursion: %s, %v", got, err)
	}
	loop := `($f := function(){ $f() }; $f())`
	if _, err := eval(t, loop, ``, &EvalOptions{MaxSteps: 100_000}); !isCode(err, "U1001") {
		t.Errorf("step limit: %v", err)
	}
	e, _ := Compile(loop)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, _, err := e.Eval(ctx, nil, &EvalOptions{MaxSteps: -1}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancellation: %v", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer dcancel()
	if _, _, err := e.Eval(dctx, nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("context deadline: %v", err)
	}
}

func TestClockAndRandom(t *testing.T) {
	now := time.Date(2024, 2, 29, 13, 45, 0, 123e6, time.UTC)
	opts := &EvalOptions{Now: func() time.Time { return now }, Random: func() float64 { return 0.5 }}
	got, err := eval(t, `[$now(), $millis(), $now() = $now(), $random(), $now("[H01]:[m01]", "+0100")]`, ``, opts)
	want := `["2024-02-29T13:45:00.123Z",1709214300123,true,0.5,"14:45"]`
	if err != nil || got != want {
		t.Errorf("clock = %s, %v; want %s", got, err, want)
	}
	if got, err := eval(t, `$shuffle([1,2,3,4])`, ``, opts); err != nil || got != `[1,3,4,2]` {
		t.Errorf("shuffle with a fixed source = %s, %v", got, err)
	}
}

// TestTransformLeavesInputAlone checks that the transform operator works on a copy, since
// inputs are shared between evaluations.
func TestTransformLeavesInputAlone(t *testing.T) {
	input := mustJSON(t, `{"a":{"b":1,"c":2}}`)
	e, err := Compile(`$ ~> |a|{"b": 10}, ["c"]|`)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := e.Eval(context.Background(), input, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := jsonv.String(v); got != `{"a":{"b":10}}` {
		t.Errorf("transform = %s", got)
	}
	if got := jsonv.String(input); got != `{"a":{"b":1,"c":2}}` {
		t.Errorf("input changed to %s", got)
	}
}

// TestConcurrentEval runs one compiled expression from many goroutines; with -race it checks
// that evaluation state is per call.
func TestConcurrentEval(t *testing.T) {
	var wg sync.WaitGroup
	e2, err := Compile(`$sum([1..n]) & ":" & $join(items^(>$), ",")`)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				n := i*50 + j + 1
				input := mustJSON(t, fmt.Sprintf(`{"n":%d,"items":["b","a","c"]}`, n))
				v, _, err := e2.Eval(context.Background(), input, nil)
				want := fmt.Sprintf("%d:c,b,a", n*(n+1)/2)
				if err != nil || v != want {
					errs <- fmt.Errorf("n=%d: %v, %v", n, v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
