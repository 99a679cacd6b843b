package events

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// Delivery guarantee. A matched event's delivery to one target is a store entity (kind
// delivery) written before PutEvents answers with the entry's EventId. Deliveries are named
// by their due time, so listing them is reading the outbox in due order. A node claims one by
// a compare-and-swap of its document (a claim that expires after claimTTL, so the delivery
// of a node that died is taken up by another), delivers it, and deletes it; a failed attempt
// is stored again due after its backoff before the old one is deleted. Delivery is thus at
// least once; to a state machine it is exactly once in effect, because the execution's name
// is derived from the event, rule and target (StartExecution with the same name and input is
// idempotent, and ExecutionAlreadyExists counts as delivered). Lambda's Event invocations may
// run twice if a node dies between the invocation and the delete.

// defaults of a target's RetryPolicy, as AWS's.
const (
	defaultRetryAttempts = 185
	defaultMaxEventAge   = 24 * time.Hour
	claimTTL             = 30 * time.Second
	maxHops              = 5
	maxBackoff           = 5 * time.Minute
)

// delivery is one event on its way to one target.
type delivery struct {
	Event    json.RawMessage `json:"Event"`
	EventID  string          `json:"EventId"`
	Bus      string          `json:"Bus"`
	Rule     string          `json:"Rule"`
	RuleArn  string          `json:"RuleArn"`
	Target   Target          `json:"Target"`
	Hops     int             `json:"Hops,omitempty"`
	Attempts int             `json:"Attempts,omitempty"`
	// Accepted is when the event was first stored, for MaximumEventAgeInSeconds.
	Accepted   time.Time `json:"Accepted"`
	ClaimUntil time.Time `json:"ClaimUntil,omitzero"`
	LastCode   string    `json:"LastCode,omitempty"`
	LastError  string    `json:"LastError,omitempty"`
}

// Targets are what events are delivered to, outside package events. Each returns an error
// wrapped by Permanent when retrying cannot help (the target does not exist).
type Targets struct {
	// StartExecution starts a Standard or Express execution of a state machine under a name.
	StartExecution func(ctx context.Context, stateMachineArn, name, input string) error
	// InvokeFunction invokes a Lambda function asynchronously (InvocationType Event).
	InvokeFunction func(ctx context.Context, functionArn string, payload []byte) error
}

type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// Permanent marks a delivery error that retrying cannot mend: the event goes to the target's
// dead-letter list at once.
func Permanent(err error) error { return &permanent{err} }

// SetTargets sets what events are delivered to (the server wires them once all services exist).
func (s *Service) SetTargets(t Targets) {
	s.mu.Lock()
	s.targetFns = t
	s.mu.Unlock()
}

func deliveryName(due time.Time) string {
	return fmt.Sprintf("%019d/%s", due.UnixNano(), newUUID())
}

func (s *Service) enqueue(ctx context.Context, d *delivery) error {
	now := s.o.Clock.Now().UTC()
	if d.Accepted.IsZero() {
		d.Accepted = now
	}
	doc, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("events: encoding a delivery: %w", err)
	}
	if _, err := s.o.Store.EventsCreate(ctx, &store.EventsCreateParams{Kind: store.EventsDelivery, Name: deliveryName(now), Doc: doc, Now: now}); err != nil {
		return fmt.Errorf("events: storing a delivery: %w", err)
	}
	return nil
}

func (s *Service) wake() {
	select {
	case s.wakeCh <- struct{}{}:
	default:
	}
}

// Start runs the delivery loop until Close.
func (s *Service) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		return
	}
	ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	s.stopped = make(chan struct{})
	go s.loop(ctx)
}

// Close stops the delivery loop and waits for it; undelivered events stay stored.
func (s *Service) Close() error {
	s.mu.Lock()
	stop, stopped := s.stop, s.stopped
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-stopped
	}
	return nil
}

func (s *Service) loop(ctx context.Context) {
	defer close(s.stopped)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wakeCh:
		}
		n, err := s.DeliverDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.o.Logger.Warn("events: delivering", "err", err)
		}
		wait := s.o.PollInterval
		if n > 0 {
			wait = 0
		}
		t.Reset(wait)
	}
}

