package interp

import (
	"time"

	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/jsonv"
)

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
		n, ok := v.(jsonv.Number)
		secs, isInt := n.Int64()
		switch {
		case !ok || !isInt:
			r.fail(th, sferr.New(sferr.Runtime, "The %s parameter cannot be parsed as a long value: %s", w.FieldName, jsonv.String(v)))
			return
		case secs < 0:
			r.fail(th, sferr.New(sferr.Runtime, "The %s parameter references a negative value: %s", w.FieldName, jsonv.String(v)))
			return
		}
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
			r.fail(th, sferr.New(sferr.Runtime, "The %s field cannot be parsed as an ISO-8601 extended offset date-time format string: %s", w.FieldName, stringOrJSON(v)))
			return
		}
		due = t
	}
	if !due.After(r.now) {
		r.exitState(th, th.effective, th.state.Next)
		return
	}
	th.waiting = waitTimer
	th.timerID = r.startTimer(timerRef{kind: timerWait, thread: th.id}, due)
}
