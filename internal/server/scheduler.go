package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stepline/stepline/internal/events"
	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/scheduler"
	"github.com/stepline/stepline/internal/service"
)

// scheduleMachines starts the executions of schedules through this server's Step Functions
// service, whose refusal of a name already used is what makes a firing happen once.
type scheduleMachines struct{ svc *service.Service }

func (m scheduleMachines) StartExecution(ctx context.Context, arn, name, input string) (string, error) {
	x, err := m.svc.StartExecution(ctx, &service.StartExecutionInput{StateMachineArn: arn, Name: name, Input: &input})
	if service.CodeOf(err) == service.CodeExecutionAlreadyExists {
		return "", fmt.Errorf("%w: %w", scheduler.ErrAlreadyStarted, err)
	}
	if err != nil {
		return "", err
	}
	return x.Arn, nil
}

// scheduleFunctions invokes schedules' Lambda functions asynchronously (Event).
type scheduleFunctions struct{ lam *lambda.Service }

func (f scheduleFunctions) InvokeEvent(ctx context.Context, function string, payload []byte) error {
	if f.lam == nil {
		return errors.New("no Lambda service")
	}
	_, err := f.lam.Invoke(ctx, &lambda.InvokeParams{FunctionName: function, InvocationType: "Event", Payload: payload})
	return err
}

// scheduleRules hands EventBridge's scheduled rules to the scheduler, which fires them through
// EventBridge's durable deliveries (the event's id derives from the rule and the time, so a
// firing carried out again starts nothing twice).
type scheduleRules struct{ ev *events.Service }

func (r scheduleRules) ScheduledRules(ctx context.Context) ([]scheduler.ScheduledRule, error) {
	rules, err := r.ev.ScheduledRules(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]scheduler.ScheduledRule, 0, len(rules))
	for _, x := range rules {
		out = append(out, scheduler.ScheduledRule{Name: x.Name, Arn: x.Arn, ScheduleExpression: x.ScheduleExpression, Enabled: x.Enabled()})
	}
	return out, nil
}

func (r scheduleRules) FireScheduledRule(ctx context.Context, name string, at time.Time) error {
	_, err := r.ev.FireScheduledRule(ctx, name, at)
	return err
}
