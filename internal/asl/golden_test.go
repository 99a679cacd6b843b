package asl

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/jsonv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestModelGolden parses testdata/models/*.json and compares a dump of the model with the
// .golden file beside it (go test -run TestModelGolden -update rewrites them).
func TestModelGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "models", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no model definitions: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			def, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sm, err := Parse(def, ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := dumpMachine(sm)
			golden := strings.TrimSuffix(file, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("model differs from %s (run with -update to accept):\n%s", golden, got)
			}
		})
	}
}

// dumpMachine renders a model as indented text, one field per line, omitting zero values.
func dumpMachine(sm *StateMachine) string {
	var b strings.Builder
	fmt.Fprintf(&b, "StateMachine Version=%q TimeoutSeconds=%d\n", sm.Version, sm.TimeoutSeconds)
	refs := sm.VariableReferences()
	for _, name := range slices.Sorted(maps.Keys(refs)) {
		fmt.Fprintf(&b, "VariableReferences %s=%v\n", name, refs[name])
	}
	dumpScope(&b, &sm.Machine, "")
	return b.String()
}

func dumpScope(b *strings.Builder, m *Machine, indent string) {
	fmt.Fprintf(b, "%sMachine StartAt=%q QueryLanguage=%s Comment=%q\n", indent, m.StartAt, m.QueryLanguage, m.Comment)
	if m.Processor != nil {
		fmt.Fprintf(b, "%s  Processor Mode=%s ExecutionType=%q\n", indent, m.Processor.Mode, m.Processor.ExecutionType)
	}
	for _, name := range m.Order {
		dumpState(b, m.States[name], indent+"  ")
	}
}

func dumpState(b *strings.Builder, s *State, indent string) {
	line := func(format string, args ...any) { fmt.Fprintf(b, indent+"  "+format+"\n", args...) }
	fmt.Fprintf(b, "%sState %q Type=%s QueryLanguage=%s Next=%q End=%v\n", indent, s.Name, s.Type, s.QueryLanguage, s.Next, s.End)
	for _, f := range []struct {
		name string
		p    OptPath
	}{{"InputPath", s.InputPath}, {"OutputPath", s.OutputPath}, {"ResultPath", s.ResultPath}} {
		switch {
		case f.p.Null:
			line("%s=null", f.name)
		case f.p.Path != nil:
			line("%s=%s", f.name, f.p.Path)
		}
	}
	exprs := []struct {
		name string
		e    Expr
	}{{"Parameters", s.Parameters}, {"ResultSelector", s.ResultSelector}, {"Output", s.Output}, {"Assign", s.Assign}}
	if s.HasResult {
		line("Result=%s", jsonv.String(s.Result))
	}
	for _, r := range s.Retry {
		line("Retry %v Interval=%d MaxAttempts=%d Backoff=%v MaxDelay=%d JitterFull=%v", r.ErrorEquals, r.IntervalSeconds, r.MaxAttempts, r.BackoffRate, r.MaxDelaySeconds, r.JitterFull)
	}
	for _, c := range s.Catch {
		line("Catch %v Next=%q ResultPath=%v Assign=%s Output=%s", c.ErrorEquals, c.Next, c.ResultPath.Path, dumpExpr(c.Assign), dumpExpr(c.Output))
	}
	if t := s.Task; t != nil {
		line("Resource=%s", t.Resource)
		exprs = append(exprs, []struct {
			name string
			e    Expr
		}{{"TimeoutSeconds", t.TimeoutSeconds}, {"HeartbeatSeconds", t.HeartbeatSeconds}, {"Credentials", t.Credentials}}...)
	}
	if c := s.Choice; c != nil {
		for _, r := range c.Choices {
			line("Choice Next=%q %s Assign=%s Output=%s", r.Next, dumpRule(r), dumpExpr(r.Assign), dumpExpr(r.Output))
		}
		line("Default=%q", c.Default)
	}
	if w := s.Wait; w != nil {
		line("Wait Field=%s", w.FieldName)
		exprs = append(exprs, []struct {
			name string
			e    Expr
		}{{"Seconds", w.Seconds}, {"Timestamp", w.Timestamp}}...)
	}
	if f := s.Fail; f != nil {
		exprs = append(exprs, []struct {
			name string
			e    Expr
		}{{"Error", f.Error}, {"Cause", f.Cause}}...)
	}
	if m := s.Map; m != nil {
		line("Label=%q", m.Label)
		exprs = append(exprs, []struct {
			name string
			e    Expr
		}{{"Items", m.Items}, {"ItemSelector", m.ItemSelector}, {"MaxConcurrency", m.MaxConcurrency}, {"ToleratedFailureCount", m.ToleratedFailureCount}, {"ToleratedFailurePercentage", m.ToleratedFailurePercentage}}...)
		if r := m.ItemReader; r != nil {
			line("ItemReader Resource=%s Parameters=%s ReaderConfig=%s", r.Resource, dumpExpr(r.Parameters), jsonv.String(r.ReaderConfig))
		}
		if r := m.ItemBatcher; r != nil {
			line("ItemBatcher MaxItems=%s MaxBytes=%s BatchInput=%s", dumpExpr(r.MaxItemsPerBatch), dumpExpr(r.MaxInputBytesPerBatch), dumpExpr(r.BatchInput))
		}
		if r := m.ResultWriter; r != nil {
			line("ResultWriter Resource=%s Parameters=%s", r.Resource, dumpExpr(r.Parameters))
		}
	}
	for _, x := range exprs {
		if x.e != nil {
			line("%s=%s", x.name, dumpExpr(x.e))
		}
	}
	if m := s.Map; m != nil && m.Processor != nil {
		dumpScope(b, m.Processor, indent+"  ")
	}
	if p := s.Parallel; p != nil {
		for _, br := range p.Branches {
			dumpScope(b, br, indent+"  ")
		}
	}
}

func dumpRule(r *ChoiceRule) string {
	var parts []string
	if r.Variable != nil {
		parts = append(parts, fmt.Sprintf("Variable=%s Op=%d", r.Variable, r.Op))
	}
	if r.ValuePath != nil {
		parts = append(parts, fmt.Sprintf("ValuePath=%s", r.ValuePath))
	} else if r.Op != OpNone {
		parts = append(parts, "Value="+jsonv.String(r.Value))
	}
	for _, sub := range r.And {
		parts = append(parts, "And("+dumpRule(sub)+")")
	}
	for _, sub := range r.Or {
		parts = append(parts, "Or("+dumpRule(sub)+")")
	}
	if r.Not != nil {
		parts = append(parts, "Not("+dumpRule(r.Not)+")")
	}
	if r.Condition != nil {
		parts = append(parts, "Condition="+dumpExpr(r.Condition))
	}
	return strings.Join(parts, " ")
}

func dumpExpr(e Expr) string {
	switch e := e.(type) {
	case nil:
		return "<nil>"
	case literalExpr:
		return "literal " + jsonv.String(e.v)
	case fieldPathExpr:
		return fmt.Sprintf("path %s for %q", e.p, e.field)
	case refPathExpr:
		return fmt.Sprintf("refpath %s", e.p)
	case intrinsicExpr:
		return "intrinsic " + e.c.String()
	case secondsPathExpr:
		return fmt.Sprintf("secondspath %s", e.p)
	case timestampPathExpr:
		return fmt.Sprintf("timestamppath %s", e.p)
	case numberPathExpr:
		return fmt.Sprintf("numberpath %s for %q kind %d", e.p, e.field, e.kind)
	case objectTemplate:
		parts := make([]string, len(e.members))
		for i, m := range e.members {
			parts[i] = fmt.Sprintf("%q: %s", m.key, dumpExpr(m.value))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case *jsonataExpr:
		return fmt.Sprintf("jsonata %q for %q check %d", e.src, e.field, e.check)
	case arrayTemplate:
		parts := make([]string, len(e.elems))
		for i, x := range e.elems {
			parts[i] = dumpExpr(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprintf("%T", e)
}
