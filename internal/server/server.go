// Package server wires one http.Server for `stepline serve`: every AWS service Stepline serves
// on one port behind one router (router.go), health on GET /healthz, metrics on GET /metrics,
// with the store and the engine behind them, and one start/stop lifecycle for all of it.
package server

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/awsapi"
	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/console"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/events"
	"github.com/stepline/stepline/internal/glue"
	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/logs"
	"github.com/stepline/stepline/internal/mock"
	"github.com/stepline/stepline/internal/project"
	"github.com/stepline/stepline/internal/s3"
	"github.com/stepline/stepline/internal/scheduler"
	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/sigv4"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/dsn"
	"github.com/stepline/stepline/internal/task"
	"github.com/stepline/stepline/internal/telemetry"
)

// Options configure a Server: everything `stepline serve` takes.
type Options struct {
	// Addr is the address to listen on; port 0 picks a free one (see Server.Addr).
	Addr string
	// DB names the database (see package dsn).
	DB string
	// DataDir holds what lives on disk rather than in the database (unpacked function code,
	// logs, bucket folders); nodes may share it. Defaults to stepline-data beside a SQLite
	// database file, ./stepline-data otherwise.
	DataDir string
	// Project is a project folder (package project): New deploys its stepline.yaml, and Task
	// states invoke its functions bound to endpoints there. Empty: none.
	Project string
	// ProjectOptions are a template project's stack name and parameter overrides (Account
	// and Region default to the server's).
	ProjectOptions project.LoadOptions
	// MockConfig is a Step Functions Local mock configuration file (package mock): executions
	// started on stateMachineArn#TestCaseName run under its test cases. Empty: none.
	MockConfig string
	// mocks is MockConfig loaded.
	mocks *mock.Config
	// WaitScale multiplies every duration executions wait on; 0 fires timers at once
	// (`stepline serve` defaults it to 1).
	WaitScale float64
	Account   string
	Region    string
	// Node names this process in execution leases; it must be unique among the processes
	// sharing a database. Defaults to hostname-pid.
	Node string
	// owner names this node as the owner of Glue crawls and job runs, which must survive a
	// restart so that the restarted node ends what its predecessor left running: Node when
	// given, else the host's name.
	owner string
	// LeaseTTL is how long a dead node's executions stay with it before another takes them
	// over (0: the engine's default).
	LeaseTTL time.Duration
	// ActivityPoll is how long GetActivityTask waits for a task (0: 60s, as AWS).
	ActivityPoll time.Duration
	// Retention is how long an execution is kept after it ended, then deleted with its
	// history (0: 90 days, as AWS; negative: forever). RetentionSweep is how often the
	// executions past it are looked for (0: the engine's minute).
	Retention      time.Duration
	RetentionSweep time.Duration
	// CABundle is a PEM file of CA certificates that HTTP Tasks trust besides the machine's
	// (a private or self-signed CA of the APIs they call). Empty: the machine's alone.
	CABundle string
	// Auth, when not empty, is the access keys every request to every service must be signed
	// with; health and metrics stay open.
	Auth   sigv4.Credentials
	Clock  clock.Clock
	Logger *slog.Logger
	// JSONataMemory bounds the memory of each JSONata evaluation, in bytes (0: jsonata's
	// default, negative: none).
	JSONataMemory int64
	// Tracer, when set, exports executions as OpenTelemetry traces; the caller shuts it down
	// after Stop. Nil traces nothing.
	Tracer *telemetry.Tracer
	// MaxConcurrentRequests bounds the requests each service serves at once; beyond it they
	// are throttled as AWS throttles (0: 512, negative: no bound).
	MaxConcurrentRequests int
	// MaxEventQueue bounds the Lambda Event invocations waiting or running (0: 1000; see
	// lambda.Options).
	MaxEventQueue int
}