// DeliverDue claims and delivers the deliveries due now, and returns how many it attempted.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	now := s.o.Clock.Now().UTC()
	res, err := s.o.Store.EventsList(ctx, &store.EventsListParams{Kind: store.EventsDelivery, Limit: 100})
	if err != nil {
		return 0, fmt.Errorf("events: listing deliveries: %w", err)
	}
	n := 0
	for _, e := range res.Entities {
		var nanos int64
		if _, err := fmt.Sscanf(e.Name, "%d/", &nanos); err != nil {
			continue
		}
		if time.Unix(0, nanos).After(now) {
			break // named by due time: the rest are later
		}
		var d delivery
		if err := json.Unmarshal(e.Doc, &d); err != nil {
			s.o.Logger.Error("events: dropping an unreadable delivery", "name", e.Name, "err", err)
			_ = s.o.Store.EventsDelete(ctx, &store.EventsDeleteParams{Kind: store.EventsDelivery, Name: e.Name})
			continue
		}
		if d.ClaimUntil.After(now) {
			continue // another node is delivering it
		}
		d.ClaimUntil = now.Add(claimTTL)
		doc, _ := json.Marshal(&d) // it was just decoded
		if _, err := s.o.Store.EventsUpdate(ctx, &store.EventsUpdateParams{Kind: store.EventsDelivery, Name: e.Name, Doc: doc, Now: now, IfVersion: e.Version}); err != nil {
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				continue // claimed by another node
			}
			return n, fmt.Errorf("events: claiming a delivery: %w", err)
		}
		n++
		s.attempt(ctx, e.Name, &d)
	}
	return n, nil
}

// attempt delivers once, then deletes the delivery, stores its retry, or dead-letters it.
func (s *Service) attempt(ctx context.Context, name string, d *delivery) {
	err := s.send(ctx, d)
	now := s.o.Clock.Now().UTC()
	if err != nil {
		d.Attempts++
		d.ClaimUntil = time.Time{}
		d.LastCode, d.LastError = errorCode(err), err.Error()
		maxAttempts, maxAge := defaultRetryAttempts, defaultMaxEventAge
		if p := d.Target.RetryPolicy; p != nil {
			if p.MaximumRetryAttempts != nil {
				maxAttempts = *p.MaximumRetryAttempts
			}
			if p.MaximumEventAgeInSeconds != nil {
				maxAge = time.Duration(*p.MaximumEventAgeInSeconds) * time.Second
			}
		}
		backoff := s.backoff(d.Attempts)
		var perm *permanent
		if errors.As(err, &perm) || d.Attempts > maxAttempts || now.Add(backoff).Sub(d.Accepted) > maxAge {
			s.deadLetter(ctx, d, now)
		} else {
			doc, _ := json.Marshal(d) // it was decoded from JSON
			if _, err := s.o.Store.EventsCreate(ctx, &store.EventsCreateParams{Kind: store.EventsDelivery, Name: deliveryName(now.Add(backoff)), Doc: doc, Now: now}); err != nil {
				// The claim expires and the same attempt is made again: still at least once.
				s.o.Logger.Error("events: storing a retry", "rule", d.RuleArn, "target", d.Target.ID, "err", err)
				return
			}
		}
	} else {
		s.delivered.Add(1)
	}
	if err := s.o.Store.EventsDelete(ctx, &store.EventsDeleteParams{Kind: store.EventsDelivery, Name: name}); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.o.Logger.Error("events: removing a delivery", "name", name, "err", err)
	}
}

// backoff is exponential with full jitter from Options.RetryBase, at most five minutes.
func (s *Service) backoff(attempts int) time.Duration {
	b := s.o.RetryBase << min(attempts-1, 20)
	if b <= 0 || b > maxBackoff {
		b = maxBackoff
	}
	return b/2 + rand.N(b/2+1)
}

func errorCode(err error) string {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	var perm *permanent
	if errors.As(err, &perm) {
		return "ResourceNotFound"
	}
	return "SDK_CLIENT_ERROR"
}

