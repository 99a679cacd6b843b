package intrinsic

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/jsonv"
)

type scope struct {
	input, context jsonv.Value
	vars           map[string]jsonv.Value
}

func (s *scope) Input() jsonv.Value   { return s.input }
func (s *scope) Context() jsonv.Value { return s.context }
func (s *scope) Variable(name string) (jsonv.Value, bool) {
	v, ok := s.vars[name]
	return v, ok
}

// entropyScope is an Entropy that repeats its bytes.
type entropyScope struct {
	scope
	random []byte
}

func (s *entropyScope) ReadRandom(p []byte) {
	for i := range p {
		p[i] = s.random[i%len(s.random)]
	}
}

func mustParse(t testing.TB, s string) jsonv.Value {
	t.Helper()
	v, err := jsonv.ParseString(s)
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return v
}

func TestEval(t *testing.T) {
	for _, tc := range []struct {
		name, call, input, want string
	}{
		// Recorded against AWS (conformance corpus, group intrinsic_functions and others).
		{"Array empty", "States.Array()", `{}`, `[]`},
		{"Array of paths", "States.Array($.FunctionInput.fst, $.FunctionInput.snd)", `{"FunctionInput":{"fst":{"Arg1":1,"Arg2":[]},"snd":null}}`, `[{"Arg1":1,"Arg2":[]},null]`},
		{"Array of literals", "States.Array('a', 'b', 'c')", `{}`, `["a","b","c"]`},
		{"ArrayContains empty", "States.ArrayContains($.a, $.b)", `{"a":[],"b":[]}`, `false`},
		{"ArrayContains array", "States.ArrayContains($.a, $.b)", `{"a":[[1,2,3],2],"b":[1,2,3]}`, `true`},
		{"ArrayContains object", "States.ArrayContains($.a, $.b)", `{"a":[{"1":2,"2":[]}],"b":{"1":2,"2":[]}}`, `true`},
		{"ArrayContains null", "States.ArrayContains($.a, $.b)", `{"a":[[1,2,3],2],"b":null}`, `false`},
		{"ArrayContains false", "States.ArrayContains($.a, $.b)", `{"a":[true,false],"b":false}`, `true`},
		{"ArrayGetItem", "States.ArrayGetItem($.a, $.i)", `{"a":[1,2,3,4,5,6,7,8,9],"i":5}`, `6`},
		{"ArrayLength", "States.ArrayLength($.a)", `{"a":[1,2,3,4,5,6,7,8,9]}`, `9`},
		{"ArrayPartition empty", "States.ArrayPartition($.a, 3)", `{"a":[]}`, `[]`},
		{"ArrayPartition by 2", "States.ArrayPartition($.a, $.n)", `{"a":[0,1,2],"n":2}`, `[[0,1],[2]]`},
		{"ArrayPartition by 3", "States.ArrayPartition($.a, $.n)", `{"a":[0,1,2,3],"n":3}`, `[[0,1,2],[3]]`},
		{"ArrayPartition larger", "States.ArrayPartition($.a, $.n)", `{"a":[0,1],"n":5}`, `[[0,1]]`},
		{"ArrayRange 0 9 3", "States.ArrayRange($.a, $.b, $.c)", `{"a":0,"b":9,"c":3}`, `[0,3,6,9]`},
		{"ArrayRange 0 10 3", "States.ArrayRange($.a, $.b, $.c)", `{"a":0,"b":10,"c":3}`, `[0,3,6,9]`},
		{"ArrayRange 1 9 9", "States.ArrayRange(1, 9, 9)", `{}`, `[1]`},
		{"ArrayRange 1 9 2", "States.ArrayRange(1, 9, 2)", `{}`, `[1,3,5,7,9]`},
		{"ArrayRange 0 3 1", "States.ArrayRange(0, 3, 1)", `{}`, `[0,1,2,3]`},
		{"ArrayUnique", "States.ArrayUnique($.a)", `{"a":[1,2,2,3,3,4]}`, `[1,2,3,4]`},
		{"Base64Decode empty", "States.Base64Decode($.s)", `{"s":""}`, `""`},
		{"Base64Decode", "States.Base64Decode($.s)", `{"s":"RGF0YSB0byBlbmNvZGU="}`, `"Data to encode"`},
		{"Base64Encode empty", "States.Base64Encode($.s)", `{"s":""}`, `""`},
		{"Base64Encode", "States.Base64Encode($.s)", `{"s":"Data to encode"}`, `"RGF0YSB0byBlbmNvZGU="`},
		{"Format context", "States.Format('Formatting arguments fst={} and snd={}.', $$.Execution.Name, $$.StateMachine)", `{}`,
			`"Formatting arguments fst=exec-name and snd={Id=arn:aws:states:us-east-1:111111111111:stateMachine:sm-name, Name=sm-name}."`},
		{"Format empty string", "States.Format('Formatting argument {}.', $.v)", `{"v":""}`, `"Formatting argument ."`},
		{"Format null", "States.Format('Formatting argument {}.', $.v)", `{"v":null}`, `"Formatting argument null."`},
		{"Format decimal", "States.Format('Formatting argument {}.', $.v)", `{"v":1.1}`, `"Formatting argument 1.1."`},
		{"Format JSON text", "States.Format('Formatting argument {}.', $.v)", `{"v":"{\"Arg1\": 1, \"Arg2\": []}"}`, `"Formatting argument {\"Arg1\": 1, \"Arg2\": []}."`},
		{"Format object", "States.Format('fst={} and snd={}.', $.a, $.b)", `{"a":{"Arg1":1,"Arg2":[]},"b":1}`, `"fst={Arg1=1, Arg2=[]} and snd=1."`},
		{"Format template from a path", "States.Format($.t, $.name)", `{"t":"It's {}!","name":"Pikachu"}`, `"It's Pikachu!"`},
		{"Format template from a variable", "States.Format($AnswerTemplate, 'Squirtle')", `{}`, `"It's Squirtle!"`},
		{"Format two strings", "States.Format('Hello {}, welcome to {}!', $.name, $.place)", `{"name":"John","place":"LocalStack"}`, `"Hello John, welcome to LocalStack!"`},
		{"Format escaped braces", `States.Format('\{"key":"{}"\}', $.v)`, `{"v":"test123"}`, `"{\"key\":\"test123\"}"`},
		{"Hash MD5", "States.Hash($.d, 'MD5')", `{"d":"input data"}`, `"812f45842bc6d66ee14572ce20db8e86"`},
		{"Hash SHA-1", "States.Hash($.d, $.a)", `{"d":"input data","a":"SHA-1"}`, `"aaff4a450a104cd177d28d18d74485e8cae074b7"`},
		{"Hash SHA-256", "States.Hash($.d, 'SHA-256')", `{"d":"input data"}`, `"b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"`},
		{"Hash SHA-384", "States.Hash($.d, 'SHA-384')", `{"d":"input data"}`, `"d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562"`},
		{"Hash SHA-512", "States.Hash($.d, 'SHA-512')", `{"d":"input data"}`, `"6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4"`},
		{"Hash SHA-256 2", "States.Hash($.d, 'SHA-256')", `{"d":"Hash this string"}`, `"1cac63f39fd68d8c531f27b807610fb3d50f0fc3f186995767fb6316e7200a3e"`},
		{"JsonMerge", "States.JsonMerge($.a, $.b, false)", `{"a":{"a":{"a1":1,"a2":2},"b":2,"d":3},"b":{"a":{"a3":1,"a4":2},"c":3,"d":4}}`, `{"a":{"a3":1,"a4":2},"b":2,"d":4,"c":3}`},
		{"JsonMerge nested StringToJson", `States.JsonMerge(States.StringToJson('{"constant_in_literal": "false"}'), $$.Execution.Input.x, false)`, `{}`, `{"constant_in_literal":"false","constant_input_field":"constant_value"}`},
		{"JsonToString null", "States.JsonToString($.v)", `{"v":null}`, `"null"`},
		{"JsonToString decimal", "States.JsonToString($.v)", `{"v":1.1}`, `"1.1"`},
		{"JsonToString string", "States.JsonToString($.v)", `{"v":"HelloWorld"}`, `"\"HelloWorld\""`},
		{"JsonToString array", "States.JsonToString($.v)", `{"v":[1, 2, "HelloWorld"]}`, `"[1,2,\"HelloWorld\"]"`},
		{"JsonToString object", "States.JsonToString($.v)", `{"v":{"Arg1": 1, "Arg2": []}}`, `"{\"Arg1\":1,\"Arg2\":[]}"`},
		{"StringToJson empty", "States.StringToJson($.v)", `{"v":""}`, `null`},
		{"StringToJson blank", "States.StringToJson($.v)", `{"v":" "}`, `null`},
		{"StringToJson null", "States.StringToJson($.v)", `{"v":"null"}`, `null`},
		{"StringToJson -0", "States.StringToJson($.v)", `{"v":"-0"}`, `0`},
		{"StringToJson decimal", "States.StringToJson($.v)", `{"v":"1.1"}`, `1.1`},
		{"StringToJson true", "States.StringToJson($.v)", `{"v":"true"}`, `true`},
		{"StringToJson string", "States.StringToJson($.v)", `{"v":"\"HelloWorld\""}`, `"HelloWorld"`},
		{"StringToJson array", "States.StringToJson($.v)", `{"v":"[1, 2, \"HelloWorld\"]"}`, `[1,2,"HelloWorld"]`},
		{"StringToJson object", "States.StringToJson($.v)", `{"v":"{\"Arg1\": 1, \"Arg2\": []}"}`, `{"Arg1":1,"Arg2":[]}`},
		{"MathAdd ints", "States.MathAdd($.a, $.b)", `{"a":-9,"b":3}`, `-6`},
		{"MathAdd 1.49 1.5", "States.MathAdd($.a, $.b)", `{"a":1.49,"b":1.5}`, `3`},
		{"MathAdd 1.5 1.51", "States.MathAdd($.a, $.b)", `{"a":1.5,"b":1.51}`, `4`},
		{"MathAdd -1.49 -1.5", "States.MathAdd($.a, $.b)", `{"a":-1.49,"b":-1.5}`, `-2`},
		{"MathAdd -1.5 -1.51", "States.MathAdd($.a, $.b)", `{"a":-1.5,"b":-1.51}`, `-3`},
		{"MathAdd 1.49 -1.49", "States.MathAdd($.a, $.b)", `{"a":1.49,"b":-1.49}`, `0`},
		{"MathAdd -0.5 0.5", "States.MathAdd($.a, $.b)", `{"a":-0.5,"b":0.5}`, `1`},
		{"MathAdd -0.5 0", "States.MathAdd($.a, $.b)", `{"a":-0.5,"b":0}`, `0`},
		{"MathAdd 2.5 0", "States.MathAdd($.a, $.b)", `{"a":2.5,"b":0}`, `3`},
		{"MathAdd -2.5 0", "States.MathAdd($.a, $.b)", `{"a":-2.5,"b":0}`, `-2`},
		{"MathAdd -3.5 0", "States.MathAdd($.a, $.b)", `{"a":-3.5,"b":0}`, `-3`},
		{"MathAdd literal -1", "States.MathAdd($.n, -1)", `{"n":3}`, `2`},
		{"MathAdd nested with decimal variable", "States.MathAdd(States.MathAdd(States.MathAdd($y, $x), $z), $bias)", `{}`, `63`},
		{"StringSplit one blank", "States.StringSplit($.s, $.d)", `{"s":" ","d":","}`, `[" "]`},
		{"StringSplit blanks", "States.StringSplit($.s, $.d)", `{"s":", , ,","d":","}`, `[" "," "]`},
		{"StringSplit only delimiters", "States.StringSplit($.s, $.d)", `{"s":",,,,","d":","}`, `[]`},
		{"StringSplit any delimiter", "States.StringSplit($.s, $.d)", `{"s":"This.is+a,test=string","d":".+,="}`, `["This","is","a","test","string"]`},
		{"StringSplit newline delimiter", "States.StringSplit($.s, $.d)", `{"s":"split on T and \nnew line","d":"T\n"}`, `["split on "," and ","new line"]`},
		{"StringSplit literal newline", "States.StringSplit('Hello\nWorld', '\n')", `{}`, `["Hello","World"]`},
		{"StringSplit context", "States.StringSplit($$.Execution.Input.FunctionInput, ',')", `{}`, `["Value1","Value2\nValue3"]`},
		{"nested calls", "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))", `{}`, `"name"`},
		// AWS's rules where the corpus has no recording.
		{"root path", "States.JsonToString($)", `{"a":1}`, `"{\"a\":1}"`},
		{"literal escapes", `States.Format('it\'s \\ {}', 'x')`, `{}`, `"it's \\ x"`},
		{"literal booleans and null", "States.Array(true, false, null, 1.50, -2e3)", `{}`, `[true,false,null,1.50,-2e3]`},
		{"Format nested strings and arrays", "States.Format('{}', $.v)", `{"v":{"a":["x",{"b":null}],"c":true}}`, `"{a=[x, {b=null}], c=true}"`},
		{"Format no placeholder", "States.Format('plain')", `{}`, `"plain"`},
		{"Format lone brace", "States.Format('a { b } c {}', 1)", `{}`, `"a { b } c 1"`},
		{"ArrayRange descending", "States.ArrayRange(5, 1, -2)", `{}`, `[5,3,1]`},
		{"ArrayRange empty", "States.ArrayRange(5, 1, 2)", `{}`, `[]`},
		{"ArrayRange 1000 items", "States.ArrayLength(States.ArrayRange(1, 1000, 1))", `{}`, `1000`},
		{"ArrayPartition rounds the size", "States.ArrayPartition($.a, 1.5)", `{"a":[1,2,3]}`, `[[1,2],[3]]`},
		{"ArrayUnique deep", "States.ArrayUnique($.a)", `{"a":[{"a":1},{"a":1},[1],[1.0],"1",1]}`, `[{"a":1},[1],"1",1]`},
		{"Base64 unpadded", "States.Base64Decode('QUI')", `{}`, `"AB"`},
		{"Base64 unicode", "States.Base64Decode(States.Base64Encode('día 😀'))", `{}`, `"día 😀"`},
		{"MathRandom seeded 0 999 42", "States.MathRandom(0, 999, 42)", `{}`, `125`},
		{"MathRandom seeded negative range", "States.MathRandom(-99999, -9999, 3)", `{}`, `-36265`},
		{"MathRandom seeded power of two", "States.MathRandom(0, 1024, -7)", `{}`, `275`},
		{"MathRandom seeded large seed", "States.MathRandom(1, 10, 123456789012)", `{}`, `7`},
		{"MathRandom seeded full int range", "States.MathRandom(0, 2147483647, 0)", `{}`, `1569741360`},
		{"MathRandom seeded by path", "States.MathRandom($.fst, $.snd, $.trd)", `{"fst":0,"snd":999,"trd":3}`, `239`},
		{"StringSplit empty delimiter", "States.StringSplit('a,b', '')", `{}`, `["a,b"]`},
		{"whitespace", " States.Format( '{}' ,\t$.v\n)  ", `{"v":1}`, `"1"`},
		{"filter path argument", "States.ArrayLength($.a[?(@.x > 1)])", `{"a":[{"x":1},{"x":2},{"x":3}]}`, `2`},
		{"function path argument", "States.MathAdd($.a.length(), 1)", `{"a":[1,2]}`, `3`},
		{"bracket path argument", "States.Format('{}', $['a b'])", `{"a b":"x"}`, `"x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.TrimLeft(tc.call, " "))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.call, err)
			}
			s := &scope{
				input:   mustParse(t, tc.input),
				context: mustParse(t, `{"Execution":{"Name":"exec-name","Input":{"x":{"constant_input_field":"constant_value"},"FunctionInput":"Value1,Value2\nValue3,,"}},"StateMachine":{"Id":"arn:aws:states:us-east-1:111111111111:stateMachine:sm-name","Name":"sm-name"}}`),
				vars: map[string]jsonv.Value{
					"AnswerTemplate": "It's {}!", "x": jsonv.Number("9"), "y": jsonv.Number("44"), "z": jsonv.Number("6"), "bias": jsonv.Number("4.3"),
				},
			}
			got, err := c.Eval(s)
			if err != nil {
				t.Fatalf("Eval(%q): %v", tc.call, err)
			}
			if g := jsonv.String(got); g != tc.want {
				t.Errorf("Eval(%q) = %s, want %s", tc.call, g, tc.want)
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	for _, tc := range []struct {
		call, input, name, cause string
	}{
		// Recorded against AWS (after the "An error occurred while executing the state" prefix).
		{"States.Format('{}', $.nope)", `{"other":1}`, sferr.Runtime,
			`The function 'States.Format('{}', $.nope)' had the following error: The JsonPath argument for the field '$.nope' could not be found in the input '{"other":1}'`},
		{"States.Format('{}', States.Format('{}', $.nope))", `{"other":1}`, sferr.Runtime,
			`The function 'States.Format('{}', States.Format('{}', $.nope))' had the following error: The JsonPath argument for the field '$.nope' could not be found in the input '{"other":1}'`},
		{"States.Format('{}', $.items[5])", `{"items":[1,2]}`, sferr.Runtime,
			`The function 'States.Format('{}', $.items[5])' had the following error: The JsonPath argument for the field '$.items[5]' could not be found in the input '{"items":[1,2]}'`},
		// The same shape for the function's own failures.
		{"States.Format('{} {}', 1)", `{}`, sferr.IntrinsicFailure,
			`The function 'States.Format('{} {}', 1)' had the following error: Number of arguments does not match the number of placeholders in the format string: 1 arguments for 2 placeholders`},
		{"States.Format($.t, 1)", `{"t":"none"}`, sferr.IntrinsicFailure, ""},
		{"States.Format(1)", `{}`, sferr.IntrinsicFailure,
			`The function 'States.Format(1)' had the following error: Invalid argument 1 of States.Format: expected a string, got number 1`},
		{"States.ArrayLength($.a)", `{"a":"x"}`, sferr.IntrinsicFailure,
			`The function 'States.ArrayLength($.a)' had the following error: Invalid argument 1 of States.ArrayLength: expected an array, got string "x"`},
		{"States.ArrayGetItem($.a, 3)", `{"a":[1,2,3]}`, sferr.IntrinsicFailure,
			`The function 'States.ArrayGetItem($.a, 3)' had the following error: Invalid argument 2 of States.ArrayGetItem: index 3 is out of bounds for an array of length 3`},
		{"States.ArrayGetItem($.a, -1)", `{"a":[1]}`, sferr.IntrinsicFailure, ""},
		{"States.ArrayPartition($.a, 0)", `{"a":[1]}`, sferr.IntrinsicFailure, ""},
		{"States.ArrayRange(0, 1000, 1)", `{}`, sferr.IntrinsicFailure,
			`The function 'States.ArrayRange(0, 1000, 1)' had the following error: States.ArrayRange cannot create an array of more than 1000 elements`},
		{"States.ArrayRange(0, 9223372036854775807, 1)", `{}`, sferr.IntrinsicFailure, ""},
		{"States.ArrayRange(0, 10, 0)", `{}`, sferr.IntrinsicFailure, ""},
		{"States.ArrayRange('0', 10, 1)", `{}`, sferr.IntrinsicFailure, ""},
		{"States.Base64Decode('QQ=')", `{}`, sferr.IntrinsicFailure, ""},
		{"States.Base64Decode('Q')", `{}`, sferr.IntrinsicFailure, ""},
		{"States.Base64Decode($.s)", `{"s":"Zm9v\n"}`, sferr.IntrinsicFailure, ""},
		{"States.Base64Encode($.s)", `{"s":"` + strings.Repeat("a", 10001) + `"}`, sferr.IntrinsicFailure, ""},
		{"States.Hash($.s, 'SHA-256')", `{"s":"` + strings.Repeat("é", 10001) + `"}`, sferr.IntrinsicFailure, ""},
		{"States.Hash('x', 'sha-256')", `{}`, sferr.IntrinsicFailure,
			`The function 'States.Hash('x', 'sha-256')' had the following error: Invalid argument 2 of States.Hash: unsupported algorithm "sha-256"; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512`},
		{"States.Hash(1, 'MD5')", `{}`, sferr.IntrinsicFailure, ""},
		{"States.JsonMerge($.a, $.b, true)", `{"a":{},"b":{}}`, sferr.IntrinsicFailure, ""},
		{"States.JsonMerge($.a, $.b, false)", `{"a":{},"b":[]}`, sferr.IntrinsicFailure, ""},
		{"States.JsonMerge($.a, $.b, 'false')", `{"a":{},"b":{}}`, sferr.IntrinsicFailure, ""},
		{"States.MathAdd($.a, 1)", `{"a":"1"}`, sferr.IntrinsicFailure, ""},
		{"States.MathRandom(5, 5)", `{}`, sferr.IntrinsicFailure, ""},
		{"States.MathRandom(0, 4294967296)", `{}`, sferr.IntrinsicFailure, ""},
		{"States.StringSplit($.a, ',')", `{"a":1}`, sferr.IntrinsicFailure, ""},
		{"States.StringToJson($.s)", `{"s":"{oops"}`, sferr.IntrinsicFailure, ""},
		{"States.StringToJson($.s)", `{"s":1}`, sferr.IntrinsicFailure, ""},
		{"States.Format('{}', $nope)", `{}`, sferr.Runtime,
			`The function 'States.Format('{}', $nope)' had the following error: The JsonPath argument for the field '$nope' could not be found in the input '{}'`},
	} {
		c, err := Parse(tc.call)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.call, err)
		}
		_, err = c.Eval(&scope{input: mustParse(t, tc.input)})
		var se *sferr.Error
		if !errors.As(err, &se) {
			t.Fatalf("Eval(%q) = %v, want an *sferr.Error", tc.call, err)
		}
		if se.Name != tc.name {
			t.Errorf("Eval(%q): error %s, want %s (%s)", tc.call, se.Name, tc.name, se.Cause)
		}
		prefix := "The function '" + tc.call + "' had the following error: "
		if !strings.HasPrefix(se.Cause, prefix) || (tc.cause != "" && se.Cause != tc.cause) {
			t.Errorf("Eval(%q):\n cause %q\n want  %q", tc.call, se.Cause, tc.cause)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, call := range []string{
		// Recorded against AWS: a \" in an intrinsic string makes the definition invalid.
		`States.StringToJson('{"text":"An \"escaped double quote\" here"}')`,
		`States.Format('He said, \"Hello, {}!\"', 'Test \"Name\" Here')`,
		// Argument counts, as AWS checks them when the definition is created.
		"States.Format()",
		"States.StringToJson()",
		"States.StringToJson($.a, $.b)",
		"States.JsonToString()",
		"States.ArrayPartition($.a)",
		"States.ArrayContains($.a)",
		"States.ArrayRange(1, 2)",
		"States.ArrayGetItem($.a)",
		"States.ArrayLength()",
		"States.ArrayUnique($.a, $.b)",
		"States.Base64Encode()",
		"States.Base64Decode('a', 'b')",
		"States.Hash('a')",
		"States.JsonMerge($.a, $.b)",
		"States.MathRandom(1)",
		"States.MathRandom(1, 2, 3, 4)",
		"States.MathAdd(1)",
		"States.StringSplit('a')",
		"States.UUID(1)",
		// Syntax.
		"",
		"States",
		"States.Format",
		"States.Nope()",
		"states.Format('x')",
		"States.Format('x'",
		"States.Format('x',)",
		"States.Format(,'x')",
		"States.Format('x' 'y')",
		"States.Format('x') extra",
		"States.Format('unterminated)",
		`States.Format('bad \n escape')`,
		"States.Format('x', $.a b)",
		"States.Format('x', $.)",
		"States.Format('x', $[)",
		"States.Format('x', 01)",
		"States.Format('x', 1.)",
		"States.Format('x', +1)",
		"States.Format('x', True)",
		"States.Format('x', nul)",
		"States.Format('x', States.Nope())",
		"States.Format('x', States.Format())",
		"States.Format('x', \"y\")",
		strings.Repeat("States.Array(", 101) + strings.Repeat(")", 101),
	} {
		if c, err := Parse(call); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v, %v; want ErrSyntax", call, c, err)
		}
	}
}

func TestString(t *testing.T) {
	s := "States.Format('{}',  $.a)"
	c, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if c.String() != s || c.Name() != "States.Format" {
		t.Errorf("String() = %q, Name() = %q", c.String(), c.Name())
	}
}

func TestUUID(t *testing.T) {
	c, err := Parse("States.UUID()")
	if err != nil {
		t.Fatal(err)
	}
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, err := c.Eval(&scope{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Eval(&scope{})
	if s, ok := a.(string); !ok || !v4.MatchString(s) || a == b {
		t.Errorf("UUIDs %v and %v: want two different v4 UUIDs", a, b)
	}
	s := &entropyScope{random: []byte{0xff}}
	for range 2 {
		if got, _ := c.Eval(s); got != "ffffffff-ffff-4fff-bfff-ffffffffffff" {
			t.Errorf("UUID with fixed entropy = %v", got)
		}
	}
}

func TestMathRandomUnseeded(t *testing.T) {
	c, err := Parse("States.MathRandom(12.5, 44.51)")
	if err != nil {
		t.Fatal(err)
	}
	for range 200 {
		v, err := c.Eval(&scope{})
		if err != nil {
			t.Fatal(err)
		}
		n, _ := v.(jsonv.Number).Int64()
		if n < 13 || n >= 45 {
			t.Fatalf("MathRandom(12.5, 44.51) = %d, want [13, 45)", n)
		}
	}
	s := &entropyScope{random: []byte{1, 2, 3}}
	first, _ := c.Eval(s)
	if again, _ := c.Eval(s); first != again {
		t.Errorf("MathRandom with fixed entropy: %v then %v", first, again)
	}
}

func TestJavaRound(t *testing.T) {
	// Values from Java 17's Math.round.
	for x, want := range map[float64]int64{
		1.49: 1, 1.5: 2, -1.5: -1, -1.51: -2, 0.5: 1, 2.5: 3, -2.5: -2, -0.5: 0,
		0.49999999999999994: 0, 1e19: 9223372036854775807, -1e19: -9223372036854775808, 4.3: 4, -3.5: -3,
	} {
		if got := javaRound(x); got != want {
			t.Errorf("javaRound(%v) = %d, want %d", x, got, want)
		}
	}
}

func BenchmarkFormat(b *testing.B) {
	c, err := Parse("States.Format('Hello {}, welcome to {}!', $.name, $.place)")
	if err != nil {
		b.Fatal(err)
	}
	s := &scope{input: mustParse(b, `{"name":"John","place":"Stepline","other":[1,2,3]}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Eval(s); err != nil {
			b.Fatal(err)
		}
	}
}
