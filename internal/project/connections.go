package project

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/stepline/stepline/internal/events"
)

// Connection is one entry of connections: an EventBridge connection, as CreateConnection takes
// it, that HTTP Tasks name by ARN. Its keys are CreateConnection's members with their first
// letter lower-cased (authorizationType, authParameters.apiKeyAuthParameters.apiKeyValue,
// oAuthParameters.clientParameters.clientID, invocationHttpParameters.headerParameters, …).
// A value may hold ${env:NAME}, replaced at load by the environment variable NAME, so that
// secrets need not be written in the project file.
type Connection struct {
	Name              string
	Description       string
	AuthorizationType string
	Auth              events.AuthParameters
	line              int
}

var (
	connectionKeys          = []string{"authorizationType", "description", "authParameters"}
	authParameterKeys       = []string{"apiKeyAuthParameters", "basicAuthParameters", "oAuthParameters", "invocationHttpParameters"}
	apiKeyKeys              = []string{"apiKeyName", "apiKeyValue"}
	basicKeys               = []string{"username", "password"}
	oauthKeys               = []string{"authorizationEndpoint", "httpMethod", "clientParameters", "oAuthHttpParameters"}
	clientKeys              = []string{"clientID", "clientSecret"}
	httpParameterKeys       = []string{"headerParameters", "queryStringParameters", "bodyParameters"}
	connectionParameterKeys = []string{"key", "value", "isValueSecret"}
	authorizationTypes      = []string{events.AuthAPIKey, events.AuthBasic, events.AuthOAuth}
	connectionName          = regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)
	envRef                  = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)
)

