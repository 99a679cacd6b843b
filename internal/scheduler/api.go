package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// doc is a schedule as the store keeps it (store.Schedule.Doc) and GetSchedule answers it.
type doc struct {
	ActionAfterCompletion      string             `json:"ActionAfterCompletion,omitempty"`
	Description                string             `json:"Description,omitempty"`
	EndDate                    *epoch             `json:"EndDate,omitempty"`
	FlexibleTimeWindow         FlexibleTimeWindow `json:"FlexibleTimeWindow"`
	KmsKeyArn                  string             `json:"KmsKeyArn,omitempty"`
	ScheduleExpression         string             `json:"ScheduleExpression"`
	ScheduleExpressionTimezone string             `json:"ScheduleExpressionTimezone,omitempty"`
	StartDate                  *epoch             `json:"StartDate,omitempty"`
	State                      string             `json:"State,omitempty"`
	Target                     Target             `json:"Target"`
}

// FlexibleTimeWindow is a schedule's window: OFF, or FLEXIBLE within MaximumWindowInMinutes.
type FlexibleTimeWindow struct {
	Mode                   string `json:"Mode"`
	MaximumWindowInMinutes *int   `json:"MaximumWindowInMinutes,omitempty"`
}

// Target is what a schedule invokes. Parameters of target kinds Stepline does not invoke
// (ECS, SQS…) are kept as given.
type Target struct {
	Arn              string          `json:"Arn"`
	RoleArn          string          `json:"RoleArn"`
	Input            string          `json:"Input,omitempty"`
	RetryPolicy      *RetryPolicy    `json:"RetryPolicy,omitempty"`
	DeadLetterConfig json.RawMessage `json:"DeadLetterConfig,omitempty"`
}

// RetryPolicy bounds a firing's retries.
type RetryPolicy struct {
	MaximumEventAgeInSeconds *int `json:"MaximumEventAgeInSeconds,omitempty"`
	MaximumRetryAttempts     *int `json:"MaximumRetryAttempts,omitempty"`
}

