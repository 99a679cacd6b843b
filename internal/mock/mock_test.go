package mock

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAWSExample loads AWS's example file and answers as its documentation says each test case
// behaves.
func TestAWSExample(t *testing.T) {
	t.Parallel()
	c, err := Load(filepath.Join("testdata", "MockConfigFile.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.TestCases("LambdaSQSIntegration"), ","); got != "HappyPath,HybridPath,RetryPath" {
		t.Fatalf("test cases %s", got)
	}
	const lambdaOK = `{"StatusCode":200,"Payload":{"StatusCode":200,"body":"Hello from Lambda!"}}`
	const sqsOK = `{"MD5OfMessageBody":"3bcb6e8e-7h85-4375-b0bc-1a59812c6e51","MessageId":"3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}`
	notReady := &Throw{Error: "Lambda.ResourceNotReadyException", Cause: "Lambda resource is not ready."}
	timedOut := &Throw{Error: "Lambda.TimeoutException", Cause: "Lambda timed out."}
	tests := []struct {
		testCase, state string
		invocation      int64
		mocked          bool
		ret             string
		throw           *Throw
		err             error
	}{
		{"HappyPath", "LambdaState", 0, true, lambdaOK, nil, nil},
		{"HappyPath", "SQSState", 0, true, sqsOK, nil, nil},
		{"HappyPath", "LambdaState", 1, true, "", nil, ErrNoResponse},
		{"RetryPath", "LambdaState", 0, true, "", notReady, nil},
		{"RetryPath", "LambdaState", 1, true, "", timedOut, nil},
		{"RetryPath", "LambdaState", 2, true, "", timedOut, nil},
		{"RetryPath", "LambdaState", 3, true, lambdaOK, nil, nil},
		{"RetryPath", "LambdaState", 4, true, "", nil, ErrNoResponse},
		{"RetryPath", "SQSState", 0, true, sqsOK, nil, nil},
		{"HybridPath", "LambdaState", 0, true, lambdaOK, nil, nil},
		{"HybridPath", "SQSState", 0, false, "", nil, nil},
		{"HybridPath", "NoSuchState", 7, false, "", nil, nil},
	}
	for _, tt := range tests {
		tc, err := c.TestCase("LambdaSQSIntegration", tt.testCase)
		if err != nil {
			t.Fatal(err)
		}
		out, mocked, err := tc.Response(tt.state, tt.invocation)
		if mocked != tt.mocked || !errors.Is(err, tt.err) {
			t.Errorf("%s %s #%d: mocked %v, err %v; want %v, %v", tt.testCase, tt.state, tt.invocation, mocked, err, tt.mocked, tt.err)
			continue
		}
		if err != nil || !mocked {
			continue
		}
		if out.Return != tt.ret || (out.Throw == nil) != (tt.throw == nil) || out.Throw != nil && *out.Throw != *tt.throw {
			t.Errorf("%s %s #%d: got %+v %+v, want %q %+v", tt.testCase, tt.state, tt.invocation, out.Return, out.Throw, tt.ret, tt.throw)
		}
	}
	if _, err := c.TestCase("LambdaSQSIntegration", "SadPath"); !errors.Is(err, ErrNoTestCase) {
		t.Errorf("unknown test case: %v", err)
	}
	if _, err := c.TestCase("Other", "HappyPath"); !errors.Is(err, ErrNoStateMachine) {
		t.Errorf("unknown state machine: %v", err)
	}
}

func TestReturnKeepsTheFilesJSON(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(`{"StateMachines":{"M":{"TestCases":{"T":{"S":"R"}}}},
		"MockedResponses":{"R":{"0-1":{"Return":{ "b" : 1.50, "a" : [1e3, null] }},"2":{"Return":null},"3":{"Return":"text"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	tc, err := c.TestCase("M", "T")
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range []string{`{"b":1.50,"a":[1e3,null]}`, `{"b":1.50,"a":[1e3,null]}`, `null`, `"text"`} {
		out, _, err := tc.Response("S", int64(n))
		if err != nil || out.Return != want || out.Throw != nil {
			t.Errorf("invocation %d: %+v %v, want %s", n, out, err, want)
		}
	}
}

func TestParseRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key      string
		from, to int64
		ok       bool
	}{
		{"0", 0, 0, true},
		{"3", 3, 3, true},
		{"1-2", 1, 2, true},
		{"0-0", 0, 0, true},
		{"007", 7, 7, true},
		{"10-200", 10, 200, true},
		{"", 0, 0, false},
		{"-1", 0, 0, false},
		{"1-", 0, 0, false},
		{"2-1", 0, 0, false},
		{"1-2-3", 0, 0, false},
		{" 1", 0, 0, false},
		{"1 - 2", 0, 0, false},
		{"+1", 0, 0, false},
		{"one", 0, 0, false},
		{"1.5", 0, 0, false},
		{"99999999999999999999", 0, 0, false},
	}
	for _, tt := range tests {
		from, to, err := parseRange(tt.key)
		if (err == nil) != tt.ok || tt.ok && (from != tt.from || to != tt.to) {
			t.Errorf("parseRange(%q) = %d, %d, %v; want %d, %d, ok %v", tt.key, from, to, err, tt.from, tt.to, tt.ok)
		}
	}
}

// TestProblems pins the message of each kind of mistake: one line per problem, naming where
// it is by JSON pointer.
func TestProblems(t *testing.T) {
	t.Parallel()
	const sm = `"StateMachines":{"M":{"TestCases":{"T":{"S":"R"}}}}`
	tests := []struct {
		name, doc, want string
	}{
		{"not JSON", `{"StateMachines":`, `the file is not valid JSON: unexpected end of JSON input at /`},
		{"not an object", `[1]`, `the mock configuration must be an object, not an array at /`},
		{"no state machines", `{"MockedResponses":{}}`, `the field StateMachines is required at /`},
		{"singular MockedResponse", `{` + sm + `,"MockedResponse":{"R":{"0":{"Return":1}}}}`,
			`unknown field "MockedResponse": a mock configuration has StateMachines and MockedResponses at /MockedResponse` + "\n" +
				`the mocked response "R" is not defined in MockedResponses at /StateMachines/M/TestCases/T/S`},
		{"no TestCases", `{"StateMachines":{"M":{}},"MockedResponses":{}}`, `the field TestCases is required at /StateMachines/M`},
		{"test case not an object", `{"StateMachines":{"M":{"TestCases":{"T":[]}}},"MockedResponses":{}}`,
			`a test case must be an object, not an array at /StateMachines/M/TestCases/T`},
		{"state mapped to a non-string", `{"StateMachines":{"M":{"TestCases":{"T":{"S":{"Return":1}}}}},"MockedResponses":{}}`,
			`a test case maps a state to the name of a mocked response (a string), not an object at /StateMachines/M/TestCases/T/S`},
		{"bad range", `{` + sm + `,"MockedResponses":{"R":{"first":{"Return":1}}}}`,
			`invalid invocation "first": want a number such as "0" or an inclusive range such as "1-2" at /MockedResponses/R/first`},
		{"backward range", `{` + sm + `,"MockedResponses":{"R":{"3-1":{"Return":1}}}}`,
			`invalid invocation range "3-1": it ends before it starts at /MockedResponses/R/3-1`},
		{"overlap", `{` + sm + `,"MockedResponses":{"R":{"0-2":{"Return":1},"2":{"Return":2}}}}`,
			`the invocation ranges "0-2" and "2" overlap at /MockedResponses/R`},
		{"both", `{` + sm + `,"MockedResponses":{"R":{"0":{"Return":1,"Throw":{"Error":"E","Cause":"C"}}}}}`,
			`a response must have exactly one field, Return or Throw, not 2 at /MockedResponses/R/0`},
		{"neither", `{` + sm + `,"MockedResponses":{"R":{"0":{"Result":1}}}}`,
			`unknown field "Result": a response is Return or Throw at /MockedResponses/R/0/Result`},
		{"throw without cause", `{` + sm + `,"MockedResponses":{"R":{"0":{"Throw":{"Error":"E"}}}}}`,
			`the field Cause is required at /MockedResponses/R/0/Throw`},
		{"throw error not a string", `{` + sm + `,"MockedResponses":{"R":{"0":{"Throw":{"Error":5,"Cause":null}}}}}`,
			`Cause must be a string, not null at /MockedResponses/R/0/Throw/Cause` + "\n" + `Error must be a string, not a number at /MockedResponses/R/0/Throw/Error`},
		{"throw extra field", `{` + sm + `,"MockedResponses":{"R":{"0":{"Throw":{"Error":"E","Cause":"C","Code":1}}}}}`,
			`unknown field "Code": Throw has Error and Cause at /MockedResponses/R/0/Throw/Code`},
		{"slash in a name", `{"StateMachines":{"a/b":{"TestCases":{"T":{"S":"R~1"}}}},"MockedResponses":{}}`,
			`the mocked response "R~1" is not defined in MockedResponses at /StateMachines/a~1b/TestCases/T/S`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("got %v, want an *Error", err)
			}
			var lines []string
			for _, p := range me.Problems {
				lines = append(lines, p.String())
			}
			if got := strings.Join(lines, "\n"); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(file, []byte(`{"StateMachines":{"M":{"TestCases":{"T":{"S":"Nope"}}}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(file)
	want := file + `: the mocked response "Nope" is not defined in MockedResponses at /StateMachines/M/TestCases/T/S`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
