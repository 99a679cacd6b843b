package conformance

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

// The account and region every case runs with: the fake ARNs of the corpus use them.
const (
	Account = "111111111111"
	Region  = "us-east-1"
)

// iso8601 is normalise.py's ISO8601 pattern; it needs no conversion for Go.
const iso8601 = `(?:[1-9]\d{3}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)` +
	`|(?:[1-9]\d(?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[13579][26])00)-02-29)` +
	`T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-][01]\d:?([0-5]\d)?)`

var (
	isoRE       = regexp.MustCompile(iso8601)
	isoPrefixRE = regexp.MustCompile(`^` + iso8601) // Python's re.match anchors at the start only
	uuidRE      = regexp.MustCompile(`^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}`)
	// Python's \s also covers \v, the information separators, NEL and Unicode spaces.
	placeholderRE = regexp.MustCompile(`<[^<>\s\v\x1c-\x1f\x85\p{Z}]+>`)
)

// Normaliser re-creates LocalStack's snapshot normalisation for one case (normalise.py and the
// README's "Placeholders" section): decoding of JSON-object strings, the case's JSONPath
// transformers, the timestamp and UUID key rules, then text replacements over Python's JSON text.
type Normaliser struct {
	reps     []replacement
	paths    []pathRule
	parallel bool
	// Tokens stand for values generated at run time (context.normalization.runtime_value_placeholders);
	// like <...> tokens they match anything.
	Tokens []string
}

type replacement struct {
	re      *regexp.Regexp // nil: replace literal
	literal string
	with    string
}

func (r replacement) apply(text string) string {
	if r.re == nil {
		return strings.ReplaceAll(text, r.literal, r.with)
	}
	return r.re.ReplaceAllLiteralString(text, r.with)
}

// newReplacement compiles a Python pattern; like normalise.py, a pattern that does not compile is
// replaced literally instead.
func newReplacement(pattern, with string) replacement {
	re, err := regexp.Compile(pyToGoRegexp(pattern))
	if err != nil {
		return replacement{literal: pattern, with: with}
	}
	return replacement{re: re, with: with}
}

// pyToGoRegexp rewrites the Python syntax that RE2 spells differently. What RE2 lacks altogether
// (lookaround, backreferences) fails to compile and falls back to literal replacement, which no
// pattern of the corpus needs.
func pyToGoRegexp(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '\\' || i+1 == len(p) {
			b.WriteByte(p[i])
			continue
		}
		i++
		if p[i] == 'Z' { // Python's end of text
			b.WriteString(`\z`)
			continue
		}
		b.WriteByte('\\')
		b.WriteByte(p[i])
	}
	return b.String()
}

var globalReplacements = []replacement{
	// normalise.py's account rule maps 111111111111 to itself, so it is left out.
	newReplacement(Region, "<region>"),
	newReplacement("arn:aws:", "arn:<partition>:"),
}

var dateReplacement = replacement{re: isoRE, with: "date"}

// NewNormaliser builds the normaliser for a case's context.normalization.
func NewNormaliser(norm *jsonv.Object) (*Normaliser, error) {
	n := &Normaliser{Tokens: stringList(get(norm, "runtime_value_placeholders"))}
	reps, _ := get(norm, "replacements").([]jsonv.Value)
	for _, r := range reps {
		o, _ := r.(*jsonv.Object)
		n.reps = append(n.reps, newReplacement(str(o, "regex"), str(o, "replacement")))
	}
	if b, _ := get(norm, "parallel_branch_events_sorted").(bool); b {
		n.parallel = true
	}
	transformers, _ := get(norm, "other_transformers").([]jsonv.Value)
	// LocalStack applies transformers by priority; the stable sort keeps equal ones in order.
	transformers = slices.Clone(transformers)
	slices.SortStableFunc(transformers, func(a, b jsonv.Value) int {
		return cmp.Compare(priority(a), priority(b))
	})
	for _, t := range transformers {
		o, _ := t.(*jsonv.Object)
		switch str(o, "type") {
		case "parallel_events_normalizer":
			n.parallel = true
		case "jsonpath":
			if ref, _ := get(o, "replace_reference").(bool); ref {
				// The recorded values became <replacement:N> tokens, which match anything.
				continue
			}
			steps, err := parseSimplePath(str(o, "jsonpath"))
			if err != nil {
				return nil, err
			}
			n.paths = append(n.paths, pathRule{steps: steps, with: str(o, "replacement")})
		}
		// utility transformers produce <...> tokens and generic_fn ones belong to variables
		// cases; neither needs replaying on our side.
	}
	return n, nil
}

