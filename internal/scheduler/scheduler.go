// Package scheduler is a local Amazon EventBridge Scheduler: its REST-JSON API (schedules,
// schedule groups, tags) on the serve port, and schedules that really fire — cron(), rate()
// and at() expressions in IANA time zones, start and end dates, flexible time windows, retry
// policies — starting state machine executions or invoking Lambda functions.
//
// # Exactly once
//
// Schedules live in the store (store.Schedule) with their next firing: Nominal, the firing's
// scheduled time, and Due, when to carry it out (Nominal plus the flexible window's offset, or
// a retry's delay). Every node runs a firing loop that claims due schedules
// (ScheduleClaimDue: each to one node, until the claim expires) and carries out each claimed
// firing before it advances the schedule to its next firing with a compare-and-swap on the
// version it claimed.
//
// A firing that starts an execution starts it under a name derived from the schedule (its
// group, name and creation date) and the firing's nominal time (firingName). Step Functions
// refuses a second execution of a state machine under a name already used, and the store makes
// that refusal atomic (the unique (state machine, name) of ExecutionCreate): the execution's
// row, committed with the execution, is the record that the firing happened. Whoever carries
// a firing out again — the same node after a crash between starting the execution and
// advancing the schedule, a node whose claim expired while another took over, a restarted
// node catching up — gets ExecutionAlreadyExists, counts the firing as done and advances. So
// a firing starts at most one execution, and, since a schedule advances only past a firing
// that started (or failed for good), at least one.
//
// A firing that invokes a Lambda function (Event) has no such key: there the schedule is
// advanced first and the function invoked after, so a crash between the two loses that one
// firing rather than invoking it twice.
//
// After a restart the firings that fell due while no node ran are carried out late, one by
// one, oldest first; those older than the target's RetryPolicy.MaximumEventAgeInSeconds
// (default 24 h) are dropped, as EventBridge Scheduler drops events it could not deliver in
// time.
package scheduler

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/store"
)

// ErrAlreadyStarted is what a StateMachines returns when an execution of that name exists:
// the firing it belongs to was carried out before.
var ErrAlreadyStarted = errors.New("scheduler: execution already started")

// StateMachines starts executions for schedules whose target is a state machine.
type StateMachines interface {
	// StartExecution starts an execution named name; ErrAlreadyStarted (wrapped) when one of
	// that name exists, whatever its input or status.
	StartExecution(ctx context.Context, stateMachineArn, name, input string) (executionArn string, err error)
}

// Functions invokes Lambda functions asynchronously (InvocationType Event).
type Functions interface {
	InvokeEvent(ctx context.Context, function string, payload []byte) error
}

// Options configure a Service.
type Options struct {
	Store           store.Store
	Account, Region string
	Clock           clock.Clock
	Logger          *slog.Logger
	StateMachines   StateMachines
	Functions       Functions
	// Rules, when set, are EventBridge's scheduled rules, which the firing loop fires too.
	Rules Rules
	// WaitScale multiplies rate() intervals and retry delays (--wait-scale); 0 means 1.
	WaitScale float64
	// Poll is how often the firing loop looks for due schedules when nothing woke it
	// (0: 200 ms). ClaimTTL is how long a claimed firing is hidden from other nodes (0: 20 s):
	// long beside a firing, short enough that the firings a crashed node had claimed are
	// carried out soon after.
	Poll     time.Duration
	ClaimTTL time.Duration
	// Batch is how many due schedules one claim takes (0: 100); Parallel how many of them
	// fire at once (0: 16).
	Batch    int
	Parallel int
}

// Service is the Scheduler of one node: an http.Handler of the API, and the firing loop.
type Service struct {
	o    Options
	wake chan struct{}

	mu      sync.Mutex
	cancel  context.CancelFunc
	stopped chan struct{}
	// fired is told of each firing this node carries out (OnFire).
	fired func(f Firing)

	muxOnce sync.Once
	handler http.Handler

	m metrics
}

