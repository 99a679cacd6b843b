package scheduler

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/clock"
)

// fakeRules is EventBridge's scheduled rules; fired records each (rule, time) delivered, as
// EventBridge's idempotent delivery would count them: once.
type fakeRules struct {
	mu    sync.Mutex
	rules []ScheduledRule
	fired map[string]int
}

func (f *fakeRules) ScheduledRules(context.Context) ([]ScheduledRule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ScheduledRule(nil), f.rules...), nil
}

func (f *fakeRules) FireScheduledRule(_ context.Context, name string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fired == nil {
		f.fired = map[string]int{}
	}
	f.fired[name+"@"+at.UTC().Format("15:04:05")]++
	return nil
}

func (f *fakeRules) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k, v := range f.fired {
		if len(k) > len(name) && k[:len(name)+1] == name+"@" {
			n += v
		}
	}
	return n
}

// TestScheduledRules: EventBridge rules with a ScheduleExpression fire like schedules — a
// rate() every interval, a cron() at its times — stop when disabled or deleted, and a rule
// synced by two nodes fires once per time.
func TestScheduledRules(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 30, 0, time.UTC)
	clk := &clock.Fake{T: start}
	st := openSQLite(t)
	rules := &fakeRules{rules: []ScheduledRule{
		{Name: "every-minute", Arn: "arn:aws:events:us-east-1:123456789012:rule/every-minute", ScheduleExpression: "rate(1 minute)", Enabled: true},
		{Name: "on-the-hour", Arn: "arn:aws:events:us-east-1:123456789012:rule/on-the-hour", ScheduleExpression: "cron(0 * * * ? *)", Enabled: true},
		{Name: "off", Arn: "arn:aws:events:us-east-1:123456789012:rule/off", ScheduleExpression: "rate(1 minute)"},
	}}
	var nodes []*Service
	for range 2 {
		s, err := New(Options{Store: st, Clock: clk, StateMachines: &machines{}, Functions: &functions{}, Rules: rules})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, s)
	}
	tick := func(to time.Time) {
		t.Helper()
		for clk.T.Before(to) {
			clk.T = clk.T.Add(10 * time.Second)
			for _, s := range nodes {
				if err := s.SyncRules(t.Context()); err != nil {
					t.Fatal(err)
				}
				for {
					n, err := s.FireDue(t.Context())
					if err != nil {
						t.Fatal(err)
					}
					if n == 0 {
						break
					}
				}
			}
		}
	}
	// The rate fires when first seen (10:00:40), then every minute; the cron at 11:00.
	tick(start.Add(time.Hour + time.Minute))
	if got := rules.count("every-minute"); got != 61 {
		t.Errorf("every-minute fired %d times, want 61", got)
	}
	if got := rules.count("on-the-hour"); got != 1 {
		t.Errorf("on-the-hour fired %d times, want 1", got)
	}
	if got := rules.count("off"); got != 0 {
		t.Errorf("a disabled rule fired %d times", got)
	}
	for k, v := range rules.fired {
		if v != 1 {
			t.Errorf("%s delivered %d times", k, v)
		}
	}
	// Disabled, then deleted: no more firings.
	rules.mu.Lock()
	rules.rules = rules.rules[:1] // on-the-hour deleted
	rules.rules[0].Enabled = false
	rules.mu.Unlock()
	tick(clk.T.Add(3 * time.Hour))
	if got := rules.count("every-minute"); got != 61 {
		t.Errorf("every-minute fired %d times after it was disabled, want 61", got)
	}
	if got := rules.count("on-the-hour"); got != 1 {
		t.Errorf("on-the-hour fired %d times after it was deleted, want 1", got)
	}
}
