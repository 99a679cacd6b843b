package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
)

var funcs = template.FuncMap{
	"page":      func(title, nav string) map[string]any { return map[string]any{"Title": title, "Nav": nav} },
	"esc":       url.PathEscape,
	"time":      fmtTime,
	"timep":     func(t *time.Time) string { return fmtTimePtr(t) },
	"dur":       fmtDur,
	"icon":      func(s string) string { return statusLook[s].icon },
	"stext":     func(s string) string { return statusLook[s].text },
	"lower":     strings.ToLower,
	"hasPrefix": strings.HasPrefix,
	"contains":  strings.Contains,
	"pretty":    prettyJSON,
	"execIcon":  execIcon,
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"shortArn": func(arn string) string {
		if i := strings.LastIndex(arn, ":"); i >= 0 {
			return arn[i+1:]
		}
		return arn
	},
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05.000") + " UTC"
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return fmtTime(*t)
}

func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return ""
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.3f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
}

// execIcon gives an execution status its icon, as statusLook does for states.
func execIcon(s store.ExecutionStatus) string {
	switch s {
	case store.StatusSucceeded:
		return "✓"
	case store.StatusFailed, store.StatusTimedOut:
		return "✗"
	case store.StatusAborted:
		return "■"
	}
	return "⟳"
}

