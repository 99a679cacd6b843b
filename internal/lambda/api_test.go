package lambda_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/postgres"
	"github.com/stepline/stepline/internal/store/postgres/pgtest"
	"github.com/stepline/stepline/internal/store/sqlite"
)

const (
	account = "123456789012"
	role    = "arn:aws:iam::123456789012:role/lambda-role"
	arnBase = "arn:aws:lambda:us-east-1:123456789012:function:"
)

// server is a Lambda service on a SQLite store in t.TempDir(), behind an httptest.Server, and
// an aws-sdk-go-v2 client of it.
type server struct {
	svc     *lambda.Service
	url     string
	client  *awslambda.Client
	dataDir string
	close   func() error // closes the service before the test's end
}

func newServer(t testing.TB) *server {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(dir, "stepline.db")})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return newNode(t, st, filepath.Join(dir, "data"), 0)
}

// newNode is a server on a given store: several of them are the nodes of one cluster.
func newNode(t testing.TB, st store.Store, dataDir string, ttl time.Duration, opts ...func(*lambda.Options)) *server {
	t.Helper()
	// The endpoint is known once the server listens: listen, then give it the service.
	hs := httptest.NewUnstartedServer(nil)
	o := lambda.Options{Store: st, Account: account, Region: "us-east-1", DataDir: dataDir,
		Endpoint: "http://" + hs.Listener.Addr().String(), CacheTTL: ttl}
	for _, f := range opts {
		f(&o)
	}
	svc, err := lambda.New(o)
	if err != nil {
		hs.Close()
		t.Fatalf("lambda.New: %v", err)
	}
	hs.Config.Handler = svc
	hs.Start()
	closed := false
	t.Cleanup(func() {
		hs.Close()
		if !closed {
			if err := svc.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	})
	client := awslambda.New(awslambda.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(hs.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		RetryMaxAttempts: 1,
	})
	return &server{svc: svc, url: hs.URL, client: client, dataDir: dataDir, close: func() error { closed = true; return svc.Close() }}
}

type file struct {
	name, body string
	mode       fs.FileMode
}

func zipOf(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		h.SetMode(cmpOr(f.mode, 0o644))
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func cmpOr(m, d fs.FileMode) fs.FileMode {
	if m == 0 {
		return d
	}
	return m
}

// pythonApp is a handler that echoes, fails, prints or writes a file, as its event asks.
const pythonApp = `
import json, os, sys, time

def handler(event, context):
    print("handling", json.dumps(event))
    time.sleep(event.get("sleep", 0))
    if event.get("fail"):
        raise ValueError(event["fail"])
    if event.get("touch"):
        with open(event["touch"], "w") as f:
            f.write(context.aws_request_id)
    return {"echo": event, "env": os.environ.get("GREETING", ""), "fn": context.function_name}
`

func createPython(t testing.TB, s *server, name string) *awslambda.CreateFunctionOutput {
	t.Helper()
	out, err := s.client.CreateFunction(t.Context(), &awslambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role), Runtime: types.RuntimePython312,
		Handler: aws.String("app.handler"), Code: &types.FunctionCode{ZipFile: zipOf(t, file{name: "app.py", body: pythonApp})},
	})
	if err != nil {
		t.Fatalf("CreateFunction(%s): %v", name, err)
	}
	return out
}

