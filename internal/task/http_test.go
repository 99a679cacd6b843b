package task_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/events"
	"github.com/stepline/stepline/internal/store/sqlite"
	"github.com/stepline/stepline/internal/task"
)

// seen is one request an API server received.
type seen struct {
	method, path, query, body string
	header                    http.Header
}

// api is a loopback HTTP API that records what it is sent and answers with answer.
type api struct {
	mu     sync.Mutex
	reqs   []seen
	answer func(w http.ResponseWriter, r *http.Request)
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.reqs = append(a.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, string(body), r.Header.Clone()})
	answer := a.answer
	a.mu.Unlock()
	if answer != nil {
		answer(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Add("X-Multi", "a")
	w.Header().Add("X-Multi", "b")
	_, _ = io.WriteString(w, `{"ok":true,"n":1.50}`)
}

// set changes the answer; the server reads it under the same lock.
func (a *api) set(answer func(w http.ResponseWriter, r *http.Request)) {
	a.mu.Lock()
	a.answer = answer
	a.mu.Unlock()
}

func (a *api) last(t *testing.T) seen {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.reqs) == 0 {
		t.Fatal("the API received no request")
	}
	return a.reqs[len(a.reqs)-1]
}

// httpBundle is a runner with a real connections service on SQLite.
type httpBundle struct {
	events *events.Service
	clock  *clock.Fake
}

