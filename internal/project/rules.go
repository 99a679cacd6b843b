package project

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stepline/stepline/internal/events"
	"github.com/stepline/stepline/internal/scheduler"
)

// Rule is one entry of rules: an EventBridge rule with an event pattern or a schedule
// expression (or both), and its targets: state machines or functions of the project by name,
// or any ARN.
//
//	rules:
//	  on-upload:
//	    eventPattern: {source: [aws.s3], detail-type: [Object Created]}   # or JSON text
//	    scheduleExpression: rate(5 minutes)                              # default bus only
//	    state: ENABLED
//	    bus: default
//	    description: …
//	    targets:
//	      - stateMachine: Pipeline          # or function: Name, or arn: ARN
//	        id: pipeline                    # default: the state machine's or function's name
//	        input: {fixed: true}            # or inputPath: $.detail, or inputTransformer:
//	        inputTransformer: {inputPathsMap: {key: $.detail.object.key}, inputTemplate: '{"k": <key>}'}
type Rule struct {
	Name, Bus, Description, State string
	EventPattern                  string
	ScheduleExpression            string
	Targets                       []*RuleTarget
	line                          int
}

// RuleTarget is one target of a rule.
type RuleTarget struct {
	ID, StateMachine, Function, Arn string
	Input, InputPath                *string
	InputTransformer                *events.InputTransformer
	line                            int
}

var (
	ruleKeys        = []string{"eventPattern", "scheduleExpression", "state", "bus", "description", "targets"}
	ruleTargetKeys  = []string{"stateMachine", "function", "arn", "id", "input", "inputPath", "inputTransformer"}
	transformerKeys = []string{"inputPathsMap", "inputTemplate"}
	ruleName        = regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)
)

