package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// ScheduledRule is an EventBridge rule with a ScheduleExpression, as the scheduler fires it.
type ScheduledRule struct {
	Name, Arn, ScheduleExpression string
	Enabled                       bool
}

// Rules is EventBridge as the scheduler sees it: the default bus's scheduled rules, and the
// delivery of one firing to a rule's targets. FireScheduledRule must be idempotent per (rule,
// time): the scheduler may carry out a firing again after a crash or on another node.
type Rules interface {
	ScheduledRules(ctx context.Context) ([]ScheduledRule, error)
	FireScheduledRule(ctx context.Context, name string, at time.Time) error
}

// ruleBus is the group of rule rows: scheduled rules live on the default bus only.
const ruleBus = "default"

// rulesSyncEvery is how often the firing loop brings the rule rows in line with EventBridge's
// rules (a rule put, changed or deleted on any node).
const rulesSyncEvery = 2 * time.Second

// SyncRules makes the store's rule rows match EventBridge's scheduled rules: a row per rule,
// holding its expression and state, with its next firing; a changed rule gets its next firing
// afresh, an unchanged one keeps it; a rule gone loses its row. Every node runs it; their
// writes are compare-and-swaps and creations that lose to another node's are ignored.
func (s *Service) SyncRules(ctx context.Context) error {
	if s.o.Rules == nil {
		return nil
	}
	rules, err := s.o.Rules.ScheduledRules(ctx)
	if err != nil {
		return fmt.Errorf("scheduler: reading scheduled rules: %w", err)
	}
	have := map[string]*store.Schedule{}
	for cursor := ""; ; {
		res, err := s.o.Store.ScheduleList(ctx, &store.ScheduleListParams{Kind: store.ScheduleKindRule, Group: ruleBus, Limit: store.MaxPageSize, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("scheduler: %w", err)
		}
		for _, row := range res.Schedules {
			have[row.Name] = row
		}
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	now := s.o.Clock.Now()
	var errs []error
	for _, r := range rules {
		d := doc{ScheduleExpression: r.ScheduleExpression, State: "ENABLED", FlexibleTimeWindow: FlexibleTimeWindow{Mode: "OFF"},
			Target: Target{Arn: r.Arn}}
		if !r.Enabled {
			d.State = "DISABLED"
		}
		if _, err := ParseExpression(d.ScheduleExpression); err != nil {
			s.o.Logger.Warn("scheduled rule not fired: its expression is not understood", "rule", r.Name, "expression", r.ScheduleExpression, "err", err)
			continue
		}
		b, err := json.Marshal(&d)
		if err != nil {
			return fmt.Errorf("scheduler: %w", err)
		}
		row := have[r.Name]
		delete(have, r.Name)
		if row != nil && bytes.Equal(row.Doc, b) {
			continue
		}
		if row == nil {
			row = &store.Schedule{Group: ruleBus, Name: r.Name, CreatedAt: now.UTC().Truncate(time.Microsecond)}
			due, nominal, err := s.firstFiring(&d, row, now)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			_, err = s.o.Store.ScheduleCreate(ctx, &store.ScheduleCreateParams{Kind: store.ScheduleKindRule, Group: ruleBus, Name: r.Name,
				State: d.State, Doc: b, Due: due, Nominal: nominal, Now: now})
			if err != nil && !errors.Is(err, store.ErrScheduleAlreadyExists) {
				errs = append(errs, err)
			}
			continue
		}
		due, nominal, err := s.firstFiring(&d, row, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, err = s.o.Store.ScheduleUpdate(ctx, &store.ScheduleUpdateParams{Kind: store.ScheduleKindRule, Group: ruleBus, Name: r.Name,
			IfVersion: row.Version, State: d.State, Doc: b, Due: due, Nominal: nominal, Now: now})
		if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	for name, row := range have {
		err := s.o.Store.ScheduleDelete(ctx, &store.ScheduleDeleteParams{Kind: store.ScheduleKindRule, Group: ruleBus, Name: name, IfVersion: row.Version})
		if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("scheduler: syncing scheduled rules: %w", errors.Join(errs...))
	}
	return nil
}
