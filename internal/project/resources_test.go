package project_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/glue"
	"github.com/stepline/stepline/internal/project"
	"github.com/stepline/stepline/internal/s3"
	"github.com/stepline/stepline/internal/store/dsn"
)

const resourcesYAML = `buckets:
  raw:
    from: data
  out: {}
glue:
  databases:
    lake:
      description: the lake
  crawlers:
    raw-crawler:
      databaseName: lake
      targets:
        s3Targets:
          - path: s3://raw/sales/
            exclusions: ["*.tmp"]
      schemaChangePolicy:
        deleteBehavior: LOG
  jobs:
    clean:
      command:
        name: pythonshell
        scriptLocation: s3://raw/job.py
      defaultArguments:
        --out: out
      timeout: 5
`

// services are the S3 and Glue services a test deploys to, over one data folder and store.
type services struct {
	s3   *s3.Service
	glue *glue.Service
}

func newServices(t *testing.T) *services {
	t.Helper()
	dir := t.TempDir()
	st, err := dsn.Open(context.Background(), "sqlite:"+filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	objects, err := s3.New(s3.Options{Dir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { objects.Close() })
	g, err := glue.New(glue.Options{Store: st, Dir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return &services{s3: objects, glue: g}
}

func (s *services) deploy(t *testing.T, dir string) *project.Summary {
	t.Helper()
	p, err := project.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := p.Deploy(context.Background(), project.Targets{S3: s.s3, Glue: s.glue, Account: "123456789012", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func (s *services) glueCall(t *testing.T, action, body string) map[string]any {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("X-Amz-Target", "AWSGlue."+action)
	rec := httptest.NewRecorder()
	s.glue.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", action, rec.Code, rec.Body)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (s *services) object(t *testing.T, bucket, key string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.s3.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+bucket+"/"+key, nil))
	return rec.Code, rec.Body.String()
}

func TestDeployBucketsAndGlue(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"stepline.yaml":          resourcesYAML,
		"data/sales/a.csv":       "id,n\n1,2\n",
		"data/sales/day=1/b.csv": "id,n\n3,4\n",
		"data/job.py":            "print('hi')\n",
		"data/__pycache__/x.pyc": "cache",
	})
	s := newServices(t)
	sum := s.deploy(t, dir)
	if sum.BucketsCreated != 2 || sum.ObjectsPut != 3 || sum.ObjectsUnchanged != 0 || sum.GlueCreated != 3 || sum.GlueUpdated != 0 {
		t.Errorf("first deploy %+v; want 2 buckets, 3 objects, 3 Glue resources created", sum)
	}
	if code, body := s.object(t, "raw", "sales/day=1/b.csv"); code != http.StatusOK || body != "id,n\n3,4\n" {
		t.Errorf("GetObject sales/day=1/b.csv: %d %q", code, body)
	}
	if code, _ := s.object(t, "raw", "__pycache__/x.pyc"); code != http.StatusNotFound {
		t.Errorf("a __pycache__ file was put (%d)", code)
	}
	crawler := s.glueCall(t, "GetCrawler", `{"Name":"raw-crawler"}`)["Crawler"].(map[string]any)
	if crawler["DatabaseName"] != "lake" || crawler["Role"] != "arn:aws:iam::123456789012:role/stepline" ||
		crawler["SchemaChangePolicy"].(map[string]any)["DeleteBehavior"] != "LOG" {
		t.Errorf("crawler %v", crawler)
	}
	job := s.glueCall(t, "GetJob", `{"JobName":"clean"}`)["Job"].(map[string]any)
	if job["Timeout"] != 5.0 || job["Command"].(map[string]any)["PythonVersion"] != "3.9" {
		t.Errorf("job %v", job)
	}

	// The same folder again changes nothing.
	if sum := s.deploy(t, dir); sum.BucketsCreated != 0 || sum.ObjectsPut != 0 || sum.ObjectsUnchanged != 3 ||
		sum.GlueCreated != 0 || sum.GlueUpdated != 0 || sum.GlueUnchanged != 3 {
		t.Errorf("unchanged deploy %+v; want everything unchanged", sum)
	}

	// A file changed in place (same size: the MD5 tells), a new file, a changed job.
	write(t, dir, map[string]string{
		"data/sales/a.csv": "id,n\n5,6\n",
		"data/sales/c.csv": "id,n\n",
		"stepline.yaml":    strings.Replace(resourcesYAML, "--out: out", "--out: elsewhere", 1),
	})
	if sum := s.deploy(t, dir); sum.ObjectsPut != 2 || sum.ObjectsUnchanged != 2 || sum.GlueUpdated != 1 || sum.GlueUnchanged != 2 {
		t.Errorf("changed deploy %+v; want 2 objects put, 2 unchanged, 1 Glue resource updated", sum)
	}
	if _, body := s.object(t, "raw", "sales/a.csv"); body != "id,n\n5,6\n" {
		t.Errorf("sales/a.csv after the change: %q", body)
	}
	job = s.glueCall(t, "GetJob", `{"JobName":"clean"}`)["Job"].(map[string]any)
	if job["DefaultArguments"].(map[string]any)["--out"] != "elsewhere" {
		t.Errorf("job after the change %v", job)
	}
}

func TestBucketNotifications(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"stepline.yaml": "buckets:\n  drops:\n    notifications: eventbridge\n  quiet: {}\n"})
	s := newServices(t)
	s.deploy(t, dir)
	for bucket, want := range map[string]bool{"drops": true, "quiet": false} {
		rec := httptest.NewRecorder()
		s.s3.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+bucket+"?notification", nil))
		if got := strings.Contains(rec.Body.String(), "EventBridgeConfiguration"); rec.Code != http.StatusOK || got != want {
			t.Errorf("%s: GetBucketNotificationConfiguration %d %s", bucket, rec.Code, rec.Body.String())
		}
	}
	s.deploy(t, dir) // again: the same configuration, no error
}

func TestResourceMistakes(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"data/x.csv": "a\n", "job.py": ""})
	file := filepath.Join(dir, project.FileName)
	crawler := "glue:\n  crawlers:\n    c:\n      databaseName: d\n"
	cases := []struct{ name, yaml, want string }{
		{"bad bucket name", "buckets:\n  Raw_Data: {}\n", "2: buckets.Raw_Data: invalid bucket name: 3 to 63 lower-case letters, digits, dots or hyphens, starting and ending with a letter or digit"},
		{"bucket folder missing", "buckets:\n  raw:\n    from: nope\n", "3: buckets.raw.from: nope: no such file"},
		{"bucket unknown key", "buckets:\n  raw:\n    form: data\n", "3: buckets.raw.form: unknown key (known: from, endpoint, region, bucketName, notifications)"},
		{"bucket notifications", "buckets:\n  raw:\n    notifications: sqs\n", "3: buckets.raw.notifications: must be eventbridge (the only destination Stepline sends object events to)"},
		{"bucket from and endpoint", "buckets:\n  raw:\n    endpoint: http://127.0.0.1:5000\n    from: data\n",
			"4: buckets.raw.from: not with endpoint: a bound bucket's objects are the endpoint's, not filled from a folder"},
		{"bucket bad endpoint", "buckets:\n  raw:\n    endpoint: s3.amazonaws.com\n",
			"3: buckets.raw.endpoint: must be an http:// or https:// URL of an S3 API, not \"s3.amazonaws.com\""},
		{"bucket region without endpoint", "buckets:\n  raw:\n    region: eu-west-1\n", "3: buckets.raw.region: only with endpoint"},
		{"bucket bad remote name", "buckets:\n  raw:\n    endpoint: http://127.0.0.1:5000\n    bucketName: a/b\n",
			"4: buckets.raw.bucketName: invalid bucket name: \"a/b\""},
		{"glue unknown section", "glue:\n  tables: {}\n", "2: glue.tables: unknown key (known: databases, crawlers, jobs)"},
		{"database upper case", "glue:\n  databases:\n    Raw: {}\n", "3: glue.databases.Raw: invalid database name: Glue keeps database names in lower case (raw)"},
		{"crawler without targets", crawler, "4: glue.crawlers.c.targets: missing: targets.s3Targets, the S3 paths to crawl"},
		{"crawler path not s3", crawler + "      targets:\n        s3Targets:\n          - path: /data\n",
			"7: glue.crawlers.c.targets.s3Targets[0].path: must be an s3://BUCKET/PATH path, not \"/data\""},
		{"crawler key in API case", crawler + "      Targets: {}\n",
			"5: glue.crawlers.c.Targets: unknown key (known: databaseName, role, description, targets, tablePrefix, schemaChangePolicy)"},
		{"bad update behavior", crawler + "      targets: {s3Targets: [{path: s3://b/p}]}\n      schemaChangePolicy: {updateBehavior: KEEP}\n",
			"6: glue.crawlers.c.schemaChangePolicy.updateBehavior: must be UPDATE_IN_DATABASE or LOG, not \"KEEP\""},
		{"job without command", "glue:\n  jobs:\n    j:\n      timeout: 5\n", "4: glue.jobs.j.command: missing: {name: pythonshell or glueetl, scriptLocation: s3://BUCKET/SCRIPT}"},
		{"job command name", "glue:\n  jobs:\n    j:\n      command: {name: spark, scriptLocation: s3://b/j.py}\n",
			"4: glue.jobs.j.command.name: must be pythonshell or glueetl, not \"spark\""},
		{"job timeout", "glue:\n  jobs:\n    j:\n      command: {name: pythonshell, scriptLocation: s3://b/j.py}\n      timeout: 0\n",
			"5: glue.jobs.j.timeout: must be between 1 and 10080, not 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(file, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := project.Load(dir)
			if err == nil || err.Error() != file+":"+tc.want {
				t.Errorf("got  %v\nwant %s:%s", err, file, tc.want)
			}
		})
	}
}

