package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/stepline/stepline/internal/events/pattern"
	"github.com/stepline/stepline/internal/store"
)

// DefaultBus is the event bus every account has; it cannot be created or deleted.
const DefaultBus = "default"

// Rule states.
const (
	RuleEnabled  = "ENABLED"
	RuleDisabled = "DISABLED"
	// RuleEnabledCloudTrail is AWS's third state (management events through CloudTrail);
	// here it behaves as ENABLED.
	RuleEnabledCloudTrail = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
)

// maxTargetsPerRule is AWS's quota of targets on one rule.
const maxTargetsPerRule = 5

var nameRE = regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)

// busNameRE admits custom bus names: AWS also allows "/" (partner buses aws.partner/…).
var busNameRE = regexp.MustCompile(`^[/\.\-_A-Za-z0-9]{1,256}$`)

// Bus is an event bus as stored.
type Bus struct {
	Name        string `json:"Name"`
	Arn         string `json:"Arn"`
	Description string `json:"Description,omitempty"`
}

// Rule is a rule as stored (and as DescribeRule answers it). A rule has an EventPattern, a
// ScheduleExpression, or both; package events matches patterns, and schedules are fired by
// the scheduler through Service.ScheduledRules and Service.FireScheduledRule.
type Rule struct {
	Name               string `json:"Name"`
	Arn                string `json:"Arn"`
	EventBusName       string `json:"EventBusName"`
	EventPattern       string `json:"EventPattern,omitempty"`
	ScheduleExpression string `json:"ScheduleExpression,omitempty"`
	State              string `json:"State"`
	Description        string `json:"Description,omitempty"`
	RoleArn            string `json:"RoleArn,omitempty"`
	ManagedBy          string `json:"ManagedBy,omitempty"`
	CreatedBy          string `json:"CreatedBy,omitempty"`
}

// Enabled reports whether the rule fires.
func (r *Rule) Enabled() bool { return r.State != RuleDisabled }

// InputTransformer is a target's InputTransformer.
type InputTransformer struct {
	InputPathsMap map[string]string `json:"InputPathsMap,omitempty"`
	InputTemplate string            `json:"InputTemplate"`
}

