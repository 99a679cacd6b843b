package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/store"
)

// LoggingConfiguration is a state machine's CloudWatch Logs settings. Stepline keeps and
// reports them; it does not ship logs. The JSON tags are AWS's, and the store keeps this JSON.
type LoggingConfiguration struct {
	Level                string `json:"level"`
	IncludeExecutionData bool   `json:"includeExecutionData"`
	// Destinations is omitted only when the request had none: AWS reports an empty list
	// given as such.
	Destinations []LogDestination `json:"destinations,omitzero"`
}

// LogDestination is one CloudWatch Logs log group.
type LogDestination struct {
	CloudWatchLogsLogGroup *LogGroup `json:"cloudWatchLogsLogGroup,omitempty"`
}

// LogGroup names a log group.
type LogGroup struct {
	LogGroupArn string `json:"logGroupArn,omitempty"`
}

// TracingConfiguration is a state machine's X-Ray setting, kept and reported only.
type TracingConfiguration struct {
	Enabled bool `json:"enabled"`
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// StateMachine is a state machine as DescribeStateMachine reports it: the machine together
// with one of its revisions.
type StateMachine struct {
	Arn          string
	Name         string
	Type         store.StateMachineType
	CreationDate time.Time
	Definition   string
	RoleArn      string
	Description  string
	// RevisionID is empty for the revision the machine was created with, as AWS reports it.
	RevisionID string
	// UpdateDate is when the revision was made.
	UpdateDate time.Time
	Logging    LoggingConfiguration
	Tracing    TracingConfiguration
	// VariableReferences maps each state that reads workflow variables to their names; empty
	// when none does.
	VariableReferences map[string][]string
}

// CreateStateMachineInput is CreateStateMachine's request.
type CreateStateMachineInput struct {
	Name       string
	Definition string
	RoleArn    string
	// Type is STANDARD when empty.
	Type    store.StateMachineType
	Logging *LoggingConfiguration
	Tracing *TracingConfiguration
	Tags    []Tag
}

// CreateStateMachine validates and stores a state machine. Creating one again with the same
// name, definition, type, logging and tracing configuration returns the existing machine (a
// different role ARN or tags are ignored, as AWS ignores them); any other difference is
// StateMachineAlreadyExists.
func (s *Service) CreateStateMachine(ctx context.Context, in *CreateStateMachineInput) (*StateMachine, error) {
	if !validName(in.Name) {
		return nil, invalidName(in.Name)
	}
	typ := in.Type
	if typ == "" {
		typ = store.StateMachineStandard
	}
	if err := checkRoleArn(in.RoleArn); err != nil {
		return nil, err
	}
	if err := validateDefinition(in.Definition, typ); err != nil {
		return nil, err
	}
	logging, err := normaliseLogging(in.Logging)
	if err != nil {
		return nil, err
	}
	tracing := normaliseTracing(in.Tracing)
	if err := tooManyTags(s.StateMachineArn(in.Name), in.Tags); err != nil {
		return nil, err
	}
	tags, err := json.Marshal(nonNilTags(in.Tags))
	if err != nil {
		return nil, fmt.Errorf("service: encoding tags: %w", err)
	}
	now := s.now()
	arn := s.StateMachineArn(in.Name)
	sm, err := s.o.Store.StateMachineCreate(ctx, &store.StateMachineCreateParams{
		Arn: arn, Name: in.Name, Type: typ, CreatedAt: now, Tags: tags,
		Revision: store.Revision{
			RevisionID: s.o.NewID(), RevisionCreatedAt: now, Definition: in.Definition, RoleArn: in.RoleArn,
			LoggingConfiguration: logging, TracingConfiguration: tracing,
		},
	})
	if errors.Is(err, store.ErrStateMachineAlreadyExists) {
		existing, gerr := s.o.Store.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: arn})
		if gerr != nil {
			return nil, fmt.Errorf("service: reading state machine %s: %w", arn, gerr)
		}
		if existing.Definition == in.Definition && existing.Type == typ &&
			bytes.Equal(existing.LoggingConfiguration, logging) && bytes.Equal(existing.TracingConfiguration, tracing) {
			return describe(existing)
		}
		return nil, newError(CodeStateMachineAlreadyExists, err, "State Machine Already Exists: '%s'", arn)
	}
	if err != nil {
		return nil, fmt.Errorf("service: creating state machine %s: %w", arn, err)
	}
	return describe(sm)
}

// DescribeStateMachine returns the latest revision of a state machine, or a version's when arn
// names a version.
func (s *Service) DescribeStateMachine(ctx context.Context, arn string) (*StateMachine, error) {
	if _, _, err := parseVersionArn(arn); err == nil {
		return s.describeVersion(ctx, arn)
	}
	sm, err := s.stateMachine(ctx, arn)
	if err != nil {
		return nil, err
	}
	return describe(sm)
}

