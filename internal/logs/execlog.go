package logs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/jsonv"
	"github.com/stepline/stepline/internal/store"
)

// LogConfig is what of a state machine's loggingConfiguration the execution logs need.
type LogConfig struct {
	Level                string
	IncludeExecutionData bool
	// Group is the log group the destination's ARN names.
	Group string
}

// ParseLogConfig reads a loggingConfiguration (the JSON CreateStateMachine takes); nil when it
// logs nothing: level OFF or absent, or no CloudWatch Logs destination.
func ParseLogConfig(raw []byte) *LogConfig {
	var c struct {
		Level                string `json:"level"`
		IncludeExecutionData bool   `json:"includeExecutionData"`
		Destinations         []struct {
			CloudWatchLogsLogGroup *struct {
				LogGroupArn string `json:"logGroupArn"`
			} `json:"cloudWatchLogsLogGroup"`
		} `json:"destinations"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &c) != nil || c.Level == "" || c.Level == history.LogOff {
		return nil
	}
	for _, d := range c.Destinations {
		if d.CloudWatchLogsLogGroup != nil {
			if g := GroupFromArn(d.CloudWatchLogsLogGroup.LogGroupArn); g != "" {
				return &LogConfig{Level: c.Level, IncludeExecutionData: c.IncludeExecutionData, Group: g}
			}
		}
	}
	return nil
}

// ExecutionLogs writes executions' history events to the log group of their state machine's
// loggingConfiguration, in Step Functions' format (history.Event.AppendLogJSON) and filtered
// by its level. Each writer has streams of its own, named as Step Functions names them,
// states/MACHINE/YYYY-MM-DD-HH-MM/ID with ID eight hex digits of this writer: one stream a
// machine, minute and node, so that nodes sharing --data never append to one file. The group
// is created if missing, as a destination of AWS's must exist beforehand.
//
// Writing is synchronous (one write(2) a committed step), so an execution's logs are on disk
// once the call that ran it returns; nothing is lost on a crash after the commit, except a
// step whose commit went through and whose log write the crash cut.
type ExecutionLogs struct {
	s  *Service
	id string

	cfgs sync.Map // string(loggingConfiguration) → *LogConfig (nil: logs nothing)

	mu     sync.Mutex
	minute string
	open   map[string]bool // paths in s.files that this writer opened, closed when the minute turns
}

// ExecutionLogs returns a writer of execution logs into s.
func (s *Service) ExecutionLogs() *ExecutionLogs {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return &ExecutionLogs{s: s, id: hex.EncodeToString(b[:]), open: map[string]bool{}}
}

// Config returns the parsed loggingConfiguration, cached by its text; nil when it logs nothing.
func (x *ExecutionLogs) Config(raw []byte) *LogConfig {
	if len(raw) == 0 {
		return nil
	}
	if c, ok := x.cfgs.Load(string(raw)); ok {
		return c.(*LogConfig)
	}
	c := ParseLogConfig(raw)
	x.cfgs.Store(string(raw), c)
	return c
}

// Log writes the events of one execution that its loggingConfiguration (raw JSON) asks for.
func (x *ExecutionLogs) Log(raw []byte, stateMachineName, executionArn string, redriveCount int64, events []history.Event) error {
	c := x.Config(raw)
	if c == nil {
		return nil
	}
	return x.write(c, stateMachineName, x.appendEvents(nil, c, executionArn, redriveCount, events))
}

// appendEvents appends the stream file lines of the events that c logs.
func (x *ExecutionLogs) appendEvents(buf []byte, c *LogConfig, executionArn string, redriveCount int64, events []history.Event) []byte {
	ingest := x.s.o.Clock.Now().UnixMilli()
	var line []byte
	for i := range events {
		e := &events[i]
		if history.Logged(c.Level, e.Type) {
			line = e.AppendLogJSON(line[:0], executionArn, redriveCount, c.IncludeExecutionData)
			buf = appendRecord(buf, e.Timestamp.UnixMilli(), ingest, line)
		}
	}
	return buf
}

// appendStored appends the stream file lines of events, as the store keeps them, that c logs.
func (x *ExecutionLogs) appendStored(buf []byte, c *LogConfig, executionArn string, redriveCount int64, events []*store.HistoryEvent) ([]byte, error) {
	ingest := x.s.o.Clock.Now().UnixMilli()
	var line []byte
	for _, e := range events {
		if !history.Logged(c.Level, e.Type) {
			continue
		}
		var err error
		if line, err = storedLogJSON(line[:0], e, executionArn, redriveCount, c.IncludeExecutionData); err != nil {
			return buf, err
		}
		buf = appendRecord(buf, e.Timestamp.UnixMilli(), ingest, line)
	}
	return buf, nil
}

// storedLogJSON is history.Event.AppendLogJSON for an event as the store keeps it.
func storedLogJSON(buf []byte, e *store.HistoryEvent, executionArn string, redriveCount int64, includeData bool) ([]byte, error) {
	v, err := jsonv.Parse(e.Payload)
	o, ok := v.(*jsonv.Object)
	if err != nil || !ok {
		return nil, fmt.Errorf("logs: history event %d is not a JSON object: %w", e.ID, err)
	}
	var details jsonv.Value = jsonv.NewObject(0)
	prev := "0"
	for _, m := range o.Members() {
		switch {
		case m.Key == "previousEventId":
			prev = jsonv.String(m.Value)
		case strings.HasSuffix(m.Key, "EventDetails"):
			d, _ := m.Value.(*jsonv.Object)
			if d != nil && !includeData {
				for _, k := range []string{"input", "inputDetails", "output", "outputDetails", "parameters"} {
					d = d.Without(k)
				}
			}
			if d != nil {
				details = d
			}
		}
	}
	buf = append(buf, `{"id":"`...)
	buf = strconv.AppendInt(buf, e.ID, 10)
	buf = append(buf, `","type":`...)
	buf = jsonv.AppendString(buf, e.Type)
	buf = append(buf, `,"details":`...)
	buf = append(buf, jsonv.String(details)...)
	buf = append(buf, `,"previous_event_id":"`...)
	buf = append(buf, prev...)
	buf = append(buf, `","event_timestamp":"`...)
	buf = strconv.AppendInt(buf, e.Timestamp.UnixMilli(), 10)
	buf = append(buf, `","execution_arn":`...)
	buf = jsonv.AppendString(buf, executionArn)
	buf = append(buf, `,"redrive_count":"`...)
	buf = strconv.AppendInt(buf, redriveCount, 10)
	return append(buf, `"}`...), nil
}

// appendRecord appends one event, whose message is a JSON object, as a line of a stream file.
func appendRecord(buf []byte, ts, ingest int64, msg []byte) []byte {
	buf = append(buf, `{"t":`...)
	buf = strconv.AppendInt(buf, ts, 10)
	buf = append(buf, `,"i":`...)
	buf = strconv.AppendInt(buf, ingest, 10)
	buf = append(buf, `,"j":`...)
	buf = append(buf, msg...)
	return append(buf, "}\n"...)
}

// write appends buf (lines of a stream file) to this writer's stream of the machine in c's
// group, making the group if missing.
func (x *ExecutionLogs) write(c *LogConfig, stateMachineName string, buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	now := x.s.o.Clock.Now()
	minute := now.UTC().Format("2006-01-02-15-04")
	stream := "states/" + stateMachineName + "/" + minute + "/" + x.id
	if x.s.externalDir(c.Group) != "" {
		return fmt.Errorf("logs: %s is written by another service; choose another log group for execution logs", c.Group)
	}
	dir := filepath.Join(x.s.root, escape(c.Group), "streams")
	p := filepath.Join(dir, escape(stream))
	x.mu.Lock()
	defer x.mu.Unlock()
	if minute != x.minute {
		x.minute = minute
		x.s.mu.Lock()
		for q := range x.open {
			if f := x.s.files[q]; f != nil {
				f.Close()
				delete(x.s.files, q)
			}
		}
		x.s.mu.Unlock()
		clear(x.open)
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	f := x.s.files[p]
	if f == nil {
		// Opening a stream (once a minute) is when the group is looked at: made if missing,
		// as after a DeleteLogGroup, which closes the files it deletes.
		g, err := x.s.lookup(c.Group)
		if err != nil {
			return err
		}
		if !g.exists {
			if _, err := x.s.createGroup(c.Group); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("logs: %w", err)
		}
		if f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			return fmt.Errorf("logs: %w", err)
		}
		if st, err := f.Stat(); err == nil && st.Size() == 0 {
			h, _ := json.Marshal(record{C: now.UnixMilli()})
			buf = append(append(h, '\n'), buf...)
		}
		x.s.files[p] = f
		x.open[p] = true
	}
	if _, err := f.Write(buf); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	return nil
}

// Revisions finds the revision an execution runs, for StoreLogger; store.Store has these.
type Revisions interface {
	ExecutionGet(ctx context.Context, p *store.ExecutionGetParams) (*store.Execution, error)
	StateMachineGet(ctx context.Context, p *store.StateMachineGetParams) (*store.StateMachine, error)
}

// StoreLogger is the engine's ExecutionLogger: it finds each execution's loggingConfiguration
// (that of the revision it is pinned to, as AWS applies a machine's settings to the executions
// started under them) and writes its events through ExecutionLogs. What it found is cached by
// execution: StartExecution hands it the revision; a step on another node, or after a
// restart, costs one read of the execution and, once per revision, of the revision.
//
// redrive_count comes from the identity RedriveExecution hands it; a node that did not redrive
// the execution, or restarted since, writes 0 for its later steps.
type StoreLogger struct {
	Logs   *ExecutionLogs
	Store  Revisions
	Logger *slog.Logger

	mu     sync.Mutex
	byExec map[string]*logged
	byRev  map[string][]byte // machine ARN + "\x00" + revision → loggingConfiguration
}

// logged is what StoreLogger knows of one execution.
type logged struct {
	raw          []byte // loggingConfiguration, nil: none
	machine      string // the state machine's name
	redriveCount int64
}

// maxCachedExecutions bounds StoreLogger's cache; past it the cache starts over.
const maxCachedExecutions = 100_000

// LogEvents implements engine.ExecutionLogger. A Map Run child execution's events go to its
// parent's log group and stream, under the child's ARN.
func (l *StoreLogger) LogEvents(ctx context.Context, sm *store.StateMachine, id *interp.Identity, events []history.Event, children []interp.ChildHistory) {
	var x *logged
	if sm != nil {
		x = &logged{raw: sm.LoggingConfiguration, machine: id.StateMachineName, redriveCount: id.RedriveCount}
		l.remember(id.ExecutionArn, x)
	} else if x = l.find(ctx, id.ExecutionArn); x == nil {
		return
	} else if x.redriveCount != id.RedriveCount {
		x = &logged{raw: x.raw, machine: x.machine, redriveCount: id.RedriveCount}
		l.remember(id.ExecutionArn, x)
	}
	if c := l.Logs.Config(x.raw); c != nil {
		buf := l.Logs.appendEvents(nil, c, id.ExecutionArn, x.redriveCount, events)
		for _, ch := range children {
			buf = l.Logs.appendEvents(buf, c, ch.ExecutionArn, 0, ch.Events)
		}
		if err := l.Logs.write(c, x.machine, buf); err != nil {
			l.warn(id.ExecutionArn, err)
		}
	}
	l.ended(id.ExecutionArn, events)
}

func (l *StoreLogger) warn(arn string, err error) {
	if l.Logger != nil {
		l.Logger.Warn("execution logs", "execution", arn, "err", err)
	}
}

// LogCommitted implements engine.ExecutionLogger: the round's lines are gathered by
// configuration and machine, and each such stream gets one write.
func (l *StoreLogger) LogCommitted(ctx context.Context, trs []*store.Transition) {
	type key struct {
		c       *LogConfig
		machine string
	}
	var order []key
	bufs := map[key][]byte{}
	add := func(k key, arn string, redrive int64, events []*store.HistoryEvent) {
		b, ok := bufs[k]
		if !ok {
			order = append(order, k)
		}
		b, err := l.Logs.appendStored(b, k.c, arn, redrive, events)
		if err != nil {
			l.warn(arn, err)
		}
		bufs[k] = b
	}
	for _, tr := range trs {
		x := l.find(ctx, tr.ExecutionArn)
		if x == nil {
			continue
		}
		if c := l.Logs.Config(x.raw); c != nil {
			k := key{c, x.machine}
			add(k, tr.ExecutionArn, x.redriveCount, tr.Mutations.Events)
			for _, ch := range tr.Mutations.Children {
				add(k, ch.ExecutionArn, 0, ch.Events)
			}
		}
		if ev := tr.Mutations.Events; len(ev) > 0 {
			l.ended(tr.ExecutionArn, []history.Event{{Type: ev[len(ev)-1].Type}})
		}
	}
	for _, k := range order {
		if err := l.Logs.write(k.c, k.machine, bufs[k]); err != nil {
			l.warn("(a round of "+k.machine+")", err)
		}
	}
}

// ended forgets an execution whose last event ended it; a redrive brings it back.
func (l *StoreLogger) ended(arn string, events []history.Event) {
	if len(events) == 0 {
		return
	}
	switch events[len(events)-1].Type {
	case "ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut":
		l.mu.Lock()
		delete(l.byExec, arn)
		l.mu.Unlock()
	}
}

func (l *StoreLogger) remember(arn string, x *logged) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byExec == nil || len(l.byExec) > maxCachedExecutions {
		l.byExec, l.byRev = map[string]*logged{}, map[string][]byte{}
	}
	l.byExec[arn] = x
}

// find returns what is known of an execution, reading the store on a miss; nil when the
// store cannot say.
func (l *StoreLogger) find(ctx context.Context, arn string) *logged {
	l.mu.Lock()
	x := l.byExec[arn]
	l.mu.Unlock()
	if x != nil {
		return x
	}
	ex, err := l.Store.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: arn})
	if err != nil {
		if l.Logger != nil {
			l.Logger.Warn("execution logs: finding the execution's revision", "execution", arn, "err", err)
		}
		return nil
	}
	key := ex.StateMachineArn + "\x00" + ex.RevisionID
	l.mu.Lock()
	raw, ok := l.byRev[key]
	l.mu.Unlock()
	if !ok {
		rev, err := l.Store.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: ex.StateMachineArn, RevisionID: ex.RevisionID})
		if err != nil {
			if l.Logger != nil {
				l.Logger.Warn("execution logs: reading the revision", "execution", arn, "err", err)
			}
			return nil
		}
		raw = rev.LoggingConfiguration
	}
	x = &logged{raw: raw, machine: ex.StateMachineArn[strings.LastIndexByte(ex.StateMachineArn, ':')+1:]}
	l.remember(arn, x)
	l.mu.Lock()
	l.byRev[key] = raw
	l.mu.Unlock()
	return x
}
