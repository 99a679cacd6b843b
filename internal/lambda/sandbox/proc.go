package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stepline/stepline/internal/limits"
)

// errGone: the warm process died before it took the invocation; Invoke tries another.
var errGone = errors.New("sandbox: the process ended before taking the invocation")

// initLimit is Lambda's limit on a runtime's init phase (a variable so that a test can
// shorten it).
var initLimit = 10 * time.Second

// proc is one execution environment: a process, its Runtime API listener and its log stream.
type proc struct {
	pool *Pool
	spec Spec // a copy: the caller may change theirs
	key  string
	gen  int

	// Guarded by Pool.mu.
	busy     bool // owned by an invocation (or being started by one)
	counted  bool // counts in fnState.count and Pool.total
	started  bool // the process was started (it may have died since)
	retired  bool // killed on purpose: not to be reused
	lastUsed time.Time

	cmd      *exec.Cmd
	pid      int
	srv      *http.Server
	outR     *os.File // the read end of the process's stdout and stderr
	outW     *os.File // a write end of our own, to write flush markers into
	log      *logStream
	initDone chan struct{} // closed by the first GET …/invocation/next
	initOnce sync.Once
	initErr  chan outcome  // a POST …/init/error
	invCh    chan *call    // an invocation for the pending GET …/invocation/next
	flushed  chan struct{} // the output reader met a flush marker
	reader   chan struct{} // closed when the output reader is done
	exited   chan struct{} // closed once the process is reaped and its output read
	exitErr  error         // set before exited is closed
	memGroup *limits.Group // bounds the process's memory (nil: unbounded)
	oom      bool          // the process was killed for going over its memory; set before exited is closed

	memMB int       // the last Max Memory Used read, by the invocation owning the process
	memAt time.Time // when

	inflight atomic.Int32 // Runtime API calls being served
	badCalls atomic.Int32 // Runtime API calls refused with a 4xx

	mu  sync.Mutex // guards cur and its answered flag
	cur *call      // the invocation the runtime is working on
}

// call is one invocation handed to a runtime.
type call struct {
	id            string
	payload       []byte
	deadlineMs    string
	clientContext string
	invokedArn    string
	traceID       string // Lambda-Runtime-Trace-Id ("": a new one)
	version       string
	capture       bool // TailLog
	cold          bool
	done          chan outcome // buffered: one answer
	answered      bool         // guarded by proc.mu
}

// outcome is what a runtime answered: a response, or an error payload (isError).
type outcome struct {
	body    []byte
	isError bool
}

func newProc(p *Pool, spec *Spec, gen int) *proc {
	s := *spec
	if s.Version == "" {
		s.Version = "$LATEST"
	}
	if s.MemoryMB <= 0 {
		s.MemoryMB = 128
	}
	return &proc{
		pool:     p,
		spec:     s,
		key:      spec.Key,
		gen:      gen,
		busy:     true,
		counted:  true,
		initDone: make(chan struct{}),
		initErr:  make(chan outcome, 1),
		invCh:    make(chan *call),
		flushed:  make(chan struct{}, 1),
		reader:   make(chan struct{}),
		exited:   make(chan struct{}),
		log:      &logStream{},
	}
}

func (pr *proc) dead() bool {
	select {
	case <-pr.exited:
		return true
	default:
		return false
	}
}

// kill kills the process group; the reaper does the rest. Safe before start and after exit.
func (pr *proc) kill() {
	if pr.pid > 0 && !pr.dead() {
		_ = syscall.Kill(-pr.pid, syscall.SIGKILL)
	}
}

