// Package sandbox runs Lambda functions as local processes that speak the Lambda Runtime API:
// one process per execution environment, reused warm for one invocation at a time, as Lambda
// does. It knows nothing of the Lambda API or the store: package lambda hands it unpacked code
// and a configuration (Spec) and gets back the function's answer and its log.
//
// Each process runs in its own process group (killed as a whole), with Lambda's environment, and
// gets its own Runtime API listener on 127.0.0.1:0, so nothing is reachable off loopback and the
// listener alone tells which process is asking. provided.* runtimes run the zip's bootstrap as
// is; python3.x and nodejs* run a small runtime client of ours embedded in the binary.
//
// A process's stdout and stderr go to its log stream file, LogDir/<function>/YYYY/MM/DD/
// [VERSION]hex as CloudWatch names streams, with Lambda's START, END and REPORT lines around each
// invocation. After an answer the pool writes a marker into the same pipe: once the reader meets
// it, all the function printed before answering is in that invocation's log. A stream file is
// rotated to NAME.1 past Options.MaxLogFile; Result.Log keeps at most Options.MaxInvocationLog.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/limits"
)

// Spec is one function version as the pool runs it.
type Spec struct {
	Function string // the function's name
	Version  string // "$LATEST" or a number
	Arn      string // the function's ARN (unqualified)
	Runtime  string // provided.al2023, provided.al2, python3.x, nodejs*
	Handler  string // module.function (python), file.export (node); ignored for provided.*
	// CodeDir is the unpacked code (LAMBDA_TASK_ROOT); the pool never writes to it.
	CodeDir string
	// Key identifies code and configuration: warm processes serve only invocations of the same
	// Key, so an updated function never reaches an old process.
	Key         string
	Environment map[string]string // the function's Environment.Variables
	Timeout     time.Duration     // 0: Lambda's default, 3 s
	MemoryMB    int               // 0: Lambda's default, 128
	// Concurrency caps this function's simultaneous processes (0: Options.DefaultConcurrency).
	// With Reserved set, an invocation beyond it fails with ErrThrottled instead of waiting,
	// and 0 means 0 as in Lambda: every invocation is throttled.
	Concurrency int
	Reserved    bool
}

// Invocation is one call of a function.
type Invocation struct {
	RequestID     string
	Payload       []byte
	ClientContext string // base64 JSON, passed (decoded) as Lambda-Runtime-Client-Context
	// InvokedArn is the ARN the caller used (qualified or not), as the function sees it in
	// Lambda-Runtime-Invoked-Function-Arn ("": Spec.Arn).
	InvokedArn string
	// TailLog asks for the invocation's log in Result.Log (always kept in the log file).
	TailLog bool
	// TraceID is the X-Ray trace header handed to the runtime in Lambda-Runtime-Trace-Id,
	// which runtimes put in _X_AMZN_TRACE_ID for the invocation; "" makes a new one.
	TraceID string
}

// Result is a function's answer. A function error (an exception, a crash, a timeout) is a
// Result with FunctionError "Unhandled" and Lambda's error JSON as Payload, not an error.
type Result struct {
	Payload       []byte
	FunctionError string // "" or "Unhandled"
	Log           []byte // START … END … REPORT lines and what the function printed
	Duration      time.Duration
	// LogStream is the stream (CloudWatch's name, "YYYY/MM/DD/[VERSION]hex") that holds the
	// invocation's log, a file under Options.LogDir/<function>/.
	LogStream string
}

// ErrThrottled: a function with reserved concurrency has all of it in use.
var ErrThrottled = errors.New("sandbox: rate exceeded")

// ErrClosed: the pool was closed before or during the invocation.
var ErrClosed = errors.New("sandbox: pool closed")

