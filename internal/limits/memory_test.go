package limits

import (
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// hog allocates and touches 200 MiB.
const hog = "b = bytearray(200 * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1\nprint('survived')"

func run(t *testing.T, m *Memory, limit int64) (*Group, []byte, error) {
	t.Helper()
	cmd := exec.Command("python3", "-c", hog)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	g, err := m.Prepare(cmd, limit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	out := &limitedBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := g.Started(cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		t.Fatal(err)
	}
	err = cmd.Wait()
	return g, out.b, err
}

type limitedBuf struct{ b []byte }

func (l *limitedBuf) Write(p []byte) (int, error) { l.b = append(l.b, p...); return len(p), nil }

func TestDetectedMechanismStopsAHog(t *testing.T) {
	m := Detect()
	t.Logf("mechanism: %s", m.Mechanism())
	g, out, err := run(t, m, 64<<20)
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the hog was not stopped: err %v, output %q", err, out)
	}
	switch m.Mechanism() {
	case CgroupV1, CgroupV2:
		if ws := ee.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("want killed by the OOM killer, got %v (output %q)", err, out)
		}
		if !g.OOMKilled() {
			t.Fatal("OOMKilled is false after an OOM kill")
		}
	case RlimitData:
		if !contains(out, "MemoryError") {
			t.Fatalf("want MemoryError, got %v %q", err, out)
		}
	}
}

func TestRlimitDataStopsAHog(t *testing.T) {
	m := &Memory{mech: RlimitData}
	g, out, err := run(t, m, 64<<20)
	if err == nil || !contains(out, "MemoryError") {
		t.Fatalf("want MemoryError, got %v %q", err, out)
	}
	if g.OOMKilled() {
		t.Fatal("OOMKilled without a cgroup")
	}
}

func TestUnderTheLimitRuns(t *testing.T) {
	_, out, err := run(t, Detect(), 512<<20)
	if err != nil || !contains(out, "survived") {
		t.Fatalf("a process under its limit failed: %v %q", err, out)
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