// prettyJSON indents JSON text; other text comes back as it is.
func prettyJSON(s string) string {
	var v json.RawMessage
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return s
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// machines lists the state machines, filtered by the search box.
func (c *Console) machines(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var items []service.StateMachineListItem
	token := ""
	for {
		page, next, err := c.o.Service.ListStateMachines(r.Context(), service.Page{Limit: store.MaxPageSize, Token: token})
		if err != nil {
			c.failErr(w, err)
			return
		}
		for _, it := range page {
			if q == "" || strings.Contains(strings.ToLower(it.Name), strings.ToLower(q)) {
				items = append(items, it)
			}
		}
		if token = next; token == "" {
			break
		}
	}
	c.render(w, "machines", map[string]any{"Title": "State machines", "Nav": "machines", "Query": q, "Machines": items})
}

// executionsPage is how many executions the state machine page lists at a time.
const executionsPage = 25

func (c *Console) machine(w http.ResponseWriter, r *http.Request) {
	c.machinePage(w, r, http.StatusOK, nil)
}

// machinePage renders a state machine's page; form carries a refused start's fields back.
func (c *Console) machinePage(w http.ResponseWriter, r *http.Request, status int, form map[string]string) {
	ctx := r.Context()
	arn := r.PathValue("arn")
	sm, err := c.o.Service.DescribeStateMachine(ctx, arn)
	var alias *service.Alias
	if service.CodeOf(err) == service.CodeStateMachineDoesNotExist {
		// An alias's page: the definition of the version it routes to most, its executions,
		// and Start execution through the alias.
		if a, aerr := c.o.Service.DescribeStateMachineAlias(ctx, arn); aerr == nil && len(a.Routing) > 0 {
			top := slices.MaxFunc(a.Routing, func(x, y service.Route) int { return x.Weight - y.Weight })
			if sm, err = c.o.Service.DescribeStateMachine(ctx, top.VersionArn); err == nil {
				alias, sm.Arn = a, arn
			}
		}
	}
	if err != nil {
		c.failErr(w, err)
		return
	}
	data := map[string]any{"Title": sm.Name, "Nav": "machines", "SM": sm, "Form": form, "Alias": alias}
	g, err := buildGraph(sm.Definition, sm.Type == store.StateMachineExpress)
	if err == nil {
		layoutGraph(g)
		data["Graph"] = renderSVG(g, nil)
	}
	data["Definition"] = prettyJSON(sm.Definition)
	if versions, _, err := c.o.Service.ListStateMachineVersions(ctx, arn, service.Page{Limit: 100}); err == nil {
		data["Versions"] = versions
	}
	if aliases, _, err := c.o.Service.ListStateMachineAliases(ctx, arn, service.Page{Limit: 100}); err == nil {
		data["Aliases"] = aliases
	}
	if tags, err := c.o.Service.ListTagsForResource(ctx, arn); err == nil {
		data["Tags"] = tags
	}
	filter := store.ExecutionStatus(r.URL.Query().Get("status"))
	if !filter.Valid() {
		filter = ""
	}
	data["Filter"] = string(filter)
	data["Statuses"] = []string{"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
	if sm.Type != store.StateMachineExpress {
		xs, next, err := c.o.Service.ListExecutions(ctx, &service.ListExecutionsInput{StateMachineArn: arn, Status: filter,
			Page: service.Page{Limit: executionsPage, Token: r.URL.Query().Get("page")}})
		if err != nil {
			c.failErr(w, err)
			return
		}
		data["Executions"], data["Next"] = xs, next
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	c.render(w, "machine", data)
}

// startExecution is the Start execution form: StartExecution with the form's name and input,
// then the new execution's page.
func (c *Console) startExecution(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.fail(w, http.StatusBadRequest, "Bad form", err.Error())
		return
	}
	arn := r.PathValue("arn")
	name, input := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("input")
	form := map[string]string{"Name": name, "Input": input}
	if strings.TrimSpace(input) == "" {
		input = "{}"
	}
	if !json.Valid([]byte(input)) {
		form["Error"] = "The input is not valid JSON."
		c.machinePage(w, r, http.StatusBadRequest, form)
		return
	}
	x, err := c.o.Service.StartExecution(r.Context(), &service.StartExecutionInput{StateMachineArn: arn, Name: name, Input: &input})
	if err != nil {
		var se *service.Error
		if errors.As(err, &se) {
			form["Error"] = string(se.Code) + ": " + se.Message
			c.machinePage(w, r, http.StatusBadRequest, form)
			return
		}
		c.failErr(w, err)
		return
	}
	http.Redirect(w, r, "/executions/"+url.PathEscape(x.Arn), http.StatusSeeOther)
}

func (c *Console) stop(w http.ResponseWriter, r *http.Request) {
	arn := r.PathValue("arn")
	cause := "Stopped from the Stepline console"
	if _, err := c.o.Service.StopExecution(r.Context(), arn, nil, &cause); err != nil {
		c.failErr(w, err)
		return
	}
	http.Redirect(w, r, "/executions/"+url.PathEscape(arn), http.StatusSeeOther)
}

func (c *Console) redrive(w http.ResponseWriter, r *http.Request) {
	arn := r.PathValue("arn")
	if _, err := c.o.Service.RedriveExecution(r.Context(), arn, ""); err != nil {
		c.failErr(w, err)
		return
	}
	http.Redirect(w, r, "/executions/"+url.PathEscape(arn), http.StatusSeeOther)
}

// execView is what the execution page shows.
type execView struct {
	Title, Nav    string
	X             *store.Execution
	SM            *service.ExecutionStateMachine
	Duration      time.Duration
	RedriveCount  int64
	RedriveDate   *time.Time
	Redrivable    bool
	RedriveReason string
	VersionArn    string
	AliasArn      string
	Graph         template.HTML
	GraphError    string
	Rows          []row
	SpanMs        int64
	Events        []*event
	EventTypes    []string
	States        map[string]stateDetail
	Statuses      map[string]string
	Live          bool
	LastEventID   int64
	MapRuns       []mapRunLink
	// MapRunArn and ParentArn are set for a Map Run's child execution.
	MapRunArn string
	ParentArn string
}

type mapRunLink struct{ Arn, Label, Status string }

// row is one row of the table view.
type row struct {
	*visit
	StartText string
	Duration  string
	Index     int
	// StartMs and DurMs place the timeline bar; CSS divides them by the execution's span
	// (execView.SpanMs), so that a live page moves every bar by changing the span alone.
	StartMs int64
	DurMs   int64
}

// stateDetail is what selecting a state shows, sent to the page as JSON.
type stateDetail struct {
	Type     string        `json:"type"`
	Status   string        `json:"status"`
	Resource string        `json:"resource,omitempty"`
	Visits   []visitDetail `json:"visits"`
	More     int           `json:"more,omitempty"`
}

type visitDetail struct {
	Start     string `json:"start"`
	End       string `json:"end,omitempty"`
	Duration  string `json:"duration,omitempty"`
	Status    string `json:"status"`
	Input     string `json:"input,omitempty"`
	Output    string `json:"output,omitempty"`
	Error     string `json:"error,omitempty"`
	Cause     string `json:"cause,omitempty"`
	Retries   int    `json:"retries"`
	Function  string `json:"function,omitempty"`
	Job       string `json:"job,omitempty"`
	RequestID string `json:"requestId,omitempty"`
	JobRun    string `json:"jobRun,omitempty"`
}

// detailVisits and detailBytes bound what the page carries per state: a Map over many items
// visits its states once per item.
const (
	detailVisits = 20
	detailBytes  = 16 << 10
)

func clip(s string) string {
	if len(s) <= detailBytes {
		return s
	}
	return s[:detailBytes] + "… (cut; see the Events view)"
}

// load reads everything the execution page shows.
func (c *Console) load(ctx context.Context, arn string) (*execView, *replay, error) {
	sm, err := c.o.Service.DescribeStateMachineForExecution(ctx, arn)
	if err != nil {
		return nil, nil, err
	}
	v := &execView{Title: "", Nav: "machines", SM: sm}
	if service.IsChildExecutionArn(arn) {
		// A Map Run's child execution: it lives in its parent, which its Map Run redrives.
		ch, err := c.o.Service.DescribeChildExecution(ctx, arn)
		if err != nil {
			return nil, nil, err
		}
		v.X, v.MapRunArn, v.ParentArn = &ch.Execution, ch.MapRunArn, ch.ParentArn
		if ch.Redrives != nil {
			v.RedriveCount, v.RedriveDate = ch.Redrives.Count, &ch.Redrives.Date
		}
		v.RedriveReason = ch.RedriveStatusReason
	} else {
		x, err := c.o.Service.DescribeExecution(ctx, arn)
		if err != nil {
			return nil, nil, err
		}
		v.X = x
		if rd, err := c.o.Service.Redrives(ctx, arn); err == nil {
			if rd != nil {
				v.RedriveCount, v.RedriveDate = rd.Count, &rd.Date
			}
			if x.Status.Terminal() {
				v.Redrivable, v.RedriveReason, _ = c.o.Service.Redrivable(ctx, x, rd)
			}
		}
		v.VersionArn, v.AliasArn, _ = c.o.Service.ExecutionOrigin(ctx, arn)
	}
	x := v.X
	v.Title = x.Name
	g, err := buildGraph(sm.Definition, sm.Type == store.StateMachineExpress)
	if err != nil {
		v.GraphError = err.Error()
		g = &graph{top: &gmachine{}, nodes: map[string]*gnode{}}
	} else {
		if v.ParentArn != "" {
			g.processorOf(sm.Label)
		}
		layoutGraph(g)
	}
	rp := newReplay(g, x.StartDate)
	token := ""
	for {
		evs, next, err := c.o.Service.GetExecutionHistory(ctx, &service.HistoryInput{ExecutionArn: arn, Page: service.Page{Limit: store.MaxPageSize, Token: token}})
		if err != nil {
			return nil, nil, err
		}
		for _, e := range evs {
			rp.add(e)
		}
		if token = next; token == "" {
			break
		}
	}
	if runs, _, err := c.o.Service.ListMapRuns(ctx, &service.ListMapRunsInput{ExecutionArn: arn}); err == nil && v.ParentArn == "" {
		for _, mr := range runs {
			v.MapRuns = append(v.MapRuns, mapRunLink{Arn: mr.Arn, Label: mr.Label, Status: string(mr.Status)})
		}
	}
	c.fill(v, rp)
	if v.GraphError == "" {
		v.Graph = renderSVG(g, v.Statuses)
	}
	return v, rp, nil
}

// fill computes the parts of the view that change as the execution runs.
func (c *Console) fill(v *execView, rp *replay) {
	x := v.X
	end := time.Now()
	if x.StopDate != nil {
		end = *x.StopDate
	}
	v.Duration = end.Sub(x.StartDate)
	// A child execution's page is not live: its rows live in its parent (a reload shows more).
	v.Live = !x.Status.Terminal() && v.ParentArn == ""
	v.Statuses = rp.statuses()
	v.Events = rp.events
	if n := len(rp.events); n > 0 {
		v.LastEventID = rp.events[n-1].ID
	}
	types := map[string]bool{}
	for _, e := range rp.events {
		types[e.Type] = true
	}
	v.EventTypes = v.EventTypes[:0]
	for t := range types {
		v.EventTypes = append(v.EventTypes, t)
	}
	slices.Sort(v.EventTypes)
	span := v.Duration
	if span <= 0 {
		span = time.Millisecond
	}
	v.Rows = v.Rows[:0]
	v.States = map[string]stateDetail{}
	for name, st := range v.Statuses {
		n := rp.g.node(name)
		d := stateDetail{Status: st, Visits: []visitDetail{}}
		if n != nil {
			d.Type, d.Resource = n.typ, n.resource
		}
		v.States[name] = d
	}
	v.SpanMs = max(span.Milliseconds(), 1)
	for i, vis := range rp.visits {
		stop := end
		if vis.End != nil {
			stop = *vis.End
		}
		dur := stop.Sub(vis.Start)
		v.Rows = append(v.Rows, row{visit: vis, Index: i, StartText: "+" + fmtDur(vis.Start.Sub(x.StartDate)), Duration: fmtDur(dur),
			StartMs: max(vis.Start.Sub(x.StartDate).Milliseconds(), 0), DurMs: dur.Milliseconds()})
		d := v.States[vis.State]
		vd := visitDetail{Start: fmtTime(vis.Start), Status: vis.Status, Input: clip(vis.Input), Output: clip(vis.Output),
			Error: vis.Error, Cause: clip(vis.Cause), Retries: vis.Retries,
			Function: vis.Function, Job: vis.Job, RequestID: vis.RequestID, JobRun: vis.JobRun}
		if vis.End != nil {
			vd.End, vd.Duration = fmtTime(*vis.End), fmtDur(dur)
		}
		if len(d.Visits) >= detailVisits {
			d.Visits = d.Visits[1:]
			d.More++
		}
		d.Visits = append(d.Visits, vd)
		v.States[vis.State] = d
	}
}

func (c *Console) execution(w http.ResponseWriter, r *http.Request) {
	v, _, err := c.load(r.Context(), r.PathValue("arn"))
	if err != nil {
		c.failErr(w, err)
		return
	}
	c.render(w, "execution", v)
}

// mapRun shows a Map Run: counts by status and its child executions.
func (c *Console) mapRun(w http.ResponseWriter, r *http.Request) {
	arn := r.PathValue("arn")
	mr, children, _, err := c.o.Service.ListMapRunExecutions(r.Context(), &service.ListMapRunExecutionsInput{MapRunArn: arn,
		Page: service.Page{Limit: store.MaxPageSize}})
	if err != nil {
		c.failErr(w, err)
		return
	}
	c.render(w, "maprun", map[string]any{"Title": "Map Run " + mr.Label, "Nav": "machines", "MR": mr, "Children": children})
}
