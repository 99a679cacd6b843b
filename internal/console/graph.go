package console

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/stepline/stepline/internal/asl"
)

// graph is a definition as the console draws it: machines (the top level, each Parallel
// branch, each Map processor) of states joined by transitions. Transitions never leave their
// machine in ASL, so each machine is laid out on its own and a Parallel or Map state is a box
// holding the layouts of its machines (layout.go).
type graph struct {
	top *gmachine
	// nodes holds every state by name; names are unique across a definition.
	nodes map[string]*gnode
}

// gmachine is one scope of states.
type gmachine struct {
	label string
	start string
	nodes []*gnode
	edges []*gedge
	// Filled by the layout: the size of the laid-out states and where the box sits inside
	// its parent state (its top-left corner).
	w, h float64
	x, y float64
}

// gnode is one state.
type gnode struct {
	name     string
	typ      string
	resource string
	// label is a Map's Label: its Map Runs' child executions are named after it.
	label string
	// parent is the Parallel or Map state holding this one, nil at the top level.
	parent   *gnode
	children []*gmachine
	// Filled by the layout: size and top-left corner within its machine.
	w, h float64
	x, y float64
}

// gedge is one transition; label is a Choice rule, "Default" or a Catch's errors.
type gedge struct {
	from, to string
	label    string
	// lines is the label as drawn: wrapped, and cut when long (layout.go).
	lines []string
	catch bool
	// back marks a transition that goes up the layout: a loop.
	back bool
	// points is the route from the source to the target (layout.go).
	points []pt
	// labelAt is where the label's centre goes.
	labelAt pt
}

type pt struct{ x, y float64 }

// buildGraph turns a definition into a graph. The definition was validated when it was
// stored, so a parse error here is a bug or an old definition: the caller shows no graph.
func buildGraph(definition string, express bool) (*graph, error) {
	typ := asl.Standard
	if express {
		typ = asl.Express
	}
	sm, err := asl.Parse([]byte(definition), asl.ParseOptions{Type: typ})
	if err != nil {
		return nil, fmt.Errorf("console: parsing the definition: %w", err)
	}
	// The compiled model keeps no source text of Choice rules: their labels come from the
	// definition's JSON, found by state name.
	raw := map[string]map[string]any{}
	var top map[string]any
	if err := json.Unmarshal([]byte(definition), &top); err == nil {
		collectRawStates(top, raw)
	}
	g := &graph{nodes: map[string]*gnode{}}
	g.top = g.machine(&sm.Machine, nil, "", raw)
	return g, nil
}

func collectRawStates(m map[string]any, out map[string]map[string]any) {
	states, _ := m["States"].(map[string]any)
	for name, v := range states {
		st, ok := v.(map[string]any)
		if !ok {
			continue
		}
		out[name] = st
		if bs, ok := st["Branches"].([]any); ok {
			for _, b := range bs {
				if bm, ok := b.(map[string]any); ok {
					collectRawStates(bm, out)
				}
			}
		}
		for _, k := range []string{"ItemProcessor", "Iterator"} {
			if p, ok := st[k].(map[string]any); ok {
				collectRawStates(p, out)
			}
		}
	}
}

func (g *graph) machine(m *asl.Machine, parent *gnode, label string, raw map[string]map[string]any) *gmachine {
	gm := &gmachine{label: label, start: m.StartAt}
	for _, name := range m.Order {
		st := m.States[name]
		n := &gnode{name: name, typ: st.Type.String(), parent: parent}
		if st.Task != nil {
			n.resource = st.Task.Resource
		}
		g.nodes[name] = n
		gm.nodes = append(gm.nodes, n)
		switch {
		case st.Parallel != nil:
			for i, b := range st.Parallel.Branches {
				n.children = append(n.children, g.machine(b, n, fmt.Sprintf("Branch %d", i+1), raw))
			}
		case st.Map != nil && st.Map.Processor != nil:
			n.label = st.Map.Label
			label := "Item processor"
			if st.Map.Processor.Processor != nil && st.Map.Processor.Processor.Mode == "DISTRIBUTED" {
				label = "Item processor (distributed)"
			}
			n.children = append(n.children, g.machine(st.Map.Processor, n, label, raw))
		}
		if st.Next != "" {
			gm.edges = append(gm.edges, &gedge{from: name, to: st.Next})
		}
		if st.Choice != nil {
			var rules []any
			if r := raw[name]; r != nil {
				rules, _ = r["Choices"].([]any)
			}
			for i, c := range st.Choice.Choices {
				label := fmt.Sprintf("Rule %d", i+1)
				if i < len(rules) {
					if rm, ok := rules[i].(map[string]any); ok {
						if t := ruleText(rm); t != "" {
							label = t
						}
					}
				}
				gm.edges = append(gm.edges, &gedge{from: name, to: c.Next, label: label})
			}
			if st.Choice.Default != "" {
				gm.edges = append(gm.edges, &gedge{from: name, to: st.Choice.Default, label: "Default"})
			}
		}
		for _, c := range st.Catch {
			gm.edges = append(gm.edges, &gedge{from: name, to: c.Next, label: "Catch " + strings.Join(c.ErrorEquals, ", "), catch: true})
		}
	}
	return gm
}

