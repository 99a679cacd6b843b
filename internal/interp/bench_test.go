package interp_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/interp"
)

// passChain builds n Pass states, each reshaping a ~200-byte payload with Parameters.
func passChain(n int) string {
	var b strings.Builder
	b.WriteString(`{"StartAt":"S0","States":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"S%d":{"Type":"Pass","Parameters":{"order.$":"$.order","customer.$":"$.customer","step":%d,"items.$":"$.items"},`, i, i)
		if i == n-1 {
			b.WriteString(`"End":true}`)
		} else {
			fmt.Fprintf(&b, `"Next":"S%d"}`, i+1)
		}
	}
	b.WriteString(`}}`)
	return b.String()
}

const payload = `{"order":"ORD-2026-000123","customer":{"id":"C-77","name":"Ada Lovelace","tier":"gold"},"step":0,"items":[{"sku":"widget","qty":3,"price":4.25},{"sku":"gadget","qty":1,"price":25},{"sku":"gizmo","qty":2,"price":10.5}]}`

// runToEnd runs an execution that needs no tasks or timers and returns its state transitions.
func runToEnd(b *testing.B, x *interp.Execution, res interp.Result) int {
	if x.Status != interp.Succeeded {
		b.Fatalf("status %s: %v %v", x.Status, deref(x.Error), deref(x.Cause))
	}
	n := 0
	for _, e := range res.Events {
		if strings.HasSuffix(e.Type, "StateEntered") {
			n++
		}
	}
	return n
}

func benchmarkExecution(b *testing.B, def, input string) {
	sm := mustParse(b, def)
	b.ReportAllocs()
	transitions := 0
	for b.Loop() {
		x, res, err := interp.Start(sm, identity(), input, t0)
		if err != nil {
			b.Fatal(err)
		}
		transitions += runToEnd(b, x, res)
	}
	b.ReportMetric(float64(transitions)/b.Elapsed().Seconds(), "transitions/s")
}

// BenchmarkPassChain100 is a 100-state Pass chain with Parameters over a ~200-byte payload,
// history recorded.
func BenchmarkPassChain100(b *testing.B) {
	benchmarkExecution(b, passChain(100), payload)
}

// BenchmarkInlineMap1000 maps 1,000 items through a two-state processor.
func BenchmarkInlineMap1000(b *testing.B) {
	items := make([]string, 1000)
	for i := range items {
		items[i] = fmt.Sprintf(`{"id":%d,"v":"item-%d"}`, i, i)
	}
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"A","States":{
		"A":{"Type":"Pass","Parameters":{"id.$":"$.id","tag":"x"},"Next":"B"},"B":{"Type":"Pass","End":true}}},"End":true}}}`
	benchmarkExecution(b, def, `{"items":[`+strings.Join(items, ",")+`]}`)
}

// BenchmarkChoiceLoop counts to 200 with a Choice, a Pass with an intrinsic and a loop back.
func BenchmarkChoiceLoop(b *testing.B) {
	def := `{"StartAt":"Check","States":{
		"Check":{"Type":"Choice","Choices":[
			{"And":[{"Variable":"$.i","IsNumeric":true},{"Variable":"$.i","NumericGreaterThanEqualsPath":"$.limit"}],"Next":"Done"},
			{"Variable":"$.mode","StringEquals":"skip","Next":"Done"}],"Default":"Inc"},
		"Inc":{"Type":"Pass","Parameters":{"i.$":"States.MathAdd($.i, 1)","limit.$":"$.limit","mode.$":"$.mode"},"Next":"Check"},
		"Done":{"Type":"Succeed"}}}`
	benchmarkExecution(b, def, `{"i":0,"limit":200,"mode":"count"}`)
}

// jsonataChain builds n JSONata Pass states, each reshaping the payload with Output.
func jsonataChain(n int) string {
	var b strings.Builder
	b.WriteString(`{"QueryLanguage":"JSONata","StartAt":"S0","States":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"S%d":{"Type":"Pass","Output":{"order":"{%% $states.input.order %%}","customer":"{%% $states.input.customer %%}","step":%d,"items":"{%% $states.input.items %%}"},`, i, i)
		if i == n-1 {
			b.WriteString(`"End":true}`)
		} else {
			fmt.Fprintf(&b, `"Next":"S%d"}`, i+1)
		}
	}
	b.WriteString(`}}`)
	return b.String()
}

// BenchmarkJSONataPassChain20 is a 20-state JSONata Pass chain whose Output reads a few fields
// of a ~200-byte payload, history recorded.
func BenchmarkJSONataPassChain20(b *testing.B) {
	benchmarkExecution(b, jsonataChain(20), payload)
}