// rule reads one entry of rules.
func (p *parser) rule(name string, key, v *yaml.Node) (*Rule, error) {
	path := "rules." + name
	if !ruleName.MatchString(name) {
		return nil, p.errAt(key, path, "invalid rule name: 1 to 64 letters, digits, dots, hyphens or underscores")
	}
	r := &Rule{Name: name, Bus: events.DefaultBus, State: "ENABLED", line: key.Line}
	f, err := p.fields(v, path, ruleKeys)
	if err != nil {
		return nil, err
	}
	for k, dst := range map[string]*string{"scheduleExpression": &r.ScheduleExpression, "state": &r.State, "bus": &r.Bus, "description": &r.Description} {
		if n := f[k]; n != nil {
			if *dst, err = p.str(n, path+"."+k); err != nil {
				return nil, err
			}
		}
	}
	if n := f["eventPattern"]; n != nil {
		if r.EventPattern, err = p.jsonValue(n, path+".eventPattern"); err != nil {
			return nil, err
		}
	}
	if r.EventPattern == "" && r.ScheduleExpression == "" {
		return nil, p.errAt(v, path, "needs an eventPattern or a scheduleExpression")
	}
	if r.ScheduleExpression != "" {
		if _, err := scheduler.ParseExpression(r.ScheduleExpression); err != nil || strings.HasPrefix(r.ScheduleExpression, "at(") {
			return nil, p.errAt(f["scheduleExpression"], path+".scheduleExpression", "must be rate(…) or cron(…), not %q", r.ScheduleExpression)
		}
		if r.Bus != events.DefaultBus {
			return nil, p.errAt(f["scheduleExpression"], path+".scheduleExpression", "a schedule is for rules of the default bus only")
		}
	}
	if r.State != "ENABLED" && r.State != "DISABLED" {
		return nil, p.errAt(f["state"], path+".state", "must be ENABLED or DISABLED, not %q", r.State)
	}
	list := f["targets"]
	if list == nil {
		return r, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, p.errAt(list, path+".targets", "must be a list of targets")
	}
	if len(list.Content) > 5 {
		return nil, p.errAt(list, path+".targets", "a rule has at most 5 targets")
	}
	for i, item := range list.Content {
		tp := fmt.Sprintf("%s.targets[%d]", path, i)
		tf, err := p.fields(item, tp, ruleTargetKeys)
		if err != nil {
			return nil, err
		}
		t := &RuleTarget{line: item.Line}
		for k, dst := range map[string]*string{"stateMachine": &t.StateMachine, "function": &t.Function, "arn": &t.Arn, "id": &t.ID} {
			if n := tf[k]; n != nil {
				if *dst, err = p.str(n, tp+"."+k); err != nil {
					return nil, err
				}
			}
		}
		kinds := 0
		for _, k := range []string{"stateMachine", "function", "arn"} {
			if tf[k] != nil {
				kinds++
			}
		}
		if kinds != 1 {
			return nil, p.errAt(item, tp, "needs exactly one of stateMachine, function or arn")
		}
		if t.ID == "" {
			t.ID = t.StateMachine + t.Function
		}
		if t.ID == "" {
			return nil, p.errAt(item, tp+".id", "missing: a target given by arn needs an id")
		}
		shapes := 0
		if n := tf["input"]; n != nil {
			v, err := p.jsonValue(n, tp+".input")
			if err != nil {
				return nil, err
			}
			t.Input = &v
			shapes++
		}
		if n := tf["inputPath"]; n != nil {
			v, err := p.str(n, tp+".inputPath")
			if err != nil {
				return nil, err
			}
			t.InputPath = &v
			shapes++
		}
		if n := tf["inputTransformer"]; n != nil {
			xf, err := p.fields(n, tp+".inputTransformer", transformerKeys)
			if err != nil {
				return nil, err
			}
			t.InputTransformer = &events.InputTransformer{}
			if m := xf["inputPathsMap"]; m != nil {
				if t.InputTransformer.InputPathsMap, err = p.stringMap(m, tp+".inputTransformer.inputPathsMap"); err != nil {
					return nil, err
				}
			}
			if xf["inputTemplate"] == nil {
				return nil, p.errAt(n, tp+".inputTransformer.inputTemplate", "missing")
			}
			if t.InputTransformer.InputTemplate, err = p.str(xf["inputTemplate"], tp+".inputTransformer.inputTemplate"); err != nil {
				return nil, err
			}
			shapes++
		}
		if shapes > 1 {
			return nil, p.errAt(item, tp, "input, inputPath and inputTransformer exclude each other")
		}
		if slices.ContainsFunc(r.Targets, func(o *RuleTarget) bool { return o.ID == t.ID }) {
			return nil, p.errAt(item, tp+".id", "target id %s given twice", t.ID)
		}
		r.Targets = append(r.Targets, t)
	}
	return r, nil
}

// checkRuleTargets refuses a rule target that names no state machine or function of the project.
func (proj *Project) checkRuleTargets() error {
	for _, r := range proj.Rules {
		for i, t := range r.Targets {
			key := proj.key(fmt.Sprintf("rules.%s.targets[%d]", r.Name, i))
			switch {
			case t.StateMachine != "" && proj.StateMachine(t.StateMachine) == nil:
				return &Error{File: proj.File, Line: t.line, Key: key + ".stateMachine", Msg: fmt.Sprintf("no state machine %s in stateMachines", t.StateMachine)}
			case t.Function != "" && !slices.ContainsFunc(proj.Functions, func(f *Function) bool { return f.Name == t.Function }):
				return &Error{File: proj.File, Line: t.line, Key: key + ".function", Msg: fmt.Sprintf("no function %s in functions", t.Function)}
			}
		}
	}
	return nil
}

// call runs one EventBridge action in-process.
func eventsCall(ctx context.Context, ev Events, action string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	res, err := ev.Call(ctx, action, b)
	if err != nil {
		return err
	}
	if out != nil {
		return json.Unmarshal(res, out)
	}
	return nil
}

