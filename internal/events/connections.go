package events

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// Authorization types of a connection.
const (
	AuthAPIKey = "API_KEY"
	AuthBasic  = "BASIC"
	AuthOAuth  = "OAUTH_CLIENT_CREDENTIALS"
)

// StateAuthorized is the state of every connection here: credentials are checked when used.
const StateAuthorized = "AUTHORIZED"

// Parameter is one header, query string or body parameter of a connection, in the API's shape.
type Parameter struct {
	Key           string `json:"Key"`
	Value         string `json:"Value,omitempty"`
	IsValueSecret bool   `json:"IsValueSecret,omitempty"`
}

// HTTPParameters are the parameters a connection adds to every request it authorizes
// (InvocationHttpParameters) or to its OAuth token request (OAuthHttpParameters).
type HTTPParameters struct {
	HeaderParameters      []Parameter `json:"HeaderParameters,omitempty"`
	QueryStringParameters []Parameter `json:"QueryStringParameters,omitempty"`
	BodyParameters        []Parameter `json:"BodyParameters,omitempty"`
}

// APIKeyParameters name the header that carries the key, and the key.
type APIKeyParameters struct {
	APIKeyName  string `json:"ApiKeyName,omitempty"`
	APIKeyValue string `json:"ApiKeyValue,omitempty"`
}

// BasicParameters are a user name and password for HTTP basic authentication.
type BasicParameters struct {
	Username string `json:"Username,omitempty"`
	Password string `json:"Password,omitempty"`
}

// ClientParameters are an OAuth client's credentials.
type ClientParameters struct {
	ClientID     string `json:"ClientID,omitempty"`
	ClientSecret string `json:"ClientSecret,omitempty"`
}

// OAuthParameters say where and how to fetch an OAuth client-credentials token.
type OAuthParameters struct {
	AuthorizationEndpoint string            `json:"AuthorizationEndpoint,omitempty"`
	HTTPMethod            string            `json:"HttpMethod,omitempty"`
	ClientParameters      *ClientParameters `json:"ClientParameters,omitempty"`
	OAuthHTTPParameters   *HTTPParameters   `json:"OAuthHttpParameters,omitempty"`
}

// AuthParameters are a connection's AuthParameters, in the API's shape.
type AuthParameters struct {
	APIKey     *APIKeyParameters `json:"ApiKeyAuthParameters,omitempty"`
	Basic      *BasicParameters  `json:"BasicAuthParameters,omitempty"`
	OAuth      *OAuthParameters  `json:"OAuthParameters,omitempty"`
	Invocation *HTTPParameters   `json:"InvocationHttpParameters,omitempty"`
}

// Normalize drops parameter sets that hold no parameter, so that a connection declared without
// InvocationHttpParameters and one given empty ones are kept, and compare, alike.
func (a *AuthParameters) Normalize() {
	empty := func(p *HTTPParameters) bool {
		return p != nil && len(p.HeaderParameters) == 0 && len(p.QueryStringParameters) == 0 && len(p.BodyParameters) == 0
	}
	if empty(a.Invocation) {
		a.Invocation = nil
	}
	if a.OAuth != nil && empty(a.OAuth.OAuthHTTPParameters) {
		a.OAuth.OAuthHTTPParameters = nil
	}
}

// Connection is a connection with its secrets, as the HTTP Task reads it.
type Connection struct {
	Name              string
	Arn               string
	Description       string
	AuthorizationType string
	State             string
	SecretArn         string
	Auth              AuthParameters
	// Version changes with every update, so that a cached OAuth token of an earlier version
	// is not used.
	Version    int64
	CreatedAt  time.Time
	ModifiedAt time.Time
}

// connectionDoc is what the store keeps of a connection (store.EventsEntity.Doc).
type connectionDoc struct {
	Arn               string         `json:"arn"`
	Description       string         `json:"description,omitempty"`
	AuthorizationType string         `json:"authorizationType"`
	State             string         `json:"state"`
	SecretArn         string         `json:"secretArn"`
	Auth              AuthParameters `json:"auth"`
}

var namePattern = regexp.MustCompile(`^[\.\-_A-Za-z0-9]+$`)

func checkName(name string) error {
	if len(name) < 1 || len(name) > 64 {
		return validation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must have length between 1 and 64", name)
	}
	if !namePattern.MatchString(name) {
		return validation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+", name)
	}
	return nil
}

