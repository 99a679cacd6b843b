package conformance

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// Tally counts outcomes.
type Tally struct {
	Cases, Run, Match, Skipped int
	// HistoryRecorded counts run cases with a recorded history, HistoryMatch those that also
	// matched it.
	HistoryRecorded, HistoryMatch int
	// MessageCompared and MessageMatch count definition cases by exact message.
	MessageCompared, MessageMatch int
	// LogsRecorded counts run cases with recorded execution logs, LogsMatch those whose logs
	// matched.
	LogsRecorded, LogsMatch int
}

func (t *Tally) add(o Outcome) {
	t.Cases++
	if o.Skip != "" {
		t.Skipped++
		return
	}
	t.Run++
	t.Match += b2i(o.Match)
	t.HistoryRecorded += b2i(o.HistoryRecorded)
	t.HistoryMatch += b2i(o.HistoryMatch)
	t.MessageCompared += b2i(o.MessageCompared)
	t.MessageMatch += b2i(o.MessageMatch)
	t.LogsRecorded += b2i(o.LogsRecorded)
	t.LogsMatch += b2i(o.LogsMatch)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// PassRate is the share of run cases that matched; 1 when nothing ran.
func (t Tally) PassRate() float64 { return rate(t.Match, t.Run) }

// HistoryRate is the share of run cases with a recorded history that matched it.
func (t Tally) HistoryRate() float64 { return rate(t.HistoryMatch, t.HistoryRecorded) }

func rate(n, of int) float64 {
	if of == 0 {
		return 1
	}
	return float64(n) / float64(of)
}

// Total tallies all outcomes.
func Total(outcomes []Outcome) Tally {
	var t Tally
	for _, o := range outcomes {
		t.add(o)
	}
	return t
}

// Requiring returns the outcomes of the cases that need service (and possibly others), which
// are the judge of its integration.
func Requiring(outcomes []Outcome, service string) []Outcome {
	var out []Outcome
	for _, o := range outcomes {
		if slices.Contains(o.Case.Requires, service) {
			out = append(out, o)
		}
	}
	return out
}

// WriteReport writes the per-group table, the skip reasons and the most common kinds of failure;
// with verbose, also every failing case with its first difference.
func WriteReport(w io.Writer, outcomes []Outcome, verbose bool) {
	groups := map[string]*Tally{}
	for _, o := range outcomes {
		g := groups[o.Case.Group]
		if g == nil {
			g = &Tally{}
			groups[o.Case.Group] = g
		}
		g.add(o)
	}
	total := Total(outcomes)

	fmt.Fprintln(w, "ASL conformance (cases recorded against AWS)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "group\tcases\trun\tstatus/output/error/cause\thistory\tskipped\t")
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		writeRow(tw, name, *groups[name])
	}
	writeRow(tw, "total", total)
	tw.Flush()
	for _, svc := range served {
		if t := Total(Requiring(outcomes, svc)); t.Cases > 0 {
			fmt.Fprintf(w, "cases that need %s: %d, run %d, status/output/error/cause %d (%.1f%%), history %d/%d\n",
				svc, t.Cases, t.Run, t.Match, 100*t.PassRate(), t.HistoryMatch, t.HistoryRecorded)
		}
	}
	if total.LogsRecorded > 0 {
		fmt.Fprintf(w, "execution logs (logged_events, end_log_event): %d/%d match\n", total.LogsMatch, total.LogsRecorded)
	}
	if total.MessageCompared > 0 {
		fmt.Fprintf(w, "definition cases: exact messages match %d/%d\n", total.MessageMatch, total.MessageCompared)
	}

	skips := map[string]int{}
	for _, o := range outcomes {
		if o.Skip != "" {
			skips[o.Skip]++
		}
	}
	fmt.Fprintf(w, "\nskipped (%d):\n", total.Skipped)
	writeCounts(w, skips, nil)

	fails, histFails := map[string]int{}, map[string]int{}
	examples := map[string][]string{}
	for _, o := range outcomes {
		switch {
		case o.Skip != "":
		case !o.Match:
			fails[o.Category]++
			examples[o.Category] = append(examples[o.Category], o.Case.Name)
		case o.HistoryRecorded && !o.HistoryMatch:
			histFails[o.HistoryCategory]++
			examples[o.HistoryCategory] = append(examples[o.HistoryCategory], o.Case.Name)
		}
	}
	fmt.Fprintf(w, "\nfailures by first difference (%d):\n", total.Run-total.Match)
	writeCounts(w, fails, examples)
	fmt.Fprintf(w, "\nhistory-only failures by first difference (%d):\n", sum(histFails))
	writeCounts(w, histFails, examples)

	if !verbose {
		return
	}
	fmt.Fprintln(w, "\nfailing cases:")
	for _, o := range outcomes {
		switch {
		case o.Skip != "":
		case !o.Match:
			fmt.Fprintf(w, "FAIL    %s: %s\n", o.Case.Name, o.Mismatch)
		case o.HistoryRecorded && !o.HistoryMatch:
			fmt.Fprintf(w, "HISTORY %s: %s\n", o.Case.Name, o.HistoryMismatch)
		case o.MessageCompared && !o.MessageMatch:
			fmt.Fprintf(w, "MESSAGE %s: %s\n", o.Case.Name, o.MessageMismatch)
		}
		if o.LogsRecorded && !o.LogsMatch {
			fmt.Fprintf(w, "LOGS    %s: %s\n", o.Case.Name, o.LogsMismatch)
		}
	}
}

func writeRow(w io.Writer, name string, t Tally) {
	match, hist := "-", "-"
	if t.Run > 0 {
		match = fmt.Sprintf("%d (%.1f%%)", t.Match, 100*t.PassRate())
	}
	if t.HistoryRecorded > 0 {
		hist = fmt.Sprintf("%d/%d", t.HistoryMatch, t.HistoryRecorded)
	}
	fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%d\t\n", name, t.Cases, t.Run, match, hist, t.Skipped)
}

// writeCounts lists counts by decreasing count, with up to two example cases when given.
func writeCounts(w io.Writer, counts map[string]int, examples map[string][]string) {
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(a, b))
	})
	for _, k := range keys {
		line := fmt.Sprintf("%6d  %s", counts[k], k)
		if ex := examples[k]; len(ex) > 0 {
			line += "  [e.g. " + strings.Join(ex[:min(2, len(ex))], ", ") + "]"
		}
		fmt.Fprintln(w, line)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
