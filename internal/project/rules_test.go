package project_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/events"
	"github.com/stepline/stepline/internal/project"
)

const rulesYAML = `stateMachines:
  Pipeline:
    definition: p.asl.json
rules:
  on-upload:
    eventPattern: {source: [aws.s3], detail-type: [Object Created]}
    targets:
      - stateMachine: Pipeline
        inputTransformer:
          inputPathsMap: {key: $.detail.object.key}
          inputTemplate: '{"key": <key>}'
      - arn: arn:aws:lambda:us-east-1:123456789012:function:elsewhere
        id: audit
        inputPath: $.detail
  nightly:
    scheduleExpression: cron(0 2 * * ? *)
    state: DISABLED
    targets:
      - stateMachine: Pipeline
        input: {nightly: true}
`

func deployRules(t *testing.T, ev *events.Service, dir string) *project.Summary {
	t.Helper()
	p, err := project.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := p.Deploy(context.Background(), project.Targets{Events: ev, Account: "123456789012", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestRulesDeploy deploys rules with targets, again unchanged, then with a target removed and
// an input changed.
func TestRulesDeploy(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"stepline.yaml": rulesYAML, "p.asl.json": `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`})
	ev := newEvents(t)
	if sum := deployRules(t, ev, dir); sum.RulesCreated != 2 || sum.RulesUpdated != 0 || sum.RulesUnchanged != 0 {
		t.Fatalf("first deploy: %+v", sum)
	}
	ctx := context.Background()
	call := func(action, in string) map[string]any {
		t.Helper()
		out, err := ev.Call(ctx, action, []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	r := call("DescribeRule", `{"Name":"on-upload"}`)
	if r["EventPattern"] != `{"source":["aws.s3"],"detail-type":["Object Created"]}` || r["State"] != "ENABLED" {
		t.Fatalf("on-upload = %v", r)
	}
	if n := call("DescribeRule", `{"Name":"nightly"}`); n["ScheduleExpression"] != "cron(0 2 * * ? *)" || n["State"] != "DISABLED" {
		t.Fatalf("nightly = %v", n)
	}
	ts, _ := json.Marshal(call("ListTargetsByRule", `{"Rule":"on-upload"}`)["Targets"])
	if got := string(ts); !strings.Contains(got, `"Arn":"arn:aws:states:us-east-1:123456789012:stateMachine:Pipeline"`) ||
		!strings.Contains(got, `"InputTemplate":"{\"key\": \u003ckey\u003e}"`) || !strings.Contains(got, `"Id":"audit"`) ||
		!strings.Contains(got, `"InputPath":"$.detail"`) {
		t.Fatalf("targets = %s", got)
	}
	if sum := deployRules(t, ev, dir); sum.RulesCreated != 0 || sum.RulesUpdated != 0 || sum.RulesUnchanged != 2 {
		t.Fatalf("second deploy: %+v", sum)
	}
	changed := strings.Replace(rulesYAML, `      - arn: arn:aws:lambda:us-east-1:123456789012:function:elsewhere
        id: audit
        inputPath: $.detail
`, "", 1)
	changed = strings.Replace(changed, "input: {nightly: true}", "input: {nightly: false}", 1)
	write(t, dir, map[string]string{"stepline.yaml": changed})
	if sum := deployRules(t, ev, dir); sum.RulesCreated != 0 || sum.RulesUpdated != 2 || sum.RulesUnchanged != 0 {
		t.Fatalf("third deploy: %+v", sum)
	}
	if ts := call("ListTargetsByRule", `{"Rule":"on-upload"}`)["Targets"].([]any); len(ts) != 1 {
		t.Fatalf("targets after removing audit: %v", ts)
	}
}

func TestRulesMistakes(t *testing.T) {
	const machine = "stateMachines:\n  M:\n    definition: m.asl.json\nrules:\n"
	for _, c := range []struct{ name, yaml, want string }{
		{"nothing to match", "  r:\n    state: ENABLED\n", "6: rules.r: needs an eventPattern or a scheduleExpression"},
		{"at()", "  r:\n    scheduleExpression: at(2027-01-01T00:00:00)\n",
			`6: rules.r.scheduleExpression: must be rate(…) or cron(…), not "at(2027-01-01T00:00:00)"`},
		{"schedule on a bus", "  r:\n    scheduleExpression: rate(1 day)\n    bus: orders\n",
			"6: rules.r.scheduleExpression: a schedule is for rules of the default bus only"},
		{"two kinds", "  r:\n    eventPattern: {source: [x]}\n    targets:\n      - {stateMachine: M, function: F}\n",
			"8: rules.r.targets[0]: needs exactly one of stateMachine, function or arn"},
		{"unknown machine", "  r:\n    eventPattern: {source: [x]}\n    targets:\n      - stateMachine: Nope\n",
			"8: rules.r.targets[0].stateMachine: no state machine Nope in stateMachines"},
		{"two inputs", "  r:\n    eventPattern: {source: [x]}\n    targets:\n      - stateMachine: M\n        input: {a: 1}\n        inputPath: $.detail\n",
			"8: rules.r.targets[0]: input, inputPath and inputTransformer exclude each other"},
		{"arn without id", "  r:\n    eventPattern: {source: [x]}\n    targets:\n      - arn: arn:aws:lambda:us-east-1:123456789012:function:f\n",
			"8: rules.r.targets[0].id: missing: a target given by arn needs an id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, project.FileName)
			write(t, dir, map[string]string{"m.asl.json": `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`})
			if err := os.WriteFile(file, []byte(machine+c.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := project.Load(dir)
			if err == nil || err.Error() != file+":"+c.want {
				t.Fatalf("Load: %v\nwant %s:%s", err, file, c.want)
			}
		})
	}
}
