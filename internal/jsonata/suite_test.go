package jsonata

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/jsonv"
	"github.com/stepline/stepline/internal/testreport"
)

// The reference implementation's test suite lives outside the repository (see
// /work/shared/jsonata-suite/README.md); the path is relative to this package directory.
const suiteDir = "../../../shared/jsonata-suite"

// suiteMemory is the memory budget the suite runs with. The suite tests the language, and two
// of its cases build the largest range the reference allows (1e7 numbers, about 240 MB here),
// which DefaultMaxMemory refuses by design (see TestMemoryLimit).
const suiteMemory = 512 << 20

// suiteTarget is the pass rate below which TestSuite fails.
const suiteTarget = 0.98

type suiteCase struct {
	group, name string
	expr        string
	input       jsonv.Value
	noInput     bool
	bindings    map[string]jsonv.Value
	maxSteps    int
	depth       int
	result      jsonv.Value
	hasResult   bool
	undefined   bool
	code        string
	token       string
	message     string
	unordered   bool
}

func loadSuite(t testing.TB) []suiteCase {
	t.Helper()
	if _, err := os.Stat(filepath.Join(suiteDir, "groups")); err != nil {
		msg := fmt.Sprintf("JSONata test suite not found at %s (%v); it is not part of the repository", suiteDir, err)
		if werr := testreport.Write([]byte("\nJSONata reference suite: skipped: " + msg + "\n")); werr != nil {
			t.Error(werr)
		}
		t.Skip(msg)
	}
	cases, err := readSuite()
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// readSuite reads every case of the suite.
func readSuite() ([]suiteCase, error) {
	datasets := map[string]jsonv.Value{}
	files, err := filepath.Glob(filepath.Join(suiteDir, "datasets", "*.json"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		v, err := jsonv.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		datasets[strings.TrimSuffix(filepath.Base(f), ".json")] = v
	}
	caseFiles, err := filepath.Glob(filepath.Join(suiteDir, "groups", "*", "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(caseFiles)
	var cases []suiteCase
	for _, f := range caseFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		v, err := jsonv.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		group := filepath.Base(filepath.Dir(f))
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		list, isList := v.([]jsonv.Value)
		if !isList {
			list = []jsonv.Value{v}
		}
		for i, item := range list {
			o := item.(*jsonv.Object)
			c := suiteCase{group: group, name: name}
			if isList {
				c.name = fmt.Sprintf("%s[%d]", name, i)
			}
			if e, ok := o.Get("expr"); ok {
				c.expr = e.(string)
			} else if ef, ok := o.Get("expr-file"); ok {
				src, err := os.ReadFile(filepath.Join(filepath.Dir(f), ef.(string)))
				if err != nil {
					return nil, err
				}
				c.expr = string(src)
			}
			if d, ok := o.Get("data"); ok {
				c.input = d
			} else if ds, ok := o.Get("dataset"); ok && ds != nil {
				c.input = datasets[ds.(string)]
			} else {
				c.noInput = true
			}
			if b, ok := o.Get("bindings"); ok {
				if bo, ok := b.(*jsonv.Object); ok && bo.Len() > 0 {
					c.bindings = map[string]jsonv.Value{}
					for _, m := range bo.Members() {
						c.bindings[m.Key] = m.Value
					}
				}
			}
			if tl, ok := o.Get("timelimit"); ok {
				ms, _ := tl.(jsonv.Number).Int64()
				// The suite bounds cases in time; a step is well under a tenth of a
				// microsecond of the reference's time.
				c.maxSteps = int(ms) * 10_000
			}
			if d, ok := o.Get("depth"); ok {
				n, _ := d.(jsonv.Number).Int64()
				c.depth = int(n)
			}
			if r, ok := o.Get("result"); ok {
				c.result, c.hasResult = r, true
			}
			if u, ok := o.Get("undefinedResult"); ok && u == true {
				c.undefined = true
			}
			if code, ok := o.Get("code"); ok {
				c.code = code.(string)
			}
			if tok, ok := o.Get("token"); ok {
				c.token, _ = tok.(string)
			}
			if e, ok := o.Get("error"); ok {
				eo := e.(*jsonv.Object)
				if code, ok := eo.Get("code"); ok {
					c.code = code.(string)
				}
				if tok, ok := eo.Get("token"); ok {
					c.token, _ = tok.(string)
				}
				if msg, ok := eo.Get("message"); ok {
					c.message, _ = msg.(string)
				}
			}
			if u, ok := o.Get("unordered"); ok && u == true {
				c.unordered = true
			}
			cases = append(cases, c)
		}
	}
	return cases, nil
}

// run evaluates one case and returns "" on success or why it failed.
func (c *suiteCase) run() string {
	expr, err := Compile(c.expr)
	var got jsonv.Value
	var defined bool
	if err == nil {
		opts := &EvalOptions{Bindings: c.bindings, NoInput: c.noInput, MaxDepth: c.depth, MaxSteps: c.maxSteps,
			MaxMemory: suiteMemory}
		got, defined, err = expr.Eval(context.Background(), c.input, opts)
	}
	if c.code != "" {
		var je *Error
		if !errors.As(err, &je) {
			if err != nil {
				return fmt.Sprintf("want error %s, got %v", c.code, err)
			}
			return fmt.Sprintf("want error %s, got result %s (defined %v)", c.code, jsonv.String(got), defined)
		}
		if je.Code != c.code {
			return fmt.Sprintf("want error %s, got %s: %s", c.code, je.Code, je.Message)
		}
		if c.token != "" && je.Token != c.token {
			return fmt.Sprintf("want token %q, got %q", c.token, je.Token)
		}
		if c.message != "" && je.Message != c.message {
			return fmt.Sprintf("want message %q, got %q", c.message, je.Message)
		}
		return ""
	}
	if err != nil {
		return fmt.Sprintf("unexpected error: %v", err)
	}
	if c.undefined {
		if defined {
			return fmt.Sprintf("want undefined, got %s", jsonv.String(got))
		}
		return ""
	}
	if !c.hasResult {
		return ""
	}
	if !defined {
		return fmt.Sprintf("want %s, got undefined", jsonv.String(c.result))
	}
	if !suiteEqual(c.result, got, c.unordered) {
		return fmt.Sprintf("want %s, got %s", jsonv.String(c.result), jsonv.String(got))
	}
	return ""
}

// suiteEqual compares as the suite's runner does: numbers by value, object members in any
// order, and top-level arrays in any order when the case says so.
func suiteEqual(want, got jsonv.Value, unordered bool) bool {
	if unordered {
		wa, ok1 := want.([]jsonv.Value)
		ga, ok2 := got.([]jsonv.Value)
		if ok1 && ok2 && len(wa) == len(ga) {
			used := make([]bool, len(ga))
		next:
			for _, w := range wa {
				for i, g := range ga {
					if !used[i] && suiteEqual(w, g, false) {
						used[i] = true
						continue next
					}
				}
				return false
			}
			return true
		}
	}
	switch w := want.(type) {
	case jsonv.Number:
		g, ok := got.(jsonv.Number)
		if !ok {
			return false
		}
		wf, gf := w.Float64(), g.Float64()
		return wf == gf
	case []jsonv.Value:
		g, ok := got.([]jsonv.Value)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !suiteEqual(w[i], g[i], false) {
				return false
			}
		}
		return true
	case *jsonv.Object:
		g, ok := got.(*jsonv.Object)
		if !ok || g.Len() != w.Len() {
			return false
		}
		for _, m := range w.Members() {
			gv, ok := g.Get(m.Key)
			if !ok || !suiteEqual(m.Value, gv, false) {
				return false
			}
		}
		return true
	}
	return jsonv.Equal(want, got)
}

func TestSuite(t *testing.T) {
	cases := loadSuite(t)
	type tally struct{ pass, fail, skip int }
	groups := map[string]*tally{}
	var names []string
	var failures []string
	total := tally{}
	for i := range cases {
		c := &cases[i]
		g := groups[c.group]
		if g == nil {
			g = &tally{}
			groups[c.group] = g
			names = append(names, c.group)
		}
		if strings.Contains(c.expr, "$eval") {
			g.skip++
			total.skip++
			continue
		}
		if why := c.run(); why != "" {
			g.fail++
			total.fail++
			failures = append(failures, fmt.Sprintf("%s/%s: %s\n    expr: %s", c.group, c.name, why, c.expr))
		} else {
			g.pass++
			total.pass++
		}
	}
	sort.Strings(names)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-32s %6s %6s %6s %8s\n", "group", "pass", "fail", "skip", "rate")
	for _, n := range names {
		g := groups[n]
		rate := 100.0
		if g.pass+g.fail > 0 {
			rate = 100 * float64(g.pass) / float64(g.pass+g.fail)
		}
		fmt.Fprintf(&sb, "%-32s %6d %6d %6d %7.1f%%\n", n, g.pass, g.fail, g.skip, rate)
	}
	rate := float64(total.pass) / float64(total.pass+total.fail)
	var report strings.Builder
	fmt.Fprintf(&report, "\nJSONata reference suite (v2.0.6) by group:\n%s", sb.String())
	if len(failures) > 0 {
		fmt.Fprintf(&report, "failing cases:\n%s\n", strings.Join(failures, "\n"))
	}
	fmt.Fprintf(&report, "JSONata suite total: %d/%d passed (%.2f%%), %d skipped (use $eval, which Step Functions does not provide)\n",
		total.pass, total.pass+total.fail, 100*rate, total.skip)
	if err := testreport.Write([]byte(report.String())); err != nil {
		t.Error(err)
	}
	if rate < suiteTarget {
		t.Errorf("pass rate %.2f%% is below the %.0f%% target", 100*rate, 100*suiteTarget)
	}
}