func setupHTTP(t testing.TB) *httpBundle {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock.Fake{T: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	ev, err := events.New(events.Options{Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return &httpBundle{events: ev, clock: clk}
}

// connect creates a connection and returns its ARN.
func (b *httpBundle) connect(t testing.TB, request string) string {
	t.Helper()
	out, err := b.events.Call(t.Context(), "CreateConnection", []byte(request))
	if err != nil {
		t.Fatalf("CreateConnection: %v", err)
	}
	var res struct{ ConnectionArn string }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res.ConnectionArn
}

func (b *httpBundle) runner(o task.Options) *task.Runner {
	o.Connections, o.Clock = b.events, b.clock
	return task.New(o)
}

func runHTTP(t *testing.T, r *task.Runner, params string, timeout int64) (string, error) {
	t.Helper()
	return r.Run(t.Context(), &engine.Task{Resource: "arn:aws:states:::http:invoke", Parameters: params, TimeoutSeconds: timeout})
}

func taskError(t *testing.T, err error, name string) string {
	t.Helper()
	var te *engine.TaskError
	if !errors.As(err, &te) || te.Name != name {
		t.Fatalf("error = %v, want %s", err, name)
	}
	return te.Cause
}

const apiKeyConn = `{"Name":"key","AuthorizationType":"API_KEY","AuthParameters":{"ApiKeyAuthParameters":{"ApiKeyName":"X-Api-Key","ApiKeyValue":"k-123"},
	"InvocationHttpParameters":{"HeaderParameters":[{"Key":"X-Clash","Value":"from-connection"}],
	"QueryStringParameters":[{"Key":"tenant","Value":"t1","IsValueSecret":true}],"BodyParameters":[{"Key":"Mode","Value":"conn"}]}}}`

// TestHTTPMethods sends each method with query, headers and a body, and checks what the server
// received (the connection's key and parameters merged over the task's, AWS's own headers)
// and the task's result.
func TestHTTPMethods(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	a := &api{}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	arn := b.connect(t, apiKeyConn)
	r := b.runner(task.Options{Region: "eu-west-3"})
	for _, method := range []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"} {
		t.Run(method, func(t *testing.T) {
			out, err := runHTTP(t, r, `{"ApiEndpoint":"`+srv.URL+`/v1/items?fixed=1","Method":"`+method+`",
				"Authentication":{"ConnectionArn":"`+arn+`"},
				"Headers":{"X-Clash":"from-task","X-Trace":"abc","X-List":["p","q"]},
				"QueryParameters":{"q":"a b&c","tags":["x","y"],"tenant":"mine","n":5},
				"RequestBody":{"Job":"dev","Mode":"task"}}`, 0)
			if err != nil {
				t.Fatal(err)
			}
			got := a.last(t)
			if got.method != method || got.path != "/v1/items" {
				t.Fatalf("request %s %s", got.method, got.path)
			}
			if want := "fixed=1&q=a%20b%26c&tags=x&tags=y&n=5&tenant=t1"; got.query != want {
				t.Fatalf("query = %s, want %s", got.query, want)
			}
			for k, want := range map[string]string{"X-Api-Key": "k-123", "X-Clash": "from-connection", "X-Trace": "abc",
				"User-Agent": "Amazon|StepFunctions|HttpInvoke|eu-west-3", "Range": "bytes=0-262144",
				"Content-Type": "application/json; charset=UTF-8"} {
				if v := got.header.Get(k); v != want {
					t.Errorf("header %s = %q, want %q", k, v, want)
				}
			}
			if v := got.header.Values("X-List"); len(v) != 2 || v[0] != "p" || v[1] != "q" {
				t.Errorf("X-List = %q", v)
			}
			if want := `{"Job":"dev","Mode":"conn"}`; got.body != want && method != "HEAD" {
				t.Errorf("body = %s, want %s", got.body, want)
			}
			body := `{"ok":true,"n":1.50}`
			if method == "HEAD" {
				body = `""`
			}
			if !strings.HasPrefix(out, `{"Headers":{"content-length":["20"],"content-type":["application/json"],"date":["`) ||
				!strings.HasSuffix(out, `"],"x-multi":["a","b"]},"ResponseBody":`+body+`,"StatusCode":"200","StatusText":"OK"}`) {
				t.Fatalf("result = %s", out)
			}
		})
	}
}

// TestHTTPURLEncoded checks each array format of a URL_ENCODED body, with nesting and
// encodeURIComponent's escaping.
func TestHTTPURLEncoded(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	a := &api{}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	arn := b.connect(t, `{"Name":"basic","AuthorizationType":"BASIC","AuthParameters":{"BasicAuthParameters":{"Username":"u","Password":"p"}}}`)
	r := b.runner(task.Options{})
	body := `{"array":["a","b c"],"metadata":{"order_details":"monthly report"},"n":1,"ok":true,"none":null}`
	for format, want := range map[string]string{
		"INDICES":  "array%5B0%5D=a&array%5B1%5D=b%20c&metadata%5Border_details%5D=monthly%20report&n=1&ok=true&none=",
		"REPEAT":   "array=a&array=b%20c&metadata%5Border_details%5D=monthly%20report&n=1&ok=true&none=",
		"COMMAS":   "array=a%2Cb%20c&metadata%5Border_details%5D=monthly%20report&n=1&ok=true&none=",
		"BRACKETS": "array%5B%5D=a&array%5B%5D=b%20c&metadata%5Border_details%5D=monthly%20report&n=1&ok=true&none=",
		"":         "array%5B0%5D=a&array%5B1%5D=b%20c&metadata%5Border_details%5D=monthly%20report&n=1&ok=true&none=",
	} {
		t.Run("format "+format, func(t *testing.T) {
			opts := ""
			if format != "" {
				opts = `,"RequestEncodingOptions":{"ArrayFormat":"` + format + `"}`
			}
			_, err := runHTTP(t, r, `{"ApiEndpoint":"`+srv.URL+`/form","Method":"POST","Authentication":{"ConnectionArn":"`+arn+`"},
				"Headers":{"Content-Type":"application/x-www-form-urlencoded"},"RequestBody":`+body+`,
				"Transform":{"RequestBodyEncoding":"URL_ENCODED"`+opts+`}}`, 0)
			if err != nil {
				t.Fatal(err)
			}
			got := a.last(t)
			if got.body != want {
				t.Fatalf("body = %s\nwant   %s", got.body, want)
			}
			if got.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				t.Fatalf("Content-Type = %q", got.header.Get("Content-Type"))
			}
			if user, pass, ok := (&http.Request{Header: got.header}).BasicAuth(); !ok || user != "u" || pass != "p" {
				t.Fatalf("basic auth = %q %q %v", user, pass, ok)
			}
		})
	}
}

// oauthServer issues tokens tok-1, tok-2… valid for ttl seconds and counts the fetches; the
// API accepts only the latest token, and revoke makes it refuse that one too.
type oauthServer struct {
	mu      sync.Mutex
	fetches int
	current string
	revoked bool
	form    string
	basic   string
}

func (o *oauthServer) token(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fetches++
	o.current = "tok-" + string(rune('0'+o.fetches))
	o.revoked = false
	o.form, o.basic = string(body), r.Header.Get("Authorization")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": o.current, "token_type": "Bearer", "expires_in": 3600})
}

func (o *oauthServer) api(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	ok := r.Header.Get("Authorization") == "Bearer "+o.current && !o.revoked
	o.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "hello "+r.Header.Get("Authorization"))
}

func (o *oauthServer) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.fetches
}

