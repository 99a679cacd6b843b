package path

import (
	"errors"
	"testing"

	"github.com/stepline/stepline/internal/jsonv"
)

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"$", "$$", "$x", "$.a.b[0]", "$['a b'][-1]", "$.a[1:3]", "$.a[:2]", "$.a[-2:]", "$.a[0,1]",
		"$['a','b']", "$.*", "$[*]", "$..b", "$..*", "$.a[?(@.b < 10)]", "$.a[?(@.b == 'x' && @.c)]",
		"$.a[?(@.b =~ /x.*/i)]", "$.a[?(@.b in [1,2])]", "$.a[?(!@.b || @.c nin ['x'])]",
		"$.a.length()", "$..b.sum()", `$['q\'x']`, "$.a[?(@.b size 2)]", "$.a[?(@.c empty false)]",
	} {
		f.Add(s)
	}
	doc := mustParse(f, `{"a":[{"b":1,"c":"x"},{"b":[1,2],"c":null},"s",7],"q\\'x":{"b":{"c":[true]}},"a b":[0,-1.5e3]}`)
	s := &scope{input: doc, context: doc, vars: map[string]jsonv.Value{"x": doc}}
	f.Fuzz(func(t *testing.T, text string) {
		if p, err := Compile(text); err == nil {
			v, err := p.Eval(s)
			if err == nil && !p.IsDefinite() {
				if _, ok := v.([]jsonv.Value); !ok && p.fn == nil {
					t.Fatalf("indefinite %q gave %s, not an array", text, jsonv.String(v))
				}
			}
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatalf("Eval(%q) = %v, not a NotFound error", text, err)
			}
			_ = p.Normalized()
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("Compile(%q) = %v, not ErrInvalid", text, err)
		}
		p, err := CompileReference(text)
		if err != nil {
			return
		}
		before := jsonv.String(doc)
		out, err := p.Set(doc, "v")
		if err != nil {
			if !errors.Is(err, ErrCannotSet) {
				t.Fatalf("Set(%q) = %v, not ErrCannotSet", text, err)
			}
			return
		}
		if jsonv.String(doc) != before {
			t.Fatalf("Set(%q) changed its target", text)
		}
		if got, err := p.EvalValue(out); err != nil || !jsonv.Equal(got, "v") {
			t.Fatalf("Set(%q) then Eval = %v, %v; want \"v\"", text, got, err)
		}
	})
}
