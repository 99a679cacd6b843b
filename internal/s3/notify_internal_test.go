package s3

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// TestWatchWithoutNotifications: with no inotify instance left, Watch still reports changes,
// from its rescans.
func TestWatchWithoutNotifications(t *testing.T) {
	old := newFSWatcher
	newFSWatcher = func() (*fsnotify.Watcher, error) { return nil, errors.New("too many open files") }
	defer func() { newFSWatcher = old }()
	dir := t.TempDir()
	svc, err := New(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if err := os.MkdirAll(filepath.Join(dir, "s3", "poll-bucket"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := svc.saveConfig("poll-bucket", bucketConfig{Created: time.Now(), EventBridge: true}); err != nil {
		t.Fatal(err)
	}
	events := make(chan ObjectEvent, 10)
	stop, err := svc.Watch(time.Hour, func(e ObjectEvent) { events <- e })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := os.WriteFile(filepath.Join(dir, "s3", "poll-bucket", "x.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-events:
		if e.Key != "x.txt" || e.Deleted || e.Size != 1 {
			t.Fatalf("event = %+v", e)
		}
	case <-time.After(4 * pollRescan):
		t.Fatal("no event from the rescans")
	}
}
