package awsapi

import (
	"context"
	"strconv"

	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
)

// Member constraints from AWS's API model.
const (
	maxName          = 80
	maxArn           = 256
	maxDefinition    = 1048576
	maxData          = 262144
	maxError         = 256
	maxCause         = 32768
	maxPageToken     = 1024
	maxListExecToken = 3096
	maxTaskToken     = 2048
	maxPageSize      = 1000
	maxTagKey        = 128
	maxTagValue      = 256
)

var machineTypes = []string{string(store.StateMachineStandard), string(store.StateMachineExpress)}

type loggingIn struct {
	Level                *string                  `json:"level"`
	IncludeExecutionData *bool                    `json:"includeExecutionData"`
	Destinations         []service.LogDestination `json:"destinations"`
}

func (l *loggingIn) check(c *checker) {
	if l != nil {
		c.enum("loggingConfiguration.level", l.Level, "ALL", "ERROR", "FATAL", "OFF")
	}
}

func (l *loggingIn) config() *service.LoggingConfiguration {
	if l == nil {
		return nil
	}
	return &service.LoggingConfiguration{Level: deref(l.Level), IncludeExecutionData: deref(l.IncludeExecutionData), Destinations: l.Destinations}
}

type tagIn struct {
	Key   *string `json:"key"`
	Value *string `json:"value"`
}

func checkTags(c *checker, tags []tagIn) []service.Tag {
	out := make([]service.Tag, len(tags))
	for i, t := range tags {
		field := "tags." + strconv.Itoa(i+1) + ".member."
		c.str(field+"key", t.Key, 1, maxTagKey, false)
		c.str(field+"value", t.Value, 0, maxTagValue, false)
		out[i] = service.Tag{Key: deref(t.Key), Value: deref(t.Value)}
	}
	return out
}

type createStateMachineIn struct {
	Name                 *string                       `json:"name"`
	Definition           *string                       `json:"definition"`
	RoleArn              *string                       `json:"roleArn"`
	Type                 *string                       `json:"type"`
	LoggingConfiguration *loggingIn                    `json:"loggingConfiguration"`
	Tags                 []tagIn                       `json:"tags"`
	TracingConfiguration *service.TracingConfiguration `json:"tracingConfiguration"`
	Publish              *bool                         `json:"publish"`
	VersionDescription   *string                       `json:"versionDescription"`
}

type createStateMachineOut struct {
	StateMachineArn        string `json:"stateMachineArn"`
	CreationDate           epoch  `json:"creationDate"`
	StateMachineVersionArn string `json:"stateMachineVersionArn,omitempty"`
}