// connection reads one entry of connections; what EventBridge would refuse is refused here,
// with the key that is wrong.
func (p *parser) connection(name string, key, v *yaml.Node) (*Connection, error) {
	path := "connections." + name
	if !connectionName.MatchString(name) {
		return nil, p.errAt(key, path, "invalid connection name: 1 to 64 letters, digits, dots, hyphens or underscores")
	}
	c := &Connection{Name: name, line: key.Line}
	f, err := p.fields(v, path, connectionKeys)
	if err != nil {
		return nil, err
	}
	n := f["authorizationType"]
	if n == nil {
		return nil, p.errAt(v, path+".authorizationType", "missing: one of %s", strings.Join(authorizationTypes, ", "))
	}
	if c.AuthorizationType, err = p.str(n, path+".authorizationType"); err != nil {
		return nil, err
	}
	if !slices.Contains(authorizationTypes, c.AuthorizationType) {
		return nil, p.errAt(n, path+".authorizationType", "must be one of %s, not %q", strings.Join(authorizationTypes, ", "), c.AuthorizationType)
	}
	if n := f["description"]; n != nil {
		if c.Description, err = p.envStr(n, path+".description"); err != nil {
			return nil, err
		}
	}
	n = f["authParameters"]
	if n == nil {
		return nil, p.errAt(v, path+".authParameters", "missing: the %s parameters", c.AuthorizationType)
	}
	ap := path + ".authParameters"
	af, err := p.fields(n, ap, authParameterKeys)
	if err != nil {
		return nil, err
	}
	want := map[string]string{events.AuthAPIKey: "apiKeyAuthParameters", events.AuthBasic: "basicAuthParameters",
		events.AuthOAuth: "oAuthParameters"}[c.AuthorizationType]
	for _, k := range []string{"apiKeyAuthParameters", "basicAuthParameters", "oAuthParameters"} {
		if af[k] != nil && k != want {
			return nil, p.errAt(af[k], ap+"."+k, "does not go with authorizationType %s, which takes %s", c.AuthorizationType, want)
		}
	}
	if af[want] == nil {
		return nil, p.errAt(n, ap+"."+want, "missing: authorizationType %s needs it", c.AuthorizationType)
	}
	// strs reads the named members of a mapping, each required.
	strs := func(n *yaml.Node, path string, keys []string, dst ...*string) error {
		f, err := p.fields(n, path, keys)
		if err != nil {
			return err
		}
		for i, k := range keys {
			if i >= len(dst) {
				break
			}
			if f[k] == nil {
				return p.errAt(n, path+"."+k, "missing")
			}
			if *dst[i], err = p.envStr(f[k], path+"."+k); err != nil {
				return err
			}
		}
		return nil
	}
	switch c.AuthorizationType {
	case events.AuthAPIKey:
		c.Auth.APIKey = &events.APIKeyParameters{}
		if err := strs(af[want], ap+"."+want, apiKeyKeys, &c.Auth.APIKey.APIKeyName, &c.Auth.APIKey.APIKeyValue); err != nil {
			return nil, err
		}
	case events.AuthBasic:
		c.Auth.Basic = &events.BasicParameters{}
		if err := strs(af[want], ap+"."+want, basicKeys, &c.Auth.Basic.Username, &c.Auth.Basic.Password); err != nil {
			return nil, err
		}
	case events.AuthOAuth:
		op := ap + "." + want
		of, err := p.fields(af[want], op, oauthKeys)
		if err != nil {
			return nil, err
		}
		o := &events.OAuthParameters{ClientParameters: &events.ClientParameters{}}
		for _, k := range []string{"authorizationEndpoint", "httpMethod", "clientParameters"} {
			if of[k] == nil {
				return nil, p.errAt(af[want], op+"."+k, "missing")
			}
		}
		if o.AuthorizationEndpoint, err = p.envStr(of["authorizationEndpoint"], op+".authorizationEndpoint"); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(o.AuthorizationEndpoint, "https://") && !strings.HasPrefix(o.AuthorizationEndpoint, "http://") {
			return nil, p.errAt(of["authorizationEndpoint"], op+".authorizationEndpoint", "must be an http(s) URL, not %q", o.AuthorizationEndpoint)
		}
		if o.HTTPMethod, err = p.str(of["httpMethod"], op+".httpMethod"); err != nil {
			return nil, err
		}
		if !slices.Contains([]string{"GET", "POST", "PUT"}, o.HTTPMethod) {
			return nil, p.errAt(of["httpMethod"], op+".httpMethod", "must be GET, POST or PUT, not %q", o.HTTPMethod)
		}
		if err := strs(of["clientParameters"], op+".clientParameters", clientKeys, &o.ClientParameters.ClientID, &o.ClientParameters.ClientSecret); err != nil {
			return nil, err
		}
		if n := of["oAuthHttpParameters"]; n != nil {
			if o.OAuthHTTPParameters, err = p.httpParameters(n, op+".oAuthHttpParameters"); err != nil {
				return nil, err
			}
		}
		c.Auth.OAuth = o
	}
	if n := af["invocationHttpParameters"]; n != nil {
		if c.Auth.Invocation, err = p.httpParameters(n, ap+".invocationHttpParameters"); err != nil {
			return nil, err
		}
	}
	c.Auth.Normalize()
	return c, nil
}

// httpParameters reads headerParameters, queryStringParameters and bodyParameters: lists of
// {key, value, isValueSecret}.
func (p *parser) httpParameters(n *yaml.Node, path string) (*events.HTTPParameters, error) {
	f, err := p.fields(n, path, httpParameterKeys)
	if err != nil {
		return nil, err
	}
	out := &events.HTTPParameters{}
	for _, k := range httpParameterKeys {
		list := f[k]
		if list == nil {
			continue
		}
		if list.Kind != yaml.SequenceNode {
			return nil, p.errAt(list, path+"."+k, "must be a list of {key, value, isValueSecret}")
		}
		var params []events.Parameter
		for i, item := range list.Content {
			ip := fmt.Sprintf("%s.%s[%d]", path, k, i)
			pf, err := p.fields(resolve(item), ip, connectionParameterKeys)
			if err != nil {
				return nil, err
			}
			var q events.Parameter
			if pf["key"] == nil {
				return nil, p.errAt(item, ip+".key", "missing")
			}
			if q.Key, err = p.str(pf["key"], ip+".key"); err != nil {
				return nil, err
			}
			if pf["value"] != nil {
				if q.Value, err = p.envStr(pf["value"], ip+".value"); err != nil {
					return nil, err
				}
			}
			if s := pf["isValueSecret"]; s != nil {
				if s.Kind != yaml.ScalarNode || s.ShortTag() != "!!bool" {
					return nil, p.errAt(s, ip+".isValueSecret", "must be true or false")
				}
				q.IsValueSecret = s.Value == "true"
			}
			params = append(params, q)
		}
		switch k {
		case "headerParameters":
			out.HeaderParameters = params
		case "queryStringParameters":
			out.QueryStringParameters = params
		case "bodyParameters":
			out.BodyParameters = params
		}
	}
	return out, nil
}

// envStr reads a string in which ${env:NAME} is replaced by the environment variable NAME; an
// unset variable is a mistake, so that a secret is never sent empty.
func (p *parser) envStr(n *yaml.Node, key string) (string, error) {
	s, err := p.str(n, key)
	if err != nil {
		return "", err
	}
	var missing string
	s = envRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		v, ok := os.LookupEnv(name)
		if !ok && missing == "" {
			missing = name
		}
		return v
	})
	if missing != "" {
		return "", p.errAt(n, key, "the environment variable %s is not set", missing)
	}
	return s, nil
}

// Events is the EventBridge API a project's connections are deployed through
// (*events.Service is one): its operations, and a connection read with its secrets, which
// DescribeConnection does not show, to tell an unchanged one from a changed one.
type Events interface {
	Call(ctx context.Context, action string, input []byte) ([]byte, error)
	ConnectionByName(ctx context.Context, name string) (*events.Connection, error)
}

var _ Events = (*events.Service)(nil)

// connectionCall is one EventBridge call a deploy makes.
type connectionCall struct {
	c      *Connection
	action string
	input  []byte
}

// planConnections compares each declared connection with the one of its name: missing, it is
// created; different (type, description or any parameter, secrets included), updated whole;
// the same, left alone, so that its ARN and a cached OAuth token stay.
func (p *Project) planConnections(ctx context.Context, ev Events, sum *Summary) ([]connectionCall, error) {
	var calls []connectionCall
	for _, c := range p.Connections {
		desc := c.Description
		req := struct {
			Name              string                 `json:"Name"`
			Description       *string                `json:"Description"`
			AuthorizationType string                 `json:"AuthorizationType"`
			AuthParameters    *events.AuthParameters `json:"AuthParameters"`
		}{c.Name, &desc, c.AuthorizationType, &c.Auth}
		have, err := ev.ConnectionByName(ctx, c.Name)
		if errors.Is(err, events.ErrConnectionNotFound) {
			input, _ := json.Marshal(req) // strings and string slices always marshal
			calls = append(calls, connectionCall{c, "CreateConnection", input})
			continue
		}
		if err != nil {
			return nil, p.errAt(c.line, "connections."+c.Name, "reading the deployed connection: %v", err)
		}
		wantAuth, _ := json.Marshal(c.Auth)
		haveAuth, _ := json.Marshal(have.Auth)
		if have.AuthorizationType == c.AuthorizationType && have.Description == c.Description && string(wantAuth) == string(haveAuth) {
			sum.ConnectionsUnchanged++
			continue
		}
		// An update names every parameter set, empty ones too, so that what the project no
		// longer declares goes.
		auth := c.Auth
		if auth.Invocation == nil {
			auth.Invocation = &events.HTTPParameters{}
		}
		if auth.OAuth != nil && auth.OAuth.OAuthHTTPParameters == nil {
			o := *auth.OAuth
			o.OAuthHTTPParameters = &events.HTTPParameters{}
			auth.OAuth = &o
		}
		req.AuthParameters = &auth
		input, _ := json.Marshal(req)
		calls = append(calls, connectionCall{c, "UpdateConnection", input})
	}
	return calls, nil
}

// applyConnections makes the planned calls.
func (p *Project) applyConnections(ctx context.Context, ev Events, calls []connectionCall, sum *Summary) error {
	for _, call := range calls {
		if _, err := ev.Call(ctx, call.action, call.input); err != nil {
			return p.errAt(call.c.line, "connections."+call.c.Name, "%s: %v", call.action, err)
		}
		if call.action == "CreateConnection" {
			sum.ConnectionsCreated++
		} else {
			sum.ConnectionsUpdated++
		}
	}
	return nil
}