// start starts the process and its Runtime API listener. It returns before init is done.
// A failure to start that is the function's fault (no bootstrap) is an outcome, as Lambda
// reports it; others are errors.
func (pr *proc) start(requestID string, capture bool) (*outcome, error) {
	p := pr.pool
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sandbox: runtime API listener: %w", err)
	}
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	stream := p.o.Clock.Now().UTC().Format("2006/01/02") + "/[" + pr.spec.Version + "]" + hex.EncodeToString(rnd[:])
	if err := pr.log.open(filepath.Join(p.o.LogDir, pr.spec.Function, filepath.FromSlash(stream)), stream,
		p.o.MaxLogFile, p.o.MaxInvocationLog, capture); err != nil {
		ln.Close()
		return nil, err
	}
	cmd, err := p.command(&pr.spec, ln.Addr().String(), stream)
	if err != nil {
		ln.Close()
		return nil, err
	}
	var childW *os.File
	pr.outR, childW, err = os.Pipe()
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("sandbox: output pipe: %w", err)
	}
	// Our own open file description of the pipe's write end, for flush markers: the child may
	// make its own non-blocking (node does), which must not make our writes fail with EAGAIN.
	pr.outW, err = os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(childW.Fd())), os.O_WRONLY, 0)
	if err != nil {
		ln.Close()
		pr.outR.Close()
		childW.Close()
		return nil, fmt.Errorf("sandbox: output pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = childW, childW
	cmd.Dir = pr.spec.CodeDir
	// Its own process group, so that killing the group takes whatever it started too;
	// Pdeathsig so that it does not outlive a server killed with -9.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if p.mem != nil {
		g, err := p.mem.Prepare(cmd, int64(pr.spec.MemoryMB)<<20)
		if err != nil {
			ln.Close()
			pr.outR.Close()
			pr.outW.Close()
			childW.Close()
			return nil, fmt.Errorf("sandbox: memory limit of %s: %w", pr.spec.Function, err)
		}
		pr.memGroup = g
	}
	pr.cmd = cmd
	pr.srv = &http.Server{
		Handler:        pr,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       log.New(io.Discard, "", 0),
	}
	go pr.srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed when the process is reaped

	err = cmd.Start()
	childW.Close() // the child has its own; ours (outW) keeps the pipe open for markers
	if err == nil && pr.memGroup != nil {
		if err = pr.memGroup.Started(cmd.Process.Pid); err != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		}
	}
	if err != nil {
		pr.memGroup.Close()
		pr.srv.Close()
		pr.outR.Close()
		pr.outW.Close()
		var pe *os.PathError
		if errors.As(err, &pe) && runtimeKind(pr.spec.Runtime) == kindProvided {
			return &outcome{isError: true, body: errorJSON("Runtime.InvalidEntrypoint",
				"RequestId: "+requestID+" Error: Couldn't find valid bootstrap(s): ["+filepath.Join(pr.spec.CodeDir, "bootstrap")+"]")}, nil
		}
		return nil, fmt.Errorf("sandbox: starting %s: %w", pr.spec.Function, err)
	}
	p.mu.Lock()
	pr.pid = cmd.Process.Pid
	pr.started = true
	closed := p.closed
	if !closed {
		p.wg.Add(1) // under p.mu, before Close can be waiting
	}
	p.mu.Unlock()
	go pr.readOutput()
	if closed {
		// Close is over or waiting: reap it here, not in a goroutine Close would not wait for.
		pr.kill()
		pr.reap()
		return nil, nil
	}
	go func() {
		defer p.wg.Done()
		pr.reap()
	}()
	p.o.Logger.Debug("lambda process started", "function", pr.spec.Function, "pid", pr.pid, "stream", stream)
	return nil, nil
}

// reap waits for the process, kills what remains of its group and closes its listener.
func (pr *proc) reap() {
	err := pr.cmd.Wait()
	_ = syscall.Kill(-pr.pid, syscall.SIGKILL)
	pr.oom = pr.memGroup.OOMKilled()
	pr.memGroup.Close()
	pr.outW.Close()
	// A grandchild that left the group may hold the pipe open: do not wait on it for long.
	t := time.AfterFunc(2*time.Second, func() { pr.outR.Close() })
	<-pr.reader
	t.Stop()
	pr.outR.Close()
	pr.exitErr = err
	pr.log.flush()
	close(pr.exited)
	pr.srv.Close()
	pr.pool.o.Logger.Debug("lambda process exited", "function", pr.spec.Function, "pid", pr.pid, "err", err)
	pr.pool.exited(pr)
}

// ending says how an invocation ended.
type ending int

const (
	endAnswered ending = iota
	endExited
	endTimeout
	endCancelled
	endInitError
)