// Options configure a Pool.
type Options struct {
	// Endpoint is set as AWS_ENDPOINT_URL in every process, so that SDK calls reach Stepline.
	Endpoint string
	Region   string // "": us-east-1
	Account  string
	// AccessKeyID and SecretAccessKey are the credentials every process gets ("": AWS's
	// documented example pair). A server with --auth gives a key it accepts, so that SDK calls
	// inside functions are let in.
	AccessKeyID, SecretAccessKey string
	// LogDir receives one log stream file per process (CloudWatch's layout):
	// LogDir/<function>/YYYY/MM/DD/[VERSION]hex.
	LogDir             string
	DefaultConcurrency int // 0: 2×GOMAXPROCS, at least 4
	Clock              clock.Clock
	Logger             *slog.Logger
	// IdleTimeout stops a process nobody invoked for that long, by Clock (0: 5 minutes).
	IdleTimeout time.Duration
	// MaxProcesses caps the processes of all functions together (0: 64); beyond it the least
	// recently used idle process is stopped, or the invocation waits for one.
	MaxProcesses int
	// MaxLogFile bounds a log stream file: past it the file is renamed NAME.1 (replacing an
	// older NAME.1) and a new one started, so a stream keeps at most twice this (0: 8 MiB).
	MaxLogFile int64
	// MaxInvocationLog bounds Result.Log: output beyond it is dropped from Result.Log with a
	// note (the file keeps it) (0: 1 MiB).
	MaxInvocationLog int
	// NoMemoryLimit leaves processes unbounded; otherwise a process gets its function's
	// MemorySize as a limit (see package limits for how), and one killed for going over fails
	// its invocation with Runtime.OutOfMemory.
	NoMemoryLimit bool
}

// Pool owns every function process of a server.
type Pool struct {
	o          Options
	runtimeDir string         // the embedded runtime clients, written out once (LAMBDA_RUNTIME_DIR)
	mem        *limits.Memory // nil: NoMemoryLimit

	interpMu sync.Mutex
	interps  map[string]string // "python3", "node" → the resolved executable

	mu      sync.Mutex
	fns     map[string]*fnState
	procs   map[*proc]struct{} // every process not yet reaped, for Close
	total   int                // counted processes of all functions
	waiters []*waiter          // invocations waiting for MaxProcesses to allow one more
	closed  bool

	wg         sync.WaitGroup // one per started process (its reaper), plus the idle reaper
	stopReaper chan struct{}
}

// fnState is one function's processes, guarded by Pool.mu.
type fnState struct {
	name    string
	idle    []*proc // least recently used first
	count   int     // counted processes: starting, busy and idle
	gen     int     // Evict bumps it; processes of an older generation are not reused
	waiters []*waiter
}

// waiter is an invocation waiting for a process of its function. A process of the same Key
// is handed over directly; nil means "something changed, look again".
type waiter struct {
	key string
	ch  chan *proc // buffered, one send at most
}

