package glue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stepline/stepline/internal/limits"
)

// runProc is a run this node carries out: stop ends it with the given state.
type runProc struct {
	job    string
	cancel context.CancelFunc
	mu     sync.Mutex
	reason string // runStopped or runTimeout once asked
}

func (p *runProc) stop(reason string) {
	p.mu.Lock()
	if p.reason == "" {
		p.reason = reason
	}
	p.mu.Unlock()
	p.cancel()
}

func (p *runProc) why() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reason
}

// maxLogBytes bounds each stream of a run's log; what a script writes beyond is dropped, and a
// line says so.
const maxLogBytes = 16 << 20

// stopPoll is how often a running job looks whether another node asked it to stop.
const stopPoll = time.Second

// runJob carries out one run to its end and records it. It never returns before the process
// is reaped.
func (s *Service) runJob(j *Job, runID string, args map[string]string) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	p := &runProc{job: j.Name, cancel: cancel}
	s.mu.Lock()
	s.runs[runID] = p
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.runs, runID)
		s.mu.Unlock()
	}()
	state, msg := runFailed, ""
	if err := safely(func() error {
		state, msg = s.execute(ctx, p, j, runID, args)
		return nil
	}); err != nil {
		state, msg = runFailed, err.Error()
	}
	r := s.endRun(j.Name, runID, state, msg)
	if r != nil && r.JobRunState == runFailed && r.Attempt < j.MaxRetries && s.ctx.Err() == nil {
		// Glue retries a failed run as a new run of the next attempt.
		next := &JobRun{JobName: j.Name, Arguments: r.Arguments, Timeout: r.Timeout, MaxCapacity: r.MaxCapacity,
			WorkerType: r.WorkerType, NumberOfWorkers: r.NumberOfWorkers, GlueVersion: r.GlueVersion,
			ExecutionClass: r.ExecutionClass, JobMode: r.JobMode, Attempt: r.Attempt + 1, PreviousRunID: r.ID}
		if _, err := s.launch(context.Background(), j, next, args); err != nil {
			s.o.Logger.Warn("glue: retry of a failed job run", "job", j.Name, "run", runID, "err", err)
		}
	}
}