// wantAPIError checks the SDK parsed the error code (and, when given, the typed error).
func wantAPIError(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

func TestFunctionLifecycle(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx := t.Context()
	c := s.client
	zipBytes := zipOf(t, file{name: "app.py", body: pythonApp})

	created := createPython(t, s, "hello")
	if aws.ToString(created.FunctionArn) != arnBase+"hello" || created.Runtime != types.RuntimePython312 ||
		aws.ToInt32(created.Timeout) != 3 || aws.ToInt32(created.MemorySize) != 128 || aws.ToString(created.Version) != "$LATEST" ||
		created.State != types.StateActive || created.LastUpdateStatus != types.LastUpdateStatusSuccessful ||
		created.PackageType != types.PackageTypeZip || created.CodeSize != int64(len(zipBytes)) ||
		aws.ToString(created.RevisionId) == "" || created.LoggingConfig == nil ||
		aws.ToString(created.LoggingConfig.LogGroup) != "/aws/lambda/hello" || len(created.Architectures) != 1 ||
		created.Architectures[0] != types.ArchitectureX8664 || aws.ToInt32(created.EphemeralStorage.Size) != 512 {
		t.Fatalf("CreateFunction = %+v", created)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000-0700", aws.ToString(created.LastModified)); err != nil ||
		!strings.HasSuffix(aws.ToString(created.LastModified), "+0000") {
		t.Fatalf("LastModified %q: %v", aws.ToString(created.LastModified), err)
	}
	sum := sha256Base64(zipBytes)
	if aws.ToString(created.CodeSha256) != sum {
		t.Fatalf("CodeSha256 = %s, want %s", aws.ToString(created.CodeSha256), sum)
	}

	_, err := c.CreateFunction(ctx, &awslambda.CreateFunctionInput{FunctionName: aws.String("hello"), Role: aws.String(role),
		Runtime: types.RuntimePython312, Handler: aws.String("app.handler"), Code: &types.FunctionCode{ZipFile: zipBytes}})
	var conflict *types.ResourceConflictException
	if !errors.As(err, &conflict) || conflict.ErrorMessage() != "Function already exist: hello" {
		t.Fatalf("CreateFunction twice: %v", err)
	}

	// Every way of naming the function finds it.
	for _, name := range []string{"hello", arnBase + "hello", account + ":function:hello", "hello:$LATEST"} {
		got, err := c.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil || aws.ToString(got.Configuration.FunctionName) != "hello" || aws.ToString(got.Code.RepositoryType) != "S3" {
			t.Fatalf("GetFunction(%s) = %+v, %v", name, got, err)
		}
	}
	// Code.Location serves the zip, as AWS's presigned URL does.
	got, err := c.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("hello")})
	if err != nil {
		t.Fatalf("GetFunction: %v", err)
	}
	resp, err := http.Get(aws.ToString(got.Code.Location))
	if err != nil {
		t.Fatalf("GET Code.Location: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, zipBytes) {
		t.Fatalf("GET %s = %d, %d bytes, %v; want the zip", aws.ToString(got.Code.Location), resp.StatusCode, len(body), err)
	}
	// Only a link the service signed opens: not one whose signature, digest or name was changed.
	loc := aws.ToString(got.Code.Location)
	for _, forged := range []string{
		strings.Replace(loc, "signature=", "signature=0", 1),
		strings.Replace(loc, "digest=", "digest=0", 1),
		strings.Replace(loc, "/functions/hello/", "/functions/other/", 1),
		strings.Split(loc, "?")[0],
	} {
		resp, err := http.Get(forged)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s = %d, want 403", forged, resp.StatusCode)
		}
	}
	_, err = c.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("hello:1")})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) || notFound.ErrorMessage() != "Function not found: "+arnBase+"hello:1" {
		t.Fatalf("GetFunction of version 1: %v", err)
	}
	_, err = c.GetFunctionConfiguration(ctx, &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("nope")})
	if !errors.As(err, &notFound) || notFound.ErrorMessage() != "Function not found: "+arnBase+"nope" {
		t.Fatalf("GetFunctionConfiguration of a missing function: %v", err)
	}

	// UpdateFunctionConfiguration: settings kept and reported; a stale RevisionId refused.
	up, err := c.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("hello"), Timeout: aws.Int32(30), MemorySize: aws.Int32(512), Description: aws.String("greets"),
		Environment: &types.Environment{Variables: map[string]string{"GREETING": "hi"}}, RevisionId: created.RevisionId,
	})
	if err != nil || aws.ToInt32(up.Timeout) != 30 || aws.ToInt32(up.MemorySize) != 512 || aws.ToString(up.Description) != "greets" ||
		up.Environment.Variables["GREETING"] != "hi" || aws.ToString(up.RevisionId) == aws.ToString(created.RevisionId) {
		t.Fatalf("UpdateFunctionConfiguration = %+v, %v", up, err)
	}
	_, err = c.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("hello"),
		Timeout: aws.Int32(5), RevisionId: created.RevisionId})
	var precondition *types.PreconditionFailedException
	if !errors.As(err, &precondition) {
		t.Fatalf("UpdateFunctionConfiguration with a stale revision: %v", err)
	}
	cfg, err := c.GetFunctionConfiguration(ctx, &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("hello")})
	if err != nil || aws.ToInt32(cfg.Timeout) != 30 || aws.ToString(cfg.RevisionId) != aws.ToString(up.RevisionId) {
		t.Fatalf("GetFunctionConfiguration after updates = %+v, %v", cfg, err)
	}

	// UpdateFunctionCode changes the digest and the size, and keeps the configuration.
	newZip := zipOf(t, file{name: "app.py", body: pythonApp + "\n# v2\n"})
	code, err := c.UpdateFunctionCode(ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("hello"), ZipFile: newZip})
	if err != nil || aws.ToString(code.CodeSha256) != sha256Base64(newZip) || code.CodeSize != int64(len(newZip)) ||
		aws.ToInt32(code.Timeout) != 30 {
		t.Fatalf("UpdateFunctionCode = %+v, %v", code, err)
	}
	_, err = c.UpdateFunctionCode(ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("hello"), ZipFile: []byte("not a zip")})
	var invalid *types.InvalidParameterValueException
	if !errors.As(err, &invalid) || invalid.ErrorMessage() != "Could not unzip uploaded file. Please check your file, then try to upload again." {
		t.Fatalf("UpdateFunctionCode with a bad zip: %v", err)
	}
	if cfg, err := c.GetFunctionConfiguration(ctx, &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("hello")}); err != nil ||
		aws.ToString(cfg.CodeSha256) != sha256Base64(newZip) {
		t.Fatalf("a refused zip changed the function: %+v, %v", cfg, err)
	}

	// Concurrency.
	conc, err := c.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("hello"),
		ReservedConcurrentExecutions: aws.Int32(7)})
	if err != nil || aws.ToInt32(conc.ReservedConcurrentExecutions) != 7 {
		t.Fatalf("PutFunctionConcurrency = %+v, %v", conc, err)
	}
	gc, err := c.GetFunctionConcurrency(ctx, &awslambda.GetFunctionConcurrencyInput{FunctionName: aws.String("hello")})
	if err != nil || aws.ToInt32(gc.ReservedConcurrentExecutions) != 7 {
		t.Fatalf("GetFunctionConcurrency = %+v, %v", gc, err)
	}
	if got, err := c.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("hello")}); err != nil ||
		got.Concurrency == nil || aws.ToInt32(got.Concurrency.ReservedConcurrentExecutions) != 7 {
		t.Fatalf("GetFunction's Concurrency = %+v, %v", got, err)
	}
	_, err = c.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("hello"),
		ReservedConcurrentExecutions: aws.Int32(901)})
	if !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), "UnreservedConcurrentExecution below its minimum value of [100]") {
		t.Fatalf("PutFunctionConcurrency over the account's: %v", err)
	}
	if _, err := c.DeleteFunctionConcurrency(ctx, &awslambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("hello")}); err != nil {
		t.Fatalf("DeleteFunctionConcurrency: %v", err)
	}
	if gc, err := c.GetFunctionConcurrency(ctx, &awslambda.GetFunctionConcurrencyInput{FunctionName: aws.String("hello")}); err != nil ||
		gc.ReservedConcurrentExecutions != nil {
		t.Fatalf("GetFunctionConcurrency after delete = %+v, %v", gc, err)
	}

	// Delete.
	if _, err := c.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String(arnBase + "hello")}); err != nil {
		t.Fatalf("DeleteFunction: %v", err)
	}
	_, err = c.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("hello")})
	if !errors.As(err, &notFound) {
		t.Fatalf("DeleteFunction twice: %v", err)
	}
	_, err = c.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("hello")})
	if !errors.As(err, &notFound) {
		t.Fatalf("GetFunction after delete: %v", err)
	}
}

