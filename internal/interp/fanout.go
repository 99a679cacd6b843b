package interp

import (
	"errors"
	"strconv"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/jsonv"
)

func (r *run) execParallel(th *thread) {
	st := th.state
	input, err := r.parameters(th)
	if err != nil {
		r.fail(th, err)
		return
	}
	r.emitOn(th, "ParallelStateStarted", history.Details{})
	n := len(st.Parallel.Branches)
	th.fan = &fanOut{parallel: true, results: make([]jsonv.Value, n), children: map[int64]*thread{}, lastEvent: th.prev}
	th.waiting = waitChildren
	r.seedRedrive(th)
	for i, b := range st.Parallel.Branches {
		if th.fan.results[i] != nil {
			continue // a redrive keeps what the branch returned before
		}
		child := r.newThread(th, b, input, int64(i))
		th.fan.children[child.id] = child
		th.fan.running++
		start, in := r.redriveStart(th, child, b.StartAt, input)
		r.queue = append(r.queue, func() { r.enter(child, start, in) })
	}
	if th.fan.completed == n {
		r.fanDone(th)
	}
}

func (r *run) execMap(th *thread) {
	st := th.state
	m := st.Map
	if m.ItemReader != nil && distributed(m) && r.tested(th) == nil {
		r.execMapReader(th)
		return
	}
	sc := r.scope(th, th.effective)
	var itemsVal jsonv.Value = th.effective
	if t := r.tested(th); t != nil && t.opts.MapItems != nil {
		itemsVal = t.opts.MapItems
	} else if m.Items != nil {
		v, err := r.eval(th, m.Items, sc)
		var ee *asl.EvaluationError
		switch {
		case errors.As(err, &ee):
			// AWS records the Map's failure after the evaluation's.
			f := r.failureOf(th, err)
			r.emitOn(th, "MapStateFailed", history.Details{})
			r.stateFailed(th, f)
			return
		case err != nil:
			r.fail(th, err)
			return
		}
		itemsVal = v
	}
	items, ok := itemsVal.([]jsonv.Value)
	if ref, fromContext := m.ItemsContextPath(); !ok && fromContext {
		// AWS words this one as a reference path's error, with no word of the state.
		r.emitOn(th, "MapStateFailed", history.Details{})
		r.stateFailed(th, failure{name: ptr(sferr.Runtime), cause: ptr(`Reference path "` + ref + `" must point to array.`)})
		return
	}
	if !ok {
		cause := "Map state input must be an array but was: " + jsonv.String(itemsVal)
		var err error = sferr.New(sferr.Runtime, "%s", cause)
		if st.QueryLanguage == asl.JSONata {
			err = &asl.EvaluationError{Cause: cause}
		}
		f := r.failureOf(th, err)
		r.emitOn(th, "MapStateFailed", history.Details{})
		r.stateFailed(th, f)
		return
	}
	if st.QueryLanguage == asl.JSONPath {
		r.inspect(th, "afterItemsPath", itemsVal)
	}
	maxConc, err := r.number(th, m.MaxConcurrency, 0)
	if err != nil {
		r.fail(th, err)
		return
	}
	r.emitOn(th, "MapStateStarted", history.Details{Length: ptr(int64(len(items)))})
	// AWS reads the tolerated failure thresholds only once the Map has started.
	tolCount, err := r.number(th, m.ToleratedFailureCount, -1)
	if err != nil {
		r.fail(th, err)
		return
	}
	tolPct, err := r.number(th, m.ToleratedFailurePercentage, -1)
	if err != nil {
		r.fail(th, err)
		return
	}
	if r.mockedMap(th, len(items), maxConc, tolCount, tolPct) {
		return
	}
	fan := &fanOut{
		items: items, results: make([]jsonv.Value, len(items)), children: map[int64]*thread{},
		maxConc: int(maxConc), tolCount: tolCount, tolPct: tolPct,
	}
	th.fan = fan
	th.waiting = waitChildren
	if distributed(m) && r.tested(th) == nil {
		fan.writer = r.newSink(th)
	}
	again := false
	if distributed(m) {
		// A redrive redrives the Map Run the Map had, if it started one: the same Map Run
		// runs again the child executions that did not succeed.
		if mr := r.redrivenMapRun(th, len(items)); mr != nil {
			// The record says which items succeeded (the history shows none of a Map Run's);
			// the point is used once, a loop back into the Map runs it afresh.
			delete(r.x.redone.at, th)
			if mr.redriveCount >= MaxMapRunRedrives {
				th.fan, th.waiting = nil, notWaiting
				r.stateFailedAfter(th, mapRunRedriveLimit(mr), true)
				return
			}
			fan.run, again = mr, true
			r.redriveMapRun(th, mr)
			count := mr.redriveCount
			fan.mapRunArn = mr.arn
			r.emitOn(th, "MapRunRedriven", history.Details{MapRunArn: mr.arn, RedriveCount: &count})
		} else {
			fan.run = r.newMapRun(th, len(items))
			fan.mapRunArn = fan.run.arn
			r.emitOn(th, "MapRunStarted", history.Details{MapRunArn: fan.mapRunArn})
		}
	}
	fan.lastEvent = th.prev
	if !again {
		r.seedRedrive(th)
	}
	if fan.run != nil && !again {
		for i, res := range fan.results {
			if res != nil {
				fan.run.iters[i].state = iterSucceeded // kept from before a redrive
			}
		}
	}
	if fan.completed == len(items) {
		r.fanMaybeDone(th)
		return
	}
	r.startIterations(th, th.prev)
}

