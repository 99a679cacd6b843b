package scheduler

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/cronexpr"
)

// Expression is a parsed schedule expression: cron(…), rate(…) or at(…).
type Expression struct {
	// Kind is "cron", "rate" or "at".
	Kind string
	cron *cronexpr.Expression
	// rate is the interval of a rate().
	rate time.Duration
	// atLocal is at()'s wall-clock text, resolved in a zone by Next.
	atLocal string
}

var (
	rateRE = regexp.MustCompile(`^rate\((\d+) (minutes?|hours?|days?)\)$`)
	atRE   = regexp.MustCompile(`^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$`)
	cronRE = regexp.MustCompile(`^cron\((.*)\)$`)
)

// ParseExpression parses a ScheduleExpression as EventBridge Scheduler takes it. AWS's cron
// has six fields (minutes hours day-of-month month day-of-week year) with ?, L, W and #, one of
// the day fields being ?, and numbers its days of the week from 1 = Sunday.
func ParseExpression(s string) (*Expression, error) {
	if m := rateRE.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n <= 0 || n > 1000000 {
			return nil, fmt.Errorf("invalid rate value %s", m[1])
		}
		unit := time.Minute
		switch {
		case strings.HasPrefix(m[2], "hour"):
			unit = time.Hour
		case strings.HasPrefix(m[2], "day"):
			unit = 24 * time.Hour
		}
		return &Expression{Kind: "rate", rate: time.Duration(n) * unit}, nil
	}
	if m := atRE.FindStringSubmatch(s); m != nil {
		if _, err := time.Parse("2006-01-02T15:04:05", m[1]); err != nil {
			return nil, fmt.Errorf("invalid at() date %s", m[1])
		}
		return &Expression{Kind: "at", atLocal: m[1]}, nil
	}
	if m := cronRE.FindStringSubmatch(s); m != nil {
		fields := strings.Fields(m[1])
		if len(fields) != 6 {
			return nil, fmt.Errorf("a cron expression has 6 fields, not %d", len(fields))
		}
		dom, dow := fields[2], fields[4]
		if (dom == "?") == (dow == "?") {
			return nil, fmt.Errorf("one of the day-of-month and day-of-week fields must be ?, and only one")
		}
		shifted, err := shiftDayOfWeek(dow)
		if err != nil {
			return nil, err
		}
		fields[4] = shifted
		c, err := cronexpr.Parse(strings.Join(fields, " "))
		if err != nil {
			return nil, fmt.Errorf("invalid cron expression: %w", err)
		}
		return &Expression{Kind: "cron", cron: c}, nil
	}
	return nil, fmt.Errorf("not a cron(), rate() or at() expression")
}

// shiftDayOfWeek renumbers a day-of-week field from AWS's 1 = Sunday to cronexpr's 0 = Sunday:
// each day number shifts, not the n of d#n nor a step.
func shiftDayOfWeek(f string) (string, error) {
	if f == "?" || f == "*" {
		return f, nil
	}
	shift := func(d string) (string, error) {
		if d == "" || d == "*" || !isDigits(d) {
			return d, nil // names (MON) and * need no change
		}
		n, _ := strconv.Atoi(d)
		if n < 1 || n > 7 {
			return "", fmt.Errorf("day of week %d outside 1-7", n)
		}
		return strconv.Itoa(n - 1), nil
	}
	parts := strings.Split(f, ",")
	for i, p := range parts {
		var suffix string
		if j := strings.IndexAny(p, "#/"); j >= 0 {
			p, suffix = p[:j], p[j:]
		} else if strings.HasSuffix(p, "L") {
			p, suffix = p[:len(p)-1], "L"
		}
		lo, hi, isRange := strings.Cut(p, "-")
		a, err := shift(lo)
		if err != nil {
			return "", err
		}
		if isRange {
			b, err := shift(hi)
			if err != nil {
				return "", err
			}
			a += "-" + b
		}
		parts[i] = a + suffix
	}
	return strings.Join(parts, ","), nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// At returns an at() expression's instant in loc.
func (e *Expression) At(loc *time.Location) time.Time {
	t, _ := time.ParseInLocation("2006-01-02T15:04:05", e.atLocal, loc)
	return t
}

// Rate returns a rate() expression's interval.
func (e *Expression) Rate() time.Duration { return e.rate }

// NextCron returns the first instant strictly after `after` that the cron expression names in
// loc, or the zero time when there is none. Across daylight saving time it does what
// EventBridge Scheduler does: a wall-clock time the spring change skips is not fired that day,
// and one the autumn change repeats fires once, at its first occurrence.
//
// The expression is evaluated on the wall clock (as UTC, which has no changes), and each
// wall-clock time it names is then placed in loc: cron libraries stepping through a zone's
// changes themselves are where DST bugs live.
func (e *Expression) NextCron(after time.Time, loc *time.Location) time.Time {
	w := wall(after.In(loc))
	for range 10000 {
		w = e.cron.Next(w)
		if w.IsZero() {
			return w
		}
		t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
		if !wall(t).Equal(w) {
			continue // skipped by the spring change
		}
		// Of a repeated time (the autumn change) the first occurrence only.
		for _, d := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
			if p := t.Add(-d); wall(p).Equal(w) {
				t = p
				break
			}
		}
		if t.After(after) {
			return t.UTC()
		}
	}
	return time.Time{}
}

// wall is t's wall-clock reading as a UTC time.
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}
