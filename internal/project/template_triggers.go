package project

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stepline/stepline/internal/events"
)

// A template's triggers: AWS::Events::Rule resources become entries of rules, and the SAM
// event sources that are EventBridge rules or schedules (Events of a function or state
// machine) become the rule or schedule SAM's transform would generate. They are translated
// after every resource, as a rule's target may come later in the template.

// samTriggerEvents are the SAM event sources that become rules or schedules.
var samTriggerEvents = []string{"Schedule", "ScheduleV2", "EventBridgeRule", "CloudWatchEvent"}

// samEvent is one SAM event of a function or state machine, its properties evaluated.
type samEvent struct {
	name, kind string
	key        *yaml.Node
	props      *yaml.Node
}

// samEvents reads the Events of a SAM function or state machine: those that become rules or
// schedules are evaluated and returned; the others are listed as skipped.
func (t *tmpl) samEvents(proj *Project, r *resource, list *yaml.Node) ([]samEvent, error) {
	var out []samEvent
	for i := 0; i+1 < len(list.Content); i += 2 {
		k, v := list.Content[i], resolve(list.Content[i+1])
		kind := ""
		if ty := mapGet(v, "Type"); ty != nil {
			kind = ty.Value
		}
		if !slices.Contains(samTriggerEvents, kind) {
			proj.Skipped = append(proj.Skipped, Skipped{LogicalID: r.id + "." + k.Value, Type: strings.TrimSpace("SAM event " + kind),
				Line: k.Line, Reason: "Stepline does not run SAM " + kind + " events"})
			continue
		}
		props := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: k.Line}
		if p := mapGet(v, "Properties"); p != nil {
			ev, err := t.eval(p, "Resources."+r.id+".Properties.Events."+k.Value+".Properties", 0)
			if err != nil {
				return nil, err
			}
			if ev != noValue && ev.Kind == yaml.MappingNode {
				props = ev
			}
		}
		out = append(out, samEvent{name: k.Value, kind: kind, key: k, props: props})
	}
	return out, nil
}

