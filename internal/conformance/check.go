package conformance

import (
	"regexp"
	"slices"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

// Outcome is what one case gave.
type Outcome struct {
	Case *Case
	// Skip says why the case was not run; empty when it was.
	Skip string
	// Match: status, output, error and cause match (for definition cases: the validation result
	// and the error codes). Mismatch describes the first difference otherwise, and Category is
	// that description without the case's own details, to group failures across cases.
	Match              bool
	Mismatch, Category string
	// HistoryRecorded: the case has a recorded history. HistoryMatch: Match, and our history
	// matches the recorded one too.
	HistoryRecorded, HistoryMatch    bool
	HistoryMismatch, HistoryCategory string
	// MessageCompared, MessageMatch: definition cases whose exact messages were compared, a
	// secondary measure beside the codes.
	MessageCompared, MessageMatch bool
	MessageMismatch               string
	// LogsRecorded: the case recorded execution log events (logged_events, end_log_event);
	// LogsMatch: ours match them after normalisation, else LogsMismatch says how they differ.
	LogsRecorded, LogsMatch bool
	LogsMismatch            string
}

func failed(c *Case, mismatch, category string) Outcome {
	return Outcome{Case: c, Mismatch: mismatch, Category: category}
}

func (c *Case) normaliser() (*Normaliser, error) {
	norm, _ := get(c.Context, "normalization").(*jsonv.Object)
	return NewNormaliser(norm)
}

// CheckExecution compares an engine result (`stepline run --json --history` output) with what
// the case recorded.
func CheckExecution(c *Case, result []byte) Outcome {
	n, err := c.normaliser()
	if err != nil {
		return failed(c, err.Error(), "corpus: "+generalise(err.Error()))
	}
	v, err := jsonv.Parse(result)
	got, ok := v.(*jsonv.Object)
	if err != nil || !ok {
		return failed(c, "engine result is not a JSON object: "+short(string(result)), "engine result is not a JSON object")
	}
	o := Outcome{Case: c}
	o.Mismatch, o.Category = checkResult(c, n, got)
	o.Match = o.Mismatch == ""
	o.LogsRecorded, o.LogsMismatch = checkLogs(c, n, got)
	o.LogsMatch = o.LogsRecorded && o.LogsMismatch == ""
	want, ok := get(c.Expect, "events").([]jsonv.Value)
	if !ok {
		return o
	}
	o.HistoryRecorded = true
	o.HistoryMismatch, o.HistoryCategory = checkHistory(c, n, got, want)
	o.HistoryMatch = o.Match && o.HistoryMismatch == ""
	return o
}

// checkResult compares status, output, error and cause, in that order, and describes the first
// difference.
func checkResult(c *Case, n *Normaliser, got *jsonv.Object) (mismatch, category string) {
	wantStatus, gotStatus := str(c.Expect, "status"), str(got, "status")
	if gotStatus != wantStatus {
		return "status: got " + gotStatus + outcomeDetail(got, false) + ", want " + wantStatus + outcomeDetail(c.Expect, false),
			"status: got " + gotStatus + outcomeDetail(got, true) + ", want " + wantStatus + outcomeDetail(c.Expect, true)
	}
	if want, ok := c.Expect.Get("output"); ok {
		out, ok := got.Get("output")
		if !ok {
			return "output: missing, want " + short(want), "output missing"
		}
		norm, err := normaliseOutput(n, out)
		if err != nil {
			return "output: " + err.Error(), "output cannot be normalised"
		}
		if d := diffAt("output", norm, want, n.Tokens); d != nil {
			return d.String(), "output " + differenceKind(d) + leafKey(d.path)
		}
	}
	// Error and cause are normalised together, as they sat in one event.
	failure := jsonv.NewObject(2)
	for _, k := range []string{"error", "cause"} {
		if e, ok := got.Get(k); ok {
			failure.Set(k, e)
		}
	}
	norm, err := n.Normalise(failure)
	if err != nil {
		return "error/cause: " + err.Error(), "error/cause cannot be normalised"
	}
	normObj, _ := norm.(*jsonv.Object)
	for _, k := range []string{"error", "cause"} {
		want, wantOK := c.Expect.Get(k)
		mine, mineOK := normObj.Get(k)
		switch {
		case !wantOK && !mineOK:
			continue
		case !wantOK:
			return k + ": unexpected, got " + short(mine), k + " unexpected"
		case !mineOK:
			return k + ": missing, want " + short(want), k + " missing"
		}
		if d := diffAt(k, mine, want, n.Tokens); d != nil {
			if k == "error" {
				return d.String(), d.String()
			}
			return d.String(), "cause differs (" + str(c.Expect, "error") + "); want: " + causeGist(causeText(want))
		}
	}
	return "", ""
}

// leafKey names the key a difference is under, " at .Key", when it is below the root: outputs are
// the case's own data, but the same key going wrong across cases (RedriveCount, say) is one issue.
func leafKey(path string) string {
	path = indexesRE.ReplaceAllString(path, "")
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return ""
	}
	return " at ." + path[i+1:]
}

