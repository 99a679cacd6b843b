package engine

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Metrics are the engine's counters and histograms, written in Prometheus's text format.
//
// They are hand-rolled: a dozen series do not justify client_golang and its dependencies, and the
// text format is a stable, documented contract.
type Metrics struct {
	started     atomic.Int64
	transitions atomic.Int64
	// leasesTaken counts executions this node leased to step them; leasesContended those it
	// had work for but found leased by another node (their messages wait for its next round).
	leasesTaken, leasesContended atomic.Int64
	// mapChildren counts the Map Run child executions this node ran in groups (mapchildren.go).
	mapChildren atomic.Int64

	mu       sync.Mutex
	byStatus map[string]int64

	commitLatency   *histogram
	commitBatch     *histogram
	dispatchLatency *histogram
	timerLag        *histogram

	// byMachine holds the AWS/States metrics of each state machine (see aws.go).
	byMachine machineMetrics
}

// NewMetrics returns zeroed metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		byStatus:        map[string]int64{},
		commitLatency:   newHistogram(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
		commitBatch:     newHistogram(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
		dispatchLatency: newHistogram(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
		timerLag:        newHistogram(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
		byMachine:       machineMetrics{max: MaxStateMachineLabels, by: map[string]*awsMetrics{}},
	}
}

func (m *Metrics) finished(status string) {
	m.mu.Lock()
	m.byStatus[status]++
	m.mu.Unlock()
}

// WriteTo writes the metrics in Prometheus's text exposition format.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	b.WriteString("# HELP stepline_executions_started_total Executions started.\n# TYPE stepline_executions_started_total counter\n")
	fmt.Fprintf(&b, "stepline_executions_started_total %d\n", m.started.Load())
	b.WriteString("# HELP stepline_executions_finished_total Executions finished, by status.\n# TYPE stepline_executions_finished_total counter\n")
	m.mu.Lock()
	statuses := make([]string, 0, len(m.byStatus))
	for s := range m.byStatus {
		statuses = append(statuses, s)
	}
	sort.Strings(statuses)
	for _, s := range statuses {
		fmt.Fprintf(&b, "stepline_executions_finished_total{status=%q} %d\n", s, m.byStatus[s])
	}
	m.mu.Unlock()
	b.WriteString("# HELP stepline_state_transitions_total States entered.\n# TYPE stepline_state_transitions_total counter\n")
	fmt.Fprintf(&b, "stepline_state_transitions_total %d\n", m.transitions.Load())
	b.WriteString("# HELP stepline_engine_leases_taken_total Executions this node leased to step them.\n# TYPE stepline_engine_leases_taken_total counter\n")
	fmt.Fprintf(&b, "stepline_engine_leases_taken_total %d\n", m.leasesTaken.Load())
	b.WriteString("# HELP stepline_engine_leases_contended_total Executions this node had work for but found leased by another node.\n# TYPE stepline_engine_leases_contended_total counter\n")
	fmt.Fprintf(&b, "stepline_engine_leases_contended_total %d\n", m.leasesContended.Load())
	b.WriteString("# HELP stepline_map_children_run_total Map Run child executions this node ran for their parent, which may run on any node.\n# TYPE stepline_map_children_run_total counter\n")
	fmt.Fprintf(&b, "stepline_map_children_run_total %d\n", m.mapChildren.Load())
	m.commitLatency.write(&b, "stepline_store_commit_seconds", "Latency of a store commit of a batch of transitions.")
	m.commitBatch.write(&b, "stepline_store_commit_batch_size", "Transitions per store commit.")
	m.dispatchLatency.write(&b, "stepline_task_dispatch_seconds", "Time from a task's commit to its dispatch.")
	m.timerLag.write(&b, "stepline_timer_lag_seconds", "Time between a timer's due time and its firing.")
	m.byMachine.write(&b)
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

type histogram struct {
	mu     sync.Mutex
	bounds []float64
	counts []uint64 // one per bound, plus +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds ...float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	if math.IsNaN(v) {
		return
	}
	i := sort.SearchFloat64s(h.bounds, v)
	h.mu.Lock()
	h.counts[i]++
	h.sum += v
	h.n++
	h.mu.Unlock()
}

func (h *histogram) write(b *strings.Builder, name, help string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	var cum uint64
	for i, bound := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(b, "%s_bucket{le=\"%g\"} %d\n", name, bound, cum)
	}
	cum += h.counts[len(h.bounds)]
	fmt.Fprintf(b, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %g\n%s_count %d\n", name, cum, name, h.sum, name, h.n)
}
