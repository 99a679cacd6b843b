package server_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/server"
)

// eventsCall posts one EventBridge action to the serve port, as the SDKs do (JSON 1.1,
// X-Amz-Target AWSEvents.ACTION), and returns the status and the decoded answer.
func eventsCall(t *testing.T, url, action, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "AWSEvents."+action)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return res.StatusCode, out
}

// TestHTTPTaskEndToEnd creates a connection of each authorization type over the EventBridge
// API on the serve port, runs a state machine with an HTTP Task against a loopback TLS server
// whose CA the server was given (Options.CABundle), and checks what the API saw and the
// execution's output; a non-2xx answer is caught by its States.Http.StatusCode name.
func TestHTTPTaskEndToEnd(t *testing.T) {
	t.Parallel()
	var tokens atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if id, secret, ok := r.BasicAuth(); !ok || id != "cid" || secret != "cs" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"tok","expires_in":3600}`)
	})
	mux.HandleFunc("/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if k := r.Header.Get("X-Api-Key"); k != "" {
			auth = "key " + k
		}
		if r.PathValue("id") == "404" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"id": r.PathValue("id"), "auth": auth, "q": r.URL.RawQuery, "body": string(body)})
	})
	api := httptest.NewTLSServer(mux)
	t.Cleanup(api.Close)
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	b := setup(t, server.Options{CABundle: bundle})

	conns := map[string]string{
		"key":   `{"Name":"key","AuthorizationType":"API_KEY","AuthParameters":{"ApiKeyAuthParameters":{"ApiKeyName":"X-Api-Key","ApiKeyValue":"k1"}}}`,
		"basic": `{"Name":"basic","AuthorizationType":"BASIC","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"}}}`,
		"oauth": `{"Name":"oauth","AuthorizationType":"OAUTH_CLIENT_CREDENTIALS","AuthParameters":{"OAuthParameters":{"AuthorizationEndpoint":"` +
			api.URL + `/token","HttpMethod":"POST","ClientParameters":{"ClientID":"cid","ClientSecret":"cs"}},
			"InvocationHttpParameters":{"QueryStringParameters":[{"Key":"tenant","Value":"t9"}]}}}`,
	}
	wantAuth := map[string]string{"key": "key k1", "basic": "Basic dTpw", "oauth": "Bearer tok"}
	for name, req := range conns {
		status, out := eventsCall(t, b.url, "CreateConnection", req)
		if status != http.StatusOK || out["ConnectionState"] != "AUTHORIZED" {
			t.Fatalf("CreateConnection %s: %d %v", name, status, out)
		}
		arn := out["ConnectionArn"].(string)
		def := `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:states:::http:invoke","Parameters":{
			"ApiEndpoint.$":"States.Format('` + api.URL + `/orders/{}', $.id)","Method":"POST",
			"Authentication":{"ConnectionArn":"` + arn + `"},"RequestBody":{"n.$":"$.n"}},
			"ResultSelector":{"body.$":"$.ResponseBody","code.$":"$.StatusCode"},
			"Catch":[{"ErrorEquals":["States.Http.StatusCode.404"],"ResultPath":"$.err","Next":"Missing"}],"End":true},
			"Missing":{"Type":"Pass","Parameters":{"missing.$":"$.err.Error"},"End":true}}}`
		machine := b.createMachine(t, "http-"+name, def)
		d := b.waitDone(t, b.start(t, machine, "", `{"id":"42","n":7}`))
		if d.Status != types.ExecutionStatusSucceeded {
			t.Fatalf("%s: %s %s %s", name, d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
		}
		q := ""
		if name == "oauth" {
			q = "tenant=t9"
		}
		want := `{"body":{"auth":"` + wantAuth[name] + `","body":"{\"n\":7}","id":"42","q":"` + q + `"},"code":"200"}`
		if aws.ToString(d.Output) != want {
			t.Fatalf("%s output = %s\nwant %s", name, aws.ToString(d.Output), want)
		}
		d = b.waitDone(t, b.start(t, machine, "", `{"id":"404","n":1}`))
		if aws.ToString(d.Output) != `{"missing":"States.Http.StatusCode.404"}` {
			t.Fatalf("%s 404 output = %s (%s %s)", name, aws.ToString(d.Output), aws.ToString(d.Error), aws.ToString(d.Cause))
		}
	}
	// JSONata: Arguments are the request, $states.result the answer.
	status, out := eventsCall(t, b.url, "DescribeConnection", `{"Name":"basic"}`)
	if status != http.StatusOK {
		t.Fatalf("DescribeConnection: %v", out)
	}
	jsonata := `{"QueryLanguage":"JSONata","StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:states:::http:invoke",
		"Arguments":{"ApiEndpoint":"{% '` + api.URL + `/orders/' & $states.input.id %}","Method":"GET",
			"QueryParameters":{"ids":"{% $states.input.ids %}"},
			"Authentication":{"ConnectionArn":"` + out["ConnectionArn"].(string) + `"}},
		"Output":{"q":"{% $states.result.ResponseBody.q %}","status":"{% $states.result.StatusCode %}"},"End":true}}}`
	d := b.waitDone(t, b.start(t, b.createMachine(t, "http-jsonata", jsonata), "", `{"id":"9","ids":[1,2]}`))
	if aws.ToString(d.Output) != `{"q":"ids=1&ids=2","status":"200"}` {
		t.Fatalf("JSONata output = %s (%s %s)", aws.ToString(d.Output), aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	if n := tokens.Load(); n != 1 {
		t.Fatalf("OAuth tokens fetched = %d, want 1", n)
	}
	// Describe hides the secrets.
	_, desc := eventsCall(t, b.url, "DescribeConnection", `{"Name":"key"}`)
	if raw, _ := json.Marshal(desc); strings.Contains(string(raw), "k1") || !strings.HasPrefix(desc["SecretArn"].(string), "arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection/key/") {
		t.Fatalf("DescribeConnection = %s", raw)
	}
}

// TestCABundleRefused: a --ca-bundle that holds no certificate stops the server before it
// starts.
func TestCABundleRefused(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("nothing"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := server.New(context.Background(), server.Options{Addr: "127.0.0.1:0", DB: filepath.Join(t.TempDir(), "db"), CABundle: bad})
	if err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("New with a bad CA bundle: %v", err)
	}
}