// Server is a running (or stopped) Stepline server.
type Server struct {
	o      Options
	log    *slog.Logger
	store  store.Store
	engine *engine.Engine
	svc    *service.Service
	api    *awsapi.API
	lambda *lambda.Service
	s3     *s3.Service
	glue   *glue.Service
	// console is the web console, on unsigned requests that are no API's.
	console *console.Console
	http    *http.Server
	// ln is opened by New, so that function processes can be told the server's address before
	// anything runs.
	ln net.Listener
	// events is the EventBridge service, which a project's connections are deployed to.
	events *events.Service
	// status puts the engine's status changes on EventBridge's default bus.
	status *statusEvents
	// stopWatch stops reporting S3 object events (set by Start).
	stopWatch func()
	// scheduler is EventBridge Scheduler, whose schedules fire on every node.
	scheduler *scheduler.Service
	// logs is CloudWatch Logs: execution logs, and Lambda's and Glue's logs read where they are.
	logs *logs.Service

	mu      sync.Mutex
	started bool
	stopped bool
	// served is closed when the HTTP server stops serving; serveErr is why, nil after Stop.
	served   chan struct{}
	serveErr error
}

// healthTimeout bounds a health check's store ping.
const healthTimeout = 2 * time.Second

// New opens the database and builds the server; Start runs it. On error nothing is left open.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8083"
	}
	if o.DB == "" {
		o.DB = "./stepline.db"
	}
	if o.DataDir == "" {
		o.DataDir = defaultDataDir(o.DB)
	}
	// Function and job processes run in folders of their own and are told paths under it.
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	o.DataDir = dataDir
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.WaitScale < 0 {
		return nil, errors.New("server: the wait scale must not be negative")
	}
	o.owner = o.Node
	if o.Node == "" {
		host, err := os.Hostname()
		if err != nil {
			host = "stepline"
		}
		o.Node = host + "-" + strconv.Itoa(os.Getpid())
		o.owner = host
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// The project is checked whole before anything opens, so a mistake in it changes nothing.
	var proj *project.Project
	if o.Project != "" {
		var err error
		po := o.ProjectOptions
		if po.Account == "" {
			po.Account = o.Account
		}
		if po.Region == "" {
			po.Region = o.Region
		}
		if proj, err = project.LoadWith(o.Project, po); err != nil {
			return nil, err
		}
	}
	if o.MockConfig != "" {
		var err error
		if o.mocks, err = mock.Load(o.MockConfig); err != nil {
			return nil, err
		}
	}
	st, err := dsn.Open(ctx, o.DB)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), st.Close())
	}
	s, err := build(o, st, ln, proj)
	if err != nil {
		return nil, errors.Join(err, ln.Close(), st.Close())
	}
	if proj != nil {
		sum, err := proj.Deploy(ctx, project.Targets{States: s.svc, Lambda: s.lambda, S3: s.s3, Glue: s.glue, Events: s.events, Scheduler: s.scheduler, Account: o.Account, Region: o.Region,
			BuildCache: filepath.Join(o.DataDir, "project", "build"), Logger: o.Logger.With("component", "project")})
		if err != nil {
			return nil, errors.Join(err, s.closeServices(), ln.Close(), st.Close())
		}
		o.Logger.Info("project deployed", "project", o.Project, "machines_created", sum.MachinesCreated,
			"machines_updated", sum.MachinesUpdated, "machines_unchanged", sum.MachinesUnchanged,
			"functions_created", sum.FunctionsCreated, "functions_updated", sum.FunctionsUpdated,
			"functions_unchanged", sum.FunctionsUnchanged, "go_built", sum.GoBuilt,
			"connections_created", sum.ConnectionsCreated, "connections_updated", sum.ConnectionsUpdated,
			"connections_unchanged", sum.ConnectionsUnchanged)
	}
	return s, nil
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return strings.ToUpper(hex.EncodeToString(b))
}

// localURL is how processes on this machine reach a listener: over loopback when it listens on
// every address.
func localURL(addr net.Addr) string {
	a, ok := addr.(*net.TCPAddr)
	if !ok || a.IP.IsUnspecified() {
		return "http://127.0.0.1:" + strconv.Itoa(a.Port)
	}
	return "http://" + a.String()
}

