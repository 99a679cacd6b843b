package task

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/events"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
)

// Connections finds the EventBridge connection an HTTP Task names, with its secrets;
// *events.Service is one. An unknown ARN is events.ErrConnectionNotFound.
type Connections interface {
	Connection(ctx context.Context, arn string) (*events.Connection, error)
}

var _ Connections = (*events.Service)(nil)

// httpTimeout is how long an HTTP Task's call may take: AWS fails it with States.Http.Socket
// after 60 seconds, whatever the task's TimeoutSeconds.
const httpTimeout = 60 * time.Second

// maxHTTPBody bounds the response an HTTP Task reads: a result is at most interp.MaxPayload,
// so a larger body could never be recorded; one byte more tells the two apart. AWS asks for
// the same with its Range header.
const maxHTTPBody = interp.MaxPayload + 1

// maxTokenBody bounds an OAuth token endpoint's answer.
const maxTokenBody = 64 << 10

// httpRuntime is the States.Runtime error of a malformed HTTP Task request.
func httpRuntime(format string, args ...any) error {
	return &engine.TaskError{Name: "States.Runtime", Cause: fmt.Sprintf(format, args...)}
}

// forbiddenHeaders may not be set by an HTTP Task's Headers (AWS fails the task with
// States.Runtime), besides the x-forwarded-, x-amz- and x-amzn- prefixes.
var forbiddenHeaders = []string{
	"a-im", "accept-charset", "accept-datetime", "accept-encoding", "authorization", "cache-control", "connection",
	"content-encoding", "content-md5", "date", "expect", "forwarded", "from", "host", "http2-settings", "if-match",
	"if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "max-forwards", "origin", "pragma",
	"proxy-authorization", "referer", "server", "te", "trailer", "transfer-encoding", "upgrade", "via", "warning",
}

func forbiddenHeader(name string) bool {
	l := strings.ToLower(name)
	return strings.HasPrefix(l, "x-forwarded-") || strings.HasPrefix(l, "x-amz-") || strings.HasPrefix(l, "x-amzn-") ||
		slices.Contains(forbiddenHeaders, l)
}

// LoadCABundle returns the machine's trusted roots plus the PEM certificates of file, for
// HTTP Tasks that call servers with a private or self-signed CA (stepline serve/run
// --ca-bundle).
func LoadCABundle(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("task: CA bundle: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("task: CA bundle %s holds no PEM certificate", file)
	}
	return pool, nil
}