func priority(t jsonv.Value) float64 {
	o, _ := t.(*jsonv.Object)
	n, _ := get(o, "priority").(jsonv.Number)
	return n.Float64()
}

// Normalise applies the whole pipeline to v and returns the result as the corpus holds it.
func (n *Normaliser) Normalise(v jsonv.Value) (jsonv.Value, error) {
	v = snapshotDecode(v)
	if n.parallel {
		v = applyAtKey(v, "events", func(x jsonv.Value) jsonv.Value {
			if events, ok := x.([]jsonv.Value); ok {
				return SortParallelBranches(events)
			}
			return x
		})
	}
	for _, p := range n.paths {
		v = p.apply(v)
	}
	var uuids []string
	v = keyRules(v, &uuids)
	text := pyDumps(v)
	for _, r := range n.reps {
		text = r.apply(text)
	}
	for _, r := range globalReplacements {
		text = r.apply(text)
	}
	for i, u := range uuids {
		text = strings.ReplaceAll(text, u, "<uuid:"+strconv.Itoa(i+1)+">")
	}
	text = dateReplacement.apply(text)
	out, err := jsonv.ParseString(text)
	if err != nil {
		return nil, fmt.Errorf("normalised text is not JSON: %w", err)
	}
	return out, nil
}

// NormaliseText normalises a bare string (an error message, say) with the text replacements only.
func (n *Normaliser) NormaliseText(s string) string {
	v, err := n.Normalise(s)
	if t, ok := v.(string); ok && err == nil {
		return t
	}
	return s
}

// snapshotDecode replaces string values of objects that start with '{' and parse as JSON by the
// parsed value. Strings directly in arrays, and anything inside a decoded value, stay as they are.
func snapshotDecode(v jsonv.Value) jsonv.Value {
	switch v := v.(type) {
	case *jsonv.Object:
		out := jsonv.NewObject(v.Len())
		for _, m := range v.Members() {
			x := m.Value
			switch mv := x.(type) {
			case *jsonv.Object, []jsonv.Value:
				x = snapshotDecode(mv)
			case string:
				if strings.HasPrefix(mv, "{") {
					if d, err := jsonv.ParseString(mv); err == nil {
						x = d
					}
				}
			}
			out.Set(m.Key, x)
		}
		return out
	case []jsonv.Value:
		out := make([]jsonv.Value, len(v))
		for i, e := range v {
			if o, ok := e.(*jsonv.Object); ok {
				out[i] = snapshotDecode(o)
			} else {
				out[i] = e
			}
		}
		return out
	}
	return v
}

// keyRules turns values under timestamp keys into "timestamp" (unless they are ISO-8601 strings)
// and collects, in order of first appearance, UUIDs under keys ending in "id" for numbering.
func keyRules(v jsonv.Value, uuids *[]string) jsonv.Value {
	switch v := v.(type) {
	case *jsonv.Object:
		out := jsonv.NewObject(v.Len())
		for _, m := range v.Members() {
			x := m.Value
			s, isStr := x.(string)
			switch {
			case isTimestampKey(m.Key) && !(isStr && isoPrefixRE.MatchString(s)):
				x = "timestamp"
			case isStr && strings.HasSuffix(strings.ToLower(m.Key), "id") && uuidRE.MatchString(s):
				if !slices.Contains(*uuids, s) {
					*uuids = append(*uuids, s)
				}
			case isObjectOrArray(x):
				x = keyRules(x, uuids)
			}
			out.Set(m.Key, x)
		}
		return out
	case []jsonv.Value:
		// Only objects directly in an array are visited, as in normalise.py.
		out := make([]jsonv.Value, len(v))
		for i, e := range v {
			if o, ok := e.(*jsonv.Object); ok {
				out[i] = keyRules(o, uuids)
			} else {
				out[i] = e
			}
		}
		return out
	}
	return v
}

func isTimestampKey(k string) bool {
	return strings.Contains(strings.ToLower(k), "timestamp") || k == "creationTime" || k == "ingestionTime"
}

func isObjectOrArray(v jsonv.Value) bool {
	switch v.(type) {
	case *jsonv.Object, []jsonv.Value:
		return true
	}
	return false
}

