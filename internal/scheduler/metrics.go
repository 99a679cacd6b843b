package scheduler

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// lagBuckets are the upper bounds (seconds) of the firing-lag histogram.
var lagBuckets = [...]float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}

// metrics counts this node's firings for /metrics.
type metrics struct {
	// firings by outcome: started (a new execution or invocation), again (carried out before:
	// a crash or another node), failed (a try that failed; it is retried), dropped (given up:
	// retries spent or older than the maximum event age).
	started, again, failed, dropped atomic.Int64
	// lag is a histogram of when firings were carried out after their scheduled time.
	lag      [len(lagBuckets) + 1]atomic.Int64
	lagSumUs atomic.Int64
}

func (m *metrics) observeLag(d time.Duration) {
	i := 0
	for i < len(lagBuckets) && d.Seconds() > lagBuckets[i] {
		i++
	}
	m.lag[i].Add(1)
	m.lagSumUs.Add(d.Microseconds())
}

// WriteMetrics writes the node's scheduler metrics in the Prometheus text format.
func (s *Service) WriteMetrics(w io.Writer) (int64, error) {
	var b strings.Builder
	b.WriteString("# HELP stepline_scheduler_firings_total Schedule and scheduled-rule firings carried out by this node, by outcome.\n")
	b.WriteString("# TYPE stepline_scheduler_firings_total counter\n")
	for _, c := range []struct {
		outcome string
		v       *atomic.Int64
	}{{"started", &s.m.started}, {"again", &s.m.again}, {"failed", &s.m.failed}, {"dropped", &s.m.dropped}} {
		fmt.Fprintf(&b, "stepline_scheduler_firings_total{outcome=%q} %d\n", c.outcome, c.v.Load())
	}
	b.WriteString("# HELP stepline_scheduler_firing_lag_seconds How long after its scheduled time (plus any flexible window) a firing was carried out.\n")
	b.WriteString("# TYPE stepline_scheduler_firing_lag_seconds histogram\n")
	var total int64
	for i, le := range lagBuckets {
		total += s.m.lag[i].Load()
		fmt.Fprintf(&b, "stepline_scheduler_firing_lag_seconds_bucket{le=\"%g\"} %d\n", le, total)
	}
	total += s.m.lag[len(lagBuckets)].Load()
	fmt.Fprintf(&b, "stepline_scheduler_firing_lag_seconds_bucket{le=\"+Inf\"} %d\n", total)
	fmt.Fprintf(&b, "stepline_scheduler_firing_lag_seconds_sum %g\n", float64(s.m.lagSumUs.Load())/1e6)
	fmt.Fprintf(&b, "stepline_scheduler_firing_lag_seconds_count %d\n", total)
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}