// New checks the options and returns a pool with no process yet.
func New(o Options) (*Pool, error) {
	if o.LogDir == "" {
		return nil, errors.New("sandbox: Options.LogDir is required")
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if o.AccessKeyID == "" || o.SecretAccessKey == "" {
		o.AccessKeyID, o.SecretAccessKey = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	}
	if o.DefaultConcurrency <= 0 {
		o.DefaultConcurrency = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	if o.MaxProcesses <= 0 {
		o.MaxProcesses = 64
	}
	if o.MaxLogFile <= 0 {
		o.MaxLogFile = 8 << 20
	}
	if o.MaxInvocationLog <= 0 {
		o.MaxInvocationLog = 1 << 20
	}
	if err := os.MkdirAll(o.LogDir, 0o755); err != nil {
		return nil, fmt.Errorf("sandbox: log directory: %w", err)
	}
	dir, err := writeRuntimes()
	if err != nil {
		return nil, err
	}
	p := &Pool{
		o:          o,
		runtimeDir: dir,
		interps:    map[string]string{},
		fns:        map[string]*fnState{},
		procs:      map[*proc]struct{}{},
		stopReaper: make(chan struct{}),
	}
	if !o.NoMemoryLimit {
		p.mem = limits.Detect()
		o.Logger.Info("lambda: a function's MemorySize bounds its process", "mechanism", string(p.mem.Mechanism()))
	}
	p.wg.Add(1)
	go p.reapIdle()
	return p, nil
}

// Invoke runs one invocation on a warm process of spec, or a new one.
func (p *Pool) Invoke(ctx context.Context, spec *Spec, inv *Invocation) (*Result, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	if inv == nil || inv.RequestID == "" {
		return nil, errors.New("sandbox: an invocation needs a request id")
	}
	for attempt := 0; ; attempt++ {
		pr, err := p.acquire(ctx, spec)
		if err != nil {
			return nil, err
		}
		res, err := pr.invoke(ctx, spec, inv)
		if errors.Is(err, errGone) && attempt < 3 {
			continue
		}
		return res, err
	}
}

func checkSpec(s *Spec) error {
	switch {
	case s == nil:
		return errors.New("sandbox: nil spec")
	case s.Function == "" || strings.ContainsAny(s.Function, "/\\\x00") || s.Function == "." || s.Function == "..":
		return fmt.Errorf("sandbox: bad function name %q", s.Function)
	case s.CodeDir == "":
		return errors.New("sandbox: spec has no CodeDir")
	case runtimeKind(s.Runtime) == kindUnknown:
		return fmt.Errorf("sandbox: unsupported runtime %q", s.Runtime)
	}
	return nil
}

// acquire returns a process for spec: a warm one of the same Key, or a new, not yet started
// one when the function's and the pool's limits allow, or one handed over by a finishing
// invocation.
func (p *Pool) acquire(ctx context.Context, spec *Spec) (*proc, error) {
	limit := spec.Concurrency
	if limit <= 0 {
		if spec.Reserved {
			return nil, ErrThrottled
		}
		limit = p.o.DefaultConcurrency
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		fn := p.fns[spec.Function]
		if fn == nil {
			fn = &fnState{name: spec.Function}
			p.fns[spec.Function] = fn
		}
		for i := len(fn.idle) - 1; i >= 0; i-- {
			if pr := fn.idle[i]; pr.key == spec.Key {
				fn.idle = append(fn.idle[:i], fn.idle[i+1:]...)
				pr.busy = true
				p.mu.Unlock()
				return pr, nil
			}
		}
		if fn.count >= limit && len(fn.idle) > 0 {
			// An idle process of another Key only holds a slot this invocation can use.
			p.retireLocked(fn, fn.idle[0])
		}
		var w *waiter
		switch {
		case fn.count < limit && (p.total < p.o.MaxProcesses || p.stopLRULocked()):
			fn.count++
			p.total++
			pr := newProc(p, spec, fn.gen)
			p.procs[pr] = struct{}{}
			p.mu.Unlock()
			return pr, nil
		case fn.count >= limit && spec.Reserved:
			p.mu.Unlock()
			return nil, ErrThrottled
		case fn.count >= limit:
			w = &waiter{key: spec.Key, ch: make(chan *proc, 1)}
			fn.waiters = append(fn.waiters, w)
		default:
			w = &waiter{key: spec.Key, ch: make(chan *proc, 1)}
			p.waiters = append(p.waiters, w)
		}
		p.mu.Unlock()
		select {
		case pr := <-w.ch:
			if pr != nil {
				return pr, nil
			}
		case <-ctx.Done():
			p.mu.Lock()
			gone := removeWaiter(&fn.waiters, w) || removeWaiter(&p.waiters, w)
			p.mu.Unlock()
			if !gone {
				// Someone handed us a process or a wake-up meanwhile: pass it on.
				if pr := <-w.ch; pr != nil {
					p.release(pr)
				} else {
					p.mu.Lock()
					p.wakeLocked(fn)
					p.mu.Unlock()
				}
			}
			return nil, fmt.Errorf("sandbox: waiting for a process of %s: %w", spec.Function, ctx.Err())
		}
	}
}

func removeWaiter(list *[]*waiter, w *waiter) bool {
	for i, x := range *list {
		if x == w {
			*list = append((*list)[:i], (*list)[i+1:]...)
			return true
		}
	}
	return false
}

// release takes back a process after an invocation: to a waiter of the same Key, to the idle
// list, or to its end when it died, was evicted or the pool is closing.
func (p *Pool) release(pr *proc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn := p.fns[pr.spec.Function]
	pr.busy = false
	if p.closed || pr.dead() || pr.gen != fn.gen || !pr.started {
		p.retireLocked(fn, pr)
		p.wakeLocked(fn)
		return
	}
	for i, w := range fn.waiters {
		if w.key == pr.key {
			fn.waiters = append(fn.waiters[:i], fn.waiters[i+1:]...)
			pr.busy = true
			w.ch <- pr
			return
		}
	}
	pr.lastUsed = p.o.Clock.Now()
	fn.idle = append(fn.idle, pr)
	p.wakeLocked(fn)
}

// wakeLocked tells one waiter that a slot or an idle process may now be theirs: first a
// waiter of fn, else one waiting for the pool's cap.
func (p *Pool) wakeLocked(fn *fnState) {
	if len(fn.waiters) > 0 {
		w := fn.waiters[0]
		fn.waiters = fn.waiters[1:]
		w.ch <- nil
		return
	}
	if len(p.waiters) > 0 {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		w.ch <- nil
	}
}

// retireLocked stops counting pr and kills it; its reaper finishes the rest.
func (p *Pool) retireLocked(fn *fnState, pr *proc) {
	for i, x := range fn.idle {
		if x == pr {
			fn.idle = append(fn.idle[:i], fn.idle[i+1:]...)
			break
		}
	}
	if pr.counted {
		pr.counted = false
		fn.count--
		p.total--
	}
	pr.retired = true
	if pr.dead() || !pr.started {
		// Nobody else will close its log: the reaper already ran, or there is no process.
		pr.log.close()
		delete(p.procs, pr)
	}
	pr.kill()
}

// stopLRULocked stops the least recently used idle process of any function, to make room
// under MaxProcesses. It reports whether there was one.
func (p *Pool) stopLRULocked() bool {
	var victim *proc
	var vfn *fnState
	for _, fn := range p.fns {
		if len(fn.idle) > 0 && (victim == nil || fn.idle[0].lastUsed.Before(victim.lastUsed)) {
			victim, vfn = fn.idle[0], fn
		}
	}
	if victim == nil {
		return false
	}
	p.retireLocked(vfn, victim)
	return true
}

// exited is called by a process's reaper once it is gone and its output read.
func (p *Pool) exited(pr *proc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.busy {
		return // the invocation sees the exit and releases it
	}
	fn := p.fns[pr.spec.Function]
	wasCounted := pr.counted
	p.retireLocked(fn, pr)
	if wasCounted {
		p.wakeLocked(fn)
	}
}

// Evict stops the idle processes of a function and retires its busy ones when they finish
// (UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction).
func (p *Pool) Evict(function string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn := p.fns[function]
	if fn == nil {
		return
	}
	fn.gen++
	for len(fn.idle) > 0 {
		p.retireLocked(fn, fn.idle[0])
		p.wakeLocked(fn)
	}
}

// reapIdle stops processes idle for longer than Options.IdleTimeout. It ticks on the real
// clock (a fake clock's Sleep returns at once) and measures idleness on Options.Clock.
func (p *Pool) reapIdle() {
	defer p.wg.Done()
	every := min(max(p.o.IdleTimeout/4, 10*time.Millisecond), 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stopReaper:
			return
		case <-t.C:
		}
		p.StopIdle()
	}
}

// StopIdle stops every process idle for at least Options.IdleTimeout by Options.Clock now.
// The pool calls it periodically; tests with a fake clock call it after moving time.
func (p *Pool) StopIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.o.Clock.Now()
	for _, fn := range p.fns {
		for len(fn.idle) > 0 && now.Sub(fn.idle[0].lastUsed) >= p.o.IdleTimeout {
			p.retireLocked(fn, fn.idle[0])
			p.wakeLocked(fn)
		}
	}
}

// Processes returns how many processes the pool counts, in all and of function.
func (p *Pool) Processes(function string) (total, ofFunction int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if fn := p.fns[function]; fn != nil {
		ofFunction = fn.count
	}
	return p.total, ofFunction
}

// Close stops every process and waits for them to be reaped.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	for pr := range p.procs {
		pr.kill()
	}
	for _, fn := range p.fns {
		for len(fn.waiters) > 0 {
			p.wakeLocked(fn)
		}
	}
	for len(p.waiters) > 0 {
		p.wakeLocked(&fnState{})
	}
	p.mu.Unlock()
	close(p.stopReaper)
	p.wg.Wait()
	if err := os.RemoveAll(p.runtimeDir); err != nil {
		return fmt.Errorf("sandbox: removing runtime clients: %w", err)
	}
	return nil
}
