package interp

import "time"

// OpenState is a state an execution's thread is in between steps: the state it entered, when,
// and the task it waits on. Tracing relates the events of a later step to the state and task
// they belong to through it: such an event's PreviousEventID is the thread's Last.
type OpenState struct {
	Last        int64 // the id of the thread's last event
	Entered     int64 // the id of the state's StateEntered event
	EnteredTime time.Time
	State       string
	Type        string // the state's type: Task, Parallel, Map, …
	// Parent is the id of the StateEntered event of the Parallel or Map state whose branch or
	// iteration the thread runs, or 0.
	Parent int64
	TaskID string // the task it waits on, or ""
	// TaskScheduled is when that task was scheduled; zero when not known (a snapshot written
	// before it was kept).
	TaskScheduled time.Time
	Resource      string // the Task state's resource, or ""
}

// OpenStates appends the states the execution's threads are in to dst, Map Run child
// executions' threads left out (their events go to their own histories). It reads the
// execution only.
func (x *Execution) OpenStates(dst []OpenState) []OpenState {
	for _, th := range x.threads {
		if th.done || th.state == nil || th.child != nil {
			continue
		}
		o := OpenState{Last: th.prev, Entered: th.entered, EnteredTime: th.enteredTime, State: th.state.Name, Type: th.state.Type.String()}
		if p := th.parent; p != nil && p.state != nil {
			o.Parent = p.entered
		}
		if th.waiting == waitTask {
			o.TaskID = th.taskID
			if th.task != nil {
				o.TaskScheduled = th.task.scheduled
			}
		}
		if th.state.Task != nil {
			o.Resource = th.state.Task.Resource
		}
		dst = append(dst, o)
	}
	return dst
}