// Firing is one firing a node carried out, as OnFire reports it.
type Firing struct {
	Group, Name string
	Nominal     time.Time
	// Due is when it was to be carried out (Nominal, plus a flexible window's offset or a
	// retry's delay); At when it was.
	Due time.Time
	At  time.Time
	// Execution is the execution's ARN (state machine targets); Err why it failed; Again that
	// it had been carried out before (its execution existed: a crash, or another node).
	Execution string
	Err       error
	Again     bool
}

// New returns a Service; Start runs its firing loop.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("scheduler: a store is needed")
	}
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.WaitScale <= 0 {
		o.WaitScale = 1
	}
	if o.Poll <= 0 {
		o.Poll = 200 * time.Millisecond
	}
	if o.ClaimTTL <= 0 {
		o.ClaimTTL = 20 * time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Parallel <= 0 {
		o.Parallel = 16
	}
	return &Service{o: o, wake: make(chan struct{}, 1)}, nil
}

// OnFire sets a function called after each firing this node carries out (tests, benchmarks).
func (s *Service) OnFire(f func(Firing)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fired = f
}

// Start creates the default group if needed and runs the firing loop until Stop.
func (s *Service) Start(ctx context.Context) error {
	if err := s.ensureDefaultGroup(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return errors.New("scheduler: already started")
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.stopped = make(chan struct{})
	go s.loop(loopCtx)
	return nil
}

// Stop ends the firing loop and waits for the firing in progress.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	cancel, stopped := s.cancel, s.stopped
	s.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("scheduler: stopping: %w", ctx.Err())
	}
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) loop(ctx context.Context) {
	defer close(s.stopped)
	t := time.NewTimer(0)
	defer t.Stop()
	var synced time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
		if time.Since(synced) >= rulesSyncEvery {
			if err := s.SyncRules(ctx); err != nil && ctx.Err() == nil {
				s.o.Logger.Warn("syncing scheduled rules", "err", err)
			}
			synced = time.Now()
		}
		for {
			n, err := s.FireDue(ctx)
			if err != nil && ctx.Err() == nil {
				s.o.Logger.Warn("firing due schedules", "err", err)
			}
			if err != nil || n < s.o.Batch {
				break
			}
		}
		t.Reset(s.o.Poll)
	}
}

// FireDue claims the schedules due now and carries out their firings; it returns how many
// schedules it claimed. The firing loop calls it; tests with a fake clock call it directly.
func (s *Service) FireDue(ctx context.Context) (int, error) {
	now := s.o.Clock.Now()
	due, err := s.o.Store.ScheduleClaimDue(ctx, &store.ScheduleClaimDueParams{Now: now, Until: now.Add(s.o.ClaimTTL), Limit: s.o.Batch})
	if err != nil {
		return 0, fmt.Errorf("scheduler: %w", err)
	}
	// Each claimed schedule is its own row: their firings run side by side, so that a store
	// whose commits wait on the disk (PostgreSQL) keeps up with many due at once.
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.o.Parallel)
	for _, row := range due {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.fire(ctx, row); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return len(due), errors.Join(errs...)
}

// defaultMaxAge and defaultRetries are RetryPolicy's defaults.
const (
	defaultMaxAge  = 86400
	defaultRetries = 185
)

// fire carries out the claimed firing of row and advances the schedule.
func (s *Service) fire(ctx context.Context, row *store.Schedule) error {
	var d doc
	if err := json.Unmarshal(row.Doc, &d); err != nil {
		return fmt.Errorf("scheduler: schedule %s/%s: %w", row.Group, row.Name, err)
	}
	now := s.o.Clock.Now()
	nominal := *row.Nominal
	maxAge, retries := d.retryPolicy()
	if now.Sub(nominal) > time.Duration(maxAge)*time.Second {
		s.o.Logger.Warn("schedule firing dropped: older than its maximum event age", "group", row.Group, "schedule", row.Name,
			"scheduled", nominal, "max_age_s", maxAge)
		s.m.dropped.Add(1)
		return s.advance(ctx, row, &d, nominal, now)
	}
	f := Firing{Group: row.Group, Name: row.Name, Nominal: nominal, Due: *row.Due, At: now}
	name := firingName(row, nominal)
	input := d.input(s.arn(row.Group, row.Name), nominal, name, row.Attempt+1)
	kind, target := d.target()
	if row.Kind == store.ScheduleKindRule {
		kind = store.ScheduleKindRule
	}
	var err error
	switch kind {
	case store.ScheduleKindRule:
		// EventBridge's delivery keys the event by rule and time: carried out again, it
		// starts nothing twice.
		err = s.o.Rules.FireScheduledRule(ctx, row.Name, nominal)
	case targetLambda:
		// No idempotency key reaches Lambda: advance first, so that a crash loses this firing
		// rather than invoking the function twice.
		won, err := s.advanceWon(ctx, row, &d, nominal, now)
		if err != nil || !won {
			return err // another writer moved it: it invokes, or the schedule changed
		}
		f.Err = s.o.Functions.InvokeEvent(ctx, target, []byte(input))
		if f.Err != nil {
			s.o.Logger.Warn("schedule target failed", "group", row.Group, "schedule", row.Name, "target", target, "err", f.Err)
		}
		s.report(f)
		return nil
	case targetStateMachine:
		f.Execution, err = s.o.StateMachines.StartExecution(ctx, target, name, input)
		if errors.Is(err, ErrAlreadyStarted) {
			err, f.Again = nil, true // carried out before: a crash, or another node
		}
	default:
		err = fmt.Errorf("target %s is not a state machine or a Lambda function", d.Target.Arn)
	}
	f.Err = err
	if err != nil && ctx.Err() != nil {
		return nil // stopping: the claim expires and the firing is carried out again
	}
	if err != nil && row.Attempt < retries {
		s.o.Logger.Warn("schedule target failed; retrying", "group", row.Group, "schedule", row.Name, "attempt", row.Attempt+1, "err", err)
		delay := s.scale(retryDelay(row.Attempt))
		due := now.Add(delay)
		_, uerr := s.o.Store.ScheduleUpdate(ctx, &store.ScheduleUpdateParams{Kind: row.Kind, Group: row.Group, Name: row.Name,
			IfVersion: row.Version, State: row.State, Doc: row.Doc, Due: &due, Nominal: &nominal, Attempt: row.Attempt + 1, Now: now})
		s.report(f)
		if uerr != nil && !errors.Is(uerr, store.ErrConflict) && !errors.Is(uerr, store.ErrNotFound) {
			return fmt.Errorf("scheduler: %w", uerr)
		}
		return nil
	}
	if err != nil {
		s.o.Logger.Warn("schedule firing failed for good", "group", row.Group, "schedule", row.Name, "err", err)
		s.m.dropped.Add(1)
	}
	s.report(f)
	return s.advance(ctx, row, &d, nominal, now)
}

func (s *Service) report(f Firing) {
	switch {
	case f.Err != nil:
		s.m.failed.Add(1)
	case f.Again:
		s.m.again.Add(1)
	default:
		s.m.started.Add(1)
		s.m.observeLag(f.At.Sub(f.Due))
	}
	s.mu.Lock()
	fn := s.fired
	s.mu.Unlock()
	if fn != nil {
		fn(f)
	}
}

// retryDelay is the wait before a failed firing's next try: exponential from 1 s, at most
// 5 minutes.
func retryDelay(attempt int) time.Duration {
	d := time.Second << min(attempt, 9)
	return min(d, 5*time.Minute)
}

func (s *Service) scale(d time.Duration) time.Duration {
	if s.o.WaitScale == 1 {
		return d
	}
	return max(time.Duration(float64(d)*s.o.WaitScale), time.Millisecond)
}

// advance moves a schedule past the firing at nominal, with a compare-and-swap on the version
// it was claimed at: a schedule updated or deleted meanwhile keeps what its writer gave it.
func (s *Service) advance(ctx context.Context, row *store.Schedule, d *doc, nominal, now time.Time) error {
	_, err := s.advanceWon(ctx, row, d, nominal, now)
	return err
}