// Error is a Scheduler API error: its code (X-Amzn-Errortype), HTTP status and message.
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errValidation(format string, args ...any) *Error {
	return &Error{Code: "ValidationException", Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

func errNotFound(format string, args ...any) *Error {
	return &Error{Code: "ResourceNotFoundException", Status: http.StatusNotFound, Message: fmt.Sprintf(format, args...)}
}

func errConflict(format string, args ...any) *Error {
	return &Error{Code: "ConflictException", Status: http.StatusConflict, Message: fmt.Sprintf(format, args...)}
}

func errInternal(err error) *Error {
	return &Error{Code: "InternalServerException", Status: http.StatusInternalServerError, Message: err.Error()}
}

// errConstraint is the model's own validation, in the words AWS's front end uses for it.
func errConstraint(value any, field, constraint string) *Error {
	return errValidation("1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}

var nameRE = regexp.MustCompile(`^[0-9a-zA-Z-_.]+$`)

func checkName(v, field string) *Error {
	if len(v) < 1 || len(v) > 64 {
		return errConstraint(v, field, "Member must have length between 1 and 64")
	}
	if !nameRE.MatchString(v) {
		return errConstraint(v, field, "Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$")
	}
	return nil
}

// DefaultGroup is the group of schedules created without one.
const DefaultGroup = "default"

func (s *Service) arn(group, name string) string {
	return fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule/%s/%s", s.o.Region, s.o.Account, group, name)
}

func (s *Service) groupArn(name string) string {
	return fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule-group/%s", s.o.Region, s.o.Account, name)
}

// groupDoc is a schedule group's document: its tags.
type groupDoc struct {
	Tags []Tag `json:"Tags"`
}

// Tag is one tag of a schedule group.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

func (s *Service) ensureDefaultGroup(ctx context.Context) error {
	_, err := s.o.Store.ScheduleCreate(ctx, &store.ScheduleCreateParams{Kind: store.ScheduleKindGroup, Name: DefaultGroup, State: "ACTIVE",
		Doc: []byte(`{"Tags":[]}`), Now: s.o.Clock.Now()})
	if err != nil && !errors.Is(err, store.ErrScheduleAlreadyExists) {
		return fmt.Errorf("scheduler: creating the default group: %w", err)
	}
	return nil
}

// ScheduleInput is CreateSchedule's and UpdateSchedule's request (the name in the path).
type ScheduleInput struct {
	Name      string `json:"-"`
	GroupName string `json:"GroupName,omitempty"`
	doc
	ClientToken string `json:"ClientToken,omitempty"`
}

// validate checks a schedule as CreateSchedule and UpdateSchedule do and fills its defaults.
func (in *ScheduleInput) validate() *Error {
	if e := checkName(in.Name, "name"); e != nil {
		return e
	}
	if in.GroupName == "" {
		in.GroupName = DefaultGroup
	}
	if e := checkName(in.GroupName, "groupName"); e != nil {
		return e
	}
	if in.ScheduleExpression == "" {
		return errValidation("1 validation error detected: Value null at 'scheduleExpression' failed to satisfy constraint: Member must not be null")
	}
	if len(in.ScheduleExpression) > 256 {
		return errConstraint(in.ScheduleExpression, "scheduleExpression", "Member must have length less than or equal to 256")
	}
	if _, err := ParseExpression(in.ScheduleExpression); err != nil {
		return errValidation("Invalid Schedule Expression %s.", in.ScheduleExpression)
	}
	if _, err := in.location(); err != nil {
		return errValidation("Invalid time zone %s.", in.ScheduleExpressionTimezone)
	}
	switch in.FlexibleTimeWindow.Mode {
	case "OFF":
		if in.FlexibleTimeWindow.MaximumWindowInMinutes != nil {
			return errValidation("MaximumWindowInMinutes must not be provided when Mode is OFF.")
		}
	case "FLEXIBLE":
		m := in.FlexibleTimeWindow.MaximumWindowInMinutes
		if m == nil {
			return errValidation("MaximumWindowInMinutes must be provided when Mode is FLEXIBLE.")
		}
		if *m < 1 || *m > 1440 {
			return errConstraint(*m, "flexibleTimeWindow.maximumWindowInMinutes", "Member must have value between 1 and 1440")
		}
	case "":
		return errValidation("1 validation error detected: Value null at 'flexibleTimeWindow' failed to satisfy constraint: Member must not be null")
	default:
		return errConstraint(in.FlexibleTimeWindow.Mode, "flexibleTimeWindow.mode", "Member must satisfy enum value set: [OFF, FLEXIBLE]")
	}
	switch in.State {
	case "":
		in.State = "ENABLED"
	case "ENABLED", "DISABLED":
	default:
		return errConstraint(in.State, "state", "Member must satisfy enum value set: [ENABLED, DISABLED]")
	}
	switch in.ActionAfterCompletion {
	case "", "NONE", "DELETE":
	default:
		return errConstraint(in.ActionAfterCompletion, "actionAfterCompletion", "Member must satisfy enum value set: [NONE, DELETE]")
	}
	if in.Target.Arn == "" {
		return errValidation("1 validation error detected: Value null at 'target.arn' failed to satisfy constraint: Member must not be null")
	}
	if in.Target.RoleArn == "" {
		return errValidation("1 validation error detected: Value null at 'target.roleArn' failed to satisfy constraint: Member must not be null")
	}
	if rp := in.Target.RetryPolicy; rp != nil {
		if v := rp.MaximumEventAgeInSeconds; v != nil && (*v < 60 || *v > 86400) {
			return errConstraint(*v, "target.retryPolicy.maximumEventAgeInSeconds", "Member must have value between 60 and 86400")
		}
		if v := rp.MaximumRetryAttempts; v != nil && (*v < 0 || *v > 185) {
			return errConstraint(*v, "target.retryPolicy.maximumRetryAttempts", "Member must have value between 0 and 185")
		}
	}
	if len(in.Target.Input) > 8192 {
		return errConstraint("...", "target.input", "Member must have length less than or equal to 8192")
	}
	if in.StartDate != nil && in.EndDate != nil && !in.EndDate.Time().After(in.StartDate.Time()) {
		return errValidation("The EndDate must be after the StartDate.")
	}
	if kind, arn := in.target(); kind == "" || arn == "" {
		if strings.HasPrefix(in.Target.Arn, "arn:aws:scheduler:::aws-sdk:") && arn == "" {
			return errValidation("Invalid RequestJson provided. Reason: the target's Input names no resource.")
		}
		// Other targets (SQS, ECS…) are kept but never invoked here.
	}
	return nil
}

// CreateSchedule creates a schedule and returns its ARN.
func (s *Service) CreateSchedule(ctx context.Context, in *ScheduleInput) (string, error) {
	if e := in.validate(); e != nil {
		return "", e
	}
	if e := s.checkGroup(ctx, in.GroupName); e != nil {
		return "", e
	}
	now := s.o.Clock.Now()
	if e := s.checkEndDate(&in.doc, now); e != nil {
		return "", e
	}
	b, err := json.Marshal(&in.doc)
	if err != nil {
		return "", errInternal(err)
	}
	row := &store.Schedule{Group: in.GroupName, Name: in.Name, CreatedAt: now.UTC().Truncate(time.Microsecond)}
	due, nominal, err := s.firstFiring(&in.doc, row, now)
	if err != nil {
		return "", errValidation("%v", err)
	}
	_, err = s.o.Store.ScheduleCreate(ctx, &store.ScheduleCreateParams{Kind: store.ScheduleKindSchedule, Group: in.GroupName, Name: in.Name,
		State: in.State, Doc: b, Due: due, Nominal: nominal, Now: now})
	if errors.Is(err, store.ErrScheduleAlreadyExists) {
		return "", errConflict("Schedule %s already exists.", in.Name)
	}
	if err != nil {
		return "", errInternal(err)
	}
	s.poke()
	return s.arn(in.GroupName, in.Name), nil
}

func (s *Service) checkEndDate(d *doc, now time.Time) *Error {
	if d.EndDate != nil && !d.EndDate.Time().After(now) {
		return errValidation("The EndDate you specify cannot be earlier than the current time.")
	}
	if d.atPassed(now) {
		// AWS refuses a one-time schedule whose time has passed rather than keep one that
		// will never fire.
		return errValidation("The schedule expression %s is in the past.", d.ScheduleExpression)
	}
	return nil
}

// atPassed reports whether d is an at() schedule whose time is not after now.
func (d *doc) atPassed(now time.Time) bool {
	e, err := ParseExpression(d.ScheduleExpression)
	if err != nil || e.Kind != "at" {
		return false
	}
	loc, err := d.location()
	return err == nil && !e.At(loc).After(now)
}

// firstFiring is a schedule's first firing from now, when it is enabled.
func (s *Service) firstFiring(d *doc, row *store.Schedule, now time.Time) (due, nominal *time.Time, err error) {
	if d.State == "DISABLED" {
		return nil, nil, nil
	}
	next, err := s.nextFiring(d, row.CreatedAt, now.Add(-time.Nanosecond), now)
	if err != nil || next == nil {
		return nil, nil, err
	}
	return s.dueOf(d, row, *next), next, nil
}

func (s *Service) checkGroup(ctx context.Context, group string) *Error {
	_, err := s.o.Store.ScheduleGet(ctx, &store.ScheduleGetParams{Kind: store.ScheduleKindGroup, Name: group})
	if errors.Is(err, store.ErrNotFound) && group == DefaultGroup {
		// Before Start made it (a project deployed by New).
		if err = s.ensureDefaultGroup(ctx); err == nil {
			return nil
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("Schedule group %s does not exist.", group)
	}
	if err != nil {
		return errInternal(err)
	}
	return nil
}

// UpdateSchedule replaces a schedule (every field, as AWS's UpdateSchedule does) and returns
// its ARN. Its next firing is computed afresh from now.
func (s *Service) UpdateSchedule(ctx context.Context, in *ScheduleInput) (string, error) {
	if e := in.validate(); e != nil {
		return "", e
	}
	for {
		row, err := s.o.Store.ScheduleGet(ctx, &store.ScheduleGetParams{Kind: store.ScheduleKindSchedule, Group: in.GroupName, Name: in.Name})
		if errors.Is(err, store.ErrNotFound) {
			return "", errNotFound("Schedule %s does not exist.", in.Name)
		}
		if err != nil {
			return "", errInternal(err)
		}
		now := s.o.Clock.Now()
		if e := s.checkEndDate(&in.doc, now); e != nil {
			return "", e
		}
		b, err := json.Marshal(&in.doc)
		if err != nil {
			return "", errInternal(err)
		}
		due, nominal, err := s.firstFiring(&in.doc, row, now)
		if err != nil {
			return "", errValidation("%v", err)
		}
		_, err = s.o.Store.ScheduleUpdate(ctx, &store.ScheduleUpdateParams{Kind: store.ScheduleKindSchedule, Group: in.GroupName, Name: in.Name,
			IfVersion: row.Version, State: in.State, Doc: b, Due: due, Nominal: nominal, Now: now})
		if errors.Is(err, store.ErrConflict) {
			continue // a firing advanced it meanwhile
		}
		if errors.Is(err, store.ErrNotFound) {
			return "", errNotFound("Schedule %s does not exist.", in.Name)
		}
		if err != nil {
			return "", errInternal(err)
		}
		s.poke()
		return s.arn(in.GroupName, in.Name), nil
	}
}

// ScheduleOutput is GetSchedule's answer.
type ScheduleOutput struct {
	Arn                  string `json:"Arn"`
	Name                 string `json:"Name"`
	GroupName            string `json:"GroupName"`
	CreationDate         *epoch `json:"CreationDate"`
	LastModificationDate *epoch `json:"LastModificationDate"`
	doc
}

func (s *Service) output(row *store.Schedule) (*ScheduleOutput, error) {
	out := &ScheduleOutput{Arn: s.arn(row.Group, row.Name), Name: row.Name, GroupName: row.Group,
		CreationDate: toEpoch(row.CreatedAt), LastModificationDate: toEpoch(row.UpdatedAt)}
	if err := json.Unmarshal(row.Doc, &out.doc); err != nil {
		return nil, err
	}
	return out, nil
}

// GetSchedule returns a schedule.
func (s *Service) GetSchedule(ctx context.Context, group, name string) (*ScheduleOutput, error) {
	if group == "" {
		group = DefaultGroup
	}
	if e := checkName(name, "name"); e != nil {
		return nil, e
	}
	row, err := s.o.Store.ScheduleGet(ctx, &store.ScheduleGetParams{Kind: store.ScheduleKindSchedule, Group: group, Name: name})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound("Schedule %s does not exist.", name)
	}
	if err != nil {
		return nil, errInternal(err)
	}
	out, err := s.output(row)
	if err != nil {
		return nil, errInternal(err)
	}
	return out, nil
}

// DeleteSchedule deletes a schedule.
func (s *Service) DeleteSchedule(ctx context.Context, group, name string) error {
	if group == "" {
		group = DefaultGroup
	}
	if e := checkName(name, "name"); e != nil {
		return e
	}
	err := s.o.Store.ScheduleDelete(ctx, &store.ScheduleDeleteParams{Kind: store.ScheduleKindSchedule, Group: group, Name: name})
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("Schedule %s does not exist.", name)
	}
	if err != nil {
		return errInternal(err)
	}
	return nil
}

// ScheduleSummary is one entry of ListSchedules.
type ScheduleSummary struct {
	Arn                  string `json:"Arn"`
	Name                 string `json:"Name"`
	GroupName            string `json:"GroupName"`
	State                string `json:"State"`
	CreationDate         *epoch `json:"CreationDate"`
	LastModificationDate *epoch `json:"LastModificationDate"`
	Target               struct {
		Arn string `json:"Arn"`
	} `json:"Target"`
}

// ListSchedulesInput is ListSchedules' request.
type ListSchedulesInput struct {
	GroupName, NamePrefix, State, NextToken string
	MaxResults                              int
}

// ListSchedules pages through schedules.
func (s *Service) ListSchedules(ctx context.Context, in *ListSchedulesInput) ([]ScheduleSummary, string, error) {
	if in.MaxResults < 0 || in.MaxResults > 100 {
		return nil, "", errConstraint(in.MaxResults, "maxResults", "Member must have value between 1 and 100")
	}
	if in.State != "" && in.State != "ENABLED" && in.State != "DISABLED" {
		return nil, "", errConstraint(in.State, "state", "Member must satisfy enum value set: [ENABLED, DISABLED]")
	}
	res, err := s.o.Store.ScheduleList(ctx, &store.ScheduleListParams{Kind: store.ScheduleKindSchedule, Group: in.GroupName,
		Prefix: in.NamePrefix, State: in.State, Limit: in.MaxResults, Cursor: in.NextToken})
	if errors.Is(err, store.ErrInvalidCursor) {
		return nil, "", errValidation("Invalid NextToken.")
	}
	if err != nil {
		return nil, "", errInternal(err)
	}
	out := make([]ScheduleSummary, 0, len(res.Schedules))
	for _, row := range res.Schedules {
		var d doc
		_ = json.Unmarshal(row.Doc, &d)
		e := ScheduleSummary{Arn: s.arn(row.Group, row.Name), Name: row.Name, GroupName: row.Group, State: row.State,
			CreationDate: toEpoch(row.CreatedAt), LastModificationDate: toEpoch(row.UpdatedAt)}
		e.Target.Arn = d.Target.Arn
		out = append(out, e)
	}
	return out, res.NextCursor, nil
}

// GroupOutput is GetScheduleGroup's answer and an entry of ListScheduleGroups.
type GroupOutput struct {
	Arn                  string `json:"Arn"`
	Name                 string `json:"Name"`
	State                string `json:"State"`
	CreationDate         *epoch `json:"CreationDate"`
	LastModificationDate *epoch `json:"LastModificationDate"`
}

// CreateScheduleGroup creates a group and returns its ARN.
func (s *Service) CreateScheduleGroup(ctx context.Context, name string, tags []Tag) (string, error) {
	if e := checkName(name, "name"); e != nil {
		return "", e
	}
	if e := checkTags(tags); e != nil {
		return "", e
	}
	if tags == nil {
		tags = []Tag{}
	}
	b, _ := json.Marshal(groupDoc{Tags: tags})
	_, err := s.o.Store.ScheduleCreate(ctx, &store.ScheduleCreateParams{Kind: store.ScheduleKindGroup, Name: name, State: "ACTIVE", Doc: b, Now: s.o.Clock.Now()})
	if errors.Is(err, store.ErrScheduleAlreadyExists) {
		return "", errConflict("Schedule group %s already exists.", name)
	}
	if err != nil {
		return "", errInternal(err)
	}
	return s.groupArn(name), nil
}

// GetScheduleGroup returns a group.
func (s *Service) GetScheduleGroup(ctx context.Context, name string) (*GroupOutput, error) {
	if e := checkName(name, "name"); e != nil {
		return nil, e
	}
	row, err := s.o.Store.ScheduleGet(ctx, &store.ScheduleGetParams{Kind: store.ScheduleKindGroup, Name: name})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound("Schedule group %s does not exist.", name)
	}
	if err != nil {
		return nil, errInternal(err)
	}
	return s.groupOutput(row), nil
}

func (s *Service) groupOutput(row *store.Schedule) *GroupOutput {
	return &GroupOutput{Arn: s.groupArn(row.Name), Name: row.Name, State: row.State, CreationDate: toEpoch(row.CreatedAt),
		LastModificationDate: toEpoch(row.UpdatedAt)}
}

// DeleteScheduleGroup deletes a group and its schedules; the default group cannot be deleted.
func (s *Service) DeleteScheduleGroup(ctx context.Context, name string) error {
	if e := checkName(name, "name"); e != nil {
		return e
	}
	if name == DefaultGroup {
		return errValidation("Cannot delete the default schedule group.")
	}
	err := s.o.Store.ScheduleDelete(ctx, &store.ScheduleDeleteParams{Kind: store.ScheduleKindGroup, Name: name})
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("Schedule group %s does not exist.", name)
	}
	if err != nil {
		return errInternal(err)
	}
	return nil
}

// ListScheduleGroups pages through groups.
func (s *Service) ListScheduleGroups(ctx context.Context, prefix, token string, maxResults int) ([]*GroupOutput, string, error) {
	if maxResults < 0 || maxResults > 100 {
		return nil, "", errConstraint(maxResults, "maxResults", "Member must have value between 1 and 100")
	}
	res, err := s.o.Store.ScheduleList(ctx, &store.ScheduleListParams{Kind: store.ScheduleKindGroup, Prefix: prefix, Limit: maxResults, Cursor: token})
	if errors.Is(err, store.ErrInvalidCursor) {
		return nil, "", errValidation("Invalid NextToken.")
	}
	if err != nil {
		return nil, "", errInternal(err)
	}
	out := make([]*GroupOutput, 0, len(res.Schedules))
	for _, row := range res.Schedules {
		out = append(out, s.groupOutput(row))
	}
	return out, res.NextCursor, nil
}

func checkTags(tags []Tag) *Error {
	if len(tags) > 200 {
		return errConstraint(len(tags), "tags", "Member must have length less than or equal to 200")
	}
	for _, t := range tags {
		if len(t.Key) < 1 || len(t.Key) > 128 {
			return errConstraint(t.Key, "tags.member.key", "Member must have length between 1 and 128")
		}
		if len(t.Value) > 256 {
			return errConstraint(t.Value, "tags.member.value", "Member must have length between 1 and 256")
		}
	}
	return nil
}

// groupOfArn returns the schedule group an ARN names (only groups are taggable).
func (s *Service) groupOfArn(arn string) (string, *Error) {
	prefix := fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule-group/", s.o.Region, s.o.Account)
	name, ok := strings.CutPrefix(arn, prefix)
	if !ok || checkName(name, "name") != nil {
		return "", errValidation("Invalid ARN %s.", arn)
	}
	return name, nil
}

// tagsUpdate applies f to a group's tags, compare-and-swap.
func (s *Service) tagsUpdate(ctx context.Context, arn string, f func([]Tag) []Tag) ([]Tag, error) {
	name, e := s.groupOfArn(arn)
	if e != nil {
		return nil, e
	}
	for {
		row, err := s.o.Store.ScheduleGet(ctx, &store.ScheduleGetParams{Kind: store.ScheduleKindGroup, Name: name})
		if errors.Is(err, store.ErrNotFound) {
			return nil, errNotFound("Schedule group %s does not exist.", name)
		}
		if err != nil {
			return nil, errInternal(err)
		}
		var g groupDoc
		_ = json.Unmarshal(row.Doc, &g)
		if f == nil {
			return g.Tags, nil
		}
		g.Tags = f(g.Tags)
		if e := checkTags(g.Tags); e != nil {
			return nil, e
		}
		b, _ := json.Marshal(g)
		_, err = s.o.Store.ScheduleUpdate(ctx, &store.ScheduleUpdateParams{Kind: store.ScheduleKindGroup, Name: name, IfVersion: row.Version,
			State: row.State, Doc: b, Now: s.o.Clock.Now()})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, errInternal(err)
		}
		return g.Tags, nil
	}
}

