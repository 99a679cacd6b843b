package scheduler

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/postgres"
	"github.com/stepline/stepline/internal/store/postgres/pgtest"
)

// TestFiringLag10k measures schedule firing lag with 10,000 active schedules (run with
// STEPLINE_BENCH=1; add STEPLINE_TEST_POSTGRES for PostgreSQL too). Workload: 10,000
// rate(1 minute) schedules whose start dates are spread evenly over one minute (about 167
// firings a second, each a claim share and a compare-and-swap in the store), fired by the real
// firing loop on the real clock into a StateMachines that records them; lag is when the
// firing started its execution minus its scheduled time. Each schedule must fire exactly once
// in the minute.
func TestFiringLag10k(t *testing.T) {
	if os.Getenv("STEPLINE_BENCH") == "" {
		t.Skip("set STEPLINE_BENCH=1 to measure (about 70 s)")
	}
	t.Run("sqlite", func(t *testing.T) { measureLag(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		base, schema, _ := pgtest.Schema(t)
		st, err := postgres.Open(t.Context(), postgres.Options{DSN: base, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		measureLag(t, st)
	})
}

func measureLag(t *testing.T, st store.Store) {
	const n = 10000
	m := &machines{}
	s, err := New(Options{Store: st, Clock: clock.Real{}, StateMachines: m, Functions: &functions{}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lags []time.Duration
	first := map[string]int{} // schedule → times its first firing was carried out
	done := make(chan struct{})
	start := time.Now().Add(20 * time.Second).Truncate(time.Second)
	s.OnFire(func(f Firing) {
		mu.Lock()
		defer mu.Unlock()
		// Second firings (a minute after the first) start while the last first ones finish.
		if !f.Nominal.Before(start.Add(time.Minute)) {
			return
		}
		lags = append(lags, time.Since(f.Nominal))
		first[f.Name]++
		if len(lags) == n {
			close(done)
		}
	})
	if err := s.ensureDefaultGroup(t.Context()); err != nil {
		t.Fatal(err)
	}
	setup := time.Now()
	// Created by 32 clients at once: one at a time, PostgreSQL's commits take most of a minute.
	var wg sync.WaitGroup
	next := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				in := schedule(fmt.Sprintf("s%05d", i), "rate(1 minute)")
				in.SetDates(new(start.Add(time.Duration(i)*time.Minute/n)), nil)
				if _, err := s.CreateSchedule(t.Context(), in); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("created %d schedules in %v", n, time.Since(setup).Round(time.Millisecond))
	if time.Now().After(start) {
		t.Fatal("creating the schedules took longer than 20 s: the first firings are late already")
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Stop(t.Context()) }()
	select {
	case <-done:
	case <-time.After(time.Until(start.Add(time.Minute + 30*time.Second))):
		t.Fatalf("%d firings in the minute, want %d", len(lags), n)
	}
	if err := s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(first) != n {
		t.Fatalf("%d schedules fired in their first minute, want %d", len(first), n)
	}
	for name, k := range first {
		if k != 1 {
			t.Fatalf("%s's first firing was carried out %d times", name, k)
		}
	}
	slices.Sort(lags)
	q := func(p float64) time.Duration { return lags[int(p*float64(len(lags)-1))].Round(time.Millisecond) }
	t.Logf("firing lag over %d firings (~167/s): p50 %v, p99 %v, max %v", len(lags), q(0.5), q(0.99), lags[len(lags)-1].Round(time.Millisecond))
}