// advanceWon is advance, also telling whether this call moved the schedule: false when a
// writer (another node that claimed it after this one's claim expired, or an update) got
// there first.
func (s *Service) advanceWon(ctx context.Context, row *store.Schedule, d *doc, nominal, now time.Time) (bool, error) {
	next, err := s.nextFiring(d, row.CreatedAt, nominal, now)
	if err != nil {
		return false, fmt.Errorf("scheduler: schedule %s/%s: %w", row.Group, row.Name, err)
	}
	if next == nil && d.ActionAfterCompletion == "DELETE" {
		err = s.o.Store.ScheduleDelete(ctx, &store.ScheduleDeleteParams{Kind: row.Kind, Group: row.Group, Name: row.Name, IfVersion: row.Version})
	} else {
		var due *time.Time
		if next != nil {
			due = s.dueOf(d, row, *next)
		}
		_, err = s.o.Store.ScheduleUpdate(ctx, &store.ScheduleUpdateParams{Kind: row.Kind, Group: row.Group, Name: row.Name,
			IfVersion: row.Version, State: row.State, Doc: row.Doc, Due: due, Nominal: next, Now: now})
	}
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("scheduler: advancing %s/%s: %w", row.Group, row.Name, err)
	}
	return true, nil
}

// dueOf is when the firing at nominal is carried out: within a FLEXIBLE window, at an offset
// drawn from the schedule and the firing, so that every node (and a restart) agrees on it.
func (s *Service) dueOf(d *doc, row *store.Schedule, nominal time.Time) *time.Time {
	due := nominal
	if d.FlexibleTimeWindow.Mode == "FLEXIBLE" && d.FlexibleTimeWindow.MaximumWindowInMinutes != nil {
		window := s.scale(time.Duration(*d.FlexibleTimeWindow.MaximumWindowInMinutes) * time.Minute)
		h := sha256.Sum256([]byte(row.Group + "/" + row.Name + "/" + nominal.UTC().Format(time.RFC3339Nano)))
		due = nominal.Add(time.Duration(binary.BigEndian.Uint64(h[:8]) % uint64(window)))
	}
	return &due
}

// firingName is the name of the execution a firing starts: the schedule's name, the firing's
// scheduled time and a hash of the schedule's identity (a schedule deleted and created again
// under its name is another schedule), at most 80 characters as execution names are.
func firingName(row *store.Schedule, nominal time.Time) string {
	h := sha256.Sum256([]byte(row.Group + "\x00" + row.Name + "\x00" + row.CreatedAt.UTC().Format(time.RFC3339Nano) + "\x00" +
		nominal.UTC().Format(time.RFC3339Nano)))
	name := row.Name
	if len(name) > 45 {
		name = name[:45]
	}
	return name + "_" + nominal.UTC().Format("20060102T150405Z") + "_" + hex.EncodeToString(h[:8])
}

// nextFiring is the schedule's first firing after `after` (the last firing, or the moment it
// was (re)configured), within its start and end dates, skipping firings already older than the
// maximum event age at now: nil when there is none.
func (s *Service) nextFiring(d *doc, created, after, now time.Time) (*time.Time, error) {
	e, err := ParseExpression(d.ScheduleExpression)
	if err != nil {
		return nil, err
	}
	loc, err := d.location()
	if err != nil {
		return nil, err
	}
	maxAge, _ := d.retryPolicy()
	if oldest := now.Add(-time.Duration(maxAge) * time.Second); after.Before(oldest) {
		after = oldest.Add(-time.Nanosecond)
	}
	var start, end time.Time
	if d.StartDate != nil {
		start = d.StartDate.Time()
	}
	if d.EndDate != nil {
		end = d.EndDate.Time()
	}
	var next time.Time
	switch e.Kind {
	case "at":
		at := e.At(loc)
		if !at.After(after) {
			return nil, nil
		}
		next = at
	case "rate":
		// A rate() counts from its start date, or from when the schedule was created: it
		// fires at once, then every interval.
		anchor := created
		if !start.IsZero() {
			anchor = start
		}
		interval := s.scale(e.Rate())
		anchor = anchor.Truncate(time.Microsecond)
		if after.Before(anchor) {
			next = anchor
		} else {
			k := after.Sub(anchor)/interval + 1
			next = anchor.Add(k * interval)
		}
	case "cron":
		from := after
		if !start.IsZero() && start.Add(-time.Nanosecond).After(from) {
			from = start.Add(-time.Nanosecond)
		}
		next = e.NextCron(from, loc)
		if next.IsZero() {
			return nil, nil
		}
	}
	if !end.IsZero() && next.After(end) {
		return nil, nil
	}
	return &next, nil
}

