package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	stypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stepline/stepline/internal/server"
	"github.com/stepline/stepline/internal/store/postgres/pgtest"
)

func schedulerClient(url string) *scheduler.Client {
	return scheduler.New(scheduler.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1,
	})
}

// executions lists a machine's executions with their inputs.
func (b *bundle) scheduledInputs(t *testing.T, machine string) []string {
	t.Helper()
	out, err := b.client.ListExecutions(t.Context(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
	if err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, x := range out.Executions {
		d, err := b.client.DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, *d.Input)
	}
	return inputs
}

// waitExecutions polls until machine has at least n executions.
func (b *bundle) waitScheduled(t *testing.T, machine string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := b.scheduledInputs(t, machine)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d executions of %s, want %d", len(got), machine, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newSchedule(name, expr, target, input string) *scheduler.CreateScheduleInput {
	return &scheduler.CreateScheduleInput{
		Name: aws.String(name), ScheduleExpression: aws.String(expr),
		FlexibleTimeWindow: &stypes.FlexibleTimeWindow{Mode: stypes.FlexibleTimeWindowModeOff},
		Target:             &stypes.Target{Arn: aws.String(target), RoleArn: aws.String(role), Input: aws.String(input)},
	}
}

// TestSchedulerAtFiresOnce: an at() schedule made with the SDK starts exactly one execution
// of its state machine, with its input and context attributes.
func TestSchedulerAtFiresOnce(t *testing.T) {
	b := setup(t, server.Options{})
	sc := schedulerClient(b.url)
	machine := b.createMachine(t, "scheduled", passChain)
	at := time.Now().UTC().Add(2 * time.Second).Format("2006-01-02T15:04:05")
	out, err := sc.CreateSchedule(t.Context(), newSchedule("once", "at("+at+")", machine, `{"arn":"<aws.scheduler.schedule-arn>"}`))
	if err != nil {
		t.Fatal(err)
	}
	if *out.ScheduleArn != "arn:aws:scheduler:us-east-1:123456789012:schedule/default/once" {
		t.Fatalf("ScheduleArn = %s", *out.ScheduleArn)
	}
	got := b.waitScheduled(t, machine, 1)
	if want := `{"arn":"arn:aws:scheduler:us-east-1:123456789012:schedule/default/once"}`; got[0] != want {
		t.Fatalf("input %s, want %s", got[0], want)
	}
	// The schedule stays (ActionAfterCompletion NONE), with nothing left to fire; a second
	// execution would show within a few polls of the firing loop.
	g, err := sc.GetSchedule(t.Context(), &scheduler.GetScheduleInput{Name: aws.String("once")})
	if err != nil || *g.ScheduleExpression != "at("+at+")" || g.State != stypes.ScheduleStateEnabled || g.CreationDate == nil ||
		*g.GroupName != "default" || *g.Target.Arn != machine {
		t.Fatalf("GetSchedule = %+v, %v", g, err)
	}
	time.Sleep(time.Second)
	if n := len(b.scheduledInputs(t, machine)); n != 1 {
		t.Fatalf("%d executions, want 1", n)
	}
	resp, err := http.Get(b.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(text), "stepline_scheduler_firings_total{outcome=\"started\"} 1\n") {
		t.Errorf("/metrics lacks the firing:\n%s", text)
	}
}

// TestSchedulerRateStopsWhenDisabled: rate(1 minute) at --wait-scale 0.01 fires every 0.6 s
// and stops once UpdateSchedule disables it.
func TestSchedulerRateStopsWhenDisabled(t *testing.T) {
	b := setup(t, server.Options{WaitScale: 0.01})
	sc := schedulerClient(b.url)
	machine := b.createMachine(t, "ticking", passChain)
	in := newSchedule("tick", "rate(1 minute)", machine, `{"id":"<aws.scheduler.execution-id>"}`)
	if _, err := sc.CreateSchedule(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	first := b.waitScheduled(t, machine, 3)
	seen := map[string]bool{}
	for _, x := range first {
		if seen[x] {
			t.Fatalf("two executions with input %s", x)
		}
		seen[x] = true
	}
	if _, err := sc.UpdateSchedule(t.Context(), &scheduler.UpdateScheduleInput{Name: in.Name, ScheduleExpression: in.ScheduleExpression,
		FlexibleTimeWindow: in.FlexibleTimeWindow, Target: in.Target, State: stypes.ScheduleStateDisabled}); err != nil {
		t.Fatal(err)
	}
	// A firing claimed just before the update may still start its execution.
	stopped := len(b.scheduledInputs(t, machine))
	time.Sleep(2 * time.Second) // three intervals
	if n := len(b.scheduledInputs(t, machine)); n > stopped+1 {
		t.Fatalf("%d executions 2 s after disabling, %d when disabled", n, stopped)
	}
	g, err := sc.GetSchedule(t.Context(), &scheduler.GetScheduleInput{Name: in.Name})
	if err != nil || g.State != stypes.ScheduleStateDisabled {
		t.Fatalf("GetSchedule = %+v, %v", g, err)
	}
}

// TestSchedulerAPI: groups, tags, listing with pages and filters, and errors in the shapes
// the SDK decodes.
func TestSchedulerAPI(t *testing.T) {
	b := setup(t, server.Options{})
	sc := schedulerClient(b.url)
	ctx := t.Context()
	g, err := sc.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String("team"),
		Tags: []stypes.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}})
	if err != nil || *g.ScheduleGroupArn != "arn:aws:scheduler:us-east-1:123456789012:schedule-group/team" {
		t.Fatalf("CreateScheduleGroup = %+v, %v", g, err)
	}
	var conflict *stypes.ConflictException
	if _, err := sc.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String("team")}); !errors.As(err, &conflict) {
		t.Fatalf("second CreateScheduleGroup: %v", err)
	}
	if _, err := sc.TagResource(ctx, &scheduler.TagResourceInput{ResourceArn: g.ScheduleGroupArn,
		Tags: []stypes.Tag{{Key: aws.String("owner"), Value: aws.String("me")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.UntagResource(ctx, &scheduler.UntagResourceInput{ResourceArn: g.ScheduleGroupArn, TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := sc.ListTagsForResource(ctx, &scheduler.ListTagsForResourceInput{ResourceArn: g.ScheduleGroupArn})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Key != "owner" {
		t.Fatalf("ListTagsForResource = %+v, %v", tags, err)
	}
	machine := smArn + "absent"
	for i := range 5 {
		in := newSchedule(fmt.Sprintf("s%d", i), "cron(0 12 ? * MON-FRI *)", machine, "{}")
		if i%2 == 1 {
			in.GroupName = aws.String("team")
			in.State = stypes.ScheduleStateDisabled
		}
		if _, err := sc.CreateSchedule(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	p := scheduler.NewListSchedulesPaginator(sc, &scheduler.ListSchedulesInput{MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Schedules {
			names = append(names, *s.GroupName+"/"+*s.Name+":"+string(s.State))
		}
	}
	if got := strings.Join(names, " "); got != "default/s0:ENABLED default/s2:ENABLED default/s4:ENABLED team/s1:DISABLED team/s3:DISABLED" {
		t.Fatalf("ListSchedules = %s", got)
	}
	l, err := sc.ListSchedules(ctx, &scheduler.ListSchedulesInput{GroupName: aws.String("team"), NamePrefix: aws.String("s3")})
	if err != nil || len(l.Schedules) != 1 || *l.Schedules[0].Target.Arn != machine {
		t.Fatalf("ListSchedules(team, s3) = %+v, %v", l, err)
	}
	groups, err := sc.ListScheduleGroups(ctx, &scheduler.ListScheduleGroupsInput{})
	if err != nil || len(groups.ScheduleGroups) != 2 || *groups.ScheduleGroups[0].Name != "default" || groups.ScheduleGroups[1].State != stypes.ScheduleGroupStateActive {
		t.Fatalf("ListScheduleGroups = %+v, %v", groups, err)
	}
	var notFound *stypes.ResourceNotFoundException
	if _, err := sc.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("s1")}); !errors.As(err, &notFound) {
		t.Fatalf("GetSchedule of a schedule in another group: %v", err)
	}
	var invalid *stypes.ValidationException
	if _, err := sc.CreateSchedule(ctx, newSchedule("bad", "cron(0 12 * * * *)", machine, "{}")); !errors.As(err, &invalid) ||
		!strings.Contains(err.Error(), "Invalid Schedule Expression cron(0 12 * * * *).") {
		t.Fatalf("CreateSchedule with a bad cron: %v", err)
	}
	if _, err := sc.DeleteScheduleGroup(ctx, &scheduler.DeleteScheduleGroupInput{Name: aws.String("team")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String("s1"), GroupName: aws.String("team")}); !errors.As(err, &notFound) {
		t.Fatalf("a schedule of a deleted group: %v", err)
	}
	if _, err := sc.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String("s0")}); err != nil {
		t.Fatal(err)
	}
}

// TestScheduledRuleFires: an EventBridge rule with a ScheduleExpression, put with the SDK,
// fires through the scheduler: rate(1 minute) at --wait-scale 0.01 starts its target state
// machine repeatedly with the Scheduled Event envelope, a distinct event each time.
func TestScheduledRuleFires(t *testing.T) {
	b := setup(t, server.Options{WaitScale: 0.01})
	ev := eventsClient(b.url)
	machine := b.createMachine(t, "by-rule", passChain)
	if _, err := ev.PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String("tick"), ScheduleExpression: aws.String("rate(1 minute)")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ev.PutTargets(t.Context(), &eventbridge.PutTargetsInput{Rule: aws.String("tick"),
		Targets: []ebtypes.Target{{Id: aws.String("m"), Arn: aws.String(machine), RoleArn: aws.String(role)}}}); err != nil {
		t.Fatal(err)
	}
	got := b.waitScheduled(t, machine, 2)
	ids := map[string]bool{}
	for _, in := range got {
		var e struct {
			ID         string   `json:"id"`
			DetailType string   `json:"detail-type"`
			Source     string   `json:"source"`
			Resources  []string `json:"resources"`
		}
		if err := json.Unmarshal([]byte(in), &e); err != nil {
			t.Fatal(err)
		}
		if e.DetailType != "Scheduled Event" || e.Source != "aws.events" || len(e.Resources) != 1 ||
			e.Resources[0] != "arn:aws:events:us-east-1:123456789012:rule/tick" || ids[e.ID] {
			t.Fatalf("input %s", in)
		}
		ids[e.ID] = true
	}
}

// TestSchedulerTwoNodesPostgres: two nodes on one PostgreSQL database (STEPLINE_TEST_POSTGRES),
// both firing loops running; twenty at() schedules due at the same second each start exactly
// one execution.
func TestSchedulerTwoNodesPostgres(t *testing.T) {
	t.Parallel()
	_, _, dsn := pgtest.Schema(t)
	a := setup(t, server.Options{DB: dsn, Node: "node-a"})
	b := setup(t, server.Options{DB: dsn, Node: "node-b"})
	machine := a.createMachine(t, "pg-scheduled", passChain)
	at := time.Now().UTC().Add(4 * time.Second).Format("2006-01-02T15:04:05")
	for i := range 20 {
		c := schedulerClient(a.url)
		if i%2 == 1 {
			c = schedulerClient(b.url)
		}
		name := fmt.Sprintf("pg-%02d", i)
		if _, err := c.CreateSchedule(t.Context(), newSchedule(name, "at("+at+")", machine, `{"schedule":"`+name+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if time.Now().UTC().Format("2006-01-02T15:04:05") >= at {
		t.Fatal("creating the schedules took past their time; an at() in the past never fires")
	}
	b.waitScheduled(t, machine, 20)
	time.Sleep(time.Second) // a second firing of any would show within a few polls of either loop
	per := map[string]int{}
	for _, in := range b.scheduledInputs(t, machine) {
		per[in]++
	}
	if len(per) != 20 {
		t.Fatalf("%d schedules fired, want 20: %v", len(per), per)
	}
	for in, n := range per {
		if n != 1 {
			t.Errorf("%s started %d executions", in, n)
		}
	}
}
