package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/store/sqlite"
)

type bundle struct {
	svc   *Service
	clock *clock.Fake
}

func setup(t *testing.T) *bundle {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "stepline.db")})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock.Fake{T: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	svc, err := New(Options{Store: st, Clock: clk, Account: "111122223333", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{svc: svc, clock: clk}
}

// call posts one action through the HTTP handler, as an SDK does, and decodes the answer.
func (b *bundle) call(t *testing.T, action, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "AWSEvents."+action)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	w := httptest.NewRecorder()
	b.svc.ServeHTTP(w, req)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s answered %q: %v", action, w.Body.String(), err)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Fatalf("%s Content-Type = %q", action, ct)
	}
	return w.Code, out
}

func (b *bundle) ok(t *testing.T, action, body string) map[string]any {
	t.Helper()
	code, out := b.call(t, action, body)
	if code != http.StatusOK {
		t.Fatalf("%s: %d %v", action, code, out)
	}
	return out
}

func (b *bundle) fails(t *testing.T, action, body, code string) string {
	t.Helper()
	status, out := b.call(t, action, body)
	if status != http.StatusBadRequest || out["__type"] != code {
		t.Fatalf("%s: %d %v; want 400 %s", action, status, out, code)
	}
	msg, _ := out["message"].(string)
	return msg
}

// canonical is v as JSON with sorted keys, to compare documents whatever their key order.
func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(x)
	return string(b)
}

func TestConnectionLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	created := b.ok(t, "CreateConnection", `{"Name":"stripe","Description":"payments","AuthorizationType":"API_KEY",
		"AuthParameters":{"ApiKeyAuthParameters":{"ApiKeyName":"x-api-key","ApiKeyValue":"sk_live_1"},
		"InvocationHttpParameters":{"HeaderParameters":[{"Key":"X-Team","Value":"core"},{"Key":"X-Token","Value":"tok","IsValueSecret":true}]}}}`)
	arn, _ := created["ConnectionArn"].(string)
	if !regexp.MustCompile(`^arn:aws:events:eu-west-1:111122223333:connection/stripe/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(arn) {
		t.Fatalf("ConnectionArn = %q", arn)
	}
	if created["ConnectionState"] != "AUTHORIZED" || created["CreationTime"] != 1767323045.0 {
		t.Fatalf("CreateConnection = %v", created)
	}
	b.fails(t, "CreateConnection", `{"Name":"stripe","AuthorizationType":"BASIC","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"}}}`,
		"ResourceAlreadyExistsException")

	d := b.ok(t, "DescribeConnection", `{"Name":"stripe"}`)
	raw, _ := json.Marshal(d)
	for _, secret := range []string{"sk_live_1", `"tok"`, "ApiKeyValue"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("DescribeConnection shows a secret (%s): %s", secret, raw)
		}
	}
	id := arn[strings.LastIndex(arn, "/")+1:]
	if sa, _ := d["SecretArn"].(string); !regexp.MustCompile(`^arn:aws:secretsmanager:eu-west-1:111122223333:secret:events!connection/stripe/` + id + `-[A-Za-z0-9]{6}$`).MatchString(sa) {
		t.Fatalf("SecretArn = %q", sa)
	}
	want := `{"ApiKeyAuthParameters":{"ApiKeyName":"x-api-key"},"InvocationHttpParameters":{"HeaderParameters":[{"Key":"X-Team","Value":"core"},{"Key":"X-Token","IsValueSecret":true}]}}`
	if got := canonical(t, d["AuthParameters"]); got != canonical(t, json.RawMessage(want)) {
		t.Fatalf("AuthParameters = %s\nwant %s", got, want)
	}
	if d["Name"] != "stripe" || d["Description"] != "payments" || d["AuthorizationType"] != "API_KEY" || d["ConnectionArn"] != arn {
		t.Fatalf("DescribeConnection = %v", d)
	}

	// The runner sees the secrets.
	c, err := b.svc.Connection(t.Context(), arn)
	if err != nil || c.Auth.APIKey.APIKeyValue != "sk_live_1" || c.Auth.Invocation.HeaderParameters[1].Value != "tok" {
		t.Fatalf("Connection = %+v, %v", c, err)
	}
	// Without its id, the ARN names the connection of that name.
	if byName, err := b.svc.Connection(t.Context(), arn[:strings.LastIndex(arn, "/")]); err != nil || byName.Arn != arn {
		t.Fatalf("Connection by an ARN without id = %+v, %v", byName, err)
	}
	if _, err := b.svc.Connection(t.Context(), arn[:strings.LastIndex(arn, "/")+1]); !errors.Is(err, ErrConnectionNotFound) {
		t.Fatalf("Connection by an ARN with an empty id: %v", err)
	}

	// An update of the value alone keeps the name; the version moves.
	b.clock.T = b.clock.T.Add(time.Minute)
	u := b.ok(t, "UpdateConnection", `{"Name":"stripe","AuthParameters":{"ApiKeyAuthParameters":{"ApiKeyValue":"sk_live_2"}}}`)
	if u["LastModifiedTime"] != 1767323105.0 || u["CreationTime"] != 1767323045.0 {
		t.Fatalf("UpdateConnection = %v", u)
	}
	c2, err := b.svc.Connection(t.Context(), arn)
	if err != nil || c2.Auth.APIKey.APIKeyName != "x-api-key" || c2.Auth.APIKey.APIKeyValue != "sk_live_2" || c2.Version == c.Version ||
		c2.Auth.Invocation == nil || c2.Description != "payments" {
		t.Fatalf("Connection after update = %+v, %v", c2, err)
	}
	// A new type drops the old type's parameters and needs its own.
	b.fails(t, "UpdateConnection", `{"Name":"stripe","AuthorizationType":"BASIC"}`, "ValidationException")
	b.ok(t, "UpdateConnection", `{"Name":"stripe","AuthorizationType":"BASIC","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"}}}`)
	c3, _ := b.svc.Connection(t.Context(), arn)
	if c3.AuthorizationType != AuthBasic || c3.Auth.APIKey != nil || c3.Auth.Basic.Password != "p" {
		t.Fatalf("Connection after a type change = %+v", c3)
	}

	b.ok(t, "CreateConnection", `{"Name":"auth0","AuthorizationType":"OAUTH_CLIENT_CREDENTIALS","AuthParameters":{"OAuthParameters":{
		"AuthorizationEndpoint":"https://example.auth0.com/oauth/token","HttpMethod":"POST",
		"ClientParameters":{"ClientID":"id1","ClientSecret":"cs1"},
		"OAuthHttpParameters":{"BodyParameters":[{"Key":"audience","Value":"api"}]}}}}`)
	d = b.ok(t, "DescribeConnection", `{"Name":"auth0"}`)
	want = `{"OAuthParameters":{"AuthorizationEndpoint":"https://example.auth0.com/oauth/token","HttpMethod":"POST","ClientParameters":{"ClientID":"id1"},"OAuthHttpParameters":{"BodyParameters":[{"Key":"audience","Value":"api"}]}}}`
	if got := canonical(t, d["AuthParameters"]); got != canonical(t, json.RawMessage(want)) {
		t.Fatalf("OAuth AuthParameters = %s\nwant %s", got, want)
	}

	// Lists page by name and filter by prefix.
	l := b.ok(t, "ListConnections", `{"Limit":1}`)
	conns, _ := l["Connections"].([]any)
	if len(conns) != 1 || conns[0].(map[string]any)["Name"] != "auth0" || l["NextToken"] == nil {
		t.Fatalf("ListConnections page 1 = %v", l)
	}
	l = b.ok(t, "ListConnections", `{"Limit":1,"NextToken":"`+l["NextToken"].(string)+`"}`)
	conns, _ = l["Connections"].([]any)
	if len(conns) != 1 || conns[0].(map[string]any)["Name"] != "stripe" || conns[0].(map[string]any)["AuthorizationType"] != "BASIC" || l["NextToken"] != nil {
		t.Fatalf("ListConnections page 2 = %v", l)
	}
	l = b.ok(t, "ListConnections", `{"NamePrefix":"str"}`)
	if conns, _ = l["Connections"].([]any); len(conns) != 1 {
		t.Fatalf("ListConnections by prefix = %v", l)
	}

	del := b.ok(t, "DeleteConnection", `{"Name":"stripe"}`)
	if del["ConnectionState"] != "DELETING" || del["ConnectionArn"] != arn {
		t.Fatalf("DeleteConnection = %v", del)
	}
	msg := b.fails(t, "DescribeConnection", `{"Name":"stripe"}`, "ResourceNotFoundException")
	if msg != "Failed to describe the connection(s). Connection 'stripe' does not exist." {
		t.Fatalf("message = %q", msg)
	}
	if _, err := b.svc.Connection(t.Context(), arn); !errors.Is(err, ErrConnectionNotFound) {
		t.Fatalf("Connection of a deleted ARN: %v", err)
	}
	// A connection made again under the same name has another ARN: the old one stays gone.
	b.ok(t, "CreateConnection", `{"Name":"stripe","AuthorizationType":"BASIC","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"}}}`)
	if _, err := b.svc.Connection(t.Context(), arn); !errors.Is(err, ErrConnectionNotFound) {
		t.Fatalf("Connection of a recreated name's old ARN: %v", err)
	}
}

func TestConnectionValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, c := range []struct{ name, body string }{
		{"bad name", `{"Name":"a b","AuthorizationType":"BASIC","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"}}}`},
		{"long name", `{"Name":"` + strings.Repeat("a", 65) + `","AuthorizationType":"BASIC","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"}}}`},
		{"no type", `{"Name":"a","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"}}}`},
		{"bad type", `{"Name":"a","AuthorizationType":"DIGEST","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"}}}`},
		{"no params", `{"Name":"a","AuthorizationType":"BASIC"}`},
		{"wrong params", `{"Name":"a","AuthorizationType":"API_KEY","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"}}}`},
		{"two kinds", `{"Name":"a","AuthorizationType":"BASIC","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"},"ApiKeyAuthParameters":{"ApiKeyName":"k","ApiKeyValue":"v"}}}`},
		{"oauth method", `{"Name":"a","AuthorizationType":"OAUTH_CLIENT_CREDENTIALS","AuthParameters":{"OAuthParameters":{"AuthorizationEndpoint":"https://x/t","HttpMethod":"PATCH","ClientParameters":{"ClientID":"i","ClientSecret":"s"}}}}`},
		{"oauth endpoint", `{"Name":"a","AuthorizationType":"OAUTH_CLIENT_CREDENTIALS","AuthParameters":{"OAuthParameters":{"AuthorizationEndpoint":"ftp://x/t","HttpMethod":"POST","ClientParameters":{"ClientID":"i","ClientSecret":"s"}}}}`},
		{"empty key", `{"Name":"a","AuthorizationType":"BASIC","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"},"InvocationHttpParameters":{"HeaderParameters":[{"Value":"v"}]}}}`},
		{"not json", `{`},
	} {
		t.Run(c.name, func(t *testing.T) { b.fails(t, "CreateConnection", c.body, "ValidationException") })
	}
	b.fails(t, "UpdateConnection", `{"Name":"missing","Description":"x"}`, "ResourceNotFoundException")
	b.fails(t, "DeleteConnection", `{"Name":"missing"}`, "ResourceNotFoundException")
	msg := b.fails(t, "PutPermission", `{}`, "UnknownOperationException")
	if !strings.Contains(msg, "PutPermission") {
		t.Fatalf("PutPermission message = %q", msg)
	}
	if _, err := b.svc.Connection(context.Background(), "arn:aws:events:us-east-1:111122223333:connection/x/y"); !errors.Is(err, ErrConnectionNotFound) {
		t.Fatalf("Connection of another region's ARN: %v", err)
	}
}
