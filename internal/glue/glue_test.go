package glue

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/smithy-go"

	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/sqlite"
)

// env is a Glue service over a SQLite store and a data folder, behind an HTTP server, with an
// AWS SDK client pointed at it.
type env struct {
	dir    string
	st     store.Store
	svc    *Service
	url    string
	client *glue.Client
}

func newEnv(t testing.TB, opts ...func(*Options)) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(dir, "stepline.db")})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{dir: dir, st: st}
	e.start(t, opts...)
	return e
}

// start starts a (new) service on the env's store and folder.
func (e *env) start(t testing.TB, opts ...func(*Options)) {
	t.Helper()
	// The server comes first, so that job processes get its URL as their endpoint.
	var svc *Service
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { svc.ServeHTTP(w, r) }))
	o := Options{Store: e.st, Dir: e.dir, Endpoint: srv.URL, AccessKeyID: "AKIDSTEPLINE", SecretAccessKey: "secret",
		TimeoutUnit: 200 * time.Millisecond}
	for _, f := range opts {
		f(&o)
	}
	svc, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Close()
		srv.Close()
	})
	e.svc, e.url = svc, srv.URL
	e.client = glue.New(glue.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
}

func (e *env) write(t *testing.T, rel string, data []byte) {
	t.Helper()
	p := filepath.Join(e.dir, "s3", filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// apiCode is the Glue error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// poll calls f until it reports done, failing the test after a generous deadline (the machine
// is shared; the deadline only catches a hang).
func poll(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }
