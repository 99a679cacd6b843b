package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8083": true,
		"127.8.9.10:0":   true,
		"[::1]:8083":     true,
		"localhost:8083": true,
		"0.0.0.0:8083":   false,
		"[::]:8083":      false,
		":8083":          false,
		"10.0.0.5:8083":  false,
		"example.com:80": false,
		"127.0.0.1":      false, // no port: not an address Listen takes
	} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestServeRefusesOpenAddressWithoutAuth: serve runs uploaded code, so a non-loopback address
// needs --auth or an explicit --insecure; the refusal is one line on stderr, exit 2, before
// anything is opened.
func TestServeRefusesOpenAddressWithoutAuth(t *testing.T) {
	db := filepath.Join(t.TempDir(), "never.db")
	for _, addr := range []string{"0.0.0.0:8083", ":8083", "[::]:0", "192.0.2.1:8083"} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"serve", "--addr", addr, "--db", db}, &stdout, &stderr)
		want := "stepline serve: refusing to listen on " + addr + " without --auth: it runs uploaded Lambda code; " +
			"give --auth FILE, or --insecure to accept the risk\n"
		if code != exitInvalid || stderr.String() != want || stdout.Len() != 0 {
			t.Errorf("serve --addr %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", addr, code, stdout.String(), stderr.String(), want)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a refused serve touched its database: %v", err)
	}
}

// TestServeOneAddressEveryService runs the binary as users do and talks to it with the AWS
// CLI: Step Functions works with and without --auth, a service Stepline does not serve is
// named in the error the CLI prints (each protocol's shape), and --insecure or --auth let it
// listen on every interface.
func TestServeOneAddressEveryService(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if err := os.WriteFile(keys, []byte("AKIDSTEPLINE stepline-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := startNode(t, bin, "open", "--db", filepath.Join(dir, "open.db"), "--addr", "0.0.0.0:0", "--insecure")
	if !strings.Contains(open.logs(), "--insecure: serving without --auth") {
		t.Errorf("an --insecure node did not warn:\n%s", open.logs())
	}
	authed := startNode(t, bin, "authed", "--db", filepath.Join(dir, "authed.db"), "--addr", "0.0.0.0:0", "--auth", keys)

	cli := func(url, key, secret string, args ...string) (string, bool) {
		t.Helper()
		cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", url, "--output", "json"}, args...)...)
		// Only this test's AWS settings: none of the machine's profiles, endpoints or retries.
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "AWS_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "AWS_ACCESS_KEY_ID="+key, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_DEFAULT_REGION=us-east-1",
			"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
			"AWS_MAX_ATTEMPTS=1", "AWS_EC2_METADATA_DISABLED=true")
		out, err := cmd.CombinedOutput()
		return string(out), err == nil
	}
	tests := []struct {
		name        string
		node        *node
		key, secret string
		args        []string
		ok          bool
		want        string
	}{
		{"Step Functions", open, "x", "x", []string{"stepfunctions", "list-state-machines"}, true, `"stateMachines"`},
		{"Step Functions with a key", authed, "AKIDSTEPLINE", "stepline-secret", []string{"stepfunctions", "list-state-machines"}, true, `"stateMachines"`},
		{"Step Functions with an unknown key", authed, "x", "x", []string{"stepfunctions", "list-state-machines"}, false,
			"(UnrecognizedClientException) when calling the ListStateMachines operation: The security token included in the request is invalid."},
		{"Step Functions with a wrong secret", authed, "AKIDSTEPLINE", "guess", []string{"stepfunctions", "list-state-machines"}, false,
			"(InvalidSignatureException) when calling the ListStateMachines operation: The request signature we calculated does not match"},
		{"SQS (JSON 1.0)", open, "x", "x", []string{"sqs", "list-queues"}, false,
			"(NotImplemented) when calling the ListQueues operation: Stepline does not serve the AWS service sqs (X-Amz-Target AmazonSQS.ListQueues); it serves Step Functions (states)"},
		{"SQS with --auth", authed, "AKIDSTEPLINE", "stepline-secret", []string{"sqs", "list-queues"}, false,
			"Stepline does not serve the AWS service sqs"},
		{"DynamoDB (JSON 1.0)", open, "x", "x", []string{"dynamodb", "list-tables"}, false, "Stepline does not serve the AWS service dynamodb"},
		{"SNS (query)", open, "x", "x", []string{"sns", "list-topics"}, false, "Stepline does not serve the AWS service sns"},
		{"API Gateway (REST-JSON)", open, "x", "x", []string{"apigateway", "get-rest-apis"}, false, "Stepline does not serve the AWS service apigateway"},
		{"Route 53 (REST-XML)", open, "x", "x", []string{"route53", "list-hosted-zones"}, false, "Stepline does not serve the AWS service route53"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, ok := cli(tt.node.url, tt.key, tt.secret, tt.args...)
			if ok != tt.ok || !strings.Contains(out, tt.want) {
				t.Errorf("aws %s: ok=%v, printed:\n%s\nwant ok=%v and %q", strings.Join(tt.args, " "), ok, out, tt.ok, tt.want)
			}
		})
	}
	open.stop()
	authed.stop()
}
