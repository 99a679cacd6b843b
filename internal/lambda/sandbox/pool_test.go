package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// stepClock is a clock the test moves; safe for the pool's goroutines.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// startBusy starts a Go invocation that sleeps until the pool is closed or evicted, and waits
// until its process is busy with it.
func startBusy(t *testing.T, p *Pool, spec *Spec) <-chan error {
	t.Helper()
	_, before := p.Processes(spec.Function)
	done := make(chan error, 1)
	go func() {
		res, err := p.Invoke(context.Background(), spec, &Invocation{RequestID: newID(), Payload: []byte(`{"op":"sleep","ms":600000}`)})
		if err == nil && res.FunctionError != "" {
			err = fmt.Errorf("function error %s", res.Payload)
		}
		done <- err
	}()
	waitFor(t, "a busy process", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		fn := p.fns[spec.Function]
		if fn == nil || fn.count != before+1 {
			return false
		}
		for pr := range p.procs {
			if pr.spec.Function == spec.Function && pr.busy && pr.initDoneYet() {
				pr.mu.Lock()
				running := pr.cur != nil && !pr.cur.answered
				pr.mu.Unlock()
				if running {
					return true
				}
			}
		}
		return false
	})
	return done
}

func TestReservedConcurrencyThrottles(t *testing.T) {
	p := newPool(t, Options{})
	spec := goSpec(t, "reserved")
	spec.Concurrency, spec.Reserved = 1, true
	busy := startBusy(t, p, spec)
	if _, err := p.Invoke(context.Background(), spec, &Invocation{RequestID: newID(), Payload: []byte(`{}`)}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("second invocation: %v, want ErrThrottled", err)
	}
	// Without Reserved the caller waits, until its context ends.
	spec.Reserved = false
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() {
		_, err := p.Invoke(ctx, spec, &Invocation{RequestID: newID(), Payload: []byte(`{}`)})
		waited <- err
	}()
	waitFor(t, "a waiter", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.fns["reserved"].waiters) == 1
	})
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting invocation: %v", err)
	}
	zero := goSpec(t, "reserved-zero")
	zero.Reserved = true
	if _, err := p.Invoke(context.Background(), zero, &Invocation{RequestID: newID(), Payload: []byte(`{}`)}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("reserved concurrency 0: %v, want ErrThrottled", err)
	}
	p.Close()
	if err := <-busy; !errors.Is(err, ErrClosed) {
		t.Fatalf("busy invocation after Close: %v", err)
	}
}

func TestConcurrencyLimitAndHandOff(t *testing.T) {
	p := newPool(t, Options{})
	spec := goSpec(t, "limited")
	spec.Concurrency = 2
	var wg sync.WaitGroup
	var mu sync.Mutex
	streams := map[string]int{}
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := p.Invoke(context.Background(), spec, &Invocation{RequestID: newID(), Payload: fmt.Appendf(nil, `{"data":%d}`, i)})
			if err != nil || string(res.Payload) != fmt.Sprint(i) {
				t.Errorf("invocation %d: %v %s", i, err, res.Payload)
				return
			}
			mu.Lock()
			streams[res.LogStream]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(streams) > 2 {
		t.Fatalf("%d processes served, limit 2: %v", len(streams), streams)
	}
	if _, n := p.Processes("limited"); n > 2 {
		t.Fatalf("processes = %d", n)
	}
}

func TestKeyChangeAndEvict(t *testing.T) {
	p := newPool(t, Options{})
	spec := goSpec(t, "evicted")
	spec.Concurrency = 1
	a := invoke(t, p, spec, `{}`)
	spec.Key = "k2"
	b := invoke(t, p, spec, `{}`)
	if a.LogStream == b.LogStream {
		t.Fatal("a new Key reused the old process")
	}
	if _, n := p.Processes("evicted"); n != 1 {
		t.Fatalf("processes = %d, want 1 (the old Key's one stopped to make room)", n)
	}
	p.Evict("evicted")
	if _, n := p.Processes("evicted"); n != 0 {
		t.Fatalf("idle processes after Evict = %d", n)
	}
	c := invoke(t, p, spec, `{}`)
	if !strings.Contains(string(c.Log), "Init Duration") {
		t.Fatal("invocation after Evict was warm")
	}

	// A busy process is retired when its invocation ends.
	spec.Concurrency = 2
	spec.Timeout = 2 * time.Second
	done := make(chan *Result, 1)
	go func() {
		res, _ := p.Invoke(context.Background(), spec, &Invocation{RequestID: newID(), Payload: []byte(`{"op":"sleep","ms":300}`), TailLog: true})
		done <- res
	}()
	waitFor(t, "a busy process", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.fns["evicted"].idle) == 0
	})
	p.Evict("evicted")
	res := <-done
	if res == nil || string(res.Payload) != `"slept"` {
		t.Fatalf("busy invocation across Evict: %+v", res)
	}
	waitFor(t, "the retired process to go", func() bool { _, n := p.Processes("evicted"); return n == 0 })
}

