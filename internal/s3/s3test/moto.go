// Package s3test starts a real S3-compatible server, moto_server, for the tests of buckets
// bound to an external endpoint: a server of another implementation than ours is what shows
// that the forwarding speaks S3 and not merely what our own service understands.
package s3test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runningOn is Werkzeug's line saying moto listens, with its URL.
var runningOn = regexp.MustCompile(`Running on (http://127\.0\.0\.1:[0-9]+)`)

// motoStart bounds the wait for moto_server to listen (it imports much of botocore first).
const motoStart = 60 * time.Second

// StartMoto starts moto_server on a free loopback port and returns its URL once it serves;
// the test's cleanup stops it. Without the moto_server binary the test is skipped, saying so.
func StartMoto(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not installed (pip install 'moto[server]'): the bound-bucket tests need it as the external S3 endpoint")
	}
	// Port 0: the system picks a free port, which moto's "Running on" line names.
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", "0")
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting moto_server: %v", err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	// Werkzeug says "Running on http://127.0.0.1:PORT" once it listens: that line is the signal.
	ready := make(chan struct{})
	var lines []string
	var url string
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			if !signalled {
				lines = append(lines, sc.Text())
				if m := runningOn.FindStringSubmatch(sc.Text()); m != nil {
					url, signalled = m[1], true
					close(ready)
				}
			}
		}
		_ = cmd.Wait()
		close(exited)
		if !signalled {
			close(ready)
		}
	}()
	select {
	case <-ready:
	case <-time.After(motoStart):
		t.Fatalf("moto_server did not listen within %v", motoStart)
	}
	select {
	case <-exited:
		t.Fatalf("moto_server exited: %s", strings.Join(lines, "\n"))
	default:
	}
	if err := probe(url); err != nil {
		t.Fatalf("moto_server: %v", err)
	}
	return url
}

// probe checks that the port answers: the line is printed just before the listener serves.
func probe(url string) error {
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), 5*time.Second)
	if err != nil {
		return errors.New("not listening after saying so: " + err.Error())
	}
	return c.Close()
}