// SortParallelBranches ports LocalStack's SfnNoneRecursiveParallelTransformer, quirks included:
// after each ParallelStateStarted the events up to the next ParallelState{Succeeded,Failed,
// Aborted,Exited} get id [0] and previousEventId 0 and are sorted by their JSON text; a second
// terminator re-sorts the same events over a range one longer, which drops the first terminator
// (and, as the Python loop then skips an element, can drop more in nested Parallels). Running our
// events through the same code makes the recorded and our histories line up.
func SortParallelBranches(events []jsonv.Value) []jsonv.Value {
	events = slices.Clone(events)
	start := 0 // Python's events[None:i] is events[0:i]
	var sub []jsonv.Value
	inSub := false
	for i := 0; i < len(events); i++ {
		o, _ := events[i].(*jsonv.Object)
		typ, ok := get(o, "type").(string)
		switch {
		case !ok:
			inSub = false
		case typ == "ParallelStateSucceeded" || typ == "ParallelStateAborted" ||
			typ == "ParallelStateExited" || typ == "ParallelStateFailed":
			sorted := slices.Clone(sub)
			slices.SortStableFunc(sorted, func(a, b jsonv.Value) int { return strings.Compare(pyDumps(a), pyDumps(b)) })
			events = slices.Replace(events, start, i, sorted...)
			inSub = false
		case typ == "ParallelStateStarted":
			inSub, sub, start = true, nil, i+1
		case inSub:
			o = o.With("id", []jsonv.Value{jsonv.Number("0")}).With("previousEventId", jsonv.Number("0"))
			events[i] = o
			sub = append(sub, o)
		}
	}
	return events
}

// applyAtKey replaces every value under key, at any depth, by f(value).
func applyAtKey(v jsonv.Value, key string, f func(jsonv.Value) jsonv.Value) jsonv.Value {
	return descend(v, pathStep{name: key, anyDepth: true}, f)
}

// pathStep is one step of the JSONPath subset the corpus's transformers use: $..name and $.name
// chains.
type pathStep struct {
	name     string
	anyDepth bool
}

type pathRule struct {
	steps []pathStep
	with  string
}

func (r pathRule) apply(v jsonv.Value) jsonv.Value {
	return applySteps(v, r.steps, func(jsonv.Value) jsonv.Value { return r.with })
}

func parseSimplePath(p string) ([]pathStep, error) {
	rest, ok := strings.CutPrefix(p, "$")
	if !ok {
		return nil, fmt.Errorf("unsupported JSONPath transformer %q", p)
	}
	var steps []pathStep
	for rest != "" {
		step := pathStep{}
		switch {
		case strings.HasPrefix(rest, ".."):
			step.anyDepth, rest = true, rest[2:]
		case strings.HasPrefix(rest, "."):
			rest = rest[1:]
		default:
			return nil, fmt.Errorf("unsupported JSONPath transformer %q", p)
		}
		end := strings.IndexByte(rest, '.')
		if end < 0 {
			end = len(rest)
		}
		step.name, rest = rest[:end], rest[end:]
		if step.name == "" || strings.ContainsAny(step.name, "[]*()?@'\"") {
			return nil, fmt.Errorf("unsupported JSONPath transformer %q", p)
		}
		steps = append(steps, step)
	}
	return steps, nil
}

// applySteps replaces what the steps select by f(selected), the way jsonpath_ng's update does.
func applySteps(v jsonv.Value, steps []pathStep, f func(jsonv.Value) jsonv.Value) jsonv.Value {
	if len(steps) == 0 {
		return f(v)
	}
	return descend(v, steps[0], func(x jsonv.Value) jsonv.Value { return applySteps(x, steps[1:], f) })
}

// descend applies then to each value the step selects in v: the member name of v, or with
// anyDepth the member name of v and of everything below it.
func descend(v jsonv.Value, step pathStep, then func(jsonv.Value) jsonv.Value) jsonv.Value {
	switch v := v.(type) {
	case *jsonv.Object:
		out := jsonv.NewObject(v.Len())
		for _, m := range v.Members() {
			x := m.Value
			if step.anyDepth {
				x = descend(x, step, then)
			}
			if m.Key == step.name {
				x = then(x)
			}
			out.Set(m.Key, x)
		}
		return out
	case []jsonv.Value:
		if !step.anyDepth {
			return v
		}
		out := make([]jsonv.Value, len(v))
		for i, e := range v {
			out[i] = descend(e, step, then)
		}
		return out
	}
	return v
}