func sha256Base64(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestListFunctionsPaging(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	zipBytes := zipOf(t, file{name: "app.py", body: pythonApp})
	var want []string
	for i := range 5 {
		name := fmt.Sprintf("fn-%d", i)
		want = append(want, name)
		if _, err := s.client.CreateFunction(t.Context(), &awslambda.CreateFunctionInput{FunctionName: aws.String(name),
			Role: aws.String(role), Runtime: types.RuntimePython313, Handler: aws.String("app.handler"),
			Code: &types.FunctionCode{ZipFile: zipBytes}}); err != nil {
			t.Fatalf("CreateFunction: %v", err)
		}
	}
	var got []string
	pages := 0
	p := awslambda.NewListFunctionsPaginator(s.client, &awslambda.ListFunctionsInput{MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListFunctions: %v", err)
		}
		pages++
		for _, f := range page.Functions {
			got = append(got, aws.ToString(f.FunctionName))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || pages != 3 {
		t.Fatalf("ListFunctions = %v in %d pages; want %v in 3", got, pages, want)
	}
	_, err := s.client.ListFunctions(t.Context(), &awslambda.ListFunctionsInput{Marker: aws.String("garbage")})
	wantAPIError(t, "ListFunctions with a bad marker", err, "InvalidParameterValueException")
}

// TestCreateFunctionRefused: bad input is answered in AWS's words and stores nothing.
func TestCreateFunctionRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	good := zipOf(t, file{name: "app.py", body: pythonApp})
	tests := []struct {
		name    string
		in      awslambda.CreateFunctionInput
		code    string
		message string
	}{
		{"not a zip", awslambda.CreateFunctionInput{Code: &types.FunctionCode{ZipFile: []byte("hello")}},
			"InvalidParameterValueException", "Could not unzip uploaded file. Please check your file, then try to upload again."},
		{"zip slip", awslambda.CreateFunctionInput{Code: &types.FunctionCode{ZipFile: zipOf(t, file{name: "../../evil.py", body: "x"})}},
			"InvalidParameterValueException", "Could not unzip uploaded file."},
		{"unknown runtime", awslambda.CreateFunctionInput{Runtime: "cobol85"},
			"InvalidParameterValueException", "Value cobol85 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set:"},
		{"deprecated runtime", awslambda.CreateFunctionInput{Runtime: types.RuntimePython27},
			"InvalidParameterValueException", "The runtime parameter of python2.7 is no longer supported"},
		{"timeout 0", awslambda.CreateFunctionInput{Timeout: aws.Int32(0)},
			"ValidationException", "Value '0' at 'timeout' failed to satisfy constraint"},
		{"timeout 901", awslambda.CreateFunctionInput{Timeout: aws.Int32(901)}, "ValidationException", "900"},
		{"memory 64", awslambda.CreateFunctionInput{MemorySize: aws.Int32(64)}, "ValidationException", "memorySize"},
		{"bad name", awslambda.CreateFunctionInput{FunctionName: aws.String("bad.name")}, "ValidationException", "functionName"},
		{"bad role", awslambda.CreateFunctionInput{Role: aws.String("admin")}, "ValidationException", "at 'role'"},
		{"no handler", awslambda.CreateFunctionInput{Handler: aws.String("")}, "InvalidParameterValueException",
			"Runtime and Handler are mandatory parameters"},
		{"reserved variable", awslambda.CreateFunctionInput{Environment: &types.Environment{Variables: map[string]string{"AWS_REGION": "x"}}},
			"InvalidParameterValueException", "Reserved keys used in this request: AWS_REGION"},
	}
	for _, tt := range tests {
		in := tt.in
		if in.FunctionName == nil {
			in.FunctionName = aws.String("refused")
		}
		if in.Role == nil {
			in.Role = aws.String(role)
		}
		if in.Runtime == "" {
			in.Runtime = types.RuntimePython312
		}
		if in.Handler == nil {
			in.Handler = aws.String("app.handler")
		}
		if in.Code == nil {
			in.Code = &types.FunctionCode{ZipFile: good}
		}
		_, err := s.client.CreateFunction(t.Context(), &in)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != tt.code || !strings.Contains(ae.ErrorMessage(), tt.message) {
			t.Errorf("%s: CreateFunction = %v; want %s containing %q", tt.name, err, tt.code, tt.message)
		}
	}
	list, err := s.client.ListFunctions(t.Context(), &awslambda.ListFunctionsInput{})
	if err != nil || len(list.Functions) != 0 {
		t.Fatalf("after refused creates, ListFunctions = %+v, %v", list, err)
	}
	entries, err := os.ReadDir(filepath.Join(s.dataDir, "lambda", "code"))
	if err != nil || len(entries) != 0 {
		t.Fatalf("refused code left on disk: %v, %v", entries, err)
	}
}

// TestBotocoreParsesErrors: boto3 reads the code and message of Lambda's errors as sent.
func TestBotocoreParsesErrors(t *testing.T) {
	t.Parallel()
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skipf("python3 with boto3 not available: %v", err)
	}
	s := newServer(t)
	script := `
import boto3, botocore, json, sys
c = boto3.client("lambda", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="a", aws_secret_access_key="b",
                 config=botocore.config.Config(retries={"max_attempts": 0}))
out = []
for call in (lambda: c.get_function(FunctionName="missing"),
             lambda: c.create_function(FunctionName="f", Role="arn:aws:iam::123456789012:role/r", Runtime="python3.12",
                                       Handler="app.handler", Code={"ZipFile": b"not a zip"})):
    try:
        call()
        out.append(None)
    except c.exceptions.ClientError as e:
        out.append([e.response["Error"]["Code"], e.response["Error"]["Message"], e.response["ResponseMetadata"]["HTTPStatusCode"],
                    type(e).__name__])
print(json.dumps(out))
`
	out, err := exec.CommandContext(t.Context(), "python3", "-c", script, s.url).CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	var got [][]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("boto3 printed %s: %v", out, err)
	}
	want := `[[ResourceNotFoundException Function not found: ` + arnBase + `missing 404 ResourceNotFoundException] ` +
		`[InvalidParameterValueException Could not unzip uploaded file. Please check your file, then try to upload again. 400 InvalidParameterValueException]]`
	if fmt.Sprint(got) != want {
		t.Fatalf("boto3 saw %v\nwant %v", got, want)
	}
}

