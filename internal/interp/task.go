package interp

import (
	"strings"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/jsonv"
)

type resourceKind uint8

const (
	resService  resourceKind = iota // arn:aws:states:::service:action[.pattern]
	resLambda                       // arn:aws:lambda:…:function:name
	resActivity                     // arn:aws:states:…:activity:name
)

// classify tells how a Task resource is reported in history: activities and plain Lambda ARNs
// have event families of their own; optimised integrations are reported as the service
// ("lambda", "aws-sdk:s3") and the action ("invoke", "startExecution.sync:2").
func classify(resource string) taskInfo {
	parts := strings.SplitN(resource, ":", 7)
	if len(parts) >= 6 {
		switch {
		case parts[2] == "lambda" && parts[5] == "function":
			return taskInfo{kind: resLambda, resource: resource}
		case parts[2] == "states" && parts[5] == "activity":
			return taskInfo{kind: resActivity, resource: resource}
		case parts[2] == "states" && parts[3] == "" && parts[4] == "":
			rest := strings.Join(parts[5:], ":")
			if strings.HasPrefix(rest, "aws-sdk:") {
				svc, action, _ := strings.Cut(strings.TrimPrefix(rest, "aws-sdk:"), ":")
				return taskInfo{kind: resService, resource: resource, resType: "aws-sdk:" + svc, action: action}
			}
			svc, action, _ := strings.Cut(rest, ":")
			return taskInfo{kind: resService, resource: resource, resType: svc, action: action}
		}
	}
	return taskInfo{kind: resService, resource: resource, resType: "unknown", action: resource}
}

// needsToken reports whether a task's runner answers through a task token.
// needsToken tells the tasks that have a task token ($$.Task.Token) which SendTask* complete:
// activities, .waitForTaskToken, and .sync, whose token AWS also accepts (a child that sends
// its parent's token completes the parent's task before the child ends).
func (t *taskInfo) needsToken() bool {
	return t.kind == resActivity || strings.HasSuffix(t.action, ".waitForTaskToken") ||
		strings.HasSuffix(t.action, ".sync") || strings.Contains(t.action, ".sync:")
}

func (r *run) execTask(th *thread) {
	st := th.state
	info := classify(st.Task.Resource)
	taskID := "task-" + r.seq()
	token := ""
	if info.needsToken() {
		token = taskToken(r.x.ID.ExecutionArn, taskID)
	}
	var params jsonv.Value = th.effective
	if st.Parameters != nil {
		sc := r.scope(th, th.effective)
		sc.token = token
		v, err := r.eval(th, st.Parameters, sc)
		if err != nil {
			r.fail(th, err)
			return
		}
		params = v
	}
	if st.QueryLanguage == asl.JSONata {
		r.inspect(th, "afterArguments", params)
	} else {
		r.inspect(th, "afterParameters", params)
	}
	if r.mocked(th) {
		return
	}
	timeout, err := r.seconds(th, st.Task.TimeoutSeconds)
	if err != nil {
		r.fail(th, err)
		return
	}
	heartbeat, err := r.seconds(th, st.Task.HeartbeatSeconds)
	if err != nil {
		r.fail(th, err)
		return
	}
	info.timeout, info.heartbeat, info.parameters, info.scheduled = timeout, heartbeat, params, r.now
	d := history.Details{Resource: info.resource}
	if timeout > 0 {
		d.TimeoutInSeconds = ptr(timeout)
	}
	if heartbeat > 0 {
		d.HeartbeatInSeconds = ptr(heartbeat)
	}
	switch info.kind {
	case resLambda:
		d.Input = r.text(params)
		d.HeartbeatInSeconds = nil
		r.emitOn(th, "LambdaFunctionScheduled", d)
	case resActivity:
		d.Input = r.text(params)
		r.emitOn(th, "ActivityScheduled", d)
	default:
		d.Resource, d.ResourceType, d.Region = info.action, info.resType, r.x.ID.Region
		d.Parameters = r.text(params)
		r.emitOn(th, "TaskScheduled", d)
	}
	th.task = &info
	th.taskID = taskID
	th.waiting = waitTask
	r.x.tasks[taskID] = th
	if timeout > 0 {
		info.toTimerID = r.startTimer(timerRef{kind: timerTaskTimeout, thread: th.id}, r.now.Add(time.Duration(timeout)*time.Second))
	}
	sched := ScheduleTask{
		TaskID: taskID, StateName: st.Name, Resource: st.Task.Resource, Parameters: params,
		TimeoutSeconds: timeout, HeartbeatSeconds: heartbeat, Token: token,
	}
	if tc := r.x.ID.TestCase; tc != nil {
		if r.x.invocations == nil {
			r.x.invocations = map[string]int64{}
		}
		sched.TestCase, sched.Invocation = tc, r.x.invocations[st.Name]
		r.x.invocations[st.Name]++
	}
	r.effects = append(r.effects, sched)
}

// seconds evaluates an optional whole-seconds field (TimeoutSeconds, HeartbeatSeconds).
func (r *run) seconds(th *thread, e asl.Expr) (int64, error) {
	if e == nil {
		return 0, nil
	}
	v, err := e.Eval(r.scope(th, th.effective))
	if err != nil {
		return 0, err
	}
	n, ok := v.(jsonv.Number)
	if !ok {
		return 0, sferr.New(sferr.Runtime, "Expected a positive integer but was: %s", jsonv.String(v))
	}
	i, ok := n.Int64()
	if !ok || i <= 0 {
		return 0, sferr.New(sferr.Runtime, "Expected a positive integer but was: %s", n)
	}
	return i, nil
}

func (r *run) taskThread(id string) *thread {
	th := r.x.tasks[id]
	if th == nil || th.done || th.taskID != id {
		return nil
	}
	return th
}