// outcomeDetail appends a failed outcome's error and cause to a status; generalised, it keeps
// the part of the cause that tells failures apart.
func outcomeDetail(o *jsonv.Object, generalised bool) string {
	e := str(o, "error")
	c, hasCause := o.Get("cause")
	switch {
	case e == "" && !hasCause:
		return ""
	case !hasCause:
		return " (" + e + ")"
	case generalised:
		return " (" + e + ": " + causeGist(causeText(c)) + ")"
	}
	return " (" + e + ": " + truncate(causeText(c), 300) + ")"
}

var causePrefixRE = regexp.MustCompile(`^An error occurred while executing the state '[^']*' \(entered at the event id #\d+\)\. ?`)

// causeGist is the generalised part of a cause after AWS's common "An error occurred while
// executing the state ..." opening.
func causeGist(cause string) string {
	return generalise(causePrefixRE.ReplaceAllString(cause, ""))
}

func causeText(v jsonv.Value) string {
	if s, ok := v.(string); ok {
		return s
	}
	return jsonv.String(v)
}

// normaliseOutput normalises an execution output the way the corpus's expect.output was made:
// as the output text of an ExecutionSucceeded event (so the case's JSONPath transformers for
// events apply), decoded afterwards when the text did not start with '{'.
func normaliseOutput(n *Normaliser, out jsonv.Value) (jsonv.Value, error) {
	details := jsonv.ObjectOf(jsonv.Member{Key: "output", Value: jsonv.String(out)})
	event := jsonv.ObjectOf(jsonv.Member{Key: "executionSucceededEventDetails", Value: details})
	norm, err := n.Normalise(jsonv.ObjectOf(jsonv.Member{Key: "events", Value: []jsonv.Value{event}}))
	if err != nil {
		return nil, err
	}
	normObj, _ := norm.(*jsonv.Object)
	normEvents, _ := get(normObj, "events").([]jsonv.Value)
	normEvent, _ := normEvents[0].(*jsonv.Object)
	normDetails, _ := get(normEvent, "executionSucceededEventDetails").(*jsonv.Object)
	v := get(normDetails, "output")
	if s, ok := v.(string); ok {
		if d, err := jsonv.ParseString(s); err == nil {
			return d, nil
		}
	}
	return v, nil
}

func checkHistory(c *Case, n *Normaliser, got *jsonv.Object, want []jsonv.Value) (mismatch, category string) {
	events, ok := get(got, "events").([]jsonv.Value)
	if !ok {
		return "history: the engine returned no events", "history: no events"
	}
	if req, _ := get(c.Expect, "history_request").(*jsonv.Object); req != nil {
		if rev, _ := get(req, "reverseOrder").(bool); rev {
			events = slices.Clone(events)
			slices.Reverse(events)
		}
		if incl, ok := get(req, "includeExecutionData").(bool); ok && !incl {
			events = withoutExecutionData(events)
		}
	}
	norm, err := n.Normalise(jsonv.ObjectOf(jsonv.Member{Key: "events", Value: events}))
	if err != nil {
		return "history: " + err.Error(), "history cannot be normalised"
	}
	mine, _ := get(norm.(*jsonv.Object), "events").([]jsonv.Value)
	detail, cat := DiffEvents(mine, want, n.Tokens)
	if detail == "" {
		return "", ""
	}
	return "history: " + detail, "history: " + cat
}

