package project

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stepline/stepline/internal/scheduler"
)

// Schedule is one entry of schedules: an EventBridge Scheduler schedule whose target is a
// state machine or a function of the project (by name), or any target ARN.
//
//	schedules:
//	  nightly:
//	    expression: cron(0 2 * * ? *)
//	    timezone: Europe/Paris
//	    stateMachine: Report          # or function: Name, or target: ARN
//	    input: {"kind": "nightly"}    # a mapping, list or JSON text
//	    state: ENABLED                # or DISABLED
//	    flexibleWindow: 15            # minutes; absent: OFF
//	    group: reports                # created if needed; default: default
//	    startDate: 2026-01-01T00:00:00Z
//	    endDate: 2027-01-01T00:00:00Z
//	    actionAfterCompletion: NONE   # or DELETE (an at() schedule after it fired)
//	    retryPolicy: {maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 3}
//	    description: …
type Schedule struct {
	Name, Group string
	// StateMachine or Function name the target in the project; Target is an ARN given as is.
	StateMachine, Function, Target string
	Expression, Timezone           string
	Input                          string
	State                          string
	// FlexibleWindow is in minutes, 0 for OFF.
	FlexibleWindow        int
	StartDate, EndDate    *time.Time
	ActionAfterCompletion string
	Description           string
	MaxEventAge, Retries  *int
	line                  int
}

var (
	scheduleKeys = []string{"expression", "timezone", "stateMachine", "function", "target", "input", "state",
		"flexibleWindow", "group", "startDate", "endDate", "actionAfterCompletion", "retryPolicy", "description"}
	retryPolicyKeys = []string{"maximumEventAgeInSeconds", "maximumRetryAttempts"}
	scheduleName    = regexp.MustCompile(`^[0-9a-zA-Z-_.]{1,64}$`)
)

// schedule reads one entry of schedules; what CreateSchedule would refuse is refused here,
// with the key that is wrong.
func (p *parser) schedule(name string, key, v *yaml.Node) (*Schedule, error) {
	path := "schedules." + name
	if !scheduleName.MatchString(name) {
		return nil, p.errAt(key, path, "invalid schedule name: 1 to 64 letters, digits, dots, hyphens or underscores")
	}
	s := &Schedule{Name: name, Group: scheduler.DefaultGroup, State: "ENABLED", line: key.Line}
	f, err := p.fields(v, path, scheduleKeys)
	if err != nil {
		return nil, err
	}
	str := func(k string, dst *string) error {
		if n := f[k]; n != nil {
			v, err := p.str(n, path+"."+k)
			if err != nil {
				return err
			}
			*dst = v
		}
		return nil
	}
	for k, dst := range map[string]*string{"expression": &s.Expression, "timezone": &s.Timezone, "stateMachine": &s.StateMachine,
		"function": &s.Function, "target": &s.Target, "state": &s.State, "group": &s.Group,
		"actionAfterCompletion": &s.ActionAfterCompletion, "description": &s.Description} {
		if err := str(k, dst); err != nil {
			return nil, err
		}
	}
	if f["expression"] == nil {
		return nil, p.errAt(v, path+".expression", "missing: cron(…), rate(…) or at(…)")
	}
	if _, err := scheduler.ParseExpression(s.Expression); err != nil {
		return nil, p.errAt(f["expression"], path+".expression", "invalid schedule expression %q: %v", s.Expression, err)
	}
	if s.Timezone != "" {
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			return nil, p.errAt(f["timezone"], path+".timezone", "unknown time zone %q (an IANA name, such as Europe/Paris)", s.Timezone)
		}
	}
	targets := 0
	for _, k := range []string{"stateMachine", "function", "target"} {
		if f[k] != nil {
			targets++
		}
	}
	if targets != 1 {
		return nil, p.errAt(v, path, "needs exactly one of stateMachine, function or target")
	}
	if s.State != "ENABLED" && s.State != "DISABLED" {
		return nil, p.errAt(f["state"], path+".state", "must be ENABLED or DISABLED, not %q", s.State)
	}
	if !scheduleName.MatchString(s.Group) {
		return nil, p.errAt(f["group"], path+".group", "invalid group name %q", s.Group)
	}
	if s.ActionAfterCompletion != "" && s.ActionAfterCompletion != "NONE" && s.ActionAfterCompletion != "DELETE" {
		return nil, p.errAt(f["actionAfterCompletion"], path+".actionAfterCompletion", "must be NONE or DELETE, not %q", s.ActionAfterCompletion)
	}
	if n := f["flexibleWindow"]; n != nil {
		if s.FlexibleWindow, err = p.integer(n, path+".flexibleWindow", 1, 1440); err != nil {
			return nil, err
		}
	}
	for k, dst := range map[string]**time.Time{"startDate": &s.StartDate, "endDate": &s.EndDate} {
		n := f[k]
		if n == nil {
			continue
		}
		t, err := time.Parse(time.RFC3339, n.Value)
		if n.Kind != yaml.ScalarNode || err != nil {
			return nil, p.errAt(n, path+"."+k, "must be a date and time such as 2026-01-01T00:00:00Z, not %q", n.Value)
		}
		*dst = &t
	}
	if s.StartDate != nil && s.EndDate != nil && !s.EndDate.After(*s.StartDate) {
		return nil, p.errAt(f["endDate"], path+".endDate", "must be after startDate")
	}
	if n := f["retryPolicy"]; n != nil {
		rf, err := p.fields(n, path+".retryPolicy", retryPolicyKeys)
		if err != nil {
			return nil, err
		}
		if n := rf["maximumEventAgeInSeconds"]; n != nil {
			v, err := p.integer(n, path+".retryPolicy.maximumEventAgeInSeconds", 60, 86400)
			if err != nil {
				return nil, err
			}
			s.MaxEventAge = &v
		}
		if n := rf["maximumRetryAttempts"]; n != nil {
			v, err := p.integer(n, path+".retryPolicy.maximumRetryAttempts", 0, 185)
			if err != nil {
				return nil, err
			}
			s.Retries = &v
		}
	}
	if n := f["input"]; n != nil {
		if s.Input, err = p.jsonValue(n, path+".input"); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// jsonValue reads a value given as YAML (a mapping or list) or as JSON text (a string).
func (p *parser) jsonValue(n *yaml.Node, key string) (string, error) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		if !json.Valid([]byte(n.Value)) {
			return "", p.errAt(n, key, "must be a mapping, a list or JSON text")
		}
		return n.Value, nil
	}
	b, err := nodeJSON(n)
	if err != nil {
		return "", p.errAt(n, key, "%v", err)
	}
	return string(b), nil
}

