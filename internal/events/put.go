package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/events/pattern"
	"github.com/stepline/stepline/internal/store"
)

// PutEvents' limits, as AWS sets them.
const (
	maxEntries   = 10
	maxEntrySize = 256 << 10 // the whole request's entries, computed as AWS documents
)

// Entry is one PutEvents request entry.
type Entry struct {
	Source       string   `json:"Source,omitempty"`
	DetailType   string   `json:"DetailType,omitempty"`
	Detail       string   `json:"Detail,omitempty"`
	Resources    []string `json:"Resources,omitempty"`
	EventBusName string   `json:"EventBusName,omitempty"`
	// Time is seconds since the epoch (the JSON 1.1 timestamp), or nil for now.
	Time        *float64 `json:"Time,omitempty"`
	TraceHeader string   `json:"TraceHeader,omitempty"`
}

// ResultEntry is one PutEvents result entry: an EventId, or an error.
type ResultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// PutEventsOutput is PutEvents' answer.
type PutEventsOutput struct {
	Entries          []ResultEntry `json:"Entries"`
	FailedEntryCount int           `json:"FailedEntryCount"`
}

// Envelope is an event as EventBridge delivers it and patterns match it.
type Envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// entrySize is an entry's size as AWS computes it for the 256 KB limit.
func entrySize(e *Entry) int {
	n := 0
	if e.Time != nil {
		n += 14
	}
	n += len(e.Source) + len(e.DetailType) + len(e.Detail)
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

func (s *Service) putEvents(ctx context.Context, input []byte) (any, error) {
	var in struct{ Entries []*Entry }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	return s.PutEvents(ctx, in.Entries)
}

// PutEvents is the API's PutEvents: each entry is checked as AWS checks it, and an accepted
// entry's deliveries to the targets of the rules it matches are stored before the answer
// (see deliver.go), so an entry with an EventId will be delivered even if this node stops.
func (s *Service) PutEvents(ctx context.Context, entries []*Entry) (*PutEventsOutput, error) {
	if len(entries) == 0 || len(entries) > maxEntries {
		return nil, validation("1 validation error detected: Value '%d' at 'entries' failed to satisfy constraint: Member must have length less than or equal to %d and greater than or equal to 1", len(entries), maxEntries)
	}
	size := 0
	for _, e := range entries {
		if e != nil {
			size += entrySize(e)
		}
	}
	if size > maxEntrySize {
		return nil, validation("Total size of the entries in the request is over the limit.")
	}
	out := &PutEventsOutput{Entries: make([]ResultEntry, len(entries))}
	for i, e := range entries {
		if e == nil {
			e = &Entry{}
		}
		r := s.putEntry(ctx, e, false)
		if r.EventID == "" {
			out.FailedEntryCount++
		}
		out.Entries[i] = r
	}
	if out.FailedEntryCount < len(entries) {
		s.wake()
	}
	return out, nil
}

func entryError(code, format string, args ...any) ResultEntry {
	return ResultEntry{ErrorCode: code, ErrorMessage: fmt.Sprintf(format, args...)}
}

// putEntry checks and accepts one entry. aws lets the entry use an aws.* source (Stepline's
// own events: status changes, S3, scheduled rules).
func (s *Service) putEntry(ctx context.Context, e *Entry, aws bool) ResultEntry {
	switch {
	case e.Source == "":
		return entryError("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.")
	case e.DetailType == "":
		return entryError("InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument.")
	case e.Detail == "":
		return entryError("InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument.")
	case !aws && strings.HasPrefix(e.Source, "aws."):
		return entryError("NotAuthorizedForSourceException", "Not authorized for the source.")
	}
	d := strings.TrimSpace(e.Detail)
	if !strings.HasPrefix(d, "{") || !json.Valid([]byte(d)) {
		return entryError("MalformedDetail", "Detail is malformed.")
	}
	bus := busName(e.EventBusName)
	if _, err := s.bus(ctx, bus); err != nil {
		var ae *Error
		if errors.As(err, &ae) {
			return entryError(ae.Code, "%s", ae.Message)
		}
		return entryError("InternalFailure", "%s", err)
	}
	t := s.o.Clock.Now().UTC()
	if e.Time != nil {
		t = time.UnixMilli(int64(*e.Time * 1000)).UTC()
	}
	resources := e.Resources
	if resources == nil {
		resources = []string{}
	}
	env := &Envelope{Version: "0", ID: newUUID(), DetailType: e.DetailType, Source: e.Source, Account: s.o.Account,
		Time: t.Format("2006-01-02T15:04:05Z"), Region: s.o.Region, Resources: resources, Detail: json.RawMessage(d)}
	if err := s.route(ctx, bus, env, 0); err != nil {
		s.o.Logger.Error("events: storing deliveries", "bus", bus, "err", err)
		return entryError("InternalFailure", "The event could not be stored: %s", err)
	}
	return ResultEntry{EventID: env.ID}
}

// PutAWSEvent puts one of Stepline's own AWS events (source aws.*) on the default bus: a
// Step Functions status change, an S3 object event. It returns the event's id.
func (s *Service) PutAWSEvent(ctx context.Context, source, detailType string, resources []string, detail any) (string, error) {
	b, err := json.Marshal(detail)
	if err != nil {
		return "", fmt.Errorf("events: %w", err)
	}
	r := s.putEntry(ctx, &Entry{Source: source, DetailType: detailType, Resources: resources, Detail: string(b)}, true)
	if r.EventID == "" {
		return "", fmt.Errorf("events: %s: %s", r.ErrorCode, r.ErrorMessage)
	}
	s.wake()
	return r.EventID, nil
}

// route matches an event against a bus's enabled rules and stores a delivery for each
// target of each rule it matches.
func (s *Service) route(ctx context.Context, bus string, env *Envelope, hops int) error {
	br, err := s.rulesOf(ctx, bus)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("events: encoding event: %w", err)
	}
	var ev map[string]any
	// The rules that name the event's source, then those that name none.
	for _, r := range slices.Concat(br.bySource[env.Source], br.other) {
		if r.pat == nil || !r.rule.Enabled() || len(r.targets) == 0 {
			continue
		}
		if ev == nil {
			if ev, err = pattern.Decode(raw); err != nil {
				return err
			}
		}
		if !r.pat.MatchValue(ev) {
			continue
		}
		s.matched.Add(1)
		for _, t := range r.targets {
			if err := s.enqueue(ctx, &delivery{Event: raw, EventID: env.ID, Bus: bus, Rule: r.rule.Name, RuleArn: r.rule.Arn,
				Target: *t, Hops: hops}); err != nil {
				return err
			}
		}
	}
	return nil
}

