package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/scheduler"
	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
)

// The schedules and rules pages ask EventBridge Scheduler and EventBridge in-process, and read
// the next firing times from the store's firing rows, which the Scheduler API does not answer.

// Scheduler is what the schedules page needs of EventBridge Scheduler.
type Scheduler interface {
	ListScheduleGroups(ctx context.Context, prefix, token string, maxResults int) ([]*scheduler.GroupOutput, string, error)
	ListSchedules(ctx context.Context, in *scheduler.ListSchedulesInput) ([]scheduler.ScheduleSummary, string, error)
	GetSchedule(ctx context.Context, group, name string) (*scheduler.ScheduleOutput, error)
}

// Events is what the rules page needs of EventBridge: its JSON actions, in-process.
type Events interface {
	Call(ctx context.Context, action string, input []byte) ([]byte, error)
}

// firing is one firing of a schedule: its scheduled time and the execution it started.
type firing struct {
	Nominal   time.Time
	Execution *store.Execution
}

// scheduleView is one schedule as the page shows it.
type scheduleView struct {
	*scheduler.ScheduleOutput
	Machine string // the target state machine's ARN, "" for other targets
	// Next is the next firing's scheduled time (nil: none left, or disabled); NextZone the
	// same time in the schedule's zone; Attempt how many times carrying it out failed so far.
	Next     *time.Time
	NextZone string
	Attempt  int
	Firings  []firing
}

// lastFirings is how many of a schedule's last firings the page shows, and scanned how many of
// its state machine's newest executions are searched for them.
const (
	lastFirings = 5
	scanned     = 200
)

func (c *Console) schedules(w http.ResponseWriter, r *http.Request) {
	if c.o.Scheduler == nil {
		c.failErr(w, errNoService)
		return
	}
	ctx := r.Context()
	var groups []*scheduler.GroupOutput
	for token := ""; ; {
		page, next, err := c.o.Scheduler.ListScheduleGroups(ctx, "", token, 100)
		if err != nil {
			c.failErr(w, err)
			return
		}
		groups = append(groups, page...)
		if token = next; token == "" {
			break
		}
	}
	var views []*scheduleView
	for token := ""; ; {
		page, next, err := c.o.Scheduler.ListSchedules(ctx, &scheduler.ListSchedulesInput{NextToken: token, MaxResults: 100})
		if err != nil {
			c.failErr(w, err)
			return
		}
		for _, s := range page {
			v, err := c.scheduleView(ctx, s.GroupName, s.Name)
			if err != nil {
				c.log.Warn("console: a schedule", "group", s.GroupName, "schedule", s.Name, "err", err)
				continue // deleted meanwhile
			}
			views = append(views, v)
		}
		if token = next; token == "" {
			break
		}
	}
	c.render(w, "schedules", map[string]any{"Title": "Schedules", "Nav": "schedules", "Groups": groups, "Schedules": views})
}

// scheduleView gathers a schedule, its next firing from the store's firing row, and its last
// firings: the executions of its state machine named as the scheduler names a firing's
// (FiringName), newest first. The scheduler keeps no record of past firings, so they are
// found among the machine's newest executions.
func (c *Console) scheduleView(ctx context.Context, group, name string) (*scheduleView, error) {
	out, err := c.o.Scheduler.GetSchedule(ctx, group, name)
	if err != nil {
		return nil, err
	}
	row, err := c.o.Store.ScheduleGet(ctx, &store.ScheduleGetParams{Kind: store.ScheduleKindSchedule, Group: group, Name: name})
	if err != nil {
		return nil, fmt.Errorf("console: schedule %s/%s: %w", group, name, err)
	}
	v := &scheduleView{ScheduleOutput: out, Machine: scheduleMachine(out), Attempt: row.Attempt}
	if row.Nominal != nil {
		t := *row.Nominal
		v.Next = &t
		if loc, err := time.LoadLocation(out.ScheduleExpressionTimezone); err == nil && out.ScheduleExpressionTimezone != "" {
			v.NextZone = t.In(loc).Format("2006-01-02 15:04:05 MST")
		}
	}
	if v.Machine != "" {
		v.Firings = c.firings(ctx, row, v.Machine)
	}
	return v, nil
}

// firingNameRE takes a firing's scheduled time out of its execution's name.
var firingNameRE = regexp.MustCompile(`_(\d{8}T\d{6}Z)_[0-9a-f]{16}$`)

func (c *Console) firings(ctx context.Context, row *store.Schedule, machine string) []firing {
	var out []firing
	token := ""
	for seen := 0; seen < scanned && len(out) < lastFirings; {
		xs, next, err := c.o.Service.ListExecutions(ctx, &service.ListExecutionsInput{StateMachineArn: machine,
			Page: service.Page{Limit: 100, Token: token}})
		if err != nil {
			return out
		}
		for _, x := range xs {
			m := firingNameRE.FindStringSubmatch(x.Name)
			if m == nil {
				continue
			}
			nominal, err := time.Parse("20060102T150405Z", m[1])
			// The name must be exactly the one this schedule gives that firing: another
			// schedule of a similar name, or one deleted and created again, is not this one.
			if err != nil || scheduler.FiringName(row, nominal) != x.Name {
				continue
			}
			out = append(out, firing{Nominal: nominal, Execution: x})
			if len(out) == lastFirings {
				break
			}
		}
		seen += len(xs)
		if token = next; token == "" {
			break
		}
	}
	return out
}

