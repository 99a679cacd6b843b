package console

import (
	"fmt"
	"html"
	"html/template"
	"strconv"
	"strings"
	"unicode/utf8"
)

// statusLook is how a status shows besides its colour: an icon and words, so that colour is
// never the only sign.
var statusLook = map[string]struct{ icon, text string }{
	stSucceeded:  {"✓", "Succeeded"},
	stFailed:     {"✗", "Failed"},
	stCaught:     {"!", "Caught error"},
	stRunning:    {"⟳", "In progress"},
	stNotStarted: {"○", "Not started"},
	stAborted:    {"■", "Aborted"},
	"":           {"", ""},
}

func f(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

// renderSVG draws a laid-out graph; statuses is nil on a state machine's page, where states
// have no status.
func renderSVG(g *graph, statuses map[string]string) template.HTML {
	if g == nil || g.top == nil {
		return ""
	}
	var b strings.Builder
	w, h := g.top.w, g.top.h
	fmt.Fprintf(&b, `<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" role="group" aria-label="State machine graph, %d states">`,
		f(w), f(h), f(w), f(h), g.count())
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" class="arrowhead"/></marker></defs>`)
	drawMachine(&b, g.top, statuses)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text in it went through html.EscapeString
}

func drawMachine(b *strings.Builder, m *gmachine, statuses map[string]string) {
	if m.label != "" {
		fmt.Fprintf(b, `<g class="machine" transform="translate(%s,%s)"><rect class="machine-box" width="%s" height="%s" rx="6"/><text class="machine-label" x="8" y="14">%s</text>`,
			f(m.x), f(m.y), f(m.w), f(m.h), html.EscapeString(m.label))
	} else {
		b.WriteString(`<g class="machine">`)
	}
	for _, e := range m.edges {
		drawEdge(b, e)
	}
	for _, n := range m.nodes {
		drawNode(b, n, statuses)
	}
	b.WriteString(`</g>`)
}

func drawEdge(b *strings.Builder, e *gedge) {
	if len(e.points) < 2 {
		return
	}
	cls := "edge"
	if e.catch {
		cls += " catch"
	}
	if e.back {
		cls += " back"
	}
	var d strings.Builder
	p := e.points
	fmt.Fprintf(&d, "M%s,%s", f(p[0].x), f(p[0].y))
	if e.from == e.to {
		fmt.Fprintf(&d, "C%s,%s %s,%s %s,%s", f(p[1].x), f(p[1].y), f(p[2].x), f(p[2].y), f(p[3].x), f(p[3].y))
	} else {
		for i := 1; i < len(p); i++ {
			dy := (p[i].y - p[i-1].y) / 2
			fmt.Fprintf(&d, "C%s,%s %s,%s %s,%s", f(p[i-1].x), f(p[i-1].y+dy), f(p[i].x), f(p[i].y-dy), f(p[i].x), f(p[i].y))
		}
	}
	fmt.Fprintf(b, `<g class="%s" data-from="%s" data-to="%s"><title>%s → %s%s</title><path d="%s" marker-end="url(#arrow)"/>`,
		cls, html.EscapeString(e.from), html.EscapeString(e.to), html.EscapeString(e.from), html.EscapeString(e.to),
		html.EscapeString(labelSuffix(e.label)), d.String())
	if len(e.lines) > 0 {
		w, h := labelSize(e.lines)
		h -= 3
		fmt.Fprintf(b, `<rect class="edge-label-bg" x="%s" y="%s" width="%s" height="%s" rx="3"/><text class="edge-label" text-anchor="middle">`,
			f(e.labelAt.x-w/2+1), f(e.labelAt.y-h/2), f(w-2), f(h))
		for i, l := range e.lines {
			y := e.labelAt.y - h/2 + 12 + float64(i)*labelLineH
			fmt.Fprintf(b, `<tspan x="%s" y="%s">%s</tspan>`, f(e.labelAt.x), f(y), html.EscapeString(l))
		}
		b.WriteString(`</text>`)
	}
	b.WriteString(`</g>`)
}

func labelSuffix(l string) string {
	if l == "" {
		return ""
	}
	return ": " + l
}

func drawNode(b *strings.Builder, n *gnode, statuses map[string]string) {
	status := ""
	if statuses != nil {
		status = statuses[n.name]
	}
	look := statusLook[status]
	kind := "leaf"
	if len(n.children) > 0 {
		kind = "group"
	}
	aria := n.name + ", " + n.typ
	if look.text != "" {
		aria += ", " + look.text
	}
	fmt.Fprintf(b, `<g class="node %s" transform="translate(%s,%s)" data-state="%s" data-type="%s"`,
		kind, f(n.x), f(n.y), html.EscapeString(n.name), n.typ)
	if statuses != nil {
		fmt.Fprintf(b, ` data-status="%s"`, status)
	}
	fmt.Fprintf(b, ` tabindex="0" role="button" aria-label="%s"><title>%s</title>`, html.EscapeString(aria), html.EscapeString(aria))
	name := n.name
	maxChars := int((n.w-56)/charW + 0.01)
	if kind == "group" {
		maxChars = int((n.w-130)/charW + 0.01)
	}
	if utf8.RuneCountInString(name) > maxChars && maxChars > 3 {
		name = string([]rune(name)[:maxChars-1]) + "…"
	}
	if kind == "group" {
		fmt.Fprintf(b, `<rect class="box" width="%s" height="%s" rx="8"/>`, f(n.w), f(n.h))
		fmt.Fprintf(b, `<text class="icon" x="14" y="23">%s</text><text class="name" x="32" y="23">%s</text><text class="kind" x="%s" y="23" text-anchor="end">%s</text>`,
			look.icon, html.EscapeString(name), f(n.w-12), html.EscapeString(kindText(n.typ, look.text)))
		for _, c := range n.children {
			drawMachine(b, c, statuses)
		}
	} else {
		fmt.Fprintf(b, `<rect class="box" width="%s" height="%s" rx="%s"/>`, f(n.w), f(n.h), roundness(n.typ))
		fmt.Fprintf(b, `<text class="icon" x="14" y="28">%s</text><text class="name" x="32" y="20">%s</text><text class="kind" x="32" y="36">%s</text>`,
			look.icon, html.EscapeString(name), html.EscapeString(kindText(n.typ, look.text)))
	}
	b.WriteString(`</g>`)
}

func kindText(typ, status string) string {
	if status == "" {
		return typ
	}
	return typ + " · " + status
}

// roundness tells state types apart by shape as well: Choice and Wait boxes are rounder.
func roundness(typ string) string {
	switch typ {
	case "Choice", "Wait":
		return "22"
	case "Succeed", "Fail":
		return "14"
	}
	return "6"
}
