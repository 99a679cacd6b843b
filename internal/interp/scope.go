package interp

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/jsonv"
)

// scope is what paths, templates and JSONata expressions read while a state runs. The context
// object is built only when an expression asks for it, since most states never do.
type scope struct {
	r       *run
	th      *thread
	input   jsonv.Value
	ctx     jsonv.Value
	mapItem *mapItem
	token   string
	// result and errorOutput are $states.result and $states.errorOutput where the field reading
	// them may: a work state's Output and Assign, a catcher's.
	result, errorOutput       jsonv.Value
	hasResult, hasErrorOutput bool
	scratch                   asl.Scratch
}

type mapItem struct {
	index int64
	value jsonv.Value
}

var _ asl.Scope = (*scope)(nil)

// scope returns th's scope reset to read input. Each thread reuses one scope, which saves an
// allocation per evaluation; callers use a scope only until they ask for the next one.
func (r *run) scope(th *thread, input jsonv.Value) *scope {
	th.sc = scope{r: r, th: th, input: input}
	return &th.sc
}

func (s *scope) Input() jsonv.Value { return s.input }

// Variable reads a workflow variable as the state sees it: the thread's own, else those of the
// threads it runs in, up to a distributed Map's child, which sees none of its parent's.
func (s *scope) Variable(name string) (jsonv.Value, bool) {
	for th := s.th; th != nil; th = th.parent {
		if v, ok := th.vars[name]; ok {
			return v, true
		}
		if th.isolated {
			break
		}
	}
	return nil, false
}

func (s *scope) Result() (jsonv.Value, bool) { return s.result, s.hasResult }

// Scratch lets the JSONata expressions of a state share their $states object, and every
// evaluation of the execution share one bindings map.
func (s *scope) Scratch() *asl.Scratch {
	if s.scratch.Bindings == nil {
		if s.r.bindings == nil {
			s.r.bindings = map[string]jsonv.Value{}
		}
		s.scratch.Bindings = s.r.bindings
	}
	return &s.scratch
}

func (s *scope) ErrorOutput() (jsonv.Value, bool) { return s.errorOutput, s.hasErrorOutput }

func (s *scope) Now() time.Time { return s.r.now }

// ReadRandom draws from the execution's generator, so that replaying an execution draws the
// same UUIDs and random numbers.
func (s *scope) ReadRandom(p []byte) {
	for i := 0; i < len(p); i += 8 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], s.r.next())
		copy(p[i:], b[:])
	}
}

func (s *scope) Context() jsonv.Value {
	if t := s.r.tested(s.th); t != nil && t.opts.Context != nil && s.mapItem == nil {
		return t.opts.Context
	}
	if s.ctx == nil {
		s.ctx = s.r.contextObject(s.th, s.mapItem, s.token)
	}
	return s.ctx
}

// contextObject builds $$ with AWS's key order.
func (r *run) contextObject(th *thread, item *mapItem, token string) jsonv.Value {
	id := &r.x.ID
	arn, name, input, start, redrives := id.ExecutionArn, id.Name, r.x.input, id.StartTime, id.RedriveCount
	smArn, smName := id.StateMachineArn, id.StateMachineName
	if c, top := r.childTop(th); c != nil {
		// A Map Run child is an execution of its own, of the state machine SM/LABEL.
		it := &c.run.iters[c.index]
		arn, name = r.x.childArn(c.run, c.index)
		input, start, redrives = top.childInput, it.start, it.redrives
		if c.run.executionType == "EXPRESS" {
			redrives = 0 // a redrive starts an EXPRESS child over, as a new execution
		}
		smArn, smName = smArn+"/"+c.run.label, smName+"/"+c.run.label
	}
	exec := jsonv.ObjectOf(
		jsonv.Member{Key: "Id", Value: arn},
		jsonv.Member{Key: "Input", Value: input},
		jsonv.Member{Key: "StartTime", Value: isoTime(start)},
		jsonv.Member{Key: "Name", Value: name},
		jsonv.Member{Key: "RoleArn", Value: id.RoleArn},
	)
	if !id.Sync {
		exec.Set("RedriveCount", jsonv.Int(redrives))
	}
	sm := jsonv.ObjectOf(
		jsonv.Member{Key: "Id", Value: smArn},
		jsonv.Member{Key: "Name", Value: smName},
	)
	state := jsonv.NewObject(3)
	if th != nil && th.state != nil {
		state.Set("Name", th.state.Name)
		state.Set("EnteredTime", isoTime(th.enteredTime))
		switch th.state.Type {
		case asl.Task, asl.Parallel, asl.Map:
			state.Set("RetryCount", jsonv.Int(th.retryCount))
		}
	}
	ctx := jsonv.ObjectOf(
		jsonv.Member{Key: "Execution", Value: exec},
		jsonv.Member{Key: "StateMachine", Value: sm},
		jsonv.Member{Key: "State", Value: state},
	)
	if token != "" {
		ctx.Set("Task", jsonv.ObjectOf(jsonv.Member{Key: "Token", Value: token}))
	}
	if item != nil {
		ctx.Set("Map", jsonv.ObjectOf(jsonv.Member{Key: "Item", Value: jsonv.ObjectOf(
			jsonv.Member{Key: "Index", Value: jsonv.Int(item.index)},
			jsonv.Member{Key: "Value", Value: item.value},
		)}))
	}
	return ctx
}

// isoTime formats t as Java's Instant.toString does: UTC, with milliseconds only when non-zero.
func isoTime(t time.Time) string {
	t = t.UTC()
	b := make([]byte, 0, 24)
	b = t.AppendFormat(b, "2006-01-02T15:04:05")
	if ms := t.Nanosecond() / 1e6; ms != 0 {
		b = append(b, '.')
		b = append(b, strconv.Itoa(1000 + ms)[1:]...)
	}
	return string(append(b, 'Z'))
}

// childTop returns the Map Run child execution th runs in and the thread at its top, which
// holds its input; nil when th runs in no child (or in one from a snapshot that kept no input,
// whose context stays the execution's, as it was).
func (r *run) childTop(th *thread) (*childRef, *thread) {
	for t := th; t != nil; t = t.parent {
		if t.isolated {
			if t.child == nil || !t.hasChildInput {
				return nil, nil
			}
			return t.child, t
		}
	}
	return nil, nil
}
