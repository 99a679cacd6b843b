package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/server"
)

// These tests drive the Lambda service and Task states of a real server with aws-sdk-go-v2: a Go
// function built with aws-lambda-go (as Go functions ship to AWS) and a Python one, invoked
// through the Lambda API and from state machines in both forms of a Lambda task.

var (
	goEchoOnce sync.Once
	goEchoZip  []byte
	goEchoErr  error
)

// goEcho zips sandbox's aws-lambda-go test function as a provided.al2023 bootstrap.
func goEcho(t testing.TB) []byte {
	t.Helper()
	goEchoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "server-goecho-")
		if err != nil {
			goEchoErr = err
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-o", bin, "../lambda/sandbox/testdata/goecho")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			goEchoErr = errors.New("go build: " + err.Error() + "\n" + string(out))
			return
		}
		b, err := os.ReadFile(bin)
		if err != nil {
			goEchoErr = err
			return
		}
		goEchoZip, goEchoErr = zipFile("bootstrap", b, 0o755)
	})
	if goEchoErr != nil {
		t.Fatal(goEchoErr)
	}
	return goEchoZip
}

func zipFile(name string, body []byte, mode os.FileMode) ([]byte, error) {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: name, Method: zip.Deflate}
	h.SetMode(mode)
	w, err := z.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(body); err != nil {
		return nil, err
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

const pyEcho = `def handler(event, context):
    return {"py": event, "fn": context.function_name}
`

const pyFail = `class OutOfStock(Exception):
    pass

def handler(event, context):
    raise OutOfStock("no " + event["item"])
`

func newLambdaClient(url string) *lambda.Client {
	return lambda.New(lambda.Options{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
	})
}

func createFunction(t testing.TB, c *lambda.Client, name string, runtime lambdatypes.Runtime, handler string, code []byte) {
	t.Helper()
	_, err := c.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: runtime, Handler: aws.String(handler), Role: aws.String(role),
		Code: &lambdatypes.FunctionCode{ZipFile: code},
	})
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
}

