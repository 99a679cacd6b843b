package s3

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// ObjectEvent is an object created (or replaced) or deleted in a bucket whose notification
// configuration sends events to EventBridge.
type ObjectEvent struct {
	Bucket, Key string
	Deleted     bool
	// Size and ETag are the created object's.
	Size int64
	ETag string
	Time time.Time
}

// settle is how long a folder must be quiet before it is looked at again, so that a file
// being written by hand is reported once it is whole rather than at its first bytes.
const settle = 150 * time.Millisecond

// newFSWatcher is fsnotify.NewWatcher; tests make it fail.
var newFSWatcher = fsnotify.NewWatcher

// pollRescan is how often the folders are rescanned when file notifications are unavailable.
const pollRescan = 3 * time.Second

// Watch reports the object events of the buckets with EventBridge notifications on, whether
// the objects came through the API or were dropped into (or removed from) the bucket's folder
// by hand: both are files, and the operating system's file notifications (fsnotify) say which
// folder changed, which is then compared with what was there. Every rescan interval every
// bucket is compared whole, a safety net for notifications lost (a full inotify queue, a
// folder created and filled before it was watched). What changed while no server watched is
// reported at start, against the snapshot the last one saved (.meta/watch.json); the very
// first Watch over a folder reports nothing of what is already there. emit is called from one goroutine, in order; the returned stop ends watching.
//
// Several nodes sharing the data folder each watch it: each reports every change.
func (s *Service) Watch(rescan time.Duration, emit func(ObjectEvent)) (stop func(), err error) {
	w := &watcher{s: s, emit: emit, dir: filepath.Join(s.o.Dir, "s3"), snap: map[string]map[string]entry{}}
	fw, err := newFSWatcher()
	if err == nil {
		if err = fw.Add(w.dir); err != nil {
			fw.Close()
		}
	}
	if err != nil {
		// Out of inotify instances (fs.inotify.max_user_instances), say: the rescans alone
		// find the changes, later.
		s.o.Logger.Warn("s3: no file notifications; bucket folders are rescanned every few seconds instead", "err", err)
		fw = nil
		rescan = min(rescan, pollRescan)
	}
	w.fw = fw
	// What changed since the last server saw the folders is reported; the first one only
	// takes stock.
	if b, err := s.root.ReadFile(snapshotFile); err == nil && json.Unmarshal(b, &w.snap) == nil && w.snap != nil {
		w.scanAll(true)
	} else {
		w.snap = map[string]map[string]entry{}
		w.scanAll(false)
	}
	if fw != nil {
		// Folders known from the snapshot were not new to this scan: watch them too.
		for rel := range w.snap {
			if rel != "" {
				if err := fw.Add(filepath.Join(w.dir, filepath.FromSlash(rel))); err != nil {
					s.o.Logger.Warn("s3: watching a bucket folder", "folder", rel, "err", err)
				}
			}
		}
	}
	w.save()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(ctx, rescan)
	}()
	return func() {
		cancel()
		<-done
		w.save()
		if fw != nil {
			fw.Close()
		}
	}, nil
}

type entry struct {
	Dir   bool      `json:"d,omitempty"`
	Size  int64     `json:"s,omitempty"`
	MTime time.Time `json:"m,omitzero"`
}

// snapshotFile keeps what the watcher last saw of every folder (saved at each full rescan and
// when watching stops), so that a restarted server reports what changed while none ran.
const snapshotFile = metaDir + "/watch.json"

type watcher struct {
	s    *Service
	fw   *fsnotify.Watcher // nil without file notifications: rescans only
	emit func(ObjectEvent)
	dir  string // DIR/s3
	// snap is what each watched folder held when last looked at, by its path relative to
	// DIR/s3 ("bucket", "bucket/sub").
	snap map[string]map[string]entry
	// on caches whether a bucket's notifications go to EventBridge during one pass.
	on map[string]bool
}

func (w *watcher) run(ctx context.Context, rescan time.Duration) {
	if rescan <= 0 {
		rescan = time.Minute
	}
	full := time.NewTicker(rescan)
	defer full.Stop()
	quiet := time.NewTimer(settle)
	quiet.Stop()
	dirty := map[string]bool{}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w.fw != nil {
		events, errs = w.fw.Events, w.fw.Errors
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			rel, err := filepath.Rel(w.dir, ev.Name)
			if err != nil || rel == "." || strings.HasPrefix(rel, ".") {
				continue // .meta, .tmp, .uploads: not objects
			}
			rel = filepath.ToSlash(rel)
			// The folder the change happened in: comparing it finds what changed.
			dirty[pathDir(rel)] = true
			quiet.Reset(settle)
		case err, ok := <-errs:
			if !ok {
				return
			}
			// A lost notification (queue overflow): the next full rescan catches up; do it now.
			w.s.o.Logger.Warn("s3: file notifications", "err", err)
			w.scanAll(true)
		case <-quiet.C:
			dirs := dirty
			dirty = map[string]bool{}
			w.on = map[string]bool{}
			for d := range dirs {
				w.rescan(d, true)
			}
		case <-full.C:
			w.scanAll(true)
			w.save()
		}
	}
}