// RetryPolicy is a target's RetryPolicy.
type RetryPolicy struct {
	MaximumRetryAttempts     *int `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int `json:"MaximumEventAgeInSeconds,omitempty"`
}

// DeadLetterConfig names where undeliverable events go: here a local dead-letter list
// (Service.DeadLetters, or the ListDeadLetters action), keyed by this ARN.
type DeadLetterConfig struct {
	Arn string `json:"Arn,omitempty"`
}

// Target is a rule's target as stored (and as ListTargetsByRule answers it). Parameters of
// target kinds Stepline does not deliver to (SqsParameters, EcsParameters…) are kept as given.
type Target struct {
	ID               string                     `json:"Id"`
	Arn              string                     `json:"Arn"`
	RoleArn          string                     `json:"RoleArn,omitempty"`
	Input            *string                    `json:"Input,omitempty"`
	InputPath        *string                    `json:"InputPath,omitempty"`
	InputTransformer *InputTransformer          `json:"InputTransformer,omitempty"`
	RetryPolicy      *RetryPolicy               `json:"RetryPolicy,omitempty"`
	DeadLetterConfig *DeadLetterConfig          `json:"DeadLetterConfig,omitempty"`
	Other            map[string]json.RawMessage `json:"-"`
}

var targetFields = map[string]bool{"Id": true, "Arn": true, "RoleArn": true, "Input": true, "InputPath": true,
	"InputTransformer": true, "RetryPolicy": true, "DeadLetterConfig": true}

// UnmarshalJSON keeps the fields Target does not model in Other.
func (t *Target) UnmarshalJSON(b []byte) error {
	type plain Target
	if err := json.Unmarshal(b, (*plain)(t)); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for k, v := range all {
		if !targetFields[k] {
			if t.Other == nil {
				t.Other = map[string]json.RawMessage{}
			}
			t.Other[k] = v
		}
	}
	return nil
}

// MarshalJSON writes Other back beside the modelled fields.
func (t Target) MarshalJSON() ([]byte, error) {
	type plain Target
	b, err := json.Marshal(plain(t))
	if err != nil || len(t.Other) == 0 {
		return b, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k, v := range t.Other {
		all[k] = v
	}
	return json.Marshal(all)
}

func notFound(format string, args ...any) *Error {
	return errorf("ResourceNotFoundException", http.StatusBadRequest, format, args...)
}

// busName resolves an EventBusName parameter (a name or an ARN; empty is the default bus).
func busName(s string) string {
	if s == "" {
		return DefaultBus
	}
	if strings.HasPrefix(s, "arn:") {
		if _, name, ok := strings.Cut(s, ":event-bus/"); ok {
			return name
		}
	}
	return s
}

func (s *Service) busArn(name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", s.o.Region, s.o.Account, name)
}

func (s *Service) ruleArn(bus, name string) string {
	if bus == DefaultBus {
		return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", s.o.Region, s.o.Account, name)
	}
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/%s", s.o.Region, s.o.Account, bus, name)
}

// bus returns a bus by name; the default bus always exists.
func (s *Service) bus(ctx context.Context, name string) (*Bus, error) {
	if name == DefaultBus {
		return &Bus{Name: DefaultBus, Arn: s.busArn(DefaultBus)}, nil
	}
	e, err := s.o.Store.EventsGet(ctx, &store.EventsGetParams{Kind: store.EventsBus, Name: name})
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Event bus %s does not exist.", name)
	}
	if err != nil {
		return nil, fmt.Errorf("events: reading bus %s: %w", name, err)
	}
	var b Bus
	if err := json.Unmarshal(e.Doc, &b); err != nil {
		return nil, fmt.Errorf("events: bus %s: %w", name, err)
	}
	return &b, nil
}

func (s *Service) createEventBus(ctx context.Context, input []byte) (any, error) {
	var in struct {
		Name, Description, EventSourceName string
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	if !busNameRE.MatchString(in.Name) {
		return nil, validation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+", in.Name)
	}
	if in.Name == DefaultBus {
		return nil, errorf("ResourceAlreadyExistsException", http.StatusBadRequest, "Event bus default already exists.")
	}
	b := Bus{Name: in.Name, Arn: s.busArn(in.Name), Description: in.Description}
	doc, _ := json.Marshal(b) // strings always marshal
	_, err := s.o.Store.EventsCreate(ctx, &store.EventsCreateParams{Kind: store.EventsBus, Name: in.Name, Doc: doc, Now: s.o.Clock.Now()})
	if errors.Is(err, store.ErrEventsAlreadyExists) {
		return nil, errorf("ResourceAlreadyExistsException", http.StatusBadRequest, "Event bus %s already exists.", in.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("events: creating bus %s: %w", in.Name, err)
	}
	return map[string]string{"EventBusArn": b.Arn}, nil
}

func (s *Service) describeEventBus(ctx context.Context, input []byte) (any, error) {
	var in struct{ Name string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	return s.bus(ctx, busName(in.Name))
}

func (s *Service) deleteEventBus(ctx context.Context, input []byte) (any, error) {
	var in struct{ Name string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	name := busName(in.Name)
	if name == DefaultBus {
		return nil, validation("Cannot delete event bus default.")
	}
	// AWS deletes a bus with its rules; so here, targets first so no rule is left half-deleted.
	for _, kind := range []string{store.EventsTarget, store.EventsRule} {
		if err := s.deleteAll(ctx, kind, name); err != nil {
			return nil, err
		}
	}
	err := s.o.Store.EventsDelete(ctx, &store.EventsDeleteParams{Kind: store.EventsBus, Name: name})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("events: deleting bus %s: %w", name, err)
	}
	s.invalidate(name)
	return struct{}{}, nil
}

func (s *Service) deleteAll(ctx context.Context, kind, parent string) error {
	for {
		res, err := s.o.Store.EventsList(ctx, &store.EventsListParams{Kind: kind, Parent: parent, Limit: store.MaxPageSize})
		if err != nil {
			return fmt.Errorf("events: listing %s of %s: %w", kind, parent, err)
		}
		for _, e := range res.Entities {
			if err := s.o.Store.EventsDelete(ctx, &store.EventsDeleteParams{Kind: kind, Parent: parent, Name: e.Name}); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("events: deleting %s %s: %w", kind, e.Name, err)
			}
		}
		if res.NextCursor == "" {
			return nil
		}
	}
}

func (s *Service) listEventBuses(ctx context.Context, input []byte) (any, error) {
	var in struct {
		NamePrefix string
		Limit      int
		NextToken  string
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	if err := checkLimit(in.Limit); err != nil {
		return nil, err
	}
	out := struct {
		EventBuses []*Bus `json:"EventBuses"`
		NextToken  string `json:"NextToken,omitempty"`
	}{EventBuses: []*Bus{}}
	if in.NextToken == "" && strings.HasPrefix(DefaultBus, in.NamePrefix) {
		out.EventBuses = append(out.EventBuses, &Bus{Name: DefaultBus, Arn: s.busArn(DefaultBus)})
	}
	res, err := s.o.Store.EventsList(ctx, &store.EventsListParams{Kind: store.EventsBus, Prefix: in.NamePrefix, Limit: in.Limit, Cursor: in.NextToken})
	if errors.Is(err, store.ErrInvalidCursor) {
		return nil, validation("The NextToken is not valid.")
	}
	if err != nil {
		return nil, fmt.Errorf("events: listing buses: %w", err)
	}
	for _, e := range res.Entities {
		var b Bus
		if err := json.Unmarshal(e.Doc, &b); err != nil {
			return nil, fmt.Errorf("events: bus %s: %w", e.Name, err)
		}
		out.EventBuses = append(out.EventBuses, &b)
	}
	out.NextToken = res.NextCursor
	return out, nil
}

// rule reads a rule; ResourceNotFoundException as AWS words it.
func (s *Service) rule(ctx context.Context, bus, name string) (*store.EventsEntity, *Rule, error) {
	if !nameRE.MatchString(name) {
		return nil, nil, validation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+", name)
	}
	e, err := s.o.Store.EventsGet(ctx, &store.EventsGetParams{Kind: store.EventsRule, Parent: bus, Name: name})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, notFound("Rule %s does not exist on EventBus %s.", name, bus)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("events: reading rule %s: %w", name, err)
	}
	var r Rule
	if err := json.Unmarshal(e.Doc, &r); err != nil {
		return nil, nil, fmt.Errorf("events: rule %s: %w", name, err)
	}
	return e, &r, nil
}

func invalidPattern(err error) error {
	var pe *pattern.Error
	if errors.As(err, &pe) {
		return errorf("InvalidEventPatternException", http.StatusBadRequest, "%s", pe.Error())
	}
	return err
}

// PutRuleInput is PutRule's request.
type PutRuleInput struct {
	Name               string
	EventBusName       string
	EventPattern       *string
	ScheduleExpression *string
	State              *string
	Description        *string
	RoleArn            *string
}

// PutRule creates or updates a rule (the API's PutRule, for callers in the process such as the
// project deployer) and returns its ARN.
func (s *Service) PutRule(ctx context.Context, in *PutRuleInput) (string, error) {
	if !nameRE.MatchString(in.Name) {
		return "", validation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+", in.Name)
	}
	bus := busName(in.EventBusName)
	if _, err := s.bus(ctx, bus); err != nil {
		return "", err
	}
	if (in.EventPattern == nil || *in.EventPattern == "") && (in.ScheduleExpression == nil || *in.ScheduleExpression == "") {
		return "", validation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	if in.ScheduleExpression != nil && *in.ScheduleExpression != "" {
		if bus != DefaultBus {
			return "", validation("ScheduleExpression is supported only on the default event bus.")
		}
		if err := checkScheduleExpression(*in.ScheduleExpression); err != nil {
			return "", err
		}
	}
	if in.EventPattern != nil && *in.EventPattern != "" {
		if len(*in.EventPattern) > 4096 {
			return "", validation("1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to 4096")
		}
		if _, err := pattern.Compile([]byte(*in.EventPattern)); err != nil {
			return "", invalidPattern(err)
		}
	}
	r := Rule{Name: in.Name, Arn: s.ruleArn(bus, in.Name), EventBusName: bus, State: RuleEnabled, CreatedBy: s.o.Account}
	old, oldRule, err := s.rule(ctx, bus, in.Name)
	var nf *Error
	if err != nil && !(errors.As(err, &nf) && nf.Code == "ResourceNotFoundException") {
		return "", err
	}
	if oldRule != nil {
		// PutRule replaces the rule's definition; a parameter left out is cleared, as AWS does,
		// except State, which stays as it was (AWS's default for a new rule is ENABLED).
		r.State = oldRule.State
	}
	if in.EventPattern != nil {
		r.EventPattern = *in.EventPattern
	}
	if in.ScheduleExpression != nil {
		r.ScheduleExpression = *in.ScheduleExpression
	}
	if in.State != nil && *in.State != "" {
		switch *in.State {
		case RuleEnabled, RuleDisabled, RuleEnabledCloudTrail:
			r.State = *in.State
		default:
			return "", validation("1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]", *in.State)
		}
	}
	if in.Description != nil {
		if len(*in.Description) > 512 {
			return "", validation("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 512")
		}
		r.Description = *in.Description
	}
	if in.RoleArn != nil {
		r.RoleArn = *in.RoleArn
	}
	doc, _ := json.Marshal(r) // strings always marshal
	now := s.o.Clock.Now()
	if old == nil {
		_, err = s.o.Store.EventsCreate(ctx, &store.EventsCreateParams{Kind: store.EventsRule, Parent: bus, Name: in.Name, Doc: doc, Now: now})
	} else {
		_, err = s.o.Store.EventsUpdate(ctx, &store.EventsUpdateParams{Kind: store.EventsRule, Parent: bus, Name: in.Name, Doc: doc, Now: now, IfVersion: old.Version})
	}
	if errors.Is(err, store.ErrEventsAlreadyExists) || errors.Is(err, store.ErrConflict) {
		return "", errorf("ConcurrentModificationException", http.StatusBadRequest, "Rule %s was modified concurrently.", in.Name)
	}
	if err != nil {
		return "", fmt.Errorf("events: writing rule %s: %w", in.Name, err)
	}
	s.invalidate(bus)
	return r.Arn, nil
}

// checkScheduleExpression checks the shape AWS checks at PutRule: rate(…) or cron(…) with six
// fields. The scheduler parses them fully when it fires them.
func checkScheduleExpression(e string) error {
	bad := validation("Parameter ScheduleExpression is not valid.")
	switch {
	case strings.HasPrefix(e, "rate(") && strings.HasSuffix(e, ")"):
		f := strings.Fields(e[5 : len(e)-1])
		if len(f) != 2 {
			return bad
		}
		switch f[1] {
		case "minute", "minutes", "hour", "hours", "day", "days":
		default:
			return bad
		}
		for _, c := range f[0] {
			if c < '0' || c > '9' {
				return bad
			}
		}
		if f[0] == "0" || f[0][0] == '0' {
			return bad
		}
	case strings.HasPrefix(e, "cron(") && strings.HasSuffix(e, ")"):
		if len(strings.Fields(e[5:len(e)-1])) != 6 {
			return bad
		}
	default:
		return bad
	}
	return nil
}

func (s *Service) putRule(ctx context.Context, input []byte) (any, error) {
	var in PutRuleInput
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	arn, err := s.PutRule(ctx, &in)
	if err != nil {
		return nil, err
	}
	return map[string]string{"RuleArn": arn}, nil
}

type ruleRef struct {
	Name         string
	EventBusName string
}

func (s *Service) describeRule(ctx context.Context, input []byte) (any, error) {
	var in ruleRef
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	_, r, err := s.rule(ctx, busName(in.EventBusName), in.Name)
	return r, err
}

func (s *Service) setRuleState(ctx context.Context, input []byte, state string) (any, error) {
	var in ruleRef
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	bus := busName(in.EventBusName)
	e, r, err := s.rule(ctx, bus, in.Name)
	if err != nil {
		return nil, err
	}
	r.State = state
	doc, _ := json.Marshal(r) // strings always marshal
	if _, err := s.o.Store.EventsUpdate(ctx, &store.EventsUpdateParams{Kind: store.EventsRule, Parent: bus, Name: in.Name, Doc: doc,
		Now: s.o.Clock.Now(), IfVersion: e.Version}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errorf("ConcurrentModificationException", http.StatusBadRequest, "Rule %s was modified concurrently.", in.Name)
		}
		return nil, fmt.Errorf("events: writing rule %s: %w", in.Name, err)
	}
	s.invalidate(bus)
	return struct{}{}, nil
}

func (s *Service) enableRule(ctx context.Context, input []byte) (any, error) {
	return s.setRuleState(ctx, input, RuleEnabled)
}

func (s *Service) disableRule(ctx context.Context, input []byte) (any, error) {
	return s.setRuleState(ctx, input, RuleDisabled)
}

func (s *Service) deleteRule(ctx context.Context, input []byte) (any, error) {
	var in struct {
		Name         string
		EventBusName string
		Force        bool
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	bus := busName(in.EventBusName)
	if _, _, err := s.rule(ctx, bus, in.Name); err != nil {
		var ae *Error
		if errors.As(err, &ae) && ae.Code == "ResourceNotFoundException" {
			return struct{}{}, nil // AWS answers a rule already gone with success
		}
		return nil, err
	}
	ts, err := s.targets(ctx, bus, in.Name)
	if err != nil {
		return nil, err
	}
	if len(ts) > 0 {
		return nil, validation("Rule can't be deleted since it has targets.")
	}
	if err := s.o.Store.EventsDelete(ctx, &store.EventsDeleteParams{Kind: store.EventsRule, Parent: bus, Name: in.Name}); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("events: deleting rule %s: %w", in.Name, err)
	}
	s.invalidate(bus)
	return struct{}{}, nil
}

func (s *Service) listRules(ctx context.Context, input []byte) (any, error) {
	var in struct {
		NamePrefix   string
		EventBusName string
		Limit        int
		NextToken    string
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	if err := checkLimit(in.Limit); err != nil {
		return nil, err
	}
	bus := busName(in.EventBusName)
	if _, err := s.bus(ctx, bus); err != nil {
		return nil, err
	}
	res, err := s.o.Store.EventsList(ctx, &store.EventsListParams{Kind: store.EventsRule, Parent: bus, Prefix: in.NamePrefix, Limit: in.Limit, Cursor: in.NextToken})
	if errors.Is(err, store.ErrInvalidCursor) {
		return nil, validation("The NextToken is not valid.")
	}
	if err != nil {
		return nil, fmt.Errorf("events: listing rules: %w", err)
	}
	out := struct {
		Rules     []*Rule `json:"Rules"`
		NextToken string  `json:"NextToken,omitempty"`
	}{Rules: []*Rule{}, NextToken: res.NextCursor}
	for _, e := range res.Entities {
		var r Rule
		if err := json.Unmarshal(e.Doc, &r); err != nil {
			return nil, fmt.Errorf("events: rule %s: %w", e.Name, err)
		}
		out.Rules = append(out.Rules, &r)
	}
	return out, nil
}

// targets lists a rule's targets, in Id order.
func (s *Service) targets(ctx context.Context, bus, rule string) ([]*Target, error) {
	var out []*Target
	cursor := ""
	for {
		res, err := s.o.Store.EventsList(ctx, &store.EventsListParams{Kind: store.EventsTarget, Parent: bus, Prefix: rule + "/", Limit: store.MaxPageSize, Cursor: cursor})
		if err != nil {
			return nil, fmt.Errorf("events: listing targets of %s: %w", rule, err)
		}
		for _, e := range res.Entities {
			var t Target
			if err := json.Unmarshal(e.Doc, &t); err != nil {
				return nil, fmt.Errorf("events: target %s: %w", e.Name, err)
			}
			out = append(out, &t)
		}
		if cursor = res.NextCursor; cursor == "" {
			return out, nil
		}
	}
}

type failedEntry struct {
	TargetID     string `json:"TargetId"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

type failedEntries struct {
	FailedEntryCount int           `json:"FailedEntryCount"`
	FailedEntries    []failedEntry `json:"FailedEntries"`
}

// PutTargetsInput is PutTargets' request.
type PutTargetsInput struct {
	Rule         string
	EventBusName string
	Targets      []*Target
}

func (s *Service) putTargets(ctx context.Context, input []byte) (any, error) {
	var in PutTargetsInput
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	return s.PutTargets(ctx, &in)
}

// PutTargets adds or replaces targets of a rule (the API's PutTargets, for callers in the
// process). A target AWS would refuse is reported in FailedEntries, the others are written.
func (s *Service) PutTargets(ctx context.Context, in *PutTargetsInput) (any, error) {
	bus := busName(in.EventBusName)
	if len(in.Targets) == 0 || len(in.Targets) > 10 {
		return nil, validation("1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1")
	}
	if _, _, err := s.rule(ctx, bus, in.Rule); err != nil {
		return nil, err
	}
	existing, err := s.targets(ctx, bus, in.Rule)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, t := range existing {
		have[t.ID] = true
	}
	added := map[string]bool{}
	for _, t := range in.Targets {
		if t != nil && !have[t.ID] {
			added[t.ID] = true
		}
	}
	if len(have)+len(added) > maxTargetsPerRule {
		return nil, errorf("LimitExceededException", http.StatusBadRequest, "The requested resource exceeds the maximum number allowed.")
	}
	out := failedEntries{FailedEntries: []failedEntry{}}
	for _, t := range in.Targets {
		if t == nil {
			continue
		}
		if !nameRE.MatchString(t.ID) {
			return nil, validation("1 validation error detected: Value '%s' at 'targets.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+", t.ID)
		}
		if t.Arn == "" {
			return nil, validation("1 validation error detected: Value null at 'targets.member.arn' failed to satisfy constraint: Member must not be null")
		}
		if msg := checkTarget(t); msg != "" {
			out.FailedEntries = append(out.FailedEntries, failedEntry{t.ID, "ValidationException", msg})
			continue
		}
		doc, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("events: target %s: %w", t.ID, err)
		}
		name := in.Rule + "/" + t.ID
		now := s.o.Clock.Now()
		if have[t.ID] {
			_, err = s.o.Store.EventsUpdate(ctx, &store.EventsUpdateParams{Kind: store.EventsTarget, Parent: bus, Name: name, Doc: doc, Now: now})
		} else {
			_, err = s.o.Store.EventsCreate(ctx, &store.EventsCreateParams{Kind: store.EventsTarget, Parent: bus, Name: name, Doc: doc, Now: now})
		}
		if err != nil {
			return nil, fmt.Errorf("events: writing target %s: %w", t.ID, err)
		}
		have[t.ID] = true
	}
	out.FailedEntryCount = len(out.FailedEntries)
	s.invalidate(bus)
	return out, nil
}

