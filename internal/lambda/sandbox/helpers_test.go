package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	// The Go test function (testdata/goecho) is built with aws-lambda-go; importing it here keeps
	// it in go.mod, which builds of testdata would not.
	_ "github.com/aws/aws-lambda-go/lambda"
)

var (
	goFuncOnce sync.Once
	goFuncDir  string
	goFuncErr  error
	buildDir   string
	requestSeq atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// goFunction builds testdata/goecho as a provided.al2023 bootstrap, once per test binary.
func goFunction(t testing.TB) string {
	t.Helper()
	goFuncOnce.Do(func() {
		buildDir, goFuncErr = os.MkdirTemp("", "sandbox-gofunc-")
		if goFuncErr != nil {
			return
		}
		goFuncDir = filepath.Join(buildDir, "code")
		if goFuncErr = os.Mkdir(goFuncDir, 0o755); goFuncErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o",
			filepath.Join(goFuncDir, "bootstrap"), "./testdata/goecho")
		cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			goFuncErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if goFuncErr != nil {
		t.Fatal(goFuncErr)
	}
	return goFuncDir
}

func testdataDir(t testing.TB, name string) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newPool(t testing.TB, o Options) *Pool {
	t.Helper()
	if o.LogDir == "" {
		o.LogDir = t.TempDir()
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func goSpec(t testing.TB, name string) *Spec {
	return &Spec{
		Function: name, Version: "$LATEST", Arn: "arn:aws:lambda:us-east-1:123456789012:function:" + name,
		Runtime: "provided.al2023", Handler: "bootstrap", CodeDir: goFunction(t), Key: "k1",
		Timeout: 30 * time.Second, MemoryMB: 256,
	}
}

func pySpec(t testing.TB, name, handler string) *Spec {
	return &Spec{
		Function: name, Version: "$LATEST", Arn: "arn:aws:lambda:us-east-1:123456789012:function:" + name,
		Runtime: "python3.12", Handler: handler, CodeDir: testdataDir(t, "python"), Key: "k1",
		Timeout: 30 * time.Second, MemoryMB: 128,
	}
}

func nodeSpec(t testing.TB, name, handler string) *Spec {
	return &Spec{
		Function: name, Version: "$LATEST", Arn: "arn:aws:lambda:us-east-1:123456789012:function:" + name,
		Runtime: "nodejs20.x", Handler: handler, CodeDir: testdataDir(t, "node"), Key: "k1",
		Timeout: 30 * time.Second, MemoryMB: 128,
	}
}

func newID() string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", requestSeq.Add(1))
}

func invoke(t testing.TB, p *Pool, spec *Spec, payload string) *Result {
	t.Helper()
	res, err := p.Invoke(context.Background(), spec, &Invocation{RequestID: newID(), Payload: []byte(payload), TailLog: true})
	if err != nil {
		t.Fatalf("Invoke %s %s: %v", spec.Function, payload, err)
	}
	return res
}

// errorPayload decodes a function error's payload.
type errorPayload struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	RequestID    *string  `json:"requestId"`
	StackTrace   []any    `json:"stackTrace"` // strings from Python, objects from aws-lambda-go
	Trace        []string `json:"trace"`
}

func decodeError(t testing.TB, res *Result) errorPayload {
	t.Helper()
	if res.FunctionError != "Unhandled" {
		t.Fatalf("FunctionError = %q, want Unhandled; payload %s\nlog:\n%s", res.FunctionError, res.Payload, res.Log)
	}
	var e errorPayload
	if err := json.Unmarshal(res.Payload, &e); err != nil {
		t.Fatalf("error payload %q: %v", res.Payload, err)
	}
	return e
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// processesWithEnv lists live processes (not zombies) whose environment holds kv, and zombie
// children of this test process.
func processesWithEnv(kv string) (live []string, zombies []string) {
	entries, _ := os.ReadDir("/proc")
	me := fmt.Sprint(os.Getpid())
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, so split after the last ')'.
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) >= 2 && f[0] == "Z" && f[1] == me {
			zombies = append(zombies, e.Name())
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, v := range strings.Split(string(env), "\x00") {
			if v == kv {
				live = append(live, e.Name())
				break
			}
		}
	}
	return live, zombies
}