// invoke runs inv on pr (starting it first if it is new) and gives pr back to the pool. The
// timeout is the caller's spec's: it is the invocation's, not the process's.
func (pr *proc) invoke(ctx context.Context, spec *Spec, inv *Invocation) (*Result, error) {
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	p := pr.pool
	cold := !pr.started
	var initDur time.Duration
	var initFail *outcome
	kindEnd := endAnswered
	begin := time.Now()
	if cold {
		var err error
		initFail, err = pr.start(inv.RequestID, inv.TailLog)
		if err != nil {
			p.release(pr)
			return nil, err
		}
		if initFail == nil {
			initFail, kindEnd, err = pr.awaitInit(ctx)
			if err != nil {
				pr.kill()
				p.release(pr)
				return nil, err
			}
		} else {
			kindEnd = endInitError
		}
		initDur = time.Since(begin)
	}
	start := time.Now()
	c := &call{
		id:            inv.RequestID,
		payload:       inv.Payload,
		deadlineMs:    strconv.FormatInt(start.Add(timeout).UnixMilli(), 10),
		clientContext: decodeClientContext(inv.ClientContext),
		invokedArn:    inv.InvokedArn,
		traceID:       inv.TraceID,
		version:       pr.spec.Version,
		capture:       inv.TailLog,
		cold:          cold,
		done:          make(chan outcome, 1),
	}
	var o outcome
	if initFail != nil {
		o = *initFail
	} else if kindEnd == endAnswered {
		timer := time.NewTimer(timeout)
		delivered := false
		o, kindEnd = pr.await(c, timer, &delivered, ctx.Done())
		switch {
		case !delivered && !cold && kindEnd == endExited:
			// The warm process died between invocations (a crash after answering, say):
			// this invocation never reached it, so it runs on another one, as on Lambda.
			timer.Stop()
			p.release(pr)
			return nil, errGone
		case !delivered && kindEnd == endCancelled:
			timer.Stop()
			p.release(pr)
			return nil, fmt.Errorf("sandbox: invoking %s: %w", pr.spec.Function, ctx.Err())
		case kindEnd == endCancelled:
			// Lambda does not stop an invocation whose caller left: let it end, then reuse.
			go func() {
				o, k := pr.await(c, timer, &delivered, nil)
				timer.Stop()
				pr.finish(c, o, k, timeout, start, initDur, false)
				p.release(pr)
			}()
			return nil, fmt.Errorf("sandbox: invoking %s: %w", pr.spec.Function, ctx.Err())
		}
		timer.Stop()
	}
	res := pr.finish(c, o, kindEnd, timeout, start, initDur, inv.TailLog)
	p.release(pr)
	if kindEnd == endExited && pr.retired {
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
	}
	return res, nil
}

// awaitInit waits for the runtime's first GET …/next (init done), an init error, its exit or
// Lambda's init limit.
func (pr *proc) awaitInit(ctx context.Context) (*outcome, ending, error) {
	t := time.NewTimer(initLimit)
	defer t.Stop()
	select {
	case <-pr.initDone:
		pr.maxMemoryMB() // so that REPORT has one should the process die
		return nil, endAnswered, nil
	case o := <-pr.initErr:
		pr.kill()
		<-pr.exited
		return &o, endInitError, nil
	case <-pr.exited:
		select {
		case o := <-pr.initErr:
			return &o, endInitError, nil
		default:
		}
		return nil, endExited, nil
	case <-t.C:
		pr.kill()
		<-pr.exited
		return nil, endTimeout, nil
	case <-ctx.Done():
		return nil, endCancelled, fmt.Errorf("sandbox: starting %s: %w", pr.spec.Function, ctx.Err())
	}
}

// await hands c to the runtime and waits for its answer, the process's end, the timeout or
// cancel (nil: never).
func (pr *proc) await(c *call, timer *time.Timer, delivered *bool, cancel <-chan struct{}) (outcome, ending) {
	if !*delivered {
		select {
		case pr.invCh <- c:
			*delivered = true
		case <-pr.exited:
			return outcome{}, endExited
		case <-timer.C:
			return outcome{}, endTimeout
		case <-cancel:
			return outcome{}, endCancelled
		}
	}
	select {
	case o := <-c.done:
		return o, endAnswered
	case <-pr.exited:
		select {
		case o := <-c.done:
			return o, endAnswered
		default:
			return outcome{}, endExited
		}
	case <-timer.C:
		return outcome{}, endTimeout
	case <-cancel:
		return outcome{}, endCancelled
	}
}

