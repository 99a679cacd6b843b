package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/limits"
)

// limitsPy is a Python function that goes over its memory, or starts children and sleeps.
const limitsPy = `import subprocess, time

def hog(event, context):
    b = bytearray(event["mb"] * 1024 * 1024)
    for i in range(0, len(b), 4096):
        b[i] = 1
    return len(b)

def spawn(event, context):
    # A child and a grandchild (sh's sleep), both sleeping far beyond the timeout.
    subprocess.Popen(["sh", "-c", "sleep 600 & sleep 600"])
    print("spawned", flush=True)
    time.sleep(600)
`

func limitsCode(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "limits.py"), []byte(limitsPy), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMemorySizeIsEnforced(t *testing.T) {
	pythonExe(t)
	p := newPool(t, Options{})
	t.Logf("mechanism: %s", limits.Detect().Mechanism())
	spec := pySpec(t, "hog", "limits.hog")
	spec.CodeDir = limitsCode(t)
	spec.MemoryMB = 128
	res, err := p.Invoke(context.Background(), spec, &Invocation{RequestID: "req-hog", Payload: []byte(`{"mb":400}`), TailLog: true})
	if err != nil {
		t.Fatal(err)
	}
	e := decodeError(t, res)
	switch limits.Detect().Mechanism() {
	case limits.CgroupV1, limits.CgroupV2:
		if e.ErrorType != "Runtime.OutOfMemory" || e.ErrorMessage != "RequestId: req-hog Error: Runtime exited with error: signal: killed" {
			t.Fatalf("over MemorySize = %+v\n%s", e, res.Log)
		}
		if !strings.Contains(string(res.Log), "Status: error\tError Type: Runtime.OutOfMemory") {
			t.Fatalf("REPORT does not say Runtime.OutOfMemory:\n%s", res.Log)
		}
	default:
		// RLIMIT_DATA: the allocation fails inside the function.
		if e.ErrorType != "MemoryError" {
			t.Fatalf("over MemorySize = %+v\n%s", e, res.Log)
		}
	}
	// The function still runs within its memory, on a new process.
	res = invoke(t, p, spec, `{"mb":16}`)
	if res.FunctionError != "" || string(res.Payload) != "16777216" {
		t.Fatalf("within MemorySize: %s %s", res.FunctionError, res.Payload)
	}
}

func TestTimeoutKillsGrandchildren(t *testing.T) {
	pythonExe(t)
	p := newPool(t, Options{})
	mark := "STEPLINE_TEST_MARK=" + newID()
	spec := pySpec(t, "spawner", "limits.spawn")
	spec.CodeDir = limitsCode(t)
	spec.Environment = map[string]string{"STEPLINE_TEST_MARK": strings.TrimPrefix(mark, "STEPLINE_TEST_MARK=")}
	spec.Timeout = 2 * time.Second
	res := invoke(t, p, spec, `{}`)
	if e := decodeError(t, res); e.ErrorType != "Sandbox.Timedout" {
		t.Fatalf("want a timeout, got %+v\n%s", e, res.Log)
	}
	if !strings.Contains(string(res.Log), "spawned") {
		t.Fatalf("the function did not start its children:\n%s", res.Log)
	}
	// The function, sh and both sleeps carried the mark: none may be left (the kill is
	// synchronous with the group; a zombie reparented to init may take a moment to be reaped).
	waitFor(t, "every process of the function to be gone", func() bool {
		live, _ := processesWithEnv(mark)
		return len(live) == 0
	})

	// Stopping the pool (the server's shutdown) does the same to an idle process's children.
	spec.Timeout = 30 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitFor(t, "the children to start", func() bool { live, _ := processesWithEnv(mark); return len(live) >= 3 })
		cancel()
	}()
	_, err := p.Invoke(ctx, spec, &Invocation{RequestID: newID(), Payload: []byte(`{}`)})
	if err == nil {
		t.Fatal("a cancelled invocation returned no error")
	}
	p.Close()
	live, _ := processesWithEnv(mark)
	if len(live) != 0 {
		t.Fatalf("processes left after Close: %v", live)
	}
}

func TestRuntimeAPIFloodIsCutOff(t *testing.T) {
	py := pythonExe(t)
	code := t.TempDir()
	script := rawRuntime + `
r, b = req("GET", "/invocation/next")
rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
print("flooding", flush=True)
while True:
    r, b = req("POST", "/invocation/bogus-" + rid + "/response", b"{}")
`
	if err := os.WriteFile(filepath.Join(code, "bootstrap"), []byte("#!"+py+"\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	p := newPool(t, Options{})
	spec := goSpec(t, "flooder")
	spec.CodeDir = code
	res := invoke(t, p, spec, `{}`)
	e := decodeError(t, res)
	if e.ErrorType != "Runtime.ExitError" || !strings.HasSuffix(e.ErrorMessage, "Error: Runtime exited with error: signal: killed") {
		t.Fatalf("flood = %+v\n%s", e, res.Log)
	}
	if !strings.Contains(string(res.Log), "Runtime API flooded: 1000 refused calls") {
		t.Fatalf("log does not say why:\n%s", res.Log)
	}
	// The pool still serves other functions.
	if res := invoke(t, p, goSpec(t, "after-flood"), `{"op":"echo","data":1}`); string(res.Payload) != "1" {
		t.Fatalf("after the flood: %s", res.Payload)
	}
}
