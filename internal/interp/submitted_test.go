package interp_test

import (
	"testing"

	"github.com/stepline/stepline/internal/interp"
)

// TestTaskSubmitted: a service task's submission is recorded once as TaskSubmitted, after
// TaskStarted and before the result, whether it comes with the result (in-process runs) or on
// its own (the durable engine), and survives a snapshot.
func TestTaskSubmitted(t *testing.T) {
	def := mustParse(t, `{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync","Parameters":{"StateMachineArn":"arn"},"End":true}}}`)
	const want = "1<0:ExecutionStarted 2<0:TaskStateEntered 3<2:TaskScheduled 4<3:TaskStarted 5<4:TaskSubmitted 6<5:TaskSucceeded 7<6:TaskStateExited 8<7:ExecutionSucceeded"
	sub := `{"ExecutionArn":"child"}`
	for _, restore := range []bool{false, true} {
		_, events := driveWith(t, def, `{}`, func(st interp.ScheduleTask) interp.Event {
			return interp.TaskSucceeded{TaskID: st.TaskID, Output: `{"Status":"SUCCEEDED"}`, Submitted: &sub}
		}, restore)
		if got := types(events); got != want {
			t.Errorf("with the result (restore %v):\n got %s\nwant %s", restore, got, want)
		}
		if got := *events[4].Details.Output; got != sub {
			t.Errorf("TaskSubmitted output %s, want %s", got, sub)
		}
	}

	x, res, err := interp.Start(def, identity(), `{}`, t0)
	if err != nil {
		t.Fatal(err)
	}
	events := res.Events
	var id string
	for _, ef := range res.Effects {
		if st, ok := ef.(interp.ScheduleTask); ok {
			id = st.TaskID
		}
	}
	for _, ev := range []interp.Event{
		interp.TaskSubmitted{TaskID: id, Output: sub},
		interp.TaskSubmitted{TaskID: id, Output: sub}, // a task dispatched again reports again
		interp.TaskFailed{TaskID: id, Error: "States.TaskFailed", Cause: "{}", Submitted: &sub},
	} {
		res, err := interp.Step(x, ev, t0)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, res.Events...)
	}
	const wantFailed = "1<0:ExecutionStarted 2<0:TaskStateEntered 3<2:TaskScheduled 4<3:TaskStarted 5<4:TaskSubmitted 6<5:TaskFailed 7<6:ExecutionFailed"
	if got := types(events); got != wantFailed {
		t.Errorf("on its own:\n got %s\nwant %s", got, wantFailed)
	}
}