// invokeJSON invokes with a JSON payload.
func invokeJSON(t *testing.T, s *server, in *awslambda.InvokeInput, payload any) (*awslambda.InvokeOutput, error) {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	in.Payload = b
	return s.client.Invoke(t.Context(), in)
}

func requirePython(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not on PATH")
	}
}

func TestInvokePython(t *testing.T) {
	t.Parallel()
	requirePython(t)
	s := newServer(t)
	createPython(t, s, "py")
	if _, err := s.client.UpdateFunctionConfiguration(t.Context(), &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("py"), Environment: &types.Environment{Variables: map[string]string{"GREETING": "hello"}},
	}); err != nil {
		t.Fatalf("UpdateFunctionConfiguration: %v", err)
	}

	// RequestResponse, with the log's tail.
	out, err := invokeJSON(t, s, &awslambda.InvokeInput{FunctionName: aws.String("py"), LogType: types.LogTypeTail},
		map[string]any{"n": 1})
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if out.StatusCode != 200 || out.FunctionError != nil || aws.ToString(out.ExecutedVersion) != "$LATEST" ||
		string(out.Payload) != `{"echo": {"n": 1}, "env": "hello", "fn": "py"}` {
		t.Fatalf("Invoke = %d %v %q %s", out.StatusCode, out.FunctionError, aws.ToString(out.ExecutedVersion), out.Payload)
	}
	tail, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if err != nil || !strings.Contains(string(tail), "START RequestId:") || !strings.Contains(string(tail), `handling {"n": 1}`) ||
		!strings.Contains(string(tail), "REPORT RequestId:") {
		t.Fatalf("LogResult = %q, %v", tail, err)
	}

	// A function error.
	out, err = invokeJSON(t, s, &awslambda.InvokeInput{FunctionName: aws.String(arnBase + "py")}, map[string]any{"fail": "boom"})
	if err != nil || out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" {
		t.Fatalf("Invoke failing = %+v, %v", out, err)
	}
	var fe struct {
		ErrorMessage string   `json:"errorMessage"`
		ErrorType    string   `json:"errorType"`
		StackTrace   []string `json:"stackTrace"`
	}
	if err := json.Unmarshal(out.Payload, &fe); err != nil || fe.ErrorType != "ValueError" || fe.ErrorMessage != "boom" {
		t.Fatalf("function error payload %s: %v", out.Payload, err)
	}

	// DryRun.
	out, err = invokeJSON(t, s, &awslambda.InvokeInput{FunctionName: aws.String("py"), InvocationType: types.InvocationTypeDryRun}, map[string]any{})
	if err != nil || out.StatusCode != 204 || len(out.Payload) != 0 {
		t.Fatalf("Invoke DryRun = %+v, %v", out, err)
	}

	// Event: 202 at once, and the function runs.
	mark := filepath.Join(t.TempDir(), "ran")
	out, err = invokeJSON(t, s, &awslambda.InvokeInput{FunctionName: aws.String("py"), InvocationType: types.InvocationTypeEvent},
		map[string]any{"touch": mark})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Invoke Event = %+v, %v", out, err)
	}
	waitFor(t, "the Event invocation to run", func() bool { _, err := os.Stat(mark); return err == nil })

	// Refused invocations.
	_, err = s.client.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String("py"), Payload: bytes.Repeat([]byte("7"), 7<<20)})
	var tooLarge *types.RequestTooLargeException
	if !errors.As(err, &tooLarge) || tooLarge.ErrorMessage() != "Request must be smaller than 6291456 bytes for the InvokeFunction operation" {
		t.Fatalf("Invoke with 7 MB: %v", err)
	}
	_, err = s.client.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String("py"), Payload: []byte("{not json")})
	var badContent *types.InvalidRequestContentException
	if !errors.As(err, &badContent) || !strings.HasPrefix(badContent.ErrorMessage(), "Could not parse request body into json") {
		t.Fatalf("Invoke with a payload that is not JSON: %v", err)
	}
	_, err = s.client.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String("nope")})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("Invoke of a missing function: %v", err)
	}
	_, err = s.client.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String("py"), Qualifier: aws.String("3")})
	if !errors.As(err, &notFound) {
		t.Fatalf("Invoke of version 3: %v", err)
	}

	// Reserved concurrency 0 throttles every invocation.
	if _, err := s.client.PutFunctionConcurrency(t.Context(), &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("py"),
		ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatalf("PutFunctionConcurrency: %v", err)
	}
	_, err = s.client.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String("py")})
	var throttled *types.TooManyRequestsException
	if !errors.As(err, &throttled) || throttled.ErrorMessage() != "Rate Exceeded." {
		t.Fatalf("Invoke with reserved concurrency 0: %v", err)
	}
}