// newHTTPClient is the client of HTTP Tasks: redirects are answered, not followed, so that a
// connection's credentials never reach a host the task did not name; proxies come from the
// environment as for any Go program.
func newHTTPClient(roots *x509.CertPool) *http.Client {
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    10 * time.Second,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// httpCall is an HTTP Task's request once its Parameters are read.
type httpCall struct {
	endpoint   *url.URL
	method     string
	headers    []jsonv.Member // in the definition's order, values as text
	query      []jsonv.Member
	body       jsonv.Value // nil: no body
	hasBody    bool
	urlEncoded bool
	arrays     string // INDICES, REPEAT, COMMAS or BRACKETS
	connection string
}

// httpInvoke runs arn:aws:states:::http:invoke: a call to an HTTPS (or, locally, HTTP) API
// authorized by an EventBridge connection, whose header, query and body parameters are merged
// over the task's (the connection's win). The result is {Headers, ResponseBody, StatusCode,
// StatusText}; a status outside 2xx fails the task with States.Http.StatusCode.NNN and that
// result as the cause; a call that could not be made (refused, reset, TLS, 60 s timeout) with
// States.Http.Socket.
func (r *Runner) httpInvoke(ctx context.Context, t *engine.Task) (string, error) {
	o, err := parameterObject(t.Parameters, "http:invoke")
	if err != nil {
		return "", err
	}
	call, err := readHTTPCall(o)
	if err != nil {
		return "", err
	}
	if r.o.Connections == nil {
		return "", &engine.TaskError{Name: "Events.ConnectionResource.InternalError", Cause: "EventBridge connections are not available to this runner"}
	}
	conn, err := r.o.Connections.Connection(ctx, call.connection)
	if errors.Is(err, events.ErrConnectionNotFound) {
		return "", &engine.TaskError{Name: "Events.ConnectionResource.ResourceNotFound",
			Cause: "Connection " + call.connection + " does not exist."}
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("task: reading connection: %w", ctx.Err())
		}
		return "", &engine.TaskError{Name: "Events.ConnectionResource.InternalError", Cause: err.Error()}
	}
	if conn.State != events.StateAuthorized {
		return "", &engine.TaskError{Name: "Events.ConnectionResource.InvalidConnectionState",
			Cause: "Connection " + conn.Arn + " is " + conn.State + ", not AUTHORIZED."}
	}
	if err := call.merge(conn); err != nil {
		return "", err
	}
	body, err := call.encodeBody()
	if err != nil {
		return "", err
	}
	limit, byTask := httpTimeout, false
	if t.TimeoutSeconds > 0 && time.Duration(t.TimeoutSeconds)*time.Second < limit {
		limit, byTask = time.Duration(t.TimeoutSeconds)*time.Second, true
	}
	ctx, cancel := context.WithTimeoutCause(ctx, limit, errHTTPTimeout)
	defer cancel()

	res, err := r.httpSend(ctx, call, body, conn)
	if err != nil {
		if context.Cause(ctx) == errHTTPTimeout {
			if byTask {
				return "", &engine.TaskError{Name: "States.Timeout", Cause: ""}
			}
			return "", &engine.TaskError{Name: "States.Http.Socket",
				Cause: fmt.Sprintf("The HTTP request to %s did not complete within %d seconds", where(call.endpoint), int(limit/time.Second))}
		}
		return "", err
	}
	out := jsonv.String(res.result)
	if res.status < 200 || res.status > 299 {
		return "", &engine.TaskError{Name: "States.Http.StatusCode." + strconv.Itoa(res.status), Cause: out}
	}
	if len(out) > interp.MaxPayload {
		return "", dataLimit("http")
	}
	return out, nil
}

var errHTTPTimeout = errors.New("the HTTP Task's time limit passed")

// readHTTPCall reads http:invoke's Parameters.
func readHTTPCall(o *jsonv.Object) (*httpCall, error) {
	c := &httpCall{arrays: "INDICES"}
	var endpoint string
	if err := stringField(o, "ApiEndpoint", &endpoint, true); err != nil {
		return nil, err
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, httpRuntime("The ApiEndpoint %q is not an HTTPS URL", endpoint)
	}
	c.endpoint = u
	if err := stringField(o, "Method", &c.method, true); err != nil {
		return nil, err
	}
	switch c.method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions, http.MethodHead:
	default:
		return nil, httpRuntime("The Method %q is not one of GET, POST, PUT, DELETE, PATCH, OPTIONS and HEAD", c.method)
	}
	for _, field := range []string{"InvocationConfig", "Authentication"} {
		if a, ok := get(o, field).(*jsonv.Object); ok {
			if arn, ok := get(a, "ConnectionArn").(string); ok && arn != "" {
				c.connection = arn
				break
			}
		}
	}
	if c.connection == "" {
		return nil, httpRuntime("An HTTP Task needs Authentication.ConnectionArn (or InvocationConfig.ConnectionArn): the EventBridge connection that authorizes its calls")
	}
	switch h := get(o, "Headers").(type) {
	case nil:
	case *jsonv.Object:
		for _, m := range h.Members() {
			if forbiddenHeader(m.Key) {
				return nil, httpRuntime("The header %s may not be set by an HTTP Task", m.Key)
			}
			for _, v := range listOf(m.Value) {
				s, err := scalarText(v, "Headers."+m.Key)
				if err != nil {
					return nil, err
				}
				c.headers = append(c.headers, jsonv.Member{Key: m.Key, Value: s})
			}
		}
	default:
		return nil, httpRuntime("The field Headers must be an object, not %s", jsonv.TypeName(h))
	}
	switch q := get(o, "QueryParameters").(type) {
	case nil:
	case *jsonv.Object:
		for _, m := range q.Members() {
			for _, v := range listOf(m.Value) {
				s, err := scalarText(v, "QueryParameters."+m.Key)
				if err != nil {
					return nil, err
				}
				c.query = append(c.query, jsonv.Member{Key: m.Key, Value: s})
			}
		}
	case string:
		vals, err := url.ParseQuery(strings.TrimPrefix(q, "?"))
		if err != nil {
			return nil, httpRuntime("The QueryParameters %q are not a query string: %v", q, err)
		}
		for _, k := range sortedKeys(vals) {
			for _, v := range vals[k] {
				c.query = append(c.query, jsonv.Member{Key: k, Value: v})
			}
		}
	default:
		return nil, httpRuntime("The field QueryParameters must be an object or a string, not %s", jsonv.TypeName(q))
	}
	if v, ok := o.Get("RequestBody"); ok && v != nil {
		c.body, c.hasBody = v, true
	}
	if tr, ok := get(o, "Transform").(*jsonv.Object); ok {
		switch enc, _ := get(tr, "RequestBodyEncoding").(string); enc {
		case "", "NONE":
		case "URL_ENCODED":
			c.urlEncoded = true
		default:
			return nil, httpRuntime("The RequestBodyEncoding %q is not NONE or URL_ENCODED", enc)
		}
		if opts, ok := get(tr, "RequestEncodingOptions").(*jsonv.Object); ok {
			switch f, _ := get(opts, "ArrayFormat").(string); f {
			case "":
			case "INDICES", "REPEAT", "COMMAS", "BRACKETS":
				c.arrays = f
			default:
				return nil, httpRuntime("The ArrayFormat %q is not INDICES, REPEAT, COMMAS or BRACKETS", f)
			}
		}
	}
	return c, nil
}

// listOf is v's elements when v is an array, else v alone.
func listOf(v jsonv.Value) []jsonv.Value {
	if a, ok := v.([]jsonv.Value); ok {
		return a
	}
	return []jsonv.Value{v}
}

// scalarText is a header or query value as text: strings as they are, numbers as written,
// booleans and null as JSON.
func scalarText(v jsonv.Value, where string) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case jsonv.Number:
		return string(v), nil
	case bool, nil:
		return jsonv.String(v), nil
	}
	return "", httpRuntime("The value of %s must be a string, a number or a boolean, not %s", where, jsonv.TypeName(v))
}

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// merge adds the connection's invocation parameters to the call; on a clash the connection's
// value wins (headers compared without case, as HTTP does).
func (c *httpCall) merge(conn *events.Connection) error {
	p := conn.Auth.Invocation
	if p == nil {
		return nil
	}
	for _, h := range p.HeaderParameters {
		c.headers = slices.DeleteFunc(c.headers, func(m jsonv.Member) bool { return strings.EqualFold(m.Key, h.Key) })
		c.headers = append(c.headers, jsonv.Member{Key: h.Key, Value: h.Value})
	}
	for _, q := range p.QueryStringParameters {
		c.query = slices.DeleteFunc(c.query, func(m jsonv.Member) bool { return m.Key == q.Key })
		c.query = append(c.query, jsonv.Member{Key: q.Key, Value: q.Value})
	}
	if len(p.BodyParameters) == 0 {
		return nil
	}
	var body *jsonv.Object
	switch b := c.body.(type) {
	case nil:
		body = jsonv.NewObject(len(p.BodyParameters))
	case *jsonv.Object:
		body = jsonv.ObjectOf(b.Members()...) // a copy: the parameters stay as the task gave them
	default:
		return httpRuntime("The RequestBody is %s and the connection %s has body parameters: only an object can be merged with them", jsonv.TypeName(b), conn.Arn)
	}
	for _, q := range p.BodyParameters {
		body.Set(q.Key, q.Value)
	}
	c.body, c.hasBody = body, true
	return nil
}

// encodeBody is the request body: a string as its text, anything else as JSON, or form data
// with URL_ENCODED.
func (c *httpCall) encodeBody() ([]byte, error) {
	if !c.hasBody {
		return nil, nil
	}
	if s, ok := c.body.(string); ok {
		return []byte(s), nil
	}
	if !c.urlEncoded {
		return jsonv.Append(nil, c.body), nil
	}
	o, ok := c.body.(*jsonv.Object)
	if !ok {
		return nil, httpRuntime("A URL_ENCODED RequestBody must be an object, not %s", jsonv.TypeName(c.body))
	}
	var pairs []string
	for _, m := range o.Members() {
		pairs = appendForm(pairs, m.Key, m.Value, c.arrays)
	}
	return []byte(strings.Join(pairs, "&")), nil
}

// appendForm adds key=value pairs for v under key, nesting objects as key[member] and arrays
// as the array format says: INDICES key[0]=a&key[1]=b, REPEAT key=a&key=b, COMMAS key=a,b,
// BRACKETS key[]=a&key[]=b. Keys and values are percent-encoded as JavaScript's
// encodeURIComponent does (spaces as %20), as AWS's example shows.
func appendForm(pairs []string, key string, v jsonv.Value, arrays string) []string {
	switch v := v.(type) {
	case *jsonv.Object:
		for _, m := range v.Members() {
			pairs = appendForm(pairs, key+"["+m.Key+"]", m.Value, arrays)
		}
		return pairs
	case []jsonv.Value:
		if arrays == "COMMAS" {
			parts := make([]string, 0, len(v))
			for _, e := range v {
				parts = append(parts, formText(e))
			}
			return append(pairs, encodeURIComponent(key)+"="+encodeURIComponent(strings.Join(parts, ",")))
		}
		for i, e := range v {
			k := key
			switch arrays {
			case "INDICES":
				k = key + "[" + strconv.Itoa(i) + "]"
			case "BRACKETS":
				k = key + "[]"
			}
			pairs = appendForm(pairs, k, e, arrays)
		}
		return pairs
	}
	return append(pairs, encodeURIComponent(key)+"="+encodeURIComponent(formText(v)))
}

// formText is a scalar as form text; null is empty, as qs renders it.
func formText(v jsonv.Value) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	case jsonv.Number:
		return string(v)
	}
	return jsonv.String(v)
}

// encodeURIComponent escapes all but A-Z a-z 0-9 - _ . ! ~ * ' ( ).
func encodeURIComponent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || strings.IndexByte("-_.!~*'()", ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", ch)
	}
	return b.String()
}

// httpResult is a completed call: its status and the task's result object.
type httpResult struct {
	status int
	result *jsonv.Object
}