// finish turns an ending into Lambda's result and writes END and REPORT.
func (pr *proc) finish(c *call, o outcome, k ending, timeout time.Duration, start time.Time, initDur time.Duration, tail bool) *Result {
	cold := c.cold
	pr.log.begin(c) // if the runtime never took it
	res := &Result{LogStream: pr.log.stream}
	used := pr.maxMemoryMB() // before a timeout kills it
	var status, errType string
	switch k {
	case endAnswered:
		pr.flushOutput()
		res.Payload = o.body
		if o.isError {
			res.FunctionError = "Unhandled"
		}
	case endInitError:
		res.Payload, res.FunctionError = o.body, "Unhandled"
		status, errType = "error", errorType(o.body)
	case endTimeout:
		pr.kill()
		<-pr.exited
		secs := timeout.Seconds()
		if cold && !pr.initDoneYet() {
			secs = initLimit.Seconds()
		}
		msg := fmt.Sprintf("Task timed out after %.2f seconds", secs)
		pr.log.write(fmt.Appendf(nil, "%s %s %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), c.id, msg))
		res.Payload = errorJSON("Sandbox.Timedout", "RequestId: "+c.id+" Error: "+msg)
		res.FunctionError = "Unhandled"
		status = "timeout"
	case endExited:
		msg := "exit status 0"
		if pr.exitErr != nil {
			msg = pr.exitErr.Error()
		}
		errType = "Runtime.ExitError"
		if pr.oom {
			// What Lambda answers for a function killed for going over its MemorySize.
			errType = "Runtime.OutOfMemory"
		}
		res.Payload = errorJSON(errType, "RequestId: "+c.id+" Error: Runtime exited with error: "+msg)
		res.FunctionError = "Unhandled"
		status = "error"
	}
	res.Duration = time.Since(start)
	res.Log = pr.log.end(c.id, res.Duration, pr.spec.MemoryMB, used, cold, initDur, status, errType, tail)
	return res
}

func (pr *proc) initDoneYet() bool {
	select {
	case <-pr.initDone:
		return true
	default:
		return false
	}
}

// flushOutput waits until the output reader has read everything the process wrote before
// answering: the marker written now comes after it in the pipe.
func (pr *proc) flushOutput() {
	if _, err := pr.outW.Write(flushMarker); err != nil {
		return
	}
	select {
	case <-pr.flushed:
	case <-pr.reader:
	}
}

// maxMemoryMB reads the process's peak resident size (VmHWM), as REPORT's Max Memory Used.
// Reading /proc/PID/status costs tens of microseconds, more than the rest of a warm invocation,
// so a value younger than memRefresh is reused: a peak shows up in a later REPORT.
func (pr *proc) maxMemoryMB() int {
	if now := time.Now(); pr.memMB == 0 || now.Sub(pr.memAt) >= memRefresh {
		if mb := readMaxMemoryMB(pr.pid); mb > 0 {
			pr.memMB, pr.memAt = mb, now
		}
	}
	return pr.memMB
}

const memRefresh = 250 * time.Millisecond

func readMaxMemoryMB(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	i := bytes.Index(b, []byte("\nVmHWM:"))
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+len("\nVmHWM:"):])
	if len(f) == 0 {
		return 0
	}
	kb, err := strconv.Atoi(string(f[0]))
	if err != nil {
		return 0
	}
	return (kb + 1023) / 1024
}

// decodeClientContext turns the Invoke API's base64 client context into the JSON the Runtime
// API carries; what is not base64 is passed as is.
func decodeClientContext(s string) string {
	if s == "" {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return s
	}
	return string(b)
}

// errorType is the errorType of an error payload, for REPORT.
func errorType(body []byte) string {
	var e struct {
		ErrorType string `json:"errorType"`
	}
	_ = json.Unmarshal(body, &e)
	if len(e.ErrorType) > 200 {
		return e.ErrorType[:200]
	}
	return e.ErrorType
}

// errorJSON is Lambda's {"errorType","errorMessage"} for errors the platform itself reports.
func errorJSON(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{typ, msg})
	return b
}
