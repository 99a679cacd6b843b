package main

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunProjectHTTPTask runs a project whose connection (its key from the environment) an
// HTTP Task names by ARN without id, against a loopback TLS server trusted through
// --ca-bundle; without the bundle the call fails with States.Http.Socket.
func TestRunProjectHTTPTask(t *testing.T) {
	t.Setenv("STEPLINE_TEST_HTTP_KEY", "k-42")
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"key": r.Header.Get("X-Api-Key"), "path": r.URL.Path, "body": string(body)})
	}))
	t.Cleanup(api.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"stepline.yaml": `stateMachines:
  call:
    definition: call.json
    definitionSubstitutions:
      Api: ` + api.URL + `
connections:
  orders:
    authorizationType: API_KEY
    authParameters:
      apiKeyAuthParameters:
        apiKeyName: X-Api-Key
        apiKeyValue: ${env:STEPLINE_TEST_HTTP_KEY}
`,
		"call.json": `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:states:::http:invoke",
			"Parameters":{"ApiEndpoint":"${Api}/orders","Method":"POST","RequestBody.$":"$",
			"Authentication":{"ConnectionArn":"arn:aws:events:us-east-1:123456789012:connection/orders"}},
			"OutputPath":"$.ResponseBody","End":true}}}`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runCLI("run", "call", "--project", dir, "--ca-bundle", ca, "--json", "--input", `{"n":1}`)
	if code != exitOK || strings.TrimSpace(out) != `{"status":"SUCCEEDED","output":{"body":"{\"n\":1}","key":"k-42","path":"/orders"}}` {
		t.Fatalf("run with the CA: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI("run", "call", "--project", dir, "--json")
	if code != exitFailed || !strings.Contains(out, `"error":"States.Http.Socket"`) || !strings.Contains(out, "certificate") {
		t.Fatalf("run without the CA: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runCLI("run", filepath.Join(dir, "call.json"), "--ca-bundle", ca)
	if code != exitInvalid || !strings.Contains(errOut, "--ca-bundle is for HTTP Tasks") {
		t.Fatalf("run --ca-bundle without --project: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runCLI("serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "db"), "--ca-bundle", filepath.Join(dir, "call.json"))
	if code == exitOK || !strings.Contains(errOut, "no PEM certificate") {
		t.Fatalf("serve with a bundle of no certificate: exit %d\n%s", code, errOut)
	}
}