// samEvent translates one SAM event of the function or state machine r (deployed as name)
// as SAM's transform does: Schedule, EventBridgeRule and CloudWatchEvent into an
// AWS::Events::Rule of logical ID r.id+EVENT (named by CloudFormation unless Name or RuleName
// names it) whose target is r; ScheduleV2 into a schedule named r.id+EVENT unless Name names it.
func (t *tmpl) samEvent(proj *Project, r *resource, name string, ev samEvent) error {
	id := r.id + ev.name
	base := "Events." + ev.name + ".Properties."
	target, targetID := "stateMachine", id+"StepFunctionsTarget"
	if r.typ == "AWS::Serverless::Function" {
		target, targetID = "function", id+"LambdaTarget"
	}
	p := ev.props
	if ev.kind == "ScheduleV2" {
		sname := id
		if n := mapGet(p, "Name"); n != nil && n.Value != "" {
			sname = n.Value
		}
		t.keys["schedules."+sname] = entryKeys{id: r.id, props: map[string]string{"expression": base + "ScheduleExpression",
			"timezone": base + "ScheduleExpressionTimezone", "input": base + "Input", "group": base + "GroupName", "state": base + "State",
			"startDate": base + "StartDate", "endDate": base + "EndDate", "description": base + "Description",
			"flexibleWindow": base + "FlexibleTimeWindow.MaximumWindowInMinutes", "retryPolicy": base + "RetryPolicy"}}
		e := newEntry(ev.key.Line)
		e.set("expression", mapGet(p, "ScheduleExpression"), false)
		e.set("timezone", mapGet(p, "ScheduleExpressionTimezone"), false)
		e.set(target, strNode(name, ev.key.Line), false)
		e.set("input", mapGet(p, "Input"), false)
		e.set("state", mapGet(p, "State"), false)
		e.set("group", mapGet(p, "GroupName"), false)
		e.set("startDate", mapGet(p, "StartDate"), false)
		e.set("endDate", mapGet(p, "EndDate"), false)
		e.set("description", mapGet(p, "Description"), false)
		if fw := mapGet(p, "FlexibleTimeWindow"); fw != nil {
			if m := mapGet(fw, "Mode"); m != nil && m.Value == "FLEXIBLE" {
				e.set("flexibleWindow", mapGet(fw, "MaximumWindowInMinutes"), true)
			}
		}
		if rp := mapGet(p, "RetryPolicy"); rp != nil {
			re := newEntry(rp.Line)
			re.set("maximumEventAgeInSeconds", mapGet(rp, "MaximumEventAgeInSeconds"), true)
			re.set("maximumRetryAttempts", mapGet(rp, "MaximumRetryAttempts"), true)
			e.set("retryPolicy", re.n, false)
		}
		s, err := t.p.schedule(sname, strNode(sname, ev.key.Line), e.n)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(proj.Schedules, func(o *Schedule) bool { return o.Name == s.Name && o.Group == s.Group }) {
			return t.p.errAt(ev.key, "Resources."+r.id+".Properties.Events."+ev.name, "a second schedule named %s/%s", s.Group, s.Name)
		}
		proj.Schedules = append(proj.Schedules, s)
		return nil
	}
	nameProp := "RuleName"
	if ev.kind == "Schedule" {
		nameProp = "Name"
	}
	rname := generatedName(t.o.StackName, id, "AWS::Events::Rule")
	if n := mapGet(p, nameProp); n != nil && n.Value != "" {
		rname = n.Value
	}
	t.keys["rules."+rname] = entryKeys{id: r.id, props: map[string]string{"eventPattern": base + "Pattern",
		"scheduleExpression": base + "Schedule", "state": base + "State", "bus": base + "EventBusName",
		"description": base + "Description", "targets": base + "Target"}}
	e := newEntry(ev.key.Line)
	e.set("eventPattern", mapGet(p, "Pattern"), false)
	e.set("scheduleExpression", mapGet(p, "Schedule"), false)
	e.set("bus", busName(mapGet(p, "EventBusName")), false)
	e.set("description", mapGet(p, "Description"), false)
	state := mapGet(p, "State")
	if en := mapGet(p, "Enabled"); state == nil && en != nil {
		s := "ENABLED"
		if strings.EqualFold(en.Value, "false") {
			s = "DISABLED"
		}
		state = strNode(s, en.Line)
	}
	e.set("state", state, false)
	if tg := mapGet(p, "Target"); tg != nil {
		if n := mapGet(tg, "Id"); n != nil && n.Value != "" {
			targetID = n.Value
		}
	}
	te := newEntry(ev.key.Line)
	te.set(target, strNode(name, ev.key.Line), false)
	te.set("id", strNode(targetID, ev.key.Line), false)
	te.set("input", mapGet(p, "Input"), false)
	te.set("inputPath", mapGet(p, "InputPath"), false)
	te.set("inputTransformer", transformerEntry(mapGet(p, "InputTransformer")), false)
	e.set("targets", &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: ev.key.Line, Content: []*yaml.Node{te.n}}, false)
	rule, err := t.p.rule(rname, strNode(rname, ev.key.Line), e.n)
	if err != nil {
		return err
	}
	if sameRule(proj, rule) {
		return t.p.errAt(ev.key, "Resources."+r.id+".Properties.Events."+ev.name, "a second rule named %s on bus %s", rule.Name, rule.Bus)
	}
	proj.Rules = append(proj.Rules, rule)
	return nil
}