func distributed(m *asl.MapFields) bool {
	return m.Processor.Processor != nil && m.Processor.Processor.Mode == "DISTRIBUTED"
}

// startIterations starts Map iterations while MaxConcurrency allows; prev is the event that
// let them start (MapStateStarted, or the last event of the iteration that just finished).
func (r *run) startIterations(th *thread, prev int64) {
	fan := th.fan
	m := th.state.Map
	if fan.failing != nil || fan == r.holdStarts {
		return // the Map failed (its results are being written), or a group's outcomes are being taken
	}
	asTasks := r.childrenAsTasks(th)
	var group []groupChild // children that run as tasks of their own (see childgroup.go)
	defer func() { r.scheduleGroups(th, group) }()
	for fan.nextIndex < fan.available() && (fan.maxConc == 0 || fan.running < fan.maxConc) {
		if fan.run != nil && r.childStarts >= MaxChildStartsPerStep {
			r.moreChildrenLater(th)
			return
		}
		i := fan.nextIndex
		fan.nextIndex++
		if fan.results[i] != nil || fan.run != nil && fan.run.iters[i].state == iterSucceeded {
			continue // a redrive keeps what the iteration returned before
		}
		input := fan.items[i]
		if m.ItemSelector != nil && fan.reader == nil { // a reader's items were selected as they came
			sc := r.scope(th, th.effective)
			sc.mapItem = &mapItem{index: int64(i), value: fan.items[i]}
			v, err := r.eval(th, m.ItemSelector, sc)
			if err != nil {
				r.endMapRun(fan.run, MapRunFailed)
				r.abortChildren(th)
				r.fail(th, err)
				return
			}
			input = v
		}
		if fan.writer.sink() {
			fan.items[i] = input // its record's Input
		}
		if asTasks {
			// EXPRESS children start over when redriven: there is no point to resume at.
			r.startChild(fan.run, i, input)
			fan.running++
			group = append(group, groupChild{index: i, input: input})
			continue
		}
		child := r.newThread(th, m.Processor, input, int64(i))
		fan.children[child.id] = child
		fan.running++
		var resume *redrivePoint
		if fan.run != nil {
			resume = r.childStarted(child, fan.run, input)
		} else {
			child.prev = r.emitIn(th.child, "MapIterationStarted", prev, history.Details{Name: th.state.Name, Index: ptr(int64(i))})
		}
		start, in := r.redriveStart(th, child, m.Processor.StartAt, input)
		if resume != nil {
			start, in = r.resumeChild(child, resume)
		}
		r.queue = append(r.queue, func() { r.enter(child, start, in) })
	}
	if fan.reader != nil || fan.writer.sink() {
		r.pumpIO(th)
	}
}

