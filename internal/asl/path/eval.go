package path

import (
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

const jaywayProvider = "com.jayway.jsonpath.spi.json.JacksonJsonNodeJsonProvider"

func (p *Path) evalDoc(doc jsonv.Value) (jsonv.Value, error) {
	if p.definite {
		v, err := p.evalDefinite(doc)
		if err != nil || p.fn == nil {
			return v, err
		}
		return p.fn.call(v, p)
	}
	out := []jsonv.Value{}
	p.walk(doc, 0, doc, &out)
	if p.fn == nil {
		return out, nil
	}
	// Jayway applies a function after a deep scan to all the matches together ($..price.max()),
	// and after other indefinite steps to each match.
	for i := range p.steps {
		if p.steps[i].kind == stepScan {
			return p.fn.call(out, p)
		}
	}
	res := make([]jsonv.Value, 0, len(out))
	for _, v := range out {
		if r, err := p.fn.call(v, p); err == nil {
			res = append(res, r)
		}
	}
	return res, nil
}

// evalDefinite follows a definite path without allocating, unless it fails.
func (p *Path) evalDefinite(doc jsonv.Value) (jsonv.Value, error) {
	v := doc
	for i := range p.steps {
		st := &p.steps[i]
		last := i == len(p.steps)-1
		switch st.kind {
		case stepName:
			o, ok := v.(*jsonv.Object)
			if !ok {
				return nil, p.notObject(i, v)
			}
			next, found := o.Get(st.name)
			if !found {
				if last {
					return nil, p.noResults(false)
				}
				return nil, &NotFoundError{Path: p.text, Detail: "Missing property in path " + p.normalizedPrefix(i+1)}
			}
			v = next
		case stepIndex:
			a, ok := v.([]jsonv.Value)
			if !ok {
				return nil, p.notArray(i, v)
			}
			idx := st.index
			if idx < 0 {
				idx += len(a)
			}
			if idx < 0 || idx >= len(a) {
				if last {
					return nil, p.noResults(true)
				}
				// Jackson's ArrayNode.get answers null past the end, and Jayway carries on
				// with that null: the next step then fails on it.
				v = nil
				continue
			}
			v = a[idx]
		case stepNames:
			o, ok := v.(*jsonv.Object)
			if !ok {
				return nil, p.notObject(i, v)
			}
			v = mergeNames(o, st.names)
		}
	}
	return v, nil
}

// mergeNames is Jayway's ['a','b'] as a last step: one object with the members that exist.
func mergeNames(o *jsonv.Object, names []string) *jsonv.Object {
	m := jsonv.NewObject(len(names))
	for _, n := range names {
		if x, ok := o.Get(n); ok {
			m.Set(n, x)
		}
	}
	return m
}

func (p *Path) noResults(outOfRange bool) error {
	return &NotFoundError{Path: p.text, Detail: "No results for path: " + p.Normalized(), OutOfRange: outOfRange}
}

func (p *Path) notObject(i int, v jsonv.Value) error {
	var frag strings.Builder
	p.steps[i].appendJayway(&frag)
	return &NotFoundError{Path: p.text, Detail: "Expected to find an object with property " + frag.String() +
		" in path " + p.normalizedPrefix(i) + " but found '" + javaClass(v, i == 0) +
		"'. This is not a json object according to the JsonProvider: '" + jaywayProvider + "'."}
}

func (p *Path) notArray(i int, v jsonv.Value) error {
	if v == nil && i > 0 {
		return &NotFoundError{Path: p.text, Detail: "The path " + p.normalizedPrefix(i) + " is null"}
	}
	var frag strings.Builder
	p.steps[i].appendJayway(&frag)
	return &NotFoundError{Path: p.text, Detail: "Filter: " + frag.String() +
		" can only be applied to arrays. Current context is: " + javaToString(v, i == 0)}
}

// walk applies steps[i:] to v and appends what they select to out. Indefinite paths never
// fail: AWS answers an empty array where Jayway would throw.
func (p *Path) walk(v jsonv.Value, i int, root jsonv.Value, out *[]jsonv.Value) {
	if i == len(p.steps) {
		*out = append(*out, v)
		return
	}
	st := &p.steps[i]
	switch st.kind {
	case stepName:
		if o, ok := v.(*jsonv.Object); ok {
			if x, ok := o.Get(st.name); ok {
				p.walk(x, i+1, root, out)
			}
		}
	case stepNames:
		o, ok := v.(*jsonv.Object)
		if !ok {
			return
		}
		if i == len(p.steps)-1 {
			*out = append(*out, mergeNames(o, st.names))
			return
		}
		for _, n := range st.names {
			if x, ok := o.Get(n); ok {
				p.walk(x, i+1, root, out)
			}
		}
	case stepIndex:
		p.walkIndex(v, st.index, i, root, out)
	case stepIndexes:
		for _, n := range st.indexes {
			p.walkIndex(v, n, i, root, out)
		}
	case stepSlice:
		a, ok := v.([]jsonv.Value)
		if !ok {
			return
		}
		from, to := st.bounds(len(a))
		for j := from; j < to; j++ {
			p.walk(a[j], i+1, root, out)
		}
	case stepWildcard:
		switch c := v.(type) {
		case *jsonv.Object:
			for _, m := range c.Members() {
				p.walk(m.Value, i+1, root, out)
			}
		case []jsonv.Value:
			for _, e := range c {
				p.walk(e, i+1, root, out)
			}
		}
	case stepScan:
		p.scan(v, i+1, root, out)
	case stepFilter:
		switch c := v.(type) {
		case *jsonv.Object:
			// Jayway tests an object itself against a filter, not its members.
			if st.filter.test(c, root) {
				p.walk(c, i+1, root, out)
			}
		case []jsonv.Value:
			for _, e := range c {
				if st.filter.test(e, root) {
					p.walk(e, i+1, root, out)
				}
			}
		}
	}
}

func (p *Path) walkIndex(v jsonv.Value, n, i int, root jsonv.Value, out *[]jsonv.Value) {
	a, ok := v.([]jsonv.Value)
	if !ok {
		return
	}
	if n < 0 {
		n += len(a)
	}
	if n >= 0 && n < len(a) {
		p.walk(a[n], i+1, root, out)
	} else if i == len(p.steps)-1 {
		// Past the end Jackson reads null, and Jayway keeps it as a match.
		*out = append(*out, nil)
	}
}

// scan applies steps[i:] at v and at every value below it, parents before children.
func (p *Path) scan(v jsonv.Value, i int, root jsonv.Value, out *[]jsonv.Value) {
	switch c := v.(type) {
	case *jsonv.Object:
		p.walk(v, i, root, out)
		for _, m := range c.Members() {
			p.scan(m.Value, i, root, out)
		}
	case []jsonv.Value:
		p.walk(v, i, root, out)
		for _, e := range c {
			p.scan(e, i, root, out)
		}
	}
}

// bounds resolves a slice against an array of length n, as Jayway's ArraySliceToken does.
func (st *step) bounds(n int) (from, to int) {
	from, to = 0, n
	if st.hasFrom {
		from = st.from
		if from < 0 {
			from += n
		}
		from = max(from, 0)
	}
	if st.hasTo {
		to = st.to
		if to < 0 {
			to += n
		}
		to = min(to, n)
	}
	if from > to {
		from = to
	}
	return from, to
}