// eventsRule translates an AWS::Events::Rule: a target that is a state machine or function of
// the project (its Ref or GetAtt Arn) is deployed as such, a state machine's or function's
// ARN elsewhere as that ARN; any other target (a queue, a topic…) is listed as skipped, the
// rule kept.
func (t *tmpl) eventsRule(proj *Project, r *resource, name string, key, props *yaml.Node) error {
	t.keys["rules."+name] = entryKeys{id: r.id, props: map[string]string{"eventPattern": "EventPattern",
		"scheduleExpression": "ScheduleExpression", "bus": "EventBusName", "targets": "Targets"}}
	e := newEntry(r.key.Line)
	e.set("eventPattern", mapGet(props, "EventPattern"), false)
	e.set("scheduleExpression", mapGet(props, "ScheduleExpression"), false)
	e.set("state", mapGet(props, "State"), false)
	e.set("bus", busName(mapGet(props, "EventBusName")), false)
	e.set("description", mapGet(props, "Description"), false)
	targets := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: r.key.Line}
	if list := mapGet(props, "Targets"); list != nil && list.Kind == yaml.SequenceNode {
		for i, tg := range list.Content {
			arn, id := mapGet(tg, "Arn"), mapGet(tg, "Id")
			if arn == nil || arn.Kind != yaml.ScalarNode {
				return t.p.errAt(tg, fmt.Sprintf("Resources.%s.Properties.Targets[%d].Arn", r.id, i), "missing")
			}
			te := newEntry(tg.Line)
			switch kind, tname := arnTarget(arn.Value); {
			case kind == "stateMachine" && proj.StateMachine(tname) != nil:
				te.set("stateMachine", strNode(tname, arn.Line), false)
			case kind == "function" && slices.ContainsFunc(proj.Functions, func(f *Function) bool { return f.Name == tname }):
				te.set("function", strNode(tname, arn.Line), false)
			case kind != "":
				te.set("arn", arn, false)
			default:
				tid := ""
				if id != nil {
					tid = id.Value
				}
				proj.Skipped = append(proj.Skipped, Skipped{LogicalID: fmt.Sprintf("%s.Targets[%d]", r.id, i), Type: "AWS::Events::Rule target",
					Line: tg.Line, Reason: fmt.Sprintf("Stepline does not run target %s (id %s); the rule is deployed without it", arn.Value, tid)})
				continue
			}
			te.set("id", id, false)
			te.set("input", mapGet(tg, "Input"), false)
			te.set("inputPath", mapGet(tg, "InputPath"), false)
			te.set("inputTransformer", transformerEntry(mapGet(tg, "InputTransformer")), false)
			targets.Content = append(targets.Content, te.n)
		}
	}
	e.set("targets", targets, false)
	rule, err := t.p.rule(name, key, e.n)
	if err != nil {
		return err
	}
	if sameRule(proj, rule) {
		return t.p.errAt(r.key, "Resources."+r.id, "a second rule named %s on bus %s", rule.Name, rule.Bus)
	}
	proj.Rules = append(proj.Rules, rule)
	return nil
}

// arnTarget says whether arn is a state machine's or a function's (of any account), and its name.
func arnTarget(arn string) (kind, name string) {
	parts := strings.Split(arn, ":")
	if len(parts) < 7 || parts[0] != "arn" {
		return "", ""
	}
	switch {
	case parts[2] == "states" && parts[5] == "stateMachine":
		return "stateMachine", parts[6]
	case parts[2] == "lambda" && parts[5] == "function":
		return "function", parts[6]
	}
	return "", ""
}

// busName is an EventBusName given as a name or as the bus's ARN.
func busName(n *yaml.Node) *yaml.Node {
	if n == nil || n.Kind != yaml.ScalarNode {
		return n
	}
	if _, after, ok := strings.Cut(n.Value, ":event-bus/"); ok && strings.HasPrefix(n.Value, "arn:") {
		return strNode(after, n.Line)
	}
	if n.Value == "" {
		return strNode(events.DefaultBus, n.Line)
	}
	return n
}

// transformerEntry is an InputTransformer in stepline.yaml's shape.
func transformerEntry(n *yaml.Node) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return n
	}
	e := newEntry(n.Line)
	e.set("inputPathsMap", mapGet(n, "InputPathsMap"), false)
	e.set("inputTemplate", mapGet(n, "InputTemplate"), false)
	return e.n
}

// sameRule says whether proj already has a rule of r's name on r's bus.
func sameRule(proj *Project, r *Rule) bool {
	return slices.ContainsFunc(proj.Rules, func(o *Rule) bool { return o.Name == r.Name && o.Bus == r.Bus })
}
