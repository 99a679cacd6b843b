package path

import (
	"errors"
	"testing"

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

func mustParse(t testing.TB, s string) jsonv.Value {
	t.Helper()
	v, err := jsonv.ParseString(s)
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return v
}

const store = `{"store":{"book":[
 {"category":"reference","author":"Nigel Rees","title":"Sayings of the Century","price":8.95},
 {"category":"fiction","author":"Evelyn Waugh","title":"Sword of Honour","price":12.99},
 {"category":"fiction","author":"Herman Melville","title":"Moby Dick","isbn":"0-553-21311-3","price":8.99},
 {"category":"fiction","author":"J. R. R. Tolkien","title":"The Lord of the Rings","isbn":"0-395-19395-8","price":22.99}],
 "bicycle":{"color":"red","price":19.95}},"expensive":10}`

func TestEval(t *testing.T) {
	for _, tc := range []struct {
		name, path, input, want string
	}{
		// Recorded against AWS (conformance corpus, group base).
		{"index 0", "$.items[0]", `{"items":[{"item_key":0},{"item_key":1}]}`, `{"item_key":0}`},
		{"index 10", "$.items[10]", `{"items":[0,1,2,3,4,5,6,7,8,9,{"item_key":10}]}`, `{"item_key":10}`},
		{"wildcard on empty object", "$[*]", `{}`, `[]`},
		{"wildcard under missing", "$.item.items[*]", `{}`, `[]`},
		{"slice from under missing", "$.items[1:]", `{}`, `[]`},
		{"slice to under missing", "$.item.items[:1]", `{}`, `[]`},
		{"slice then name under missing", "$.items[1:5].itemValue", `{}`, `[]`},
		{"filter ==", "$.users[?(@.status == 0)]", `{"users":[{"year":1997,"status":0},{"year":1998,"status":1}]}`, `[{"year":1997,"status":0}]`},
		{"backslash kept in bracket name", `$['Test\""Name"']`, `{"Test\\\"\"Name\"":"Value\"\\"}`, `"Value\"\\"`},
		{"dash in dot name", "$.delivery-partner", `{"delivery-partner":"x"}`, `"x"`},
		{"root", "$", `{"a":1}`, `{"a":1}`},
		// Jayway semantics.
		{"dot names", "$.a.b.c", `{"a":{"b":{"c":[1]}}}`, `[1]`},
		{"bracket names", `$['a b']["c"]`, `{"a b":{"c":2}}`, `2`},
		{"unicode name", "$.día", `{"día":"lunes"}`, `"lunes"`},
		{"negative index", "$.a[-1]", `{"a":[1,2,3]}`, `3`},
		{"index union", "$.a[0,2]", `{"a":[1,2,3]}`, `[1,3]`},
		{"index union past end reads null", "$.a[0,5]", `{"a":[1,2,3]}`, `[1,null]`},
		{"slice between", "$.a[1:3]", `{"a":[1,2,3,4]}`, `[2,3]`},
		{"slice to", "$.a[:2]", `{"a":[1,2,3,4]}`, `[1,2]`},
		{"slice negative from", "$.a[-2:]", `{"a":[1,2,3,4]}`, `[3,4]`},
		{"slice past end", "$.a[2:10]", `{"a":[1,2,3,4]}`, `[3,4]`},
		{"name union merges", "$['a','c']", `{"a":1,"b":2,"c":3}`, `{"a":1,"c":3}`},
		{"name union skips missing", "$['a','x']", `{"a":1}`, `{"a":1}`},
		{"name union then name", "$['a','b'].v", `{"a":{"v":1},"b":{"v":2}}`, `[1,2]`},
		{"dot wildcard on object", "$.*", `{"a":1,"b":[2]}`, `[1,[2]]`},
		{"wildcard then name", "$.store.book[*].author", store, `["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"]`},
		{"deep scan name", "$..price", store, `[8.95,12.99,8.99,22.99,19.95]`},
		{"deep scan under", "$.store..price", store, `[8.95,12.99,8.99,22.99,19.95]`},
		{"deep scan wildcard", "$..*", `{"a":{"b":1},"c":[2]}`, `[{"b":1},[2],1,2]`},
		{"deep scan index", "$..book[2].title", store, `["Moby Dick"]`},
		{"filter <", "$.store.book[?(@.price < 10)].title", store, `["Sayings of the Century","Moby Dick"]`},
		{"filter existence", "$..book[?(@.isbn)].author", store, `["Herman Melville","J. R. R. Tolkien"]`},
		{"filter not existence", "$..book[?(!@.isbn)].price", store, `[8.95,12.99]`},
		{"filter && ", "$.store.book[?(@.category == 'fiction' && @.price > 10)].title", store, `["Sword of Honour","The Lord of the Rings"]`},
		{"filter ||", `$.store.book[?(@.price > 20 || @.author == "Nigel Rees")].price`, store, `[8.95,22.99]`},
		{"filter root reference", "$.store.book[?(@.price > $.expensive)].price", store, `[12.99,22.99]`},
		{"filter regex", "$.store.book[?(@.author =~ /.*REES/i)].price", store, `[8.95]`},
		{"filter regex matches whole string", "$.store.book[?(@.author =~ /Rees/)].price", store, `[]`},
		{"filter in", "$.store.book[?(@.category in ['reference','poetry'])].price", store, `[8.95]`},
		{"filter nin", "$.store.book[?(@.category nin ['fiction'])].price", store, `[8.95]`},
		{"filter !=", "$.store.book[?(@.category != 'fiction')].price", store, `[8.95]`},
		{"filter != on missing", "$.store.book[?(@.isbn != 'x')].price", store, `[8.95,12.99,8.99,22.99]`},
		{"filter size", "$.a[?(@.t size 2)].n", `{"a":[{"n":1,"t":[1,2]},{"n":2,"t":"ab"},{"n":3,"t":[]}]}`, `[1,2]`},
		{"filter empty", "$.a[?(@.t empty true)].n", `{"a":[{"n":1,"t":[1,2]},{"n":3,"t":[]}]}`, `[3]`},
		{"filter anyof", "$.a[?(@.t anyof [2,9])].n", `{"a":[{"n":1,"t":[1,2]},{"n":3,"t":[]}]}`, `[1]`},
		{"filter contains", "$.a[?(@.s contains 'el')].n", `{"a":[{"n":1,"s":"hello"},{"n":2,"s":"x"}]}`, `[1]`},
		{"filter on current value", "$.a[?(@ > 1)]", `{"a":[1,2,3]}`, `[2,3]`},
		{"filter string compare", "$.a[?(@ < 'b')]", `{"a":["a","b","c"]}`, `["a"]`},
		{"filter number vs string", "$.a[?(@ == '1')]", `{"a":[1,"1"]}`, `["1"]`},
		{"filter parenthesised", "$.a[?(!(@.x == 1))].x", `{"a":[{"x":1},{"x":2}]}`, `[2]`},
		{"filter on an object tests the object", "$.o[?(@.x == 1)]", `{"o":{"x":1}}`, `[{"x":1}]`},
		{"filter length function", "$.a[?(@.t.length() > 1)].n", `{"a":[{"n":1,"t":[1,2]},{"n":3,"t":[]}]}`, `[1]`},
		{"length", "$.store.book.length()", store, `4`},
		{"length of object", "$.store.length()", store, `2`},
		{"keys", "$.store.bicycle.keys()", store, `["color","price"]`},
		{"sum after scan", "$..price.sum()", `{"a":{"price":1},"b":{"price":2}}`, `3.0`},
		{"max", "$.a.max()", `{"a":[1,5,2]}`, `5.0`},
		{"avg", "$.a.avg()", `{"a":[1,2]}`, `1.5`},
		{"length per match", "$.a[*].length()", `{"a":[[1],[1,2]]}`, `[1,2]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile(tc.path)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.path, err)
			}
			got, err := p.Eval(&scope{input: mustParse(t, tc.input)})
			if err != nil {
				t.Fatalf("Eval(%q): %v", tc.path, err)
			}
			if s := jsonv.String(got); s != jsonv.String(mustParse(t, tc.want)) {
				t.Errorf("Eval(%q) = %s, want %s", tc.path, s, tc.want)
			}
		})
	}
}

func TestEvalRoots(t *testing.T) {
	s := &scope{
		input:   mustParse(t, `{"a":1}`),
		context: mustParse(t, `{"Execution":{"Name":"exec"}}`),
		vars:    map[string]jsonv.Value{"x": mustParse(t, `{"a":{"b":[7]}}`), "n_2": jsonv.Number("2")},
	}
	for _, tc := range []struct {
		path, want string
		root       Root
		variable   string
	}{
		{"$.a", `1`, RootInput, ""},
		{"$$", `{"Execution":{"Name":"exec"}}`, RootContext, ""},
		{"$$.Execution.Name", `"exec"`, RootContext, ""},
		{"$x", `{"a":{"b":[7]}}`, RootVariable, "x"},
		{"$x.a.b[0]", `7`, RootVariable, "x"},
		{"$x['a']", `{"b":[7]}`, RootVariable, "x"},
		{"$n_2", `2`, RootVariable, "n_2"},
	} {
		p, err := Compile(tc.path)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tc.path, err)
		}
		if p.Root() != tc.root || p.Variable() != tc.variable {
			t.Errorf("%q: root %v %q, want %v %q", tc.path, p.Root(), p.Variable(), tc.root, tc.variable)
		}
		got, err := p.Eval(s)
		if err != nil {
			t.Fatalf("Eval(%q): %v", tc.path, err)
		}
		if jsonv.String(got) != tc.want {
			t.Errorf("Eval(%q) = %s, want %s", tc.path, jsonv.String(got), tc.want)
		}
	}
	p, _ := Compile("$nope.a")
	_, err := p.Eval(s)
	var uv *UndefinedVariableError
	if !errors.As(err, &uv) || uv.Name != "nope" || !errors.Is(err, ErrNotFound) {
		t.Errorf("Eval($nope.a) = %v, want an UndefinedVariableError", err)
	}
}

func TestEvalNotFound(t *testing.T) {
	for _, tc := range []struct {
		path, input, detail string
		outOfRange          bool
	}{
		// Recorded against AWS: "Invalid path '<path>' : <detail>".
		{"$.NoSuchInputPath", `{}`, "No results for path: $['NoSuchInputPath']", false},
		{"$.no.such.result.path", `{"a":1}`, "Missing property in path $['no']", false},
		// Jayway's texts for the other definite misses.
		{"$.a.b", `{"a":{}}`, "No results for path: $['a']['b']", false},
		{"$.a[3]", `{"a":[1]}`, "No results for path: $['a'][3]", true},
		{"$.a[-2]", `{"a":[1]}`, "No results for path: $['a'][-2]", true},
		{"$.a[0]", `{"a":1}`, "Filter: [0] can only be applied to arrays. Current context is: 1", false},
		{"$.a[0]", `{"a":{"b":"c"}}`, `Filter: [0] can only be applied to arrays. Current context is: {"b":"c"}`, false},
		{"$.a[0]", `{"a":"s"}`, `Filter: [0] can only be applied to arrays. Current context is: s`, false},
		{"$[0]", `"s"`, `Filter: [0] can only be applied to arrays. Current context is: "s"`, false},
		{"$.a[0]", `{"a":null}`, "The path $['a'] is null", false},
		{"$.a[5].b", `{"a":[]}`, "Expected to find an object with property ['b'] in path $['a'][5] but found 'null'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonNodeJsonProvider'.", false},
		{"$.a.b", `{"a":"x"}`, "Expected to find an object with property ['b'] in path $['a'] but found 'java.lang.String'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonNodeJsonProvider'.", false},
		{"$.a.b", `{"a":1.5}`, "Expected to find an object with property ['b'] in path $['a'] but found 'java.lang.Double'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonNodeJsonProvider'.", false},
		{"$.a.b", `{"a":[]}`, "Expected to find an object with property ['b'] in path $['a'] but found 'com.fasterxml.jackson.databind.node.ArrayNode'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonNodeJsonProvider'.", false},
		{"$.a", `7`, "Expected to find an object with property ['a'] in path $ but found 'com.fasterxml.jackson.databind.node.IntNode'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonNodeJsonProvider'.", false},
		{"$.a.length()", `{"a":"s"}`, "Invalid property name for length(): not an array or object", false},
	} {
		p, err := Compile(tc.path)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tc.path, err)
		}
		_, err = p.Eval(&scope{input: mustParse(t, tc.input)})
		var nf *NotFoundError
		if !errors.As(err, &nf) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("Eval(%q) on %s = %v, want a NotFoundError", tc.path, tc.input, err)
		}
		if nf.Detail != tc.detail || nf.OutOfRange != tc.outOfRange || nf.Path != tc.path {
			t.Errorf("Eval(%q) on %s:\n got %q (out of range %v)\nwant %q (%v)", tc.path, tc.input, nf.Detail, nf.OutOfRange, tc.detail, tc.outOfRange)
		}
		if want := "Invalid path '" + tc.path + "' : " + tc.detail; err.Error() != want {
			t.Errorf("Error() = %q, want %q", err.Error(), want)
		}
	}
}

func TestNormalized(t *testing.T) {
	for path, want := range map[string]string{
		"$":                       "$",
		"$.a.b[0]":                "$['a']['b'][0]",
		"$$.Execution.Input":      "$['Execution']['Input']",
		"$x.a[-1]":                "$['a'][-1]",
		"$['a','b']":              "$['a','b']",
		"$.a[1:3][:2][4:][0,1]":   "$['a'][1:3][:2][4:][0,1]",
		"$..a.*[?(@.b)].length()": "$..['a'][*][?].length()",
	} {
		p, err := Compile(path)
		if err != nil {
			t.Fatalf("Compile(%q): %v", path, err)
		}
		if got := p.Normalized(); got != want {
			t.Errorf("Normalized(%q) = %q, want %q", path, got, want)
		}
		if p.String() != path {
			t.Errorf("String() = %q, want %q", p.String(), path)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		path      string
		reference bool // only CompileReference rejects it
	}{
		{"", false},
		{"a.b", false},
		{"$.", false},
		{"$..", false},
		{"$...a", false},
		{"$.a b", false},
		{"$[", false},
		{"$['a'", false},
		{"$['a' 'b']", false},
		{"$[a]", false},
		{"$[1:2:3]", false},
		{"$[:]", false},
		{"$[1,x]", false},
		{"$[?(@.a ==)]", false},
		{"$[?(@.a == 1]", false},
		{"$[?@.a]", false},
		{"$[?(@.a =~ 'x')]", false},
		{"$[?(@.a =~ /(/)]", false},
		{"$.a.nosuchfn()", false},
		{"$.a.length().b", false},
		{"$..length()", false},
		{"$.a.length(1)", false},
		{"$.a[*]", true},
		{"$.a[0:1]", true},
		{"$..a", true},
		{"$.a[?(@.b)]", true},
		{"$.a[0,1]", true},
		{"$['a','b']", true},
		{"$.a.length()", true},
	} {
		_, err := Compile(tc.path)
		if tc.reference {
			if err != nil {
				t.Errorf("Compile(%q) = %v, want success", tc.path, err)
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Errorf("Compile(%q) = %v, want ErrInvalid", tc.path, err)
		}
		if _, err := CompileReference(tc.path); !errors.Is(err, ErrInvalid) {
			t.Errorf("CompileReference(%q) = %v, want ErrInvalid", tc.path, err)
		}
	}
	for _, ok := range []string{"$", "$$", "$.a", "$x", "$x.a[0]", "$$.Map.Item.Value", "$.a[-1]", "$['a b'][2]"} {
		if _, err := CompileReference(ok); err != nil {
			t.Errorf("CompileReference(%q) = %v", ok, err)
		}
	}
}

func TestSet(t *testing.T) {
	for _, tc := range []struct {
		path, target, v, want string
	}{
		{"$", `{"a":1}`, `"r"`, `"r"`},
		{"$.result", `{"a":1}`, `2`, `{"a":1,"result":2}`},
		{"$.a", `{"a":1,"b":2}`, `3`, `{"a":3,"b":2}`},
		// Recorded against AWS: ResultPath $.enigma.mystery creates the missing object.
		{"$.enigma.mystery", `{"functionName":"f"}`, `{"riddle":"r"}`, `{"functionName":"f","enigma":{"mystery":{"riddle":"r"}}}`},
		{"$.a.b.c", `{"a":{"x":1}}`, `true`, `{"a":{"x":1,"b":{"c":true}}}`},
		{"$['a b'].c", `{}`, `1`, `{"a b":{"c":1}}`},
		{"$.a[1]", `{"a":[1,2,3]}`, `9`, `{"a":[1,9,3]}`},
		{"$.a[-1].b", `{"a":[{},{}]}`, `9`, `{"a":[{},{"b":9}]}`},
		{"$.x", `{}`, `null`, `{"x":null}`},
	} {
		p, err := CompileReference(tc.path)
		if err != nil {
			t.Fatalf("CompileReference(%q): %v", tc.path, err)
		}
		target := mustParse(t, tc.target)
		before := jsonv.String(target)
		got, err := p.Set(target, mustParse(t, tc.v))
		if err != nil {
			t.Fatalf("Set(%q): %v", tc.path, err)
		}
		if jsonv.String(got) != tc.want {
			t.Errorf("Set(%q) = %s, want %s", tc.path, jsonv.String(got), tc.want)
		}
		if jsonv.String(target) != before {
			t.Errorf("Set(%q) changed its target to %s", tc.path, jsonv.String(target))
		}
	}
}

func TestSetShares(t *testing.T) {
	target := mustParse(t, `{"big":{"x":[1,2,3]},"a":{"b":1}}`)
	p, _ := CompileReference("$.a.c")
	got, err := p.Set(target, "v")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := target.(*jsonv.Object).Get("big")
	after, _ := got.(*jsonv.Object).Get("big")
	if before.(*jsonv.Object) != after.(*jsonv.Object) {
		t.Errorf("Set copied a member off the path")
	}
}

func TestSetErrors(t *testing.T) {
	for _, tc := range []struct {
		path, target, msg string
	}{
		// AWS's text for a ResultPath on an input that is not an object.
		{"$.someTaskResult", `"input1"`, `Unable to apply ReferencePath $.someTaskResult to input "input1"`},
		{"$.a", `[1]`, `Unable to apply ReferencePath $.a to input [1]`},
		{"$.a.b", `{"a":"x"}`, `Unable to apply step "b" to input {"a":"x"}`},
		{"$.a.b", `{"a":null}`, `Unable to apply step "b" to input {"a":null}`},
		{"$.a[0]", `{"a":{}}`, `Unable to apply step "[0]" to input {"a":{}}`},
		{"$.a[2]", `{"a":[1]}`, `Unable to apply step "[2]" to input {"a":[1]}`},
		{"$[0]", `{}`, `Unable to apply ReferencePath $[0] to input {}`},
	} {
		p, err := CompileReference(tc.path)
		if err != nil {
			t.Fatalf("CompileReference(%q): %v", tc.path, err)
		}
		_, err = p.Set(mustParse(t, tc.target), "v")
		var se *SetError
		if !errors.As(err, &se) || !errors.Is(err, ErrCannotSet) {
			t.Fatalf("Set(%q) on %s = %v, want a SetError", tc.path, tc.target, err)
		}
		if err.Error() != tc.msg {
			t.Errorf("Set(%q) on %s: %q, want %q", tc.path, tc.target, err.Error(), tc.msg)
		}
	}
	p, _ := Compile("$.a[*]")
	if _, err := p.Set(mustParse(t, `{}`), 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("Set on an indefinite path = %v, want ErrInvalid", err)
	}
}

func TestFormatJavaDouble(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 1.5: "1.5", -2: "-2.0", 0.001: "0.001", 0.0001: "1.0E-4", 1e7: "1.0E7",
		1234567.5: "1234567.5", 1e21: "1.0E21", 1.25e-10: "1.25E-10", 0: "0.0",
	} {
		if got := formatJavaDouble(f); got != want {
			t.Errorf("formatJavaDouble(%v) = %q, want %q", f, got, want)
		}
	}
}

func BenchmarkEvalDefinite(b *testing.B) {
	p, err := Compile("$.a.b.c")
	if err != nil {
		b.Fatal(err)
	}
	s := &scope{input: mustParse(b, `{"x":1,"a":{"y":2,"b":{"z":3,"c":"value"}}}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Eval(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSet(b *testing.B) {
	p, err := CompileReference("$.result.value")
	if err != nil {
		b.Fatal(err)
	}
	target := mustParse(b, `{"x":1,"a":{"y":2},"result":{"old":true}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Set(target, "v"); err != nil {
			b.Fatal(err)
		}
	}
}