func build(o Options, st store.Store, ln net.Listener, proj *project.Project) (*Server, error) {
	lo := lambda.Options{Store: st, Clock: o.Clock, Account: o.Account, Region: o.Region,
		DataDir: o.DataDir, Endpoint: localURL(ln.Addr()), Logger: o.Logger.With("component", "lambda"),
		MaxEventQueue: o.MaxEventQueue}
	if len(o.Auth) > 0 {
		// Functions call this server with the SDKs' credential chain: give them a key of their
		// own, made for this process's life and accepted beside the configured ones.
		lo.AccessKeyID, lo.SecretAccessKey = "ASIASTEPLINE"+randomHex(8), randomHex(20)
		o.Auth = maps.Clone(o.Auth)
		o.Auth[lo.AccessKeyID] = lo.SecretAccessKey
	}
	lam, err := lambda.New(lo)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	objects, err := s3.New(s3.Options{Dir: o.DataDir, Clock: o.Clock, Region: o.Region, Credentials: o.Auth,
		Remotes: proj.S3Remotes(o.Region), Logger: o.Logger.With("component", "s3")})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), lam.Close())
	}
	gl, err := glue.New(glue.Options{Store: st, Dir: o.DataDir, Endpoint: lo.Endpoint, AccessKeyID: lo.AccessKeyID,
		SecretAccessKey: lo.SecretAccessKey, Account: o.Account, Region: o.Region, Clock: o.Clock, NodeID: o.owner, Objects: objects,
		Logger: o.Logger.With("component", "glue")})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), lam.Close(), objects.Close())
	}
	var invoker task.Lambda = lam
	if proj != nil {
		invoker = proj.Lambda(lam, o.Region)
	}
	// EventBridge holds the connections HTTP Tasks are authorized by.
	ev, err := events.New(events.Options{Store: st, Account: o.Account, Region: o.Region, Clock: o.Clock, Logger: o.Logger.With("component", "events")})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), lam.Close(), objects.Close(), gl.Close())
	}
	var roots *x509.CertPool
	if o.CABundle != "" {
		if roots, err = task.LoadCABundle(o.CABundle); err != nil {
			return nil, errors.Join(fmt.Errorf("server: %w", err), lam.Close(), objects.Close(), gl.Close())
		}
	}
	runner := task.New(task.Options{Lambda: invoker, S3: objects, Glue: gl, Connections: ev, Events: ev, RootCAs: roots, Region: o.Region, Account: o.Account, Clock: o.Clock,
		Mocks: o.mocks, Logger: o.Logger.With("component", "task")})
	status := newStatusEvents(ev, o.Logger.With("component", "events"))
	// Execution logs go to files under --data, which the CloudWatch Logs API reads.
	lg, err := logs.New(logs.Options{DataDir: o.DataDir, Clock: o.Clock, Account: o.Account, Region: o.Region,
		Logger: o.Logger.With("component", "logs")})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), lam.Close(), objects.Close(), gl.Close())
	}
	execLogs := &logs.StoreLogger{Logs: lg.ExecutionLogs(), Store: st, Logger: o.Logger.With("component", "logs")}
	eng, err := engine.New(engine.Options{
		ExecutionLogs: execLogs,

		Store: st, Clock: o.Clock, Node: o.Node, Account: o.Account, Region: o.Region, StatusObserver: status,
		WaitScale: o.WaitScale, LeaseTTL: o.LeaseTTL, Logger: o.Logger.With("component", "engine"), Runner: runner,
		JSONataMemory: o.JSONataMemory, Tracer: o.Tracer, Retention: o.Retention, SweepInterval: o.RetentionSweep,
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), lam.Close(), objects.Close(), gl.Close())
	}
	svc, err := service.New(service.Options{Store: st, Engine: eng, Clock: o.Clock, Account: o.Account, Region: o.Region, Mocks: o.mocks})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), lam.Close(), objects.Close(), gl.Close())
	}
	// Nested executions (states:startExecution…, aws-sdk:sfn:…) go through this server's
	// service, which needs the engine, which needs the runner: hence after.
	runner.SetExecutions(svc)
	// EventBridge delivers matched events to this server's state machines and functions.
	ev.SetTargets(eventTargets(svc, lam))
	api, err := awsapi.New(awsapi.Options{Service: svc, Logger: o.Logger.With("component", "api"), ActivityPoll: o.ActivityPoll})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), lam.Close(), objects.Close(), gl.Close())
	}
	sched, err := scheduler.New(scheduler.Options{Store: st, Account: o.Account, Region: o.Region, Clock: o.Clock,
		StateMachines: scheduleMachines{svc}, Functions: scheduleFunctions{lam}, Rules: scheduleRules{ev}, WaitScale: o.WaitScale,
		Logger: o.Logger.With("component", "scheduler")})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), lam.Close(), objects.Close(), gl.Close())
	}
	cons, err := console.New(console.Options{Service: svc, Store: st, Lambda: lam, Glue: gl, Scheduler: sched, Events: ev, Login: len(o.Auth) > 0,
		LambdaLogs: filepath.Join(o.DataDir, "lambda", "logs"), GlueLogs: filepath.Join(o.DataDir, "glue", "logs"),
		Logger: o.Logger.With("component", "console")})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server: %w", err), lam.Close(), objects.Close(), gl.Close())
	}
	s := &Server{o: o, log: o.Logger, store: st, engine: eng, svc: svc, api: api, lambda: lam, s3: objects, glue: gl, console: cons, ln: ln}
	s.events, s.status = ev, status
	s.logs = lg
	s.scheduler = sched
	// Every service on the port, one line each. A JSON protocol is found by its target prefix,
	// a REST one (Lambda, Scheduler, S3) by its signing name.
	rt := newRouter([]*route{
		{name: "states", title: "Step Functions", target: awsapi.TargetPrefix, contentType: "application/x-amz-json-1.0",
			protocol: awsJSON, maxBody: awsapi.MaxRequestBody, handler: api},
		// Above a CreateFunction's 50 MB zip in base64, so that Lambda answers with its own limits.
		{name: "lambda", title: "Lambda", protocol: restJSON, maxBody: 70 << 20, handler: lam},
		// Uploads are signed UNSIGNED-PAYLOAD or chunk by chunk and stream past the router; a
		// body it must hash to check (a PUT signed with its SHA-256) is bounded here.
		{name: "s3", title: "S3", protocol: restXML, maxBody: 64 << 20, handler: objects},
		{name: "glue", title: "Glue", target: "AWSGlue.", contentType: "application/x-amz-json-1.1",
			protocol: awsJSON, maxBody: 16 << 20, handler: gl},
		{name: "logs", title: "CloudWatch Logs", target: logs.TargetPrefix, contentType: "application/x-amz-json-1.1",
			protocol: awsJSON, maxBody: 2 << 20, handler: lg},
		{name: "events", title: "EventBridge", target: events.TargetPrefix, contentType: "application/x-amz-json-1.1",
			protocol: awsJSON, maxBody: 1 << 20, handler: ev},
		{name: "scheduler", title: "EventBridge Scheduler", protocol: restJSON, maxBody: 1 << 20, handler: s.scheduler},
	}, o.Auth, o.Clock, o.Logger.With("component", "router"))
	mux := http.NewServeMux()
	// Patterns name no host: AWS SDKs send some actions to a "sync-" host prefix, and
	// clients reach Stepline under whatever name they like. Unsigned requests without a target
	// land here; on POST / they are the Step Functions API's (its error, or --auth's refusal).
	mux.Handle("POST /{$}", rt.serve("states"))
	// GetFunction's Code.Location, fetched unsigned as AWS's presigned S3 links are; the
	// Lambda service lets only links it signed through.
	mux.Handle("GET /2015-03-31/functions/{name}/code", lam)
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /metrics", s.metrics)
	// Every other unsigned request is the console's (GET / and its pages).
	mux.Handle("/", cons)
	rt.other = mux
	rt.limitConcurrency(o.MaxConcurrentRequests)
	s.http = &http.Server{
		// No whole-request read or write timeout: S3 uploads of gigabytes and GetActivityTask's
		// minute of long poll must not be cut. Body reads and response writes get deadlines
		// that extend with progress instead (limits.go).
		Handler:           deadlines(rt),
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       connIdle,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	s.http.RegisterOnShutdown(api.StopPolls)
	s.http.RegisterOnShutdown(cons.StopLive)
	return s, nil
}