func (s *Service) stateMachine(ctx context.Context, arn string) (*store.StateMachine, error) {
	if _, err := parseARN(arn, resStateMachine); err != nil {
		return nil, err
	}
	sm, err := s.o.Store.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: arn})
	if errors.Is(err, store.ErrNotFound) {
		return nil, stateMachineDoesNotExist(arn, err)
	}
	if err != nil {
		return nil, fmt.Errorf("service: reading state machine %s: %w", arn, err)
	}
	return sm, nil
}

// UpdateStateMachineInput is UpdateStateMachine's request; nil fields keep their value.
type UpdateStateMachineInput struct {
	Arn        string
	Definition *string
	RoleArn    *string
	Logging    *LoggingConfiguration
	Tracing    *TracingConfiguration
}

// UpdateStateMachine makes a new revision the latest. Executions already running keep the
// revision they started with. An update that changes nothing makes no revision.
func (s *Service) UpdateStateMachine(ctx context.Context, in *UpdateStateMachineInput) (*StateMachine, error) {
	if _, err := parseARN(in.Arn, resStateMachine); err != nil {
		return nil, err
	}
	if in.Definition == nil && in.RoleArn == nil && in.Logging == nil && in.Tracing == nil {
		return nil, newError(CodeMissingRequiredParameter, nil,
			"Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified")
	}
	cur, err := s.stateMachine(ctx, in.Arn)
	if err != nil {
		return nil, err
	}
	rev := cur.Revision
	if in.Definition != nil {
		if err := validateDefinition(*in.Definition, cur.Type); err != nil {
			return nil, err
		}
		rev.Definition = *in.Definition
	}
	if in.RoleArn != nil {
		if err := checkRoleArn(*in.RoleArn); err != nil {
			return nil, err
		}
		rev.RoleArn = *in.RoleArn
	}
	if in.Logging != nil {
		if rev.LoggingConfiguration, err = normaliseLogging(in.Logging); err != nil {
			return nil, err
		}
	}
	if in.Tracing != nil {
		rev.TracingConfiguration = normaliseTracing(in.Tracing)
	}
	if rev.Definition == cur.Definition && rev.RoleArn == cur.RoleArn &&
		bytes.Equal(rev.LoggingConfiguration, cur.LoggingConfiguration) && bytes.Equal(rev.TracingConfiguration, cur.TracingConfiguration) {
		return describe(cur)
	}
	rev.RevisionID = s.o.NewID()
	rev.RevisionCreatedAt = s.now()
	if !rev.RevisionCreatedAt.After(cur.CreatedAt) {
		// describe tells the first revision by its date; keep later ones distinct even when
		// the clock has not moved on.
		rev.RevisionCreatedAt = cur.CreatedAt.Add(time.Millisecond)
	}
	sm, err := s.o.Store.StateMachineUpdate(ctx, &store.StateMachineUpdateParams{Arn: in.Arn, Revision: rev})
	s.revisions.forget(in.Arn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, stateMachineDoesNotExist(in.Arn, err)
	}
	if err != nil {
		return nil, fmt.Errorf("service: updating state machine %s: %w", in.Arn, err)
	}
	return describe(sm)
}

// DeleteStateMachine deletes a state machine. Its running executions go on with the revision
// they started with. Deleting a machine that does not exist succeeds, as on AWS.
func (s *Service) DeleteStateMachine(ctx context.Context, arn string) error {
	if _, err := parseARN(arn, resStateMachine); err != nil {
		return err
	}
	err := s.o.Store.StateMachineDelete(ctx, &store.StateMachineDeleteParams{Arn: arn})
	s.revisions.forget(arn)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("service: deleting state machine %s: %w", arn, err)
	}
	return nil
}

// StateMachineListItem is one entry of ListStateMachines.
type StateMachineListItem struct {
	Arn          string
	Name         string
	Type         store.StateMachineType
	CreationDate time.Time
}

// ListStateMachines lists state machines by ARN; the returned token is empty on the last page.
func (s *Service) ListStateMachines(ctx context.Context, p Page) ([]StateMachineListItem, string, error) {
	if err := checkPage(p); err != nil {
		return nil, "", err
	}
	res, err := s.o.Store.StateMachineList(ctx, &store.StateMachineListParams{Limit: p.Limit, Cursor: p.Token})
	if err != nil {
		return nil, "", pageError(fmt.Errorf("service: listing state machines: %w", err))
	}
	items := make([]StateMachineListItem, len(res.StateMachines))
	for i, sm := range res.StateMachines {
		items[i] = StateMachineListItem{Arn: sm.Arn, Name: sm.Name, Type: sm.Type, CreationDate: sm.CreatedAt}
	}
	return items, res.NextCursor, nil
}

// Diagnostic is one finding of ValidateStateMachineDefinition.
type Diagnostic struct {
	Severity string
	Code     string
	Message  string
	Location string
}