func pyZip(t *testing.T, src string) []byte {
	t.Helper()
	b, err := zipFile("app.py", []byte(src), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fnArn(name string) string { return "arn:aws:lambda:us-east-1:123456789012:function:" + name }

func TestLambdaGoAndPythonFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go function and runs Python")
	}
	t.Parallel()
	b := setup(t, server.Options{})
	lc := newLambdaClient(b.url)
	ctx := context.Background()
	createFunction(t, lc, "go-echo", lambdatypes.RuntimeProvidedal2023, "bootstrap", goEcho(t))
	createFunction(t, lc, "py-echo", lambdatypes.RuntimePython312, "app.handler", pyZip(t, pyEcho))
	createFunction(t, lc, "py-fail", lambdatypes.RuntimePython312, "app.handler", pyZip(t, pyFail))

	t.Run("Invoke", func(t *testing.T) {
		for _, tc := range []struct{ fn, payload, want string }{
			{"go-echo", `{"data":{"n":1}}`, `{"n":1}`},
			{"py-echo", `{"n":2}`, `{"py":{"n":2},"fn":"py-echo"}`},
		} {
			out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(tc.fn), Payload: []byte(tc.payload)})
			if err != nil {
				t.Fatalf("Invoke %s: %v", tc.fn, err)
			}
			if out.StatusCode != 200 || out.FunctionError != nil || !jsonEqual(t, out.Payload, tc.want) {
				t.Errorf("Invoke %s: %d %v %s, want 200 %s", tc.fn, out.StatusCode, aws.ToString(out.FunctionError), out.Payload, tc.want)
			}
		}
		out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("py-fail"), Payload: []byte(`{"item":"tea"}`)})
		if err != nil {
			t.Fatal(err)
		}
		var fe struct{ ErrorType, ErrorMessage string }
		if err := json.Unmarshal(out.Payload, &fe); err != nil || aws.ToString(out.FunctionError) != "Unhandled" ||
			fe.ErrorType != "OutOfStock" || fe.ErrorMessage != "no tea" {
			t.Errorf("function error: %v %s (%v)", aws.ToString(out.FunctionError), out.Payload, err)
		}
	})

	t.Run("StateMachine", func(t *testing.T) {
		// Each function in each form: the Go one by ARN and through lambda:invoke, the Python one
		// likewise, results threaded through ResultSelector and ResultPath.
		def := `{"StartAt":"GoByArn","States":{
			"GoByArn":{"Type":"Task","Resource":"` + fnArn("go-echo") + `","Parameters":{"data.$":"$.order"},"ResultPath":"$.go1","Next":"PyInvoke"},
			"PyInvoke":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"py-echo","Payload.$":"$.go1"},
				"ResultSelector":{"body.$":"$.Payload","status.$":"$.StatusCode"},"ResultPath":"$.py1","Next":"GoInvoke"},
			"GoInvoke":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"` + fnArn("go-echo") + `","Payload":{"data.$":"$.py1.status"}},
				"ResultSelector":{"p.$":"$.Payload"},"ResultPath":"$.go2","Next":"PyByArn"},
			"PyByArn":{"Type":"Task","Resource":"` + fnArn("py-echo") + `","End":true}}}`
		out := b.waitDone(t, b.start(t, b.createMachine(t, "lambda-forms", def), "x", `{"order":{"id":7}}`))
		want := `{"py":{"order":{"id":7},"go1":{"id":7},"py1":{"body":{"py":{"id":7},"fn":"py-echo"},"status":200},"go2":{"p":200}},"fn":"py-echo"}`
		if out.Status != types.ExecutionStatusSucceeded || !jsonEqual(t, []byte(aws.ToString(out.Output)), want) {
			t.Errorf("%s %s %s %s, want SUCCEEDED %s", out.Status, aws.ToString(out.Output), aws.ToString(out.Error), aws.ToString(out.Cause), want)
		}
	})

	t.Run("Catch", func(t *testing.T) {
		// A function error's errorType is the error Retry and Catch see, for Python's exception
		// class and for aws-lambda-go's error type alike.
		def := `{"StartAt":"Py","States":{
			"Py":{"Type":"Task","Resource":"` + fnArn("py-fail") + `","Catch":[{"ErrorEquals":["OutOfStock"],"ResultPath":"$.py","Next":"Go"}],"End":true},
			"Go":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"go-echo","Payload":{"op":"error"}},
				"Catch":[{"ErrorEquals":["errorString"],"ResultPath":"$.go","Next":"Done"}],"End":true},
			"Done":{"Type":"Pass","End":true}}}`
		out := b.waitDone(t, b.start(t, b.createMachine(t, "lambda-catch", def), "x", `{"item":"milk"}`))
		var got struct {
			Py, Go struct{ Error, Cause string }
		}
		if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &got); err != nil || out.Status != types.ExecutionStatusSucceeded {
			t.Fatalf("%s %s (%v)", out.Status, aws.ToString(out.Output), err)
		}
		var pyCause, goCause struct{ ErrorType, ErrorMessage string }
		if got.Py.Error != "OutOfStock" || json.Unmarshal([]byte(got.Py.Cause), &pyCause) != nil || pyCause.ErrorMessage != "no milk" {
			t.Errorf("Python error caught as %+v", got.Py)
		}
		if got.Go.Error != "errorString" || json.Unmarshal([]byte(got.Go.Cause), &goCause) != nil || goCause.ErrorMessage != "boom from go" {
			t.Errorf("Go error caught as %+v", got.Go)
		}
	})

	t.Run("ExpressSync", func(t *testing.T) {
		sm, err := b.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("lambda-express"), RoleArn: aws.String(role),
			Type: types.StateMachineTypeExpress, Definition: aws.String(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnArn("go-echo") + `","End":true}}}`)})
		if err != nil {
			t.Fatal(err)
		}
		out, err := b.client.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"data":"fast"}`)},
			withoutHostPrefix)
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != types.SyncExecutionStatusSucceeded || aws.ToString(out.Output) != `"fast"` {
			t.Errorf("%s %s, want SUCCEEDED \"fast\"", out.Status, aws.ToString(out.Output))
		}
	})
}

func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return bytes.Equal(gb, wb)
}