// checkScheduleTargets refuses a schedule whose target names no state machine or function of
// the project.
func (proj *Project) checkScheduleTargets() error {
	for _, s := range proj.Schedules {
		switch {
		case s.StateMachine != "" && proj.StateMachine(s.StateMachine) == nil:
			return &Error{File: proj.File, Line: s.line, Key: proj.key("schedules." + s.Name + ".stateMachine"),
				Msg: fmt.Sprintf("no state machine %s in stateMachines", s.StateMachine)}
		case s.Function != "" && !slices.ContainsFunc(proj.Functions, func(f *Function) bool { return f.Name == s.Function }):
			return &Error{File: proj.File, Line: s.line, Key: proj.key("schedules." + s.Name + ".function"),
				Msg: fmt.Sprintf("no function %s in functions", s.Function)}
		}
	}
	return nil
}

// scheduleInput is what CreateSchedule is given for s.
func (s *Schedule) scheduleInput(proj *Project, account, region string) *scheduler.ScheduleInput {
	in := &scheduler.ScheduleInput{Name: s.Name, GroupName: s.Group}
	in.ScheduleExpression = s.Expression
	in.ScheduleExpressionTimezone = s.Timezone
	in.State = s.State
	in.Description = s.Description
	in.ActionAfterCompletion = s.ActionAfterCompletion
	in.FlexibleTimeWindow.Mode = "OFF"
	if s.FlexibleWindow > 0 {
		in.FlexibleTimeWindow = scheduler.FlexibleTimeWindow{Mode: "FLEXIBLE", MaximumWindowInMinutes: &s.FlexibleWindow}
	}
	in.SetDates(s.StartDate, s.EndDate)
	target := s.Target
	switch {
	case s.StateMachine != "":
		name := s.StateMachine
		if sm := proj.StateMachine(name); sm != nil {
			name = sm.Name
		}
		target = fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", region, account, name)
	case s.Function != "":
		target = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, account, s.Function)
	}
	in.Target = scheduler.Target{Arn: target, RoleArn: fmt.Sprintf("arn:aws:iam::%s:role/stepline-scheduler", account), Input: s.Input}
	if s.MaxEventAge != nil || s.Retries != nil {
		in.Target.RetryPolicy = &scheduler.RetryPolicy{MaximumEventAgeInSeconds: s.MaxEventAge, MaximumRetryAttempts: s.Retries}
	}
	return in
}

// deploySchedules creates, updates or leaves each schedule (and its group) as it is: an
// unchanged schedule keeps its next firing.
func (proj *Project) deploySchedules(ctx context.Context, t Targets, sum *Summary) error {
	for _, s := range proj.Schedules {
		if s.Group != scheduler.DefaultGroup {
			if _, err := t.Scheduler.GetScheduleGroup(ctx, s.Group); err != nil {
				if _, err := t.Scheduler.CreateScheduleGroup(ctx, s.Group, nil); err != nil && !strings.Contains(err.Error(), "ConflictException") {
					return &Error{File: proj.File, Line: s.line, Key: proj.key("schedules." + s.Name + ".group"), Msg: err.Error()}
				}
			}
		}
		res, err := t.Scheduler.PutSchedule(ctx, s.scheduleInput(proj, t.Account, t.Region))
		if err != nil {
			return &Error{File: proj.File, Line: s.line, Key: proj.key("schedules." + s.Name), Msg: err.Error()}
		}
		switch res {
		case scheduler.PutCreated:
			sum.SchedulesCreated++
		case scheduler.PutUpdated:
			sum.SchedulesUpdated++
		default:
			sum.SchedulesUnchanged++
		}
	}
	if len(proj.Schedules) > 0 {
		t.Logger.Info("schedules deployed", "created", sum.SchedulesCreated, "updated", sum.SchedulesUpdated, "unchanged", sum.SchedulesUnchanged)
	}
	return nil
}