func checkDescription(d string) error {
	if len(d) > 512 {
		return validation("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 512")
	}
	return nil
}

// check validates auth for its type: exactly the matching parameters, complete.
func check(typ string, auth *AuthParameters) error {
	switch typ {
	case AuthAPIKey, AuthBasic, AuthOAuth:
	default:
		return validation("1 validation error detected: Value '%s' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]", typ)
	}
	given := 0
	for _, p := range []bool{auth.APIKey != nil, auth.Basic != nil, auth.OAuth != nil} {
		if p {
			given++
		}
	}
	if given > 1 {
		return validation("Only one of ApiKeyAuthParameters, BasicAuthParameters and OAuthParameters may be specified.")
	}
	switch typ {
	case AuthAPIKey:
		if auth.APIKey == nil || auth.APIKey.APIKeyName == "" || auth.APIKey.APIKeyValue == "" {
			return validation("ApiKeyAuthParameters with ApiKeyName and ApiKeyValue must be specified for authorization type API_KEY.")
		}
	case AuthBasic:
		if auth.Basic == nil || auth.Basic.Username == "" || auth.Basic.Password == "" {
			return validation("BasicAuthParameters with Username and Password must be specified for authorization type BASIC.")
		}
	case AuthOAuth:
		o := auth.OAuth
		if o == nil || o.AuthorizationEndpoint == "" || o.HTTPMethod == "" || o.ClientParameters == nil ||
			o.ClientParameters.ClientID == "" || o.ClientParameters.ClientSecret == "" {
			return validation("OAuthParameters with AuthorizationEndpoint, HttpMethod and ClientParameters (ClientID, ClientSecret) must be specified for authorization type OAUTH_CLIENT_CREDENTIALS.")
		}
		switch o.HTTPMethod {
		case http.MethodGet, http.MethodPost, http.MethodPut:
		default:
			return validation("1 validation error detected: Value '%s' at 'authParameters.oAuthParameters.httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [GET, POST, PUT]", o.HTTPMethod)
		}
		if u, err := url.Parse(o.AuthorizationEndpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return validation("Invalid AuthorizationEndpoint: %s is not an http(s) URL.", o.AuthorizationEndpoint)
		}
		if err := checkParams(o.OAuthHTTPParameters); err != nil {
			return err
		}
	}
	return checkParams(auth.Invocation)
}

func checkParams(p *HTTPParameters) error {
	if p == nil {
		return nil
	}
	for _, list := range [][]Parameter{p.HeaderParameters, p.QueryStringParameters, p.BodyParameters} {
		if len(list) > 100 {
			return validation("At most 100 parameters of each kind may be specified.")
		}
		for _, q := range list {
			if q.Key == "" || len(q.Key) > 512 || len(q.Value) > 512 {
				return validation("A parameter needs a Key of 1 to 512 characters and a Value of at most 512 characters.")
			}
		}
	}
	return nil
}

type connectionRequest struct {
	Name              string          `json:"Name"`
	Description       *string         `json:"Description"`
	AuthorizationType string          `json:"AuthorizationType"`
	AuthParameters    *AuthParameters `json:"AuthParameters"`
}

// connectionState is the answer of Create, Update and Delete.
type connectionState struct {
	ConnectionArn      string `json:"ConnectionArn"`
	ConnectionState    string `json:"ConnectionState"`
	CreationTime       *epoch `json:"CreationTime"`
	LastModifiedTime   *epoch `json:"LastModifiedTime"`
	LastAuthorizedTime *epoch `json:"LastAuthorizedTime,omitempty"`
}

