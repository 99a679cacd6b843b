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
	"sync"

	"github.com/stepline/stepline/internal/history"
	"github.com/stepline/stepline/internal/interp"
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
	if c == nil || len(events) == 0 {
		return nil
	}
	now := x.s.o.Clock.Now()
	var buf, line []byte
	for i := range events {
		e := &events[i]
		if !history.Logged(c.Level, e.Type) {
			continue
		}
		line = e.AppendLogJSON(line[:0], executionArn, redriveCount, c.IncludeExecutionData)
		b, _ := json.Marshal(record{T: e.Timestamp.UnixMilli(), I: now.UnixMilli(), M: string(line)})
		buf = append(append(buf, b...), '\n')
	}
	if len(buf) == 0 {
		return nil
	}
	minute := now.UTC().Format("2006-01-02-15-04")
	stream := "states/" + stateMachineName + "/" + minute + "/" + x.id
	g, err := x.s.lookup(c.Group)
	if err != nil {
		return err
	}
	if !g.exists {
		if _, err := x.s.createGroup(c.Group); err != nil {
			return err
		}
		if g, err = x.s.lookup(c.Group); err != nil {
			return err
		}
	}
	if g.external {
		return fmt.Errorf("logs: %s is written by another service; choose another log group for execution logs", c.Group)
	}
	p := filepath.Join(g.dir, escape(stream))
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
		if err := os.MkdirAll(g.dir, 0o755); err != nil {
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
// started under them) and writes its events through ExecutionLogs. The configuration is
// cached by execution: StartExecution hands it the revision; a later step on another node, or
// after a restart, costs one read of the execution and, once per revision, of the revision.
type StoreLogger struct {
	Logs   *ExecutionLogs
	Store  Revisions
	Logger *slog.Logger

	mu     sync.Mutex
	byExec map[string][]byte // execution ARN → loggingConfiguration (nil: none)
	byRev  map[string][]byte // machine ARN + "\x00" + revision → loggingConfiguration
}

// maxCachedExecutions bounds StoreLogger's cache; past it the cache starts over.
const maxCachedExecutions = 100_000

// LogEvents implements engine.ExecutionLogger.
func (l *StoreLogger) LogEvents(ctx context.Context, sm *store.StateMachine, id *interp.Identity, events []history.Event) {
	raw, ok := l.config(ctx, sm, id)
	if !ok {
		return
	}
	if err := l.Logs.Log(raw, id.StateMachineName, id.ExecutionArn, id.RedriveCount, events); err != nil && l.Logger != nil {
		l.Logger.Warn("execution logs", "execution", id.ExecutionArn, "err", err)
	}
	last := events[len(events)-1].Type
	if last == "ExecutionSucceeded" || last == "ExecutionFailed" || last == "ExecutionAborted" || last == "ExecutionTimedOut" {
		// A redrive comes back through the store.
		l.mu.Lock()
		delete(l.byExec, id.ExecutionArn)
		l.mu.Unlock()
	}
}

func (l *StoreLogger) config(ctx context.Context, sm *store.StateMachine, id *interp.Identity) ([]byte, bool) {
	l.mu.Lock()
	if l.byExec == nil || len(l.byExec) > maxCachedExecutions {
		l.byExec, l.byRev = map[string][]byte{}, map[string][]byte{}
	}
	if sm != nil {
		l.byExec[id.ExecutionArn] = sm.LoggingConfiguration
		l.mu.Unlock()
		return sm.LoggingConfiguration, true
	}
	raw, ok := l.byExec[id.ExecutionArn]
	l.mu.Unlock()
	if ok {
		return raw, true
	}
	ex, err := l.Store.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: id.ExecutionArn})
	if err != nil {
		if l.Logger != nil {
			l.Logger.Warn("execution logs: finding the execution's revision", "execution", id.ExecutionArn, "err", err)
		}
		return nil, false
	}
	key := ex.StateMachineArn + "\x00" + ex.RevisionID
	l.mu.Lock()
	raw, ok = l.byRev[key]
	l.mu.Unlock()
	if !ok {
		rev, err := l.Store.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: ex.StateMachineArn, RevisionID: ex.RevisionID})
		if err != nil {
			if l.Logger != nil {
				l.Logger.Warn("execution logs: reading the revision", "execution", id.ExecutionArn, "err", err)
			}
			return nil, false
		}
		raw = rev.LoggingConfiguration
	}
	l.mu.Lock()
	l.byRev[key] = raw
	l.byExec[id.ExecutionArn] = raw
	l.mu.Unlock()
	return raw, true
}
