// Package lambda is Stepline's AWS Lambda: the Lambda API (REST-JSON, /2015-03-31/functions…),
// functions kept in the store so that every node has them, and invocations carried out by
// package sandbox as local processes speaking the Lambda Runtime API.
//
// A function's configuration is JSON owned by this package (config), stored with the code zip
// by store.FunctionCreate; its code is unpacked once per SHA-256 under DataDir/lambda/code,
// where every node finds it or unpacks it again from the store. Only $LATEST exists: there are
// no published versions or aliases yet.
package lambda

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/lambda/sandbox"
	"github.com/stepline/stepline/internal/store"
)

// Options configure a Service.
type Options struct {
	Store   store.Store
	Clock   clock.Clock
	Account string
	Region  string
	// DataDir holds unpacked code (by SHA-256) and function logs; nodes may share it.
	DataDir string
	// Endpoint is this server's URL, given to function processes as AWS_ENDPOINT_URL.
	Endpoint string
	// AccessKeyID and SecretAccessKey are the credentials function processes get (see
	// sandbox.Options).
	AccessKeyID, SecretAccessKey string
	Logger                       *slog.Logger
	// CacheTTL is how long Invoke trusts a function it read from the store before reading it
	// again (0: one second). Changes made through this node are seen at once; those made
	// through another node sharing the database, within CacheTTL.
	CacheTTL time.Duration
	// MaxEventQueue bounds the Event invocations accepted and not yet finished, queued or
	// running (0: 1000). Beyond it Invoke answers TooManyRequestsException (429), as Lambda
	// throttles asynchronous requests past its queue's limits, instead of holding a goroutine and
	// a payload for each until the function's timeout.
	MaxEventQueue int
	// NoMemoryLimit leaves function processes unbounded by their MemorySize (see
	// sandbox.Options).
	NoMemoryLimit bool
}

// Service is the Lambda service of one node.
type Service struct {
	o       Options
	pool    *sandbox.Pool
	mux     *http.ServeMux
	codeDir string
	// urlKey signs the code links GetFunction hands out (Code.Location), which are fetched
	// unsigned, as AWS's presigned S3 links are; it lives as long as the process.
	urlKey []byte

	mu       sync.RWMutex
	cache    map[string]*function // by name
	unpacked map[string]bool      // code digests known to be on disk
	closed   bool
	// unpacking serialises the unpacking of one digest in this process; nodes sharing DataDir
	// are kept apart by the rename (see ensureCode).
	unpacking sync.Map // digest → *sync.Mutex

	// events are Event invocations still running; Close waits for them.
	events sync.WaitGroup
	// queued counts them (guarded by mu), against Options.MaxEventQueue.
	queued int
}

// New checks the options and returns the service.
func New(o Options) (*Service, error) {
	switch {
	case o.Store == nil:
		return nil, errors.New("lambda: Options.Store is required")
	case o.Account == "" || o.Region == "":
		return nil, errors.New("lambda: Options.Account and Options.Region are required")
	case o.DataDir == "":
		return nil, errors.New("lambda: Options.DataDir is required")
	}
	// Function processes run in their code's folder and are told where it is
	// (LAMBDA_TASK_ROOT): a relative path would point elsewhere from there.
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("lambda: %w", err)
	}
	o.DataDir = dir
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = time.Second
	}
	if o.MaxEventQueue <= 0 {
		o.MaxEventQueue = 1000
	}
	s := &Service{o: o, codeDir: filepath.Join(o.DataDir, "lambda", "code"),
		cache: map[string]*function{}, unpacked: map[string]bool{}, urlKey: make([]byte, 32)}
	_, _ = rand.Read(s.urlKey) // crypto/rand.Read never fails on supported platforms
	logDir := filepath.Join(o.DataDir, "lambda", "logs")
	for _, d := range []string{s.codeDir, logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("lambda: %w", err)
		}
	}
	s.sweepUnpacks()
	pool, err := sandbox.New(sandbox.Options{Endpoint: o.Endpoint, Region: o.Region, Account: o.Account,
		AccessKeyID: o.AccessKeyID, SecretAccessKey: o.SecretAccessKey, LogDir: logDir, Clock: o.Clock, Logger: o.Logger,
		NoMemoryLimit: o.NoMemoryLimit})
	if err != nil {
		return nil, fmt.Errorf("lambda: %w", err)
	}
	s.pool = pool
	s.routes()
	return s, nil
}

// ServeHTTP answers the Lambda API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer carries a request id, as AWS's do; Invoke's is the invocation's.
	w.Header().Set("X-Amzn-Requestid", newID())
	s.mux.ServeHTTP(w, r)
}

// Close waits for the Event invocations still running (each bounded by its function's
// timeout), then stops every function process. Invocations after Close fail.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.events.Wait()
	return s.pool.Close()
}

// InvokeParams is one Invoke call, as the API and Task states make it.
type InvokeParams struct {
	// FunctionName is a name, a full or partial ARN, optionally with ":qualifier".
	FunctionName   string
	Qualifier      string
	InvocationType string // RequestResponse (""), Event or DryRun
	Payload        []byte
	ClientContext  string // base64 JSON
	LogType        string // None ("") or Tail
	// RequestID is the invocation's id (aws_request_id); "" makes a new one.
	RequestID string
	// TraceHeader is the X-Ray trace header (Root=…;Parent=…;Sampled=…) the function gets in
	// _X_AMZN_TRACE_ID, as Lambda passes on a caller's X-Amzn-Trace-Id; "" makes a new,
	// unsampled one.
	TraceHeader string
}

// InvokeResult is Invoke's answer.
type InvokeResult struct {
	StatusCode      int    // 200 RequestResponse, 202 Event, 204 DryRun
	FunctionError   string // "" or "Unhandled"
	Payload         []byte // the function's result, or Lambda's error JSON on a function error
	ExecutedVersion string
	LogResult       string // base64 of the log's last 4 KB, with LogType Tail
	RequestID       string
}

// Error is a Lambda API error as AWS sends it: the code (x-amzn-ErrorType and "Type" in the
// body's shape), the HTTP status and the message.
type Error struct {
	Code    string // ResourceNotFoundException, InvalidParameterValueException, …
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }
