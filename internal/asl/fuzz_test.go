package asl

import (
	"errors"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/jsonv"
)

// FuzzParse checks that no definition makes Parse panic, and that it either returns a machine or
// a DefinitionError with at least one diagnostic.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{"a.$":"$.x","b":[{"c.$":"$$.Execution.Id"}]},"ResultPath":"$.r","End":true}}}`,
		`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"And":[{"Variable":"$.a","NumericEquals":1},{"Not":{"Variable":"$.b","IsPresent":true}}],"Next":"W"}],"Default":"F"},"W":{"Type":"Wait","SecondsPath":"$.s","Next":"F"},"F":{"Type":"Fail","ErrorPath":"$.e","CausePath":"States.Format('{}', $.c)"}}}`,
		`{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrencyPath":"$.mc","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":2}],"End":true}}},"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"}},"ToleratedFailurePercentage":5,"End":true}}}`,
		`{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"X"}],"End":true}}}`,
		`{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","Output":"{% $states.input %}","End":true}}}`,
		`{"StartAt":"S","States":{"S":{"Type":"Wait","Timestamp":"2016-03-14T01:59:00Z","Next":"S"},"S":{"Type":"Succeed"}}}`,
		`not json`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, def []byte) {
		for _, typ := range []MachineType{Standard, Express} {
			sm, err := Parse(def, ParseOptions{Type: typ})
			var de *DefinitionError
			switch {
			case err == nil && sm == nil:
				t.Fatal("nil machine without error")
			case err != nil && (!errors.As(err, &de) || len(de.Diagnostics) == 0):
				t.Fatalf("error without diagnostics: %v", err)
			case err != nil:
				_ = err.Error()
			}
		}
	})
}

// FuzzJSONataField puts an expression in a JSONata state's Output: Parse either accepts it or
// reports why, evaluation returns a value or an EvaluationError, and a plain field path followed
// without the evaluator gives what the evaluator gives.
func FuzzJSONataField(f *testing.F) {
	for _, seed := range []string{
		"$states.input.o", "$states.context.Execution.Id", "$v.w", "$count", "$sum($states.input.list) + $x",
		"function($a){$a}", "$y := 1; $y", "$partition([1,2,3], 2)", "$range(1, 9, 2)", "$hash('a', 'MD5')",
		"$random(7)", "$uuid()", "$parse('[1]')", "/a$b/", "'$s' & \"$t\"", "`$u`", "/* $c */ 1", "a[1,2)", "",
		"$states", "$states['input']", "$$", "λ($a){$a + $b}(1)",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		for _, n := range scanRefs(expr).names {
			if !strings.Contains(expr, "$"+n) {
				t.Fatalf("name %q is not in %q", n, expr)
			}
		}
		output := string(jsonv.AppendString(nil, "{%"+expr+"%}"))
		def := `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Pass","Output":` + output + `,"End":true}}}`
		sm, err := Parse([]byte(def), ParseOptions{})
		if err != nil {
			var de *DefinitionError
			if !errors.As(err, &de) || len(de.Diagnostics) == 0 ||
				de.Diagnostics[0].Code != CodeInvalidJSONata && de.Diagnostics[0].Code != CodeUnsupportedJSONata {
				t.Fatalf("Parse: %v", err)
			}
			return
		}
		sc := jsonataScope(t)
		e := sm.States["S"].Output.(*jsonataExpr)
		v, err := e.Eval(sc)
		var ee *EvaluationError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("Eval: %v", err)
		}
		if e.path == nil {
			return
		}
		if direct, ok := e.path.follow(sc); ok && (err != nil || jsonv.String(direct) != jsonv.String(v)) {
			t.Fatalf("followed %s, evaluator gives %s %v", jsonv.String(direct), jsonv.String(v), err)
		}
	})
}
