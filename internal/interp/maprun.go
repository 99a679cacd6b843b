package interp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/jsonv"
)

// A Distributed Map runs its iterations as child workflow executions of a Map Run, which AWS
// lets callers inspect (DescribeMapRun, ListMapRuns, ListExecutions with a mapRunArn) and tune
// while it runs (UpdateMapRun). The execution keeps a small record of every Map Run it started,
// also after the Map (and the execution) ended; inline Maps keep none.

// MapRunStatus is a Map Run's status as DescribeMapRun reports it.
type MapRunStatus string

// The Map Run statuses.
const (
	MapRunRunning   MapRunStatus = "RUNNING"
	MapRunSucceeded MapRunStatus = "SUCCEEDED"
	MapRunFailed    MapRunStatus = "FAILED"
	MapRunAborted   MapRunStatus = "ABORTED"
)

// iterState is where one item of a Map Run is; the zero value is an item not yet started.
type iterState uint8

const (
	iterPending iterState = iota
	iterRunning
	iterSucceeded
	iterFailed
	iterAborted
	iterTimedOut
)

// mapIter is one item of a Map Run. A redriven Map's items that succeeded before count as
// succeeded items but ran no child execution here: their start is zero.
type mapIter struct {
	state       iterState
	start, stop time.Time
	// redrives counts the times the item's child execution was redriven, the last at
	// redriveDate; waiting marks a child that ended unsuccessfully (state) and waits to be
	// redriven with its Map Run: PENDING_REDRIVE.
	redrives    int64
	redriveDate time.Time
	waiting     bool
	// events is the id of the last event of the child execution's history.
	events int64
	// resume is where the child resumes when its Map Run's redrive reruns it (see
	// childPoints); nil: at its StartAt.
	resume *redrivePoint
}

// mapRun is the record of one Map Run.
type mapRun struct {
	arn           string
	label         string // the Map's Label, or a generated one: the child state machine is SM/label
	executionType string // of the child executions: STANDARD or EXPRESS
	status        MapRunStatus
	start, stop   time.Time
	maxConc       int
	tolCount      float64 // -1: none
	tolPct        float64 // -1: none
	// updates counts the UpdateMapRun events applied, so a caller can tell its update arrived.
	updates int64
	iters   []mapIter
	// redriveCount counts the redrives of the Map Run, the last at redriveDate.
	redriveCount int64
	redriveDate  time.Time
	// results are the items' outputs, by index: while the Map runs, the fan-out's own slice;
	// once the Map Run failed or was aborted, what a redrive keeps of the items that
	// succeeded (see redriveMapRun). A Map Run that succeeded keeps none.
	results []jsonv.Value
}

// UpdateMapRun changes a running Map Run's settings (UpdateMapRun); nil fields stay as they
// are. An update for a Map Run that ended, or that this execution does not have, is ignored.
type UpdateMapRun struct {
	MapRunArn                  string
	MaxConcurrency             *int
	ToleratedFailureCount      *int64
	ToleratedFailurePercentage *float64
}

func (UpdateMapRun) isEvent() {}

// newMapRun starts the record of the Map Run of th's Map state over n items.
func (r *run) newMapRun(th *thread, n int) *mapRun {
	m := th.state.Map
	id := &r.x.ID
	seq := r.seq()
	label := m.Label
	if label == "" {
		// As on AWS, a Map without a Label gets a generated one; a state name may hold
		// characters an ARN cannot.
		label = uuidFrom(id.ExecutionArn + "/" + seq)
	}
	fan := th.fan
	mr := &mapRun{
		// The last part names the execution, so that the execution can be found from the ARN
		// alone (see ParseMapRunArn).
		arn:           "arn:aws:states:" + id.Region + ":" + id.Account + ":mapRun:" + id.StateMachineName + "/" + label + ":" + id.Name + "-" + seq,
		label:         label,
		executionType: m.Processor.Processor.ExecutionType,
		status:        MapRunRunning,
		start:         stamp(r.now),
		maxConc:       fan.maxConc,
		tolCount:      fan.tolCount,
		tolPct:        fan.tolPct,
		iters:         make([]mapIter, n),
		results:       fan.results,
	}
	r.x.mapRuns = append(r.x.mapRuns, mr)
	return mr
}

// MaxMapRunRedrives is AWS's limit on the redrives of one Map Run.
const MaxMapRunRedrives = 1000

// redrivenMapRun returns the record of the Map Run that a redrive re-entering th's distributed
// Map redrives: the one the Map had when the execution ended, as its redrive point names it.
// It returns nil when there is none (the Map Run never started, or this is no redrive), and
// the Map starts a new Map Run.
func (r *run) redrivenMapRun(th *thread, n int) *mapRun {
	p := r.redrivePointOf(th)
	if p == nil || p.mapRunArn == "" {
		return nil
	}
	for _, mr := range r.x.mapRuns {
		// The items come from the same input as before; a record of another length is not
		// this Map's (it cannot happen with the same definition and input).
		if mr.arn == p.mapRunArn && len(mr.iters) == n && mr.status != MapRunRunning && mr.status != MapRunSucceeded {
			if mr.results == nil && slices.ContainsFunc(mr.iters, func(it mapIter) bool { return it.state == iterSucceeded }) {
				// A snapshot from before Map Runs were redriven kept no outputs: the Map
				// starts a new Map Run, as it did then.
				return nil
			}
			return mr
		}
	}
	return nil
}

// redriveMapRun starts the redrive of the Map Run mr by th's Map: the record is running
// again, its items that succeeded keep their child execution and output, and the others wait
// to run again (their child executions are redriven as they start). The Map Run keeps its
// settings, with the changes UpdateMapRun made to them.
func (r *run) redriveMapRun(th *thread, mr *mapRun) {
	fan := th.fan
	mr.status, mr.stop = MapRunRunning, time.Time{}
	mr.redriveCount++
	mr.redriveDate = stamp(r.now)
	fan.maxConc, fan.tolCount, fan.tolPct = mr.maxConc, mr.tolCount, mr.tolPct
	for i := range mr.iters {
		it := &mr.iters[i]
		switch it.state {
		case iterSucceeded:
			if i < len(mr.results) {
				fan.results[i] = mr.results[i]
			}
			fan.completed++
		case iterFailed, iterAborted, iterTimedOut:
			it.waiting = true
			if seed := r.x.redone; seed != nil {
				arn, _ := r.x.childArn(mr, i)
				it.resume = seed.children[arn]
			}
		}
	}
	mr.results = fan.results
}

// stamp is a time as the record keeps it: UTC milliseconds, what the snapshot can hold.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// iterStarted records that item i's child execution started. Like the other record methods it
// does nothing on a nil record: inline Maps keep none.
func (mr *mapRun) iterStarted(i int, now time.Time) {
	if mr == nil {
		return
	}
	it := &mr.iters[i]
	if it.waiting {
		// The child execution that ended unsuccessfully is redriven: same name, same start.
		it.state, it.stop, it.waiting, it.resume = iterRunning, time.Time{}, false, nil
		it.redrives++
		it.redriveDate = stamp(now)
		return
	}
	*it = mapIter{state: iterRunning, start: stamp(now)}
}

// iterEnded records how item i's child execution ended.
func (mr *mapRun) iterEnded(i int, s iterState, now time.Time) {
	if mr == nil || mr.iters[i].state != iterRunning {
		return
	}
	mr.iters[i].state = s
	mr.iters[i].stop = stamp(now)
}

// endMapRun closes a running Map Run with status s; its running children are aborted.
func (r *run) endMapRun(mr *mapRun, s MapRunStatus) {
	if mr == nil || mr.status != MapRunRunning {
		return
	}
	for i := range mr.iters {
		r.childAborted(mr, i)
		// Not redriven this time: it keeps how it ended, and the next redrive reads its point
		// again.
		mr.iters[i].waiting, mr.iters[i].resume = false, nil
	}
	mr.status = s
	mr.stop = stamp(r.now)
	if s == MapRunSucceeded {
		mr.results = nil // nothing will redrive it
	}
}

// abortMapRuns closes the Map Runs still running when the execution ends (stopped, timed out).
func (r *run) abortMapRuns() {
	for _, mr := range r.x.mapRuns {
		r.endMapRun(mr, MapRunAborted)
	}
}

// updateMapRun applies UpdateMapRun: a higher MaxConcurrency starts more iterations at once,
// and new thresholds are checked against the failures so far.
func (r *run) updateMapRun(u UpdateMapRun) {
	var th *thread
	for _, t := range r.x.threads {
		if t.fan != nil && t.fan.run != nil && t.fan.run.arn == u.MapRunArn {
			th = t
			break
		}
	}
	if th == nil {
		for _, mr := range r.x.mapRuns {
			if mr.arn == u.MapRunArn {
				mr.updates++ // it ended before the update arrived; the caller need not wait
			}
		}
		return
	}
	fan := th.fan
	mr := fan.run
	mr.updates++
	if u.MaxConcurrency != nil {
		fan.maxConc, mr.maxConc = *u.MaxConcurrency, *u.MaxConcurrency
	}
	if u.ToleratedFailureCount != nil {
		fan.tolCount, mr.tolCount = float64(*u.ToleratedFailureCount), float64(*u.ToleratedFailureCount)
	}
	if u.ToleratedFailurePercentage != nil {
		fan.tolPct, mr.tolPct = *u.ToleratedFailurePercentage, *u.ToleratedFailurePercentage
	}
	if fan.failed > 0 && !r.tolerated(fan) && fan.failing == nil {
		if fan.writer.sink() {
			r.failWithResults(th, exceededThreshold())
			return
		}
		r.mapRunFailed(th)
		r.abortChildren(th)
		r.stateFailedAfter(th, exceededThreshold(), true)
		r.advance(th)
		return
	}
	r.startIterations(th, th.prev)
}

// MapRun is what an execution reports of one of its Map Runs.
type MapRun struct {
	Arn          string
	ExecutionArn string
	// StateMachineArn is the child executions' state machine: the execution's, qualified with
	// the Map's Label.
	StateMachineArn string
	Label           string
	// ExecutionType is the child executions' type: STANDARD or EXPRESS.
	ExecutionType string
	Status        MapRunStatus
	StartDate     time.Time
	StopDate      *time.Time
	// MaxConcurrency is 0 for no limit; the tolerated failures are 0 when not set, as AWS
	// reports them.
	MaxConcurrency             int
	ToleratedFailureCount      int64
	ToleratedFailurePercentage float64
	// Updates counts the UpdateMapRun events the execution received for this Map Run.
	Updates int64
	// RedriveCount counts the Map Run's redrives, the last at RedriveDate (nil: none).
	RedriveCount int64
	RedriveDate  *time.Time
	// Items counts the Map's items; Executions the child executions, one per item started.
	Items, Executions MapRunCounts
	// Children are the child executions, by item index.
	Children []MapRunChild
}

// MapRunCounts counts items or child executions by status.
type MapRunCounts struct {
	Pending, Running, Succeeded, Failed, TimedOut, Aborted, Total, ResultsWritten int64
	// PendingRedrive counts the items, or child executions, that ended unsuccessfully and
	// wait to run again in a redrive of the Map Run (beyond its MaxConcurrency); they count
	// under no other status.
	PendingRedrive int64
	// FailuresNotRedrivable counts those that ended unsuccessfully and that no redrive will
	// run again; the execution cannot tell, its caller fills it in.
	FailuresNotRedrivable int64
}

// MapRunChild is one child execution of a Map Run.
type MapRunChild struct {
	ExecutionArn string
	Name         string
	// Status is PendingRedrive for a child waiting to be redriven with its Map Run.
	Status    Status
	StartDate time.Time
	StopDate  *time.Time
	// RedriveCount counts the child execution's redrives, the last at RedriveDate (nil: none).
	RedriveCount int64
	RedriveDate  *time.Time
}

// MapRuns returns the Map Runs the execution started, oldest first.
func (x *Execution) MapRuns() []MapRun {
	if len(x.mapRuns) == 0 {
		return nil
	}
	out := make([]MapRun, len(x.mapRuns))
	for i, mr := range x.mapRuns {
		out[i] = x.reportMapRun(mr)
	}
	return out
}

// reportMapRun reports a Map Run with its children.
func (x *Execution) reportMapRun(mr *mapRun) MapRun {
	out := x.reportMapRunOnly(mr)
	for i, it := range mr.iters {
		if !it.start.IsZero() {
			out.Children = append(out.Children, x.reportChild(mr, i))
		}
	}
	return out
}

// MapRunSummaries returns the Map Runs the execution started, oldest first, without their
// children: a Map Run's ARN, settings and counts, which a Map over many items reports without
// naming every child.
func (x *Execution) MapRunSummaries() []MapRun {
	out := make([]MapRun, len(x.mapRuns))
	for i, mr := range x.mapRuns {
		out[i] = x.reportMapRunOnly(mr)
	}
	return out
}

// MapRunChildOf returns item i's child execution of the Map Run arn; false when the execution
// has no such Map Run or the item's child did not start.
func (x *Execution) MapRunChildOf(arn string, i int) (MapRunChild, bool) {
	for _, mr := range x.mapRuns {
		if mr.arn == arn {
			if i < 0 || i >= len(mr.iters) || mr.iters[i].start.IsZero() {
				return MapRunChild{}, false
			}
			return x.reportChild(mr, i), true
		}
	}
	return MapRunChild{}, false
}

// MapRunChild returns the child execution of key (its ChildHistory.Key) and its Map Run,
// without the Map Run's other children; false when the execution has no such child.
func (x *Execution) MapRunChild(key int64) (MapRun, MapRunChild, bool) {
	run, i := splitChildKey(key)
	if run >= len(x.mapRuns) || i >= len(x.mapRuns[run].iters) || x.mapRuns[run].iters[i].start.IsZero() {
		return MapRun{}, MapRunChild{}, false
	}
	mr := x.mapRuns[run]
	return x.reportMapRunOnly(mr), x.reportChild(mr, i), true
}

// reportMapRunOnly reports a Map Run without its children.
func (x *Execution) reportMapRunOnly(mr *mapRun) MapRun {
	id := &x.ID
	prefix := "arn:aws:states:" + id.Region + ":" + id.Account + ":"
	machine := id.StateMachineName + "/" + mr.label
	out := MapRun{
		Arn: mr.arn, ExecutionArn: id.ExecutionArn, StateMachineArn: prefix + "stateMachine:" + machine, Label: mr.label,
		ExecutionType: mr.executionType, Status: mr.status, StartDate: mr.start, MaxConcurrency: mr.maxConc,
		ToleratedFailureCount: int64(max(mr.tolCount, 0)), ToleratedFailurePercentage: max(mr.tolPct, 0),
		Updates: mr.updates, RedriveCount: mr.redriveCount,
	}
	if !mr.stop.IsZero() {
		stop := mr.stop
		out.StopDate = &stop
	}
	if !mr.redriveDate.IsZero() {
		d := mr.redriveDate
		out.RedriveDate = &d
	}
	for _, it := range mr.iters {
		out.Items.add(it)
		if !it.start.IsZero() {
			out.Executions.add(it)
		}
	}
	return out
}

// reportChild reports item i's child execution of Map Run mr, which started.
func (x *Execution) reportChild(mr *mapRun, i int) MapRunChild {
	it := mr.iters[i]
	c := MapRunChild{StartDate: it.start, Status: Running}
	c.ExecutionArn, c.Name = x.childArn(mr, i)
	switch it.state {
	case iterSucceeded:
		c.Status = Succeeded
	case iterFailed:
		c.Status = Failed
	case iterAborted:
		c.Status = Aborted
	case iterTimedOut:
		c.Status = TimedOut
	}
	if it.waiting {
		c.Status = PendingRedrive
	}
	if !it.stop.IsZero() {
		stop := it.stop
		c.StopDate = &stop
	}
	if it.redrives > 0 {
		d := it.redriveDate
		c.RedriveCount, c.RedriveDate = it.redrives, &d
	}
	return c
}

func (c *MapRunCounts) add(it mapIter) {
	c.Total++
	if it.waiting {
		c.PendingRedrive++
		return
	}
	switch it.state {
	case iterPending:
		c.Pending++
	case iterRunning:
		c.Running++
	case iterSucceeded:
		// Results go to the Map's output, which is what AWS counts as written without a
		// ResultWriter.
		c.Succeeded++
		c.ResultsWritten++
	case iterFailed:
		c.Failed++
	case iterAborted:
		c.Aborted++
	case iterTimedOut:
		c.TimedOut++
	}
}

// ParseMapRunArn returns the state machine and execution names a Map Run ARN (as this package
// makes them) belongs to.
func ParseMapRunArn(arn string) (stateMachine, execution string, err error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 8 || parts[5] != "mapRun" {
		return "", "", fmt.Errorf("not a map run ARN: %s", arn)
	}
	stateMachine, _, ok := strings.Cut(parts[6], "/")
	dash := strings.LastIndexByte(parts[7], '-')
	if !ok || stateMachine == "" || dash <= 0 {
		return "", "", fmt.Errorf("not a map run ARN: %s", arn)
	}
	if _, err := strconv.ParseUint(parts[7][dash+1:], 10, 64); err != nil {
		return "", "", fmt.Errorf("not a map run ARN: %s", arn)
	}
	return stateMachine, parts[7][:dash], nil
}

// uuidFrom makes a UUID-shaped name from s: the same s gives the same name, so replays and
// restored executions agree on the names of Map Runs and child executions. It is shaped as a
// name-based (version 3) UUID, as AWS's generated labels and child execution names are (for
// example orderProcessing/getOrders:da4e9fc7-abab-3b27-9a77-a277e463b709 in AWS's Distributed
// Map documentation).
func uuidFrom(s string) string {
	a := mix(seedFrom(s))
	b := mix(a ^ seedFrom(s+"#"))
	const hex = "0123456789abcdef"
	var buf [36]byte
	j := 0
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			buf[j] = '-'
			j++
		}
		w := a
		if i >= 16 {
			w = b
		}
		nib := w >> (60 - 4*(i%16)) & 0xf
		switch i {
		case 12:
			nib = 3
		case 16:
			nib = 8 | nib&3
		}
		buf[j] = hex[nib]
		j++
	}
	return string(buf[:])
}

// mix is splitmix64's finaliser.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ z>>31
}