// execute runs the script and returns the run's final state and error message.
func (s *Service) execute(ctx context.Context, p *runProc, j *Job, runID string, args map[string]string) (string, string) {
	// The run's record is read and marked without ctx's cancellation: a server stopping at this
	// moment must still find the run RUNNING and end it as interrupted, not as stopped or
	// failed by a cancelled read.
	sctx := context.WithoutCancel(ctx)
	if !s.setRunning(sctx, j.Name, runID) {
		return runStopped, ""
	}
	r, _, err := s.readRun(sctx, j.Name, runID)
	if err != nil {
		return runFailed, err.Error()
	}
	var cmdline []string
	switch j.Command.Name {
	case "pythonshell":
		cmdline = []string{s.o.Python}
	case "glueetl":
		if len(s.o.SparkCommand) == 0 {
			return runFailed, "Spark (glueetl) jobs need a configured command: Stepline runs glueetl scripts with the command " +
				"the project file sets for Spark jobs (for example a local spark-submit), and none is configured"
		}
		cmdline = append([]string{}, s.o.SparkCommand...)
	default:
		return runFailed, fmt.Sprintf("Command %s is not supported by Stepline (pythonshell and glueetl are)", j.Command.Name)
	}
	script, err := s.scriptPath(j.Command.ScriptLocation)
	if err != nil {
		return runFailed, err.Error()
	}
	// The script runs from a copy in a folder of its own, as Glue downloads it, so that a
	// script changed meanwhile cannot change a run in progress.
	work := filepath.Join(s.o.Dir, "glue", "runs", runID)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return runFailed, "could not prepare the run: " + err.Error()
	}
	defer os.RemoveAll(work)
	local := filepath.Join(work, filepath.Base(script))
	if err := copyFile(script, local); err != nil {
		return runFailed, "failed to download script: " + err.Error()
	}
	outPath, errPath := s.runLogs(j, runID)
	stdout, err := openLog(outPath)
	if err != nil {
		return runFailed, "could not open the run's log: " + err.Error()
	}
	defer stdout.Close()
	stderr, err := openLog(errPath)
	if err != nil {
		return runFailed, "could not open the run's log: " + err.Error()
	}
	defer stderr.Close()
	tail := &tailBuffer{max: 8 << 10}

	tctx, tcancel := context.WithTimeout(ctx, time.Duration(r.Timeout)*s.o.TimeoutUnit)
	defer tcancel()
	cmd := exec.Command(cmdline[0], append(append(cmdline[1:], local), argv(j, runID, args)...)...)
	cmd.Dir = work
	cmd.Env = s.runEnv(j, runID)
	cmd.Stdout = &boundedWriter{w: stdout, left: maxLogBytes}
	cmd.Stderr = io.MultiWriter(&boundedWriter{w: stderr, left: maxLogBytes}, tail)
	// Its own process group, so that a stop kills what the script started too; Pdeathsig so
	// that it does not outlive a server killed with -9 (Start then fails the run).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Once the script exits, pipes held by processes it left behind must not hold the run.
	cmd.WaitDelay = 2 * time.Second
	var mem *limits.Group
	memLimit := memoryOf(j.Command.Name, r)
	if !s.o.NoMemoryLimit {
		if mem, err = limits.Detect().Prepare(cmd, memLimit); err != nil {
			return runFailed, "could not bound the run's memory: " + err.Error()
		}
		defer mem.Close()
	}
	if err := cmd.Start(); err != nil {
		return runFailed, fmt.Sprintf("could not start %s: %v", cmdline[0], err)
	}
	pgid := cmd.Process.Pid
	if mem != nil {
		if err := mem.Started(pgid); err != nil {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			_ = cmd.Wait()
			return runFailed, "could not bound the run's memory: " + err.Error()
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ticker := time.NewTicker(stopPoll)
	defer ticker.Stop()
	var werr error
wait:
	for {
		select {
		case werr = <-done:
			break wait
		case <-tctx.Done():
			if ctx.Err() == nil {
				p.stop(runTimeout)
			}
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			werr = <-done
			break wait
		case <-ticker.C:
			// A stop asked through another node, or the run ended by another node that found
			// this one's lease expired.
			if rr, _, err := s.readRun(ctx, j.Name, runID); err == nil && (rr.JobRunState == runStopping || runEnded(rr.JobRunState)) {
				p.stop(runStopped)
			}
		}
	}
	// Whatever the script started in its group dies with the run.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	switch reason := p.why(); {
	case reason == runStopped:
		return runStopped, ""
	case reason == runTimeout:
		return runTimeout, fmt.Sprintf("Job run timed out after %d minutes (the job's Timeout)", r.Timeout)
	case s.ctx.Err() != nil:
		return runFailed, "Job run was interrupted: the Stepline server stopped while the run was in progress"
	case werr == nil:
		return runSucceeded, ""
	case mem.OOMKilled():
		return runFailed, fmt.Sprintf("Command failed with exit code 137: the script went over the run's memory (%d MB for %s) and was killed",
			memLimit>>20, capacityOf(j.Command.Name, r))
	}
	return runFailed, errorMessage(tail.String(), werr)
}

// gb is a gigabyte as Glue counts a DPU's memory.
const gb = 1 << 30

// workerMemory is the memory of one worker of each WorkerType, as Glue documents them.
var workerMemory = map[string]int64{
	"Standard": 16 * gb, "G.025X": 2 * gb, "G.1X": 16 * gb, "G.2X": 32 * gb, "G.4X": 64 * gb, "G.8X": 128 * gb,
	"G.12X": 192 * gb, "G.16X": 256 * gb, "R.1X": 32 * gb, "R.2X": 64 * gb, "R.4X": 128 * gb, "R.8X": 256 * gb,
	"Z.2X": 64 * gb,
}

// memoryOf is the memory a run gets, from its capacity as Glue sizes it: a DPU is 16 GB (a
// pythonshell job of MaxCapacity 0.0625 gets 1 GB, of 1 gets 16 GB); a Spark job with a
// WorkerType gets its workers' memory together, since it runs as one local process.
func memoryOf(command string, r *JobRun) int64 {
	if command != "pythonshell" && r.WorkerType != "" {
		if m, ok := workerMemory[r.WorkerType]; ok {
			return m * int64(max(r.NumberOfWorkers, 1))
		}
	}
	capacity := r.MaxCapacity
	if capacity <= 0 {
		capacity = 0.0625
		if command != "pythonshell" {
			capacity = 10 // Glue's default for Spark jobs
		}
	}
	return int64(capacity * 16 * gb)
}