func TestResourceWarnings(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		project.FileName: "buckets:\n  scripts:\n    from: s\nglue:\n  crawlers:\n    c:\n      databaseName: lake\n" +
			"      targets: {s3Targets: [{path: s3://elsewhere/x/}]}\n  jobs:\n    j:\n      command: {name: pythonshell, scriptLocation: s3://scripts/job.py}\n",
		"s/other.py": "",
	})
	p, err := project.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	for _, w := range p.Warnings {
		got.WriteString(strings.TrimPrefix(w.Error(), filepath.Join(dir, project.FileName)) + "\n")
	}
	want := ":6: glue.crawlers.c.databaseName: database lake is not declared under glue.databases\n" +
		":6: glue.crawlers.c.targets.s3Targets[0].path: s3://elsewhere/x/ names bucket elsewhere, which the project does not declare under buckets\n" +
		":10: glue.jobs.j.command.scriptLocation: job.py is not in the folder bucket scripts is filled from (" + filepath.Join(dir, "s") + ")\n"
	if got.String() != want {
		t.Errorf("warnings:\n%s\nwant\n%s", got.String(), want)
	}
}

func TestCheckTools(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		project.FileName: "functions:\n  f: {code: fn, runtime: python3.12, handler: app.handler}\n" +
			"glue:\n  jobs:\n    j:\n      command: {name: pythonshell, scriptLocation: s3://b/j.py}\n",
		"fn/app.py": "def handler(e, c):\n    return e\n",
	})
	p, err := project.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir()) // a machine without python3
	want := "python3 is not on PATH; the project's Python code needs it, with boto3 (function f and 1 more)"
	if err := p.CheckTools(context.Background()); err == nil || err.Error() != want {
		t.Errorf("CheckTools: %v, want %q", err, want)
	}
	// A python3 that cannot import boto3.
	bin := t.TempDir()
	write(t, bin, map[string]string{"python3": "#!/bin/sh\necho 'ModuleNotFoundError: boto3' >&2\nexit 1\n"})
	if err := os.Chmod(filepath.Join(bin, "python3"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	want = "python3 cannot import boto3 (pip install boto3); the project's Python code needs it, as AWS's runtimes provide it (function f and 1 more)"
	if err := p.CheckTools(context.Background()); err == nil || err.Error() != want {
		t.Errorf("CheckTools: %v, want %q", err, want)
	}
}

// TestBoundBuckets: a bucket bound to an endpoint becomes the S3 service's Remote, with the
// server's region by default, and Deploy neither creates nor fills it here.
func TestBoundBuckets(t *testing.T) {
	dir := t.TempDir()
	yaml := "buckets:\n  far:\n    endpoint: http://127.0.0.1:1\n    region: eu-west-1\n    bucketName: far-away\n" +
		"  near: {endpoint: 'http://localhost:2'}\n  local: {}\n"
	if err := os.WriteFile(filepath.Join(dir, project.FileName), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rs := p.S3Remotes("us-west-2")
	far, near := rs["far"], rs["near"]
	if len(rs) != 2 || far.Endpoint != "http://127.0.0.1:1" || far.Region != "eu-west-1" || far.Bucket != "far-away" ||
		near.Region != "us-west-2" || near.Bucket != "near" || far.Credentials == nil {
		t.Fatalf("S3Remotes = %+v", rs)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
	creds, err := p.S3Remotes("us-east-1")["far"].Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIDFROMENV" {
		t.Errorf("credentials %+v, %v; want the environment's", creds, err)
	}
	var none *project.Project
	if none.S3Remotes("us-east-1") != nil {
		t.Error("no project binds no bucket")
	}
	s := newServices(t)
	objects, err := s3.New(s3.Options{Dir: t.TempDir(), Remotes: p.S3Remotes("us-east-1")})
	if err != nil {
		t.Fatal(err)
	}
	defer objects.Close()
	var log bytes.Buffer
	sum, err := p.Deploy(context.Background(), project.Targets{S3: objects, Glue: s.glue, Account: "123456789012", Region: "us-east-1",
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if sum.BucketsCreated != 1 {
		t.Errorf("deploy created %d buckets; want only the local one", sum.BucketsCreated)
	}
	// The endpoint that does not answer is named at the start, and the deploy goes on.
	if want := "buckets.far: bound to http://127.0.0.1:1 (bucket far-away there), but the endpoint did not answer"; !strings.Contains(log.String(), want) {
		t.Errorf("deploy log:\n%s\nwant a warning %q", log.String(), want)
	}
}

// TestBoundCredentials: without keys in the environment, a binding's credentials come from the
// profile AWS_PROFILE names, as the AWS CLI's would; a local endpoint with none at all gets a
// fixed pair, a remote one an error saying what is missing.
func TestBoundCredentials(t *testing.T) {
	dir := t.TempDir()
	yaml := "buckets:\n  near: {endpoint: 'http://127.0.0.1:9000'}\n  far: {endpoint: 'https://s3.eu-west-1.amazonaws.com'}\n"
	if err := os.WriteFile(filepath.Join(dir, project.FileName), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[work]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx := context.Background()

	t.Setenv("AWS_PROFILE", "work")
	for _, name := range []string{"near", "far"} {
		c, err := p.S3Remotes("us-east-1")[name].Credentials.Retrieve(ctx)
		if err != nil || c.AccessKeyID != "AKIDPROFILE" || c.SecretAccessKey != "profile-secret" {
			t.Errorf("%s with AWS_PROFILE=work: %+v, %v", name, c, err)
		}
	}
	t.Setenv("AWS_PROFILE", "missing")
	c, err := p.S3Remotes("us-east-1")["near"].Credentials.Retrieve(ctx)
	if err != nil || c.AccessKeyID != "stepline" {
		t.Errorf("a local endpoint without credentials: %+v, %v", c, err)
	}
	if _, err := p.S3Remotes("us-east-1")["far"].Credentials.Retrieve(ctx); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a remote endpoint without credentials: %v", err)
	}
}
