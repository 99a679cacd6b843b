package asl

import (
	"fmt"
	"unicode/utf8"
)

// checkGraph runs the graph phase over every scope: state names, transition targets,
// reachability and terminal states. Names are unique across the whole machine, targets only
// within a scope.
func (p *parser) checkGraph() {
	seen := map[string]bool{}
	for _, sc := range p.scopes {
		p.checkNames(sc, seen)
	}
	for _, sc := range p.scopes {
		p.checkTargets(sc)
	}
}

func (p *parser) checkNames(sc *scope, seen map[string]bool) {
	statesLoc := sc.loc + "/States"
	for _, name := range p.dups[statesLoc] {
		p.add(CodeDuplicateState, statesLoc+"/"+name, "Duplicate State name: %s", name)
	}
	for _, name := range sc.m.Order {
		loc := statesLoc + "/" + name
		switch n := utf8.RuneCountInString(name); {
		case n == 0:
			p.add(CodeInvalidStateName, loc, "State name cannot be empty")
		case n > 80:
			p.add(CodeInvalidStateName, loc, "State name cannot be longer than 80 characters")
		}
		if seen[name] {
			p.add(CodeDuplicateState, loc, "Duplicate State name: %s", name)
		}
		seen[name] = true
	}
}

// edge is a transition from a field at loc to a state.
type edge struct {
	target string
	loc    string
}

func stateEdges(st *State, loc string) []edge {
	var out []edge
	if st.Next != "" {
		out = append(out, edge{st.Next, loc + "/Next"})
	}
	if st.Choice != nil {
		for i, r := range st.Choice.Choices {
			out = append(out, edge{r.Next, fmt.Sprintf("%s/Choices[%d]/Next", loc, i)})
		}
		if st.Choice.Default != "" {
			out = append(out, edge{st.Choice.Default, loc + "/Default"})
		}
	}
	for i, c := range st.Catch {
		out = append(out, edge{c.Next, fmt.Sprintf("%s/Catch[%d]/Next", loc, i)})
	}
	return out
}

// checkTargets reports transitions to unknown states, unreachable states and a scope without a
// terminal state.
func (p *parser) checkTargets(sc *scope) {
	m := sc.m
	statesLoc := sc.loc + "/States"
	if _, ok := m.States[m.StartAt]; !ok && sc.startAt {
		p.add(CodeMissingTarget, sc.loc+"/StartAt", "Missing 'Next' target: %s", m.StartAt)
	}
	terminal := false
	for _, name := range m.Order {
		st := m.States[name]
		if st == nil {
			continue
		}
		terminal = terminal || st.End || st.Type == Succeed || st.Type == Fail
		for _, e := range stateEdges(st, statesLoc+"/"+name) {
			if _, ok := m.States[e.target]; !ok {
				p.add(CodeMissingTarget, e.loc, "Missing 'Next' target: %s", e.target)
			}
		}
	}
	reached := map[string]bool{}
	if _, ok := m.States[m.StartAt]; ok {
		queue := []string{m.StartAt}
		reached[m.StartAt] = true
		for len(queue) > 0 {
			st := m.States[queue[0]]
			queue = queue[1:]
			for _, e := range stateEdges(st, "") {
				if _, ok := m.States[e.target]; ok && !reached[e.target] {
					reached[e.target] = true
					queue = append(queue, e.target)
				}
			}
		}
	}
	for _, name := range m.Order {
		if !reached[name] {
			p.add(CodeMissingTarget, statesLoc+"/"+name, "State \"%s\" is not reachable.", name)
		}
	}
	if !terminal && len(m.Order) > 0 {
		p.add(CodeMissingEndState, sc.loc, "Workflow has no terminal state")
	}
}
