// Package mock reads Step Functions Local's mock configuration file (MockConfigFile.json, named
// by SFN_MOCK_CONFIG) and answers one question: what does test case T of state machine M give
// state S at its n-th invocation — a result to return, an error to throw, or nothing, in which
// case the state calls its real integration.
//
// The format is AWS's (https://docs.aws.amazon.com/step-functions/latest/dg/sfn-local-mock-cfg-file.html):
//
//	{"StateMachines": {M: {"TestCases": {T: {S: RESPONSE}}}},
//	 "MockedResponses": {RESPONSE: {"0": {"Return": …}, "1-2": {"Throw": {"Error": …, "Cause": …}}}}}
//
// A file is checked whole when it is loaded, so that a mistake is reported once, at start,
// with where it is, rather than as a failed execution later. The package knows nothing of
// executions: counting invocations is the interpreter's job, running the answer the task
// runner's.
package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Config is a loaded mock configuration. It is immutable and safe for concurrent use.
type Config struct {
	// File is where it was read from ("" when parsed from bytes), for messages.
	File     string
	machines map[string]map[string]*TestCase // state machine → test case name → test case
}

// TestCase is one test case of a state machine: the states it mocks, each with its responses.
type TestCase struct {
	StateMachine string
	Name         string
	states       map[string]*Responses // by state name
}

// Responses is one entry of MockedResponses: an outcome per range of invocation numbers.
type Responses struct {
	Name   string
	ranges []span // sorted, not overlapping
}

type span struct {
	from, to int64 // inclusive
	out      *Outcome
}

// Outcome is one mocked response: a result (Return, JSON text) or an error (Throw).
type Outcome struct {
	// Return is the task's result as compact JSON text; empty when the outcome is a Throw.
	Return string
	// Throw is the task's error; nil when the outcome is a Return.
	Throw *Throw
}

// Throw is a mocked error: Error is the name Retry and Catch match.
type Throw struct {
	Error string
	Cause string
}

// Errors of lookups. Their messages are for people; match them with errors.Is.
var (
	// ErrNoStateMachine: the file has no entry for the state machine.
	ErrNoStateMachine = errors.New("state machine not in the mock configuration")
	// ErrNoTestCase: the state machine has no test case of that name.
	ErrNoTestCase = errors.New("test case not in the mock configuration")
	// ErrNoResponse: a mocked state has no response for an invocation number. Step Functions
	// Local fails the execution then.
	ErrNoResponse = errors.New("no mocked response for the invocation")
)

// Problem is one mistake in a mock configuration file: Path is a JSON pointer to it
// ("/MockedResponses/MockedLambdaRetry/1-2"; "/" for the whole document).
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string { return p.Message + " at " + p.Path }

// Error is a mock configuration file that cannot be used, with every problem found in it, in
// the order of their paths.
type Error struct {
	File     string
	Problems []Problem
}

