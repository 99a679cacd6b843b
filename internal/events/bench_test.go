package events

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/sqlite"
)

// BenchmarkPutEvents measures PutEvents entries per second (batches of 10) on SQLite against
// a bus of 1,000 and 10,000 rules, each with its own source and a numeric and prefix
// condition on the detail, and one target; each entry matches exactly one rule, so each stores
// one delivery. BenchmarkPutEventsUnindexed is the same with rules the source index cannot
// place (a prefix on the source), so every entry is matched against every rule.
func BenchmarkPutEvents(b *testing.B) { benchPutEvents(b, `{"source":["app-%d"]`) }

func BenchmarkPutEventsUnindexed(b *testing.B) {
	benchPutEvents(b, `{"source":[{"wildcard":"app-%d"}]`)
}

func benchPutEvents(b *testing.B, source string) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(b.TempDir(), "stepline.db")})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			svc, err := New(Options{Store: st, Clock: clock.Real{}, RuleCacheTTL: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			for i := range n {
				p := fmt.Sprintf(source+`,"detail":{"amount":[{"numeric":[">",%d]}],"region":[{"prefix":"eu-"}]}}`, i, i%100)
				if _, err := svc.PutRule(ctx, &PutRuleInput{Name: fmt.Sprintf("r%d", i), EventPattern: &p}); err != nil {
					b.Fatal(err)
				}
				// Straight into the store: PutTargets lists the rule's targets by a name prefix,
				// which SQLite scans for, and 10,000 of them would take minutes to set up.
				if _, err := st.EventsCreate(ctx, &store.EventsCreateParams{Kind: store.EventsTarget, Parent: DefaultBus,
					Name: fmt.Sprintf("r%d/t", i), Doc: []byte(`{"Id":"t","Arn":"arn:aws:states:us-east-1:123456789012:stateMachine:m"}`), Now: time.Now()}); err != nil {
					b.Fatal(err)
				}
			}
			// The bus's rules are read and compiled once, then kept: warm them outside the timing.
			if _, err := svc.rulesOf(ctx, DefaultBus); err != nil {
				b.Fatal(err)
			}
			entries := make([]*Entry, 10)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range entries {
					entries[j] = &Entry{Source: fmt.Sprintf("app-%d", (i*10+j)%n), DetailType: "Order",
						Detail: `{"amount":150,"region":"eu-west-1","items":[1,2,3]}`}
				}
				out, err := svc.PutEvents(ctx, entries)
				if err != nil || out.FailedEntryCount != 0 {
					b.Fatal(err, out)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "entries/s")
			if got := svc.matched.Load(); got != int64(b.N*10) {
				b.Fatalf("matched %d, want %d", got, b.N*10)
			}
		})
	}
}
