package s3_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stepline/stepline/internal/clock"
	s3svc "github.com/stepline/stepline/internal/s3"
)

func TestWatchReportsObjectEvents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	svc, err := s3svc.New(s3svc.Options{Dir: dir, Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(svc)
	defer svc.Close()
	defer hs.Close()
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1})
	ctx := context.Background()
	for _, b := range []string{"on-bucket", "off-bucket"} {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	// A file already there when watching starts is not an event.
	if err := os.WriteFile(filepath.Join(dir, "s3", "on-bucket", "old.txt"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("on-bucket"),
		NotificationConfiguration: &types.NotificationConfiguration{EventBridgeConfiguration: &types.EventBridgeConfiguration{}}}); err != nil {
		t.Fatal(err)
	}
	events := make(chan s3svc.ObjectEvent, 100)
	stop, err := svc.Watch(time.Hour, func(e s3svc.ObjectEvent) { events <- e })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	next := func() s3svc.ObjectEvent {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
		}
		return s3svc.ObjectEvent{}
	}
	// The other bucket's changes come first and must not be reported.
	if err := os.WriteFile(filepath.Join(dir, "s3", "off-bucket", "x.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("on-bucket"), Key: aws.String("api/one.json"), Body: strings.NewReader(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	if e := next(); e.Bucket != "on-bucket" || e.Key != "api/one.json" || e.Deleted || e.Size != 7 || e.ETag != md5hex([]byte(`{"a":1}`)) {
		t.Fatalf("event = %+v", e)
	}
	// A file dropped by hand into a new folder.
	if err := os.MkdirAll(filepath.Join(dir, "s3", "on-bucket", "in", "2026"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "s3", "on-bucket", "in", "2026", "data.csv"), []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if e := next(); e.Key != "in/2026/data.csv" || e.Deleted || e.Size != 8 || e.ETag != md5hex([]byte("a,b\n1,2\n")) {
		t.Fatalf("event = %+v", e)
	}
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("on-bucket"), Key: aws.String("api/one.json")}); err != nil {
		t.Fatal(err)
	}
	if e := next(); e.Key != "api/one.json" || !e.Deleted {
		t.Fatalf("event = %+v", e)
	}
	if err := os.RemoveAll(filepath.Join(dir, "s3", "on-bucket", "in")); err != nil {
		t.Fatal(err)
	}
	if e := next(); e.Key != "in/2026/data.csv" || !e.Deleted {
		t.Fatalf("event = %+v", e)
	}
	select {
	case e := <-events:
		t.Fatalf("unexpected event %+v", e)
	default:
	}
}

// TestWatchReportsChangesMadeWhileStopped: a file dropped in and one removed while no watcher
// ran are reported when watching starts again.
func TestWatchReportsChangesMadeWhileStopped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	svc, err := s3svc.New(s3svc.Options{Dir: dir, Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	hs := httptest.NewServer(svc)
	defer hs.Close()
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1})
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("down-bucket")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("down-bucket"),
		NotificationConfiguration: &types.NotificationConfiguration{EventBridgeConfiguration: &types.EventBridgeConfiguration{}}}); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "s3", "down-bucket")
	if err := os.WriteFile(filepath.Join(folder, "old.txt"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(folder, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	events := make(chan s3svc.ObjectEvent, 10)
	stop, err := svc.Watch(time.Hour, func(e s3svc.ObjectEvent) { events <- e })
	if err != nil {
		t.Fatal(err)
	}
	stop() // the first watcher takes stock and saves it
	if err := os.Remove(filepath.Join(folder, "old.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(folder, "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, "in", "new.txt"), []byte("new!"), 0o644); err != nil {
		t.Fatal(err)
	}
	stop, err = svc.Watch(time.Hour, func(e s3svc.ObjectEvent) { events <- e })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	got := map[string]bool{}
	for range 2 {
		select {
		case e := <-events:
			got[fmt.Sprintf("%s deleted=%v", e.Key, e.Deleted)] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("events so far: %v", got)
		}
	}
	if !got["old.txt deleted=true"] || !got["in/new.txt deleted=false"] {
		t.Fatalf("events = %v", got)
	}
	// And the restarted watcher follows the folders it knew from the snapshot.
	if err := os.WriteFile(filepath.Join(folder, "keep", "later.txt"), []byte("l"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-events:
		if e.Key != "keep/later.txt" {
			t.Fatalf("event = %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event for a file in a folder known from the snapshot")
	}
}