// stableUUID derives a version-4-shaped UUID from a key, so that retries name things alike.
func stableUUID(key string) string {
	h := sha256.Sum256([]byte(key))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// send makes one delivery attempt.
func (s *Service) send(ctx context.Context, d *delivery) error {
	input, err := transformInput(&d.Target, d.Event, d.RuleArn, d.Rule)
	if err != nil {
		return Permanent(err)
	}
	s.mu.Lock()
	fns := s.targetFns
	s.mu.Unlock()
	arn := d.Target.Arn
	switch {
	case strings.Contains(arn, ":states:") && strings.Contains(arn, ":stateMachine:"):
		if fns.StartExecution == nil {
			return errors.New("no Step Functions service to deliver to")
		}
		name := stableUUID(d.EventID + "/" + d.RuleArn + "/" + d.Target.ID)
		return fns.StartExecution(ctx, arn, name, string(input))
	case strings.Contains(arn, ":lambda:") && strings.Contains(arn, ":function:"):
		if fns.InvokeFunction == nil {
			return errors.New("no Lambda service to deliver to")
		}
		return fns.InvokeFunction(ctx, arn, input)
	case strings.Contains(arn, ":events:") && strings.Contains(arn, ":event-bus/"):
		if d.Hops >= maxHops {
			return Permanent(fmt.Errorf("the event has crossed %d buses already", maxHops))
		}
		var env Envelope
		if err := json.Unmarshal(d.Event, &env); err != nil {
			return Permanent(fmt.Errorf("event: %w", err))
		}
		bus := busName(arn)
		if _, err := s.bus(ctx, bus); err != nil {
			return Permanent(err)
		}
		if err := s.route(ctx, bus, &env, d.Hops+1); err != nil {
			return err
		}
		s.wake()
		return nil
	}
	return Permanent(fmt.Errorf("targets like %s are not delivered to by Stepline (state machines, Lambda functions and event buses only)", arn))
}

// DeadLetter is an event that could not be delivered, as kept in a target's dead-letter list.
// Its attributes are those AWS sets on the SQS message it sends to a dead-letter queue.
type DeadLetter struct {
	ID            string          `json:"Id"`
	Time          time.Time       `json:"Time"`
	Event         json.RawMessage `json:"Event"`
	RuleArn       string          `json:"RULE_ARN"`
	TargetArn     string          `json:"TARGET_ARN"`
	ErrorCode     string          `json:"ERROR_CODE"`
	ErrorMessage  string          `json:"ERROR_MESSAGE"`
	RetryAttempts int             `json:"RETRY_ATTEMPTS"`
}

func (s *Service) deadLetter(ctx context.Context, d *delivery, now time.Time) {
	dl := DeadLetter{ID: newUUID(), Time: now, Event: d.Event, RuleArn: d.RuleArn, TargetArn: d.Target.Arn,
		ErrorCode: d.LastCode, ErrorMessage: d.LastError, RetryAttempts: max(d.Attempts-1, 0)}
	s.deadLettered.Add(1)
	if d.Target.DeadLetterConfig == nil || d.Target.DeadLetterConfig.Arn == "" {
		s.o.Logger.Warn("events: dropping an undeliverable event (its target has no DeadLetterConfig)",
			"rule", d.RuleArn, "target", d.Target.Arn, "attempts", d.Attempts, "err", d.LastError)
		return
	}
	doc, _ := json.Marshal(dl) // built of JSON
	if _, err := s.o.Store.EventsCreate(ctx, &store.EventsCreateParams{Kind: store.EventsDeadLetter, Parent: d.Target.DeadLetterConfig.Arn,
		Name: deliveryName(now), Doc: doc, Now: now}); err != nil {
		s.o.Logger.Error("events: storing a dead letter", "rule", d.RuleArn, "target", d.Target.Arn, "err", err)
	}
}

// DeadLetters lists the dead letters kept under a DeadLetterConfig ARN, oldest first, one page
// at a time (cursor "" for the first; the next cursor is "" after the last page).
func (s *Service) DeadLetters(ctx context.Context, arn, cursor string, limit int) ([]*DeadLetter, string, error) {
	res, err := s.o.Store.EventsList(ctx, &store.EventsListParams{Kind: store.EventsDeadLetter, Parent: arn, Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, "", fmt.Errorf("events: listing dead letters: %w", err)
	}
	out := []*DeadLetter{}
	for _, e := range res.Entities {
		var dl DeadLetter
		if err := json.Unmarshal(e.Doc, &dl); err != nil {
			return nil, "", fmt.Errorf("events: dead letter %s: %w", e.Name, err)
		}
		out = append(out, &dl)
	}
	return out, res.NextCursor, nil
}

// listDeadLetters is Stepline's own action AWSEvents.ListDeadLetters {"DeadLetterArn", "Limit",
// "NextToken"}: AWS sends dead letters to an SQS queue, which Stepline does not serve, so
// they are kept here and read back with this action (or Service.DeadLetters).
func (s *Service) listDeadLetters(ctx context.Context, input []byte) (any, error) {
	var in struct {
		DeadLetterArn string
		Limit         int
		NextToken     string
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	if in.DeadLetterArn == "" {
		return nil, validation("DeadLetterArn is required.")
	}
	dls, next, err := s.DeadLetters(ctx, in.DeadLetterArn, in.NextToken, in.Limit)
	if errors.Is(err, store.ErrInvalidCursor) {
		return nil, validation("The NextToken is not valid.")
	}
	if err != nil {
		return nil, err
	}
	return struct {
		DeadLetters []*DeadLetter `json:"DeadLetters"`
		NextToken   string        `json:"NextToken,omitempty"`
	}{dls, next}, nil
}

var _ = http.StatusOK