// deployRules puts each rule and its targets, leaving an unchanged rule (and so a scheduled
// rule's next firing) alone, and removes targets the project no longer declares.
func (proj *Project) deployRules(ctx context.Context, t Targets, sum *Summary) error {
	for _, r := range proj.Rules {
		fail := func(err error) error {
			return &Error{File: proj.File, Line: r.line, Key: proj.key("rules." + r.Name), Msg: err.Error()}
		}
		want := map[string]any{"Name": r.Name, "EventBusName": r.Bus, "State": r.State}
		if r.EventPattern != "" {
			want["EventPattern"] = r.EventPattern
		}
		if r.ScheduleExpression != "" {
			want["ScheduleExpression"] = r.ScheduleExpression
		}
		if r.Description != "" {
			want["Description"] = r.Description
		}
		var have events.Rule
		err := eventsCall(ctx, t.Events, "DescribeRule", map[string]string{"Name": r.Name, "EventBusName": r.Bus}, &have)
		var ee *events.Error
		exists := err == nil
		if err != nil && !(errors.As(err, &ee) && ee.Code == "ResourceNotFoundException") {
			return fail(err)
		}
		changed := !exists || have.EventPattern != r.EventPattern || have.ScheduleExpression != r.ScheduleExpression ||
			have.State != r.State || have.Description != r.Description
		if changed {
			if err := eventsCall(ctx, t.Events, "PutRule", want, nil); err != nil {
				return fail(err)
			}
		}
		var listed struct{ Targets []*events.Target }
		if exists {
			if err := eventsCall(ctx, t.Events, "ListTargetsByRule", map[string]string{"Rule": r.Name, "EventBusName": r.Bus}, &listed); err != nil {
				return fail(err)
			}
		}
		var put []*events.Target
		for _, rt := range r.Targets {
			et := &events.Target{ID: rt.ID, Arn: rt.Arn, Input: rt.Input, InputPath: rt.InputPath, InputTransformer: rt.InputTransformer}
			switch {
			case rt.StateMachine != "":
				et.Arn = fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", t.Region, t.Account, proj.StateMachine(rt.StateMachine).Name)
				et.RoleArn = fmt.Sprintf("arn:aws:iam::%s:role/stepline-events", t.Account)
			case rt.Function != "":
				et.Arn = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", t.Region, t.Account, rt.Function)
			}
			i := slices.IndexFunc(listed.Targets, func(o *events.Target) bool { return o.ID == et.ID })
			if i < 0 || !sameTarget(listed.Targets[i], et) {
				put = append(put, et)
			}
		}
		var remove []string
		for _, o := range listed.Targets {
			if !slices.ContainsFunc(r.Targets, func(rt *RuleTarget) bool { return rt.ID == o.ID }) {
				remove = append(remove, o.ID)
			}
		}
		if len(put) > 0 {
			if err := eventsCall(ctx, t.Events, "PutTargets", map[string]any{"Rule": r.Name, "EventBusName": r.Bus, "Targets": put}, nil); err != nil {
				return fail(err)
			}
		}
		if len(remove) > 0 {
			if err := eventsCall(ctx, t.Events, "RemoveTargets", map[string]any{"Rule": r.Name, "EventBusName": r.Bus, "Ids": remove}, nil); err != nil {
				return fail(err)
			}
		}
		switch {
		case !exists:
			sum.RulesCreated++
		case changed || len(put) > 0 || len(remove) > 0:
			sum.RulesUpdated++
		default:
			sum.RulesUnchanged++
		}
	}
	if len(proj.Rules) > 0 {
		t.Logger.Info("rules deployed", "created", sum.RulesCreated, "updated", sum.RulesUpdated, "unchanged", sum.RulesUnchanged)
	}
	return nil
}

// sameTarget compares what a project declares of a target with what EventBridge holds.
func sameTarget(have, want *events.Target) bool {
	norm := func(t *events.Target) []byte {
		c := *t
		c.Other, c.RetryPolicy, c.DeadLetterConfig = nil, nil, nil
		b, _ := json.Marshal(&c)
		return b
	}
	return reflect.DeepEqual(norm(have), norm(want))
}