// TestHTTPOAuth fetches a token once for many calls, again when it is about to expire (the
// clock moved within a minute of expires_in), again when the connection changed, and again,
// once, when the API refuses a cached token with 401.
func TestHTTPOAuth(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	o := &oauthServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", o.token)
	mux.HandleFunc("/api", o.api)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	arn := b.connect(t, `{"Name":"oauth","AuthorizationType":"OAUTH_CLIENT_CREDENTIALS","AuthParameters":{"OAuthParameters":{
		"AuthorizationEndpoint":"`+srv.URL+`/oauth/token","HttpMethod":"POST","ClientParameters":{"ClientID":"cid","ClientSecret":"csecret"},
		"OAuthHttpParameters":{"BodyParameters":[{"Key":"audience","Value":"https://api"}]}}}}`)
	r := b.runner(task.Options{})
	params := `{"ApiEndpoint":"` + srv.URL + `/api","Method":"GET","Authentication":{"ConnectionArn":"` + arn + `"}}`
	call := func(wantToken string, wantFetches int) {
		t.Helper()
		out, err := runHTTP(t, r, params, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, `"ResponseBody":"hello Bearer `+wantToken+`"`) {
			t.Fatalf("result = %s, want token %s", out, wantToken)
		}
		if n := o.count(); n != wantFetches {
			t.Fatalf("token fetches = %d, want %d", n, wantFetches)
		}
	}
	call("tok-1", 1)
	call("tok-1", 1)
	call("tok-1", 1)
	if o.form != "grant_type=client_credentials&audience=https%3A%2F%2Fapi" {
		t.Fatalf("token request body = %s", o.form)
	}
	if o.basic != "Basic "+base64.StdEncoding.EncodeToString([]byte("cid:csecret")) {
		t.Fatalf("token request Authorization = %s", o.basic)
	}
	b.clock.T = b.clock.T.Add(58 * time.Minute)
	call("tok-1", 1)
	b.clock.T = b.clock.T.Add(90 * time.Second) // within a minute of expires_in: renewed ahead
	call("tok-2", 2)
	// A revoked token: the API answers 401, the token is fetched again and the call retried.
	o.mu.Lock()
	o.revoked = true
	o.mu.Unlock()
	call("tok-3", 3)
	// An updated connection gets a token of its own.
	if _, err := b.events.Call(t.Context(), "UpdateConnection", []byte(`{"Name":"oauth","Description":"changed"}`)); err != nil {
		t.Fatal(err)
	}
	call("tok-4", 4)
	call("tok-4", 4)

	// A token endpoint that refuses the client fails the task with the connection's error.
	bad := b.connect(t, `{"Name":"oauth-bad","AuthorizationType":"OAUTH_CLIENT_CREDENTIALS","AuthParameters":{"OAuthParameters":{
		"AuthorizationEndpoint":"`+srv.URL+`/nope","HttpMethod":"POST","ClientParameters":{"ClientID":"cid","ClientSecret":"x"}}}}`)
	_, err := runHTTP(t, r, `{"ApiEndpoint":"`+srv.URL+`/api","Method":"GET","Authentication":{"ConnectionArn":"`+bad+`"}}`, 0)
	taskError(t, err, "Events.ConnectionResource.InvalidConnectionState")
}

