package conformance

import (
	"errors"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

// testStateRequest is the TestState request a case made: its definition and input with the
// other request fields it recorded.
func testStateRequest(c *Case) []byte {
	req := jsonv.ObjectOf(jsonv.Member{Key: "definition", Value: c.Definition})
	if c.input != nil {
		// The tests sent json.dumps(input), whose text AWS echoes where the input goes on
		// unchanged (inspectionData.afterInputPath).
		req.Set("input", pyDumps(c.input))
	}
	if args, _ := get(c.Context, "request_args").(*jsonv.Object); args != nil {
		for _, m := range args.Members() {
			req.Set(m.Key, m.Value)
		}
	}
	return []byte(jsonv.String(req))
}

// CheckTestState compares the engine's TestState response (or its refusal, err) with a
// test_state case or an invalid_definition case of the TestState API. Status, output, error,
// cause and nextState decide the match; inspectionData, when recorded, is compared like a
// history, as the secondary measure.
func CheckTestState(c *Case, result []byte, err error) Outcome {
	n, nerr := c.normaliser()
	if nerr != nil {
		return failed(c, nerr.Error(), "corpus: "+generalise(nerr.Error()))
	}
	var rej *Rejection
	if c.Kind == KindInvalidDefinition {
		wantCode, wantMsg := str(c.Expect, "error_code"), str(c.Expect, "message")
		switch {
		case err == nil:
			return failed(c, "TestState accepted, want "+wantCode+": "+wantMsg, "TestState accepted (want "+wantCode+": "+generalise(wantMsg)+")")
		case !errors.As(err, &rej):
			return failed(c, "engine error: "+err.Error(), "engine error: "+generalise(err.Error()))
		case rej.Code != wantCode:
			return failed(c, "got "+rej.Code+": "+rej.Message+", want "+wantCode+": "+wantMsg,
				"TestState refused: got "+rej.Code+", want "+wantCode+": "+generalise(wantMsg))
		}
		o := Outcome{Case: c, Match: true, MessageCompared: true}
		if got := n.NormaliseText(rej.Message); got != wantMsg && !strings.HasPrefix(got, "Invalid State Machine Definition") {
			o.MessageMismatch = "message: got " + got + ", want " + wantMsg
		}
		o.MessageMatch = o.MessageMismatch == ""
		return o
	}
	switch {
	case errors.As(err, &rej):
		return failed(c, "TestState refused: "+rej.Code+": "+rej.Message, "TestState refused: "+rej.Code+": "+generalise(rej.Message))
	case err != nil:
		return failed(c, "engine error: "+err.Error(), "engine error: "+generalise(err.Error()))
	}
	v, perr := jsonv.Parse(result)
	if perr != nil {
		return failed(c, "engine result is not JSON: "+short(string(result)), "engine result is not a JSON object")
	}
	norm, nerr := n.Normalise(v)
	got, ok := norm.(*jsonv.Object)
	if nerr != nil || !ok {
		return failed(c, "TestState response cannot be normalised", "TestState response cannot be normalised")
	}
	want, _ := get(c.Expect, "test_state_response").(*jsonv.Object)
	o := Outcome{Case: c}
	for _, k := range []string{"status", "nextState", "error", "cause", "output"} {
		g, gok := got.Get(k)
		w, wok := want.Get(k)
		switch {
		case !gok && !wok:
			continue
		case !wok:
			o.Mismatch, o.Category = k+": unexpected, got "+short(g), k+" unexpected"
		case !gok:
			o.Mismatch, o.Category = k+": missing, want "+short(w), k+" missing"
		default:
			if d := diffAt(k, g, w, n.Tokens); d != nil {
				o.Mismatch, o.Category = d.String(), k+" "+differenceKind(d)+leafKey(d.path)
			}
		}
		if o.Mismatch != "" {
			if k == "status" {
				o.Category = "status: got " + str(got, "status") + ", want " + str(want, "status")
			}
			return o
		}
	}
	o.Match = true
	if w, ok := want.Get("inspectionData"); ok {
		o.HistoryRecorded = true
		g, _ := got.Get("inspectionData")
		if g == nil {
			g = jsonv.NewObject(0)
		}
		if d := diffAt("inspectionData", g, w, n.Tokens); d != nil {
			o.HistoryMismatch, o.HistoryCategory = d.String(), "inspectionData "+differenceKind(d)+leafKey(d.path)
		}
		o.HistoryMatch = o.HistoryMismatch == ""
	}
	return o
}
