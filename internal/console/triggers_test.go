package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/console"
	"github.com/stepline/stepline/internal/events"
	"github.com/stepline/stepline/internal/scheduler"
	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
)

// machines starts schedules' executions through the service, as the server's adapter does.
type machines struct{ svc *service.Service }

func (m machines) StartExecution(ctx context.Context, arn, name, input string) (string, error) {
	x, err := m.svc.StartExecution(ctx, &service.StartExecutionInput{StateMachineArn: arn, Name: name, Input: &input})
	if service.CodeOf(err) == service.CodeExecutionAlreadyExists {
		return "", fmt.Errorf("%w: %w", scheduler.ErrAlreadyStarted, err)
	}
	if err != nil {
		return "", err
	}
	return x.Arn, nil
}

// scheduledRules hands EventBridge's scheduled rules to the scheduler.
type scheduledRules struct{ ev *events.Service }

func (r scheduledRules) ScheduledRules(ctx context.Context) ([]scheduler.ScheduledRule, error) {
	rules, err := r.ev.ScheduledRules(ctx)
	if err != nil {
		return nil, err
	}
	var out []scheduler.ScheduledRule
	for _, x := range rules {
		out = append(out, scheduler.ScheduledRule{Name: x.Name, Arn: x.Arn, ScheduleExpression: x.ScheduleExpression, Enabled: x.Enabled()})
	}
	return out, nil
}

func (r scheduledRules) FireScheduledRule(ctx context.Context, name string, at time.Time) error {
	_, err := r.ev.FireScheduledRule(ctx, name, at)
	return err
}

// triggers is a console with EventBridge Scheduler and EventBridge over the bundle's store:
// a schedule "hourly" that fired once (rate schedules fire when created) into the machine
// "nightly", a cron schedule in Europe/Paris not yet due, a pattern rule with a target and a
// scheduled rule.
type triggers struct {
	*bundle
	url     string
	sched   *scheduler.Service
	machine string
	fired   string // the execution hourly's firing started
}

// created is when the scheduler's clock says the schedules were created.
var created = time.Date(2026, time.January, 15, 6, 0, 0, 0, time.UTC)

