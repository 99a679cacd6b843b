package asl

import (
	"slices"

	"github.com/stepline/stepline/internal/asl/path"
)

// referencer is implemented by the Exprs that can read workflow variables.
type referencer interface {
	// variables calls add with the name of each variable the Expr reads.
	variables(add func(name string))
}

func (e fieldPathExpr) variables(add func(string))     { pathVariable(e.p, add) }
func (e refPathExpr) variables(add func(string))       { pathVariable(e.p, add) }
func (e secondsPathExpr) variables(add func(string))   { pathVariable(e.p, add) }
func (e timestampPathExpr) variables(add func(string)) { pathVariable(e.p, add) }
func (e numberPathExpr) variables(add func(string))    { pathVariable(e.p, add) }

func (e intrinsicExpr) variables(add func(string)) {
	for _, p := range e.c.Paths() {
		pathVariable(p, add)
	}
}

func (t objectTemplate) variables(add func(string)) {
	for _, m := range t.members {
		exprVariables(m.value, add)
	}
}

func (t arrayTemplate) variables(add func(string)) {
	for _, e := range t.elems {
		exprVariables(e, add)
	}
}

func (e *jsonataExpr) variables(add func(string)) {
	for _, name := range e.refs.vars {
		add(name)
	}
}

func pathVariable(p *path.Path, add func(string)) {
	if p != nil && p.Root() == path.RootVariable {
		add(p.Variable())
	}
}

func exprVariables(e Expr, add func(string)) {
	if r, ok := e.(referencer); ok {
		r.variables(add)
	}
}

// variableReferences maps each state of m and its nested machines that reads variables to
// their names, in the order the state's fields read them.
func variableReferences(m *Machine) map[string][]string {
	refs := map[string][]string{}
	var walk func(m *Machine)
	walk = func(m *Machine) {
		for _, name := range m.Order {
			st := m.States[name]
			if st == nil {
				continue
			}
			var names []string
			add := func(n string) {
				if !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
			st.variables(add)
			if len(names) > 0 {
				refs[name] = names
			}
			if st.Parallel != nil {
				for _, b := range st.Parallel.Branches {
					walk(b)
				}
			}
			if st.Map != nil && st.Map.Processor != nil {
				walk(st.Map.Processor)
			}
		}
	}
	walk(m)
	return refs
}

// variables calls add with every variable the state's own fields read, in field order.
func (st *State) variables(add func(string)) {
	pathVariable(st.InputPath.Path, add)
	for _, e := range []Expr{st.Parameters, st.ResultSelector} {
		exprVariables(e, add)
	}
	if t := st.Task; t != nil {
		for _, e := range []Expr{t.TimeoutSeconds, t.HeartbeatSeconds, t.Credentials} {
			exprVariables(e, add)
		}
	}
	if c := st.Choice; c != nil {
		for _, r := range c.Choices {
			r.variables(add)
		}
	}
	if w := st.Wait; w != nil {
		exprVariables(w.Seconds, add)
		exprVariables(w.Timestamp, add)
	}
	if f := st.Fail; f != nil {
		exprVariables(f.Error, add)
		exprVariables(f.Cause, add)
	}
	if m := st.Map; m != nil {
		for _, e := range []Expr{m.Items, m.ItemSelector, m.MaxConcurrency, m.ToleratedFailureCount, m.ToleratedFailurePercentage} {
			exprVariables(e, add)
		}
		if r := m.ItemReader; r != nil {
			exprVariables(r.Parameters, add)
			pathVariable(r.MaxItemsPath, add)
		}
		if b := m.ItemBatcher; b != nil {
			for _, e := range []Expr{b.MaxItemsPerBatch, b.MaxInputBytesPerBatch, b.BatchInput} {
				exprVariables(e, add)
			}
		}
		if w := m.ResultWriter; w != nil {
			exprVariables(w.Parameters, add)
		}
	}
	exprVariables(st.Output, add)
	exprVariables(st.Assign, add)
	pathVariable(st.OutputPath.Path, add)
	for i := range st.Catch {
		exprVariables(st.Catch[i].Output, add)
		exprVariables(st.Catch[i].Assign, add)
	}
}

func (r *ChoiceRule) variables(add func(string)) {
	pathVariable(r.Variable, add)
	pathVariable(r.ValuePath, add)
	exprVariables(r.Condition, add)
	for _, sub := range r.And {
		sub.variables(add)
	}
	for _, sub := range r.Or {
		sub.variables(add)
	}
	if r.Not != nil {
		r.Not.variables(add)
	}
	exprVariables(r.Output, add)
	exprVariables(r.Assign, add)
}