// Error renders one line per problem, each naming the file, as `stepline serve` prints them.
func (e *Error) Error() string {
	file := e.File
	if file == "" {
		file = "mock configuration"
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = file + ": " + p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads and checks a mock configuration file.
func Load(file string) (*Config, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	c, err := Parse(b)
	var me *Error
	if errors.As(err, &me) {
		me.File = file
	}
	if err != nil {
		return nil, err
	}
	c.File = file
	return c, nil
}

// Parse checks a mock configuration document. Every problem it finds is reported, as an *Error.
func Parse(data []byte) (*Config, error) {
	p := &parser{}
	c := p.document(data)
	if len(p.problems) > 0 {
		slices.SortStableFunc(p.problems, func(a, b Problem) int { return strings.Compare(a.Path, b.Path) })
		return nil, &Error{Problems: p.problems}
	}
	return c, nil
}

type parser struct {
	problems []Problem
}

func (p *parser) add(path, format string, args ...any) {
	p.problems = append(p.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// object decodes raw as a JSON object, reporting at path what it is instead.
func (p *parser) object(path string, raw json.RawMessage, what string) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		p.add(path, "%s must be an object, not %s", what, kind(raw))
		return nil, false
	}
	return m, true
}

func (p *parser) document(data []byte) *Config {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		p.add("/", "the file is not valid JSON: %v", err)
		return nil
	}
	top, ok := p.object("/", data, "the mock configuration")
	if !ok {
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		if k != "StateMachines" && k != "MockedResponses" {
			p.add("/"+pointer(k), "unknown field %q: a mock configuration has StateMachines and MockedResponses", k)
		}
	}
	responses := map[string]*Responses{}
	if raw, ok := top["MockedResponses"]; ok {
		if m, ok := p.object("/MockedResponses", raw, "MockedResponses"); ok {
			for _, name := range slices.Sorted(maps.Keys(m)) {
				if r := p.responses("/MockedResponses/"+pointer(name), name, m[name]); r != nil {
					responses[name] = r
				}
			}
		}
	}
	c := &Config{machines: map[string]map[string]*TestCase{}}
	raw, ok := top["StateMachines"]
	if !ok {
		p.add("/", "the field StateMachines is required")
		return c
	}
	machines, ok := p.object("/StateMachines", raw, "StateMachines")
	if !ok {
		return c
	}
	for _, sm := range slices.Sorted(maps.Keys(machines)) {
		c.machines[sm] = p.machine("/StateMachines/"+pointer(sm), sm, machines[sm], responses)
	}
	return c
}

func (p *parser) machine(path, name string, raw json.RawMessage, responses map[string]*Responses) map[string]*TestCase {
	out := map[string]*TestCase{}
	m, ok := p.object(path, raw, "a state machine's entry")
	if !ok {
		return out
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "TestCases" {
			p.add(path+"/"+pointer(k), "unknown field %q: a state machine's entry has only TestCases", k)
		}
	}
	tcRaw, ok := m["TestCases"]
	if !ok {
		p.add(path, "the field TestCases is required")
		return out
	}
	cases, ok := p.object(path+"/TestCases", tcRaw, "TestCases")
	if !ok {
		return out
	}
	for _, tcName := range slices.Sorted(maps.Keys(cases)) {
		tcPath := path + "/TestCases/" + pointer(tcName)
		states, ok := p.object(tcPath, cases[tcName], "a test case")
		if !ok {
			continue
		}
		tc := &TestCase{StateMachine: name, Name: tcName, states: map[string]*Responses{}}
		for _, state := range slices.Sorted(maps.Keys(states)) {
			var ref string
			if err := json.Unmarshal(states[state], &ref); err != nil {
				p.add(tcPath+"/"+pointer(state), "a test case maps a state to the name of a mocked response (a string), not %s", kind(states[state]))
				continue
			}
			r, ok := responses[ref]
			if !ok {
				p.add(tcPath+"/"+pointer(state), "the mocked response %q is not defined in MockedResponses", ref)
				continue
			}
			tc.states[state] = r
		}
		out[tcName] = tc
	}
	return out
}

func (p *parser) responses(path, name string, raw json.RawMessage) *Responses {
	m, ok := p.object(path, raw, "a mocked response")
	if !ok {
		return nil
	}
	r := &Responses{Name: name}
	for _, key := range slices.Sorted(maps.Keys(m)) {
		at := path + "/" + pointer(key)
		from, to, err := parseRange(key)
		if err != nil {
			p.add(at, "%v", err)
			continue
		}
		out := p.outcome(at, m[key])
		if out == nil {
			continue
		}
		r.ranges = append(r.ranges, span{from: from, to: to, out: out})
	}
	slices.SortFunc(r.ranges, func(a, b span) int { return cmpInt(a.from, b.from) })
	for i := 1; i < len(r.ranges); i++ {
		if prev, cur := r.ranges[i-1], r.ranges[i]; cur.from <= prev.to {
			p.add(path, "the invocation ranges %q and %q overlap", rangeKey(prev), rangeKey(cur))
		}
	}
	return r
}

func (p *parser) outcome(path string, raw json.RawMessage) *Outcome {
	m, ok := p.object(path, raw, "an invocation's response")
	if !ok {
		return nil
	}
	if len(m) != 1 {
		p.add(path, "a response must have exactly one field, Return or Throw, not %d", len(m))
		return nil
	}
	if ret, ok := m["Return"]; ok {
		var b bytes.Buffer
		if err := json.Compact(&b, ret); err != nil {
			// Unreachable: the whole document was checked to be valid JSON.
			p.add(path+"/Return", "%v", err)
			return nil
		}
		return &Outcome{Return: b.String()}
	}
	raw, ok = m["Throw"]
	if !ok {
		for k := range m {
			p.add(path+"/"+pointer(k), "unknown field %q: a response is Return or Throw", k)
		}
		return nil
	}
	th, ok := p.object(path+"/Throw", raw, "Throw")
	if !ok {
		return nil
	}
	t := &Throw{}
	good := true
	for _, k := range slices.Sorted(maps.Keys(th)) {
		var dst *string
		switch k {
		case "Error":
			dst = &t.Error
		case "Cause":
			dst = &t.Cause
		default:
			p.add(path+"/Throw/"+pointer(k), "unknown field %q: Throw has Error and Cause", k)
			good = false
			continue
		}
		if err := json.Unmarshal(th[k], dst); err != nil || bytes.Equal(bytes.TrimSpace(th[k]), []byte("null")) {
			p.add(path+"/Throw/"+k, "%s must be a string, not %s", k, kind(th[k]))
			good = false
		}
	}
	for _, k := range []string{"Error", "Cause"} {
		if _, ok := th[k]; !ok {
			p.add(path+"/Throw", "the field %s is required", k)
			good = false
		}
	}
	if !good {
		return nil
	}
	return &Outcome{Throw: t}
}

// parseRange reads an invocation key: "N", or "N-M" with N <= M, whole numbers from 0.
func parseRange(key string) (from, to int64, err error) {
	bad := fmt.Errorf("invalid invocation %q: want a number such as \"0\" or an inclusive range such as \"1-2\"", key)
	a, b, isRange := strings.Cut(key, "-")
	if from, err = parseIndex(a); err != nil {
		return 0, 0, bad
	}
	if !isRange {
		return from, from, nil
	}
	if to, err = parseIndex(b); err != nil {
		return 0, 0, bad
	}
	if to < from {
		return 0, 0, fmt.Errorf("invalid invocation range %q: it ends before it starts", key)
	}
	return from, to, nil
}

func parseIndex(s string) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not a whole number")
	}
	return strconv.ParseInt(s, 10, 64)
}

