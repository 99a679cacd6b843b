package conformance

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stepline/stepline/internal/jsonv"
)

// Equal reports whether mine matches the recorded value theirs: normalise.py's
// equal_modulo_placeholders, where a recorded string that is one of tokens or contains a <...>
// placeholder matches anything and object key order does not matter. Unlike Python, true does not
// equal 1: a boolean where AWS has a number is a real difference.
func Equal(mine, theirs jsonv.Value, tokens []string) bool {
	return diffAt("", mine, theirs, tokens) == nil
}

// difference is where two values first differ: a path such as output.items[2].name, and how.
type difference struct {
	path, detail string
}

func (d *difference) String() string {
	if d == nil {
		return ""
	}
	if d.path == "" {
		return d.detail
	}
	return d.path + ": " + d.detail
}

// wildcards are what LocalStack's snapshot transformers put in place of dates and times; the
// corpus's README says to treat them as matching anything. A whole value was replaced (a
// response header's list of values, too), so they match values of any type.
var wildcards = []string{"timestamp", "date", "datetime"}

func diffAt(path string, mine, theirs jsonv.Value, tokens []string) *difference {
	if s, ok := theirs.(string); ok && (slices.Contains(tokens, s) || slices.Contains(wildcards, s) || placeholderRE.MatchString(s)) {
		return nil
	}
	switch t := theirs.(type) {
	case *jsonv.Object:
		m, ok := mine.(*jsonv.Object)
		if !ok {
			break
		}
		for _, tm := range t.Members() {
			mv, ok := m.Get(tm.Key)
			if !ok {
				return &difference{join(path, tm.Key), "missing, want " + short(tm.Value)}
			}
			if s, ok := tm.Value.(string); ok && s == tm.Key {
				// LocalStack's key_value transformer replaced the value by its key's name (request
				// and trace ids of response headers): it stands for any value.
				continue
			}
			if d := diffAt(join(path, tm.Key), mv, tm.Value, tokens); d != nil {
				return d
			}
		}
		for _, mm := range m.Members() {
			if !t.Has(mm.Key) {
				return &difference{join(path, mm.Key), "unexpected, got " + short(mm.Value)}
			}
		}
		return nil
	case []jsonv.Value:
		m, ok := mine.([]jsonv.Value)
		if !ok {
			break
		}
		for i := range min(len(m), len(t)) {
			if d := diffAt(path+"["+strconv.Itoa(i)+"]", m[i], t[i], tokens); d != nil {
				return d
			}
		}
		if len(m) != len(t) {
			return &difference{path, fmt.Sprintf("%d elements, want %d", len(m), len(t))}
		}
		return nil
	default:
		if scalarEqual(mine, theirs) {
			return nil
		}
	}
	ms, ok1 := mine.(string)
	ts, ok2 := theirs.(string)
	if ok1 && ok2 {
		return &difference{path, diffStrings(ms, ts)}
	}
	return &difference{path, "got " + short(mine) + ", want " + short(theirs)}
}

// diffStrings shows two long strings from a little before where they part, since their common
// start (typically AWS's "An error occurred while executing the state ...") says nothing.
func diffStrings(got, want string) string {
	const context = 24
	p := 0
	for p < len(got) && p < len(want) && got[p] == want[p] {
		p++
	}
	from := max(p-context, 0)
	for from > 0 && !utf8.RuneStart(got[from]) {
		from--
	}
	if from == 0 {
		return "got " + short(got) + ", want " + short(want)
	}
	return "got …" + short(got[from:]) + ", want …" + short(want[from:])
}

