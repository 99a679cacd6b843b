package console_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/stepline/stepline/internal/service"
)

// chromiumPath is Debian's Chromium, which .ci/run installs when it is missing.
const chromiumPath = "/usr/bin/chromium"

// browser starts a headless Chromium for the test and returns its context. A machine without
// Chromium fails the test rather than skipping it: CI installs it, and a skipped browser
// test would pass unseen.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is needed for the console's browser tests (apt-get install -y chromium): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	// Every page records its script errors and Content-Security-Policy refusals, which
	// screenshot checks.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__errors = [];
addEventListener('error', e => __errors.push('error: ' + e.message));
addEventListener('unhandledrejection', e => __errors.push('rejection: ' + e.reason));
document.addEventListener('securitypolicyviolation', e => __errors.push('CSP: ' + e.violatedDirective + ' ' + e.blockedURI));`,
	}); err != nil {
		t.Fatal(err)
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// screenshot saves the whole page under the test's temp dir, and in STEPLINE_CONSOLE_SHOTS
// when set, so that a person can look at the views.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if errs := eval[[]string](t, ctx, `window.__errors || []`); len(errs) > 0 {
		t.Errorf("the page reported errors: %q", errs)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(t.TempDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
	if dir := os.Getenv("STEPLINE_CONSOLE_SHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func execURL(base, arn string) string { return base + "/executions/" + url.PathEscape(arn) }

// pageState reads the three views' test hooks.
type pageState struct {
	Nodes  map[string]string `json:"nodes"`
	Rows   []string          `json:"rows"`
	Events []string          `json:"events"`
	Status string            `json:"status"`
	Live   string            `json:"live"`
}

const readPage = `(() => ({
  nodes: Object.fromEntries([...document.querySelectorAll('[data-state]')].map(n => [n.dataset.state, n.dataset.status])),
  rows: [...document.querySelectorAll('[data-row-state]')].map(r => r.dataset.rowState + ':' + r.dataset.status),
  events: [...document.querySelectorAll('[data-event-id]')].map(r => r.dataset.eventId + ':' + r.dataset.eventType),
  status: document.querySelector('#exec-status').dataset.status,
  live: document.querySelector('#execution').dataset.live,
}))()`

func checkNodes(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	for name, st := range want {
		if got[name] != st {
			t.Errorf("graph node %s: data-status %q, want %q (all: %v)", name, got[name], st, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("graph has %d nodes %v, want %d", len(got), got, len(want))
	}
}

func hasEvent(events []string, typ string) bool {
	return slices.ContainsFunc(events, func(e string) bool { return strings.HasSuffix(e, ":"+typ) })
}

// A task whose error a Catch handles: its node is CAUGHT_ERROR, the handler's SUCCEEDED, the
// state on the other path NOT_STARTED; selecting it shows the error; filters work.
func TestExecutionPageCaughtError(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	m := b.machine(t, "caught", `{"StartAt":"Prepare","States":{
	 "Prepare":{"Type":"Pass","Result":{"n":1},"Next":"Work"},
	 "Work":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:missing",
	   "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Recover","ResultPath":"$.err"}],"Next":"Publish"},
	 "Publish":{"Type":"Pass","Next":"Done"},
	 "Recover":{"Type":"Pass","Next":"Done"},
	 "Done":{"Type":"Succeed"}}}`)
	arn := b.start(t, m, "caught-1", `{"order":42}`)
	if x := b.wait(t, arn); x.Status != "SUCCEEDED" {
		t.Fatalf("execution %s, want SUCCEEDED", x.Status)
	}
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(execURL(b.url, arn)), chromedp.WaitVisible(chromedp.CSS("#graph svg")))
	p := eval[pageState](t, ctx, readPage)
	checkNodes(t, p.Nodes, map[string]string{"Prepare": "SUCCEEDED", "Work": "CAUGHT_ERROR", "Publish": "NOT_STARTED",
		"Recover": "SUCCEEDED", "Done": "SUCCEEDED"})
	if want := []string{"Prepare:SUCCEEDED", "Work:CAUGHT_ERROR", "Recover:SUCCEEDED", "Done:SUCCEEDED"}; !slices.Equal(p.Rows, want) {
		t.Errorf("table rows %v, want %v", p.Rows, want)
	}
	if len(p.Events) != 13 || !hasEvent(p.Events, "LambdaFunctionFailed") || p.Events[12] != "13:ExecutionSucceeded" {
		t.Errorf("events %v", p.Events)
	}
	if p.Status != "SUCCEEDED" || p.Live != "false" {
		t.Errorf("status %s, live %s", p.Status, p.Live)
	}
	// The Catch edge is dashed, from Work to Recover.
	if n := eval[int](t, ctx, `document.querySelectorAll('.edge.catch[data-from="Work"][data-to="Recover"]').length`); n != 1 {
		t.Errorf("%d catch edges Work → Recover, want 1", n)
	}
	// Selecting the state shows its error; a keyboard user gets there with the arrow keys
	// and Enter.
	do(t, ctx, chromedp.Focus(chromedp.CSS(`[data-state="Prepare"]`)), chromedp.KeyEvent(kb.ArrowDown))
	if got := eval[string](t, ctx, `document.activeElement.dataset.state`); got != "Work" {
		t.Errorf("ArrowDown from Prepare focused %q, want Work", got)
	}
	do(t, ctx, chromedp.KeyEvent("\r"))
	detail := eval[string](t, ctx, `document.querySelector('#detail').textContent`)
	if !strings.Contains(detail, "Caught error") || !strings.Contains(detail, "Error:") {
		t.Errorf("detail of Work: %q", detail)
	}
	screenshot(t, ctx, "console-caught-graph")
	// Events: filter by type, then by text.
	do(t, ctx, chromedp.Click(chromedp.CSS("#tab-events")),
		chromedp.SetValue(chromedp.CSS("#event-type"), "LambdaFunctionFailed"))
	visible := `[...document.querySelectorAll('#events tr')].filter(r => !r.hidden).map(r => r.dataset.eventType)`
	eval[any](t, ctx, `document.querySelector('#event-type').dispatchEvent(new Event('change'))`)
	if got := eval[[]string](t, ctx, visible); !slices.Equal(got, []string{"LambdaFunctionFailed"}) {
		t.Errorf("events of type LambdaFunctionFailed shown: %v", got)
	}
	do(t, ctx, chromedp.SetValue(chromedp.CSS("#event-type"), ""), chromedp.SendKeys(chromedp.CSS("#event-text"), "Recover"))
	eval[any](t, ctx, `document.querySelector('#event-type').dispatchEvent(new Event('change'))`)
	if got := eval[[]string](t, ctx, visible); !slices.Equal(got, []string{"PassStateEntered", "PassStateExited"}) {
		t.Errorf("events matching Recover: %v", got)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS("#tab-table")))
	screenshot(t, ctx, "console-caught-table")
	// A finished execution's page opens no stream.
	if n := eval[int](t, ctx, `performance.getEntriesByType('resource').filter(e => e.name.includes('/live')).length`); n != 0 {
		t.Errorf("a finished execution's page made %d live requests", n)
	}
}

// A failed execution with nested groups: the Fail state inside a Parallel branch is FAILED,
// so is the Parallel; the Map's processor states ran; the state after is NOT_STARTED.
func TestExecutionPageFailed(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	m := b.machine(t, "failing", `{"StartAt":"Items","States":{
	 "Items":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"Double","States":{
	   "Double":{"Type":"Pass","End":true}}},"ResultPath":"$.doubled","Next":"Check"},
	 "Check":{"Type":"Choice","Choices":[{"Variable":"$.ok","BooleanEquals":true,"Next":"After"}],"Default":"Both"},
	 "Both":{"Type":"Parallel","Branches":[
	   {"StartAt":"Left","States":{"Left":{"Type":"Pass","End":true}}},
	   {"StartAt":"Right","States":{"Right":{"Type":"Fail","Error":"Boom","Cause":"the right branch failed"}}}],
	  "Next":"After"},
	 "After":{"Type":"Succeed"}}}`)
	arn := b.start(t, m, "failed-1", `{"items":[1,2,3],"ok":false}`)
	if x := b.wait(t, arn); x.Status != "FAILED" {
		t.Fatalf("execution %s, want FAILED", x.Status)
	}
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(execURL(b.url, arn)), chromedp.WaitVisible(chromedp.CSS("#graph svg")))
	p := eval[pageState](t, ctx, readPage)
	checkNodes(t, p.Nodes, map[string]string{"Items": "SUCCEEDED", "Double": "SUCCEEDED", "Check": "SUCCEEDED",
		"Both": "FAILED", "Left": "SUCCEEDED", "Right": "FAILED", "After": "NOT_STARTED"})
	if p.Status != "FAILED" || !hasEvent(p.Events, "ExecutionFailed") || !hasEvent(p.Events, "ParallelStateFailed") {
		t.Errorf("status %s, events %v", p.Status, p.Events)
	}
	if n := strings.Count(strings.Join(p.Rows, ","), "Double:SUCCEEDED"); n != 3 {
		t.Errorf("rows %v: want Double three times, once per item", p.Rows)
	}
	// The Choice's edges carry their rules; the error and cause are in the summary.
	labels := eval[[]string](t, ctx, `[...document.querySelectorAll('.edge[data-from="Check"] .edge-label')].map(l => l.textContent)`)
	if !slices.Contains(labels, "$.ok == true") || !slices.Contains(labels, "Default") {
		t.Errorf("Choice edge labels %v", labels)
	}
	if got := eval[string](t, ctx, `document.querySelector('#exec-error').textContent`); got != "Boom" {
		t.Errorf("error shown %q, want Boom", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#redrive').length`); n != 1 {
		t.Errorf("%d Redrive buttons on a failed execution, want 1", n)
	}
	// Nested groups: the branch states are inside the Parallel's node.
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-state="Both"] [data-state="Right"]').length`); n != 1 {
		t.Errorf("Right is not drawn inside Both")
	}
	screenshot(t, ctx, "console-failed-graph")
	// On a phone the page still lays out: no horizontal scrolling of the page itself.
	do(t, ctx, chromedp.EmulateViewport(390, 844))
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 400 {
		t.Errorf("page %d px wide on a 390 px phone", w)
	}
	screenshot(t, ctx, "console-failed-phone")
}