func (a *API) createStateMachine(ctx context.Context, body []byte) (any, error) {
	var in createStateMachineIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("name", in.Name, 1, maxName, false)
	c.reqStr("definition", in.Definition, 1, maxDefinition, true)
	c.reqStr("roleArn", in.RoleArn, 1, maxArn, false)
	c.enum("type", in.Type, machineTypes...)
	in.LoggingConfiguration.check(&c)
	tags := checkTags(&c, in.Tags)
	c.str("versionDescription", in.VersionDescription, 0, 256, true)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := checkPublish(in.Publish, in.VersionDescription); err != nil {
		return nil, err
	}
	sm, err := a.o.Service.CreateStateMachine(ctx, &service.CreateStateMachineInput{
		Name: *in.Name, Definition: *in.Definition, RoleArn: *in.RoleArn, Type: store.StateMachineType(deref(in.Type)),
		Logging: in.LoggingConfiguration.config(), Tracing: in.TracingConfiguration, Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	version, err := a.publish(ctx, sm.Arn, in.Publish, in.VersionDescription)
	if err != nil {
		return nil, err
	}
	return createStateMachineOut{StateMachineArn: sm.Arn, CreationDate: epoch(sm.CreationDate), StateMachineVersionArn: version}, nil
}

type arnIn struct {
	StateMachineArn *string `json:"stateMachineArn"`
	ExecutionArn    *string `json:"executionArn"`
	ActivityArn     *string `json:"activityArn"`
	ResourceArn     *string `json:"resourceArn"`
	IncludedData    *string `json:"includedData"`
}

// decodeArn decodes a request whose only required member is the ARN named field.
func decodeArn(body []byte, field string) (string, *arnIn, error) {
	var in arnIn
	if err := decode(body, &in); err != nil {
		return "", nil, err
	}
	var v *string
	switch field {
	case "stateMachineArn":
		v = in.StateMachineArn
	case "executionArn":
		v = in.ExecutionArn
	case "activityArn":
		v = in.ActivityArn
	case "resourceArn":
		v = in.ResourceArn
	}
	var c checker
	c.reqStr(field, v, 1, maxArn, false)
	c.enum("includedData", in.IncludedData, "ALL_DATA", "METADATA_ONLY")
	if err := c.err(); err != nil {
		return "", nil, err
	}
	return *v, &in, nil
}

type describeStateMachineOut struct {
	StateMachineArn      string                       `json:"stateMachineArn"`
	Name                 string                       `json:"name"`
	Status               string                       `json:"status"`
	Definition           string                       `json:"definition"`
	RoleArn              string                       `json:"roleArn"`
	Type                 string                       `json:"type"`
	CreationDate         epoch                        `json:"creationDate"`
	LoggingConfiguration service.LoggingConfiguration `json:"loggingConfiguration"`
	TracingConfiguration service.TracingConfiguration `json:"tracingConfiguration"`
	RevisionID           string                       `json:"revisionId,omitempty"`
	Description          string                       `json:"description,omitempty"`
	VariableReferences   map[string][]string          `json:"variableReferences,omitempty"`
}

func (a *API) describeStateMachine(ctx context.Context, body []byte) (any, error) {
	arn, in, err := decodeArn(body, "stateMachineArn")
	if err != nil {
		return nil, err
	}
	sm, err := a.o.Service.DescribeStateMachine(ctx, arn)
	if err != nil {
		return nil, err
	}
	out := describeStateMachineOut{
		StateMachineArn: sm.Arn, Name: sm.Name, Status: "ACTIVE", Definition: sm.Definition, RoleArn: sm.RoleArn,
		Type: string(sm.Type), CreationDate: epoch(sm.CreationDate), LoggingConfiguration: sm.Logging,
		TracingConfiguration: sm.Tracing, RevisionID: sm.RevisionID, Description: sm.Description,
		VariableReferences: sm.VariableReferences,
	}
	if deref(in.IncludedData) == "METADATA_ONLY" {
		out.Definition = "{}"
	}
	return out, nil
}

type describeStateMachineForExecutionOut struct {
	StateMachineArn      string                       `json:"stateMachineArn"`
	Name                 string                       `json:"name"`
	Definition           string                       `json:"definition"`
	RoleArn              string                       `json:"roleArn"`
	UpdateDate           epoch                        `json:"updateDate"`
	LoggingConfiguration service.LoggingConfiguration `json:"loggingConfiguration"`
	TracingConfiguration service.TracingConfiguration `json:"tracingConfiguration"`
	RevisionID           string                       `json:"revisionId,omitempty"`
	MapRunArn            string                       `json:"mapRunArn,omitempty"`
	Label                string                       `json:"label,omitempty"`
	VariableReferences   map[string][]string          `json:"variableReferences,omitempty"`
}

func (a *API) describeStateMachineForExecution(ctx context.Context, body []byte) (any, error) {
	arn, in, err := decodeArn(body, "executionArn")
	if err != nil {
		return nil, err
	}
	sm, err := a.o.Service.DescribeStateMachineForExecution(ctx, arn)
	if err != nil {
		return nil, err
	}
	out := describeStateMachineForExecutionOut{
		StateMachineArn: sm.Arn, Name: sm.Name, Definition: sm.Definition, RoleArn: sm.RoleArn,
		UpdateDate: epoch(sm.UpdateDate), LoggingConfiguration: sm.Logging, TracingConfiguration: sm.Tracing,
		RevisionID: sm.RevisionID, MapRunArn: sm.MapRunArn, Label: sm.Label, VariableReferences: sm.VariableReferences,
	}
	if deref(in.IncludedData) == "METADATA_ONLY" {
		out.Definition = "{}"
	}
	return out, nil
}

type updateStateMachineIn struct {
	StateMachineArn      *string                       `json:"stateMachineArn"`
	Definition           *string                       `json:"definition"`
	RoleArn              *string                       `json:"roleArn"`
	LoggingConfiguration *loggingIn                    `json:"loggingConfiguration"`
	TracingConfiguration *service.TracingConfiguration `json:"tracingConfiguration"`
	Publish              *bool                         `json:"publish"`
	VersionDescription   *string                       `json:"versionDescription"`
}

type updateStateMachineOut struct {
	UpdateDate             epoch  `json:"updateDate"`
	RevisionID             string `json:"revisionId,omitempty"`
	StateMachineVersionArn string `json:"stateMachineVersionArn,omitempty"`
}

func (a *API) updateStateMachine(ctx context.Context, body []byte) (any, error) {
	var in updateStateMachineIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("stateMachineArn", in.StateMachineArn, 1, maxArn, false)
	c.str("definition", in.Definition, 1, maxDefinition, true)
	c.str("roleArn", in.RoleArn, 1, maxArn, false)
	in.LoggingConfiguration.check(&c)
	c.str("versionDescription", in.VersionDescription, 0, 256, true)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := checkPublish(in.Publish, in.VersionDescription); err != nil {
		return nil, err
	}
	sm, err := a.o.Service.UpdateStateMachine(ctx, &service.UpdateStateMachineInput{
		Arn: *in.StateMachineArn, Definition: in.Definition, RoleArn: in.RoleArn,
		Logging: in.LoggingConfiguration.config(), Tracing: in.TracingConfiguration,
	})
	if err != nil {
		return nil, err
	}
	version, err := a.publish(ctx, sm.Arn, in.Publish, in.VersionDescription)
	if err != nil {
		return nil, err
	}
	return updateStateMachineOut{UpdateDate: epoch(sm.UpdateDate), RevisionID: sm.RevisionID, StateMachineVersionArn: version}, nil
}

type empty struct{}

func (a *API) deleteStateMachine(ctx context.Context, body []byte) (any, error) {
	arn, _, err := decodeArn(body, "stateMachineArn")
	if err != nil {
		return nil, err
	}
	if err := a.o.Service.DeleteStateMachine(ctx, arn); err != nil {
		return nil, err
	}
	return empty{}, nil
}

type pageIn struct {
	MaxResults *int    `json:"maxResults"`
	NextToken  *string `json:"nextToken"`
}

// decodePage reads a request whose only members are maxResults and nextToken.
func decodePage(body []byte) (service.Page, error) {
	var in pageIn
	if err := decode(body, &in); err != nil {
		return service.Page{}, err
	}
	var c checker
	page := in.check(&c, maxPageToken)
	return page, c.err()
}

func (p *pageIn) check(c *checker, maxToken int) service.Page {
	c.intRange("maxResults", p.MaxResults, 0, maxPageSize)
	c.str("nextToken", p.NextToken, 1, maxToken, false)
	return service.Page{Limit: deref(p.MaxResults), Token: deref(p.NextToken)}
}

type stateMachineItem struct {
	StateMachineArn string `json:"stateMachineArn"`
	Name            string `json:"name"`
	Type            string `json:"type"`
	CreationDate    epoch  `json:"creationDate"`
}

type listStateMachinesOut struct {
	StateMachines []stateMachineItem `json:"stateMachines"`
	NextToken     string             `json:"nextToken,omitempty"`
}

func (a *API) listStateMachines(ctx context.Context, body []byte) (any, error) {
	page, err := decodePage(body)
	if err != nil {
		return nil, err
	}
	items, next, err := a.o.Service.ListStateMachines(ctx, page)
	if err != nil {
		return nil, err
	}
	out := listStateMachinesOut{StateMachines: make([]stateMachineItem, len(items)), NextToken: next}
	for i, sm := range items {
		out.StateMachines[i] = stateMachineItem{StateMachineArn: sm.Arn, Name: sm.Name, Type: string(sm.Type), CreationDate: epoch(sm.CreationDate)}
	}
	return out, nil
}

type validateIn struct {
	Definition *string `json:"definition"`
	Type       *string `json:"type"`
	Severity   *string `json:"severity"`
	MaxResults *int    `json:"maxResults"`
}

type diagnosticOut struct {
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	Location string `json:"location,omitempty"`
}

type validateOut struct {
	Result      string          `json:"result"`
	Diagnostics []diagnosticOut `json:"diagnostics"`
	Truncated   bool            `json:"truncated"`
}

// validateDefaultMax is ValidateStateMachineDefinition's default maxResults.
const validateDefaultMax = 100

func (a *API) validateStateMachineDefinition(_ context.Context, body []byte) (any, error) {
	var in validateIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("definition", in.Definition, 1, maxDefinition, true)
	c.enum("type", in.Type, machineTypes...)
	c.enum("severity", in.Severity, "ERROR", "WARNING")
	c.intRange("maxResults", in.MaxResults, 0, validateDefaultMax)
	if err := c.err(); err != nil {
		return nil, err
	}
	diags, err := a.o.Service.ValidateStateMachineDefinition(*in.Definition, store.StateMachineType(deref(in.Type)))
	if err != nil {
		return nil, err
	}
	limit := deref(in.MaxResults)
	if limit == 0 {
		limit = validateDefaultMax
	}
	out := validateOut{Result: "OK", Diagnostics: []diagnosticOut{}}
	for _, d := range diags {
		// Every diagnostic is an ERROR, which any severity threshold includes.
		out.Result = "FAIL"
		if len(out.Diagnostics) == limit {
			out.Truncated = true
			break
		}
		out.Diagnostics = append(out.Diagnostics, diagnosticOut{Severity: d.Severity, Code: d.Code, Message: d.Message, Location: d.Location})
	}
	return out, nil
}