// save writes the snapshot; a failure only costs a restart the changes made meanwhile.
func (w *watcher) save() {
	b, err := json.Marshal(w.snap)
	if err == nil {
		err = w.s.writeAtomic(snapshotFile, b)
	}
	if err != nil {
		w.s.o.Logger.Warn("s3: saving the bucket folders' snapshot", "err", err)
	}
}

// pathDir is the folder of a relative path, "" for a bucket itself (DIR/s3).
func pathDir(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[:i]
	}
	return ""
}

// scanAll compares every bucket's folders with the snapshot.
func (w *watcher) scanAll(report bool) {
	w.on = map[string]bool{}
	w.rescan("", report)
	for _, d := range slices.Collect(maps.Keys(w.snap)) {
		if _, still := w.snap[d]; still && d != "" {
			w.rescan(d, report)
		}
	}
}

// rescan compares one folder ("" is DIR/s3, whose folders are the buckets) with its snapshot,
// reporting the objects created, changed and gone, and watching new subfolders.
func (w *watcher) rescan(rel string, report bool) {
	abs := w.dir
	if rel != "" {
		abs = filepath.Join(w.dir, filepath.FromSlash(rel))
	}
	list, err := os.ReadDir(abs)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.s.o.Logger.Warn("s3: reading a bucket folder", "folder", abs, "err", err)
		return
	}
	now := map[string]entry{}
	for _, de := range list {
		name := de.Name()
		if rel == "" && (strings.HasPrefix(name, ".") || !de.IsDir()) {
			continue // only buckets at the top
		}
		info, err := de.Info()
		if err != nil {
			continue // gone meanwhile
		}
		switch {
		case info.IsDir():
			now[name] = entry{Dir: true}
		case info.Mode().IsRegular():
			now[name] = entry{Size: info.Size(), MTime: info.ModTime()}
		}
	}
	old, known := w.snap[rel]
	if err != nil {
		delete(w.snap, rel)
	} else {
		w.snap[rel] = now
	}
	for name, e := range now {
		child := join(rel, name)
		o, had := old[name]
		switch {
		case e.Dir && (!had || !o.Dir):
			if had {
				w.gone(child, o, report)
			}
			if w.fw != nil {
				if err := w.fw.Add(filepath.Join(w.dir, filepath.FromSlash(child))); err != nil {
					// Out of inotify watches: the periodic rescan covers this folder.
					w.s.o.Logger.Warn("s3: watching a bucket folder", "folder", child, "err", err)
				}
			}
			// Filled before it was watched, perhaps: look now.
			w.rescanTree2(child, report && (known || rel == ""))
		case !e.Dir && (!had || o.Dir || o.Size != e.Size || !o.MTime.Equal(e.MTime)):
			if had && o.Dir {
				w.gone(child, o, report)
			}
			if report {
				w.report(child, false)
			}
		}
	}
	for name, o := range old {
		if _, still := now[name]; !still {
			w.gone(join(rel, name), o, report)
		}
	}
}

// rescanTree2 looks into a folder just found, and its subfolders.
func (w *watcher) rescanTree2(rel string, report bool) {
	w.snap[rel] = nil
	w.rescan(rel, report)
}

// gone reports an object deleted, or every object of a folder deleted.
func (w *watcher) gone(rel string, o entry, report bool) {
	if !o.Dir {
		if report {
			w.report(rel, true)
		}
		return
	}
	for name, e := range w.snap[rel] {
		w.gone(rel+"/"+name, e, report)
	}
	delete(w.snap, rel)
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// report emits the event of one object (rel is bucket/key) if its bucket sends events.
func (w *watcher) report(rel string, deleted bool) {
	bucket, key, ok := strings.Cut(rel, "/")
	if !ok {
		return
	}
	on, seen := w.on[bucket]
	if !seen {
		c, err := w.s.config(bucket)
		on = err == nil && c.EventBridge
		w.on[bucket] = on
	}
	if !on {
		return
	}
	ev := ObjectEvent{Bucket: bucket, Key: key, Deleted: deleted, Time: w.s.o.Clock.Now().UTC()}
	if !deleted {
		o, err := w.s.stat(bucket, key)
		if err != nil {
			return // replaced or gone meanwhile: its own notification follows
		}
		ev.Size, ev.ETag = o.size, o.ETag
	}
	w.emit(ev)
}