// TestHTTPErrors checks the errors AWS names: a status outside 2xx, an unknown connection,
// refused and timed-out calls, and requests AWS refuses.
func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	a := &api{}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	arn := b.connect(t, apiKeyConn)
	r := b.runner(task.Options{})
	call := func(endpoint, extra string, timeout int64) (string, error) {
		return runHTTP(t, r, `{"ApiEndpoint":"`+endpoint+`","Method":"POST","Authentication":{"ConnectionArn":"`+arn+`"}`+extra+`}`, timeout)
	}

	a.set(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message":"no such item"}`)
	})
	_, err := call(srv.URL+"/missing", "", 0)
	cause := taskError(t, err, "States.Http.StatusCode.404")
	if !strings.Contains(cause, `"ResponseBody":{"message":"no such item"},"StatusCode":"404","StatusText":"Not Found"}`) {
		t.Fatalf("404 cause = %s", cause)
	}
	a.set(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", "https://elsewhere.example/")
		w.WriteHeader(http.StatusFound)
	})
	_, err = call(srv.URL+"/moved", "", 0)
	taskError(t, err, "States.Http.StatusCode.302")
	a.set(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte{0x89, 'P', 'N', 'G'})
	})
	_, err = call(srv.URL+"/img", "", 0)
	taskError(t, err, "States.Runtime")
	a.set(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, strings.Repeat("x", 300<<10))
	})
	_, err = call(srv.URL+"/big", "", 0)
	taskError(t, err, "States.DataLimitExceeded")

	// A task timeout shorter than AWS's 60 s: the server holds the request until the client
	// gives up.
	a.set(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	_, err = call(srv.URL+"/slow", "", 1)
	taskError(t, err, "States.Timeout")

	// Nothing listens on a closed port.
	ln, lerr := net.Listen("tcp", "127.0.0.1:0")
	if lerr != nil {
		t.Fatal(lerr)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	_, err = call(closed+"/x", "", 0)
	// The connection's secret query parameter (tenant=t1) stays out of the cause.
	if cause := taskError(t, err, "States.Http.Socket"); !strings.Contains(cause, "refused") || strings.Contains(cause, "t1") {
		t.Fatalf("socket cause = %s", cause)
	}

	a.set(nil)
	for name, c := range map[string]struct{ params, want string }{
		"forbidden header":        {`,"Headers":{"Authorization":"Bearer x"}`, "States.Runtime"},
		"x-amz header":            {`,"Headers":{"X-Amz-Date":"x"}`, "States.Runtime"},
		"string body and params":  {`,"RequestBody":"raw text"`, "States.Runtime"},
		"bad array format":        {`,"RequestBody":{},"Transform":{"RequestBodyEncoding":"URL_ENCODED","RequestEncodingOptions":{"ArrayFormat":"DOTS"}}`, "States.Runtime"},
		"headers not an object":   {`,"Headers":"x"`, "States.Runtime"},
		"nested query value":      {`,"QueryParameters":{"a":{"b":1}}`, "States.Runtime"},
		"unknown connection":      {`,"Authentication":{"ConnectionArn":"` + arn + `x"}`, "Events.ConnectionResource.ResourceNotFound"},
		"an object is not a body": {`,"RequestBody":[1,2],"Transform":{"RequestBodyEncoding":"URL_ENCODED"}`, "States.Runtime"},
	} {
		t.Run(name, func(t *testing.T) {
			p := `{"ApiEndpoint":"` + srv.URL + `/x","Method":"POST","Authentication":{"ConnectionArn":"` + arn + `"}` + c.params + `}`
			_, err := runHTTP(t, r, p, 0)
			taskError(t, err, c.want)
		})
	}
	for _, p := range []string{
		`{"ApiEndpoint":"ftp://x","Method":"GET","Authentication":{"ConnectionArn":"` + arn + `"}}`,
		`{"ApiEndpoint":"` + srv.URL + `","Method":"TRACE","Authentication":{"ConnectionArn":"` + arn + `"}}`,
		`{"ApiEndpoint":"` + srv.URL + `","Method":"GET"}`,
		`{"Method":"GET","Authentication":{"ConnectionArn":"` + arn + `"}}`,
	} {
		_, err := runHTTP(t, r, p, 0)
		taskError(t, err, "States.Runtime")
	}
}

// TestHTTPTLS calls a TLS server whose certificate no system root signed: refused with
// States.Http.Socket without the CA, answered with it (LoadCABundle, as --ca-bundle).
func TestHTTPTLS(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	srv := httptest.NewTLSServer(&api{})
	t.Cleanup(srv.Close)
	arn := b.connect(t, apiKeyConn)
	params := `{"ApiEndpoint":"` + srv.URL + `/secure","Method":"GET","Authentication":{"ConnectionArn":"` + arn + `"}}`

	_, err := runHTTP(t, b.runner(task.Options{}), params, 0)
	if cause := taskError(t, err, "States.Http.Socket"); !strings.Contains(cause, "certificate") {
		t.Fatalf("TLS cause = %s", cause)
	}

	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemText := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(bundle, pemText, 0o600); err != nil {
		t.Fatal(err)
	}
	roots, err := task.LoadCABundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runHTTP(t, b.runner(task.Options{RootCAs: roots}), params, 0)
	if err != nil || !strings.Contains(out, `"ResponseBody":{"ok":true,"n":1.50},"StatusCode":"200"`) {
		t.Fatalf("with the CA: %s, %v", out, err)
	}

	notPEM := filepath.Join(t.TempDir(), "x.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := task.LoadCABundle(notPEM); err == nil {
		t.Fatal("LoadCABundle accepted a file without certificates")
	}
}

// TestHTTPNoCallback: AWS offers http:invoke only as request-response; a definition asking
// for .waitForTaskToken is refused, and the runner does not take it either.
func TestHTTPNoCallback(t *testing.T) {
	t.Parallel()
	def := `{"StartAt":"H","States":{"H":{"Type":"Task","Resource":"arn:aws:states:::http:invoke.waitForTaskToken",
		"Parameters":{"ApiEndpoint":"https://x","Method":"GET","Authentication":{"ConnectionArn":"arn:aws:events:us-east-1:123456789012:connection/c/1"}},"End":true}}}`
	if _, err := asl.Parse([]byte(def), asl.ParseOptions{}); err == nil {
		t.Fatal("asl.Parse accepted http:invoke.waitForTaskToken")
	}
	_, err := task.New(task.Options{}).Run(context.Background(), &engine.Task{Resource: "arn:aws:states:::http:invoke.waitForTaskToken", Parameters: `{}`})
	taskError(t, err, "States.TaskFailed")
}