func (r *run) childSucceeded(th *thread, child *thread, out jsonv.Value) {
	fan := th.fan
	if fan == nil || fan.children[child.id] != child {
		return
	}
	delete(fan.children, child.id)
	fan.running--
	fan.completed++
	fan.results[child.index] = out
	switch {
	case fan.parallel:
		fan.lastEvent = child.prev
	case child.isolated:
		r.cancelTimer(child.childTimer)
		r.childEnded(th, int(child.index), child.prev, out)
	default:
		fan.lastEvent = r.emitIn(th.child, "MapIterationSucceeded", child.prev, history.Details{Name: th.state.Name, Index: ptr(child.index)})
	}
	if !fan.parallel {
		r.startIterations(th, child.prev)
	}
	if fan.completed == len(fan.results) {
		r.fanMaybeDone(th)
	}
}

// childEnded records that item i's child execution of th's distributed Map succeeded with
// out; prev is the child's last event.
func (r *run) childEnded(th *thread, i int, prev int64, out jsonv.Value) {
	fan := th.fan
	r.emitIn(&childRef{run: fan.run, index: i}, "ExecutionSucceeded", prev, history.Details{Output: r.text(out)})
	fan.run.iterEnded(i, iterSucceeded, r.now)
	r.childRecord(th, i, out, nil)
	if fan.reader != nil {
		fan.items[i] = nil
	}
	fan.lastEvent = th.prev
}

func (r *run) childFailed(th *thread, child *thread, f failure) {
	fan := th.fan
	if fan == nil || fan.children[child.id] != child {
		return
	}
	delete(fan.children, child.id)
	fan.running--
	if !fan.parallel {
		if child.isolated {
			r.cancelTimer(child.childTimer)
			if fan.run.iters[child.index].state == iterRunning { // else it was stopped or timed out
				r.emitIn(child.child, "ExecutionFailed", child.prev, history.Details{Error: f.name, Cause: f.cause})
				fan.run.iterEnded(int(child.index), iterFailed, r.now)
			}
		} else {
			fan.lastEvent = r.emitIn(th.child, "MapIterationFailed", child.prev, history.Details{Name: th.state.Name, Index: ptr(child.index)})
		}
		r.itemFailed(th, int(child.index), f, child.prev, !child.isolated)
		return
	}
	if child.state != nil && child.state.Type != asl.Fail {
		// The failed state never exited: AWS aborts it with the Parallel.
		r.emitAfter(child, child.state.Type.String()+"StateAborted", child.prev)
	}
	th.prev = child.prev
	r.abortChildren(th)
	r.stateFailedAfter(th, f, true)
	r.advance(th)
}

// itemFailed takes the failure f of item i of th's Map, whose iteration or child execution
// ended with the event prev: the Map goes on if it tolerates the failures so far, and fails
// otherwise. inline marks an inline Map's iteration, whose last event the Map's failure follows.
func (r *run) itemFailed(th *thread, i int, f failure, prev int64, inline bool) {
	fan := th.fan
	r.childRecord(th, i, nil, &f)
	if fan.reader != nil {
		fan.items[i] = nil
	}
	fan.failed++
	if r.tolerated(fan) {
		fan.completed++
		fan.results[i] = nil
		r.startIterations(th, prev)
		if fan.completed == len(fan.results) {
			r.fanMaybeDone(th)
		}
		return
	}
	if fan.tolCount >= 0 || fan.tolPct >= 0 {
		f = exceededThreshold()
	}
	if fan.writer.sink() {
		r.failWithResults(th, f)
		return
	}
	r.mapRunFailed(th)
	if inline {
		th.prev = prev
	}
	r.abortChildren(th)
	r.stateFailedAfter(th, f, true)
	r.advance(th)
}

// mapRunRedriveLimit is the failure of a Map whose Map Run was redriven MaxMapRunRedrives
// times already. AWS documents the error (States.Runtime) but not its cause; this one is
// Stepline's.
func mapRunRedriveLimit(mr *mapRun) failure {
	cause := "The Map Run " + mr.arn + " cannot be redriven: it was redriven " +
		strconv.Itoa(MaxMapRunRedrives) + " times, the most a Map Run can be"
	return failure{name: ptr(sferr.Runtime), cause: &cause}
}

func exceededThreshold() failure {
	return failure{name: ptr(sferr.ExceedToleratedFailureThreshold),
		cause: ptr("The specified tolerated failure threshold was exceeded")}
}

