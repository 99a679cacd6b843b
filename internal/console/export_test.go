package console

import (
	"fmt"
	"strings"
)

// BigDefinition writes a definition of segments like the ETL example's: a step, a task whose
// failure a Catch handles, a Choice that may loop back through a Wait (a back edge), and in
// every other segment a Parallel of two branches and a Map of two states. Five segments make
// 40 states, six make 52.
func BigDefinition(segments int) string {
	var states []string
	add := func(name, body string) { states = append(states, fmt.Sprintf("%q:%s", name, body)) }
	next := func(i int) string {
		if i+1 == segments {
			return "Done"
		}
		return fmt.Sprintf("Step %d", i+1)
	}
	for i := range segments {
		after := next(i)
		if i%2 == 1 {
			after = fmt.Sprintf("Fan %d", i)
		}
		add(fmt.Sprintf("Step %d", i), fmt.Sprintf(`{"Type":"Pass","Next":"Call %d"}`, i))
		add(fmt.Sprintf("Call %d", i), fmt.Sprintf(`{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:step-%d",`+
			`"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Handle %d","ResultPath":"$.err"}],"Next":"Check %d"}`, i, i, i))
		add(fmt.Sprintf("Handle %d", i), fmt.Sprintf(`{"Type":"Pass","Next":"Check %d"}`, i))
		add(fmt.Sprintf("Check %d", i), fmt.Sprintf(`{"Type":"Choice","Choices":[{"Variable":"$.again","BooleanEquals":true,"Next":"Retry %d"}],"Default":%q}`, i, after))
		add(fmt.Sprintf("Retry %d", i), fmt.Sprintf(`{"Type":"Wait","Seconds":0,"Next":"Step %d"}`, i))
		if i%2 == 1 {
			add(fmt.Sprintf("Fan %d", i), fmt.Sprintf(`{"Type":"Parallel","ResultPath":"$.fan","Next":"Each %d","Branches":[`+
				`{"StartAt":"A %d","States":{"A %d":{"Type":"Pass","Next":"B %d"},"B %d":{"Type":"Pass","End":true}}},`+
				`{"StartAt":"C %d","States":{"C %d":{"Type":"Pass","End":true}}}]}`, i, i, i, i, i, i, i))
			add(fmt.Sprintf("Each %d", i), fmt.Sprintf(`{"Type":"Map","ItemsPath":"$.items","ResultPath":"$.each","Next":%q,`+
				`"ItemProcessor":{"StartAt":"P %d","States":{"P %d":{"Type":"Pass","Next":"Q %d"},"Q %d":{"Type":"Pass","End":true}}}}`, next(i), i, i, i, i))
		}
	}
	add("Done", `{"Type":"Succeed"}`)
	return `{"StartAt":"Step 0","States":{` + strings.Join(states, ",") + `}}`
}