// TestInvokeAfterUpdate: new code and settings reach the next invocation, never an old process.
func TestInvokeAfterUpdate(t *testing.T) {
	t.Parallel()
	requirePython(t)
	s := newServer(t)
	createPython(t, s, "v")
	if out, err := invokeJSON(t, s, &awslambda.InvokeInput{FunctionName: aws.String("v")}, map[string]any{}); err != nil || out.FunctionError != nil {
		t.Fatalf("Invoke: %+v, %v", out, err)
	}
	v2 := "def handler(event, context):\n    return 'v2'\n"
	if _, err := s.client.UpdateFunctionCode(t.Context(), &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("v"),
		ZipFile: zipOf(t, file{name: "app.py", body: v2})}); err != nil {
		t.Fatalf("UpdateFunctionCode: %v", err)
	}
	out, err := invokeJSON(t, s, &awslambda.InvokeInput{FunctionName: aws.String("v")}, map[string]any{})
	if err != nil || string(out.Payload) != `"v2"` {
		t.Fatalf("Invoke after UpdateFunctionCode = %s, %v", out.Payload, err)
	}
	// A missing handler file is accepted at create and fails at invoke, as on AWS.
	if _, err := s.client.UpdateFunctionConfiguration(t.Context(), &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("v"), Handler: aws.String("missing.handler")}); err != nil {
		t.Fatalf("UpdateFunctionConfiguration: %v", err)
	}
	out, err = invokeJSON(t, s, &awslambda.InvokeInput{FunctionName: aws.String("v")}, map[string]any{})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Runtime.ImportModuleError") {
		t.Fatalf("Invoke of a missing handler = %+v (%s), %v", out, out.Payload, err)
	}
}

