package intrinsic

import (
	"errors"
	"testing"

	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/jsonv"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"States.Format('a {} b \\{\\}', $.s)", "States.StringToJson($.j)", "States.JsonToString($)",
		"States.Array(1, -2.5e3, 'x', true, null, $$.c)", "States.ArrayPartition($.a, 2)",
		"States.ArrayContains($.a, 1)", "States.ArrayRange(1, 9, 2)", "States.ArrayGetItem($.a, 0)",
		"States.ArrayLength($.a)", "States.ArrayUnique($.a)", "States.Base64Encode($.s)",
		"States.Base64Decode('QUI=')", "States.Hash($.s, 'SHA-256')", "States.JsonMerge($.o, $.o, false)",
		"States.MathRandom(1, 10, 3)", "States.MathAdd($.n, -1)", "States.StringSplit($.s, ',')",
		"States.UUID()", "States.Format($v, States.ArrayLength($.a[?(@ > 1)]))",
	} {
		f.Add(s)
	}
	doc := mustParse(f, `{"s":"a,b {}","j":"{\"x\":[1,2]}","a":[1,2,2,"x",{"k":null}],"o":{"k":1},"n":2.5}`)
	s := &entropyScope{scope: scope{input: doc, context: doc, vars: map[string]jsonv.Value{"v": "{} {}"}}, random: []byte{7, 1}}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse(text)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) = %v, not ErrSyntax", text, err)
			}
			return
		}
		v, err := c.Eval(s)
		var se *sferr.Error
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("Eval(%q) = %v, not an *sferr.Error", text, err)
		}
		if err == nil {
			// Every result must be a JSON value that survives a round trip.
			if _, perr := jsonv.ParseString(jsonv.String(v)); perr != nil {
				t.Fatalf("Eval(%q) = %#v, not JSON: %v", text, v, perr)
			}
		}
	})
}