// scheduleMachine is the state machine a schedule starts executions of: its target, or the
// StateMachineArn of a universal target's input; "" for others.
func scheduleMachine(s *scheduler.ScheduleOutput) string {
	a := s.Target.Arn
	switch {
	case strings.HasPrefix(a, "arn:aws:states:") && strings.Contains(a, ":stateMachine:"):
		return a
	case strings.EqualFold(a, "arn:aws:scheduler:::aws-sdk:sfn:startExecution"):
		var in struct{ StateMachineArn string }
		_ = json.Unmarshal([]byte(s.Target.Input), &in)
		return in.StateMachineArn
	}
	return ""
}

// eventsCall runs one EventBridge action in-process.
func (c *Console) eventsCall(ctx context.Context, action string, in, out any) error {
	if c.o.Events == nil {
		return errNoService
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("console: EventBridge %s: %w", action, err)
	}
	res, err := c.o.Events.Call(ctx, action, body)
	if err != nil {
		return fmt.Errorf("console: EventBridge %s: %w", action, err)
	}
	return json.Unmarshal(res, out)
}

type ebTarget struct {
	Id               string
	Arn              string
	Input            *string
	InputPath        *string
	DeadLetterConfig *struct{ Arn string }
}

type ebDeadLetter struct {
	Id           string
	Time         time.Time
	RuleArn      string `json:"RULE_ARN"`
	TargetArn    string `json:"TARGET_ARN"`
	ErrorCode    string `json:"ERROR_CODE"`
	ErrorMessage string `json:"ERROR_MESSAGE"`
	Attempts     int    `json:"RETRY_ATTEMPTS"`
}

type ebRule struct {
	Name               string
	Arn                string
	EventBusName       string
	EventPattern       string
	ScheduleExpression string
	State              string
	Description        string
	Targets            []ebTarget
	// Next is a scheduled rule's next firing (from the scheduler's row of it).
	Next *time.Time
}

type ebBus struct {
	Name, Arn, Description string
	Rules                  []ebRule
}

// deadLetters is how many of a dead-letter list's oldest entries the rules page shows.
const deadLetters = 10

func (c *Console) rules(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var buses []ebBus
	for token := ""; ; {
		var page struct {
			EventBuses []ebBus
			NextToken  string
		}
		if err := c.eventsCall(ctx, "ListEventBuses", map[string]any{"NextToken": token}, &page); err != nil {
			c.failErr(w, err)
			return
		}
		buses = append(buses, page.EventBuses...)
		if token = page.NextToken; token == "" {
			break
		}
	}
	var dls []ebDeadLetter
	dlSeen := map[string]bool{}
	for i := range buses {
		b := &buses[i]
		for token := ""; ; {
			var page struct {
				Rules     []ebRule
				NextToken string
			}
			if err := c.eventsCall(ctx, "ListRules", map[string]any{"EventBusName": b.Name, "NextToken": token}, &page); err != nil {
				c.failErr(w, err)
				return
			}
			b.Rules = append(b.Rules, page.Rules...)
			if token = page.NextToken; token == "" {
				break
			}
		}
		for j := range b.Rules {
			rule := &b.Rules[j]
			var ts struct{ Targets []ebTarget }
			if err := c.eventsCall(ctx, "ListTargetsByRule", map[string]any{"Rule": rule.Name, "EventBusName": b.Name}, &ts); err == nil {
				rule.Targets = ts.Targets
			}
			if rule.ScheduleExpression != "" {
				if row, err := c.o.Store.ScheduleGet(ctx, &store.ScheduleGetParams{Kind: store.ScheduleKindRule, Group: b.Name, Name: rule.Name}); err == nil {
					rule.Next = row.Nominal
				}
			}
			for _, t := range rule.Targets {
				if t.DeadLetterConfig == nil || t.DeadLetterConfig.Arn == "" || dlSeen[t.DeadLetterConfig.Arn] {
					continue
				}
				dlSeen[t.DeadLetterConfig.Arn] = true
				var page struct{ DeadLetters []ebDeadLetter }
				if err := c.eventsCall(ctx, "ListDeadLetters", map[string]any{"DeadLetterArn": t.DeadLetterConfig.Arn, "Limit": deadLetters}, &page); err == nil {
					dls = append(dls, page.DeadLetters...)
				}
			}
		}
	}
	slices.SortFunc(dls, func(a, b ebDeadLetter) int { return b.Time.Compare(a.Time) })
	c.render(w, "rules", map[string]any{"Title": "Rules", "Nav": "rules", "Buses": buses, "DeadLetters": dls})
}