func TestIdleTimeoutAndProcessCap(t *testing.T) {
	clk := &stepClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	p := newPool(t, Options{Clock: clk, IdleTimeout: time.Hour, MaxProcesses: 1})
	a, b := goSpec(t, "capa"), goSpec(t, "capb")
	ra := invoke(t, p, a, `{}`)
	if !strings.HasPrefix(ra.LogStream, "2026/01/02/[$LATEST]") {
		t.Fatalf("log stream %q does not follow the injected clock", ra.LogStream)
	}
	invoke(t, p, b, `{}`)
	if total, nb := p.Processes("capb"); total != 1 || nb != 1 {
		t.Fatalf("total %d, capb %d: the cap did not stop capa's idle process", total, nb)
	}
	clk.Sleep(context.Background(), 59*time.Minute)
	p.StopIdle()
	if total, _ := p.Processes("capb"); total != 1 {
		t.Fatal("stopped a process idle for less than IdleTimeout")
	}
	clk.Sleep(context.Background(), time.Minute)
	p.StopIdle()
	if total, _ := p.Processes("capb"); total != 0 {
		t.Fatal("an idle process outlived IdleTimeout")
	}
}

func TestLogs(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, Options{LogDir: dir, MaxInvocationLog: 64 << 10, MaxLogFile: 256 << 10})
	spec := goSpec(t, "chatty")
	res := invoke(t, p, spec, `{"op":"print","bytes":200000}`)
	log := string(res.Log)
	if !strings.Contains(log, "[stepline: ") || !strings.HasSuffix(log, "\t\n") || !strings.Contains(log, "\nEND RequestId: ") {
		t.Fatalf("bounded log: %d bytes, ends %q", len(log), log[max(0, len(log)-400):])
	}
	if len(res.Log) > 64<<10+1024 {
		t.Fatalf("Result.Log is %d bytes, limit 64 KiB", len(res.Log))
	}
	file := filepath.Join(dir, "chatty", filepath.FromSlash(res.LogStream))
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() < 200000 {
		t.Fatalf("log file %d bytes, the output was 200000", st.Size())
	}
	// Past MaxLogFile the stream rotates to NAME.1, so it never holds more than twice the limit.
	for range 3 {
		invoke(t, p, spec, `{"op":"print","bytes":100000}`)
	}
	st, err = os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	old, err := os.Stat(file + ".1")
	if err != nil {
		t.Fatalf("no rotated file: %v", err)
	}
	if st.Size() > 256<<10 || old.Size() > 256<<10 {
		t.Fatalf("log files %d and %d bytes, limit %d", st.Size(), old.Size(), 256<<10)
	}
	// A warm invocation's log holds only its own output, even right after a large one.
	res = invoke(t, p, spec, `{"op":"echo","data":1}`)
	if got := strings.Count(string(res.Log), "\n"); got != 4 || !strings.Contains(string(res.Log), "\necho echo\n") {
		t.Fatalf("warm log:\n%s", res.Log)
	}
}

