package console

import (
	"bytes"
	"cmp"
	"encoding/json"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// The statuses a state has in one execution; they are the graph's data-status values, which
// outside tests rely on.
const (
	stSucceeded   = "SUCCEEDED"
	stFailed      = "FAILED"
	stCaught      = "CAUGHT_ERROR"
	stRunning     = "RUNNING"
	stNotStarted  = "NOT_STARTED"
	stAborted     = "ABORTED"
	statusUnknown = ""
)

// event is one history event decoded for the console.
type event struct {
	ID        int64
	Prev      int64
	Type      string
	Time      time.Time
	Elapsed   time.Duration // since the execution started
	State     string        // the state it belongs to, "" for the execution's own
	Details   map[string]json.RawMessage
	DetailsJS string // the details object, indented, for the expandable row
}

func (e *event) str(key string) string {
	var s string
	if raw, ok := e.Details[key]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

// visit is one time a state was entered: a row of the table view.
type visit struct {
	State    string `json:"state"`
	Type     string `json:"type"`
	Status   string `json:"status"`
	Entered  int64  `json:"enteredEventId"`
	Start    time.Time
	End      *time.Time
	Input    string `json:"input,omitempty"`
	Output   string `json:"output,omitempty"`
	Error    string `json:"error,omitempty"`
	Cause    string `json:"cause,omitempty"`
	Retries  int    `json:"retries"`
	Resource string `json:"resource,omitempty"`
	// Function and Job name the Lambda function or Glue job the task ran, for links to
	// their pages (logs, runs).
	Function string
	Job      string
	// RequestID is the Lambda request of the task's last successful invocation (lambda:invoke
	// reports it), whose log lines the function page finds.
	RequestID string
	// JobRun is the Glue job run a glue:startJobRun task started.
	JobRun string
	// epoch counts the redrives before this visit.
	epoch   int
	failed  bool // the last outcome inside the visit was a failure
	aborted bool
	tasks   int // tasks scheduled: attempts
	parent  *visit
}

// replay folds an execution's history into what the console shows: the status of each
// state, the visits in order and the events with the state each belongs to. It is fed
// events in order and may be fed more later (live updates).
type replay struct {
	g       *graph
	start   time.Time
	events  []*event
	visits  []*visit
	byEvent map[int64]*visit
	open    map[string][]*visit
	epoch   int
	// status is the execution's, from the last Execution* event.
	status string
}

func newReplay(g *graph, start time.Time) *replay {
	return &replay{g: g, start: start, byEvent: map[int64]*visit{}, open: map[string][]*visit{}, status: string(store.StatusRunning)}
}

// decodeEvent decodes a stored event (GetExecutionHistory's JSON of one event).
func decodeEvent(h *store.HistoryEvent) *event {
	e := &event{ID: h.ID, Type: h.Type, Time: h.Timestamp}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(h.Payload, &top); err == nil {
		_ = json.Unmarshal(top["previousEventId"], &e.Prev)
		for k, v := range top {
			if strings.HasSuffix(k, "EventDetails") {
				_ = json.Unmarshal(v, &e.Details)
				var buf bytes.Buffer
				if json.Indent(&buf, v, "", "  ") == nil {
					e.DetailsJS = buf.String()
				}
			}
		}
	}
	return e
}

// add folds one event in.
func (r *replay) add(h *store.HistoryEvent) {
	e := decodeEvent(h)
	e.Elapsed = e.Time.Sub(r.start)
	r.events = append(r.events, e)
	typ := e.Type
	switch {
	case strings.HasPrefix(typ, "Execution"):
		switch typ {
		case "ExecutionRedriven":
			r.epoch++
			r.status = string(store.StatusRunning)
		case "ExecutionSucceeded":
			r.status = string(store.StatusSucceeded)
		case "ExecutionFailed":
			r.status = string(store.StatusFailed)
		case "ExecutionAborted":
			r.status = string(store.StatusAborted)
		case "ExecutionTimedOut":
			r.status = string(store.StatusTimedOut)
		}
		if typ != "ExecutionStarted" && typ != "ExecutionRedriven" {
			r.closeAll(typ)
		}
		return
	case strings.HasSuffix(typ, "StateEntered"):
		name := e.str("name")
		v := &visit{State: name, Type: strings.TrimSuffix(typ, "StateEntered"), Status: stRunning, Entered: e.ID,
			Start: e.Time, Input: e.str("input"), epoch: r.epoch}
		if n := r.g.node(name); n != nil {
			v.Type, v.Resource = n.typ, n.resource
			if n.parent != nil {
				if ps := r.open[n.parent.name]; len(ps) > 0 {
					v.parent = ps[len(ps)-1]
				}
			}
		}
		r.visits = append(r.visits, v)
		r.open[name] = append(r.open[name], v)
		r.byEvent[e.ID] = v
		e.State = name
		return
	case strings.HasSuffix(typ, "StateExited"):
		name := e.str("name")
		v := r.visitOf(e.Prev, name)
		if v == nil {
			if os := r.open[name]; len(os) > 0 {
				v = os[0]
			}
		}
		if v != nil {
			t := e.Time
			v.End, v.Output = &t, e.str("output")
			v.Status = stSucceeded
			if v.failed {
				v.Status = stCaught
			}
			r.close(v)
			r.cutShort(v, e.Time)
			r.byEvent[e.ID] = v
		}
		e.State = name
		return
	}
	if strings.HasSuffix(typ, "StateAborted") {
		// A state cut short: a branch's state when its Parallel failed (after its own
		// failure, if it was the one that failed), or any state of a stopped execution.
		v := enclosing(r.visitOf(e.Prev, ""), strings.TrimSuffix(typ, "StateAborted"))
		if v != nil && v.End == nil {
			t := e.Time
			v.End, v.Status = &t, v.cutStatus()
			r.close(v)
			r.cutShort(v, e.Time)
			r.byEvent[e.ID] = v
			e.State = v.State
		}
		return
	}
	v := r.visitOf(e.Prev, "")
	// Parallel and Map events belong to the Parallel or Map state, not to the branch state
	// whose end caused them.
	if strings.HasPrefix(typ, "Parallel") || strings.HasPrefix(typ, "Map") {
		want := "Parallel"
		if strings.HasPrefix(typ, "Map") {
			want = "Map"
		}
		v = enclosing(v, want)
	}
	if v == nil {
		return
	}
	r.byEvent[e.ID] = v
	e.State = v.State
	switch {
	case strings.HasSuffix(typ, "Scheduled") && !strings.Contains(typ, "Map"):
		v.noteTarget(e)
		v.tasks++
		if v.tasks > 1 {
			v.Retries = v.tasks - 1
		}
		v.failed = false
	case typ == "MapIterationFailed" || typ == "MapIterationAborted" || typ == "MapIterationSucceeded" || typ == "MapIterationStarted":
		// An iteration's end is its own; the Map's outcome comes with MapStateFailed.
	case strings.HasSuffix(typ, "Failed") || strings.HasSuffix(typ, "TimedOut"):
		v.failed = true
		if typ == "ParallelStateFailed" || typ == "MapStateFailed" {
			r.cutShort(v, e.Time)
		}
		if s := e.str("error"); s != "" || e.str("cause") != "" {
			v.Error, v.Cause = s, e.str("cause")
		}
	case strings.HasSuffix(typ, "Aborted"):
		v.aborted = true
	case typ == "TaskSubmitted":
		v.noteJobRun(e)
	case strings.HasSuffix(typ, "Succeeded"):
		v.failed = false
		v.noteJobRun(e)
		if typ == "TaskSucceeded" && e.str("resourceType") == "lambda" {
			var out struct{ SdkResponseMetadata struct{ RequestId string } }
			if json.Unmarshal([]byte(e.str("output")), &out) == nil {
				v.RequestID = out.SdkResponseMetadata.RequestId
			}
		}
	}
}

// enclosing is v or the nearest visit around it of a state of the type.
func enclosing(v *visit, typ string) *visit {
	for v != nil && v.Type != typ {
		v = v.parent
	}
	return v
}

// noteTarget records the function or job a task's scheduling names.
func (v *visit) noteTarget(e *event) {
	if e.Type == "LambdaFunctionScheduled" {
		v.Function = functionName(e.str("resource"))
		return
	}
	var params struct{ FunctionName, JobName string }
	_ = json.Unmarshal([]byte(e.str("parameters")), &params)
	switch e.str("resourceType") {
	case "lambda":
		v.Function = functionName(params.FunctionName)
	case "glue":
		v.Job = params.JobName
	}
}

// noteJobRun records the Glue job run a task's submission or result names: StartJobRun's
// JobRunId, or the run's Id in the JobRun a .sync task answers.
func (v *visit) noteJobRun(e *event) {
	if e.str("resourceType") != "glue" {
		return
	}
	var out struct{ JobRunId, Id string }
	if json.Unmarshal([]byte(e.str("output")), &out) == nil {
		if id := cmp.Or(out.JobRunId, out.Id); id != "" {
			v.JobRun = id
		}
	}
}

// functionName is the name in a function's name or ARN, without a version or alias.
func functionName(s string) string {
	if _, after, ok := strings.Cut(s, ":function:"); ok {
		s = after
	}
	name, _, _ := strings.Cut(s, ":")
	return name
}

// visitOf follows the chain of previous events to the visit it belongs to; with name set,
// only a visit of that state.
func (r *replay) visitOf(prev int64, name string) *visit {
	v := r.byEvent[prev]
	if name == "" {
		return v
	}
	for ; v != nil; v = v.parent {
		if v.State == name && v.End == nil {
			return v
		}
	}
	return nil
}

func (r *replay) close(v *visit) {
	os := r.open[v.State]
	for i, o := range os {
		if o == v {
			r.open[v.State] = append(os[:i:i], os[i+1:]...)
			break
		}
	}
}

// cutStatus is the status of a visit ended before it exited: FAILED when it failed (a Fail
// state always does), else ABORTED.
func (v *visit) cutStatus() string {
	if v.failed || v.Type == "Fail" {
		return stFailed
	}
	return stAborted
}

// cutShort ends the visits still open inside a Parallel or Map visit that ended: the states
// of the other branches or iterations when one failed, which AWS records no event for.
func (r *replay) cutShort(parent *visit, at time.Time) {
	for name, os := range r.open {
		kept := os[:0]
		for _, v := range os {
			inside := false
			for p := v.parent; p != nil; p = p.parent {
				if p == parent {
					inside = true
					break
				}
			}
			if !inside {
				kept = append(kept, v)
				continue
			}
			t := at
			v.End, v.Status = &t, v.cutStatus()
		}
		r.open[name] = kept
	}
}

// closeAll ends the visits still open when the execution ended: the failing state failed,
// the others were cut short.
func (r *replay) closeAll(typ string) {
	for name, os := range r.open {
		for _, v := range os {
			switch {
			case typ == "ExecutionSucceeded":
				v.Status = stSucceeded
			case v.failed || v.Type == "Fail":
				v.Status = stFailed
			case typ == "ExecutionAborted" || v.aborted:
				v.Status = stAborted
			case typ == "ExecutionTimedOut":
				v.Status = stFailed
			default:
				v.Status = stAborted
			}
		}
		delete(r.open, name)
	}
}

// statuses returns each state's status in this execution: the status of its last visit, or
// for a state inside a Parallel or Map (visited once per branch or item) the worst of its
// visits since the last redrive. States never entered are NOT_STARTED.
func (r *replay) statuses() map[string]string {
	out := make(map[string]string, len(r.g.nodes))
	for name := range r.g.nodes {
		out[name] = stNotStarted
	}
	rankOf := map[string]int{stSucceeded: 1, stCaught: 2, stAborted: 3, stFailed: 4, stRunning: 5}
	latest := map[string]int{}
	for _, v := range r.visits {
		if n := r.g.node(v.State); n == nil || n.parent == nil {
			out[v.State] = v.Status
			continue
		}
		cur, seen := out[v.State], latest[v.State]
		if v.epoch > seen || cur == stNotStarted || rankOf[v.Status] > rankOf[cur] {
			out[v.State] = v.Status
			latest[v.State] = v.epoch
		}
	}
	return out
}

func (g *graph) node(name string) *gnode {
	if g == nil {
		return nil
	}
	return g.nodes[name]
}
