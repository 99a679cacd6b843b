package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/sigv4"
)

// echo is a service that answers with its name and the body it got, so that a test sees
// where a request went and that the router gave the body back after reading it.
func echo(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Served-By", name)
		_, _ = w.Write(b)
	})
}

// routerFor serves a router with a JSON service (states), a REST-JSON one (lambda) and a
// REST-XML one (s3), each bounded to 64 bytes of body, as build wires the real ones.
func routerFor(t *testing.T, auth sigv4.Credentials, now time.Time) string {
	t.Helper()
	rt := newRouter([]*route{
		{name: "states", title: "Step Functions", target: "AWSStepFunctions.", contentType: "application/x-amz-json-1.0",
			protocol: awsJSON, maxBody: 64, handler: echo("states")},
		{name: "lambda", title: "Lambda", protocol: restJSON, maxBody: 64, handler: echo("lambda")},
		{name: "s3", title: "S3", protocol: restXML, maxBody: 64, handler: echo("s3")},
	}, auth, &clock.Fake{T: now}, slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	mux.Handle("POST /{$}", rt.serve("states"))
	mux.Handle("GET /healthz", echo("health"))
	rt.other = mux
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return srv.URL
}

type call struct {
	method, path, body string
	header             map[string]string
	// service and key sign the request for that service with that access key; "" leaves it
	// unsigned.
	service, key string
}

type answer struct {
	status    int
	servedBy  string
	errorType string // X-Amzn-Errortype
	body      string
}

func do(t *testing.T, base string, c call, signedAt time.Time) answer {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	if c.service != "" {
		sum := sha256.Sum256([]byte(c.body))
		err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.key, SecretAccessKey: "secret"},
			req, hex.EncodeToString(sum[:]), c.service, "us-east-1", signedAt, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = c.service == "s3" })
		if err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("X-Served-By"), resp.Header.Get("X-Amzn-Errortype"), string(b)}
}

// jsonError and xmlError read an error body in each protocol's shape.
type jsonError struct {
	Type    string `json:"__type"`
	RType   string `json:"Type"`
	Message string `json:"message"`
}

type xmlError struct {
	XMLName xml.Name
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
	// Error is the query protocol's wrapper.
	Error struct {
		Type, Code, Message string
	}
}

func TestRouterRoutes(t *testing.T) {
	now := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	base := routerFor(t, nil, now)
	sfnTarget := map[string]string{"X-Amz-Target": "AWSStepFunctions.ListStateMachines", "Content-Type": "application/x-amz-json-1.0"}
	tests := []struct {
		name      string
		call      call
		status    int
		servedBy  string
		errorType string // X-Amzn-Errortype, or an XML error's Code
		// shape is how the error body is read: "json" ({"__type"}), "rest-json" ({"Type"}),
		// "s3" (<Error>), "query" (<ErrorResponse><Error>).
		shape   string
		message string
	}{
		{name: "Step Functions by target", call: call{method: "POST", path: "/", body: `{}`, header: sfnTarget, service: "states", key: "k"},
			status: 200, servedBy: "states"},
		{name: "Step Functions unsigned", call: call{method: "POST", path: "/", body: `{}`, header: sfnTarget}, status: 200, servedBy: "states"},
		{name: "Step Functions signed for another service", call: call{method: "POST", path: "/", body: `{}`, header: sfnTarget, service: "sqs", key: "k"},
			status: 200, servedBy: "states"},
		{name: "a request signed for states without a target", call: call{method: "POST", path: "/", body: `{}`, service: "states", key: "k"},
			status: 200, servedBy: "states"},
		{name: "an unsigned POST / without a target", call: call{method: "POST", path: "/", body: `{}`}, status: 200, servedBy: "states"},
		{name: "Lambda by its signing name", call: call{method: "GET", path: "/2015-03-31/functions/", service: "lambda", key: "k"},
			status: 200, servedBy: "lambda"},
		{name: "S3 by its signing name", call: call{method: "PUT", path: "/bucket/key", body: "bytes", service: "s3", key: "k"},
			status: 200, servedBy: "s3"},
		{name: "health", call: call{method: "GET", path: "/healthz"}, status: 200, servedBy: "health"},
		{name: "an unsigned GET of anything else", call: call{method: "GET", path: "/executions/x"}, status: 404},
		{name: "SQS over JSON", call: call{method: "POST", path: "/", body: `{}`, service: "sqs", key: "k",
			header: map[string]string{"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": "application/x-amz-json-1.0"}},
			status: 501, errorType: "NotImplemented", shape: "json",
			message: "Stepline does not serve the AWS service sqs (X-Amz-Target AmazonSQS.ListQueues); it serves Step Functions (states), Lambda (lambda), S3 (s3)"},
		{name: "DynamoDB unsigned", call: call{method: "POST", path: "/", body: `{}`,
			header: map[string]string{"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"}},
			status: 501, errorType: "NotImplemented", shape: "json", message: "Stepline does not serve the AWS service DynamoDB_20120810 (X-Amz-Target DynamoDB_20120810.PutItem)"},
		{name: "an unknown target signed for states", call: call{method: "POST", path: "/", body: `{}`, service: "states", key: "k",
			header: map[string]string{"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"}},
			status: 501, errorType: "NotImplemented", shape: "json", message: "the AWS service AWSEvents (X-Amz-Target AWSEvents.PutEvents)"},
		{name: "SNS over the query protocol", call: call{method: "POST", path: "/", body: "Action=ListTopics&Version=2010-03-31", service: "sns", key: "k",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}},
			status: 501, errorType: "NotImplemented", shape: "query", message: "Stepline does not serve the AWS service sns (signed for sns)"},
		{name: "Scheduler over REST-JSON", call: call{method: "GET", path: "/schedules", service: "scheduler", key: "k"},
			status: 501, errorType: "NotImplemented", shape: "rest-json", message: "Stepline does not serve the AWS service scheduler (signed for scheduler)"},
		{name: "Route 53 over REST-XML", call: call{method: "GET", path: "/2013-04-01/hostedzone", service: "route53", key: "k"},
			status: 501, errorType: "NotImplemented", shape: "query", message: "Stepline does not serve the AWS service route53"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, base, tt.call, now)
			if a.status != tt.status || a.servedBy != tt.servedBy {
				t.Fatalf("answered %d by %q: %s; want %d by %q", a.status, a.servedBy, a.body, tt.status, tt.servedBy)
			}
			if tt.servedBy != "" && a.body != tt.call.body {
				t.Errorf("the service got body %q, want %q", a.body, tt.call.body)
			}
			if tt.shape != "" {
				checkError(t, a, tt.shape, tt.errorType, tt.message)
			}
		})
	}
}

