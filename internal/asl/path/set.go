package path

import (
	"strconv"

	"github.com/stepline/stepline/internal/jsonv"
)

// SetError reports a reference path that cannot be applied to a target: a name applied to a
// value that is not an object, or an index to one that is not an array or is too short.
type SetError struct {
	Path   string      // the path as written
	Step   string      // the step that could not be applied; "" when it is the first
	Target jsonv.Value // the whole value the path was applied to
}

// Error renders AWS's texts: "Unable to apply ReferencePath $.x to input \"s\"" when the target
// itself does not fit, "Unable to apply step \"b\" to input {...}" when a value inside it does not.
func (e *SetError) Error() string {
	if e.Step == "" {
		return "Unable to apply ReferencePath " + e.Path + " to input " + jsonv.String(e.Target)
	}
	return "Unable to apply step \"" + e.Step + "\" to input " + jsonv.String(e.Target)
}

// Unwrap lets callers test errors.Is(err, ErrCannotSet).
func (e *SetError) Unwrap() error { return ErrCannotSet }

// Set returns a copy of target with the node at reference path p set to v, creating objects
// along the way (ResultPath semantics). target is not changed: only the objects and arrays on
// the path are copied, everything else is shared.
func (p *Path) Set(target, v jsonv.Value) (jsonv.Value, error) {
	if !p.IsReference() {
		return nil, &SyntaxError{Path: p.text, Msg: "only a reference path can be set"}
	}
	return p.setAt(target, true, 0, v, target)
}

// setAt returns cur with steps[i:] set to v; exists is false for a member the path creates.
func (p *Path) setAt(cur jsonv.Value, exists bool, i int, v, target jsonv.Value) (jsonv.Value, error) {
	if i == len(p.steps) {
		return v, nil
	}
	st := &p.steps[i]
	if st.kind == stepName {
		o, ok := cur.(*jsonv.Object)
		if !ok && exists {
			return nil, p.setError(i, target)
		}
		child, found := o.Get(st.name)
		nv, err := p.setAt(child, found, i+1, v, target)
		if err != nil {
			return nil, err
		}
		return o.With(st.name, nv), nil
	}
	a, ok := cur.([]jsonv.Value)
	idx := st.index
	if idx < 0 {
		idx += len(a)
	}
	if !ok || idx < 0 || idx >= len(a) {
		return nil, p.setError(i, target)
	}
	nv, err := p.setAt(a[idx], true, i+1, v, target)
	if err != nil {
		return nil, err
	}
	c := make([]jsonv.Value, len(a))
	copy(c, a)
	c[idx] = nv
	return c, nil
}

func (p *Path) setError(i int, target jsonv.Value) error {
	e := &SetError{Path: p.text, Target: target}
	if i > 0 {
		if st := &p.steps[i]; st.kind == stepName {
			e.Step = st.name
		} else {
			e.Step = "[" + strconv.Itoa(st.index) + "]"
		}
	}
	return e
}
