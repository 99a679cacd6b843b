// Package limits bounds the memory of the processes the server starts (Lambda functions, Glue
// jobs). It uses the best mechanism the machine allows, found once:
//
//   - cgroup v2: a group per process under the server's own cgroup, memory.max set, the process
//     started inside it (clone into the group, so nothing it allocates escapes the count);
//   - cgroup v1: the same with the memory controller's memory.limit_in_bytes, the process moved
//     into the group right after it starts (v1 cannot clone into a group);
//   - RLIMIT_DATA otherwise, set on the process right after it starts. Not RLIMIT_AS: Node and
//     Python map far more address space than they use (Node reserves gigabytes for its heap and
//     WebAssembly), so an address-space limit of a function's MemorySize would stop them
//     starting. RLIMIT_DATA counts the private writable mappings, which is what they allocate.
//
// STEPLINE_MEMORY_LIMIT=rlimit in the server's environment skips the cgroups (to try the
// fallback on a machine that has them).
//
// With a cgroup the kernel's OOM killer kills the process when it goes over, which is what
// Lambda reports as Runtime.OutOfMemory; with RLIMIT_DATA an allocation fails instead (Python
// raises MemoryError, Node aborts).
package limits

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Mechanism names what bounds a process's memory.
type Mechanism string

const (
	CgroupV2   Mechanism = "cgroup v2 memory.max"
	CgroupV1   Mechanism = "cgroup v1 memory.limit_in_bytes"
	RlimitData Mechanism = "RLIMIT_DATA"
)

// Memory makes memory-bounded groups for processes. The zero value is not usable: call Detect.
type Memory struct {
	mech Mechanism
	dir  string // the parent of every group (cgroups only)
	seq  atomic.Int64
}

var (
	detectOnce sync.Once
	detected   *Memory
)

// Detect finds the mechanism (once per process) and returns it; every caller shares it.
func Detect() *Memory {
	detectOnce.Do(func() { detected = detect() })
	return detected
}

func detect() *Memory {
	name := "stepline-" + strconv.Itoa(os.Getpid())
	if env := os.Getenv("STEPLINE_MEMORY_LIMIT"); env == "rlimit" {
		return &Memory{mech: RlimitData}
	}
	if dir, ok := cgroupV2Dir(); ok {
		m := &Memory{mech: CgroupV2, dir: filepath.Join(dir, name)}
		if m.probe() == nil {
			return m
		}
	}
	if dir, ok := cgroupV1Dir(); ok {
		m := &Memory{mech: CgroupV1, dir: filepath.Join(dir, name)}
		if m.probe() == nil {
			return m
		}
	}
	return &Memory{mech: RlimitData}
}

// Mechanism says what bounds the processes (for the log).
func (m *Memory) Mechanism() Mechanism { return m.mech }