// checkError reads an error answer in its protocol's shape.
func checkError(t *testing.T, a answer, shape, code, message string) {
	t.Helper()
	var gotCode, gotMessage string
	switch shape {
	case "json", "rest-json":
		var e jsonError
		if err := json.Unmarshal([]byte(a.body), &e); err != nil {
			t.Fatalf("body %q: %v", a.body, err)
		}
		gotCode, gotMessage = a.errorType, e.Message
		if shape == "json" && e.Type != code || shape == "rest-json" && e.RType == "" {
			t.Errorf("body %s is not in the %s shape", a.body, shape)
		}
	case "s3", "query":
		var e xmlError
		if err := xml.Unmarshal([]byte(a.body), &e); err != nil {
			t.Fatalf("body %q: %v", a.body, err)
		}
		gotCode, gotMessage = e.Code, e.Message
		if shape == "query" {
			gotCode, gotMessage = e.Error.Code, e.Error.Message
			if e.XMLName.Local != "ErrorResponse" || e.Error.Type == "" {
				t.Errorf("body %s is not in the query protocol's shape", a.body)
			}
		} else if e.XMLName.Local != "Error" {
			t.Errorf("body %s is not in S3's shape", a.body)
		}
	}
	if gotCode != code || !strings.Contains(gotMessage, message) {
		t.Errorf("error %s %q, want %s %q (body %s)", gotCode, gotMessage, code, message, a.body)
	}
}

