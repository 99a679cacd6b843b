package console

import (
	"strings"
	"testing"
)

// A graph of 50 states with nested groups and loops stays readable: no two states of a
// machine overlap, every state and every machine fits inside its parent, every transition is
// routed, loops are marked as going back up, and Choice rules label their edges.
func TestLayoutStaysReadable(t *testing.T) {
	t.Parallel()
	g, err := buildGraph(BigDefinition(6), false)
	if err != nil {
		t.Fatal(err)
	}
	layoutGraph(g)
	if g.count() < 50 {
		t.Fatalf("%d states, want at least 50", g.count())
	}
	back := 0
	var check func(m *gmachine, path string)
	check = func(m *gmachine, path string) {
		for i, a := range m.nodes {
			if a.x < 0 || a.y < 0 || a.x+a.w > m.w+0.01 || a.y+a.h > m.h+0.01 {
				t.Errorf("%s: %s (%.0f,%.0f %.0fx%.0f) is outside its machine (%.0fx%.0f)", path, a.name, a.x, a.y, a.w, a.h, m.w, m.h)
			}
			for _, b := range m.nodes[i+1:] {
				if a.x < b.x+b.w && b.x < a.x+a.w && a.y < b.y+b.h && b.y < a.y+a.h {
					t.Errorf("%s: %s and %s overlap", path, a.name, b.name)
				}
			}
			for _, c := range a.children {
				if c.x < 0 || c.y < 0 || c.x+c.w > a.w+0.01 || c.y+c.h > a.h+0.01 {
					t.Errorf("%s: a machine of %s is outside it", path, a.name)
				}
				check(c, path+"/"+a.name)
			}
		}
		for _, e := range m.edges {
			if len(e.points) < 2 {
				t.Errorf("%s: %s → %s is not routed", path, e.from, e.to)
			}
			if e.back {
				back++
				if first, last := e.points[0], e.points[len(e.points)-1]; last.y >= first.y {
					t.Errorf("%s: the loop %s → %s does not go up", path, e.from, e.to)
				}
			} else if first, last := e.points[0], e.points[len(e.points)-1]; last.y <= first.y {
				t.Errorf("%s: %s → %s does not go down", path, e.from, e.to)
			}
			if strings.HasPrefix(e.from, "Check") && e.label == "" {
				t.Errorf("%s: a Choice edge %s → %s has no label", path, e.from, e.to)
			}
		}
	}
	check(g.top, "")
	if back != 6 {
		t.Errorf("%d back edges, want the 6 Retry loops", back)
	}
	t.Logf("52 states laid out in %.0f × %.0f px", g.top.w, g.top.h)
}

func TestRuleText(t *testing.T) {
	t.Parallel()
	g, err := buildGraph(`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[
	 {"And":[{"Variable":"$.a","StringEquals":"x"},{"Not":{"Variable":"$.b","IsPresent":true}}],"Next":"E"},
	 {"Variable":"$.n","NumericGreaterThanEqualsPath":"$.m","Next":"E"},
	 {"Or":[{"Variable":"$.t","IsNull":false},{"Variable":"$.s","StringMatches":"log-*"}],"Next":"E"}],"Default":"E"},
	 "E":{"Type":"Succeed"}}}`, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range g.top.edges {
		got = append(got, e.label)
	}
	want := []string{`$.a == "x" and not ($.b is present)`, `$.n >= $.m`, `$.t is not null or $.s matches "log-*"`, "Default"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("labels\n got %q\nwant %q", got, want)
	}
}