func (s *Service) createConnection(ctx context.Context, input []byte) (any, error) {
	var in connectionRequest
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	if err := checkName(in.Name); err != nil {
		return nil, err
	}
	if in.AuthorizationType == "" {
		return nil, validation("1 validation error detected: Value null at 'authorizationType' failed to satisfy constraint: Member must not be null")
	}
	if in.AuthParameters == nil {
		return nil, validation("1 validation error detected: Value null at 'authParameters' failed to satisfy constraint: Member must not be null")
	}
	d := connectionDoc{AuthorizationType: in.AuthorizationType, State: StateAuthorized, Auth: *in.AuthParameters}
	if in.Description != nil {
		d.Description = *in.Description
	}
	if err := checkDescription(d.Description); err != nil {
		return nil, err
	}
	if err := check(d.AuthorizationType, &d.Auth); err != nil {
		return nil, err
	}
	d.Auth.Normalize()
	id := newUUID()
	d.Arn = fmt.Sprintf("arn:aws:events:%s:%s:connection/%s/%s", s.o.Region, s.o.Account, in.Name, id)
	// Secrets Manager names EventBridge's secret events!connection/NAME/UUID and appends six
	// random characters to the ARN, as it does to every secret's.
	d.SecretArn = fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:events!connection/%s/%s-%s", s.o.Region, s.o.Account, in.Name, id, randomSuffix())
	doc, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	e, err := s.o.Store.EventsCreate(ctx, &store.EventsCreateParams{Kind: store.EventsConnection, Name: in.Name, Doc: doc, Now: s.o.Clock.Now()})
	if errors.Is(err, store.ErrEventsAlreadyExists) {
		return nil, errorf("ResourceAlreadyExistsException", http.StatusBadRequest, "Connection %s already exists.", in.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("events: creating connection %s: %w", in.Name, err)
	}
	return stateOf(e, &d), nil
}

func stateOf(e *store.EventsEntity, d *connectionDoc) *connectionState {
	return &connectionState{ConnectionArn: d.Arn, ConnectionState: d.State, CreationTime: at(e.CreatedAt),
		LastModifiedTime: at(e.UpdatedAt), LastAuthorizedTime: at(e.UpdatedAt)}
}

// get reads a connection by name; ResourceNotFoundException worded by what.
func (s *Service) get(ctx context.Context, name, what string) (*store.EventsEntity, *connectionDoc, error) {
	if err := checkName(name); err != nil {
		return nil, nil, err
	}
	e, err := s.o.Store.EventsGet(ctx, &store.EventsGetParams{Kind: store.EventsConnection, Name: name})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errorf("ResourceNotFoundException", http.StatusBadRequest, "%sConnection '%s' does not exist.", what, name)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("events: reading connection %s: %w", name, err)
	}
	var d connectionDoc
	if err := json.Unmarshal(e.Doc, &d); err != nil {
		return nil, nil, fmt.Errorf("events: connection %s: %w", name, err)
	}
	return e, &d, nil
}