func (r *run) taskStarted(e TaskStarted) {
	th := r.taskThread(e.TaskID)
	if th == nil || th.task.started {
		return
	}
	t := th.task
	t.started = true
	switch t.kind {
	case resLambda:
		r.emitOn(th, "LambdaFunctionStarted", history.Details{})
	case resActivity:
		r.emitOn(th, "ActivityStarted", history.Details{WorkerName: e.WorkerName})
	default:
		r.emitOn(th, "TaskStarted", history.Details{Resource: t.action, ResourceType: t.resType})
	}
	if t.heartbeat > 0 {
		t.hbTimerID = r.startTimer(timerRef{kind: timerHeartbeat, thread: th.id}, r.now.Add(time.Duration(t.heartbeat)*time.Second))
	}
}

// taskSubmitted records a service task's submission once, after its start.
func (r *run) taskSubmitted(e TaskSubmitted) {
	th := r.taskThread(e.TaskID)
	if th == nil || th.task.submitted || th.task.kind != resService {
		return
	}
	if !th.task.started {
		r.taskStarted(TaskStarted{TaskID: e.TaskID})
	}
	th.task.submitted = true
	out := e.Output
	r.emitOn(th, "TaskSubmitted", history.Details{Resource: th.task.action, ResourceType: th.task.resType, Output: &out})
}

func (r *run) taskHeartbeat(e TaskHeartbeat) {
	th := r.taskThread(e.TaskID)
	if th == nil || th.task.heartbeat == 0 {
		return
	}
	r.cancelTimer(th.task.hbTimerID)
	th.task.hbTimerID = r.startTimer(timerRef{kind: timerHeartbeat, thread: th.id}, r.now.Add(time.Duration(th.task.heartbeat)*time.Second))
}

// taskToken is the token of a task that reports through one: its execution and its id.
func taskToken(executionArn, taskID string) string { return executionArn + "#" + taskID }

// cancelEffect withdraws the task id that t was, closed, with its token.
func (r *run) cancelEffect(id string, t *taskInfo) CancelTask {
	c := CancelTask{TaskID: id}
	if t.needsToken() {
		c.Token = taskToken(r.x.ID.ExecutionArn, id)
	}
	return c
}

// closeTask forgets an open task and its timers.
func (r *run) closeTask(th *thread) *taskInfo {
	t := th.task
	delete(r.x.tasks, th.taskID)
	r.cancelTimer(t.toTimerID)
	r.cancelTimer(t.hbTimerID)
	th.task, th.taskID, th.waiting = nil, "", notWaiting
	return t
}

func (r *run) taskSucceeded(e TaskSucceeded) {
	if th := r.ioThread(e.TaskID); th != nil {
		r.ioSucceeded(th, e.TaskID, e.Output)
		return
	}
	if th := r.groupThread(e.TaskID); th != nil {
		r.groupSucceeded(th, e.TaskID, e.Output)
		return
	}
	th := r.taskThread(e.TaskID)
	if th == nil {
		return
	}
	if !th.task.started {
		r.taskStarted(TaskStarted{TaskID: e.TaskID})
	}
	t := r.closeTask(th)
	out := e.Output
	switch t.kind {
	case resLambda:
		r.emitOn(th, "LambdaFunctionSucceeded", history.Details{Output: &out})
	case resActivity:
		r.emitOn(th, "ActivitySucceeded", history.Details{Output: &out})
	default:
		r.emitOn(th, "TaskSucceeded", history.Details{Resource: t.action, ResourceType: t.resType, Output: &out})
	}
	if len(out) > MaxPayload {
		r.stateFailed(th, dataLimit(th.state.Name))
		r.advance(th)
		return
	}
	result, err := jsonv.ParseString(out)
	if err != nil {
		r.stateFailed(th, failure{name: ptr(sferr.Runtime), cause: ptr("The task result is not valid JSON: " + err.Error())})
		r.advance(th)
		return
	}
	r.complete(th, result, th.state.Assign, th.state.Output, th.state.Next)
	r.advance(th)
}

// taskFailed records a task's failure (or time-out) and lets Retry and Catch decide.
func (r *run) taskFailed(id, name, cause string, timedOut bool) {
	if th := r.ioThread(id); th != nil {
		r.ioFailed(th, failure{name: &name, cause: &cause})
		return
	}
	if th := r.groupThread(id); th != nil {
		r.groupFailed(th, id, name, cause)
		return
	}
	th := r.taskThread(id)
	if th == nil {
		return
	}
	// Runners report failures of tasks they ran; only an activity can time out before a worker
	// ever took it.
	if !th.task.started && th.task.kind != resActivity {
		r.taskStarted(TaskStarted{TaskID: id})
	}
	t := r.closeTask(th)
	if timedOut {
		// A worker may still hold it; its token must now be refused.
		r.effects = append(r.effects, r.cancelEffect(id, t))
	}
	f := failure{name: &name, task: !timedOut}
	if cause != "" {
		f.cause = &cause
	}
	d := history.Details{Error: f.name, Cause: f.cause}
	f.emptyCause = timedOut && t.kind == resService
	var typ string
	switch t.kind {
	case resLambda:
		typ = "LambdaFunctionFailed"
		if timedOut {
			typ = "LambdaFunctionTimedOut"
		}
	case resActivity:
		typ = "ActivityFailed"
		if timedOut {
			typ = "ActivityTimedOut"
		}
	default:
		typ = "TaskFailed"
		if timedOut {
			typ = "TaskTimedOut"
		}
		d.Resource, d.ResourceType = t.action, t.resType
	}
	r.emitOn(th, typ, d)
	r.stateFailed(th, f)
	r.advance(th)
}
