package jsonata

import (
	"fmt"
	"strconv"

	"github.com/stepline/stepline/internal/jsonv"
)

// lambda is a function defined in JSONata (function($x){...}), a partial application, or a
// tail-call thunk.
type lambda struct {
	params []string
	sig    *signature
	body   *node
	input  any
	env    *frame
	// thunk marks a deferred tail call: body is the call, to be run by apply's trampoline.
	thunk bool
	// native is set for a partial application of a built-in function; nativeArgs names all
	// of its arguments in order, some bound in env and the rest in params.
	native     *builtin
	nativeArgs []string
}

// builtin is a function implemented in Go: the standard library, caller-supplied functions,
// regex matchers and transforms.
type builtin struct {
	name  string
	sig   *signature
	arity int
	impl  func(c call, args []any) (any, error)
	// re is set for the function a regex literal evaluates to, so that $match and friends can
	// run it directly.
	re *regexLiteral
}

// call is what a builtin sees of its caller.
type call struct {
	ev    *evaluator
	input any
	env   *frame
}

// applySite says where a function was invoked from, for error reports.
type applySite struct {
	token  string
	pos    int
	hasPos bool
}

func arity(f any) int {
	switch x := f.(type) {
	case *lambda:
		return len(x.params)
	case *builtin:
		return x.arity
	}
	return 0
}

func (ev *evaluator) callFunction(n *node, input any, env *frame, first any, hasFirst bool) (any, error) {
	proc, err := ev.eval(n.proc, input, env)
	if err != nil {
		return nil, err
	}
	procName := n.proc.value
	if n.proc.typ == nPath {
		procName = n.proc.steps[0].value
	}
	if proc == nil && n.proc.typ == nPath && jsTruthy(ev.lookup(env, procName)) {
		return nil, newError("T1005", withPos(n.pos), withToken(procName))
	}
	args := make([]any, 0, len(n.args)+1)
	if hasFirst {
		args = append(args, first)
	}
	for _, a := range n.args {
		v, err := ev.eval(a, input, env)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
	}
	res, err := ev.apply(proc, args, input, env, applySite{token: procName, pos: n.pos, hasPos: true})
	if e, ok := err.(*Error); ok {
		if !e.hasPos {
			e.pos, e.hasPos = n.pos, true
		}
		if !e.hasToken {
			e.Token, e.hasToken = procName, true
		}
	}
	return res, err
}

// jsTruthy is JavaScript truthiness, which the reference uses in a few places instead of
// JSONata's boolean cast.
func jsTruthy(v any) bool {
	switch x := v.(type) {
	case nil, nullType:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && x == x
	case string:
		return x != ""
	}
	return true
}

// apply invokes a function. Tail calls come back as thunks and are run here in a loop, so that
// tail recursion does not deepen the Go stack or the depth count.
func (ev *evaluator) apply(proc any, args []any, input any, env *frame, site applySite) (any, error) {
	res, err := ev.applyInner(proc, args, input, env, site)
	for err == nil {
		th, ok := res.(*lambda)
		if !ok || !th.thunk {
			break
		}
		call := th.body
		var next any
		if next, err = ev.eval(call.proc, th.input, th.env); err != nil {
			return nil, err
		}
		nargs := make([]any, len(call.args))
		for i, a := range call.args {
			if nargs[i], err = ev.eval(a, th.input, th.env); err != nil {
				return nil, err
			}
		}
		tsite := applySite{pos: call.proc.pos, hasPos: true}
		if call.proc.typ == nVariable {
			tsite.token = call.proc.value
		}
		res, err = ev.applyInner(next, nargs, input, env, tsite)
	}
	return res, err
}

func (ev *evaluator) applyInner(proc any, args []any, input any, env *frame, site applySite) (any, error) {
	var res any
	var err error
	switch f := proc.(type) {
	case *lambda:
		if f.sig != nil {
			args, err = f.sig.validate(args, input)
		}
		if err == nil {
			res, err = ev.applyLambda(f, args)
		}
	case *builtin:
		if f.sig != nil {
			args, err = f.sig.validate(args, input)
		}
		if err == nil {
			res, err = f.impl(call{ev: ev, input: input, env: env}, args)
		}
	default:
		err = newError("T1006")
	}
	if e, ok := err.(*Error); ok && proc != nil {
		if !e.hasToken && site.token != "" {
			e.Token, e.hasToken = site.token, true
		}
		if !e.hasPos && site.hasPos {
			e.pos, e.hasPos = site.pos, true
		}
	}
	return res, err
}

func (ev *evaluator) applyLambda(f *lambda, args []any) (any, error) {
	env := newFrame(f.env)
	for i, p := range f.params {
		env.bind(p, argAt(args, i))
	}
	if f.native != nil {
		nargs := make([]any, len(f.nativeArgs))
		for i, name := range f.nativeArgs {
			nargs[i] = ev.lookup(env, name)
		}
		for len(nargs) > 0 && nargs[len(nargs)-1] == nil {
			nargs = nargs[:len(nargs)-1]
		}
		return ev.applyInner(f.native, nargs, nil, env, applySite{token: f.native.name})
	}
	return ev.eval(f.body, f.input, env)
}

