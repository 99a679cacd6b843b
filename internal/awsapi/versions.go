package awsapi

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	"github.com/stepline/stepline/internal/service"
)

// maxDescription is the API model's limit on version and alias descriptions.
const maxDescription = 256

// checkPublish refuses a version description without publish, as AWS does.
func checkPublish(publish *bool, description *string) error {
	if description != nil && !deref(publish) {
		return &apiError{Code: codeValidation, Message: "Version description can only be set when publish is true"}
	}
	return nil
}

// publish publishes the machine's latest revision when CreateStateMachine or
// UpdateStateMachine asked for it, and returns the version's ARN ("" when not asked).
func (a *API) publish(ctx context.Context, machineArn string, publish *bool, description *string) (string, error) {
	if !deref(publish) {
		return "", nil
	}
	v, err := a.o.Service.PublishStateMachineVersion(ctx, machineArn, nil, deref(description))
	if err != nil {
		return "", err
	}
	return v.Arn, nil
}

type publishVersionIn struct {
	StateMachineArn *string `json:"stateMachineArn"`
	RevisionID      *string `json:"revisionId"`
	Description     *string `json:"description"`
}

type publishVersionOut struct {
	CreationDate           epoch  `json:"creationDate"`
	StateMachineVersionArn string `json:"stateMachineVersionArn"`
}

func (a *API) publishStateMachineVersion(ctx context.Context, body []byte) (any, error) {
	var in publishVersionIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("stateMachineArn", in.StateMachineArn, 1, maxArn, false)
	c.str("revisionId", in.RevisionID, 0, 256, false)
	c.str("description", in.Description, 0, maxDescription, true)
	if err := c.err(); err != nil {
		return nil, err
	}
	v, err := a.o.Service.PublishStateMachineVersion(ctx, *in.StateMachineArn, in.RevisionID, deref(in.Description))
	if err != nil {
		return nil, err
	}
	return publishVersionOut{CreationDate: epoch(v.CreationDate), StateMachineVersionArn: v.Arn}, nil
}

type machinePageIn struct {
	StateMachineArn *string `json:"stateMachineArn"`
	pageIn
}

func decodeMachinePage(body []byte) (string, service.Page, error) {
	var in machinePageIn
	if err := decode(body, &in); err != nil {
		return "", service.Page{}, err
	}
	var c checker
	c.reqStr("stateMachineArn", in.StateMachineArn, 1, maxArn, false)
	page := in.check(&c, maxPageToken)
	if err := c.err(); err != nil {
		return "", service.Page{}, err
	}
	return *in.StateMachineArn, page, nil
}

type versionItem struct {
	StateMachineVersionArn string `json:"stateMachineVersionArn"`
	CreationDate           epoch  `json:"creationDate"`
}

type listVersionsOut struct {
	StateMachineVersions []versionItem `json:"stateMachineVersions"`
	NextToken            string        `json:"nextToken,omitempty"`
}

func (a *API) listStateMachineVersions(ctx context.Context, body []byte) (any, error) {
	arn, page, err := decodeMachinePage(body)
	if err != nil {
		return nil, err
	}
	vs, next, err := a.o.Service.ListStateMachineVersions(ctx, arn, page)
	if err != nil {
		return nil, err
	}
	out := listVersionsOut{StateMachineVersions: make([]versionItem, len(vs)), NextToken: next}
	for i, v := range vs {
		out.StateMachineVersions[i] = versionItem{StateMachineVersionArn: v.Arn, CreationDate: epoch(v.CreationDate)}
	}
	return out, nil
}

type qualifiedIn struct {
	StateMachineVersionArn *string `json:"stateMachineVersionArn"`
	StateMachineAliasArn   *string `json:"stateMachineAliasArn"`
}

// decodeQualified decodes a request whose only member is the version or alias ARN named field.
func decodeQualified(body []byte, field string) (string, error) {
	var in qualifiedIn
	if err := decode(body, &in); err != nil {
		return "", err
	}
	v := in.StateMachineAliasArn
	if field == "stateMachineVersionArn" {
		v = in.StateMachineVersionArn
	}
	var c checker
	c.reqStr(field, v, 1, maxArn, false)
	if err := c.err(); err != nil {
		return "", err
	}
	return *v, nil
}

func (a *API) deleteStateMachineVersion(ctx context.Context, body []byte) (any, error) {
	arn, err := decodeQualified(body, "stateMachineVersionArn")
	if err != nil {
		return nil, err
	}
	if err := a.o.Service.DeleteStateMachineVersion(ctx, arn); err != nil {
		return nil, err
	}
	return empty{}, nil
}

type routeIn struct {
	StateMachineVersionArn *string `json:"stateMachineVersionArn"`
	Weight                 *int    `json:"weight"`
}

func checkRouting(c *checker, routing []routeIn) []service.Route {
	if routing == nil {
		return nil
	}
	if len(routing) < 1 {
		c.fail(shownRouting(routing), "routingConfiguration", "Member must have length greater than or equal to 1")
	}
	if len(routing) > 2 {
		c.fail(shownRouting(routing), "routingConfiguration", "Member must have length less than or equal to 2")
	}
	out := make([]service.Route, len(routing))
	for i, r := range routing {
		field := "routingConfiguration." + strconv.Itoa(i+1) + ".member."
		c.reqStr(field+"stateMachineVersionArn", r.StateMachineVersionArn, 1, 2048, false)
		if c.required(field+"weight", r.Weight != nil) {
			c.intRange(field+"weight", r.Weight, 0, 100)
		}
		out[i] = service.Route{VersionArn: deref(r.StateMachineVersionArn), Weight: deref(r.Weight)}
	}
	return out
}

// shownRouting renders a routing configuration as AWS's (Java) service quotes it in a validation
// message: "'[RoutingConfigurationListItem(stateMachineVersionArn=…, weight=50), …]'".
func shownRouting(routing []routeIn) string {
	items := make([]string, len(routing))
	for i, r := range routing {
		arn, weight := "null", "null"
		if r.StateMachineVersionArn != nil {
			arn = *r.StateMachineVersionArn
		}
		if r.Weight != nil {
			weight = strconv.Itoa(*r.Weight)
		}
		items[i] = "RoutingConfigurationListItem(stateMachineVersionArn=" + arn + ", weight=" + weight + ")"
	}
	return shown("["+strings.Join(items, ", ")+"]", false)
}

// aliasNamePattern is the API model's pattern for an alias name, as AWS quotes it. Go's regexp
// has no lookahead, so aliasNameChars checks the characters and aliasName the "not only digits".
const aliasNamePattern = `^(?=.*[a-zA-Z_\-\.])[a-zA-Z0-9_\-\.]+$`

var aliasNameChars = regexp.MustCompile(`^[a-zA-Z0-9_\-.]+$`)

// aliasName checks an alias name against the model's pattern.
func aliasName(c *checker, name *string) {
	if name == nil {
		return
	}
	notDigit := func(r rune) bool { return r < '0' || r > '9' }
	if !aliasNameChars.MatchString(*name) || !strings.ContainsFunc(*name, notDigit) {
		c.fail(shown(*name, false), "name", "Member must satisfy regular expression pattern: "+aliasNamePattern)
	}
}

type createAliasIn struct {
	Name                 *string   `json:"name"`
	Description          *string   `json:"description"`
	RoutingConfiguration []routeIn `json:"routingConfiguration"`
}

type createAliasOut struct {
	StateMachineAliasArn string `json:"stateMachineAliasArn"`
	CreationDate         epoch  `json:"creationDate"`
}

func (a *API) createStateMachineAlias(ctx context.Context, body []byte) (any, error) {
	var in createAliasIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("name", in.Name, 1, maxName, false)
	aliasName(&c, in.Name)
	c.str("description", in.Description, 0, maxDescription, true)
	c.required("routingConfiguration", in.RoutingConfiguration != nil)
	routing := checkRouting(&c, in.RoutingConfiguration)
	if err := c.err(); err != nil {
		return nil, err
	}
	al, err := a.o.Service.CreateStateMachineAlias(ctx, *in.Name, deref(in.Description), routing)
	if err != nil {
		return nil, err
	}
	return createAliasOut{StateMachineAliasArn: al.Arn, CreationDate: epoch(al.CreationDate)}, nil
}

type describeAliasOut struct {
	StateMachineAliasArn string          `json:"stateMachineAliasArn"`
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	RoutingConfiguration []service.Route `json:"routingConfiguration"`
	CreationDate         epoch           `json:"creationDate"`
	UpdateDate           epoch           `json:"updateDate"`
}

func (a *API) describeStateMachineAlias(ctx context.Context, body []byte) (any, error) {
	arn, err := decodeQualified(body, "stateMachineAliasArn")
	if err != nil {
		return nil, err
	}
	al, err := a.o.Service.DescribeStateMachineAlias(ctx, arn)
	if err != nil {
		return nil, err
	}
	return describeAliasOut{StateMachineAliasArn: al.Arn, Name: al.Name, Description: al.Description,
		RoutingConfiguration: al.Routing, CreationDate: epoch(al.CreationDate), UpdateDate: epoch(al.UpdateDate)}, nil
}

type updateAliasIn struct {
	StateMachineAliasArn *string   `json:"stateMachineAliasArn"`
	Description          *string   `json:"description"`
	RoutingConfiguration []routeIn `json:"routingConfiguration"`
}

type updateAliasOut struct {
	UpdateDate epoch `json:"updateDate"`
}

func (a *API) updateStateMachineAlias(ctx context.Context, body []byte) (any, error) {
	var in updateAliasIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("stateMachineAliasArn", in.StateMachineAliasArn, 1, maxArn, false)
	c.str("description", in.Description, 0, maxDescription, true)
	routing := checkRouting(&c, in.RoutingConfiguration)
	if err := c.err(); err != nil {
		return nil, err
	}
	updated, err := a.o.Service.UpdateStateMachineAlias(ctx, *in.StateMachineAliasArn, in.Description, routing)
	if err != nil {
		return nil, err
	}
	return updateAliasOut{UpdateDate: epoch(updated)}, nil
}

func (a *API) deleteStateMachineAlias(ctx context.Context, body []byte) (any, error) {
	arn, err := decodeQualified(body, "stateMachineAliasArn")
	if err != nil {
		return nil, err
	}
	if err := a.o.Service.DeleteStateMachineAlias(ctx, arn); err != nil {
		return nil, err
	}
	return empty{}, nil
}

type aliasItem struct {
	StateMachineAliasArn string `json:"stateMachineAliasArn"`
	CreationDate         epoch  `json:"creationDate"`
}

type listAliasesOut struct {
	StateMachineAliases []aliasItem `json:"stateMachineAliases"`
	NextToken           string      `json:"nextToken,omitempty"`
}

func (a *API) listStateMachineAliases(ctx context.Context, body []byte) (any, error) {
	arn, page, err := decodeMachinePage(body)
	if err != nil {
		return nil, err
	}
	as, next, err := a.o.Service.ListStateMachineAliases(ctx, arn, page)
	if err != nil {
		return nil, err
	}
	out := listAliasesOut{StateMachineAliases: make([]aliasItem, len(as)), NextToken: next}
	for i, al := range as {
		out.StateMachineAliases[i] = aliasItem{StateMachineAliasArn: al.Arn, CreationDate: epoch(al.CreationDate)}
	}
	return out, nil
}
