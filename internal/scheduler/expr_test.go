package scheduler

import (
	"strings"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// firings lists the next n instants of a cron expression after `from`, in RFC 3339 in loc.
func firings(t *testing.T, expr string, loc *time.Location, from time.Time, n int) string {
	t.Helper()
	e, err := ParseExpression(expr)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	var out []string
	at := from
	for range n {
		at = e.NextCron(at, loc)
		if at.IsZero() {
			out = append(out, "none")
			break
		}
		out = append(out, at.In(loc).Format(time.RFC3339))
	}
	return strings.Join(out, " ")
}

func TestCronAcrossDST(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	for _, c := range []struct {
		name, expr string
		from       time.Time
		want       string
	}{
		// Spring forward on 2026-03-08: 02:30 does not exist that day and is skipped.
		{"daily 02:30 across spring", "cron(30 2 * * ? *)", time.Date(2026, 3, 6, 12, 0, 0, 0, ny),
			"2026-03-07T02:30:00-05:00 2026-03-09T02:30:00-04:00 2026-03-10T02:30:00-04:00"},
		// A time that exists stays on the wall clock: 09:00 local on both sides, 13:00 then 14:00 UTC apart.
		{"daily 09:00 across spring", "cron(0 9 * * ? *)", time.Date(2026, 3, 7, 0, 0, 0, 0, ny),
			"2026-03-07T09:00:00-05:00 2026-03-08T09:00:00-04:00"},
		// Fall back on 2026-11-01: 01:30 happens twice and fires once, the first time.
		{"daily 01:30 across autumn", "cron(30 1 * * ? *)", time.Date(2026, 10, 31, 12, 0, 0, 0, ny),
			"2026-11-01T01:30:00-04:00 2026-11-02T01:30:00-05:00"},
		// Every 30 minutes through the repeated hour: 01:00 and 01:30 once each.
		{"half-hourly across autumn", "cron(0/30 * * * ? *)", time.Date(2026, 11, 1, 0, 15, 0, 0, ny),
			"2026-11-01T00:30:00-04:00 2026-11-01T01:00:00-04:00 2026-11-01T01:30:00-04:00 2026-11-01T02:00:00-05:00"},
		// Hourly through the skipped hour: 01:00, then 03:00.
		{"hourly across spring", "cron(0 * * * ? *)", time.Date(2026, 3, 8, 0, 30, 0, 0, ny),
			"2026-03-08T01:00:00-05:00 2026-03-08T03:00:00-04:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := firings(t, c.expr, ny, c.from, len(strings.Fields(c.want))); got != c.want {
				t.Errorf("%s\n got %s\nwant %s", c.expr, got, c.want)
			}
		})
	}
}

func TestCronSpecialCharacters(t *testing.T) {
	utc := time.UTC
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, utc)
	for _, c := range []struct{ expr, want string }{
		// Last day of the month.
		{"cron(0 12 L * ? *)", "2026-01-31T12:00:00Z 2026-02-28T12:00:00Z 2026-03-31T12:00:00Z"},
		// Nearest weekday to the 15th: 2026-02-15 is a Sunday, so Monday the 16th; 2026-03-15 a Sunday too.
		{"cron(0 8 15W * ? *)", "2026-01-15T08:00:00Z 2026-02-16T08:00:00Z 2026-03-16T08:00:00Z"},
		// Third Friday (6 = Friday with 1 = Sunday).
		{"cron(0 10 ? * 6#3 *)", "2026-01-16T10:00:00Z 2026-02-20T10:00:00Z"},
		// Last Friday of the month.
		{"cron(0 10 ? * 6L *)", "2026-01-30T10:00:00Z 2026-02-27T10:00:00Z"},
		// Weekdays by number: 2-6 = Monday to Friday (2026-01-01 is a Thursday).
		{"cron(0 9 ? * 2-6 *)", "2026-01-01T09:00:00Z 2026-01-02T09:00:00Z 2026-01-05T09:00:00Z"},
		// By name.
		{"cron(0 9 ? * SUN *)", "2026-01-04T09:00:00Z 2026-01-11T09:00:00Z"},
		// 1 = Sunday.
		{"cron(0 9 ? * 1 *)", "2026-01-04T09:00:00Z"},
		// Years: only 2027, and nothing after.
		{"cron(0 0 1 1 ? 2027)", "2027-01-01T00:00:00Z none"},
		// Lists and ranges of minutes.
		{"cron(5,10 0-1 1 1 ? 2026)", "2026-01-01T00:05:00Z 2026-01-01T00:10:00Z 2026-01-01T01:05:00Z"},
	} {
		if got := firings(t, c.expr, utc, from, len(strings.Fields(c.want))); got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.expr, got, c.want)
		}
	}
}

func TestParseExpression(t *testing.T) {
	for _, ok := range []string{"rate(1 minute)", "rate(5 minutes)", "rate(2 hours)", "rate(1 day)",
		"at(2026-12-06T10:00:00)", "cron(0 12 * * ? *)", "cron(0 18 ? * MON-FRI *)"} {
		if _, err := ParseExpression(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"rate(0 minutes)", "rate(5 weeks)", "rate(x minutes)", "at(2026-13-06T10:00:00)",
		"at(2026-12-06 10:00)", "cron(0 12 * * *)", "cron(0 12 * * * *)", "cron(0 12 1 * 2 *)", "cron(0 12 ? * 8 *)",
		"cron(61 12 * * ? *)", "every 5 minutes", ""} {
		if _, err := ParseExpression(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	e, _ := ParseExpression("rate(5 minutes)")
	if e.Rate() != 5*time.Minute {
		t.Errorf("rate = %v", e.Rate())
	}
	e, _ = ParseExpression("at(2026-03-08T02:30:00)")
	if got := e.At(mustLoc(t, "Europe/Paris")).UTC().Format(time.RFC3339); got != "2026-03-08T01:30:00Z" {
		t.Errorf("at in Paris = %s", got)
	}
}
