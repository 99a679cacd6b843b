// Package logs is a subset of CloudWatch Logs on the serve port (JSON 1.1, Logs_20140328.*):
// log groups and streams, PutLogEvents, GetLogEvents, FilterLogEvents, retention. It exists so
// that the tools people read AWS's logs with (boto3, the AWS CLI's get-log-events and
// filter-log-events) read Stepline's: execution logs of state machines with a
// loggingConfiguration (execlog.go), Lambda invocation logs and Glue job logs.
//
// Storage is files under --data, shared by the nodes that share that folder, never the
// database: logs are written on every transition of a logged execution and read rarely, and a
// database row per log line would put that write on the store's one writer and in its WAL.
//
//   - Groups of its own: --data/logs/<group>/group.json (creation time, retention) and one
//     append-only file a stream, --data/logs/<group>/streams/<stream>, whose first line records
//     the stream's creation and every other line is one event {"t":timestamp,"i":ingestion,
//     "m":message} (or "j":message, for a message that is a JSON object, as execution logs'). Names are percent-encoded into file names. A PutLogEvents call is one
//     write(2) with O_APPEND, so writers on several nodes never interleave inside a line.
//   - Groups AWS's services own are read where those services already write, so that each
//     line is on disk once: /aws/lambda/NAME is --data/lambda/logs/NAME/ (the sandbox's stream
//     files, YYYY/MM/DD/[$LATEST]hex, named as Lambda names streams), /aws-glue/jobs/output and
//     /aws-glue/jobs/error (and /aws-glue/python-jobs/…) are --data/glue/logs/… (a file a run,
//     named by its run id). Their files are plain text, a line an event; they carry no times,
//     so an event's timestamp is its file's modification time. Their group.json, if any, holds
//     only a retention policy.
//
// Disk use is bounded twice: a group's retention (PutRetentionPolicy) deletes stream files
// whose last write is older than it and hides older events from reads; and Options.MaxGroupBytes
// caps each group, the sweep deleting its least recently written streams past it. Both apply
// to the files of Lambda and Glue too. The sweep runs on every node; deleting a file twice is
// harmless.
//
// Weaknesses: a stream is read whole for each GetLogEvents and FilterLogEvents (streams are
// small: execution log streams are per minute and node, the others per process or run, each
// bounded); the size cap is enforced by the sweep, so a group may pass it for up to a sweep
// interval; events of Lambda and Glue files all share their file's time.
package logs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/clock"
)

// Options configure a Service.
type Options struct {
	// DataDir is --data: the service keeps its groups in DataDir/logs and reads Lambda's and
	// Glue's log files where they write them.
	DataDir string
	Clock   clock.Clock
	Account string
	Region  string
	// MaxGroupBytes caps the bytes of one group's streams (default 1 GiB); negative: no cap.
	MaxGroupBytes int64
	// SweepInterval is how often retention and the size cap are applied (default a minute).
	SweepInterval time.Duration
	Logger        *slog.Logger
}

// DefaultMaxGroupBytes is Options.MaxGroupBytes's default.
const DefaultMaxGroupBytes = 1 << 30

// Service is the CloudWatch Logs subset. Create it with New; Start runs the sweep.
type Service struct {
	o    Options
	root string // DataDir/logs

	mu    sync.Mutex
	files map[string]*os.File // open stream files of execution logs, by path

	stop context.CancelFunc
	done chan struct{}
}