// capacityOf words a run's capacity for a message.
func capacityOf(command string, r *JobRun) string {
	if command != "pythonshell" && r.WorkerType != "" {
		return fmt.Sprintf("%d %s workers", max(r.NumberOfWorkers, 1), r.WorkerType)
	}
	return fmt.Sprintf("MaxCapacity %g", r.MaxCapacity)
}

// errorMessage is what Glue shows of a failed script: the last line of its error stream, which
// for a Python exception is "Type: message".
func errorMessage(stderr string, werr error) string {
	lines := strings.Split(strings.TrimRight(stderr, "\r\n\t "), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			if len(l) > 2048 {
				l = l[:2048]
			}
			return l
		}
	}
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		return fmt.Sprintf("Command failed with exit code %d", ee.ExitCode())
	}
	return "Command failed: " + werr.Error()
}

// runEnv is the environment of a job process: the server's, without its AWS settings, and
// those of the run: Stepline as the endpoint of every AWS service, the dummy credentials.
func (s *Service) runEnv(j *Job, runID string) []string {
	var env []string
	pythonPath := ""
	for _, kv := range os.Environ() {
		if v, ok := strings.CutPrefix(kv, "PYTHONPATH="); ok {
			pythonPath = v
			continue
		}
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	s.mu.Lock()
	if s.pythonPath != "" {
		// Glue's own packages (awsglue) come first on the path, as on Glue.
		pythonPath = strings.TrimSuffix(s.pythonPath+string(os.PathListSeparator)+pythonPath, string(os.PathListSeparator))
	}
	s.mu.Unlock()
	if pythonPath != "" {
		env = append(env, "PYTHONPATH="+pythonPath)
	}
	region := s.o.Region
	env = append(env,
		"AWS_ENDPOINT_URL="+s.o.Endpoint,
		"AWS_ACCESS_KEY_ID="+s.o.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+s.o.SecretAccessKey,
		"AWS_REGION="+region,
		"AWS_DEFAULT_REGION="+region,
		"PYTHONUNBUFFERED=1",
		"PYTHONDONTWRITEBYTECODE=1",
		"GLUE_JOB_NAME="+j.Name,
		runIDVar+"="+runID,
	)
	return env
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func openLog(p string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	return os.Create(p)
}

// boundedWriter writes up to left bytes, then drops the rest (saying so once), never failing
// the writer: a script that floods its output must not be killed by a full pipe.
type boundedWriter struct {
	w    io.Writer
	left int64
	cut  bool
}

func (b *boundedWriter) Write(p []byte) (int, error) {
	n := len(p)
	if b.left <= 0 {
		if !b.cut {
			b.cut = true
			_, _ = io.WriteString(b.w, "\n[stepline: log truncated]\n")
		}
		return n, nil
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	_, _ = b.w.Write(p)
	b.left -= int64(len(p))
	return n, nil
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > t.max {
		p = p[len(p)-t.max:]
	}
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		rest := append([]byte(nil), t.buf.Bytes()[over:]...)
		t.buf.Reset()
		t.buf.Write(rest)
	}
	return n, nil
}

func (t *tailBuffer) String() string { return t.buf.String() }

// runIDVar is the environment variable that marks a job's processes, and those they start,
// with the run's id (runEnv sets it).
const runIDVar = "GLUE_JOB_RUN_ID"

// killRunProcesses kills, with SIGKILL, the processes on this machine whose environment marks
// them as processes of one of the runs: what a script started outlives a server killed with -9,
// since only the script itself gets Pdeathsig. It looks again after killing, for a process
// forked meanwhile, a few times at most.
func killRunProcesses(runs map[string]bool, log *slog.Logger) {
	if len(runs) == 0 {
		return
	}
	self := os.Getpid()
	for range 3 {
		entries, err := os.ReadDir("/proc")
		if err != nil {
			return // no /proc: nothing to find
		}
		killed := 0
		for _, de := range entries {
			pid, err := strconv.Atoi(de.Name())
			if err != nil || pid == self {
				continue
			}
			// Unreadable for another user's processes, which are not ours to kill anyway.
			env, err := os.ReadFile(filepath.Join("/proc", de.Name(), "environ"))
			if err != nil {
				continue
			}
			for _, kv := range bytes.Split(env, []byte{0}) {
				id, ok := bytes.CutPrefix(kv, []byte(runIDVar+"="))
				if ok && runs[string(id)] {
					if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
						log.Warn("glue: killed a process left by an interrupted job run", "pid", pid, "run", string(id))
						killed++
					}
					break
				}
			}
		}
		if killed == 0 {
			return
		}
	}
}