// TestServiceInvoke: Task states call Invoke directly.
func TestServiceInvoke(t *testing.T) {
	t.Parallel()
	requirePython(t)
	s := newServer(t)
	createPython(t, s, "direct")
	res, err := s.svc.Invoke(context.Background(), &lambda.InvokeParams{FunctionName: arnBase + "direct:$LATEST", Payload: []byte(`{"list":[1,2]}`)})
	if err != nil || res.StatusCode != 200 || string(res.Payload) != `{"echo": {"list": [1, 2]}, "env": "", "fn": "direct"}` || res.RequestID == "" {
		t.Fatalf("Invoke = %+v, %v", res, err)
	}
	_, err = s.svc.Invoke(context.Background(), &lambda.InvokeParams{FunctionName: "missing"})
	var le *lambda.Error
	if !errors.As(err, &le) || le.Code != "ResourceNotFoundException" || le.Status != 404 {
		t.Fatalf("Invoke of a missing function: %v", err)
	}
}

// waitFor polls cond until it holds or the test's deadline nears.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := t.Deadline(); ok && d.Before(deadline) {
		deadline = d.Add(-time.Second)
	}
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTwoNodes: nodes sharing a database share functions; one that did not create a function
// unpacks its code from the store, and sees another node's update.
func TestTwoNodes(t *testing.T) {
	t.Parallel()
	requirePython(t)
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(dir, "stepline.db")})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	testTwoNodes(t, st, st, dir)
}