// retryPolicy returns the target's maximum event age (seconds) and retry attempts.
func (d *doc) retryPolicy() (maxAge, retries int) {
	maxAge, retries = defaultMaxAge, defaultRetries
	if rp := d.Target.RetryPolicy; rp != nil {
		if rp.MaximumEventAgeInSeconds != nil {
			maxAge = *rp.MaximumEventAgeInSeconds
		}
		if rp.MaximumRetryAttempts != nil {
			retries = *rp.MaximumRetryAttempts
		}
	}
	return maxAge, retries
}

func (d *doc) location() (*time.Location, error) {
	if d.ScheduleExpressionTimezone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(d.ScheduleExpressionTimezone)
	if err != nil {
		return nil, fmt.Errorf("invalid time zone %s", d.ScheduleExpressionTimezone)
	}
	return loc, nil
}

// Target kinds.
const (
	targetStateMachine = "states"
	targetLambda       = "lambda"
)

// target names what a firing calls: a state machine's or function's ARN (templated targets), or
// the one in a universal target's input (aws-sdk:sfn:startExecution, aws-sdk:lambda:invoke).
func (d *doc) target() (kind, arn string) {
	a := d.Target.Arn
	switch {
	case strings.HasPrefix(a, "arn:aws:states:") && strings.Contains(a, ":stateMachine:"):
		return targetStateMachine, a
	case strings.HasPrefix(a, "arn:aws:lambda:") && strings.Contains(a, ":function:"):
		return targetLambda, a
	case strings.EqualFold(a, "arn:aws:scheduler:::aws-sdk:sfn:startExecution"):
		var in struct{ StateMachineArn string }
		_ = json.Unmarshal([]byte(d.Target.Input), &in)
		return targetStateMachine, in.StateMachineArn
	case strings.EqualFold(a, "arn:aws:scheduler:::aws-sdk:lambda:invoke"):
		var in struct{ FunctionName string }
		_ = json.Unmarshal([]byte(d.Target.Input), &in)
		return targetLambda, in.FunctionName
	}
	return "", a
}

// input is what the target is given: the target's Input with the context attributes
// EventBridge Scheduler substitutes (for a universal target, the Input or Payload inside it).
func (d *doc) input(scheduleArn string, nominal time.Time, executionID string, attempt int) string {
	in := d.Target.Input
	if strings.HasPrefix(d.Target.Arn, "arn:aws:scheduler:::aws-sdk:") {
		var u struct {
			Input   *string
			Payload json.RawMessage
		}
		_ = json.Unmarshal([]byte(in), &u)
		switch {
		case u.Input != nil:
			in = *u.Input
		case len(u.Payload) > 0:
			var str string
			if json.Unmarshal(u.Payload, &str) == nil {
				in = str
			} else {
				in = string(u.Payload)
			}
		default:
			in = ""
		}
	}
	if in == "" {
		return "{}"
	}
	return strings.NewReplacer(
		"<aws.scheduler.schedule-arn>", scheduleArn,
		"<aws.scheduler.scheduled-time>", nominal.UTC().Format(time.RFC3339),
		"<aws.scheduler.execution-id>", executionID,
		"<aws.scheduler.attempt-number>", fmt.Sprint(attempt),
	).Replace(in)
}

// epoch is a REST-JSON timestamp: seconds since the epoch, fractional.
type epoch float64

// Time is e to the microsecond, the store's precision: a rate() anchored on a StartDate must
// land on the very instants the store keeps, or a firing would come back a microsecond apart
// under another name.
func (e epoch) Time() time.Time {
	return time.UnixMicro(int64(math.Round(float64(e) * 1e6))).UTC()
}

func toEpoch(t time.Time) *epoch {
	e := epoch(float64(t.UnixMicro()) / 1e6)
	return &e
}