// checkTarget returns why AWS would refuse a target, or "".
func checkTarget(t *Target) string {
	n := 0
	if t.Input != nil {
		n++
		if !json.Valid([]byte(*t.Input)) {
			return "Input is not valid JSON."
		}
	}
	if t.InputPath != nil {
		n++
		if _, err := parsePath(*t.InputPath); err != nil {
			return "InputPath is not a valid JSONPath: " + err.Error()
		}
	}
	if t.InputTransformer != nil {
		n++
		if len(t.InputTransformer.InputPathsMap) > 100 {
			return "InputPathsMap has more than 100 entries."
		}
		for k, p := range t.InputTransformer.InputPathsMap {
			if strings.HasPrefix(k, "aws.") {
				return fmt.Sprintf("InputPathsMap key %s is reserved.", k)
			}
			if _, err := parsePath(p); err != nil {
				return fmt.Sprintf("InputPathsMap value %s is not a valid JSONPath: %s", p, err)
			}
		}
		if t.InputTransformer.InputTemplate == "" {
			return "InputTemplate must not be empty."
		}
	}
	if n > 1 {
		return "Only one of Input, InputPath, or InputTransformer must be provided."
	}
	if p := t.RetryPolicy; p != nil {
		if a := p.MaximumRetryAttempts; a != nil && (*a < 0 || *a > 185) {
			return "RetryPolicy.MaximumRetryAttempts must be between 0 and 185."
		}
		if a := p.MaximumEventAgeInSeconds; a != nil && (*a < 60 || *a > 86400) {
			return "RetryPolicy.MaximumEventAgeInSeconds must be between 60 and 86400."
		}
	}
	if d := t.DeadLetterConfig; d != nil && d.Arn != "" && !strings.HasPrefix(d.Arn, "arn:") {
		return "DeadLetterConfig.Arn is not a valid ARN."
	}
	return ""
}