// TestTwoNodesPostgres: the same with two servers, each with its own connections to one
// PostgreSQL database.
func TestTwoNodesPostgres(t *testing.T) {
	t.Parallel()
	requirePython(t)
	dsn, schema, _ := pgtest.Schema(t)
	var stores [2]store.Store
	for i := range stores {
		st, err := postgres.Open(t.Context(), postgres.Options{DSN: dsn, Schema: schema})
		if err != nil {
			t.Fatalf("postgres.Open: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		stores[i] = st
	}
	testTwoNodes(t, stores[0], stores[1], t.TempDir())
}

func testTwoNodes(t *testing.T, stA, stB store.Store, dir string) {
	a := newNode(t, stA, filepath.Join(dir, "a"), 0)
	b := newNode(t, stB, filepath.Join(dir, "b"), time.Nanosecond) // re-reads on every Invoke
	createPython(t, a, "shared")
	out, err := invokeJSON(t, b, &awslambda.InvokeInput{FunctionName: aws.String("shared")}, map[string]any{"x": 1})
	if err != nil || string(out.Payload) != `{"echo": {"x": 1}, "env": "", "fn": "shared"}` {
		t.Fatalf("Invoke on the other node = %+v, %v", out, err)
	}
	if _, err := a.client.UpdateFunctionCode(t.Context(), &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("shared"),
		ZipFile: zipOf(t, file{name: "app.py", body: "def handler(e, c):\n    return 'new'\n"})}); err != nil {
		t.Fatalf("UpdateFunctionCode: %v", err)
	}
	out, err = invokeJSON(t, b, &awslambda.InvokeInput{FunctionName: aws.String("shared")}, map[string]any{})
	if err != nil || string(out.Payload) != `"new"` {
		t.Fatalf("Invoke on the other node after an update = %s, %v", out.Payload, err)
	}
	if _, err := a.client.DeleteFunction(t.Context(), &awslambda.DeleteFunctionInput{FunctionName: aws.String("shared")}); err != nil {
		t.Fatalf("DeleteFunction: %v", err)
	}
	_, err = b.client.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String("shared")})
	wantAPIError(t, "Invoke on the other node after a delete", err, "ResourceNotFoundException")
}

// TestCloseWaitsForEvents: Close returns once the Event invocations accepted before it ended.
func TestCloseWaitsForEvents(t *testing.T) {
	t.Parallel()
	requirePython(t)
	s := newServer(t)
	createPython(t, s, "slow")
	mark := filepath.Join(t.TempDir(), "ran")
	out, err := invokeJSON(t, s, &awslambda.InvokeInput{FunctionName: aws.String("slow"), InvocationType: types.InvocationTypeEvent},
		map[string]any{"sleep": 0.5, "touch": mark})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Invoke Event = %+v, %v", out, err)
	}
	if err := s.close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(mark); err != nil {
		t.Fatalf("Close returned before the Event invocation ran: %v", err)
	}
	_, err = s.svc.Invoke(context.Background(), &lambda.InvokeParams{FunctionName: "slow", InvocationType: "Event"})
	var le *lambda.Error
	if !errors.As(err, &le) || le.Code != "ServiceException" {
		t.Fatalf("Invoke after Close: %v", err)
	}
}