// TagResource adds or replaces tags of a group.
func (s *Service) TagResource(ctx context.Context, arn string, tags []Tag) error {
	if e := checkTags(tags); e != nil {
		return e
	}
	_, err := s.tagsUpdate(ctx, arn, func(old []Tag) []Tag {
		for _, t := range tags {
			if i := slices.IndexFunc(old, func(o Tag) bool { return o.Key == t.Key }); i >= 0 {
				old[i] = t
			} else {
				old = append(old, t)
			}
		}
		return old
	})
	return err
}

// UntagResource removes tags of a group by key.
func (s *Service) UntagResource(ctx context.Context, arn string, keys []string) error {
	_, err := s.tagsUpdate(ctx, arn, func(old []Tag) []Tag {
		return slices.DeleteFunc(old, func(t Tag) bool { return slices.Contains(keys, t.Key) })
	})
	return err
}

// ListTagsForResource returns a group's tags.
func (s *Service) ListTagsForResource(ctx context.Context, arn string) ([]Tag, error) {
	tags, err := s.tagsUpdate(ctx, arn, nil)
	if tags == nil && err == nil {
		tags = []Tag{}
	}
	return tags, err
}

// SetDates sets StartDate and EndDate (nil: none).
func (in *ScheduleInput) SetDates(start, end *time.Time) {
	in.StartDate, in.EndDate = nil, nil
	if start != nil {
		in.StartDate = toEpoch(*start)
	}
	if end != nil {
		in.EndDate = toEpoch(*end)
	}
}