func setupTriggers(t *testing.T) *triggers {
	t.Helper()
	ctx := context.Background()
	b := setup(t, false)
	ev, err := events.New(events.Options{Store: b.st, Account: "123456789012", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	// The scheduler's clock is told when to move: the schedules are created at 06:00 UTC on
	// 15 January 2026, and hourly's first firing is carried out then.
	clk := &clock.Fake{T: created}
	sched, err := scheduler.New(scheduler.Options{Store: b.st, Account: "123456789012", Region: "us-east-1", Clock: clk,
		StateMachines: machines{b.svc}, Rules: scheduledRules{ev}})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := console.New(console.Options{Service: b.svc, Store: b.st, Scheduler: sched, Events: ev})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(cons)
	t.Cleanup(srv.Close)
	tr := &triggers{bundle: b, url: srv.URL, sched: sched}
	tr.machine = b.machine(t, "nightly", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`)

	hourly := &scheduler.ScheduleInput{Name: "hourly"}
	hourly.ScheduleExpression = "rate(1 hour)"
	hourly.FlexibleTimeWindow.Mode = "OFF"
	hourly.Target.Arn, hourly.Target.RoleArn = tr.machine, role
	if _, err := sched.CreateSchedule(ctx, hourly); err != nil {
		t.Fatal(err)
	}
	paris := &scheduler.ScheduleInput{Name: "morning"}
	paris.ScheduleExpression, paris.ScheduleExpressionTimezone = "cron(0 9 * * ? *)", "Europe/Paris"
	paris.FlexibleTimeWindow.Mode = "OFF"
	paris.Target.Arn, paris.Target.RoleArn = tr.machine, role
	if _, err := sched.CreateSchedule(ctx, paris); err != nil {
		t.Fatal(err)
	}
	// A rate() schedule fires when it is created (then every interval): carry that out.
	var f scheduler.Firing
	sched.OnFire(func(x scheduler.Firing) { f = x })
	if n, err := sched.FireDue(ctx); err != nil || n != 1 {
		t.Fatalf("FireDue: %d, %v; want the one firing of hourly", n, err)
	}
	if f.Name != "hourly" || f.Execution == "" || f.Err != nil || !f.Nominal.Equal(created) {
		t.Fatalf("hourly's firing: %+v", f)
	}
	tr.fired = f.Execution
	b.wait(t, tr.fired)

	for _, call := range []struct{ action, body string }{
		{"PutRule", `{"Name":"orders","EventPattern":"{\"source\":[\"shop\"],\"detail-type\":[\"OrderPlaced\"]}","Description":"new orders"}`},
		{"PutTargets", fmt.Sprintf(`{"Rule":"orders","Targets":[{"Id":"to-nightly","Arn":%q,"RoleArn":%q,"DeadLetterConfig":{"Arn":"arn:aws:sqs:us-east-1:123456789012:dlq"}}]}`, tr.machine, role)},
		{"PutRule", `{"Name":"tick","ScheduleExpression":"rate(5 minutes)"}`},
		{"PutTargets", `{"Rule":"tick","Targets":[{"Id":"fn","Arn":"arn:aws:lambda:us-east-1:123456789012:function:ticker"}]}`},
	} {
		if _, err := ev.Call(ctx, call.action, []byte(call.body)); err != nil {
			t.Fatalf("%s: %v", call.action, err)
		}
	}
	if err := sched.SyncRules(ctx); err != nil {
		t.Fatal(err)
	}
	return tr
}

// nominal is the next firing the store holds for a schedule or rule.
func (tr *triggers) nominal(t *testing.T, kind, group, name string) time.Time {
	t.Helper()
	row, err := tr.st.ScheduleGet(context.Background(), &store.ScheduleGetParams{Kind: kind, Group: group, Name: name})
	if err != nil || row.Nominal == nil {
		t.Fatalf("%s %s/%s: %v, next firing %v", kind, group, name, err, row)
	}
	return *row.Nominal
}

// The schedules page lists the groups and schedules with their next firing (in UTC, and in
// the schedule's zone), and a fired schedule's firing with a link to the execution it started.
func TestSchedulesPage(t *testing.T) {
	t.Parallel()
	tr := setupTriggers(t)
	code, body := get(t, http.DefaultClient, tr.url+"/schedules")
	if code != http.StatusOK {
		t.Fatalf("GET /schedules: %d\n%s", code, body)
	}
	if !strings.Contains(body, `data-group="default"`) {
		t.Errorf("the default group is not listed")
	}
	if !strings.Contains(body, `href="/schedules" aria-current="page">Schedules</a>`) {
		t.Errorf("the header does not mark Schedules as the current page")
	}
	for _, name := range []string{"hourly", "morning"} {
		next := tr.nominal(t, store.ScheduleKindSchedule, "default", name)
		row := regexp.MustCompile(`(?s)<tr data-schedule="default/` + name + `" data-state="ENABLED">.*?</tr>`).FindString(body)
		if row == "" {
			t.Errorf("%s is not listed as ENABLED", name)
			continue
		}
		if want := `data-next="` + next.UTC().Format("2006-01-02T15:04:05Z") + `"`; !strings.Contains(row, want) {
			t.Errorf("%s: the row lacks %s:\n%s", name, want, row)
		}
		if !strings.Contains(row, "● Enabled") {
			t.Errorf("%s: its state is not in words", name)
		}
		switch name {
		case "hourly": // fired at 06:00, next at 07:00
			if !next.Equal(created.Add(time.Hour)) || !strings.Contains(row, "2026-01-15 07:00:00.000 UTC") {
				t.Errorf("hourly's next firing is %v", next)
			}
		case "morning": // 09:00 in Paris is 08:00 UTC in January
			if !next.Equal(created.Add(2*time.Hour)) || !strings.Contains(row, "2026-01-15 08:00:00.000 UTC") ||
				!strings.Contains(row, "2026-01-15 09:00:00 CET") || !strings.Contains(row, "Europe/Paris") {
				t.Errorf("morning's next firing is not shown at 09:00 Europe/Paris (%v):\n%s", next, row)
			}
		}
	}
	// hourly fired once, into an execution named after it and its firing; its next firing is
	// an hour after that one.
	link := `href="/executions/` + url.PathEscape(tr.fired) + `"`
	firings := regexp.MustCompile(`(?s)<table class="list" data-firings="default/hourly">.*?</table>`).FindString(body)
	if !strings.Contains(firings, link) || !strings.Contains(firings, "<td>2026-01-15 06:00:00.000 UTC</td>") || !strings.Contains(firings, `data-status="SUCCEEDED"`) || !strings.Contains(firings, "✓ SUCCEEDED") {
		t.Errorf("hourly's firing does not link its SUCCEEDED execution %s:\n%s", tr.fired, firings)
	}
	if strings.Contains(body, `data-firings="default/morning"`) {
		t.Errorf("morning, not yet fired, lists firings")
	}
	if code, _ := get(t, http.DefaultClient, tr.url+"/executions/"+url.PathEscape(tr.fired)); code != http.StatusOK {
		t.Errorf("the firing's execution page: %d", code)
	}
}

// The rules page lists each bus's rules: the pattern pretty-printed or the schedule with its
// next firing, the state in words, and the targets linked to their pages.
func TestRulesPage(t *testing.T) {
	t.Parallel()
	tr := setupTriggers(t)
	code, body := get(t, http.DefaultClient, tr.url+"/rules")
	if code != http.StatusOK {
		t.Fatalf("GET /rules: %d\n%s", code, body)
	}
	orders := regexp.MustCompile(`(?s)<tr data-rule="default/orders" data-state="ENABLED">.*?</tr>`).FindString(body)
	if orders == "" {
		t.Fatalf("the rule orders is not listed:\n%s", body)
	}
	var pretty bytes.Buffer
	_ = json.Indent(&pretty, []byte(`{"source":["shop"],"detail-type":["OrderPlaced"]}`), "", "  ")
	if want := strings.ReplaceAll(pretty.String(), `"`, "&#34;"); !strings.Contains(orders, want) {
		t.Errorf("orders' pattern is not pretty-printed as\n%s\n%s", want, orders)
	}
	if !strings.Contains(orders, `data-target="to-nightly"`) || !strings.Contains(orders, `href="/state-machines/`+url.PathEscape(tr.machine)+`"`) ||
		!strings.Contains(orders, "● Enabled") || !strings.Contains(orders, "dead letters: arn:aws:sqs:us-east-1:123456789012:dlq") {
		t.Errorf("orders' target, its link or its state are missing:\n%s", orders)
	}
	tick := regexp.MustCompile(`(?s)<tr data-rule="default/tick" data-state="ENABLED">.*?</tr>`).FindString(body)
	next := tr.nominal(t, store.ScheduleKindRule, "default", "tick")
	if !strings.Contains(tick, "<code>rate(5 minutes)</code>") || !strings.Contains(tick, "next firing "+next.UTC().Format("2006-01-02 15:04:05.000")+" UTC") ||
		!strings.Contains(tick, `href="/functions/ticker"`) {
		t.Errorf("tick's schedule, next firing or target are missing (next %v):\n%s", next, tick)
	}
}

// The schedules page in a browser: the header links to it, the fired schedule's execution
// link leads to the execution's page.
func TestSchedulesPageBrowser(t *testing.T) {
	tr := setupTriggers(t)
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(tr.url+"/"), chromedp.Click(`header nav a[href="/schedules"]`), chromedp.WaitVisible(`#schedules`))
	if n := eval[int](t, ctx, `document.querySelectorAll('#schedules tbody tr').length`); n != 2 {
		t.Errorf("%d schedules in the table, want 2", n)
	}
	if cur := eval[string](t, ctx, `document.querySelector('header nav a[aria-current="page"]').textContent`); cur != "Schedules" {
		t.Errorf("current page in the header: %q", cur)
	}
	screenshot(t, ctx, "console-schedules")
	do(t, ctx, chromedp.Click(`table[data-firings="default/hourly"] tbody tr a`), chromedp.WaitVisible(`#execution`))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != execURL(tr.url, tr.fired) {
		t.Errorf("the firing's link led to %s", loc)
	}
}
