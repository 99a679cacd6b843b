package glue

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/stepline/stepline/internal/limits"
)

// spawnScript starts a child and a grandchild (sh's sleep) that would outlive it, then sleeps.
const spawnScript = `import subprocess, time
subprocess.Popen(["sh", "-c", "sleep 600 & sleep 600"])
print("spawned", flush=True)
time.sleep(600)
`

// processesOfRun lists the live processes whose environment carries the run's id (every
// process a run starts inherits it).
func processesOfRun(runID string) []string {
	var live []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) > 0 && f[0] == "Z" {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && strings.Contains("\x00"+string(env)+"\x00", "\x00"+runIDVar+"="+runID+"\x00") {
			live = append(live, e.Name())
		}
	}
	return live
}

func TestTimeoutAndStopKillGrandchildren(t *testing.T) {
	e := newEnv(t) // a minute of Timeout lasts 200 ms here
	e.createJob(t, "spawner", "pythonshell", spawnScript, 0, 10, nil)
	e.createJob(t, "spawner-stop", "pythonshell", spawnScript, 0, 0, nil)

	id := e.startRun(t, "spawner", nil)
	poll(t, "the run's children", func() bool { return len(processesOfRun(id)) >= 4 }) // python, sh, 2 sleeps
	r := e.waitRun(t, "spawner", id, ended)
	if r.JobRunState != types.JobRunStateTimeout {
		t.Fatalf("run = %s %q", r.JobRunState, aws.ToString(r.ErrorMessage))
	}
	if live := processesOfRun(id); len(live) != 0 {
		t.Fatalf("processes of the timed-out run left: %v", live)
	}

	id = e.startRun(t, "spawner-stop", nil)
	poll(t, "the run's children", func() bool { return len(processesOfRun(id)) >= 4 })
	if _, err := e.client.BatchStopJobRun(ctx(t), &glue.BatchStopJobRunInput{JobName: aws.String("spawner-stop"), JobRunIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if r := e.waitRun(t, "spawner-stop", id, ended); r.JobRunState != types.JobRunStateStopped {
		t.Fatalf("run = %s %q", r.JobRunState, aws.ToString(r.ErrorMessage))
	}
	if live := processesOfRun(id); len(live) != 0 {
		t.Fatalf("processes of the stopped run left: %v", live)
	}
}

func TestMaxCapacityBoundsMemory(t *testing.T) {
	for _, c := range []struct {
		command, worker string
		workers         int
		capacity        float64
		want            int64
	}{
		{"pythonshell", "", 0, 0.0625, 1 << 30},
		{"pythonshell", "", 0, 1, 16 << 30},
		{"pythonshell", "", 0, 0, 1 << 30},
		{"glueetl", "G.1X", 2, 0, 32 << 30},
		{"glueetl", "G.025X", 0, 0, 2 << 30},
		{"glueetl", "", 0, 5, 80 << 30},
	} {
		if got := memoryOf(c.command, &JobRun{WorkerType: c.worker, NumberOfWorkers: c.workers, MaxCapacity: c.capacity}); got != c.want {
			t.Errorf("memoryOf(%s, %s×%d, %g) = %d, want %d", c.command, c.worker, c.workers, c.capacity, got, c.want)
		}
	}

	if m := limits.Detect().Mechanism(); m == limits.RlimitData {
		t.Logf("memory bounded by %s: the script's allocation fails with MemoryError", m)
	}
	e := newEnv(t)
	// 0.0625 DPU: 1 GB. The script touches 1.5 GB.
	e.write(t, "scripts/hog.py", []byte("b = bytearray(1536 * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1\nprint('survived')\n"))
	if _, err := e.client.CreateJob(ctx(t), &glue.CreateJobInput{Name: aws.String("hog"), Role: aws.String("arn:aws:iam::123456789012:role/glue"),
		Command:     &types.JobCommand{Name: aws.String("pythonshell"), ScriptLocation: aws.String("s3://scripts/hog.py")},
		MaxCapacity: aws.Float64(0.0625)}); err != nil {
		t.Fatal(err)
	}
	r := e.waitRun(t, "hog", e.startRun(t, "hog", nil), ended)
	msg := aws.ToString(r.ErrorMessage)
	if r.JobRunState != types.JobRunStateFailed {
		t.Fatalf("run over its memory = %s %q", r.JobRunState, msg)
	}
	switch limits.Detect().Mechanism() {
	case limits.RlimitData:
		if !strings.Contains(msg, "MemoryError") {
			t.Fatalf("error = %q", msg)
		}
	default:
		if msg != "Command failed with exit code 137: the script went over the run's memory (1024 MB for MaxCapacity 0.0625) and was killed" {
			t.Fatalf("error = %q", msg)
		}
	}
}