func scalarEqual(a, b jsonv.Value) bool {
	switch a.(type) {
	case *jsonv.Object, []jsonv.Value:
		return false
	}
	return jsonv.Equal(a, b)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// short renders v for a one-line message.
func short(v jsonv.Value) string { return truncate(jsonv.String(v), 80) }

// truncate cuts s to at most limit bytes, on a character boundary.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// DiffEvents compares our normalised history with the recorded one and returns the first
// difference and, for grouping failures across cases, its category. Recorded events whose id is
// [0] are Parallel branch events that LocalStack sorted (see SortParallelBranches): each run of
// them is compared as a multiset with the run at the same place in ours.
func DiffEvents(mine, theirs []jsonv.Value, tokens []string) (detail, category string) {
	i, j := 0, 0
	for i < len(theirs) {
		if j >= len(mine) {
			return fmt.Sprintf("history ends after %d events; next recorded: %s", len(mine), describeEvent(theirs[i])),
				"history ends early; next recorded: " + eventType(theirs[i])
		}
		if isBranchEvent(theirs[i]) {
			ti, mj := runEnd(theirs, i), runEnd(mine, j)
			if d, cat := diffMultiset(mine[j:mj], theirs[i:ti], tokens); d != "" {
				return fmt.Sprintf("event %d: parallel branch events: %s", i+1, d), "parallel branch events: " + cat
			}
			i, j = ti, mj
			continue
		}
		if d, cat := diffEvent(mine[j], theirs[i], tokens); d != "" {
			return fmt.Sprintf("event %d: %s", i+1, d), cat
		}
		i++
		j++
	}
	if j < len(mine) {
		return fmt.Sprintf("%d extra events, first: %s", len(mine)-j, describeEvent(mine[j])),
			"extra events; first: " + eventType(mine[j])
	}
	return "", ""
}

// diffEvent compares two events; the category keeps the event type and the first two levels of
// the path (the details object and its field), below which paths are the case's own data.
func diffEvent(mine, theirs jsonv.Value, tokens []string) (detail, category string) {
	mt, tt := eventType(mine), eventType(theirs)
	if mt != tt {
		return fmt.Sprintf("got %s, want %s", describeEvent(mine), describeEvent(theirs)),
			fmt.Sprintf("got %s where AWS has %s", mt, tt)
	}
	d := diffAt("", mine, theirs, tokens)
	if d == nil {
		return "", ""
	}
	return tt + " " + d.String(), tt + " " + fieldOf(d.path, 2) + " " + differenceKind(d)
}

// fieldOf shortens a difference path to its first n keys, without array indexes.
func fieldOf(path string, n int) string {
	parts := strings.Split(path, ".")
	if len(parts) > n {
		parts = parts[:n]
	}
	for i, p := range parts {
		if k := strings.IndexByte(p, '['); k >= 0 {
			parts[i] = p[:k]
		}
	}
	return strings.Join(parts, ".")
}

// differenceKind says which way a value differs: missing, unexpected or different.
func differenceKind(d *difference) string {
	switch {
	case strings.HasPrefix(d.detail, "missing"):
		return "missing"
	case strings.HasPrefix(d.detail, "unexpected"):
		return "unexpected"
	}
	return "differs"
}

func eventType(e jsonv.Value) string {
	o, _ := e.(*jsonv.Object)
	return str(o, "type")
}

// describeEvent names an event by type and, when it has one, the state or iteration name.
func describeEvent(e jsonv.Value) string {
	o, _ := e.(*jsonv.Object)
	for _, m := range o.Members() {
		if d, ok := m.Value.(*jsonv.Object); ok {
			if name := str(d, "name"); name != "" {
				return eventType(e) + " " + strconv.Quote(name)
			}
		}
	}
	return eventType(e)
}

func isBranchEvent(e jsonv.Value) bool {
	o, _ := e.(*jsonv.Object)
	id, _ := get(o, "id").([]jsonv.Value)
	return len(id) == 1 && jsonv.Equal(id[0], jsonv.Number("0"))
}

func runEnd(events []jsonv.Value, from int) int {
	for from < len(events) && isBranchEvent(events[from]) {
		from++
	}
	return from
}

// diffMultiset looks for a one-to-one pairing of mine and theirs under Equal. Placeholders make
// Equal match more than one candidate, so a greedy pairing could fail where a full one exists:
// this uses augmenting paths (the runs are short).
func diffMultiset(mine, theirs []jsonv.Value, tokens []string) (detail, category string) {
	if len(mine) != len(theirs) {
		return fmt.Sprintf("%d events, want %d", len(mine), len(theirs)), "different number"
	}
	eq := make([][]bool, len(theirs))
	for ti := range theirs {
		eq[ti] = make([]bool, len(mine))
		for mi := range mine {
			eq[ti][mi] = Equal(mine[mi], theirs[ti], tokens)
		}
	}
	owner := make([]int, len(mine)) // theirs index paired with each of mine, or -1
	for i := range owner {
		owner[i] = -1
	}
	var try func(ti int, seen []bool) bool
	try = func(ti int, seen []bool) bool {
		for mi := range mine {
			if eq[ti][mi] && !seen[mi] {
				seen[mi] = true
				if owner[mi] < 0 || try(owner[mi], seen) {
					owner[mi] = ti
					return true
				}
			}
		}
		return false
	}
	for ti := range theirs {
		if try(ti, make([]bool, len(mine))) {
			continue
		}
		// Explain with the closest candidate: the first of ours of the same type.
		for mi := range mine {
			if eventType(mine[mi]) != eventType(theirs[ti]) {
				continue
			}
			if d, cat := diffEvent(mine[mi], theirs[ti], tokens); d != "" {
				return "no match for " + describeEvent(theirs[ti]) + ", e.g. " + d, cat
			}
		}
		return "no match for " + describeEvent(theirs[ti]), "no " + eventType(theirs[ti])
	}
	return "", ""
}
