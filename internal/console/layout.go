package console

import (
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// The layout is a layered (Sugiyama) layout, top to bottom, done per machine and nested: a
// Parallel or Map state is sized by laying out its machines first. Within a machine:
//  1. loops are broken by a depth-first search from StartAt: a transition to a state on the
//     search's stack is a back edge, laid out reversed and drawn going up;
//  2. states get ranks by longest path, every transition spanning at least two ranks, so that
//     each has a dummy vertex in between that carries its label (as dagre does);
//  3. longer transitions get a dummy vertex per rank they cross;
//  4. the order within each rank minimises crossings by barycentre sweeps, keeping the best;
//  5. x positions come from sweeps that pull each vertex towards the mean of its neighbours
//     while keeping the order and the spacing exactly (isotonic regression, see pava);
//  6. transitions are routed through their dummy vertices as smooth curves.
//
// Everything is deterministic: the same definition always gives the same picture.

const (
	nodeH        = 46
	nodeMinW     = 150
	nodeMaxW     = 300
	charW        = 7.9 // average advance of the 13 px bold sans-serif names
	labelCharW   = 6.3 // of the 11 px edge labels
	labelMaxLen  = 34  // edge label lines longer than this are cut
	labelLines   = 3   // and labels longer than this many lines; the whole rule is in the tooltip
	labelLineH   = 14
	labelH       = 18
	groupHeader  = 36
	groupPad     = 12
	machinePad   = 12
	machineTitle = 18
	nodeGap      = 28
	dummyGap     = 12
	rankGap      = 16
)

// shortLabel cuts an edge label to what the layout reserves room for.
func shortLabel(s string) string {
	if utf8.RuneCountInString(s) <= labelMaxLen {
		return s
	}
	r := []rune(s)
	return string(r[:labelMaxLen-1]) + "…"
}

// wrapLabel breaks an edge label into lines of at most labelMaxLen characters, at spaces
// where it can, and cuts it after labelLines lines.
func wrapLabel(s string) []string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(s) {
		for utf8.RuneCountInString(w) > labelMaxLen {
			if cur != "" {
				lines, cur = append(lines, cur), ""
			}
			r := []rune(w)
			lines, w = append(lines, string(r[:labelMaxLen])), string(r[labelMaxLen:])
		}
		switch {
		case cur == "":
			cur = w
		case utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(w) <= labelMaxLen:
			cur += " " + w
		default:
			lines, cur = append(lines, cur), w
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	if len(lines) > labelLines {
		lines = lines[:labelLines]
		last := []rune(lines[labelLines-1])
		if len(last) >= labelMaxLen {
			last = last[:labelMaxLen-1]
		}
		lines[labelLines-1] = string(last) + "…"
	}
	return lines
}

func labelSize(lines []string) (w, h float64) {
	for _, l := range lines {
		w = math.Max(w, textW(l, labelCharW))
	}
	return w + 10, float64(len(lines))*labelLineH + 4
}

func textW(s string, cw float64) float64 { return float64(utf8.RuneCountInString(s)) * cw }

// layoutGraph lays out the whole graph; the top machine's w and h are the picture's size.
func layoutGraph(g *graph) {
	layoutMachine(g.top)
}

// sizeNode gives a leaf state its box, and a Parallel or Map state the box around its
// machines laid out side by side.
func sizeNode(n *gnode) {
	if len(n.children) == 0 {
		n.w = math.Min(math.Max(textW(n.name, charW)+56, nodeMinW), nodeMaxW)
		n.h = nodeH
		return
	}
	x := float64(groupPad)
	maxH := 0.0
	for _, c := range n.children {
		layoutMachine(c)
		c.x, c.y = x, groupHeader
		x += c.w + groupPad
		maxH = math.Max(maxH, c.h)
	}
	head := math.Min(textW(n.name, charW), nodeMaxW) + 130
	n.w = math.Max(x, head)
	if shift := (n.w - x) / 2; shift > 0 {
		for _, c := range n.children {
			c.x += shift
		}
	}
	n.h = groupHeader + maxH + groupPad
}

// vtx is a vertex of the layered graph: a state, or a dummy on a long or labelled transition.
type vtx struct {
	node  *gnode // nil for a dummy
	w, h  float64
	rank  int
	pos   int // index within its rank
	x     float64
	in    []int
	out   []int
	label *gedge // the transition whose label this dummy carries
}

func layoutMachine(m *gmachine) {
	for _, n := range m.nodes {
		sizeNode(n)
	}
	idx := make(map[string]int, len(m.nodes))
	for i, n := range m.nodes {
		idx[n.name] = i
	}
	out := make([][]*gedge, len(m.nodes))
	for _, e := range m.edges {
		out[idx[e.from]] = append(out[idx[e.from]], e)
	}

	// 1. Back edges by depth-first search from the start, then from any state left.
	color := make([]int, len(m.nodes))
	var visit func(i int)
	visit = func(i int) {
		color[i] = 1
		for _, e := range out[i] {
			j := idx[e.to]
			switch color[j] {
			case 1:
				e.back = true
			case 0:
				visit(j)
			}
		}
		color[i] = 2
	}
	if s, ok := idx[m.start]; ok {
		visit(s)
	}
	for i := range m.nodes {
		if color[i] == 0 {
			visit(i)
		}
	}

	// 2. Ranks by longest path over the edges oriented downwards, in topological order.
	type dagEdge struct {
		u, v int
		e    *gedge
	}
	var dag []dagEdge
	indeg := make([]int, len(m.nodes))
	succ := make([][]int, len(m.nodes))
	for _, e := range m.edges {
		u, v := idx[e.from], idx[e.to]
		if u == v {
			continue // a self-loop is drawn beside its state and takes no rank
		}
		if e.back {
			u, v = v, u
		}
		dag = append(dag, dagEdge{u, v, e})
		succ[u] = append(succ[u], v)
		indeg[v]++
	}
	rank := make([]int, len(m.nodes))
	queue := []int{}
	for i := range m.nodes {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, v := range succ[u] {
			rank[v] = max(rank[v], rank[u]+2)
			if indeg[v]--; indeg[v] == 0 {
				queue = append(queue, v)
			}
		}
	}

	// 3. The layered graph: states, then dummies along every transition.
	vs := make([]*vtx, 0, len(m.nodes)*3)
	for i, n := range m.nodes {
		vs = append(vs, &vtx{node: n, w: n.w, h: n.h, rank: rank[i]})
	}
	link := func(a, b int) {
		vs[a].out = append(vs[a].out, b)
		vs[b].in = append(vs[b].in, a)
	}
	chains := make(map[*gedge][]int, len(dag))
	for _, d := range dag {
		chain := []int{d.u}
		prev := d.u
		first, last := rank[d.u]+1, rank[d.v]-1
		for r := first; r <= last; r++ {
			dv := &vtx{w: 6, rank: r}
			// The label goes next to the transition's source: the first dummy of a forward
			// transition, the last of a reversed one.
			if d.e.label != "" && ((!d.e.back && r == first) || (d.e.back && r == last)) {
				d.e.lines = wrapLabel(d.e.label)
				dv.w, dv.h = labelSize(d.e.lines)
				dv.label = d.e
			}
			vs = append(vs, dv)
			link(prev, len(vs)-1)
			chain = append(chain, len(vs)-1)
			prev = len(vs) - 1
		}
		link(prev, d.v)
		chains[d.e] = append(chain, d.v)
	}
	maxRank := 0
	for _, v := range vs {
		maxRank = max(maxRank, v.rank)
	}
	layers := make([][]int, maxRank+1)

	// 4. Order: first as a depth-first walk from the start meets the vertices, then
	// barycentre sweeps, keeping the order with the fewest crossings.
	// The walk takes the successor with the longest way down first, so that the main flow
	// runs down the left and side exits (a loop's Wait, a Fail state) sit to its right.
	// A way down counts its states first and its dummies second, so that of two equally long
	// ways the one through states wins.
	height := make([]int, len(vs))
	for r := maxRank; r >= 0; r-- {
		for i, v := range vs {
			if v.rank == r {
				for _, j := range v.out {
					step := 1
					if vs[j].node != nil {
						step = 1000
					}
					height[i] = max(height[i], height[j]+step)
				}
			}
		}
	}
	seen := make([]bool, len(vs))
	var walk func(i int)
	walk = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		layers[vs[i].rank] = append(layers[vs[i].rank], i)
		next := slices.Clone(vs[i].out)
		slices.SortStableFunc(next, func(a, b int) int { return height[b] - height[a] })
		for _, j := range next {
			walk(j)
		}
	}
	if s, ok := idx[m.start]; ok {
		walk(s)
	}
	for i := range vs {
		walk(i)
	}
	setPos := func() {
		for _, l := range layers {
			for p, i := range l {
				vs[i].pos = p
			}
		}
	}
	setPos()
	transpose(vs, layers)
	best := cloneLayers(layers)
	bestCross := crossings(vs, layers)
	for iter := 0; iter < 24 && bestCross > 0; iter++ {
		down := iter%2 == 0
		for k := 1; k <= maxRank; k++ {
			r := k
			if !down {
				r = maxRank - k
			}
			l := layers[r]
			bc := make(map[int]float64, len(l))
			for _, i := range l {
				nb := vs[i].in
				if !down {
					nb = vs[i].out
				}
				if len(nb) == 0 {
					bc[i] = float64(vs[i].pos)
					continue
				}
				s := 0.0
				for _, j := range nb {
					s += float64(vs[j].pos)
				}
				bc[i] = s / float64(len(nb))
			}
			sort.SliceStable(l, func(a, b int) bool { return bc[l[a]] < bc[l[b]] })
			for p, i := range l {
				vs[i].pos = p
			}
		}
		transpose(vs, layers)
		if c := crossings(vs, layers); c < bestCross {
			best, bestCross = cloneLayers(layers), c
		}
	}
	layers = best
	setPos()

	// 5. x positions. The spine — from the start, each time the successor with the longest
	// way down — is one straight column; the rest is placed around it. Without it, each
	// fan-out would nudge the flow aside and a long machine would drift across the page.
	spine := make([]bool, len(vs))
	if s, ok := idx[m.start]; ok {
		for i := s; ; {
			spine[i] = true
			next := -1
			for _, j := range vs[i].out {
				if next < 0 || height[j] > height[next] {
					next = j
				}
			}
			if next < 0 {
				break
			}
			i = next
		}
	}
	gap := func(a, b *vtx) float64 {
		g := float64(nodeGap)
		switch {
		case a.node == nil && b.node == nil:
			g = dummyGap
		case a.node == nil || b.node == nil:
			// A transition passing a state keeps clear of its box.
			g = (nodeGap + dummyGap) / 2
		}
		return (a.w+b.w)/2 + g
	}
	placeLayer := func(l []int, desired func(i int) float64) {
		if len(l) == 0 {
			return
		}
		t := make([]float64, len(l))
		w := make([]float64, len(l))
		off := 0.0
		for p, i := range l {
			if p > 0 {
				off += gap(vs[l[p-1]], vs[i])
			}
			t[p] = desired(i) - off
			w[p] = 1
			switch {
			case spine[i]:
				t[p], w[p] = -off, 1000
			case vs[i].node == nil:
				w[p] = 2 // long transitions stay straight rather than bend round states
			}
		}
		y := pava(t, w)
		off = 0
		for p, i := range l {
			if p > 0 {
				off += gap(vs[l[p-1]], vs[i])
			}
			vs[i].x = y[p] + off
		}
	}
	mean := func(i int, nbs ...[]int) float64 {
		s, n := 0.0, 0
		for _, nb := range nbs {
			for _, j := range nb {
				s += vs[j].x
				n++
			}
		}
		if n == 0 {
			return vs[i].x
		}
		return s / float64(n)
	}
	for _, l := range layers {
		placeLayer(l, func(int) float64 { return 0 })
	}
	for iter := 0; iter < 8; iter++ {
		if iter%2 == 0 {
			for r := 1; r <= maxRank; r++ {
				placeLayer(layers[r], func(i int) float64 { return mean(i, vs[i].in) })
			}
		} else {
			for r := maxRank - 1; r >= 0; r-- {
				placeLayer(layers[r], func(i int) float64 { return mean(i, vs[i].out) })
			}
		}
	}
	for r := 0; r <= maxRank; r++ {
		placeLayer(layers[r], func(i int) float64 { return mean(i, vs[i].in, vs[i].out) })
	}

	// A long transition's dummies go in one straight line when the room around them allows:
	// at its source's x, its target's, or the middle of where they are.
	for _, e := range m.edges {
		chain := chains[e]
		if len(chain) < 4 {
			continue
		}
		lo, hi := math.Inf(-1), math.Inf(1)
		var xs []float64
		for _, i := range chain[1 : len(chain)-1] {
			d, l := vs[i], layers[vs[i].rank]
			if d.pos > 0 {
				left := vs[l[d.pos-1]]
				lo = math.Max(lo, left.x+gap(left, d))
			}
			if d.pos < len(l)-1 {
				right := vs[l[d.pos+1]]
				hi = math.Min(hi, right.x-gap(d, right))
			}
			xs = append(xs, d.x)
		}
		if lo > hi {
			continue
		}
		slices.Sort(xs)
		for _, x := range []float64{vs[chain[0]].x, vs[chain[len(chain)-1]].x, xs[len(xs)/2]} {
			if x >= lo && x <= hi {
				for _, i := range chain[1 : len(chain)-1] {
					vs[i].x = x
				}
				break
			}
		}
	}

	// y: each rank as tall as its tallest vertex; ranks of dummies only are thin.
	heights := make([]float64, maxRank+1)
	for _, v := range vs {
		heights[v.rank] = math.Max(heights[v.rank], v.h)
	}
	centers := make([]float64, maxRank+1)
	top := 0.0
	for r, h := range heights {
		if h == 0 {
			h = 4
		}
		centers[r] = top + h/2
		top += h + rankGap
	}
	minX, maxX := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		minX = math.Min(minX, v.x-v.w/2)
		maxX = math.Max(maxX, v.x+v.w/2)
	}
	// Self-loops are drawn to the right of their state: make room.
	for _, e := range m.edges {
		if e.from == e.to {
			n := vs[idx[e.from]]
			maxX = math.Max(maxX, n.x+n.w/2+40+textW(shortLabel(e.label), labelCharW))
		}
	}
	if len(vs) == 0 {
		minX, maxX, top = 0, 0, rankGap
	}
	ox := machinePad - minX
	oy := float64(machinePad)
	if m.label != "" {
		oy += machineTitle
	}
	m.w = maxX - minX + 2*machinePad
	m.h = top - rankGap + oy + machinePad
	for _, v := range vs {
		v.x += ox
	}
	cy := func(v *vtx) float64 { return centers[v.rank] + oy }
	for _, v := range vs {
		if v.node != nil {
			v.node.x, v.node.y = v.x-v.w/2, cy(v)-v.h/2
		}
	}

	// 6. Routes.
	attach := func(n, next *vtx, spread float64) float64 {
		lim := n.w/2 - 12
		if spread < lim {
			lim = spread
		}
		return math.Max(n.x-lim, math.Min(n.x+lim, next.x))
	}
	for _, e := range m.edges {
		if e.from == e.to {
			n := vs[idx[e.from]]
			r, c := n.x+n.w/2, cy(n)
			e.points = []pt{{r, c - 10}, {r + 30, c - 10}, {r + 30, c + 10}, {r, c + 10}}
			if e.label != "" {
				e.lines = []string{shortLabel(e.label)}
			}
			e.labelAt = pt{r + 36 + textW(shortLabel(e.label), labelCharW)/2, c}
			continue
		}
		chain := chains[e]
		first, last := vs[chain[0]], vs[chain[len(chain)-1]]
		spread := first.w / 3
		if e.back {
			spread = first.w / 2
		}
		pts := []pt{{attach(first, vs[chain[1]], spread), cy(first) + first.h/2}}
		for _, i := range chain[1 : len(chain)-1] {
			d := vs[i]
			// Through a rank taller than the dummy, the transition runs straight down the
			// whole rank, so that it cannot cut the corner of a tall state beside it.
			if half := heights[d.rank] / 2; half > d.h/2+2 {
				pts = append(pts, pt{d.x, cy(d) - half}, pt{d.x, cy(d) + half})
			} else {
				pts = append(pts, pt{d.x, cy(d)})
			}
			if d.label == e {
				e.labelAt = pt{d.x, cy(d)}
			}
		}
		spread = last.w / 3
		if e.back {
			spread = last.w / 2
		}
		pts = append(pts, pt{attach(last, vs[chain[len(chain)-2]], spread), cy(last) - last.h/2})
		if e.back {
			// A loop leaves its source by the top and enters its target from below; moved
			// off the centre line so that it does not run over the forward transitions.
			slices.Reverse(pts)
			for _, k := range []int{0, len(pts) - 1} {
				n := last
				if k == len(pts)-1 {
					n = first
				}
				if math.Abs(pts[k].x-n.x) < 4 {
					pts[k].x = n.x + n.w/3
				}
			}
		}
		e.points = pts
	}
}