// A running execution held by an activity updates live: the page shows the task RUNNING,
// then, without reloading, every state SUCCEEDED once the activity's result arrives, and the
// stream ends.
func TestExecutionPageLive(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	ctxBg := context.Background()
	act, err := b.svc.CreateActivity(ctxBg, "hold", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := b.machine(t, "live", fmt.Sprintf(`{"StartAt":"Begin","States":{
	 "Begin":{"Type":"Pass","Next":"Hold"},
	 "Hold":{"Type":"Task","Resource":%q,"Next":"Finish"},
	 "Finish":{"Type":"Pass","End":true}}}`, act.Arn))
	arn := b.start(t, m, "live-1", `{}`)
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(execURL(b.url, arn)), chromedp.WaitVisible(chromedp.CSS("#graph svg")))
	p := eval[pageState](t, ctx, readPage)
	checkNodes(t, p.Nodes, map[string]string{"Begin": "SUCCEEDED", "Hold": "RUNNING", "Finish": "NOT_STARTED"})
	if p.Status != "RUNNING" || p.Live != "true" {
		t.Fatalf("status %s live %s, want a live page of a running execution", p.Status, p.Live)
	}
	screenshot(t, ctx, "console-live-running")
	// A mark that a reload would wipe out.
	eval[any](t, ctx, `window.__stillHere = true`)
	task, err := b.svc.GetActivityTask(ctxBg, act.Arn, "test", 5*time.Second)
	if err != nil || task == nil {
		t.Fatalf("GetActivityTask: %v %v", task, err)
	}
	if err := b.svc.SendTaskSuccess(ctxBg, task.Token, `{"done":true}`); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('#execution').dataset.live === 'false'`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the page did not see the execution end: %v", err)
	}
	p = eval[pageState](t, ctx, readPage)
	checkNodes(t, p.Nodes, map[string]string{"Begin": "SUCCEEDED", "Hold": "SUCCEEDED", "Finish": "SUCCEEDED"})
	if want := []string{"Begin:SUCCEEDED", "Hold:SUCCEEDED", "Finish:SUCCEEDED"}; !slices.Equal(p.Rows, want) {
		t.Errorf("rows %v, want %v", p.Rows, want)
	}
	if p.Status != "SUCCEEDED" || !hasEvent(p.Events, "ActivitySucceeded") || !hasEvent(p.Events, "ExecutionSucceeded") {
		t.Errorf("status %s events %v", p.Status, p.Events)
	}
	// Event ids stay unique: what the stream appended did not repeat what the page had.
	ids := map[string]bool{}
	for _, e := range p.Events {
		id, _, _ := strings.Cut(e, ":")
		if ids[id] {
			t.Errorf("event %s shown twice", id)
		}
		ids[id] = true
	}
	if !eval[bool](t, ctx, `window.__stillHere === true`) {
		t.Error("the page reloaded")
	}
	if out := eval[string](t, ctx, `document.querySelector('#io').textContent`); !strings.Contains(out, `"done": true`) {
		t.Errorf("the output did not arrive with the end: %q", out)
	}
	screenshot(t, ctx, "console-live-done")
}

// The Start execution form refuses input that is not JSON, then starts an execution through
// StartExecution and shows its page.
func TestStartExecutionForm(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	m := b.machine(t, "greeter", `{"StartAt":"Hello","States":{"Hello":{"Type":"Pass","End":true}}}`)
	ctx := browser(t)
	machineURL := b.url + "/state-machines/" + url.PathEscape(m)
	do(t, ctx, chromedp.Navigate(b.url+"/?q=greet"), chromedp.WaitVisible(chromedp.CSS(`[data-machine="greeter"] a`)),
		chromedp.Click(chromedp.CSS(`[data-machine="greeter"] a`)), chromedp.WaitVisible(chromedp.CSS("#start-form")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != machineURL {
		t.Errorf("the list links to %s, want %s", loc, machineURL)
	}
	do(t, ctx, chromedp.SetValue(chromedp.CSS("#start-name"), "from-form"),
		chromedp.SetValue(chromedp.CSS("#start-input"), `{"who": `), chromedp.Click(chromedp.CSS("#start-submit")))
	if msg := eval[string](t, ctx, `document.querySelector('#start-error').textContent`); !strings.Contains(msg, "not valid JSON") {
		t.Errorf("error shown for bad input: %q", msg)
	}
	if _, err := b.svc.DescribeExecution(context.Background(), strings.Replace(m, ":stateMachine:", ":execution:", 1)+":from-form"); service.CodeOf(err) != service.CodeExecutionDoesNotExist {
		t.Errorf("an execution was started from bad input: %v", err)
	}
	screenshot(t, ctx, "console-start-refused")
	do(t, ctx, chromedp.SetValue(chromedp.CSS("#start-input"), `{"who": "world"}`), chromedp.Click(chromedp.CSS("#start-submit")),
		chromedp.WaitVisible(chromedp.CSS("#exec-status")))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	arn := strings.Replace(m, ":stateMachine:", ":execution:", 1) + ":from-form"
	if loc != execURL(b.url, arn) {
		t.Errorf("after starting, the browser is at %s, want %s", loc, execURL(b.url, arn))
	}
	x, err := b.svc.DescribeExecution(context.Background(), arn)
	if err != nil || x.Input != `{"who": "world"}` {
		t.Fatalf("the form's execution: %+v %v", x, err)
	}
	// The machine's page lists it under its status filter.
	do(t, ctx, chromedp.Navigate(machineURL+"?status="+string(b.wait(t, arn).Status)), chromedp.WaitVisible(chromedp.CSS(`[data-execution="from-form"]`)))
	screenshot(t, ctx, "console-machine")
}

// A distributed Map's run: the execution links its Map Run, whose page counts the children
// by status and links each, and a child's page draws the Map's processor with its statuses.
func TestMapRunPages(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	m := b.machine(t, "distributed", `{"StartAt":"M","States":{"M":{"Type":"Map","Label":"Items","ItemsPath":"$.items",
	  "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"Work",
	    "States":{"Work":{"Type":"Pass","Next":"Last"},"Last":{"Type":"Succeed"}}},"End":true}}}`)
	arn := b.start(t, m, "mapped", `{"items":["a","b","c"]}`)
	if x := b.wait(t, arn); x.Status != "SUCCEEDED" {
		t.Fatalf("execution %s", x.Status)
	}
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(execURL(b.url, arn)), chromedp.WaitVisible(chromedp.CSS("#graph svg")),
		chromedp.Click(chromedp.CSS(`a[href^="/map-runs/"]`)), chromedp.WaitVisible(chromedp.CSS("#children")))
	counts := eval[[]string](t, ctx, `[...document.querySelectorAll('#counts tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim()).join(' '))`)
	if want := []string{"Items 0 0 3 0 0 0 3", "Child executions 0 0 3 0 0 0 3"}; !slices.Equal(counts, want) {
		t.Errorf("Map Run counts %q, want %q", counts, want)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#children [data-child]').length`); n != 3 {
		t.Errorf("%d children listed, want 3", n)
	}
	screenshot(t, ctx, "console-map-run")
	do(t, ctx, chromedp.Click(chromedp.CSS(`#children [data-child] a`)), chromedp.WaitVisible(chromedp.CSS("#graph svg")))
	p := eval[pageState](t, ctx, readPage)
	checkNodes(t, p.Nodes, map[string]string{"Work": "SUCCEEDED", "Last": "SUCCEEDED"})
	if p.Status != "SUCCEEDED" || p.Live != "false" || !hasEvent(p.Events, "ExecutionSucceeded") {
		t.Errorf("child page: status %s live %s events %v", p.Status, p.Live, p.Events)
	}
}

// The Stop and Redrive buttons: Stop aborts the running execution (the held task ABORTED),
// Redrive runs it again from there, live, to its end.
func TestStopAndRedriveButtons(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	ctxBg := context.Background()
	act, err := b.svc.CreateActivity(ctxBg, "held", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := b.machine(t, "stoppable", fmt.Sprintf(`{"StartAt":"Hold","States":{
	 "Hold":{"Type":"Task","Resource":%q,"Next":"Finish"},
	 "Finish":{"Type":"Pass","End":true}}}`, act.Arn))
	arn := b.start(t, m, "stop-me", `{}`)
	ctx := browser(t)
	do(t, ctx, chromedp.Navigate(execURL(b.url, arn)), chromedp.WaitVisible(chromedp.CSS("#stop")),
		chromedp.Click(chromedp.CSS("#stop")), chromedp.WaitVisible(chromedp.CSS("#redrive")))
	p := eval[pageState](t, ctx, readPage)
	checkNodes(t, p.Nodes, map[string]string{"Hold": "ABORTED", "Finish": "NOT_STARTED"})
	if p.Status != "ABORTED" || p.Live != "false" || !hasEvent(p.Events, "ExecutionAborted") {
		t.Fatalf("after Stop: status %s live %s events %v", p.Status, p.Live, p.Events)
	}
	screenshot(t, ctx, "console-stopped")
	do(t, ctx, chromedp.Click(chromedp.CSS("#redrive")), chromedp.WaitVisible(chromedp.CSS("#stop")))
	p = eval[pageState](t, ctx, readPage)
	if p.Status != "RUNNING" || p.Live != "true" || p.Nodes["Hold"] != "RUNNING" || !hasEvent(p.Events, "ExecutionRedriven") {
		t.Fatalf("after Redrive: status %s live %s nodes %v", p.Status, p.Live, p.Nodes)
	}
	task, err := b.svc.GetActivityTask(ctxBg, act.Arn, "test", 5*time.Second)
	if err != nil || task == nil {
		t.Fatalf("GetActivityTask: %v %v", task, err)
	}
	if err := b.svc.SendTaskSuccess(ctxBg, task.Token, `{}`); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('#execution').dataset.live === 'false'`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the redriven execution's page did not see its end: %v", err)
	}
	p = eval[pageState](t, ctx, readPage)
	checkNodes(t, p.Nodes, map[string]string{"Hold": "SUCCEEDED", "Finish": "SUCCEEDED"})
	if want := []string{"Hold:ABORTED", "Hold:SUCCEEDED", "Finish:SUCCEEDED"}; !slices.Equal(p.Rows, want) {
		t.Errorf("rows %v, want %v", p.Rows, want)
	}
	if got := eval[string](t, ctx, `document.querySelector('#summary').textContent`); !strings.Contains(got, "Redrives") || !strings.Contains(got, "1 (last") {
		t.Errorf("the summary does not count the redrive: %q", got)
	}
}
