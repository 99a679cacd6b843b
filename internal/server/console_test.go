package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/server"
	"github.com/stepline/stepline/internal/sigv4"
)

// The console answers unsigned browser requests on the API's port: GET / and an execution's
// page at /executions/{executionArn}, while POST / stays the Step Functions API.
func TestConsoleOnServePort(t *testing.T) {
	b := setup(t, server.Options{})
	m := b.createMachine(t, "console-machine", passChain)
	arn := b.start(t, m, "console-run", `{"x":1}`)
	b.waitDone(t, arn)
	for path, want := range map[string]string{
		"/":                                  "console-machine",
		"/executions/" + url.PathEscape(arn): `data-state="B"`,
	} {
		res, err := http.Get(b.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d %s, want a page with %q", path, res.StatusCode, res.Header.Get("Content-Type"), want)
		}
	}
}

// With --auth, the console shows nothing to a browser without a session.
func TestConsoleNeedsLoginWithAuth(t *testing.T) {
	b := setup(t, server.Options{Auth: sigv4.Credentials{"AKIDEXAMPLE": "secret"}})
	res, err := http.Get(b.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET / without a session: %d, want 401", res.StatusCode)
	}
}