// httpSend makes the call, authorized as the connection says. An OAuth token that was cached
// and is answered 401 is fetched again and the call made once more.
func (r *Runner) httpSend(ctx context.Context, c *httpCall, body []byte, conn *events.Connection) (*httpResult, error) {
	for attempt := 0; ; attempt++ {
		req, err := r.httpRequest(ctx, c, body)
		if err != nil {
			return nil, err
		}
		fresh := false
		switch conn.AuthorizationType {
		case events.AuthAPIKey:
			if k := conn.Auth.APIKey; k != nil {
				req.Header.Set(k.APIKeyName, k.APIKeyValue)
			}
		case events.AuthBasic:
			if b := conn.Auth.Basic; b != nil {
				req.SetBasicAuth(b.Username, b.Password)
			}
		case events.AuthOAuth:
			var tok string
			tok, fresh, err = r.oauthToken(ctx, conn, attempt > 0)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := r.httpDo(req)
		if err != nil {
			return nil, err
		}
		refused := res.status == http.StatusUnauthorized || res.status == http.StatusProxyAuthRequired
		if refused && conn.AuthorizationType == events.AuthOAuth && !fresh && attempt == 0 {
			continue // the cached token was revoked or expired early: fetch a new one, as EventBridge does on 401 and 407
		}
		return res, nil
	}
}

// httpRequest builds the request: the endpoint with the query appended, the task's and the
// connection's headers, and the headers AWS sets (User-Agent, Range).
func (r *Runner) httpRequest(ctx context.Context, c *httpCall, body []byte) (*http.Request, error) {
	u := *c.endpoint
	if len(c.query) > 0 {
		q := u.RawQuery
		for _, m := range c.query {
			if q != "" {
				q += "&"
			}
			q += encodeURIComponent(m.Key) + "=" + encodeURIComponent(m.Value.(string))
		}
		u.RawQuery = q
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, u.String(), rd)
	if err != nil {
		return nil, httpRuntime("The HTTP request could not be made: %v", err)
	}
	for _, h := range c.headers {
		req.Header.Add(h.Key, h.Value.(string))
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		if c.urlEncoded {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req.Header.Set("Content-Type", "application/json; charset=UTF-8")
		}
	}
	req.Header.Set("User-Agent", "Amazon|StepFunctions|HttpInvoke|"+r.o.Region)
	req.Header.Set("Range", "bytes=0-262144")
	return req, nil
}

// httpDo sends req and reads the answer into the task's result.
func (r *Runner) httpDo(req *http.Request) (*httpResult, error) {
	ctx := req.Context()
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, r.socketError(ctx, req, err)
	}
	defer resp.Body.Close()
	media, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if media == "application/octet-stream" || strings.HasPrefix(media, "image/") || strings.HasPrefix(media, "video/") || strings.HasPrefix(media, "audio/") {
		return nil, httpRuntime("The HTTP response has the content type %s, which an HTTP Task does not support", media)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTPBody))
	if err != nil {
		return nil, r.socketError(ctx, req, err)
	}
	if len(data) > interp.MaxPayload {
		return nil, dataLimit("http")
	}
	if !utf8.Valid(data) {
		return nil, httpRuntime("The HTTP response body is not text")
	}
	headers := jsonv.NewObject(len(resp.Header))
	names := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		vals := make([]jsonv.Value, len(resp.Header[k]))
		for i, v := range resp.Header[k] {
			vals[i] = v
		}
		headers.Set(strings.ToLower(k), vals)
	}
	var rb jsonv.Value = string(data)
	if media == "application/json" || strings.HasSuffix(media, "+json") {
		if v, err := jsonv.Parse(data); err == nil {
			rb = v
		}
	}
	text := strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	if text == "" {
		text = http.StatusText(resp.StatusCode)
	}
	out := jsonv.ObjectOf(
		jsonv.Member{Key: "Headers", Value: headers},
		jsonv.Member{Key: "ResponseBody", Value: rb},
		jsonv.Member{Key: "StatusCode", Value: strconv.Itoa(resp.StatusCode)},
		jsonv.Member{Key: "StatusText", Value: text},
	)
	return &httpResult{status: resp.StatusCode, result: out}, nil
}

// where names a request's target in a cause: no query and no user, since a connection's
// (secret) query parameters would otherwise reach the execution's history.
func where(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// socketError is a call that got no answer: States.Http.Socket with what went wrong (refused,
// reset, a certificate not trusted), or the context's end when the engine stopped.
func (r *Runner) socketError(ctx context.Context, req *http.Request, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("task: HTTP call to %s: %w", where(req.URL), ctx.Err())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its text holds the whole URL
	}
	return &engine.TaskError{Name: "States.Http.Socket", Cause: fmt.Sprintf("The HTTP request to %s failed: %v", where(req.URL), err)}
}

// oauthTokens caches OAuth client-credentials tokens by connection, for the version of the
// connection they were fetched with; one fetch per connection at a time.
type oauthTokens struct {
	mu sync.Mutex
	m  map[string]*oauthToken // by connection ARN
}

type oauthToken struct {
	mu      sync.Mutex // held while fetching
	version int64
	token   string
	expires time.Time // zero: until refused
}