// probe makes the parent group and a child with a limit, then removes the child: it tells
// whether the server may create cgroups here.
func (m *Memory) probe() error {
	removeStale(filepath.Dir(m.dir))
	if err := os.Mkdir(m.dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if m.mech == CgroupV2 {
		// Children of the parent get the memory controller.
		if err := os.WriteFile(filepath.Join(m.dir, "cgroup.subtree_control"), []byte("+memory"), 0); err != nil {
			_ = os.Remove(m.dir)
			return err
		}
	}
	g, err := m.newGroup(64 << 20)
	if err != nil {
		_ = os.Remove(m.dir)
		return err
	}
	return os.Remove(g)
}

func (m *Memory) newGroup(limit int64) (string, error) {
	dir := filepath.Join(m.dir, "p"+strconv.FormatInt(m.seq.Add(1), 10))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	file := "memory.max"
	if m.mech == CgroupV1 {
		file = "memory.limit_in_bytes"
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(strconv.FormatInt(limit, 10)), 0); err != nil {
		_ = os.Remove(dir)
		return "", err
	}
	if m.mech == CgroupV1 {
		// Swap would let the process go over the limit unseen; not every kernel has the file.
		_ = os.WriteFile(filepath.Join(dir, "memory.memsw.limit_in_bytes"), []byte(strconv.FormatInt(limit, 10)), 0)
	}
	return dir, nil
}

// Group bounds one process (and whatever it starts) to a number of bytes.
type Group struct {
	m     *Memory
	limit int64
	dir   string // cgroups
	fd    int    // cgroup v2: the group's directory, for clone
	pid   int
}

// Prepare sets up a group of limit bytes for cmd, before cmd.Start; call Started after it and
// Close once the process is reaped. cmd.SysProcAttr must be set already.
func (m *Memory) Prepare(cmd *exec.Cmd, limit int64) (*Group, error) {
	g := &Group{m: m, limit: limit, fd: -1}
	if m.mech == RlimitData {
		return g, nil
	}
	dir, err := m.newGroup(limit)
	if err != nil {
		return nil, fmt.Errorf("limits: cgroup: %w", err)
	}
	g.dir = dir
	if m.mech == CgroupV2 {
		fd, err := syscall.Open(dir, syscall.O_DIRECTORY|syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			_ = os.Remove(dir)
			return nil, fmt.Errorf("limits: cgroup: %w", err)
		}
		g.fd = fd
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = fd
	}
	return g, nil
}

// Started applies the limit to the started process pid (cgroup v1: moves it into the group;
// RLIMIT_DATA: sets it). A failure kills nothing: the caller decides.
func (g *Group) Started(pid int) error {
	g.pid = pid
	if g.fd >= 0 {
		_ = syscall.Close(g.fd)
		g.fd = -1
	}
	switch g.m.mech {
	case CgroupV1:
		if err := os.WriteFile(filepath.Join(g.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("limits: moving %d into its cgroup: %w", pid, err)
		}
	case RlimitData:
		lim := &unix.Rlimit{Cur: uint64(g.limit), Max: uint64(g.limit)}
		if err := unix.Prlimit(pid, unix.RLIMIT_DATA, lim, nil); err != nil {
			return fmt.Errorf("limits: RLIMIT_DATA of %d: %w", pid, err)
		}
	}
	return nil
}

// OOMKilled tells whether the kernel's OOM killer killed a process of the group (cgroups
// only; false with RLIMIT_DATA, where allocations fail instead).
func (g *Group) OOMKilled() bool {
	if g == nil || g.dir == "" {
		return false
	}
	file := "memory.events"
	if g.m.mech == CgroupV1 {
		file = "memory.oom_control"
	}
	b, err := os.ReadFile(filepath.Join(g.dir, file))
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "oom_kill" && f[1] != "0" {
			return true
		}
	}
	return false
}

// Close removes the group: call it once the process is reaped. What is left in it (a
// grandchild that left the process group) is killed first, since a group with processes
// cannot be removed.
func (g *Group) Close() {
	if g == nil {
		return
	}
	if g.fd >= 0 {
		_ = syscall.Close(g.fd)
		g.fd = -1
	}
	if g.dir == "" {
		return
	}
	for range 50 {
		if err := os.Remove(g.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		b, _ := os.ReadFile(filepath.Join(g.dir, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		// The kernel removes a killed process from the group once it is reaped (by its
		// parent, or init): wait for that.
		_ = unix.Nanosleep(&unix.Timespec{Nsec: 20e6}, nil)
	}
}

// cgroupV2Dir is the server's own cgroup v2 directory, when the v2 hierarchy has the memory
// controller.
func cgroupV2Dir() (string, bool) {
	rel, ok := ownCgroup(func(ctrls string) bool { return ctrls == "" })
	if !ok {
		return "", false
	}
	mnt, ok := mountOf("cgroup2", "")
	if !ok {
		return "", false
	}
	dir := filepath.Join(mnt, rel)
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil || !strings.Contains(" "+string(bytes.TrimSpace(b))+" ", " memory ") {
		return "", false
	}
	return dir, true
}

// cgroupV1Dir is the server's own cgroup in the v1 memory hierarchy.
func cgroupV1Dir() (string, bool) {
	rel, ok := ownCgroup(func(ctrls string) bool {
		for _, c := range strings.Split(ctrls, ",") {
			if c == "memory" {
				return true
			}
		}
		return false
	})
	if !ok {
		return "", false
	}
	mnt, ok := mountOf("cgroup", "memory")
	if !ok {
		return "", false
	}
	return filepath.Join(mnt, rel), true
}

// ownCgroup is the path in /proc/self/cgroup of the hierarchy whose controllers match.
func ownCgroup(match func(ctrls string) bool) (string, bool) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && match(f[1]) {
			return f[2], true
		}
	}
	return "", false
}

// mountOf finds the mount point of a cgroup file system (fstype), with option opt for v1.
func mountOf(fstype, opt string) (string, bool) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 || qf[0] != fstype || pf[3] != "/" {
			continue
		}
		if opt == "" || strings.Contains(","+qf[2]+",", ","+opt+",") {
			return pf[4], true
		}
	}
	return "", false
}

// removeStale removes the empty parent groups of servers that have ended (their pid is gone):
// a parent is not removed at exit, since other packages' processes may still use it.
func removeStale(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		pid, ok := strings.CutPrefix(e.Name(), "stepline-")
		if !ok || !e.IsDir() {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); errors.Is(err, os.ErrNotExist) {
			sub, _ := os.ReadDir(filepath.Join(dir, e.Name()))
			for _, s := range sub {
				if s.IsDir() {
					_ = os.Remove(filepath.Join(dir, e.Name(), s.Name()))
				}
			}
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
