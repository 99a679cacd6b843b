package project_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/project"
	"github.com/stepline/stepline/internal/scheduler"
	"github.com/stepline/stepline/internal/store/dsn"
)

const schedulesYAML = `stateMachines:
  Report:
    definition: report.asl.json
schedules:
  nightly:
    expression: cron(0 2 * * ? *)
    timezone: Europe/Paris
    stateMachine: Report
    input: {kind: nightly, n: 1}
    flexibleWindow: 15
    retryPolicy: {maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 3}
  once:
    expression: at(2027-01-01T00:00:00)
    target: arn:aws:lambda:us-east-1:123456789012:function:elsewhere
    group: team
    state: DISABLED
    actionAfterCompletion: DELETE
    input: '{"raw": true}'
`

func newScheduler(t *testing.T) *scheduler.Service {
	t.Helper()
	st, err := dsn.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := scheduler.New(scheduler.Options{Store: st, Clock: &clock.Fake{T: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func deploySchedules(t *testing.T, s *scheduler.Service, dir string) *project.Summary {
	t.Helper()
	p, err := project.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := p.Deploy(context.Background(), project.Targets{Scheduler: s, Account: "123456789012", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestSchedulesDeploy deploys schedules (one in a group it creates), again unchanged, then
// changed: only the changed one is updated.
func TestSchedulesDeploy(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"stepline.yaml": schedulesYAML,
		"report.asl.json": `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`})
	s := newScheduler(t)
	if sum := deploySchedules(t, s, dir); sum.SchedulesCreated != 2 || sum.SchedulesUpdated != 0 || sum.SchedulesUnchanged != 0 {
		t.Fatalf("first deploy: %+v", sum)
	}
	ctx := context.Background()
	g, err := s.GetSchedule(ctx, "", "nightly")
	if err != nil {
		t.Fatal(err)
	}
	if g.Target.Arn != "arn:aws:states:us-east-1:123456789012:stateMachine:Report" || g.Target.Input != `{"kind":"nightly","n":1}` ||
		g.ScheduleExpressionTimezone != "Europe/Paris" || g.FlexibleTimeWindow.Mode != "FLEXIBLE" || *g.FlexibleTimeWindow.MaximumWindowInMinutes != 15 ||
		*g.Target.RetryPolicy.MaximumRetryAttempts != 3 || g.State != "ENABLED" {
		t.Fatalf("nightly = %+v", g)
	}
	o, err := s.GetSchedule(ctx, "team", "once")
	if err != nil || o.State != "DISABLED" || o.ActionAfterCompletion != "DELETE" || o.Target.Input != `{"raw": true}` {
		t.Fatalf("once = %+v, %v", o, err)
	}
	if sum := deploySchedules(t, s, dir); sum.SchedulesCreated != 0 || sum.SchedulesUpdated != 0 || sum.SchedulesUnchanged != 2 {
		t.Fatalf("second deploy: %+v", sum)
	}
	if g2, err := s.GetSchedule(ctx, "", "nightly"); err != nil || !g2.LastModificationDate.Time().Equal(g.LastModificationDate.Time()) {
		t.Fatalf("an unchanged schedule was written")
	}
	write(t, dir, map[string]string{"stepline.yaml": schedulesYAML[:len(schedulesYAML)-len("    input: '{\"raw\": true}'\n")]})
	if sum := deploySchedules(t, s, dir); sum.SchedulesCreated != 0 || sum.SchedulesUpdated != 1 || sum.SchedulesUnchanged != 1 {
		t.Fatalf("third deploy: %+v", sum)
	}
}

func TestSchedulesMistakes(t *testing.T) {
	const machine = "stateMachines:\n  M:\n    definition: m.asl.json\nschedules:\n"
	for _, c := range []struct{ name, yaml, want string }{
		{"bad name", "  a b:\n    expression: rate(1 minute)\n",
			"5: schedules.a b: invalid schedule name: 1 to 64 letters, digits, dots, hyphens or underscores"},
		{"no expression", "  s:\n    stateMachine: M\n",
			"6: schedules.s.expression: missing: cron(…), rate(…) or at(…)"},
		{"bad expression", "  s:\n    expression: cron(0 12 * * * *)\n    stateMachine: M\n",
			`6: schedules.s.expression: invalid schedule expression "cron(0 12 * * * *)": one of the day-of-month and day-of-week fields must be ?, and only one`},
		{"bad zone", "  s:\n    expression: rate(1 day)\n    timezone: Europe/Atlantis\n    stateMachine: M\n",
			`7: schedules.s.timezone: unknown time zone "Europe/Atlantis" (an IANA name, such as Europe/Paris)`},
		{"two targets", "  s:\n    expression: rate(1 day)\n    stateMachine: M\n    function: F\n",
			"6: schedules.s: needs exactly one of stateMachine, function or target"},
		{"unknown machine", "  s:\n    expression: rate(1 day)\n    stateMachine: Nope\n",
			"5: schedules.s.stateMachine: no state machine Nope in stateMachines"},
		{"window", "  s:\n    expression: rate(1 day)\n    stateMachine: M\n    flexibleWindow: 2000\n",
			"8: schedules.s.flexibleWindow: must be between 1 and 1440, not 2000"},
		{"state", "  s:\n    expression: rate(1 day)\n    stateMachine: M\n    state: PAUSED\n",
			`8: schedules.s.state: must be ENABLED or DISABLED, not "PAUSED"`},
		{"input", "  s:\n    expression: rate(1 day)\n    stateMachine: M\n    input: '{oops'\n",
			"8: schedules.s.input: must be a mapping, a list or JSON text"},
		{"unknown key", "  s:\n    expression: rate(1 day)\n    stateMachine: M\n    cron: x\n",
			"8: schedules.s.cron: unknown key (known: expression, timezone, stateMachine, function, target, input, state, flexibleWindow, group, startDate, endDate, actionAfterCompletion, retryPolicy, description)"},
		{"dates", "  s:\n    expression: rate(1 day)\n    stateMachine: M\n    startDate: 2027-01-01T00:00:00Z\n    endDate: 2026-01-01T00:00:00Z\n",
			"9: schedules.s.endDate: must be after startDate"},
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