// operators maps Choice comparison operators to how the label writes them.
var operators = map[string]string{
	"StringEquals": "==", "StringLessThan": "<", "StringGreaterThan": ">", "StringLessThanEquals": "<=",
	"StringGreaterThanEquals": ">=", "StringMatches": "matches",
	"NumericEquals": "==", "NumericLessThan": "<", "NumericGreaterThan": ">", "NumericLessThanEquals": "<=",
	"NumericGreaterThanEquals": ">=", "BooleanEquals": "==",
	"TimestampEquals": "==", "TimestampLessThan": "<", "TimestampGreaterThan": ">",
	"TimestampLessThanEquals": "<=", "TimestampGreaterThanEquals": ">=",
}

// ruleText writes a Choice rule the way people read it: `$.status == "READY" and not …`.
func ruleText(r map[string]any) string {
	if c, ok := r["Condition"].(string); ok {
		c = strings.TrimSpace(c)
		c = strings.TrimSuffix(strings.TrimPrefix(c, "{%"), "%}")
		return strings.TrimSpace(c)
	}
	join := func(key, sep string) string {
		list, _ := r[key].([]any)
		parts := make([]string, 0, len(list))
		for _, x := range list {
			if m, ok := x.(map[string]any); ok {
				t := ruleText(m)
				if len(list) > 1 && (strings.Contains(t, " and ") || strings.Contains(t, " or ")) {
					t = "(" + t + ")"
				}
				parts = append(parts, t)
			}
		}
		return strings.Join(parts, sep)
	}
	if _, ok := r["And"]; ok {
		return join("And", " and ")
	}
	if _, ok := r["Or"]; ok {
		return join("Or", " or ")
	}
	if n, ok := r["Not"].(map[string]any); ok {
		return "not (" + ruleText(n) + ")"
	}
	v, _ := r["Variable"].(string)
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := r[k]
		switch {
		case strings.HasPrefix(k, "Is"):
			b, _ := val.(bool)
			what := strings.ToLower(strings.TrimPrefix(k, "Is"))
			if b {
				return v + " is " + what
			}
			return v + " is not " + what
		case strings.HasSuffix(k, "Path") && operators[strings.TrimSuffix(k, "Path")] != "":
			s, _ := val.(string)
			return v + " " + operators[strings.TrimSuffix(k, "Path")] + " " + s
		case operators[k] != "":
			b, _ := json.Marshal(val)
			return v + " " + operators[k] + " " + string(b)
		}
	}
	return ""
}

// processorOf narrows the graph to the processor of the Map whose Map Run has the label: a
// child execution runs that processor only.
func (g *graph) processorOf(label string) {
	for _, n := range g.nodes {
		if n.typ == "Map" && len(n.children) == 1 && (n.label == label || n.label == "" && n.name == label) {
			keep := map[string]*gnode{}
			var walk func(m *gmachine)
			walk = func(m *gmachine) {
				for _, c := range m.nodes {
					keep[c.name] = c
					for _, cm := range c.children {
						walk(cm)
					}
				}
			}
			g.top = n.children[0]
			g.top.label = ""
			walk(g.top)
			g.nodes = keep
			return
		}
	}
}

// count returns how many states the graph has, nested ones included.
func (g *graph) count() int { return len(g.nodes) }