func (s *Service) removeTargets(ctx context.Context, input []byte) (any, error) {
	var in struct {
		Rule         string
		EventBusName string
		Ids          []string
		Force        bool
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	if len(in.Ids) == 0 || len(in.Ids) > 100 {
		return nil, validation("1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length less than or equal to 100 and greater than or equal to 1")
	}
	bus := busName(in.EventBusName)
	if _, _, err := s.rule(ctx, bus, in.Rule); err != nil {
		return nil, err
	}
	out := failedEntries{FailedEntries: []failedEntry{}}
	for _, id := range in.Ids {
		err := s.o.Store.EventsDelete(ctx, &store.EventsDeleteParams{Kind: store.EventsTarget, Parent: bus, Name: in.Rule + "/" + id})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("events: removing target %s: %w", id, err)
		}
	}
	s.invalidate(bus)
	return out, nil
}

func (s *Service) listTargetsByRule(ctx context.Context, input []byte) (any, error) {
	var in struct {
		Rule         string
		EventBusName string
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	bus := busName(in.EventBusName)
	if _, _, err := s.rule(ctx, bus, in.Rule); err != nil {
		return nil, err
	}
	ts, err := s.targets(ctx, bus, in.Rule)
	if err != nil {
		return nil, err
	}
	if ts == nil {
		ts = []*Target{}
	}
	return map[string]any{"Targets": ts}, nil
}

func (s *Service) listRuleNamesByTarget(ctx context.Context, input []byte) (any, error) {
	var in struct {
		TargetArn    string
		EventBusName string
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	if in.TargetArn == "" {
		return nil, validation("1 validation error detected: Value null at 'targetArn' failed to satisfy constraint: Member must not be null")
	}
	bus := busName(in.EventBusName)
	names := []string{}
	cursor := ""
	for {
		res, err := s.o.Store.EventsList(ctx, &store.EventsListParams{Kind: store.EventsTarget, Parent: bus, Limit: store.MaxPageSize, Cursor: cursor})
		if err != nil {
			return nil, fmt.Errorf("events: listing targets: %w", err)
		}
		for _, e := range res.Entities {
			var t Target
			if err := json.Unmarshal(e.Doc, &t); err != nil {
				return nil, fmt.Errorf("events: target %s: %w", e.Name, err)
			}
			rule, _, _ := strings.Cut(e.Name, "/")
			if t.Arn == in.TargetArn && (len(names) == 0 || names[len(names)-1] != rule) {
				names = append(names, rule)
			}
		}
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	return map[string]any{"RuleNames": names}, nil
}

func (s *Service) testEventPattern(_ context.Context, input []byte) (any, error) {
	var in struct {
		EventPattern string
		Event        string
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	p, err := pattern.Compile([]byte(in.EventPattern))
	if err != nil {
		return nil, invalidPattern(err)
	}
	ev, err := pattern.Decode([]byte(in.Event))
	if err != nil {
		return nil, validation("Parameter Event is not valid.")
	}
	// AWS requires the envelope's fields of a real event.
	for _, f := range []string{"id", "account", "source", "time", "region", "detail-type"} {
		if _, ok := ev[f].(string); !ok {
			return nil, validation("Parameter Event is not valid.")
		}
	}
	return map[string]bool{"Result": p.MatchValue(ev)}, nil
}

// checkLimit refuses a List action's Limit outside 0–100 as EventBridge words it (0 is none).
func checkLimit(limit int) error {
	if limit < 0 || limit > 100 {
		return validation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100", limit)
	}
	return nil
}