// defaultDataDir is stepline-data beside a SQLite database file, so that a database and its
// files travel together; ./stepline-data for PostgreSQL.
func defaultDataDir(db string) string {
	if driver, path, err := dsn.Parse(db); err == nil && driver == dsn.SQLite {
		return filepath.Join(filepath.Dir(path), "stepline-data")
	}
	return "stepline-data"
}

// Start listens, starts the engine and serves in the background. It returns once the
// listener is open, so Addr is valid and requests are accepted.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return errors.New("server: already started")
	}
	ln := s.ln
	// Glue first ends the crawls and job runs a crashed predecessor of this node left running.
	if err := s.glue.Start(ctx); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.logs.Start(ctx)
	if err := s.engine.Start(ctx); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.events.Start(ctx)
	// Object events of buckets with EventBridge notifications, API writes and dropped files alike.
	stop, err := s.s3.Watch(time.Minute, s3Events(s.events, s.o.Account, s.log.With("component", "s3")))
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.stopWatch = stop
	// After the engine, which runs the executions schedules start.
	if err := s.scheduler.Start(ctx); err != nil {
		return errors.Join(fmt.Errorf("server: %w", err), s.engine.Stop(ctx))
	}
	s.started = true
	s.served = make(chan struct{})
	go func() {
		defer close(s.served)
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	s.log.Info("serving", "addr", ln.Addr().String(), "db", s.o.DB, "node", s.o.Node, "wait_scale", s.o.WaitScale)
	if u := s.console.LoginURL(localURL(ln.Addr())); u != "" {
		// --auth keeps the console's data behind a session; this link opens one, once.
		s.log.Info("console login link (works once)", "url", u)
	}
	return nil
}

// Addr returns the address the server listens on: New opened the listener, and Start serves it.
func (s *Server) Addr() string {
	return s.ln.Addr().String()
}

// Stop stops accepting requests, waits for those in progress (ending long polls at once),
// stops the engine, which releases its leases, and closes the store. Calling it again does
// nothing. ctx bounds the wait.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	var errs []error
	if !s.started {
		if err := s.ln.Close(); err != nil {
			errs = append(errs, fmt.Errorf("server: closing the listener: %w", err))
		}
	} else {
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("server: stopping HTTP: %w", err))
		}
		<-s.served
		if s.serveErr != nil {
			errs = append(errs, fmt.Errorf("server: serving HTTP: %w", s.serveErr))
		}
		// Before the engine: a firing in progress starts its execution, or its claim expires
		// and another node (or this one, restarted) carries it out.
		if err := s.scheduler.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("server: %w", err))
		}
		if err := s.engine.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("server: %w", err))
		}
	}
	// After the engine, which hands them no more tasks: every function and job process is
	// reaped, every crawl ended.
	if err := s.closeServices(); err != nil {
		errs = append(errs, fmt.Errorf("server: %w", err))
	}
	if err := s.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("server: closing the store: %w", err))
	}
	s.log.Info("stopped")
	return errors.Join(errs...)
}

// closeServices stops the services that run work of their own (function processes, crawls,
// job runs).
func (s *Server) closeServices() error {
	// Status changes still queued are put, then deliveries stop (those stored stay for later).
	s.status.Close()
	if s.stopWatch != nil {
		s.stopWatch()
	}
	_ = s.events.Close()
	return errors.Join(s.lambda.Close(), s.glue.Close(), s.s3.Close(), s.logs.Close())
}

// Done is closed when the HTTP server stops serving, which before Stop means it failed (Stop
// reports why). Callers wait for a signal or for this, whichever comes first, then Stop.
func (s *Server) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("health check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "store unavailable\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// runtimeMetrics are the Go runtime's numbers worth a glance, read without stopping the world.
var runtimeMetrics = [...]struct{ name, typ, help, sample string }{
	{"go_goroutines", "gauge", "Number of goroutines.", "/sched/goroutines:goroutines"},
	{"go_memory_heap_objects_bytes", "gauge", "Bytes of live and not yet swept heap objects.", "/memory/classes/heap/objects:bytes"},
	{"go_memory_total_bytes", "gauge", "All memory mapped by the Go runtime.", "/memory/classes/total:bytes"},
	{"go_gc_cycles_total", "counter", "Completed GC cycles.", "/gc/cycles/total:gc-cycles"},
}

func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if _, err := s.engine.Metrics().WriteTo(w); err != nil {
		return // the client went away
	}
	if _, err := s.scheduler.WriteMetrics(w); err != nil {
		return
	}
	samples := make([]metrics.Sample, len(runtimeMetrics))
	for i, m := range runtimeMetrics {
		samples[i].Name = m.sample
	}
	metrics.Read(samples)
	for i, m := range runtimeMetrics {
		var v uint64
		if samples[i].Value.Kind() == metrics.KindUint64 {
			v = samples[i].Value.Uint64()
		}
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", m.name, m.help, m.name, m.typ, m.name, v)
	}
}
