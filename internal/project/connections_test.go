package project_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/events"
	"github.com/stepline/stepline/internal/project"
	"github.com/stepline/stepline/internal/store/dsn"
)

const connectionsYAML = `connections:
  stripe:
    authorizationType: API_KEY
    description: payments
    authParameters:
      apiKeyAuthParameters:
        apiKeyName: X-Api-Key
        apiKeyValue: ${env:STEPLINE_TEST_STRIPE_KEY}
      invocationHttpParameters:
        headerParameters:
          - key: X-Team
            value: core
          - key: X-Token
            value: tok-${env:STEPLINE_TEST_STRIPE_KEY}
            isValueSecret: true
  auth0:
    authorizationType: OAUTH_CLIENT_CREDENTIALS
    authParameters:
      oAuthParameters:
        authorizationEndpoint: https://example.auth0.com/oauth/token
        httpMethod: POST
        clientParameters:
          clientID: cid
          clientSecret: cs
        oAuthHttpParameters:
          bodyParameters:
            - key: audience
              value: https://api
  plain:
    authorizationType: BASIC
    authParameters:
      basicAuthParameters: {username: u, password: p}
`

func newEvents(t *testing.T) *events.Service {
	t.Helper()
	st, err := dsn.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ev, err := events.New(events.Options{Store: st, Clock: &clock.Fake{T: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func deployConnections(t *testing.T, ev *events.Service, dir string) *project.Summary {
	t.Helper()
	p, err := project.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := p.Deploy(context.Background(), project.Targets{Events: ev, Account: "123456789012", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestConnectionsDeploy deploys connections (a secret from the environment), again unchanged
// (same ARNs, same versions), then changed (one updated, one removed parameter set gone).
func TestConnectionsDeploy(t *testing.T) {
	t.Setenv("STEPLINE_TEST_STRIPE_KEY", "sk_1")
	ev := newEvents(t)
	dir := t.TempDir()
	write := func(text string) {
		if err := os.WriteFile(filepath.Join(dir, project.FileName), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(connectionsYAML)
	sum := deployConnections(t, ev, dir)
	if sum.ConnectionsCreated != 3 || sum.ConnectionsUpdated != 0 || sum.ConnectionsUnchanged != 0 {
		t.Fatalf("first deploy: %+v", sum)
	}
	stripe, err := ev.ConnectionByName(t.Context(), "stripe")
	if err != nil || stripe.Auth.APIKey.APIKeyValue != "sk_1" || stripe.Auth.Invocation.HeaderParameters[1].Value != "tok-sk_1" ||
		!stripe.Auth.Invocation.HeaderParameters[1].IsValueSecret || stripe.Description != "payments" {
		t.Fatalf("stripe = %+v, %v", stripe, err)
	}
	auth0, _ := ev.ConnectionByName(t.Context(), "auth0")
	if auth0.Auth.OAuth.ClientParameters.ClientSecret != "cs" || auth0.Auth.OAuth.OAuthHTTPParameters.BodyParameters[0].Value != "https://api" {
		t.Fatalf("auth0 = %+v", auth0.Auth.OAuth)
	}

	sum = deployConnections(t, ev, dir)
	if sum.ConnectionsCreated != 0 || sum.ConnectionsUpdated != 0 || sum.ConnectionsUnchanged != 3 {
		t.Fatalf("unchanged deploy: %+v", sum)
	}
	again, _ := ev.ConnectionByName(t.Context(), "stripe")
	if again.Arn != stripe.Arn || again.Version != stripe.Version {
		t.Fatalf("an unchanged deploy changed stripe: %+v", again)
	}

	// A new secret in the environment is a change; dropping the invocation parameters too.
	t.Setenv("STEPLINE_TEST_STRIPE_KEY", "sk_2")
	write(strings.Replace(connectionsYAML, "      invocationHttpParameters:\n        headerParameters:\n          - key: X-Team\n            value: core\n          - key: X-Token\n            value: tok-${env:STEPLINE_TEST_STRIPE_KEY}\n            isValueSecret: true\n", "", 1))
	sum = deployConnections(t, ev, dir)
	if sum.ConnectionsCreated != 0 || sum.ConnectionsUpdated != 1 || sum.ConnectionsUnchanged != 2 {
		t.Fatalf("changed deploy: %+v", sum)
	}
	changed, _ := ev.ConnectionByName(t.Context(), "stripe")
	if changed.Arn != stripe.Arn || changed.Auth.APIKey.APIKeyValue != "sk_2" || changed.Auth.Invocation != nil {
		t.Fatalf("stripe after the change = %+v %+v", changed, changed.Auth.Invocation)
	}
	if sum = deployConnections(t, ev, dir); sum.ConnectionsUnchanged != 3 {
		t.Fatalf("deploy after the change, again: %+v", sum)
	}
}

// TestConnectionsMistakes: each mistake is one line with the file, the line and the key.
func TestConnectionsMistakes(t *testing.T) {
	t.Setenv("STEPLINE_TEST_SET", "x")
	os.Unsetenv("STEPLINE_TEST_UNSET")
	for _, c := range []struct{ name, yaml, want string }{
		{"bad name", "connections:\n  a b:\n    authorizationType: BASIC\n",
			"2: connections.a b: invalid connection name: 1 to 64 letters, digits, dots, hyphens or underscores"},
		{"no type", "connections:\n  c:\n    authParameters: {}\n",
			"3: connections.c.authorizationType: missing: one of API_KEY, BASIC, OAUTH_CLIENT_CREDENTIALS"},
		{"bad type", "connections:\n  c:\n    authorizationType: DIGEST\n",
			`3: connections.c.authorizationType: must be one of API_KEY, BASIC, OAUTH_CLIENT_CREDENTIALS, not "DIGEST"`},
		{"unknown key", "connections:\n  c:\n    authorizationType: BASIC\n    authParams: {}\n",
			"4: connections.c.authParams: unknown key (known: authorizationType, description, authParameters)"},
		{"wrong parameters", "connections:\n  c:\n    authorizationType: BASIC\n    authParameters:\n      apiKeyAuthParameters: {apiKeyName: k, apiKeyValue: v}\n",
			"5: connections.c.authParameters.apiKeyAuthParameters: does not go with authorizationType BASIC, which takes basicAuthParameters"},
		{"missing password", "connections:\n  c:\n    authorizationType: BASIC\n    authParameters:\n      basicAuthParameters:\n        username: u\n",
			"6: connections.c.authParameters.basicAuthParameters.password: missing"},
		{"unset variable", "connections:\n  c:\n    authorizationType: API_KEY\n    authParameters:\n      apiKeyAuthParameters:\n        apiKeyName: k\n        apiKeyValue: ${env:STEPLINE_TEST_UNSET}\n",
			"7: connections.c.authParameters.apiKeyAuthParameters.apiKeyValue: the environment variable STEPLINE_TEST_UNSET is not set"},
		{"oauth method", "connections:\n  c:\n    authorizationType: OAUTH_CLIENT_CREDENTIALS\n    authParameters:\n      oAuthParameters:\n        authorizationEndpoint: https://x/t\n        httpMethod: PATCH\n        clientParameters: {clientID: a, clientSecret: b}\n",
			`7: connections.c.authParameters.oAuthParameters.httpMethod: must be GET, POST or PUT, not "PATCH"`},
		{"parameter without key", "connections:\n  c:\n    authorizationType: BASIC\n    authParameters:\n      basicAuthParameters: {username: u, password: p}\n      invocationHttpParameters:\n        headerParameters:\n          - value: ${env:STEPLINE_TEST_SET}\n",
			"8: connections.c.authParameters.invocationHttpParameters.headerParameters[0].key: missing"},
		{"secret flag", "connections:\n  c:\n    authorizationType: BASIC\n    authParameters:\n      basicAuthParameters: {username: u, password: p}\n      invocationHttpParameters:\n        bodyParameters:\n          - {key: k, value: v, isValueSecret: maybe}\n",
			"8: connections.c.authParameters.invocationHttpParameters.bodyParameters[0].isValueSecret: must be true or false"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, project.FileName)
			if err := os.WriteFile(file, []byte(c.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := project.Load(dir)
			if err == nil || err.Error() != file+":"+c.want {
				t.Fatalf("Load: %v\nwant %s:%s", err, file, c.want)
			}
		})
	}
}
