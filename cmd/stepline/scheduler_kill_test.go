package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// scheduledInputs lists the inputs of a machine's executions, each a {"schedule","at"} pair.
func scheduledInputs(t *testing.T, c *sfn.Client, machine string) []string {
	t.Helper()
	var inputs []string
	p := sfn.NewListExecutionsPaginator(c, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page.Executions {
			d, err := c.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
			if err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, aws.ToString(d.Input))
		}
	}
	slices.Sort(inputs)
	return inputs
}

// TestServeSchedulesFireOnceAfterKill9 kills the server with schedules due while it is down:
// five at() schedules and a rate() that ticks every 3 s (rate(1 minute) at --wait-scale 0.05).
// After the restart each at() has started exactly one execution, and the rate's firings that
// fell due in the downtime each started one, none twice.
func TestServeSchedulesFireOnceAfterKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	args := []string{"--db", filepath.Join(dir, "sched.db"), "--data", filepath.Join(dir, "data"), "--wait-scale", "0.05"}
	first := startNode(t, bin, "first", args...)
	ctx := context.Background()
	sc := func(n *node) *scheduler.Client {
		return scheduler.New(scheduler.Options{Region: "us-east-1", BaseEndpoint: aws.String(n.url), RetryMaxAttempts: 3,
			Credentials: credentials.NewStaticCredentialsProvider("x", "x", "")})
	}
	machine := createMachine(t, first.client, "scheduled", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	create := func(name, expr string) {
		t.Helper()
		if _, err := sc(first).CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String(name), ScheduleExpression: aws.String(expr),
			FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
			Target: &schedtypes.Target{Arn: aws.String(machine), RoleArn: aws.String("arn:aws:iam::123456789012:role/r"),
				Input: aws.String(`{"schedule":"` + name + `","at":"<aws.scheduler.scheduled-time>"}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	// Whole seconds at least 3 s ahead, so that none falls due before the kill.
	base := time.Now().UTC().Truncate(time.Second).Add(4 * time.Second)
	for i := range 5 {
		create(fmt.Sprintf("once-%d", i), "at("+base.Add(time.Duration(i)*time.Second/2).Format("2006-01-02T15:04:05")+")")
	}
	created := time.Now()
	create("tick", "rate(1 minute)")
	// The rate fires at its creation: wait for that execution, then kill.
	for deadline := time.Now().Add(20 * time.Second); len(scheduledInputs(t, first.client, machine)) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the rate's first firing started nothing")
		}
	}
	first.kill()
	// Down until every at() and two ticks of the rate fell due.
	time.Sleep(time.Until(created.Add(7 * time.Second)))
	second := startNode(t, bin, "second", args...)
	type input struct{ Schedule, At string }
	var got []input
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got = got[:0]
		for _, s := range scheduledInputs(t, second.client, machine) {
			var in input
			if err := json.Unmarshal([]byte(s), &in); err != nil {
				t.Fatal(err)
			}
			got = append(got, in)
		}
		ticks := 0
		for _, in := range got {
			if in.Schedule == "tick" {
				ticks++
			}
		}
		if len(got)-ticks >= 5 && ticks >= 3 || time.Now().After(deadline) {
			break
		}
	}
	second.stop()
	seen := map[input]int{}
	onces := 0
	for _, in := range got {
		seen[in]++
		if in.Schedule != "tick" {
			onces++
		}
	}
	for in, n := range seen {
		if n != 1 {
			t.Errorf("%s's firing at %s started %d executions", in.Schedule, in.At, n)
		}
	}
	if onces != 5 {
		t.Errorf("%d executions of the at() schedules, want 5: %v", onces, got)
	}
	// The rate's first tick, then at least the two that fell due in the downtime.
	if ticks := len(got) - onces; ticks < 3 {
		t.Errorf("%d executions of the rate, want at least 3: %v", ticks, got)
	}
}

// TestServeSchedulesKill9MidFiring kills the server while it is firing 300 at() schedules due
// at the same second — some executions started, their schedules not yet advanced, others not
// started. After the restart (the dead node's claims expire) every schedule has started
// exactly one execution.
func TestServeSchedulesKill9MidFiring(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	args := []string{"--db", filepath.Join(dir, "mid.db"), "--data", filepath.Join(dir, "data")}
	first := startNode(t, bin, "first", args...)
	ctx := context.Background()
	sc := scheduler.New(scheduler.Options{Region: "us-east-1", BaseEndpoint: aws.String(first.url), RetryMaxAttempts: 3,
		Credentials: credentials.NewStaticCredentialsProvider("x", "x", "")})
	machine := createMachine(t, first.client, "burst", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	const n = 300
	at := time.Now().UTC().Truncate(time.Second).Add(5 * time.Second)
	for i := range n {
		if _, err := sc.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String(fmt.Sprintf("k-%03d", i)),
			ScheduleExpression: aws.String("at(" + at.Format("2006-01-02T15:04:05") + ")"),
			FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
			Target:             &schedtypes.Target{Arn: aws.String(machine), RoleArn: aws.String("arn:aws:iam::123456789012:role/r")}}); err != nil {
			t.Fatal(err)
		}
	}
	if time.Now().After(at) {
		t.Fatal("creating the schedules took past their time")
	}
	names := func(c *sfn.Client) map[string]int {
		per := map[string]int{}
		p := sfn.NewListExecutionsPaginator(c, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range page.Executions {
				schedule, _, _ := strings.Cut(aws.ToString(x.Name), "_")
				per[schedule]++
			}
		}
		return per
	}
	// Kill as soon as the firing has begun.
	started := 0
	for deadline := time.Now().Add(30 * time.Second); started == 0; time.Sleep(5 * time.Millisecond) {
		if started = len(names(first.client)); time.Now().After(deadline) {
			t.Fatal("nothing fired")
		}
	}
	first.kill()
	t.Logf("killed with %d of %d schedules seen fired", started, n)
	second := startNode(t, bin, "second", args...)
	var per map[string]int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if per = names(second.client); len(per) == n || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(time.Second) // a second execution of any would show within a few polls
	per = names(second.client)
	second.stop()
	if len(per) != n {
		t.Fatalf("%d schedules fired, want %d", len(per), n)
	}
	for s, k := range per {
		if k != 1 {
			t.Errorf("%s started %d executions", s, k)
		}
	}
}