func rangeKey(s span) string {
	if s.from == s.to {
		return strconv.FormatInt(s.from, 10)
	}
	return strconv.FormatInt(s.from, 10) + "-" + strconv.FormatInt(s.to, 10)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// kind names the JSON type of raw for messages.
func kind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// pointer escapes a key for a JSON pointer (RFC 6901).
func pointer(key string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
}

// TestCase returns a state machine's test case. A state machine the file does not name gives
// ErrNoStateMachine; a test case it does not define, ErrNoTestCase.
func (c *Config) TestCase(stateMachine, name string) (*TestCase, error) {
	cases, ok := c.machines[stateMachine]
	if !ok {
		return nil, fmt.Errorf("mock: %w: %q", ErrNoStateMachine, stateMachine)
	}
	tc, ok := cases[name]
	if !ok {
		return nil, fmt.Errorf("mock: %w: %q of state machine %q", ErrNoTestCase, name, stateMachine)
	}
	return tc, nil
}

// StateMachines returns the names of the state machines the file configures, sorted.
func (c *Config) StateMachines() []string { return slices.Sorted(maps.Keys(c.machines)) }

// TestCases returns the names of a state machine's test cases, sorted.
func (c *Config) TestCases(stateMachine string) []string {
	return slices.Sorted(maps.Keys(c.machines[stateMachine]))
}

// States returns the names of the states the test case mocks, sorted.
func (tc *TestCase) States() []string { return slices.Sorted(maps.Keys(tc.states)) }

// Response answers state's invocation-th invocation (from 0). It reports false when the test
// case does not mock the state, which then calls its real integration; a mocked state without
// a response for that invocation gives ErrNoResponse.
func (tc *TestCase) Response(state string, invocation int64) (*Outcome, bool, error) {
	r, ok := tc.states[state]
	if !ok {
		return nil, false, nil
	}
	i, found := slices.BinarySearchFunc(r.ranges, invocation, func(s span, n int64) int {
		switch {
		case s.to < n:
			return -1
		case s.from > n:
			return 1
		}
		return 0
	})
	if !found {
		return nil, true, fmt.Errorf("mock: %w: state %q of test case %q uses the mocked response %q, which has none for invocation %d",
			ErrNoResponse, state, tc.Name, r.Name, invocation)
	}
	return r.ranges[i].out, true, nil
}