// TestRouterAuth checks that --auth applies to every service, refusals worded in each
// service's protocol, and that a verified request reaches its service with its body.
func TestRouterAuth(t *testing.T) {
	now := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	base := routerFor(t, sigv4.Credentials{"AKIDEXAMPLE": "secret"}, now)
	sfnTarget := map[string]string{"X-Amz-Target": "AWSStepFunctions.ListStateMachines", "Content-Type": "application/x-amz-json-1.0"}
	long := strings.Repeat("x", 65)
	tests := []struct {
		name     string
		call     call
		signedAt time.Time
		status   int
		servedBy string
		code     string
		shape    string
		message  string
	}{
		{name: "Step Functions signed", call: call{method: "POST", path: "/", body: `{"maxResults":5}`, header: sfnTarget, service: "states", key: "AKIDEXAMPLE"},
			status: 200, servedBy: "states"},
		{name: "Lambda signed", call: call{method: "POST", path: "/2015-03-31/functions/f/invocations", body: `{"n":1}`, service: "lambda", key: "AKIDEXAMPLE"},
			status: 200, servedBy: "lambda"},
		{name: "S3 signed", call: call{method: "PUT", path: "/bucket/a%20key", body: "bytes", service: "s3", key: "AKIDEXAMPLE"},
			status: 200, servedBy: "s3"},
		{name: "Step Functions unsigned", call: call{method: "POST", path: "/", body: `{}`, header: sfnTarget},
			status: 400, code: "MissingAuthenticationTokenException", shape: "json", message: "Missing Authentication Token"},
		{name: "unsigned POST / without a target", call: call{method: "POST", path: "/", body: `{}`},
			status: 400, code: "MissingAuthenticationTokenException", shape: "json", message: "Missing Authentication Token"},
		{name: "Step Functions with an unknown key", call: call{method: "POST", path: "/", body: `{}`, header: sfnTarget, service: "states", key: "AKIDNOPE"},
			status: 400, code: "UnrecognizedClientException", shape: "json", message: "The security token included in the request is invalid."},
		{name: "Lambda with an unknown key", call: call{method: "GET", path: "/2015-03-31/functions/", service: "lambda", key: "AKIDNOPE"},
			status: 403, code: "UnrecognizedClientException", shape: "rest-json", message: "The security token included in the request is invalid."},
		{name: "Lambda signed 20 minutes ago", call: call{method: "GET", path: "/2015-03-31/functions/", service: "lambda", key: "AKIDEXAMPLE"},
			signedAt: now.Add(-20 * time.Minute), status: 403, code: "InvalidSignatureException", shape: "rest-json", message: "Signature expired"},
		{name: "S3 with an unknown key", call: call{method: "GET", path: "/bucket/k", service: "s3", key: "AKIDNOPE"},
			status: 403, code: "InvalidAccessKeyId", shape: "s3", message: "does not exist in our records"},
		{name: "S3 unsigned is a request for the console", call: call{method: "GET", path: "/bucket/k"}, status: 404},
		{name: "health stays open", call: call{method: "GET", path: "/healthz"}, status: 200, servedBy: "health"},
		{name: "Step Functions over its bound", call: call{method: "POST", path: "/", body: long, header: sfnTarget, service: "states", key: "AKIDEXAMPLE"},
			status: 413, code: "RequestEntityTooLargeException", shape: "json", message: "Request size exceeded 64 bytes"},
		{name: "Lambda over its bound", call: call{method: "POST", path: "/2015-03-31/functions/f/invocations", body: long, service: "lambda", key: "AKIDEXAMPLE"},
			status: 413, code: "RequestTooLargeException", shape: "rest-json", message: "Request size exceeded 64 bytes"},
		{name: "S3 over its bound", call: call{method: "PUT", path: "/bucket/k", body: long, service: "s3", key: "AKIDEXAMPLE"},
			status: 400, code: "EntityTooLarge", shape: "s3", message: "exceeds the maximum allowed size of 64 bytes"},
		{name: "a service not served is named without a signature check", call: call{method: "POST", path: "/", body: `{}`, service: "sqs", key: "AKIDNOPE",
			header: map[string]string{"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": "application/x-amz-json-1.0"}},
			status: 501, code: "NotImplemented", shape: "json", message: "the AWS service sqs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := now
			if !tt.signedAt.IsZero() {
				at = tt.signedAt
			}
			a := do(t, base, tt.call, at)
			if a.status != tt.status || a.servedBy != tt.servedBy {
				t.Fatalf("answered %d by %q: %s; want %d by %q", a.status, a.servedBy, a.body, tt.status, tt.servedBy)
			}
			if tt.servedBy != "" && a.body != tt.call.body {
				t.Errorf("the service got body %q, want %q", a.body, tt.call.body)
			}
			if tt.shape != "" {
				checkError(t, a, tt.shape, tt.code, tt.message)
			}
		})
	}
}

func TestDefaultDataDir(t *testing.T) {
	for db, want := range map[string]string{
		"./stepline.db":              "stepline-data",
		"/var/lib/stepline/s.db":     "/var/lib/stepline/stepline-data",
		"sqlite:/srv/x/stepline.db":  "/srv/x/stepline-data",
		"sqlite://rel/dir/s.db":      "rel/dir/stepline-data",
		"postgres://u@h:5432/db":     "stepline-data",
		"postgresql://u@h:5432/db?x": "stepline-data",
	} {
		if got := defaultDataDir(db); got != want {
			t.Errorf("defaultDataDir(%q) = %q, want %q", db, got, want)
		}
	}
}