// oauthToken returns a token for conn: the cached one unless it expired, its connection
// changed, or refresh asks for a new one; fresh says it was fetched now.
func (r *Runner) oauthToken(ctx context.Context, conn *events.Connection, refresh bool) (tok string, fresh bool, err error) {
	r.tokens.mu.Lock()
	e := r.tokens.m[conn.Arn]
	if e == nil {
		e = &oauthToken{}
		r.tokens.m[conn.Arn] = e
	}
	r.tokens.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	now := r.o.Clock.Now()
	if !refresh && e.token != "" && e.version == conn.Version && (e.expires.IsZero() || now.Before(e.expires)) {
		return e.token, false, nil
	}
	tok, ttl, err := r.fetchToken(ctx, conn)
	if err != nil {
		e.token = ""
		return "", false, err
	}
	e.version, e.token, e.expires = conn.Version, tok, time.Time{}
	if ttl > 0 {
		// Renewed a little before it expires (a tenth of its life, a minute at most), as
		// EventBridge renews a token about to expire, so that no call carries a token that
		// lapses on its way.
		e.expires = now.Add(ttl - min(ttl/10, time.Minute))
	}
	return tok, true, nil
}

// fetchToken asks the connection's AuthorizationEndpoint for a client-credentials token: the
// client's id and secret as basic credentials, grant_type=client_credentials and the
// OAuthHttpParameters (body parameters form-encoded, in the query for GET).
func (r *Runner) fetchToken(ctx context.Context, conn *events.Connection) (string, time.Duration, error) {
	o := conn.Auth.OAuth
	if o == nil || o.ClientParameters == nil {
		return "", 0, &engine.TaskError{Name: "Events.ConnectionResource.InvalidConnectionState", Cause: "Connection " + conn.Arn + " has no OAuth parameters."}
	}
	u, err := url.Parse(o.AuthorizationEndpoint)
	if err != nil {
		return "", 0, &engine.TaskError{Name: "Events.ConnectionResource.InvalidConnectionState", Cause: err.Error()}
	}
	form := []string{"grant_type=client_credentials"}
	var headers, query []events.Parameter
	if p := o.OAuthHTTPParameters; p != nil {
		for _, b := range p.BodyParameters {
			form = append(form, encodeURIComponent(b.Key)+"="+encodeURIComponent(b.Value))
		}
		headers, query = p.HeaderParameters, p.QueryStringParameters
	}
	q := u.Query()
	for _, p := range query {
		q.Set(p.Key, p.Value)
	}
	var body io.Reader
	if o.HTTPMethod == http.MethodGet {
		for _, f := range form {
			k, v, _ := strings.Cut(f, "=")
			k, _ = url.QueryUnescape(k)
			v, _ = url.QueryUnescape(v)
			q.Set(k, v)
		}
	} else {
		body = strings.NewReader(strings.Join(form, "&"))
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, o.HTTPMethod, u.String(), body)
	if err != nil {
		return "", 0, &engine.TaskError{Name: "Events.ConnectionResource.InvalidConnectionState", Cause: err.Error()}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	for _, h := range headers {
		req.Header.Set(h.Key, h.Value)
	}
	req.SetBasicAuth(o.ClientParameters.ClientID, o.ClientParameters.ClientSecret)
	resp, err := r.http.Do(req)
	if err != nil {
		return "", 0, r.socketError(ctx, req, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return "", 0, r.socketError(ctx, req, err)
	}
	var tok struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if resp.StatusCode/100 != 2 || json.Unmarshal(data, &tok) != nil || tok.AccessToken == "" {
		return "", 0, &engine.TaskError{Name: "Events.ConnectionResource.InvalidConnectionState",
			Cause: fmt.Sprintf("The OAuth token endpoint %s of connection %s answered %s without an access_token: %.200s", where(u), conn.Arn, resp.Status, data)}
	}
	// expires_in is a number of seconds; some servers send it as a string.
	secs, _ := strconv.ParseFloat(strings.Trim(string(tok.ExpiresIn), `"`), 64)
	return tok.AccessToken, time.Duration(secs * float64(time.Second)), nil
}