// TestRawRequests: what the SDKs would not send, sent anyway.
func TestRawRequests(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	createPython(t, s, "raw")
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"configuration body over its limit", "PUT", "/2015-03-31/functions/raw/configuration",
			`{"Description":"` + strings.Repeat("d", 2<<20) + `"}`, 413, "RequestEntityTooLargeException"},
		{"body that is not JSON", "PUT", "/2015-03-31/functions/raw/configuration", `{"Timeout":`, 400, "InvalidRequestContentException"},
		{"wrong type", "PUT", "/2015-03-31/functions/raw/configuration", `{"Timeout":"x"}`, 400, "InvalidRequestContentException"},
		{"unknown path", "GET", "/2015-03-31/nothing", "", 404, "UnknownOperationException"},
		{"unknown method", "PATCH", "/2015-03-31/functions/raw", "", 404, "UnknownOperationException"},
		{"bad invocation type", "POST", "/2015-03-31/functions/raw/invocations", "{}", 400, "ValidationException"},
		{"concurrency without a value", "PUT", "/2017-10-31/functions/raw/concurrency", `{}`, 400, "ValidationException"},
		{"negative concurrency", "PUT", "/2017-10-31/functions/raw/concurrency", `{"ReservedConcurrentExecutions":-1}`, 400, "ValidationException"},
		{"delete $LATEST", "DELETE", "/2015-03-31/functions/raw?Qualifier=%24LATEST", "", 400, "InvalidParameterValueException"},
		{"MaxItems 0", "GET", "/2015-03-31/functions/?MaxItems=0", "", 400, "ValidationException"},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, s.url+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		if tt.name == "bad invocation type" {
			req.Header.Set("X-Amz-Invocation-Type", "Later")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var body struct {
			Type    string `json:"Type"`
			Message string `json:"message"`
		}
		derr := json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("X-Amzn-Errortype") != tt.code || derr != nil || body.Type != "User" ||
			body.Message == "" || resp.Header.Get("X-Amzn-Requestid") == "" {
			t.Errorf("%s: %d %s %+v (%v); want %d %s", tt.name, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), body, derr, tt.status, tt.code)
		}
	}
	// Nothing of the refused updates was applied.
	cfg, err := s.client.GetFunctionConfiguration(t.Context(), &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("raw")})
	if err != nil || aws.ToInt32(cfg.Timeout) != 3 || aws.ToString(cfg.Description) != "" {
		t.Fatalf("GetFunctionConfiguration = %+v, %v", cfg, err)
	}
}

// TestSweepUnpacks: New removes the folders of unpacks a crash interrupted, but not those
// another node may be unpacking into now.
func TestSweepUnpacks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	codeDir := filepath.Join(dir, "data", "lambda", "code")
	old, fresh := filepath.Join(codeDir, ".unpack-old-1"), filepath.Join(codeDir, ".unpack-new-1")
	for _, d := range []string{old, fresh} {
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(dir, "stepline.db")})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	newNode(t, st, filepath.Join(dir, "data"), 0)
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an interrupted unpack of two hours ago is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("a recent unpack was removed: %v", err)
	}
}

// TestRelativeDataDir: `stepline serve` with its defaults keeps data beside ./stepline.db, a
// relative folder; functions, which run in their code's folder, must still find their code.
func TestRelativeDataDir(t *testing.T) {
	requirePython(t)
	dir := t.TempDir()
	t.Chdir(dir)
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: "stepline.db"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := newNode(t, st, "stepline-data", 0)
	createPython(t, s, "relative")
	out, err := invokeJSON(t, s, &awslambda.InvokeInput{FunctionName: aws.String("relative")}, map[string]any{"n": 1})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("Invoke = %s, %v", out.Payload, err)
	}
}
