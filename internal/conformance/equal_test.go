package conformance

import (
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/jsonv"
)

func TestEqual(t *testing.T) {
	tokens := []string{"generated-uuid"}
	for _, tc := range []struct{ name, mine, theirs, want string }{
		{"equal", `{"a":[1,{"b":null}]}`, `{"a":[1,{"b":null}]}`, ""},
		{"key order does not matter", `{"a":1,"b":2}`, `{"b":2,"a":1}`, ""},
		{"numbers by value", `[1.0,100]`, `[1,1e2]`, ""},
		{"a <...> token matches anything", `{"a":{"x":1}}`, `{"a":"<ArnPart_0idx>"}`, ""},
		{"so does a string containing one", `"arn:x:1"`, `"arn:<partition>:1"`, ""},
		{"and a runtime token", `"3f1e"`, `"generated-uuid"`, ""},
		{"a token needs its brackets closed without spaces", `"x"`, `"<not a token>"`, `got "x", want "<not a token>"`},
		{"placeholders only on the recorded side", `"<anything>"`, `"x"`, `got "<anything>", want "x"`},
		{"a date wildcard matches a whole header value", `{"Date":["Sun, 06 Dec 2026 05:14:25 GMT"]}`, `{"Date":"date"}`, ""},
		{"a value that is its key's name matches anything", `{"x-amzn-RequestId":["3f1e"]}`, `{"x-amzn-RequestId":"x-amzn-RequestId"}`, ""},
		{"but not under another key", `{"a":"x"}`, `{"a":"b"}`, `a: got "x", want "b"`},
		{"a boolean is not a number", `true`, `1`, `got true, want 1`},
		{"missing key", `{"a":1}`, `{"a":1,"b":2}`, `b: missing, want 2`},
		{"unexpected key", `{"a":1,"c":3}`, `{"a":1}`, `c: unexpected, got 3`},
		{"path to the difference", `{"a":[0,{"b":"x"}]}`, `{"a":[0,{"b":"y"}]}`, `a[1].b: got "x", want "y"`},
		{"array length", `[1,2]`, `[1,2,3]`, `2 elements, want 3`},
		{"type", `[1]`, `{"a":1}`, `got [1], want {"a":1}`},
		{
			"long strings show where they part",
			`"An error occurred while executing the state 'S' (entered at the event id #2). Bad path"`,
			`"An error occurred while executing the state 'S' (entered at the event id #2). Good path"`,
			`got …"ed at the event id #2). Bad path", want …"ed at the event id #2). Good path"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := diffAt("", mustParse(t, tc.mine), mustParse(t, tc.theirs), tokens).String()
			if got != tc.want {
				t.Errorf("diff = %q, want %q", got, tc.want)
			}
			if Equal(mustParse(t, tc.mine), mustParse(t, tc.theirs), tokens) != (tc.want == "") {
				t.Errorf("Equal disagrees with diffAt")
			}
		})
	}
}

func eventList(t *testing.T, s string) []jsonv.Value {
	t.Helper()
	l, _ := mustParse(t, s).([]jsonv.Value)
	return l
}

func TestDiffEvents(t *testing.T) {
	const (
		started = `{"id":1,"type":"ParallelStateStarted"}`
		a       = `{"id":[0],"previousEventId":0,"type":"PassStateEntered","stateEnteredEventDetails":{"name":"A"}}`
		b       = `{"id":[0],"previousEventId":0,"type":"PassStateEntered","stateEnteredEventDetails":{"name":"B"}}`
		any     = `{"id":[0],"previousEventId":0,"type":"PassStateEntered","stateEnteredEventDetails":{"name":"<any>"}}`
		exited  = `{"id":5,"type":"ParallelStateExited"}`
	)
	for _, tc := range []struct{ name, mine, theirs, want, category string }{
		{"equal", `[` + started + `,` + exited + `]`, `[` + started + `,` + exited + `]`, "", ""},
		{"branch events in any order", `[` + started + `,` + b + `,` + a + `,` + exited + `]`, `[` + started + `,` + a + `,` + b + `,` + exited + `]`, "", ""},
		{
			// Greedy pairing would give A to <any> and then find nothing for A.
			"branch events paired as a whole",
			`[` + a + `,` + b + `]`, `[` + any + `,` + a + `]`, "", "",
		},
		{
			"a branch event missing",
			`[` + started + `,` + a + `,` + exited + `]`, `[` + started + `,` + a + `,` + b + `,` + exited + `]`,
			"event 2: parallel branch events: 1 events, want 2", "parallel branch events: different number",
		},
		{
			"a different branch event",
			`[` + a + `,` + a + `]`, `[` + a + `,` + b + `]`,
			`event 1: parallel branch events: no match for PassStateEntered "B", e.g. PassStateEntered stateEnteredEventDetails.name: got "A", want "B"`,
			"parallel branch events: PassStateEntered stateEnteredEventDetails.name differs",
		},
		{
			"a different type",
			`[` + started + `,` + started + `]`, `[` + started + `,` + exited + `]`,
			"event 2: got ParallelStateStarted, want ParallelStateExited", "got ParallelStateStarted where AWS has ParallelStateExited",
		},
		{
			"a different field",
			`[{"id":1,"type":"X","d":{"input":"{}","name":"s"}}]`, `[{"id":1,"type":"X","d":{"input":"[]","name":"s"}}]`,
			`event 1: X d.input: got "{}", want "[]"`, "X d.input differs",
		},
		{"ends early", `[` + started + `]`, `[` + started + `,` + exited + `]`, "history ends after 1 events; next recorded: ParallelStateExited", "history ends early; next recorded: ParallelStateExited"},
		{"extra events", `[` + started + `,` + exited + `]`, `[` + started + `]`, "1 extra events, first: ParallelStateExited", "extra events; first: ParallelStateExited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, cat := DiffEvents(eventList(t, tc.mine), eventList(t, tc.theirs), nil)
			if got != tc.want || cat != tc.category {
				t.Errorf("DiffEvents = %q, %q\nwant          %q, %q", got, cat, tc.want, tc.category)
			}
		})
	}
}

func TestGeneralise(t *testing.T) {
	for in, want := range map[string]string{
		`Invalid path '$.x' : No results for path: $['x']`:               `Invalid path '…' : No results for path: $['…']`,
		`The state "S1" failed at event 12 (entered at the event id #3)`: `The state "…" failed at event N (…)`,
		"first line\nsecond line":                                        "first line",
		strings.Repeat("x", 200):                                         strings.Repeat("x", 140) + "…",
	} {
		if got := generalise(in); got != want {
			t.Errorf("generalise(%q) = %q, want %q", in, got, want)
		}
	}
	const cause = `An error occurred while executing the state 'S' (entered at the event id #2). Invalid path '$.a'`
	if got, want := causeGist(cause), `Invalid path '…'`; got != want {
		t.Errorf("causeGist = %q, want %q", got, want)
	}
}
