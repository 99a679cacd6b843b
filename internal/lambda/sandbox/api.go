package sandbox

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxResponse is Lambda's limit on a synchronous invocation's response (6 MB and change).
const MaxResponse = 6291556

// maxErrorBody bounds an error body a runtime posts; what is longer is cut, not refused.
const maxErrorBody = 1 << 20

const apiPrefix = "/2018-06-01/runtime/"

// maxBadCalls is how many refused Runtime API calls (4xx answers) a process may make during
// one invocation (or its init); past it the process is killed: a runtime looping on a wrong call would otherwise spin a core of the
// server's. A correct runtime makes none.
const maxBadCalls = 1000

// maxConcurrentCalls bounds the Runtime API calls of one process in flight at once: a runtime
// makes one at a time (a long-poll /next, then its answer); one opening thousands of
// connections is refused with 429 (and each refusal counts as a bad call).
const maxConcurrentCalls = 8

// ServeHTTP is the Runtime API of one process. Every answer is AWS's: 202 {"status":"OK"}, or
// 4xx/5xx with {"errorMessage","errorType"}. A process that floods it is cut off (killed).
func (pr *proc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if pr.inflight.Add(1) > maxConcurrentCalls {
		pr.inflight.Add(-1)
		apiError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Too many concurrent Runtime API calls")
		pr.badCall()
		return
	}
	defer pr.inflight.Add(-1)
	sw := &statusWriter{ResponseWriter: w}
	pr.serve(sw, r)
	if sw.status >= 400 && sw.status < 500 {
		pr.badCall()
	}
}

// badCall counts a refused call and kills the process past maxBadCalls.
func (pr *proc) badCall() {
	if pr.badCalls.Add(1) == maxBadCalls+1 {
		pr.log.write(fmt.Appendf(nil, "%s Runtime API flooded: %d refused calls; the process is stopped\n",
			time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), maxBadCalls))
		pr.pool.o.Logger.Warn("lambda: a process flooded the Runtime API and was stopped", "function", pr.spec.Function, "pid", pr.pid)
		pr.kill()
	}
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (pr *proc) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
	if !ok {
		apiError(w, http.StatusNotFound, "InvalidRequest", "No such Runtime API path: "+truncate(r.URL.Path, 200))
		return
	}
	switch {
	case rest == "invocation/next":
		if r.Method != http.MethodGet {
			apiError(w, http.StatusMethodNotAllowed, "InvalidRequest", "Method "+truncate(r.Method, 20)+" not allowed")
			return
		}
		pr.next(w, r)
	case rest == "init/error":
		if r.Method != http.MethodPost {
			apiError(w, http.StatusMethodNotAllowed, "InvalidRequest", "Method "+truncate(r.Method, 20)+" not allowed")
			return
		}
		pr.initError(w, r)
	case strings.HasPrefix(rest, "invocation/"):
		id, what, ok := strings.Cut(strings.TrimPrefix(rest, "invocation/"), "/")
		if !ok || (what != "response" && what != "error") {
			apiError(w, http.StatusNotFound, "InvalidRequest", "No such Runtime API path: "+truncate(r.URL.Path, 200))
			return
		}
		if r.Method != http.MethodPost {
			apiError(w, http.StatusMethodNotAllowed, "InvalidRequest", "Method "+truncate(r.Method, 20)+" not allowed")
			return
		}
		pr.answer(w, r, id, what == "error")
	default:
		apiError(w, http.StatusNotFound, "InvalidRequest", "No such Runtime API path: "+truncate(r.URL.Path, 200))
	}
}

// next is the runtime's long poll for its next invocation. The first one ends init.
func (pr *proc) next(w http.ResponseWriter, r *http.Request) {
	pr.initOnce.Do(func() { close(pr.initDone) })
	pr.mu.Lock()
	busy := pr.cur != nil && !pr.cur.answered
	pr.mu.Unlock()
	if busy {
		apiError(w, http.StatusForbidden, "InvalidStateTransition",
			"State transition from Running to Ready failed for runtime. Error: the invocation has no response yet")
		return
	}
	var c *call
	select {
	case c = <-pr.invCh:
	case <-pr.exited:
		return
	case <-r.Context().Done():
		return
	}
	pr.mu.Lock()
	pr.cur = c
	pr.mu.Unlock()
	// The budget of refused calls is per invocation: a warm process that now and then
	// posts a response over the limit is not stopped for it hours later.
	pr.badCalls.Store(0)
	// START goes to the log before the function can print anything of this invocation.
	pr.log.begin(c)
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Lambda-Runtime-Aws-Request-Id"] = []string{c.id}
	h["Lambda-Runtime-Deadline-Ms"] = []string{c.deadlineMs}
	arn := c.invokedArn
	if arn == "" {
		arn = pr.spec.Arn
	}
	h["Lambda-Runtime-Invoked-Function-Arn"] = []string{arn}
	trace := c.traceID
	if trace == "" {
		trace = traceID()
	}
	h["Lambda-Runtime-Trace-Id"] = []string{trace}
	if c.clientContext != "" {
		h["Lambda-Runtime-Client-Context"] = []string{c.clientContext}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(c.payload))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(c.payload)
}