// ValidateStateMachineDefinition checks a definition as CreateStateMachine would and returns
// every diagnostic; none means the definition is valid.
func (s *Service) ValidateStateMachineDefinition(definition string, typ store.StateMachineType) ([]Diagnostic, error) {
	_, err := asl.Parse([]byte(definition), asl.ParseOptions{Type: aslType(typ)})
	var de *asl.DefinitionError
	if errors.As(err, &de) {
		out := make([]Diagnostic, len(de.Diagnostics))
		for i, d := range de.Diagnostics {
			out[i] = Diagnostic{Severity: "ERROR", Code: d.Code, Message: d.Message, Location: d.Location}
		}
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("service: validating definition: %w", err)
	}
	return nil, nil
}

func validateDefinition(definition string, typ store.StateMachineType) error {
	_, err := asl.Parse([]byte(definition), asl.ParseOptions{Type: aslType(typ)})
	var de *asl.DefinitionError
	if errors.As(err, &de) {
		return newError(CodeInvalidDefinition, err, "%s", de.Error())
	}
	if err != nil {
		return fmt.Errorf("service: parsing definition: %w", err)
	}
	return nil
}

func aslType(t store.StateMachineType) asl.MachineType {
	if t == store.StateMachineExpress {
		return asl.Express
	}
	return asl.Standard
}

// checkRoleArn accepts any ARN-shaped role: Stepline assumes no roles, but AWS refuses
// strings that are not ARNs and scripts rely on that.
func checkRoleArn(role string) error {
	if !strings.HasPrefix(role, "arn:") {
		return newError(CodeInvalidArn, nil, "Invalid Arn: 'Invalid ARN prefix: %s'", role)
	}
	if strings.Count(role, ":") < 5 {
		return newError(CodeInvalidArn, nil, "Invalid Arn: 'Invalid ARN format: %s'", role)
	}
	return nil
}

// normaliseLogging returns the stored form of a logging configuration, with AWS's default
// (level OFF) filled in.
func normaliseLogging(l *LoggingConfiguration) ([]byte, error) {
	c := LoggingConfiguration{Level: "OFF"}
	if l != nil {
		c = *l
		if c.Level == "" {
			c.Level = "OFF"
		}
	}
	if c.Level != "OFF" && len(c.Destinations) != 1 {
		return nil, newError(CodeInvalidLoggingConfiguration, nil,
			"Invalid Logging Configuration: Must specify exactly one Log Destination.")
	}
	for _, d := range c.Destinations {
		if d.CloudWatchLogsLogGroup == nil || !strings.HasPrefix(d.CloudWatchLogsLogGroup.LogGroupArn, "arn:") {
			return nil, newError(CodeInvalidLoggingConfiguration, nil,
				"Invalid Logging Configuration: Log Destination must be a CloudWatch Logs log group ARN.")
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("service: encoding logging configuration: %w", err)
	}
	return b, nil
}

func normaliseTracing(t *TracingConfiguration) []byte {
	if t != nil && t.Enabled {
		return []byte(`{"enabled":true}`)
	}
	return []byte(`{"enabled":false}`)
}

func nonNilTags(tags []Tag) []Tag {
	if tags == nil {
		return []Tag{}
	}
	return tags
}

// describe turns a stored revision into DescribeStateMachine's view.
func describe(sm *store.StateMachine) (*StateMachine, error) {
	out := &StateMachine{
		Arn: sm.Arn, Name: sm.Name, Type: sm.Type, CreationDate: sm.CreatedAt, Definition: sm.Definition,
		RoleArn: sm.RoleArn, Description: sm.Description, UpdateDate: sm.RevisionCreatedAt,
	}
	// AWS reports no revision id for the revision a machine was created with.
	if !sm.RevisionCreatedAt.Equal(sm.CreatedAt) {
		out.RevisionID = sm.RevisionID
	}
	// A definition stored before a validation rule was tightened may no longer parse; it is
	// still described, without references.
	if p, err := asl.Parse([]byte(sm.Definition), asl.ParseOptions{Type: aslType(sm.Type)}); err == nil {
		out.VariableReferences = p.VariableReferences()
	}
	if len(sm.LoggingConfiguration) > 0 {
		if err := json.Unmarshal(sm.LoggingConfiguration, &out.Logging); err != nil {
			return nil, fmt.Errorf("service: stored logging configuration of %s: %w", sm.Arn, err)
		}
	} else {
		out.Logging.Level = "OFF"
	}
	if len(sm.TracingConfiguration) > 0 {
		if err := json.Unmarshal(sm.TracingConfiguration, &out.Tracing); err != nil {
			return nil, fmt.Errorf("service: stored tracing configuration of %s: %w", sm.Arn, err)
		}
	}
	return out, nil
}

// now is the service's notion of the current time: millisecond precision, as AWS's timestamps.
func (s *Service) now() time.Time {
	return s.o.Clock.Now().UTC().Truncate(time.Millisecond)
}