// pythonExe is the interpreter the pool runs, for test bootstraps written in Python.
func pythonExe(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Skipf("python3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// rawRuntime is a provided.al2023 bootstrap in Python that misbehaves on the Runtime API.
const rawRuntime = `
import http.client, json, os, socket, sys
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
c = http.client.HTTPConnection(host, int(port))
def req(method, path, body=None, headers={}):
    c.request(method, "/2018-06-01/runtime" + path, body=body, headers=headers)
    r = c.getresponse()
    return r, r.read()
def raw(data):
    s = socket.create_connection((host, int(port)))
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    out = s.recv(65536)
    s.close()
    return out.split(b"\r\n", 1)[0].decode()
seen = []
# init: garbage first
seen.append(raw(b"\x00\x01garbage\r\n\r\n"))
seen.append(raw(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"))
`

func TestGarbageOnTheRuntimeAPI(t *testing.T) {
	py := pythonExe(t)
	code := t.TempDir()
	script := rawRuntime + `
print("init statuses", seen, flush=True)
r, b = req("POST", "/init/error", b"not json")
sys.exit(2)
`
	if err := os.WriteFile(filepath.Join(code, "bootstrap"), []byte("#!"+py+"\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	p := newPool(t, Options{})
	spec := goSpec(t, "garbage-init")
	spec.CodeDir = code
	res := invoke(t, p, spec, `{}`)
	e := decodeError(t, res)
	if e.ErrorType != "Runtime.Unknown" || e.ErrorMessage != "not json" {
		t.Fatalf("init error = %+v\n%s", e, res.Log)
	}
	if !strings.Contains(string(res.Log), "init statuses ['HTTP/1.1 400 Bad Request', 'HTTP/1.1 400 Bad Request']") {
		t.Fatalf("log:\n%s", res.Log)
	}

	code2 := t.TempDir()
	script2 := rawRuntime + `
def next():
    r, b = req("GET", "/invocation/next")
    return r.getheader("Lambda-Runtime-Aws-Request-Id"), json.loads(b)
rid, ev = next()
r, b = req("POST", "/invocation/not-" + rid + "/response", b"{}")
seen.append((r.status, json.loads(b)["errorType"]))
r, b = req("GET", "/invocation/next")
seen.append((r.status, json.loads(b)["errorType"]))
r, b = req("POST", "/invocation/" + rid + "/response", b"x" * (6291556 + 1))
seen.append((r.status, json.loads(b)["errorType"]))
r, b = req("POST", "/invocation/" + rid + "/response", b"{}")
seen.append(r.status)
rid, ev = next()
r, b = req("POST", "/invocation/" + rid + "/error", b"\xff\xfe not json", {"Lambda-Runtime-Function-Error-Type": "Custom.Type"})
seen.append(r.status)
rid, ev = next()
r, b = req("PUT", "/invocation/" + rid + "/response", b"{}")
seen.append(r.status)
r, b = req("POST", "/invocation/" + rid + "/nothing", b"{}")
seen.append(r.status)
r, b = req("POST", "/invocation/" + rid + "/response", json.dumps(seen).encode())
rid, ev = next()
`
	if err := os.WriteFile(filepath.Join(code2, "bootstrap"), []byte("#!"+py+"\n"+script2), 0o755); err != nil {
		t.Fatal(err)
	}
	spec = goSpec(t, "garbage-invoke")
	spec.CodeDir = code2
	res = invoke(t, p, spec, `{}`)
	if e := decodeError(t, res); e.ErrorType != "Function.ResponseSizeTooLarge" ||
		e.ErrorMessage != "Response payload size exceeded maximum allowed payload size (6291556 bytes)." {
		t.Fatalf("too large = %+v\n%s", e, res.Log)
	}
	res = invoke(t, p, spec, `{}`)
	if e := decodeError(t, res); e.ErrorType != "Custom.Type" || e.ErrorMessage != "\ufffd not json" {
		t.Fatalf("non-JSON error = %+v", e)
	}
	res = invoke(t, p, spec, `{}`)
	want := `["HTTP/1.1 400 Bad Request", "HTTP/1.1 400 Bad Request", [400, "InvalidRequestID"], [403, "InvalidStateTransition"], [413, "RequestEntityTooLarge"], 400, 202, 405, 404]`
	if string(res.Payload) != want {
		t.Fatalf("statuses seen by the runtime = %s", res.Payload)
	}
	if _, n := p.Processes("garbage-invoke"); n != 1 {
		t.Fatalf("processes = %d: the garbage wedged or killed the process", n)
	}
}

func TestCloseReapsEverything(t *testing.T) {
	code := t.TempDir()
	// A bootstrap that leaves a grandchild behind, in its process group.
	boot := "#!/bin/sh\nsleep 1000 &\nexec " + filepath.Join(goFunction(t), "bootstrap") + "\n"
	if err := os.WriteFile(filepath.Join(code, "bootstrap"), []byte(boot), 0o755); err != nil {
		t.Fatal(err)
	}
	goFunction(t)
	goroutines := runtime.NumGoroutine()
	p, err := New(Options{LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fork := goSpec(t, "reap-fork")
	fork.CodeDir = code
	invoke(t, p, fork, `{}`)
	invoke(t, p, pySpec(t, "reap-py", "app.handler"), `{}`)
	invoke(t, p, nodeSpec(t, "reap-node", "index.handler"), `{"op":"echo"}`)
	busy := startBusy(t, p, goSpec(t, "reap-busy"))
	for _, fn := range []string{"reap-fork", "reap-py", "reap-node", "reap-busy"} {
		if live, _ := processesWithEnv("AWS_LAMBDA_FUNCTION_NAME=" + fn); len(live) == 0 {
			t.Fatalf("no process of %s before Close", fn)
		}
	}
	if live, _ := processesWithEnv("AWS_LAMBDA_FUNCTION_NAME=reap-fork"); len(live) < 2 {
		t.Fatalf("the forking bootstrap has %d processes, want 2", len(live))
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-busy; !errors.Is(err, ErrClosed) {
		t.Fatalf("busy invocation: %v", err)
	}
	for _, fn := range []string{"reap-fork", "reap-py", "reap-node", "reap-busy"} {
		// SIGKILL is asynchronous for grandchildren reparented to init: poll.
		waitFor(t, "no process of "+fn, func() bool {
			live, zombies := processesWithEnv("AWS_LAMBDA_FUNCTION_NAME=" + fn)
			return len(live) == 0 && len(zombies) == 0
		})
	}
	waitFor(t, "the pool's goroutines to end", func() bool { return runtime.NumGoroutine() <= goroutines })
	if _, err := os.Stat(p.runtimeDir); !os.IsNotExist(err) {
		t.Fatalf("runtime directory left behind: %v", err)
	}
}

// TestCallerLeaves: a caller that gives up mid-invocation gets its context's error; the
// invocation runs to its end, as on Lambda, and the process serves the next one warm.
func TestCallerLeaves(t *testing.T) {
	p := newPool(t, Options{})
	spec := goSpec(t, "leaver")
	spec.Concurrency = 1
	first := invoke(t, p, spec, `{}`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Invoke(ctx, spec, &Invocation{RequestID: "req-leaving", Payload: []byte(`{"op":"sleep","ms":300}`)})
		done <- err
	}()
	waitFor(t, "the invocation to run", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for pr := range p.procs {
			pr.mu.Lock()
			running := pr.cur != nil && pr.cur.id == "req-leaving"
			pr.mu.Unlock()
			if running {
				return true
			}
		}
		return false
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("caller that left: %v", err)
	}
	next := invoke(t, p, spec, `{"data":"next"}`)
	if string(next.Payload) != `"next"` || next.LogStream != first.LogStream {
		t.Fatalf("next = %s on %s, want the warm process %s", next.Payload, next.LogStream, first.LogStream)
	}
	file, err := os.ReadFile(filepath.Join(p.o.LogDir, "leaver", filepath.FromSlash(first.LogStream)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(file), "END RequestId: req-leaving\nREPORT RequestId: req-leaving\tDuration: ") {
		t.Fatalf("the left invocation did not run to its end:\n%s", file)
	}
}

// TestInitLimit: a runtime that never asks for an invocation is killed at the init limit.
func TestInitLimit(t *testing.T) {
	defer func(d time.Duration) { initLimit = d }(initLimit)
	initLimit = 300 * time.Millisecond
	code := t.TempDir()
	if err := os.WriteFile(filepath.Join(code, "bootstrap"), []byte("#!/bin/sh\necho initialising forever\nexec sleep 1000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := newPool(t, Options{})
	spec := goSpec(t, "slowinit")
	spec.CodeDir = code
	res, err := p.Invoke(context.Background(), spec, &Invocation{RequestID: "req-init", Payload: []byte(`{}`), TailLog: true})
	if err != nil {
		t.Fatal(err)
	}
	if e := decodeError(t, res); e.ErrorType != "Sandbox.Timedout" || e.ErrorMessage != "RequestId: req-init Error: Task timed out after 0.30 seconds" {
		t.Fatalf("init timeout = %+v", e)
	}
	if !strings.Contains(string(res.Log), "initialising forever\n") {
		t.Fatalf("log:\n%s", res.Log)
	}
	waitFor(t, "the process to go", func() bool {
		live, _ := processesWithEnv("AWS_LAMBDA_FUNCTION_NAME=slowinit")
		return len(live) == 0
	})
}
