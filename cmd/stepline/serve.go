package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/jsonata"
	"github.com/stepline/stepline/internal/project"
	"github.com/stepline/stepline/internal/server"
	"github.com/stepline/stepline/internal/sigv4"
	"github.com/stepline/stepline/internal/telemetry"
)

// stopTimeout bounds a graceful stop: in-flight requests, running tasks, releasing leases.
const stopTimeout = 30 * time.Second

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o server.Options
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8083", "address to listen on (port 0 picks a free port)")
	fs.StringVar(&o.DB, "db", "./stepline.db", "database: a file path or sqlite:PATH for SQLite, postgres://… for PostgreSQL")
	fs.StringVar(&o.DataDir, "data", "", "folder of function code, logs and buckets; nodes may share it (default stepline-data beside a SQLite database, ./stepline-data otherwise)")
	fs.StringVar(&o.Project, "project", "", "project folder: deploy its stepline.yaml, or its SAM/CloudFormation template or CDK app's cdk.out, before serving")
	fs.Float64Var(&o.WaitScale, "wait-scale", 1, "multiply every wait (Wait states, retries, timeouts) by this factor")
	fs.StringVar(&o.MockConfig, "mock-config", os.Getenv("SFN_MOCK_CONFIG"), "Step Functions Local mock configuration file: StartExecution on "+
		"stateMachineArn#TestCase runs under that test case (default $SFN_MOCK_CONFIG)")
	fs.StringVar(&o.Account, "account", "123456789012", "AWS account id used in ARNs")
	fs.StringVar(&o.Region, "region", "us-east-1", "AWS region used in ARNs")
	fs.StringVar(&o.Node, "node", "", "name of this node in execution leases (default hostname-pid)")
	fs.DurationVar(&o.LeaseTTL, "lease-ttl", 30*time.Second, "how long a dead node's executions wait before another node takes them over")
	fs.DurationVar(&o.Retention, "retention", engine.DefaultRetention, "how long an ended execution is kept, with its history, before it is deleted "+
		"(0: forever; AWS keeps 90 days and allows a redrive for 14 days after the end, so under 336h a failed execution may be gone before it can be redriven)")
	fs.StringVar(&o.CABundle, "ca-bundle", "", "PEM file of CA certificates HTTP Tasks trust besides the system's (an API with a private or self-signed CA)")
	authFile := fs.String("auth", "", "file of access keys (one \"KEY_ID SECRET\" a line); requests to every service must then be SigV4-signed with one")
	insecure := fs.Bool("insecure", false, "listen on a non-loopback address without --auth, letting anyone who reaches it run code")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "log format: text (logfmt-like lines) or json (one JSON object a line)")
	jsonataMiB := fs.Int64("jsonata-memory", jsonata.DefaultMaxMemory>>20, "memory budget of one JSONata evaluation, in MiB (-1: none)")
	templateFlags(fs, &o.ProjectOptions)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return exitInvalid
	}
	if len(pos) != 0 {
		fmt.Fprintf(stderr, "stepline serve: unexpected arguments %q\n%s", pos, usage)
		return exitInvalid
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "stepline serve: --log-level: %v\n", err)
		return exitInvalid
	}
	if o.WaitScale < 0 || o.LeaseTTL <= 0 || o.Retention < 0 {
		fmt.Fprintln(stderr, "stepline serve: --wait-scale and --retention must not be negative and --lease-ttl must be positive")
		return exitInvalid
	}
	if o.Retention == 0 {
		o.Retention = -1 // the engine keeps executions forever when told a negative retention
	}
	if *jsonataMiB == 0 || *jsonataMiB < -1 || *jsonataMiB > 1<<20 {
		fmt.Fprintln(stderr, "stepline serve: --jsonata-memory must be a number of MiB from 1 to 1048576, or -1")
		return exitInvalid
	}
	o.JSONataMemory = *jsonataMiB << 20
	// Stepline runs the code that clients upload (Lambda functions): open to the network
	// without keys, it would run anybody's.
	if *authFile == "" && !*insecure && !loopback(o.Addr) {
		fmt.Fprintf(stderr, "stepline serve: refusing to listen on %s without --auth: it runs uploaded Lambda code; "+
			"give --auth FILE, or --insecure to accept the risk\n", o.Addr)
		return exitInvalid
	}
	if *authFile != "" {
		if o.Auth, err = sigv4.LoadCredentials(*authFile); err != nil {
			fmt.Fprintf(stderr, "stepline serve: --auth: %v\n", err)
			return exitInvalid
		}
	}
	switch *logFormat {
	case "text":
		o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	case "json":
		o.Logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	default:
		fmt.Fprintf(stderr, "stepline serve: --log-format must be text or json, not %q\n", *logFormat)
		return exitInvalid
	}
	if *authFile == "" && !loopback(o.Addr) {
		o.Logger.Warn("--insecure: serving without --auth on a non-loopback address; anyone who reaches it can run code", "addr", o.Addr)
	}
	if o.Project != "" {
		// The project's code runs only when an execution calls it: say now what it will lack.
		// A mistake in the project itself is server.New's to report.
		po := o.ProjectOptions
		po.Account, po.Region = o.Account, o.Region
		if proj, err := project.LoadWith(o.Project, po); err == nil {
			if err := proj.CheckTools(ctx); err != nil {
				o.Logger.Warn("the project's code cannot run on this machine: " + err.Error())
			}
		}
	}
	// Traces are exported only when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT asks for them.
	if o.Tracer, err = telemetry.FromEnv(ctx, o.Node); err != nil {
		fmt.Fprintf(stderr, "stepline serve: %v\n", err)
		return exitInvalid
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := o.Tracer.Shutdown(sctx); err != nil {
			o.Logger.Warn("exporting the last spans", "err", err)
		}
	}()
	srv, err := server.New(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "stepline serve: %v\n", err)
		return exitFailed
	}
	if err := srv.Start(ctx); err != nil {
		fmt.Fprintf(stderr, "stepline serve: %v\n", err)
		_ = srv.Stop(context.Background())
		return exitFailed
	}
	fmt.Fprintf(stdout, "listening on http://%s\n", srv.Addr())
	select {
	case <-ctx.Done():
	case <-srv.Done():
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := srv.Stop(stopCtx); err != nil {
		fmt.Fprintf(stderr, "stepline serve: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// loopback reports whether addr listens on the loopback interface only: 127.0.0.0/8, ::1 or
// localhost. An empty host listens on every interface, and another name may resolve to any.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