func (s *Service) describeConnection(ctx context.Context, input []byte) (any, error) {
	var in struct{ Name string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	e, d, err := s.get(ctx, in.Name, "Failed to describe the connection(s). ")
	if err != nil {
		return nil, err
	}
	return &struct {
		ConnectionArn      string          `json:"ConnectionArn"`
		Name               string          `json:"Name"`
		Description        string          `json:"Description,omitempty"`
		ConnectionState    string          `json:"ConnectionState"`
		AuthorizationType  string          `json:"AuthorizationType"`
		SecretArn          string          `json:"SecretArn"`
		AuthParameters     *AuthParameters `json:"AuthParameters"`
		CreationTime       *epoch          `json:"CreationTime"`
		LastModifiedTime   *epoch          `json:"LastModifiedTime"`
		LastAuthorizedTime *epoch          `json:"LastAuthorizedTime"`
	}{d.Arn, e.Name, d.Description, d.State, d.AuthorizationType, d.SecretArn, redact(&d.Auth),
		at(e.CreatedAt), at(e.UpdatedAt), at(e.UpdatedAt)}, nil
}

// redact is auth as DescribeConnection shows it: no key, password, client secret or secret
// parameter value.
func redact(a *AuthParameters) *AuthParameters {
	out := &AuthParameters{Invocation: redactParams(a.Invocation)}
	if a.APIKey != nil {
		out.APIKey = &APIKeyParameters{APIKeyName: a.APIKey.APIKeyName}
	}
	if a.Basic != nil {
		out.Basic = &BasicParameters{Username: a.Basic.Username}
	}
	if o := a.OAuth; o != nil {
		out.OAuth = &OAuthParameters{AuthorizationEndpoint: o.AuthorizationEndpoint, HTTPMethod: o.HTTPMethod,
			OAuthHTTPParameters: redactParams(o.OAuthHTTPParameters)}
		if o.ClientParameters != nil {
			out.OAuth.ClientParameters = &ClientParameters{ClientID: o.ClientParameters.ClientID}
		}
	}
	return out
}

func redactParams(p *HTTPParameters) *HTTPParameters {
	if p == nil {
		return nil
	}
	r := func(list []Parameter) []Parameter {
		var out []Parameter
		for _, q := range list {
			if q.IsValueSecret {
				q.Value = ""
			}
			out = append(out, q)
		}
		return out
	}
	return &HTTPParameters{HeaderParameters: r(p.HeaderParameters), QueryStringParameters: r(p.QueryStringParameters),
		BodyParameters: r(p.BodyParameters)}
}

func (s *Service) listConnections(ctx context.Context, input []byte) (any, error) {
	var in struct {
		NamePrefix      string
		ConnectionState string
		Limit           int
		NextToken       string
	}
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	if err := checkLimit(in.Limit); err != nil {
		return nil, err
	}
	type summary struct {
		ConnectionArn      string `json:"ConnectionArn"`
		Name               string `json:"Name"`
		ConnectionState    string `json:"ConnectionState"`
		AuthorizationType  string `json:"AuthorizationType"`
		CreationTime       *epoch `json:"CreationTime"`
		LastModifiedTime   *epoch `json:"LastModifiedTime"`
		LastAuthorizedTime *epoch `json:"LastAuthorizedTime"`
	}
	out := struct {
		Connections []summary `json:"Connections"`
		NextToken   string    `json:"NextToken,omitempty"`
	}{Connections: []summary{}}
	if in.ConnectionState != "" && in.ConnectionState != StateAuthorized {
		return out, nil // every connection here is AUTHORIZED
	}
	res, err := s.o.Store.EventsList(ctx, &store.EventsListParams{Kind: store.EventsConnection, Prefix: in.NamePrefix,
		Limit: in.Limit, Cursor: in.NextToken})
	if errors.Is(err, store.ErrInvalidCursor) {
		return nil, validation("The NextToken is not valid.")
	}
	if err != nil {
		return nil, fmt.Errorf("events: listing connections: %w", err)
	}
	for _, e := range res.Entities {
		var d connectionDoc
		if err := json.Unmarshal(e.Doc, &d); err != nil {
			return nil, fmt.Errorf("events: connection %s: %w", e.Name, err)
		}
		out.Connections = append(out.Connections, summary{d.Arn, e.Name, d.State, d.AuthorizationType,
			at(e.CreatedAt), at(e.UpdatedAt), at(e.UpdatedAt)})
	}
	out.NextToken = res.NextCursor
	return out, nil
}

// updateConnection changes what the request names and keeps the rest: parameters left out
// keep their values (secrets included), InvocationHttpParameters and OAuthHttpParameters
// given replace the old ones whole, and a new authorization type drops the old type's
// parameters.
func (s *Service) updateConnection(ctx context.Context, input []byte) (any, error) {
	var in connectionRequest
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	for {
		e, d, err := s.get(ctx, in.Name, "")
		if err != nil {
			return nil, err
		}
		if in.Description != nil {
			d.Description = *in.Description
		}
		if err := checkDescription(d.Description); err != nil {
			return nil, err
		}
		if in.AuthorizationType != "" && in.AuthorizationType != d.AuthorizationType {
			d.AuthorizationType = in.AuthorizationType
			d.Auth = AuthParameters{Invocation: d.Auth.Invocation}
		}
		if a := in.AuthParameters; a != nil {
			merge(&d.Auth, a)
		}
		if err := check(d.AuthorizationType, &d.Auth); err != nil {
			return nil, err
		}
		d.Auth.Normalize()
		doc, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		u, err := s.o.Store.EventsUpdate(ctx, &store.EventsUpdateParams{Kind: store.EventsConnection, Name: in.Name, IfVersion: e.Version,
			Doc: doc, Now: s.o.Clock.Now()})
		if errors.Is(err, store.ErrConflict) {
			continue // another update won: apply this one to its result
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, errorf("ResourceNotFoundException", http.StatusBadRequest, "Connection '%s' does not exist.", in.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("events: updating connection %s: %w", in.Name, err)
		}
		return stateOf(u, d), nil
	}
}

func merge(dst, src *AuthParameters) {
	if k := src.APIKey; k != nil {
		if dst.APIKey == nil {
			dst.APIKey = &APIKeyParameters{}
		}
		set(&dst.APIKey.APIKeyName, k.APIKeyName)
		set(&dst.APIKey.APIKeyValue, k.APIKeyValue)
	}
	if b := src.Basic; b != nil {
		if dst.Basic == nil {
			dst.Basic = &BasicParameters{}
		}
		set(&dst.Basic.Username, b.Username)
		set(&dst.Basic.Password, b.Password)
	}
	if o := src.OAuth; o != nil {
		if dst.OAuth == nil {
			dst.OAuth = &OAuthParameters{}
		}
		set(&dst.OAuth.AuthorizationEndpoint, o.AuthorizationEndpoint)
		set(&dst.OAuth.HTTPMethod, o.HTTPMethod)
		if c := o.ClientParameters; c != nil {
			if dst.OAuth.ClientParameters == nil {
				dst.OAuth.ClientParameters = &ClientParameters{}
			}
			set(&dst.OAuth.ClientParameters.ClientID, c.ClientID)
			set(&dst.OAuth.ClientParameters.ClientSecret, c.ClientSecret)
		}
		if o.OAuthHTTPParameters != nil {
			dst.OAuth.OAuthHTTPParameters = o.OAuthHTTPParameters
		}
	}
	if src.Invocation != nil {
		dst.Invocation = src.Invocation
	}
}

func set(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func (s *Service) deleteConnection(ctx context.Context, input []byte) (any, error) {
	var in struct{ Name string }
	if err := decode(input, &in); err != nil {
		return nil, err
	}
	e, d, err := s.get(ctx, in.Name, "")
	if err != nil {
		return nil, err
	}
	err = s.o.Store.EventsDelete(ctx, &store.EventsDeleteParams{Kind: store.EventsConnection, Name: in.Name})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf("ResourceNotFoundException", http.StatusBadRequest, "Connection '%s' does not exist.", in.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("events: deleting connection %s: %w", in.Name, err)
	}
	st := stateOf(e, d)
	// AWS answers while the deletion is under way; here it is already done.
	st.ConnectionState = "DELETING"
	return st, nil
}

// ErrConnectionNotFound: no connection has that ARN (none of that name, or one of that name
// made since, with another ARN).
var ErrConnectionNotFound = errors.New("events: connection not found")

// Connection returns the connection of an ARN with its secrets, for the HTTP Task.
// ErrConnectionNotFound. Besides AWS's ARN, arn:aws:events:REGION:ACCOUNT:connection/NAME (no
// id) names the connection of that name, whatever its id: a project's definitions can name
// the connections it declares before they exist, and keep naming them when made again.
func (s *Service) Connection(ctx context.Context, arn string) (*Connection, error) {
	prefix := fmt.Sprintf("arn:aws:events:%s:%s:connection/", s.o.Region, s.o.Account)
	rest, ok := strings.CutPrefix(arn, prefix)
	name, id, withID := strings.Cut(rest, "/")
	if !ok || (withID && id == "") || checkName(name) != nil {
		return nil, fmt.Errorf("%s: %w", arn, ErrConnectionNotFound)
	}
	e, d, err := s.get(ctx, name, "")
	var ae *Error
	if errors.As(err, &ae) {
		return nil, fmt.Errorf("%s: %w", arn, ErrConnectionNotFound)
	}
	if err != nil {
		return nil, err
	}
	if withID && d.Arn != arn {
		return nil, fmt.Errorf("%s: %w", arn, ErrConnectionNotFound)
	}
	return connectionOf(e, d), nil
}

// ConnectionByName returns the connection of that name with its secrets, for the project
// deployer, which compares what a folder declares with what is deployed. ErrConnectionNotFound.
func (s *Service) ConnectionByName(ctx context.Context, name string) (*Connection, error) {
	e, d, err := s.get(ctx, name, "")
	var ae *Error
	if errors.As(err, &ae) {
		return nil, fmt.Errorf("%s: %w", name, ErrConnectionNotFound)
	}
	if err != nil {
		return nil, err
	}
	return connectionOf(e, d), nil
}

func connectionOf(e *store.EventsEntity, d *connectionDoc) *Connection {
	return &Connection{Name: e.Name, Arn: d.Arn, Description: d.Description, AuthorizationType: d.AuthorizationType, State: d.State,
		SecretArn: d.SecretArn, Auth: d.Auth, Version: e.Version, CreatedAt: e.CreatedAt, ModifiedAt: e.UpdatedAt}
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// randomSuffix is the six letters and digits Secrets Manager appends to a secret's ARN.
func randomSuffix() string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b[:])
}
