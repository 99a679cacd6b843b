package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"

	"github.com/stepline/stepline/internal/server"
	"github.com/stepline/stepline/internal/sigv4"
)

// TestAuth signs requests with the SDK's own SigV4 signer and checks that only the configured
// keys get in.
func TestAuth(t *testing.T) {
	b := setup(t, server.Options{Auth: sigv4.Credentials{"AKIDEXAMPLE": "secret", "AKIDOTHER": "other-secret"}})
	tests := []struct {
		name           string
		key, secret    string
		region         string
		wantCode       string
		wantStatusCode int
	}{
		{name: "a configured key", key: "AKIDEXAMPLE", secret: "secret", region: "us-east-1"},
		{name: "another configured key, another region", key: "AKIDOTHER", secret: "other-secret", region: "eu-west-1"},
		{name: "an unknown key", key: "AKIDNOPE", secret: "secret", region: "us-east-1", wantCode: "UnrecognizedClientException"},
		{name: "a wrong secret", key: "AKIDEXAMPLE", secret: "guess", region: "us-east-1", wantCode: "InvalidSignatureException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := sfn.New(sfn.Options{
				Region:           tt.region,
				Credentials:      credentials.NewStaticCredentialsProvider(tt.key, tt.secret, ""),
				BaseEndpoint:     aws.String(b.url),
				RetryMaxAttempts: 1,
			})
			_, err := client.ListStateMachines(context.Background(), &sfn.ListStateMachinesInput{})
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("ListStateMachines: %v", err)
				}
				// A request with a body (and a signed payload hash) gets in as well.
				if _, err := client.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
					Name: aws.String("signed-" + tt.key), Definition: aws.String(passChain), RoleArn: aws.String(role),
				}); err != nil {
					t.Fatalf("CreateStateMachine: %v", err)
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
				t.Fatalf("error %v, want %s", err, tt.wantCode)
			}
		})
	}
}

// TestAuthRefusesTamperedAndUnsignedRequests sends raw requests: no signature, a malformed
// one, and a signed request whose body was changed after signing.
func TestAuthRefusesTamperedAndUnsignedRequests(t *testing.T) {
	b := setup(t, server.Options{Auth: sigv4.Credentials{"AKIDEXAMPLE": "secret"}})
	// Capture a genuinely signed request from the SDK, then replay it with another body.
	var signed http.Header
	client := sfn.New(sfn.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(b.url),
		HTTPClient: httpClientFunc(func(r *http.Request) (*http.Response, error) {
			signed = r.Header.Clone()
			return http.DefaultClient.Do(r)
		}),
	})
	if _, err := client.ListStateMachines(context.Background(), &sfn.ListStateMachinesInput{MaxResults: 5}); err != nil {
		t.Fatalf("ListStateMachines: %v", err)
	}
	tests := []struct {
		name   string
		header http.Header
		body   string
		want   string
	}{
		{"unsigned", http.Header{}, `{}`, "MissingAuthenticationTokenException"},
		{"another algorithm", http.Header{"Authorization": {"AWS3 whatever"}}, `{}`, "IncompleteSignatureException"},
		{"no signature", http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/states/aws4_request"}},
			`{}`, "IncompleteSignatureException"},
		{"the signed request as it was", signed, `{"maxResults":5}`, ""},
		{"a body changed after signing", signed, `{"maxResults":6}`, "InvalidSignatureException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, b.url+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			req.Header.Set("X-Amz-Target", "AWSStepFunctions.ListStateMachines")
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
			req.Header.Del("Content-Length")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got := resp.Header.Get("X-Amzn-Errortype")
			if tt.want == "" && resp.StatusCode != http.StatusOK || tt.want != "" && (resp.StatusCode != http.StatusBadRequest || got != tt.want) {
				t.Fatalf("answered %d %s, want %s", resp.StatusCode, got, tt.want)
			}
		})
	}
}

type httpClientFunc func(*http.Request) (*http.Response, error)

func (f httpClientFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }
