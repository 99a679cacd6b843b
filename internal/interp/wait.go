package interp

import (
	"time"

	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/jsonv"
)

// execWait waits for the Seconds or until the Timestamp its Expr returns, both checked by it.
func (r *run) execWait(th *thread) {
	w := th.state.Wait
	sc := r.scope(th, th.effective)
	var due time.Time
	if w.Seconds != nil {
		v, err := w.Seconds.Eval(sc)
		if err != nil {
			r.fail(th, err)
			return
		}
		n, _ := v.(jsonv.Number)
		secs, _ := n.Int64()
		due = r.now.Add(time.Duration(secs) * time.Second)
	} else {
		v, err := w.Timestamp.Eval(sc)
		if err != nil {
			r.fail(th, err)
			return
		}
		s, _ := v.(string)
		t, ok := parseTimestamp(s)
		if !ok {
			r.fail(th, sferr.New(sferr.Runtime, "The %s field cannot be parsed as an ISO-8601 extended offset date-time format string: %s", w.FieldName, s))
			return
		}
		due = t
	}
	// TestState reports a Wait state's outcome without waiting.
	if !due.After(r.now) || r.tested(th) != nil {
		r.complete(th, th.effective, th.state.Assign, th.state.Output, th.state.Next)
		return
	}
	th.waiting = waitTimer
	th.timerID = r.startTimer(timerRef{kind: timerWait, thread: th.id}, due)
}
