package sigv4_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/stepline/stepline/internal/sigv4"
)

func TestLoadCredentials(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		want    sigv4.Credentials
		wantErr string
	}{
		{"pairs, comments and blank lines", "# local keys\nAKID1 secret1\n\n  AKID2\tsecret2  \n",
			sigv4.Credentials{"AKID1": "secret1", "AKID2": "secret2"}, ""},
		{"a line without a secret", "AKID1\n", nil, ":1: want an access key id and a secret key"},
		{"a line with three fields", "AKID1 s1\nAKID2 s 2\n", nil, ":2: want an access key id and a secret key"},
		{"a key twice", "AKID1 a\nAKID1 b\n", nil, "access key AKID1 appears twice"},
		{"no key at all", "# nobody\n", nil, "holds no access key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := sigv4.LoadCredentials(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("LoadCredentials = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := sigv4.LoadCredentials(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing file loaded")
	}
}

var (
	creds = sigv4.Credentials{"AKIDEXAMPLE": "secret"}
	// now is the server's clock in these tests; requests are signed at signedAt.
	now      = time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	signedAt = now.Add(-time.Minute)
)

// verifier is a server that verifies every request it gets at the given time, so that requests
// reach Verify as Go's server hands them over (Host and Content-Length out of the header map).
func verifier(t *testing.T, at *time.Time) (url string, results <-chan error) {
	t.Helper()
	ch := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = creds.Verify(r, body, *at)
		}
		ch <- err
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

func send(t *testing.T, req *http.Request, results <-chan error) error {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return <-results
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// wantReason checks err is nil (reason 0) or an *sigv4.Error for that reason.
func wantReason(t *testing.T, err error, want sigv4.Reason) {
	t.Helper()
	if want == 0 {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var se *sigv4.Error
	if !errors.As(err, &se) || se.Reason != want {
		t.Fatalf("error %v, want reason %d", err, want)
	}
	if se.Status != http.StatusBadRequest || se.Code == "" || se.Message == "" {
		t.Fatalf("error %+v lacks its code, message or status", se)
	}
}

// TestVerifyHeader signs requests with the AWS SDK's own signer, as each service's client
// does, and changes them after signing.
func TestVerifyHeader(t *testing.T) {
	at := now
	base, results := verifier(t, &at)
	type request struct {
		method, path, query, body string
		service, key, secret      string
		contentHash               string // X-Amz-Content-Sha256, as S3 clients send it
		s3Paths                   bool   // S3 signs the path as sent
	}
	sfn := request{method: "POST", path: "/", body: `{"maxResults":5}`, service: "states"}
	tests := []struct {
		name   string
		req    request
		at     time.Time
		change func(*http.Request)
		want   sigv4.Reason
	}{
		{name: "Step Functions", req: sfn},
		{name: "a Lambda path with an escaped ARN, signed escaped once more",
			req: request{method: "GET", path: "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/configuration",
				query: "Qualifier=%24LATEST", service: "lambda"}},
		{name: "S3 with an unsigned payload and a path signed as sent",
			req: request{method: "PUT", path: "/bucket/a%20key/x~y.txt", body: "some bytes", service: "s3",
				contentHash: "UNSIGNED-PAYLOAD", s3Paths: true}},
		{name: "S3 with the body's hash",
			req: request{method: "PUT", path: "/bucket/k", body: "some bytes", service: "s3", contentHash: hashOf("some bytes"), s3Paths: true}},
		{name: "S3 with a wrong body hash",
			req:  request{method: "PUT", path: "/bucket/k", body: "some bytes", service: "s3", contentHash: hashOf("other bytes"), s3Paths: true},
			want: sigv4.BadContentHash},
		{name: "a query with spaces and reserved characters",
			req: request{method: "GET", path: "/2015-03-31/functions/", query: "Marker=a%2Bb%20c&MaxItems=5", service: "lambda"}},
		{name: "an unknown key", req: request{method: "POST", path: "/", service: "states", key: "AKIDNOPE"}, want: sigv4.UnknownKey},
		{name: "a wrong secret", req: request{method: "POST", path: "/", service: "states", secret: "guess"}, want: sigv4.Mismatch},
		{name: "a body changed after signing", req: sfn, change: func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"maxResults":6}`))
			r.ContentLength = 16
		}, want: sigv4.Mismatch},
		{name: "a query changed after signing", req: request{method: "GET", path: "/2015-03-31/functions/", query: "MaxItems=5", service: "lambda"},
			change: func(r *http.Request) { r.URL.RawQuery = "MaxItems=6" }, want: sigv4.Mismatch},
		{name: "a path changed after signing", req: request{method: "GET", path: "/2015-03-31/functions/f", service: "lambda"},
			change: func(r *http.Request) { r.URL.Path = "/2015-03-31/functions/g" }, want: sigv4.Mismatch},
		{name: "a clock 14 minutes behind", req: sfn, at: signedAt.Add(14 * time.Minute)},
		{name: "a clock 16 minutes behind", req: sfn, at: signedAt.Add(16 * time.Minute), want: sigv4.Skew},
		{name: "a clock 16 minutes ahead", req: sfn, at: signedAt.Add(-16 * time.Minute), want: sigv4.Skew},
		{name: "no X-Amz-Date", req: sfn, change: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, want: sigv4.Incomplete},
		{name: "a date that is not the scope's", req: sfn, change: func(r *http.Request) {
			r.Header.Set("X-Amz-Date", signedAt.Add(48*time.Hour).Format("20060102T150405Z"))
		}, want: sigv4.Mismatch},
		{name: "unsigned", req: sfn, change: func(r *http.Request) { r.Header.Del("Authorization") }, want: sigv4.Missing},
		{name: "another algorithm", req: sfn, change: func(r *http.Request) { r.Header.Set("Authorization", "AWS3 x") }, want: sigv4.Incomplete},
		{name: "a presigned query as well", req: sfn, change: func(r *http.Request) { r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256" },
			want: sigv4.Incomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at = now
			if !tt.at.IsZero() {
				at = tt.at
			}
			key, secret := tt.req.key, tt.req.secret
			if key == "" {
				key = "AKIDEXAMPLE"
			}
			if secret == "" {
				secret = "secret"
			}
			req, err := http.NewRequest(tt.req.method, base+tt.req.path, strings.NewReader(tt.req.body))
			if err != nil {
				t.Fatal(err)
			}
			req.URL.RawQuery = tt.req.query
			if tt.req.body == "" {
				req.Body, req.ContentLength = http.NoBody, 0
			}
			payload := hashOf(tt.req.body)
			if tt.req.contentHash != "" {
				req.Header.Set("X-Amz-Content-Sha256", tt.req.contentHash)
				payload = tt.req.contentHash
				if payload != "UNSIGNED-PAYLOAD" {
					payload = hashOf(tt.req.body) // a wrong header still signs the real hash: the header is the lie
				}
			}
			err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
				req, payload, tt.req.service, "eu-west-1", signedAt, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = tt.req.s3Paths })
			if err != nil {
				t.Fatal(err)
			}
			if tt.change != nil {
				tt.change(req)
			}
			wantReason(t, send(t, req, results), tt.want)
		})
	}
}

// TestVerifyPresigned checks URLs presigned as S3's presigner makes them, and as other
// services' presigners do (the hash of an empty body instead of UNSIGNED-PAYLOAD).
func TestVerifyPresigned(t *testing.T) {
	at := now
	base, results := verifier(t, &at)
	tests := []struct {
		name    string
		method  string
		path    string
		service string
		expires string
		at      time.Time
		change  func(*http.Request)
		want    sigv4.Reason
	}{
		{name: "an S3 GET", method: "GET", path: "/bucket/dir/a%20file.txt", service: "s3", expires: "900"},
		{name: "an S3 PUT with a body", method: "PUT", path: "/bucket/up.bin", service: "s3", expires: "900"},
		{name: "another service", method: "GET", path: "/", service: "sts", expires: "60"},
		{name: "just before it expires", method: "GET", path: "/bucket/k", service: "s3", expires: "900", at: signedAt.Add(900 * time.Second)},
		{name: "expired", method: "GET", path: "/bucket/k", service: "s3", expires: "900", at: signedAt.Add(901 * time.Second), want: sigv4.Expired},
		{name: "not valid yet", method: "GET", path: "/bucket/k", service: "s3", expires: "900", at: signedAt.Add(-16 * time.Minute), want: sigv4.Skew},
		{name: "longer than a week", method: "GET", path: "/bucket/k", service: "s3", expires: "604801", want: sigv4.Incomplete},
		{name: "no expiry", method: "GET", path: "/bucket/k", service: "s3", want: sigv4.Incomplete},
		{name: "its expiry lengthened", method: "GET", path: "/bucket/k", service: "s3", expires: "900", change: func(r *http.Request) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=900", "X-Amz-Expires=9000", 1)
		}, want: sigv4.Mismatch},
		{name: "another key's object", method: "GET", path: "/bucket/k", service: "s3", expires: "900", change: func(r *http.Request) {
			r.URL.Path = "/bucket/other"
		}, want: sigv4.Mismatch},
		{name: "no signature", method: "GET", path: "/bucket/k", service: "s3", expires: "900", change: func(r *http.Request) {
			q := r.URL.Query()
			q.Del("X-Amz-Signature")
			r.URL.RawQuery = q.Encode()
		}, want: sigv4.Incomplete},
		{name: "an Authorization header as well", method: "GET", path: "/bucket/k", service: "s3", expires: "900", change: func(r *http.Request) {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
		}, want: sigv4.Incomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at = now
			if !tt.at.IsZero() {
				at = tt.at
			}
			req, err := http.NewRequest(tt.method, base+tt.path, http.NoBody)
			if err != nil {
				t.Fatal(err)
			}
			if tt.expires != "" {
				req.URL.RawQuery = "X-Amz-Expires=" + tt.expires
			}
			payload := hashOf("")
			if tt.service == "s3" {
				payload = "UNSIGNED-PAYLOAD"
			}
			u, headers, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"},
				req, payload, tt.service, "us-east-1", signedAt, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = tt.service == "s3" })
			if err != nil {
				t.Fatal(err)
			}
			var body io.Reader = http.NoBody
			if tt.method == "PUT" {
				body = strings.NewReader("bytes the URL does not sign")
			}
			req, err = http.NewRequest(tt.method, u, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range headers {
				if k != "Host" {
					req.Header[k] = v
				}
			}
			if tt.change != nil {
				tt.change(req)
			}
			wantReason(t, send(t, req, results), tt.want)
		})
	}
}

func TestServiceOf(t *testing.T) {
	tests := []struct {
		name, auth, query, want string
	}{
		{"header", "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=ab", "", "lambda"},
		{"header without spaces", "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/states/aws4_request,SignedHeaders=host,Signature=ab", "", "states"},
		{"presigned", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261206%2Fus-east-1%2Fs3%2Faws4_request", "s3"},
		{"unsigned", "", "", ""},
		{"a short scope", "AWS4-HMAC-SHA256 Credential=AKID/20261206/s3, Signature=ab", "", ""},
		{"another scheme", "Bearer token", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/?"+tt.query, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if got := sigv4.ServiceOf(r); got != tt.want {
				t.Fatalf("ServiceOf = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestS3Words checks S3's codes, which differ from the JSON services', for each reason.
func TestS3Words(t *testing.T) {
	r := httptest.NewRequest("GET", "/bucket/k", nil)
	err := creds.Verify(r, nil, now)
	var se *sigv4.Error
	if !errors.As(err, &se) {
		t.Fatalf("Verify of an unsigned request = %v", err)
	}
	if code, status, msg := se.S3(); code != "AccessDenied" || status != http.StatusForbidden || msg != "Access Denied" {
		t.Errorf("S3 words of an unsigned request: %s %d %q", code, status, msg)
	}
	if se.Code != "MissingAuthenticationTokenException" || se.Message != "Missing Authentication Token" {
		t.Errorf("JSON words of an unsigned request: %s %q", se.Code, se.Message)
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x")
	if err := creds.Verify(r, nil, now); !errors.As(err, &se) {
		t.Fatal(err)
	}
	if code, status, msg := se.S3(); code != "AuthorizationHeaderMalformed" || status != http.StatusBadRequest || msg != se.Message {
		t.Errorf("S3 words of a malformed header: %s %d %q", code, status, msg)
	}
}

// BenchmarkVerify is the cost --auth adds to a Step Functions request (a 200-byte body).
func BenchmarkVerify(b *testing.B) {
	body := `{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:bench","input":"{\"n\":1}","name":"` + strings.Repeat("x", 80) + `"}`
	req := httptest.NewRequest("POST", "http://127.0.0.1:8083/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "AWSStepFunctions.StartExecution")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"},
		req, hashOf(body), "states", "us-east-1", signedAt); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := creds.Verify(req, []byte(body), now); err != nil {
			b.Fatal(err)
		}
	}
}
