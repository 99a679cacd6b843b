package conformance

import (
	"testing"

	"github.com/stepline/stepline/internal/jsonv"
)

func mustParse(t *testing.T, s string) jsonv.Value {
	t.Helper()
	v, err := jsonv.ParseString(s)
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return v
}

func normaliser(t *testing.T, normalization string) *Normaliser {
	t.Helper()
	o, _ := mustParse(t, normalization).(*jsonv.Object)
	n, err := NewNormaliser(o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPyDumps(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":[1,2.50,{"b":null}],"c":true}`, `{"a": [1, 2.50, {"b": null}], "c": true}`},
		{`"é😀"`, `"\u00e9\ud83d\ude00"`},
		{`"q\"b\\n\n\r\t\b\f"`, `"q\"b\\n\n\r\t\b\f"`},
		{`"\u0001\u007f~ "`, `"\u0001\u007f~ "`},
		{`"</script>"`, `"</script>"`},
	} {
		if got := pyDumps(mustParse(t, tc.in)); got != tc.want {
			t.Errorf("pyDumps(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestSnapshotDecode(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"object text in an object", `{"output":"{\"a\":1}"}`, `{"output":{"a":1}}`},
		{"only object texts", `{"a":"[1,2]","b":"\"x\"","c":"null","d":"1"}`, `{"a":"[1,2]","b":"\"x\"","c":"null","d":"1"}`},
		{"not JSON stays", `{"a":"{not json"}`, `{"a":"{not json"}`},
		{"objects in arrays are visited", `{"events":[{"input":"{}"}]}`, `{"events":[{"input":{}}]}`},
		{"strings in arrays are not", `{"a":["{}"]}`, `{"a":["{}"]}`},
		{"decoded values are not decoded again", `{"a":"{\"b\":\"{}\"}"}`, `{"a":{"b":"{}"}}`},
		{"a bare string is not", `"{}"`, `"{}"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := snapshotDecode(mustParse(t, tc.in))
			if jsonv.String(got) != jsonv.String(mustParse(t, tc.want)) {
				t.Errorf("got %s, want %s", jsonv.String(got), tc.want)
			}
		})
	}
}

func TestNormalise(t *testing.T) {
	const uuid1, uuid2 = "0f3d4c5b-1111-4222-8333-944455566677", "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"
	for _, tc := range []struct{ name, normalization, in, want string }{
		{
			"timestamp keys, except ISO-8601 strings",
			`{}`,
			`{"timestamp":1.5,"TimestampValue":"x","Timestamp":"2016-03-14T01:59:00Z","creationTime":3,"nested":[{"eventTimestamp":null}]}`,
			`{"timestamp":"timestamp","TimestampValue":"timestamp","Timestamp":"date","creationTime":"timestamp","nested":[{"eventTimestamp":"timestamp"}]}`,
		},
		{
			"UUIDs under id keys, numbered by first appearance and replaced everywhere",
			`{}`,
			`{"requestId":"` + uuid2 + `","x":{"TaskID":"` + uuid1 + `"},"again":"` + uuid2 + `/` + uuid1 + `","name":"` + uuid1 + `x"}`,
			`{"requestId":"<uuid:1>","x":{"TaskID":"<uuid:2>"},"again":"<uuid:1>/<uuid:2>","name":"<uuid:2>x"}`,
		},
		{
			"a UUID under another key is left alone",
			`{}`,
			`{"name":"` + uuid1 + `"}`,
			`{"name":"` + uuid1 + `"}`,
		},
		{
			"arrays of arrays are not visited by the key rules",
			`{}`,
			`{"a":[[{"timestamp":1}]]}`,
			`{"a":[[{"timestamp":1}]]}`,
		},
		{
			"case replacements run before the global ones",
			`{"replacements":[{"regex":"arn:aws:states:us-east-1:111111111111:stateMachine:sm","replacement":"<sm_arn>"}]}`,
			`["arn:aws:states:us-east-1:111111111111:stateMachine:sm","arn:aws:states:us-east-1:111111111111:stateMachine:other"]`,
			`["<sm_arn>","arn:<partition>:states:<region>:111111111111:stateMachine:other"]`,
		},
		{
			"replacements apply in the case's order",
			`{"replacements":[{"regex":"abc","replacement":"X"},{"regex":"X","replacement":"Y"}]}`,
			`"abc"`,
			`"Y"`,
		},
		{
			"a pattern that does not compile is replaced literally",
			`{"replacements":[{"regex":"a(b","replacement":"<r>"}]}`,
			`"xa(by"`,
			`"x<r>y"`,
		},
		{
			"replacement text is literal",
			`{"replacements":[{"regex":"(x)","replacement":"$1\\\\"}]}`,
			`"x"`,
			`"$1\\"`,
		},
		{
			"patterns see Python's separators",
			`{"replacements":[{"regex":"\"a\": \"x\"","replacement":"\"a\": \"z\""}]}`,
			`{"a":"x"}`,
			`{"a":"z"}`,
		},
		{
			"patterns see Python's escapes",
			`{"replacements":[{"regex":"b\\\\u00e9","replacement":"B"}]}`,
			`"bé"`,
			`"B"`,
		},
		{
			"ISO-8601 date-times anywhere become date",
			`{}`,
			`{"output":"{\"when\":\"2024-02-29T10:00:00.123+01:00\"}","s":"at 2023-02-29T10:00:00Z or 2022-07-13T13:48:01Z"}`,
			`{"output":{"when":"date"},"s":"at 2023-02-29T10:00:00Z or date"}`,
		},
		{
			"JSONPath transformers replace values after decoding",
			`{"other_transformers":[{"type":"jsonpath","jsonpath":"$..events..output.R","replacement":"random","replace_reference":false},{"type":"jsonpath","jsonpath":"$..T","replacement":"t","replace_reference":true}]}`,
			`{"events":[{"d":{"output":"{\"R\":0.5,\"T\":1}"}}],"R":2}`,
			`{"events":[{"d":{"output":{"R":"random","T":1}}}],"R":2}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := normaliser(t, tc.normalization).Normalise(mustParse(t, tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if jsonv.String(got) != jsonv.String(mustParse(t, tc.want)) {
				t.Errorf("got  %s\nwant %s", jsonv.String(got), tc.want)
			}
		})
	}
}

func TestPyToGoRegexp(t *testing.T) {
	for in, want := range map[string]string{
		`abc\Z`:       `abc\z`,
		`a\\Z`:        `a\\Z`,
		`[a-f0-9\-]+`: `[a-f0-9\-]+`,
		`trailing\`:   `trailing\`,
	} {
		if got := pyToGoRegexp(in); got != want {
			t.Errorf("pyToGoRegexp(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseSimplePath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []pathStep
		ok   bool
	}{
		{"$..a", []pathStep{{"a", true}}, true},
		{"$..events..b.c", []pathStep{{"events", true}, {"b", true}, {"c", false}}, true},
		{"$.a", []pathStep{{"a", false}}, true},
		{"$..a[0]", nil, false},
		{"a.b", nil, false},
		{"$..", nil, false},
	} {
		got, err := parseSimplePath(tc.in)
		if (err == nil) != tc.ok || len(got) != len(tc.want) {
			t.Errorf("parseSimplePath(%q) = %v, %v", tc.in, got, err)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("parseSimplePath(%q)[%d] = %v, want %v", tc.in, i, got[i], tc.want[i])
			}
		}
	}
}

func types(events []jsonv.Value) []string {
	var out []string
	for _, e := range events {
		id := jsonv.String(get(e.(*jsonv.Object), "id"))
		out = append(out, eventType(e)+"#"+id)
	}
	return out
}

func eventsOf(t *testing.T, typeList ...string) []jsonv.Value {
	var out []jsonv.Value
	for i, typ := range typeList {
		out = append(out, jsonv.ObjectOf(
			jsonv.Member{Key: "id", Value: jsonv.Int(int64(i + 1))},
			jsonv.Member{Key: "previousEventId", Value: jsonv.Int(int64(i))},
			jsonv.Member{Key: "type", Value: typ},
		))
	}
	return out
}

func TestSortParallelBranches(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{
			"branch events get id [0], are sorted, and ParallelStateSucceeded is dropped",
			[]string{"ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted", "PassStateExited", "PassStateEntered",
				"ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"},
			[]string{"ExecutionStarted#1", "ParallelStateEntered#2", "ParallelStateStarted#3", "PassStateEntered#[0]",
				"PassStateExited#[0]", "ParallelStateExited#7", "ExecutionSucceeded#8"},
		},
		{
			// As recorded in scenarios/base_scenarios__parallel_state_nested.
			"nested Parallels lose more events",
			[]string{"ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted", "ParallelStateEntered",
				"ParallelStateStarted", "PassStateEntered", "PassStateExited", "ParallelStateSucceeded", "ParallelStateExited",
				"ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"},
			[]string{"ExecutionStarted#1", "ParallelStateEntered#2", "ParallelStateStarted#3", "ParallelStateEntered#[0]",
				"ParallelStateStarted#5", "PassStateEntered#[0]", "PassStateExited#[0]", "ParallelStateExited#11",
				"ExecutionSucceeded#12"},
		},
		{
			"a failed Parallel",
			[]string{"ParallelStateStarted", "TaskStateEntered", "ParallelStateFailed", "ExecutionFailed"},
			[]string{"ParallelStateStarted#1", "TaskStateEntered#[0]", "ParallelStateFailed#3", "ExecutionFailed#4"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := types(SortParallelBranches(eventsOf(t, tc.in...)))
			if jsonv.String(strs(got)) != jsonv.String(strs(tc.want)) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func strs(s []string) []jsonv.Value {
	out := make([]jsonv.Value, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}