func (ev *evaluator) partial(n *node, input any, env *frame) (any, error) {
	args := make([]any, len(n.args))
	placeholder := make([]bool, len(n.args))
	for i, a := range n.args {
		if a.typ == nPlaceholder {
			placeholder[i] = true
			continue
		}
		v, err := ev.eval(a, input, env)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	proc, err := ev.eval(n.proc, input, env)
	if err != nil {
		return nil, err
	}
	procName := n.proc.value
	if n.proc.typ == nPath {
		procName = n.proc.steps[0].value
	}
	if proc == nil && n.proc.typ == nPath && jsTruthy(ev.lookup(env, procName)) {
		return nil, newError("T1007", withPos(n.pos), withToken(procName))
	}
	bindArgs := func(params []string, scope *frame) []string {
		var unbound []string
		for i, p := range params {
			if i < len(placeholder) && placeholder[i] {
				unbound = append(unbound, p)
			} else {
				scope.bind(p, argAt(args, i))
			}
		}
		return unbound
	}
	if err := ev.alloc(lambdaBytes); err != nil {
		return nil, err
	}
	switch f := proc.(type) {
	case *lambda:
		scope := newFrame(f.env)
		return &lambda{params: bindArgs(f.params, scope), body: f.body, input: f.input, env: scope,
			native: f.native, nativeArgs: f.nativeArgs}, nil
	case *builtin:
		names := make([]string, f.arity)
		for i := range names {
			names[i] = "#" + strconv.Itoa(i)
		}
		scope := newFrame(nil)
		return &lambda{params: bindArgs(names, scope), env: scope, native: f, nativeArgs: names}, nil
	}
	return nil, newError("T1008", withPos(n.pos), withToken(procName))
}

func (ev *evaluator) applyExpr(n *node, input any, env *frame) (any, error) {
	lhs, err := ev.eval(n.lhs, input, env)
	if err != nil {
		return nil, err
	}
	if n.rhs.typ == nFunction {
		return ev.callFunction(n.rhs, input, env, lhs, true)
	}
	fn, err := ev.eval(n.rhs, input, env)
	if err != nil {
		return nil, err
	}
	if !isFunction(fn) {
		return nil, newError("T2006", withPos(n.pos), withValue(fn))
	}
	if isFunction(lhs) {
		// f ~> g composes: the result applies f, then g
		if err := ev.alloc(lambdaBytes); err != nil {
			return nil, err
		}
		first := lhs
		return &builtin{arity: 1, impl: func(c call, args []any) (any, error) {
			v, err := c.ev.apply(first, []any{argAt(args, 0)}, nil, c.env, applySite{})
			if err != nil {
				return nil, err
			}
			return c.ev.apply(fn, []any{v}, nil, c.env, applySite{})
		}}, nil
	}
	return ev.apply(fn, []any{lhs}, nil, env, applySite{})
}

var transformSignature = mustSignature("<(oa):o>")

func mustSignature(s string) *signature {
	sig, err := parseSignature(s)
	if err != nil {
		panic("jsonata: bad built-in signature " + s)
	}
	return sig
}

// transformer builds the function a |pattern|update,delete| expression denotes: it copies its
// argument and modifies the copy in place.
func (ev *evaluator) transformer(n *node, env *frame) *builtin {
	return &builtin{sig: transformSignature, arity: 1, impl: func(c call, args []any) (any, error) {
		obj := argAt(args, 0)
		if obj == nil {
			return nil, nil
		}
		clone := c.ev.lookup(env, "clone")
		if !isFunction(clone) {
			return nil, newError("T2013", withPos(n.pos))
		}
		result, err := c.ev.apply(clone, []any{obj}, nil, env, applySite{})
		if err != nil {
			return nil, err
		}
		matches, err := c.ev.eval(n.pattern, result, env)
		if err != nil || matches == nil {
			return result, err
		}
		items := []any{matches}
		if a, ok := matches.(*array); ok {
			items = a.items
		}
		for _, m := range items {
			update, err := c.ev.eval(n.update, m, env)
			if err != nil {
				return nil, err
			}
			target, isObj := m.(*jsonv.Object)
			if update != nil {
				u, ok := update.(*jsonv.Object)
				if !ok {
					return nil, newError("T2011", withPos(n.update.pos), withValue(update))
				}
				if isObj {
					for _, mem := range u.Members() {
						v := norm(mem.Value)
						found, err := c.ev.reaches(v, target, 0)
						if err != nil {
							return nil, err
						}
						if found {
							return nil, fmt.Errorf("jsonata: transform at position %d would make an object contain itself", utf16Offset(c.ev.src, n.pos))
						}
						target.Set(mem.Key, v)
					}
				}
			}
			if n.del == nil {
				continue
			}
			deletions, err := c.ev.eval(n.del, m, env)
			if err != nil {
				return nil, err
			}
			if deletions == nil {
				continue
			}
			keys := []any{deletions}
			if a, ok := deletions.(*array); ok {
				keys = a.items
			}
			for _, k := range keys {
				if _, ok := k.(string); !ok {
					return nil, newError("T2012", withPos(n.del.pos), withValue(deletions))
				}
			}
			if isObj {
				for _, k := range keys {
					if target.Has(k.(string)) {
						*target = *target.Without(k.(string))
					}
				}
			}
		}
		return result, nil
	}}
}

// sortSeq implements the order-by clause over a plain sequence.
func (ev *evaluator) sortSeq(n *node, input []any, env *frame) (*array, error) {
	if len(input) <= 1 {
		return &array{items: append([]any(nil), input...), seq: true}, nil
	}
	if err := ev.allocSlots(len(input)); err != nil {
		return nil, err
	}
	less := func(a, b any) (bool, error) {
		return ev.orderCompare(n, a, env, b, env)
	}
	// sorting a copy keeps input from escaping, which lets path steps keep it on the stack
	sorted, err := mergeSort(append([]any(nil), input...), less)
	if err != nil {
		return nil, err
	}
	return &array{items: sorted}, nil
}

func (ev *evaluator) sortTuples(n *node, ts *tupleSeq, env *frame) (*tupleSeq, error) {
	if len(ts.tuples) <= 1 {
		return ts, nil
	}
	if err := ev.allocSlots(2 * len(ts.tuples)); err != nil {
		return nil, err
	}
	items := make([]any, len(ts.tuples))
	for i, t := range ts.tuples {
		items[i] = t
	}
	sorted, err := mergeSort(items, func(a, b any) (bool, error) {
		ta, tb := a.(*tuple), b.(*tuple)
		return ev.orderCompare(n, ta.at, frameFromTuple(env, ta), tb.at, frameFromTuple(env, tb))
	})
	if err != nil {
		return nil, err
	}
	out := &tupleSeq{tuples: make([]*tuple, len(sorted))}
	for i, v := range sorted {
		out.tuples[i] = v.(*tuple)
	}
	return out, nil
}

// orderCompare reports whether a must move after b under the order-by terms of n.
func (ev *evaluator) orderCompare(n *node, a any, aenv *frame, b any, benv *frame) (bool, error) {
	comp := 0
	for _, term := range n.terms {
		if comp != 0 {
			break
		}
		aa, err := ev.eval(term.expr, a, aenv)
		if err != nil {
			return false, err
		}
		bb, err := ev.eval(term.expr, b, benv)
		if err != nil {
			return false, err
		}
		if aa == nil {
			if bb != nil {
				comp = 1
			}
			continue
		}
		if bb == nil {
			comp = -1
			continue
		}
		okType := func(v any) bool {
			switch v.(type) {
			case string, float64:
				return true
			}
			return false
		}
		if !okType(aa) || !okType(bb) {
			bad := bb
			if !okType(aa) {
				bad = aa
			}
			return false, newError("T2008", withPos(n.pos), withValue(bad))
		}
		switch x := aa.(type) {
		case float64:
			y, ok := bb.(float64)
			if !ok {
				return false, newError("T2007", withPos(n.pos), withValue(aa), withValue2(bb))
			}
			if x == y {
				continue
			}
			comp = 1
			if x < y {
				comp = -1
			}
		case string:
			y, ok := bb.(string)
			if !ok {
				return false, newError("T2007", withPos(n.pos), withValue(aa), withValue2(bb))
			}
			if x == y {
				continue
			}
			comp = 1
			if compareStrings(x, y) < 0 {
				comp = -1
			}
		}
		if term.descending {
			comp = -comp
		}
	}
	return comp == 1, nil
}

// mergeSort is the reference's stable merge sort; swap(a, b) says whether b must precede a.
func mergeSort(items []any, swap func(a, b any) (bool, error)) ([]any, error) {
	if len(items) <= 1 {
		return items, nil
	}
	mid := len(items) / 2
	left, err := mergeSort(items[:mid], swap)
	if err != nil {
		return nil, err
	}
	right, err := mergeSort(items[mid:], swap)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(items))
	for len(left) > 0 && len(right) > 0 {
		s, err := swap(left[0], right[0])
		if err != nil {
			return nil, err
		}
		if s {
			out = append(out, right[0])
			right = right[1:]
		} else {
			out = append(out, left[0])
			left = left[1:]
		}
	}
	out = append(out, left...)
	return append(out, right...), nil
}

// reaches reports whether target can be found inside v. Transforms modify objects in place, and
// an update that refers back to the object (through %) would otherwise make it contain itself,
// which no JSON can represent.
// Each value visited is an evaluation step, since v can hold one value many times over.
func (ev *evaluator) reaches(v any, target *jsonv.Object, depth int) (bool, error) {
	if depth > jsonv.MaxDepth {
		return true, nil
	}
	if err := ev.tick(); err != nil {
		return false, err
	}
	switch x := v.(type) {
	case *jsonv.Object:
		if x == target {
			return true, nil
		}
		for _, m := range x.Members() {
			if found, err := ev.reaches(norm(m.Value), target, depth+1); found || err != nil {
				return found, err
			}
		}
	case *array:
		for _, e := range x.items {
			if found, err := ev.reaches(e, target, depth+1); found || err != nil {
				return found, err
			}
		}
	}
	return false, nil
}