// withoutExecutionData drops what GetExecutionHistory leaves out with includeExecutionData=false:
// inputs, outputs and task parameters.
func withoutExecutionData(events []jsonv.Value) []jsonv.Value {
	out := make([]jsonv.Value, len(events))
	for i, e := range events {
		o, ok := e.(*jsonv.Object)
		if !ok {
			out[i] = e
			continue
		}
		for _, m := range o.Members() {
			if d, ok := m.Value.(*jsonv.Object); ok && strings.HasSuffix(m.Key, "EventDetails") {
				for _, k := range []string{"input", "inputDetails", "output", "outputDetails", "parameters"} {
					d = d.Without(k)
				}
				o = o.With(m.Key, d)
			}
		}
		out[i] = o
	}
	return out
}

var indexesRE = regexp.MustCompile(`(\[\d+\])+$`)

var definitionCodeRE = regexp.MustCompile(`^Invalid State Machine Definition: '([A-Z_]+)`)

// CheckDefinition compares the engine's verdict on a definition (nil: valid) with an
// invalid_definition or validate_definition case.
func CheckDefinition(c *Case, rej *Rejection) Outcome {
	n, err := c.normaliser()
	if err != nil {
		return failed(c, err.Error(), "corpus: "+generalise(err.Error()))
	}
	o := Outcome{Case: c, MessageCompared: true}
	if c.Kind == KindInvalidDefinition {
		wantMsg := str(c.Expect, "message")
		wantCode := definitionCode(wantMsg, nil)
		if rej == nil {
			o.Mismatch = "definition accepted, want " + wantMsg
			o.Category = "invalid definition accepted (want " + wantCode + ")"
			return o
		}
		if got := definitionCode(rej.Message, rej.Diagnostics); got != wantCode {
			o.Mismatch = "got " + rej.Message + ", want " + wantMsg
			o.Category = "invalid definition: got " + got + ", want " + wantCode
			return o
		}
		o.Match = true
		if got := n.NormaliseText(rej.Message); got != wantMsg {
			o.MessageMismatch = "message: got " + got + ", want " + wantMsg
		}
		o.MessageMatch = o.MessageMismatch == ""
		return o
	}

	resp, _ := get(c.Expect, "validate_response").(*jsonv.Object)
	wantDiags, _ := get(resp, "diagnostics").([]jsonv.Value)
	wantResult, gotResult := str(c.Expect, "validation_result"), "OK"
	var gotDiags []Diagnostic
	if rej != nil {
		gotResult, gotDiags = "FAIL", rej.Diagnostics
	}
	wantCodes, gotCodes := make([]string, len(wantDiags)), make([]string, len(gotDiags))
	for i, d := range wantDiags {
		wantCodes[i] = str(d.(*jsonv.Object), "code")
	}
	for i, d := range gotDiags {
		gotCodes[i] = d.Code
	}
	if gotResult != wantResult || !slices.Equal(gotCodes, wantCodes) {
		o.Mismatch = "validation: got " + gotResult + " " + strings.Join(gotCodes, ",") + ", want " + wantResult + " " + strings.Join(wantCodes, ",")
		o.Category = "validation: got " + gotResult + ", want " + wantResult
		if gotResult == wantResult {
			o.Category = "validation: diagnostic codes differ"
		}
		return o
	}
	o.Match = true
	for i, d := range wantDiags {
		want := d.(*jsonv.Object)
		got := gotDiags[i]
		if n.NormaliseText(got.Message) != str(want, "message") || n.NormaliseText(got.Location) != str(want, "location") {
			o.MessageMismatch = "diagnostic " + got.Code + ": got " + got.Message + " at " + got.Location +
				", want " + str(want, "message") + " at " + str(want, "location")
			break
		}
	}
	o.MessageMatch = o.MessageMismatch == ""
	return o
}

// definitionCode is the diagnostic code of a rejection: the one its message quotes, else the
// first diagnostic's.
func definitionCode(msg string, diags []Diagnostic) string {
	if m := definitionCodeRE.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	if len(diags) > 0 {
		return diags[0].Code
	}
	return "?"
}

var (
	quotedRE = regexp.MustCompile(`'[^']*'|"(?:[^"\\]|\\.)*"|\([^()]*\)`)
	numberRE = regexp.MustCompile(`\d+`)
)

// generalise blanks the case-specific parts of a message (quoted and parenthesised text,
// numbers) and shortens it, so that messages of one kind group together.
func generalise(s string) string {
	s = quotedRE.ReplaceAllStringFunc(s, func(q string) string { return q[:1] + "…" + q[len(q)-1:] })
	s = numberRE.ReplaceAllString(s, "N")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return truncate(s, 140)
}