// PutResult says what PutSchedule did.
type PutResult int

// PutSchedule's results.
const (
	PutUnchanged PutResult = iota
	PutCreated
	PutUpdated
)

// PutSchedule makes a schedule what in says: created when absent, updated when it differs,
// left alone (its next firing too) when it is the same. A project's deploy uses it, so that
// deploying again changes nothing.
func (s *Service) PutSchedule(ctx context.Context, in *ScheduleInput) (PutResult, error) {
	if e := in.validate(); e != nil {
		return 0, e
	}
	cur, err := s.GetSchedule(ctx, in.GroupName, in.Name)
	var e *Error
	if in.atPassed(s.o.Clock.Now()) && (err == nil || errors.As(err, &e)) {
		// A one-time schedule whose time has passed is over: it fired, or never will. Deploying
		// the project again leaves it (or its absence, after DELETE) as it is.
		return PutUnchanged, nil
	}
	if errors.As(err, &e) && e.Code == "ResourceNotFoundException" {
		if _, err := s.CreateSchedule(ctx, in); err != nil {
			return 0, err
		}
		return PutCreated, nil
	}
	if err != nil {
		return 0, err
	}
	want, _ := json.Marshal(&in.doc)
	have, _ := json.Marshal(&cur.doc)
	if string(want) == string(have) {
		return PutUnchanged, nil
	}
	if _, err := s.UpdateSchedule(ctx, in); err != nil {
		return 0, err
	}
	return PutUpdated, nil
}