// New checks the options and returns a service whose sweep is not running yet.
func New(o Options) (*Service, error) {
	if o.DataDir == "" {
		return nil, errors.New("logs: Options.DataDir is required")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.MaxGroupBytes == 0 {
		o.MaxGroupBytes = DefaultMaxGroupBytes
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	root := filepath.Join(o.DataDir, "logs")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	return &Service{o: o, root: root, files: map[string]*os.File{}}, nil
}

// Start runs the retention and size sweep in the background until Close.
func (s *Service) Start(ctx context.Context) {
	ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.o.SweepInterval)
		defer t.Stop()
		for {
			if err := s.Sweep(); err != nil {
				s.o.Logger.Warn("logs: sweep", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the sweep and closes the stream files execution logs hold open.
func (s *Service) Close() error {
	if s.stop != nil {
		s.stop()
		<-s.done
		s.stop = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for p, f := range s.files {
		errs = append(errs, f.Close())
		delete(s.files, p)
	}
	return errors.Join(errs...)
}

// groupMeta is group.json.
type groupMeta struct {
	Created   int64 `json:"created"` // ms
	Retention int   `json:"retentionInDays,omitempty"`
	// Owned is true for groups of this service's own (CreateLogGroup, execution logs); false
	// for a file that holds only the retention of a Lambda or Glue group.
	Owned bool `json:"owned"`
}

// group is one log group as the service finds it.
type group struct {
	name string
	meta groupMeta
	// dir is where its streams are: DataDir/logs/<g>/streams, or Lambda's or Glue's folder.
	dir string
	// external: streams are plain text files of another service, found by walking dir.
	external bool
	exists   bool
}

// escape turns a group or stream name into one file name: letters, digits, '.', '-' and '_'
// stay, every other byte becomes %XX (so "/aws/x" is "%2Faws%2Fx"), and "." or ".." cannot
// come out.
func escape(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func unescape(s string) (string, bool) {
	n, err := url.PathUnescape(s)
	return n, err == nil
}

// externalDir is the folder of a group another service writes, "" for others.
func (s *Service) externalDir(name string) string {
	if fn, ok := strings.CutPrefix(name, "/aws/lambda/"); ok && fn != "" && !strings.ContainsAny(fn, "/\\") && fn != "." && fn != ".." {
		return filepath.Join(s.o.DataDir, "lambda", "logs", fn)
	}
	for _, g := range glueGroups {
		if name == "/aws-glue/"+g {
			return filepath.Join(s.o.DataDir, "glue", "logs", filepath.FromSlash(g))
		}
	}
	return ""
}

// glueGroups are the log groups of Glue job runs, as folders under glue/logs.
var glueGroups = []string{"jobs/output", "jobs/error", "python-jobs/output", "python-jobs/error"}

func (s *Service) metaPath(name string) string {
	return filepath.Join(s.root, escape(name), "group.json")
}

// lookup finds a group by name; exists is false when there is none.
func (s *Service) lookup(name string) (*group, error) {
	g := &group{name: name}
	b, err := os.ReadFile(s.metaPath(name))
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &g.meta); err != nil {
			return nil, fmt.Errorf("logs: group %s: %w", name, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("logs: %w", err)
	}
	if dir := s.externalDir(name); dir != "" {
		g.dir, g.external = dir, true
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			g.exists = true
			if g.meta.Created == 0 {
				g.meta.Created = st.ModTime().UnixMilli()
			}
		}
		g.exists = g.exists || g.meta.Owned
		return g, nil
	}
	g.dir = filepath.Join(s.root, escape(name), "streams")
	g.exists = g.meta.Owned
	return g, nil
}

func (s *Service) writeMeta(name string, m groupMeta) error {
	p := s.metaPath(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	b, _ := json.Marshal(m) // plain struct
	tmp := p + ".tmp" + fmt.Sprint(time.Now().UnixNano())
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	return nil
}

// createGroup creates a group of the service's own; exists reports one already there.
func (s *Service) createGroup(name string) (exists bool, err error) {
	g, err := s.lookup(name)
	if err != nil {
		return false, err
	}
	if g.exists {
		return true, nil
	}
	g.meta.Owned = true
	g.meta.Created = s.o.Clock.Now().UnixMilli()
	if err := s.writeMeta(name, g.meta); err != nil {
		return false, err
	}
	if !g.external {
		if err := os.MkdirAll(g.dir, 0o755); err != nil {
			return false, fmt.Errorf("logs: %w", err)
		}
	}
	return false, nil
}

// groups lists every group: those of its own and those Lambda's and Glue's folders hold.
func (s *Service) groups() ([]*group, error) {
	names := map[string]bool{}
	entries, err := os.ReadDir(s.root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("logs: %w", err)
	}
	for _, e := range entries {
		if n, ok := unescape(e.Name()); ok && e.IsDir() {
			names[n] = true
		}
	}
	fns, _ := os.ReadDir(filepath.Join(s.o.DataDir, "lambda", "logs"))
	for _, e := range fns {
		if e.IsDir() {
			names["/aws/lambda/"+e.Name()] = true
		}
	}
	for _, g := range glueGroups {
		names["/aws-glue/"+g] = true
	}
	var out []*group
	for _, n := range slices.Sorted(func(yield func(string) bool) {
		for n := range names {
			if !yield(n) {
				return
			}
		}
	}) {
		g, err := s.lookup(n)
		if err != nil {
			return nil, err
		}
		if g.exists {
			out = append(out, g)
		}
	}
	return out, nil
}

// streamFile is one stream's file.
type streamFile struct {
	name string
	path string
	size int64
	mod  time.Time
}

// streams lists a group's stream files.
func (s *Service) streams(g *group) ([]streamFile, error) {
	var out []streamFile
	if !g.external {
		entries, err := os.ReadDir(g.dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("logs: %w", err)
		}
		for _, e := range entries {
			n, ok := unescape(e.Name())
			if !ok || e.IsDir() {
				continue
			}
			if info, err := e.Info(); err == nil {
				out = append(out, streamFile{name: n, path: filepath.Join(g.dir, e.Name()), size: info.Size(), mod: info.ModTime()})
			}
		}
		return out, nil
	}
	err := filepath.WalkDir(g.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".1") {
			// A rotated Lambda stream (NAME.1) holds older lines of NAME: not a stream of its own.
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(g.dir, p)
		out = append(out, streamFile{name: filepath.ToSlash(rel), path: p, size: info.Size(), mod: info.ModTime()})
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("logs: %w", err)
	}
	return out, nil
}

// stream finds one stream of g.
func (s *Service) stream(g *group, name string) (*streamFile, error) {
	var p string
	if g.external {
		clean := filepath.ToSlash(filepath.Clean(filepath.FromSlash(name)))
		if clean != name || strings.HasPrefix(name, "../") || strings.HasPrefix(name, "/") || name == ".." || strings.HasSuffix(name, ".1") {
			return nil, nil
		}
		p = filepath.Join(g.dir, filepath.FromSlash(name))
	} else {
		p = filepath.Join(g.dir, escape(name))
	}
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	if info.IsDir() {
		return nil, nil
	}
	return &streamFile{name: name, path: p, size: info.Size(), mod: info.ModTime()}, nil
}

// event is one log event as read from a stream.
type event struct {
	ts, ingest int64 // ms
	msg        string
}

// record is one line of a stream file of the service's own; C is set on the first line only.
// A message that is a JSON object (execution logs') is kept as such in J, so that it is
// neither escaped when written nor unescaped when read; any other is the string M.
type record struct {
	C int64           `json:"c,omitempty"`
	T int64           `json:"t,omitempty"`
	I int64           `json:"i,omitempty"`
	M string          `json:"m,omitempty"`
	J json.RawMessage `json:"j,omitempty"`
}

// readStream reads a stream's events in the order they were written, and its creation time,
// leaving out those older than the group's retention.
func (s *Service) readStream(g *group, f *streamFile) (events []event, created int64, err error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("logs: %w", err)
	}
	cutoff := int64(0)
	if g.meta.Retention > 0 {
		cutoff = s.o.Clock.Now().Add(-time.Duration(g.meta.Retention) * 24 * time.Hour).UnixMilli()
	}
	if g.external {
		ts := f.mod.UnixMilli()
		if ts < cutoff {
			return nil, ts, nil
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if line := sc.Text(); line != "" {
				events = append(events, event{ts: ts, ingest: ts, msg: line})
			}
		}
		return events, ts, nil
	}
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		var r record
		if json.Unmarshal(line, &r) != nil {
			// A line cut short by a crash mid-write: the rest of the stream is still good.
			continue
		}
		if r.C != 0 {
			created = r.C
			continue
		}
		if r.T >= cutoff {
			msg := r.M
			if len(r.J) > 0 {
				msg = string(r.J)
			}
			events = append(events, event{ts: r.T, ingest: r.I, msg: msg})
		}
	}
	return events, created, nil
}

// createStream creates a stream of a group of the service's own; exists reports one there.
func (s *Service) createStream(g *group, name string) (exists bool, err error) {
	if err := os.MkdirAll(g.dir, 0o755); err != nil {
		return false, fmt.Errorf("logs: %w", err)
	}
	p := filepath.Join(g.dir, escape(name))
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("logs: %w", err)
	}
	defer f.Close()
	b, _ := json.Marshal(record{C: s.o.Clock.Now().UnixMilli()})
	if _, err := f.Write(append(b, '\n')); err != nil {
		return false, fmt.Errorf("logs: %w", err)
	}
	return false, nil
}

// appendEvents appends events to a stream file in one write.
func appendEvents(f *os.File, events []event) error {
	var buf []byte
	for _, e := range events {
		b, _ := json.Marshal(record{T: e.ts, I: e.ingest, M: e.msg})
		buf = append(append(buf, b...), '\n')
	}
	if _, err := f.Write(buf); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	return nil
}

// Sweep applies every group's retention and the size cap once.
func (s *Service) Sweep() error {
	gs, err := s.groups()
	if err != nil {
		return err
	}
	now := s.o.Clock.Now()
	var errs []error
	for _, g := range gs {
		files, err := s.streams(g)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if g.meta.Retention > 0 {
			cutoff := now.Add(-time.Duration(g.meta.Retention) * 24 * time.Hour)
			files = slices.DeleteFunc(files, func(f streamFile) bool {
				if f.mod.Before(cutoff) {
					s.remove(f.path)
					return true
				}
				return false
			})
		}
		if s.o.MaxGroupBytes < 0 {
			continue
		}
		var total int64
		for _, f := range files {
			total += f.size
		}
		// Least recently written first.
		slices.SortFunc(files, func(a, b streamFile) int { return a.mod.Compare(b.mod) })
		for _, f := range files {
			if total <= s.o.MaxGroupBytes {
				break
			}
			s.remove(f.path)
			total -= f.size
		}
	}
	return errors.Join(errs...)
}

// remove deletes a stream file, closing it first if execution logs hold it open.
func (s *Service) remove(p string) {
	s.mu.Lock()
	if f := s.files[p]; f != nil {
		f.Close()
		delete(s.files, p)
	}
	s.mu.Unlock()
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.o.Logger.Warn("logs: removing a stream", "path", p, "err", err)
	}
}