// transpose swaps neighbours within a rank while that removes crossings with the ranks
// above and below: it gets out of the local minima barycentres leave, such as a loop's
// target put on the side away from the loop.
func transpose(vs []*vtx, layers [][]int) {
	pairCross := func(u, v *vtx) int {
		n := 0
		for _, a := range u.in {
			for _, b := range v.in {
				if vs[a].pos > vs[b].pos {
					n++
				}
			}
		}
		for _, a := range u.out {
			for _, b := range v.out {
				if vs[a].pos > vs[b].pos {
					n++
				}
			}
		}
		return n
	}
	for round := 0; round < 8; round++ {
		improved := false
		for _, l := range layers {
			for p := 0; p+1 < len(l); p++ {
				u, v := vs[l[p]], vs[l[p+1]]
				if pairCross(v, u) < pairCross(u, v) {
					l[p], l[p+1] = l[p+1], l[p]
					u.pos, v.pos = p+1, p
					improved = true
				}
			}
		}
		if !improved {
			return
		}
	}
}

func cloneLayers(l [][]int) [][]int {
	out := make([][]int, len(l))
	for i := range l {
		out[i] = slices.Clone(l[i])
	}
	return out
}

// crossings counts the pairs of transitions between adjacent ranks that cross.
func crossings(vs []*vtx, layers [][]int) int {
	n := 0
	type seg struct{ a, b int }
	for _, l := range layers {
		var segs []seg
		for _, i := range l {
			for _, j := range vs[i].out {
				segs = append(segs, seg{vs[i].pos, vs[j].pos})
			}
		}
		for x := range segs {
			for y := x + 1; y < len(segs); y++ {
				s, t := segs[x], segs[y]
				if (s.a < t.a && s.b > t.b) || (s.a > t.a && s.b < t.b) {
					n++
				}
			}
		}
	}
	return n
}

// pava returns the non-decreasing sequence closest to t in the weighted least squares sense
// (the pool-adjacent-violators algorithm). The layout gives it each vertex's wished-for x
// minus the room the vertices before it need, so the answer keeps order and spacing while
// moving vertices as little as possible from where their neighbours pull them.
func pava(t, w []float64) []float64 {
	type block struct {
		sum, wt float64
		n       int
	}
	st := make([]block, 0, len(t))
	for i := range t {
		b := block{t[i] * w[i], w[i], 1}
		for len(st) > 0 {
			p := st[len(st)-1]
			if p.sum/p.wt < b.sum/b.wt {
				break
			}
			st = st[:len(st)-1]
			b = block{p.sum + b.sum, p.wt + b.wt, p.n + b.n}
		}
		st = append(st, b)
	}
	out := make([]float64, 0, len(t))
	for _, b := range st {
		v := b.sum / b.wt
		for range b.n {
			out = append(out, v)
		}
	}
	return out
}