// compiledRule is a rule ready to match, with its targets.
type compiledRule struct {
	rule    *Rule
	pat     *pattern.Pattern // nil for a rule with only a schedule
	targets []*Target
}

// busRules are a bus's rules, indexed by the sources their patterns require (a pattern whose
// "source" lists only literal strings can match only events from those), the others apart.
type busRules struct {
	at       time.Time
	bySource map[string][]*compiledRule
	other    []*compiledRule
}

// ruleCache keeps each bus's compiled rules for Options.RuleCacheTTL: this node's own writes
// drop a bus's entry at once, another node's are seen within the TTL.
type ruleCache struct {
	mu       sync.Mutex
	buses    map[string]*busRules
	compiled map[string]*pattern.Pattern // by pattern text, so a reload compiles only new ones
}

func (s *Service) invalidate(bus string) {
	s.cache.mu.Lock()
	delete(s.cache.buses, bus)
	s.cache.mu.Unlock()
}

func (s *Service) rulesOf(ctx context.Context, bus string) (*busRules, error) {
	now := s.o.Clock.Now()
	s.cache.mu.Lock()
	if b := s.cache.buses[bus]; b != nil && now.Sub(b.at) < s.o.RuleCacheTTL && !now.Before(b.at) {
		s.cache.mu.Unlock()
		return b, nil
	}
	s.cache.mu.Unlock()
	byName := map[string]*compiledRule{}
	var rules []*compiledRule
	err := s.each(ctx, store.EventsRule, bus, func(e *store.EventsEntity) error {
		var r Rule
		if err := json.Unmarshal(e.Doc, &r); err != nil {
			return fmt.Errorf("events: rule %s: %w", e.Name, err)
		}
		c := &compiledRule{rule: &r}
		if r.EventPattern != "" {
			c.pat = s.compile(r.EventPattern)
		}
		byName[r.Name] = c
		rules = append(rules, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = s.each(ctx, store.EventsTarget, bus, func(e *store.EventsEntity) error {
		rule, _, _ := strings.Cut(e.Name, "/")
		c := byName[rule]
		if c == nil {
			return nil // a target whose rule is being deleted
		}
		var t Target
		if err := json.Unmarshal(e.Doc, &t); err != nil {
			return fmt.Errorf("events: target %s: %w", e.Name, err)
		}
		c.targets = append(c.targets, &t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	br := &busRules{at: now, bySource: map[string][]*compiledRule{}}
	for _, r := range rules {
		if r.pat == nil || !r.rule.Enabled() || len(r.targets) == 0 {
			continue // matches nothing
		}
		sources, ok := r.pat.ExactValues("source")
		if !ok {
			br.other = append(br.other, r)
			continue
		}
		for _, src := range slices.Compact(slices.Sorted(slices.Values(sources))) {
			br.bySource[src] = append(br.bySource[src], r)
		}
	}
	s.cache.mu.Lock()
	s.cache.buses[bus] = br
	s.cache.mu.Unlock()
	return br, nil
}

func (s *Service) compile(text string) *pattern.Pattern {
	s.cache.mu.Lock()
	p := s.cache.compiled[text]
	s.cache.mu.Unlock()
	if p != nil {
		return p
	}
	p, err := pattern.Compile([]byte(text))
	if err != nil {
		// PutRule refused it; a stored pattern that no longer compiles matches nothing.
		s.o.Logger.Error("events: stored pattern does not compile", "err", err)
		return pattern.MustCompile(`{"\u0000never":["\u0000"]}`)
	}
	s.cache.mu.Lock()
	if len(s.cache.compiled) > 100000 {
		clear(s.cache.compiled)
	}
	s.cache.compiled[text] = p
	s.cache.mu.Unlock()
	return p
}

// each calls f on every entity of a kind under a parent, page by page.
func (s *Service) each(ctx context.Context, kind, parent string, f func(*store.EventsEntity) error) error {
	cursor := ""
	for {
		res, err := s.o.Store.EventsList(ctx, &store.EventsListParams{Kind: kind, Parent: parent, Limit: store.MaxPageSize, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("events: listing %s of %s: %w", kind, parent, err)
		}
		for _, e := range res.Entities {
			if err := f(e); err != nil {
				return err
			}
		}
		if cursor = res.NextCursor; cursor == "" {
			return nil
		}
	}
}

// ScheduledRules returns the rules of the default bus that have a ScheduleExpression,
// enabled or not (Rule.Enabled), for the scheduler that fires them (FireScheduledRule).
func (s *Service) ScheduledRules(ctx context.Context) ([]*Rule, error) {
	var out []*Rule
	err := s.each(ctx, store.EventsRule, DefaultBus, func(e *store.EventsEntity) error {
		var r Rule
		if err := json.Unmarshal(e.Doc, &r); err != nil {
			return fmt.Errorf("events: rule %s: %w", e.Name, err)
		}
		if r.ScheduleExpression != "" {
			out = append(out, &r)
		}
		return nil
	})
	return out, err
}

// FireScheduledRule delivers a scheduled rule's event ("Scheduled Event", source aws.events,
// as AWS sends it) for the firing due at `at` to the rule's current targets, through the
// same durable deliveries as PutEvents. It returns the event's id, which is derived from the
// rule and the due time so that a firing stored twice starts the same executions.
func (s *Service) FireScheduledRule(ctx context.Context, ruleName string, at time.Time) (string, error) {
	_, r, err := s.rule(ctx, DefaultBus, ruleName)
	if err != nil {
		return "", err
	}
	ts, err := s.targets(ctx, DefaultBus, ruleName)
	if err != nil {
		return "", err
	}
	id := stableUUID(r.Arn + "@" + at.UTC().Format(time.RFC3339Nano))
	env := &Envelope{Version: "0", ID: id, DetailType: "Scheduled Event", Source: "aws.events", Account: s.o.Account,
		Time: at.UTC().Format("2006-01-02T15:04:05Z"), Region: s.o.Region, Resources: []string{r.Arn}, Detail: json.RawMessage("{}")}
	raw, err := json.Marshal(env)
	if err != nil {
		return "", fmt.Errorf("events: %w", err)
	}
	for _, t := range ts {
		if err := s.enqueue(ctx, &delivery{Event: raw, EventID: id, Bus: DefaultBus, Rule: r.Name, RuleArn: r.Arn, Target: *t}); err != nil {
			return "", err
		}
	}
	s.wake()
	return id, nil
}

// compactJSON is json.Compact into a new buffer, or the text itself if it is not JSON.
func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}

var _ = http.StatusOK
