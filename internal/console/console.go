// Package console is Stepline's web console: pages for state machines, executions (graph,
// table and event views, updated live by server-sent events while an execution runs), Map
// Runs, Lambda functions, the Glue catalog, and EventBridge Scheduler's schedules and
// EventBridge's rules. It is server-rendered HTML with the graph drawn
// as SVG by a layered layout written in Go (layout.go), and a little hand-written JavaScript
// (static/console.js) for tabs, selection, filters and the live stream, all embedded in the
// binary: nothing to build, and no JavaScript toolchain.
//
// It reads and acts through the same operations as the AWS APIs (package service, the Lambda
// and Glue services), so a form's Start execution is StartExecution.
package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Glue is what the catalog pages need of the Glue service: its JSON actions, in-process.
type Glue interface {
	Call(ctx context.Context, action string, input []byte) ([]byte, error)
}

// Options configure a Console.
type Options struct {
	Service *service.Service
	Store   store.Store
	// Lambda is the Lambda API's handler, asked in-process for the function pages; nil: none.
	Lambda http.Handler
	// LambdaLogs is the folder of the functions' log streams (LogDir/<function>/YYYY/MM/DD/
	// stream), whose ends the function pages show; "": none.
	LambdaLogs string
	// Glue serves the catalog pages; nil: none.
	Glue Glue
	// GlueLogs is the folder of the job runs' logs ({jobs,python-jobs}/{output,error}/<run
	// id>, as Glue's log groups), which a run's page shows; "": none.
	GlueLogs string
	// Scheduler serves the schedules page, Events the rules page; nil: none.
	Scheduler Scheduler
	Events    Events
	// Login, when set (the server runs with --auth), keeps every page behind a session that
	// the one-time link of LoginURL opens.
	Login bool
	// LivePoll is how often a live page's stream looks for new events (0: 250ms).
	LivePoll time.Duration
	Logger   *slog.Logger
}

// Console is the console's http.Handler.
type Console struct {
	o     Options
	log   *slog.Logger
	tmpl  *template.Template
	mux   *http.ServeMux
	h     http.Handler
	token string

	mu       sync.Mutex
	used     bool
	sessions map[string]bool
	// stopping is closed by StopLive.
	stopping chan struct{}
	stopped  bool
}

// sessionCookie names the cookie of a logged-in browser.
const sessionCookie = "stepline_session"

// New checks the options and builds the console.
func New(o Options) (*Console, error) {
	if o.Service == nil || o.Store == nil {
		return nil, errors.New("console: Options.Service and Options.Store are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LivePoll == 0 {
		o.LivePoll = 250 * time.Millisecond
	}
	t, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: parsing the templates: %w", err)
	}
	c := &Console{o: o, log: o.Logger, tmpl: t, mux: http.NewServeMux(), sessions: map[string]bool{}, stopping: make(chan struct{})}
	if o.Login {
		c.token = randomToken()
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("console: the assets: %w", err)
	}
	m := c.mux
	m.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(http.FileServerFS(static))))
	m.HandleFunc("GET /login", c.login)
	m.HandleFunc("GET /{$}", c.machines)
	m.HandleFunc("GET /state-machines/{arn}", c.machine)
	m.HandleFunc("POST /state-machines/{arn}/executions", c.startExecution)
	m.HandleFunc("GET /executions/{arn}", c.execution)
	m.HandleFunc("GET /executions/{arn}/live", c.live)
	m.HandleFunc("POST /executions/{arn}/stop", c.stop)
	m.HandleFunc("POST /executions/{arn}/redrive", c.redrive)
	m.HandleFunc("GET /map-runs/{arn}", c.mapRun)
	m.HandleFunc("GET /functions", c.functions)
	m.HandleFunc("GET /functions/{name}", c.function)
	m.HandleFunc("GET /catalog", c.catalog)
	m.HandleFunc("GET /catalog/{db}/{table}", c.table)
	m.HandleFunc("GET /catalog/jobs/{job}/runs/{run}", c.jobRun)
	m.HandleFunc("GET /schedules", c.schedules)
	m.HandleFunc("GET /rules", c.rules)
	m.HandleFunc("/", c.notFound)
	// Forms post from the console's own pages only: a page elsewhere cannot make a browser
	// start or stop executions here (CSRF), with or without a session.
	c.h = http.NewCrossOriginProtection().Handler(m)
	return c, nil
}

// staticHandler lets browsers keep the assets for a while: they change only with the binary.
func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// LoginURL is the one-time link that opens a session, for base ("http://host:port"); "" when
// the console needs no login.
func (c *Console) LoginURL(base string) string {
	if c.token == "" {
		return ""
	}
	return base + "/login?token=" + c.token
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	// Scripts only from the console's own file: what a definition or an execution's data holds
	// is only ever text in the page. Styles allow attributes (the timeline bars' positions).
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; "+
		"img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	// Only the login link and the assets are open; the path is judged cleaned, as the mux
	// will route it.
	if p := path.Clean("/" + r.URL.Path); c.o.Login && p != "/login" && !strings.HasPrefix(p, "/static/") && !c.loggedIn(r) {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusUnauthorized)
		c.render(w, "login", map[string]any{"Title": "Log in"})
		return
	}
	c.h.ServeHTTP(w, r)
}

func (c *Console) loggedIn(r *http.Request) bool {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessions[ck.Value]
}

// login trades the one-time token for a session cookie. The token works once: a link seen
// in a log or a browser's history later opens nothing.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !c.o.Login {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	given := r.URL.Query().Get("token")
	c.mu.Lock()
	ok := !c.used && subtle.ConstantTimeCompare([]byte(given), []byte(c.token)) == 1
	var session string
	if ok {
		c.used = true
		session = randomToken()
		c.sessions[session] = true
	}
	c.mu.Unlock()
	if !ok {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusUnauthorized)
		c.render(w, "login", map[string]any{"Title": "Log in", "Refused": true})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: session, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.fail(w, http.StatusNotFound, "Not found", "No page at "+r.URL.Path)
}

// fail shows an error page.
func (c *Console) fail(w http.ResponseWriter, status int, title, msg string) {
	w.WriteHeader(status)
	c.render(w, "error", map[string]any{"Title": title, "Message": msg})
}

// failErr shows an error of an operation: AWS's code words it.
func (c *Console) failErr(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var se *service.Error
	if errors.As(err, &se) {
		status = http.StatusBadRequest
		switch se.Code {
		case service.CodeExecutionDoesNotExist, service.CodeStateMachineDoesNotExist, service.CodeResourceNotFound:
			status = http.StatusNotFound
		}
		c.fail(w, status, string(se.Code), se.Message)
		return
	}
	c.log.Warn("console request failed", "err", err)
	c.fail(w, status, "Error", err.Error())
}

func (c *Console) render(w http.ResponseWriter, name string, data any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	if err := c.tmpl.ExecuteTemplate(w, name, data); err != nil {
		c.log.Warn("rendering a console page", "page", name, "err", err)
	}
}