// answer takes a response or an error for invocation id.
func (pr *proc) answer(w http.ResponseWriter, r *http.Request, id string, isError bool) {
	pr.mu.Lock()
	c := pr.cur
	pr.mu.Unlock()
	if c == nil || c.id != id {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	limit := MaxResponse
	if isError {
		limit = maxErrorBody
	}
	body, tooBig, err := readBounded(r.Body, limit)
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", "Reading the request body: "+err.Error())
		return
	}
	var o outcome
	switch {
	case tooBig && !isError:
		o = outcome{isError: true, body: errorJSON("Function.ResponseSizeTooLarge",
			"Response payload size exceeded maximum allowed payload size ("+strconv.Itoa(MaxResponse)+" bytes).")}
	case isError:
		o = outcome{isError: true, body: functionError(body, r.Header.Get("Lambda-Runtime-Function-Error-Type"))}
	default:
		o = outcome{body: body}
	}
	if !pr.deliver(c, o) {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	if tooBig && !isError {
		apiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			"Exceeded maximum allowed payload size ("+strconv.Itoa(MaxResponse)+" bytes).")
		return
	}
	accepted(w)
}

// deliver gives c its one answer; a second one is refused.
func (pr *proc) deliver(c *call, o outcome) bool {
	pr.mu.Lock()
	if c.answered {
		pr.mu.Unlock()
		return false
	}
	c.answered = true
	pr.mu.Unlock()
	c.done <- o
	return true
}

// initError is the runtime saying it cannot start; the invocation waiting for init fails with it.
func (pr *proc) initError(w http.ResponseWriter, r *http.Request) {
	select {
	case <-pr.initDone:
		apiError(w, http.StatusForbidden, "InvalidStateTransition",
			"State transition from Ready to InitError failed for runtime. Error: init is over")
		return
	default:
	}
	body, _, err := readBounded(r.Body, maxErrorBody)
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", "Reading the request body: "+err.Error())
		return
	}
	select {
	case pr.initErr <- outcome{isError: true, body: functionError(body, r.Header.Get("Lambda-Runtime-Function-Error-Type"))}:
	default:
		apiError(w, http.StatusForbidden, "InvalidStateTransition",
			"State transition from InitError to InitError failed for runtime. Error: init error already reported")
		return
	}
	accepted(w)
}

// functionError is the payload of an error a runtime posted: its JSON object as is, or, when
// it sent something else, an object that carries it.
func functionError(body []byte, errType string) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) == nil && obj != nil {
		return body
	}
	if errType == "" {
		errType = "Runtime.Unknown"
	}
	msg := string(body)
	if len(msg) > 64<<10 {
		msg = msg[:64<<10]
	}
	return errorJSON(truncate(errType, 256), strings.ToValidUTF8(msg, "\uFFFD"))
}

// readBounded reads at most limit bytes of r and tells whether there was more.
func readBounded(r io.Reader, limit int) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	if len(b) > limit {
		return nil, true, nil
	}
	return b, false, nil
}

var acceptedBody = []byte(`{"status":"OK"}` + "\n")

func accepted(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(acceptedBody)
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorJSONMessageFirst(typ, msg))
}

// errorJSONMessageFirst is the Runtime API's own error shape, {"errorMessage","errorType"}.
func errorJSONMessageFirst(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{strings.ToValidUTF8(msg, "\uFFFD"), typ})
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// traceID makes an X-Ray trace header as Lambda passes one (not sampled).
func traceID() string {
	var b [12]byte
	for i := 0; i < len(b); i += 8 {
		v := rand.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return "Root=1-" + strconv.FormatInt(time.Now().Unix(), 16) + "-" + hex.EncodeToString(b[:]) + ";Sampled=0"
}