// mapRunFailed records that a distributed Map's run failed.
func (r *run) mapRunFailed(th *thread) {
	if th.fan.mapRunArn != "" {
		r.endMapRun(th.fan.run, MapRunFailed)
		r.emitOn(th, "MapRunFailed", history.Details{})
	}
}

// tolerated reports whether a Map's failures so far stay within its tolerated thresholds.
func (r *run) tolerated(fan *fanOut) bool {
	if fan.tolCount < 0 && fan.tolPct < 0 {
		return false
	}
	if fan.tolCount >= 0 && float64(fan.failed) <= fan.tolCount {
		return true
	}
	if fan.tolPct >= 0 && fan.reader != nil && !fan.reader.done {
		// AWS divides the failed items by the total number of items, which a reader's Map
		// knows only once the last item is read: until then the percentage cannot be
		// exceeded, and it is judged when the reader is done (itemsRead).
		return true
	}
	if fan.tolPct >= 0 && len(fan.items) > 0 && float64(fan.failed)*100/float64(len(fan.items)) <= fan.tolPct {
		return true
	}
	return false
}

// emitAfter records a detail-less event of th caused by the event prev.
func (r *run) emitAfter(th *thread, typ string, prev int64) int64 {
	return r.emitIn(th.child, typ, prev, history.Details{})
}

// fanDone completes a Parallel or Map state whose children all finished.
func (r *run) fanDone(th *thread) {
	fan := th.fan
	th.fan = nil
	th.waiting = notWaiting
	r.cancelTimer(th.timerID) // a Map's next children (moreChildrenLater)
	th.timerID = ""
	switch {
	case fan.parallel:
		r.emitAfter(th, "ParallelStateSucceeded", fan.lastEvent)
	case fan.mapRunArn != "":
		r.endMapRun(fan.run, MapRunSucceeded)
		// Since late 2024 AWS's MapStateExited follows MapRunStarted (fan.lastEvent), not these
		// two: every recording since shows it, the ones before show MapRunSucceeded.
		succeeded := r.emitAfter(th, "MapRunSucceeded", fan.lastEvent)
		r.emitAfter(th, "MapStateSucceeded", succeeded)
	default:
		r.emitAfter(th, "MapStateSucceeded", fan.lastEvent)
	}
	th.prev = fan.lastEvent
	var result jsonv.Value = fan.results
	if fan.writer != nil {
		result = r.writerOutput(fan, fan.results)
	}
	r.complete(th, result, th.state.Assign, th.state.Output, th.state.Next)
	r.advance(th)
}

// abortChildren ends a fan-out's running children and whatever they wait on.
func (r *run) abortChildren(th *thread) {
	fan := th.fan
	if fan == nil {
		return
	}
	th.fan = nil
	th.waiting = notWaiting
	r.cancelTimer(th.timerID) // a Map's next children (moreChildrenLater)
	th.timerID = ""
	if fan.ioTask != "" {
		delete(r.x.tasks, fan.ioTask)
		r.effects = append(r.effects, CancelTask{TaskID: fan.ioTask})
		fan.ioTask = ""
	}
	r.cancelParts(fan)
	r.cancelGroups(th, fan)
	for _, c := range fan.children {
		r.abortThread(c)
	}
	r.endMapRun(fan.run, MapRunAborted)
}

func (r *run) abortThread(th *thread) {
	if th.done {
		return
	}
	th.done = true
	delete(r.x.threads, th.id)
	if th.task != nil {
		id := th.taskID
		r.effects = append(r.effects, r.cancelEffect(id, r.closeTask(th)))
	}
	r.cancelTimer(th.timerID)
	r.cancelTimer(th.childTimer)
	r.abortChildren(th)
}

// number evaluates an optional numeric field (MaxConcurrency, ToleratedFailure…), which its
// Expr has already checked; absent gives def.
func (r *run) number(th *thread, e asl.Expr, def float64) (float64, error) {
	if e == nil {
		return def, nil
	}
	v, err := e.Eval(r.scope(th, th.effective))
	if err != nil {
		return 0, err
	}
	n, ok := v.(jsonv.Number)
	if !ok {
		return 0, sferr.New(sferr.Runtime, "Expected a number but was: %s", jsonv.String(v))
	}
	return n.Float64(), nil
}
