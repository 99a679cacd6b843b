package sigv4_test

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stepline/stepline/internal/sigv4"
)

// FuzzVerify feeds arbitrary Authorization headers and query strings to the parser behind
// Verify and ServiceOf: neither may panic, every refusal is a typed *sigv4.Error, and nothing
// made up is accepted.
func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261206/us-east-1/states/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "")
	f.Add("", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261206%2Fus-east-1%2Fs3%2Faws4_request"+
		"&X-Amz-Date=20261206T045900Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=00")
	f.Add("AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;;, Signature==", "X-Amz-Expires=-1&X-Amz-Algorithm=")
	f.Add("", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=99999999999999999999999")
	f.Fuzz(func(t *testing.T, auth, query string) {
		r := httptest.NewRequest("POST", "/", nil)
		r.URL.RawQuery = query
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		r.Header.Set("X-Amz-Date", "20261206T045900Z")
		_ = sigv4.ServiceOf(r)
		err := creds.Verify(r, []byte("{}"), now)
		var se *sigv4.Error
		if !errors.As(err, &se) {
			t.Fatalf("Verify(%q, %q) = %v, want a refusal", auth, url.QueryEscape(query), err)
		}
		if se.Code == "" || se.Message == "" {
			t.Fatalf("a refusal without code or message: %+v", se)
		}
		if code, status, _ := se.S3(); code == "" || status == 0 {
			t.Fatalf("a refusal without S3 words: %+v", se)
		}
	})
}
