package s3_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestE2EScript runs scripts/e2e_s3.py (the AWS CLI and boto3) against the S3 handler alone,
// as scripts/e2e.sh runs it against the served binary. It needs python3 with boto3 and the AWS
// CLI, and moves some 150 MB through loopback, so -short skips it.
func TestE2EScript(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the AWS CLI round trips take seconds")
	}
	for _, tool := range []string{"python3", "aws"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("boto3 is not installed")
	}
	f := newFixture(t, "us-east-1")
	script, err := filepath.Abs("../../scripts/e2e_s3.py")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", script)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		"STEPLINE_ENDPOINT="+f.url, "STEPLINE_AUTH_ENDPOINT=", "STEPLINE_S3_DIR="+filepath.Join(f.dir, "s3"),
		"AWS_ACCESS_KEY_ID=AKIDE2ETEST", "AWS_SECRET_ACCESS_KEY=e2e-secret", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("scripts/e2e_s3.py: %v", err)
	}
}
