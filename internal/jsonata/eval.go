package jsonata

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/stepline/stepline/internal/jsonv"
)

// evaluator holds the state of one evaluation: limits, the clock reading shared by $now() and
// $millis(), and the caller's extra functions. A compiled Expr never changes; everything that
// does lives here.
type evaluator struct {
	ctx      context.Context
	src      string
	depth    int
	maxDepth int
	maxSteps int64 // negative: no limit
	ticks    int64
	mem      budget
	// arrays holds the input's arrays as converted (see evaluator.norm): the first few in
	// fewArrays, which spares a map for most evaluations
	fewArrays  [4]rawArray
	nFewArrays int
	arrays     map[rawKey]any
	now        time.Time
	random     func() float64
	functions  map[string]*builtin
	// root is the outermost scope, holding $$ and the caller's bindings
	root frame
}

// frame is a variable scope. Scopes are small, so a slice beats a map; the first bindings
// live in the frame itself to save allocations.
type frame struct {
	parent      *frame
	names       []string
	vals        []any
	inlineNames [2]string
	inlineVals  [2]any
}

func newFrame(parent *frame) *frame { return &frame{parent: parent} }

func (f *frame) bind(name string, v any) {
	for i, n := range f.names {
		if n == name {
			f.vals[i] = v
			return
		}
	}
	if f.names == nil {
		f.names, f.vals = f.inlineNames[:0], f.inlineVals[:0]
	}
	f.names = append(f.names, name)
	f.vals = append(f.vals, v)
}

func (ev *evaluator) lookup(env *frame, name string) any {
	for f := env; f != nil; f = f.parent {
		for i := len(f.names) - 1; i >= 0; i-- {
			if f.names[i] == name {
				return f.vals[i]
			}
		}
	}
	if b, ok := ev.functions[name]; ok {
		return b
	}
	if b, ok := builtins[name]; ok {
		return b
	}
	return nil
}

// tuple is one binding of a tuple stream: the context item '@' plus the focus, index and
// ancestor variables bound along a path.
type tuple struct {
	at   any
	vars []tupleVar
}

type tupleVar struct {
	name string
	val  any
}

func (t *tuple) clone() *tuple {
	return &tuple{at: t.at, vars: append([]tupleVar(nil), t.vars...)}
}

func (t *tuple) set(name string, v any) {
	for i := range t.vars {
		if t.vars[i].name == name {
			t.vars[i].val = v
			return
		}
	}
	t.vars = append(t.vars, tupleVar{name, v})
}

// tupleSeq is a tuple stream, which paths using @, # or % evaluate to internally.
type tupleSeq struct {
	tuples []*tuple
}

func frameFromTuple(env *frame, t *tuple) *frame {
	f := &frame{parent: env, names: make([]string, len(t.vars)), vals: make([]any, len(t.vars))}
	for i, v := range t.vars {
		f.names[i] = v.name
		f.vals[i] = v.val
	}
	return f
}

// tick counts a step and enforces the step budget and cancellation. Checking the context on
// every step would cost more than most steps, so it is sampled.
func (ev *evaluator) tick() error {
	ev.ticks++
	if ev.ticks&0x3f != 0 {
		return nil
	}
	return ev.checkLimits()
}

func (ev *evaluator) checkLimits() error {
	if err := ev.ctx.Err(); err != nil {
		return fmt.Errorf("jsonata: evaluation stopped: %w", err)
	}
	if ev.maxSteps >= 0 && ev.ticks > ev.maxSteps {
		return newError("U1001", withMessage("Expression evaluation timeout: Check for infinite loop"))
	}
	return nil
}

// eval evaluates n. Every call counts towards the depth limit, as the reference's
// timeboxing counts every evaluation, so that recursion limits match the reference suite.
func (ev *evaluator) eval(n *node, input any, env *frame) (any, error) {
	ev.depth++
	if ev.depth > ev.maxDepth {
		ev.depth--
		return nil, newError("U1001")
	}
	if err := ev.tick(); err != nil {
		ev.depth--
		return nil, err
	}
	res, err := ev.evalNode(n, input, env)
	if err == nil {
		for _, p := range n.predicate {
			if res, err = ev.filter(p.expr, res, env); err != nil {
				break
			}
		}
	}
	if err == nil && n.group != nil && n.typ != nPath {
		res, err = ev.group(n.group.pairs, n.group.pos, res, env)
	}
	ev.depth--
	if err != nil {
		return nil, err
	}
	if a, ok := res.(*array); ok && a.seq {
		if n.keepArray {
			a.keepSingleton = true
		}
		switch len(a.items) {
		case 0:
			return nil, nil
		case 1:
			if !a.keepSingleton {
				return a.items[0], nil
			}
		}
	}
	return res, nil
}

func (ev *evaluator) evalNode(n *node, input any, env *frame) (any, error) {
	switch n.typ {
	case nPath:
		return ev.path(n, input, env)
	case nBinary:
		return ev.binary(n, input, env)
	case nUnary:
		return ev.unary(n, input, env)
	case nName:
		return ev.lookupField(input, n.value)
	case nString:
		return n.value, nil
	case nNumber:
		return n.num, nil
	case nValue:
		return n.lit, nil
	case nWildcard:
		return ev.wildcard(input)
	case nDescendant:
		return ev.descendants(input)
	case nParent:
		return ev.lookup(env, n.slot.label), nil
	case nCondition:
		c, err := ev.eval(n.cond, input, env)
		if err != nil {
			return nil, err
		}
		b, err := toBoolean(c)
		if err != nil {
			return nil, err
		}
		if b {
			return ev.eval(n.then, input, env)
		}
		if n.els != nil {
			return ev.eval(n.els, input, env)
		}
		return nil, nil
	case nCoalesce:
		c, err := ev.eval(n.cond, input, env)
		if err != nil || c != nil {
			return c, err
		}
		return ev.eval(n.els, input, env)
	case nElvis:
		c, err := ev.eval(n.cond, input, env)
		if err != nil {
			return nil, err
		}
		b, err := toBoolean(c)
		if err != nil || b {
			return c, err
		}
		return ev.eval(n.els, input, env)
	case nBlock:
		scope := env
		if n.needsFrame {
			scope = newFrame(env)
		}
		var res any
		for _, e := range n.exprs {
			var err error
			if res, err = ev.eval(e, input, scope); err != nil {
				return nil, err
			}
		}
		return res, nil
	case nBind:
		v, err := ev.eval(n.rhs, input, env)
		if err != nil {
			return nil, err
		}
		env.bind(n.lhs.value, v)
		return v, nil
	case nRegex:
		return regexFunction(n.re), nil
	case nFunction:
		return ev.callFunction(n, input, env, nil, false)
	case nVariable:
		if n.value == "" {
			if a, ok := input.(*array); ok && a.outerWrapper {
				return a.items[0], nil
			}
			return input, nil
		}
		return ev.lookup(env, n.value), nil
	case nLambda:
		// a thunk (a tail call to be run by apply's loop) never outlives the call
		if !n.thunk {
			if err := ev.alloc(lambdaBytes); err != nil {
				return nil, err
			}
		}
		return &lambda{params: n.params, sig: n.sig, body: n.body, input: input, env: env, thunk: n.thunk}, nil
	case nPartial:
		return ev.partial(n, input, env)
	case nApply:
		return ev.applyExpr(n, input, env)
	case nTransform:
		if err := ev.alloc(lambdaBytes); err != nil {
			return nil, err
		}
		return ev.transformer(n, env), nil
	case nSort:
		if a, ok := input.(*array); ok {
			return ev.sortSeq(n, a.items, env)
		}
		return ev.sortSeq(n, []any{input}, env)
	}
	return nil, nil
}

// lookupField reads a field of an object, or of each object of a sequence, flattening arrays
// into the result. The sequence it builds is charged, and so is an array of the input it
// converts, since a function may keep it.
func (ev *evaluator) lookupField(input any, key string) (any, error) {
	switch x := input.(type) {
	case *array:
		// each array visited is a step: arrays nested in arrays can share items, and
		// visiting them all can take exponentially longer than building them
		if err := ev.tick(); err != nil {
			return nil, err
		}
		res := &array{seq: true}
		for _, item := range x.items {
			v, err := ev.lookupField(item, key)
			if err != nil {
				return nil, err
			}
			if v == nil {
				continue
			}
			if a, ok := v.(*array); ok {
				if err := ev.allocSlots(len(a.items)); err != nil {
					return nil, err
				}
				res.items = append(res.items, a.items...)
			} else {
				if err := ev.allocSlots(1); err != nil {
					return nil, err
				}
				res.items = append(res.items, v)
			}
		}
		return res, nil
	case *jsonv.Object:
		v, ok := x.Get(key)
		if !ok {
			return nil, nil
		}
		return ev.norm(v)
	}
	return nil, nil
}

func (ev *evaluator) path(n *node, input any, env *frame) (any, error) {
	if n.simpleName {
		// A single field name applied to a non-array context is a plain lookup; this is the
		// most common path, so it skips building sequences. The step's evaluation still counts
		// towards the depth limit.
		if _, isArr := input.(*array); !isArr {
			if ev.depth+1 > ev.maxDepth {
				return nil, newError("U1001")
			}
			v, err := ev.lookupField(input, n.steps[0].value)
			if err != nil {
				return nil, err
			}
			if _, isArr := v.(*array); !isArr {
				return v, nil
			}
		}
	}
	// the context sequence; a single context item lives on the stack
	var one [1]any
	var inputItems []any
	if a, ok := input.(*array); ok && n.steps[0].typ != nVariable {
		inputItems = a.items
	} else {
		one[0] = input
		inputItems = one[:]
	}
	var result *array
	var tuples *tupleSeq
	isTuple := false
	for i, step := range n.steps {
		if step.tuple {
			isTuple = true
		}
		var err error
		switch {
		case i == 0 && step.consarray:
			var r any
			if err = ev.allocSlots(len(inputItems)); err != nil {
				return nil, err
			}
			if r, err = ev.eval(step, &array{items: append([]any(nil), inputItems...), seq: true}, env); err != nil {
				return nil, err
			}
			// The reference iterates over whatever the constructor (with its predicates)
			// produced: an array's items, a string's characters, and nothing for anything else,
			// so [{"a":1}][0].a has no result.
			switch x := r.(type) {
			case *array:
				result = x
			case string:
				result = newSeq()
				if err = ev.allocSlots(runeCount(x)); err != nil {
					return nil, err
				}
				for _, ch := range runes(x) {
					result.items = append(result.items, ch)
				}
			default:
				result = newSeq()
			}
		case isTuple:
			if tuples, err = ev.tupleStep(step, inputItems, tuples, env); err != nil {
				return nil, err
			}
		default:
			if result, err = ev.step(step, inputItems, env, i == len(n.steps)-1); err != nil {
				return nil, err
			}
		}
		if !isTuple && len(result.items) == 0 {
			break
		}
		if step.focus == "" && result != nil {
			inputItems = result.items
		}
	}
	var out any = result
	if isTuple {
		if n.tuple {
			out = tuples
		} else {
			seq := &array{seq: true}
			if tuples != nil {
				if err := ev.allocSlots(len(tuples.tuples)); err != nil {
					return nil, err
				}
				seq.items = make([]any, len(tuples.tuples))
				for i, t := range tuples.tuples {
					seq.items[i] = t.at
				}
			}
			result = seq
			out = seq
		}
	}
	if n.keepSingletonArray && result != nil {
		if result.cons && !result.seq {
			result = newSeq(result)
		}
		result.keepSingleton = true
		if !isTuple || !n.tuple {
			out = result
		}
	}
	if n.group != nil {
		var in any = result
		if isTuple {
			in = tuples
		}
		return ev.group(n.group.pairs, n.group.pos, in, env)
	}
	return out, nil
}

// step evaluates one path step against each item of the input sequence and flattens the results.
func (ev *evaluator) step(n *node, input []any, env *frame, last bool) (*array, error) {
	if n.typ == nSort {
		res, err := ev.sortSeq(n, input, env)
		if err != nil {
			return nil, err
		}
		var r any = res
		for _, st := range n.stages {
			if r, err = ev.filter(st.expr, r, env); err != nil {
				return nil, err
			}
		}
		if a, ok := r.(*array); ok {
			return a, nil
		}
		return newSeq(r), nil
	}
	out := &array{seq: true}
	// The first result is held back: if it is the only one, it is an array and this is the
	// last step, it is returned as it is rather than flattened.
	var first any
	count := 0
	add := func(r any) error {
		if a, ok := r.(*array); ok && !a.cons {
			if err := ev.allocSlots(len(a.items)); err != nil {
				return err
			}
			out.items = append(out.items, a.items...)
		} else {
			if err := ev.allocSlots(1); err != nil {
				return err
			}
			out.items = append(out.items, r)
		}
		return nil
	}
	for _, item := range input {
		res, err := ev.eval(n, item, env)
		if err != nil {
			return nil, err
		}
		for _, st := range n.stages {
			if res, err = ev.filter(st.expr, res, env); err != nil {
				return nil, err
			}
		}
		if res == nil {
			continue
		}
		count++
		switch count {
		case 1:
			first = res
		case 2:
			if out.items == nil {
				out.items = make([]any, 0, len(input))
			}
			if err := add(first); err != nil {
				return nil, err
			}
			if err := add(res); err != nil {
				return nil, err
			}
		default:
			if err := add(res); err != nil {
				return nil, err
			}
		}
	}
	if count == 1 {
		if a, ok := first.(*array); ok && !a.seq && last {
			return a, nil
		}
		if err := add(first); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (ev *evaluator) tupleStep(n *node, input []any, tuples *tupleSeq, env *frame) (*tupleSeq, error) {
	if n.typ == nSort {
		var res *tupleSeq
		if tuples != nil {
			var err error
			if res, err = ev.sortTuples(n, tuples, env); err != nil {
				return nil, err
			}
		} else {
			sorted, err := ev.sortSeq(n, input, env)
			if err != nil {
				return nil, err
			}
			if err := ev.alloc(int64(len(sorted.items)) * tupleBytes); err != nil {
				return nil, err
			}
			res = &tupleSeq{tuples: make([]*tuple, len(sorted.items))}
			for i, v := range sorted.items {
				t := &tuple{at: v}
				if n.index != "" {
					t.set(n.index, float64(i))
				}
				res.tuples[i] = t
			}
		}
		return ev.tupleStages(n.stages, res, env)
	}
	if tuples == nil {
		if err := ev.alloc(int64(len(input)) * tupleBytes); err != nil {
			return nil, err
		}
		tuples = &tupleSeq{tuples: make([]*tuple, len(input))}
		for i, item := range input {
			tuples.tuples[i] = &tuple{at: item}
		}
	}
	out := &tupleSeq{}
	for _, t := range tuples.tuples {
		res, err := ev.eval(n, t.at, frameFromTuple(env, t))
		if err != nil {
			return nil, err
		}
		if res == nil {
			continue
		}
		if ts, ok := res.(*tupleSeq); ok {
			if err := ev.alloc(int64(len(ts.tuples)) * (tupleBytes + int64(len(t.vars))*slotBytes)); err != nil {
				return nil, err
			}
			for _, rt := range ts.tuples {
				nt := t.clone()
				nt.at = rt.at
				for _, v := range rt.vars {
					nt.set(v.name, v.val)
				}
				out.tuples = append(out.tuples, nt)
			}
			continue
		}
		items := []any{res}
		if a, ok := res.(*array); ok {
			items = a.items
		}
		if err := ev.alloc(int64(len(items)) * (tupleBytes + int64(len(t.vars)+3)*slotBytes)); err != nil {
			return nil, err
		}
		for i, v := range items {
			nt := t.clone()
			if n.focus != "" {
				nt.set(n.focus, v)
			} else {
				nt.at = v
			}
			if n.index != "" {
				nt.set(n.index, float64(i))
			}
			if n.ancestor != nil {
				nt.set(n.ancestor.label, t.at)
			}
			out.tuples = append(out.tuples, nt)
		}
	}
	return ev.tupleStages(n.stages, out, env)
}

func (ev *evaluator) tupleStages(stages []*stage, ts *tupleSeq, env *frame) (*tupleSeq, error) {
	for _, st := range stages {
		switch st.typ {
		case stageFilter:
			var err error
			if ts, err = ev.filterTuples(st.expr, ts, env); err != nil {
				return nil, err
			}
		case stageIndex:
			for i, t := range ts.tuples {
				t.set(st.value, float64(i))
			}
		}
	}
	return ts, nil
}

// filter applies a predicate: a number selects by position (negative counts from the end),
// anything else is tested for truth against each item.
func (ev *evaluator) filter(pred *node, input any, env *frame) (any, error) {
	if ts, ok := input.(*tupleSeq); ok {
		return ev.filterTuples(pred, ts, env)
	}
	var items []any
	if a, ok := input.(*array); ok {
		items = a.items
	} else {
		items = []any{input}
	}
	results := &array{seq: true}
	if pred.typ == nNumber {
		idx := int(math.Floor(pred.num))
		if idx < 0 {
			idx += len(items)
		}
		if idx >= 0 && idx < len(items) && items[idx] != nil {
			if a, ok := items[idx].(*array); ok {
				return a, nil
			}
			results.items = append(results.items, items[idx])
		}
		return results, nil
	}
	for i, item := range items {
		res, err := ev.eval(pred, item, env)
		if err != nil {
			return nil, err
		}
		keep, err := predicateSelects(res, i, len(items))
		if err != nil {
			return nil, err
		}
		if keep && item != nil {
			if err := ev.allocSlots(1); err != nil {
				return nil, err
			}
			results.items = append(results.items, item)
		}
	}
	return results, nil
}

// predicateSelects decides whether the item at index i passes a predicate that evaluated to res.
func predicateSelects(res any, i, n int) (bool, error) {
	if f, ok, err := isNumber(res); err != nil {
		return false, err
	} else if ok {
		res = &array{items: []any{f}}
	}
	if nums, err := isArrayOfNumbers(res); err != nil {
		return false, err
	} else if nums {
		for _, v := range res.(*array).items {
			ii := int(math.Floor(v.(float64)))
			if ii < 0 {
				ii += n
			}
			if ii == i {
				return true, nil
			}
		}
		return false, nil
	}
	return toBoolean(res)
}

func (ev *evaluator) filterTuples(pred *node, ts *tupleSeq, env *frame) (*tupleSeq, error) {
	out := &tupleSeq{}
	if pred.typ == nNumber {
		idx := int(math.Floor(pred.num))
		if idx < 0 {
			idx += len(ts.tuples)
		}
		if idx >= 0 && idx < len(ts.tuples) {
			out.tuples = append(out.tuples, ts.tuples[idx])
		}
		return out, nil
	}
	for i, t := range ts.tuples {
		res, err := ev.eval(pred, t.at, frameFromTuple(env, t))
		if err != nil {
			return nil, err
		}
		keep, err := predicateSelects(res, i, len(ts.tuples))
		if err != nil {
			return nil, err
		}
		if keep {
			if err := ev.allocSlots(1); err != nil {
				return nil, err
			}
			out.tuples = append(out.tuples, t)
		}
	}
	return out, nil
}

func (ev *evaluator) wildcard(input any) (any, error) {
	results := &array{seq: true}
	if a, ok := input.(*array); ok && a.outerWrapper && len(a.items) > 0 {
		input = a.items[0]
	}
	add := func(v any) error {
		if a, ok := v.(*array); ok {
			// appending an array makes the result a plain array, as in the reference
			var err error
			results.items, err = ev.flatten(a.items, results.items, 0)
			results.seq = false
			return err
		}
		if err := ev.allocSlots(1); err != nil {
			return err
		}
		results.items = append(results.items, v)
		return nil
	}
	switch x := input.(type) {
	case *jsonv.Object:
		for _, m := range x.Members() {
			v, err := ev.norm(m.Value)
			if err != nil {
				return nil, err
			}
			if err := add(v); err != nil {
				return nil, err
			}
		}
	case *array:
		for _, v := range x.items {
			if err := add(v); err != nil {
				return nil, err
			}
		}
	}
	return results, nil
}

// flatten appends the items of nested arrays to out. A sequence can hold one array many
// times, so each item is charged as it is appended.
func (ev *evaluator) flatten(items []any, out []any, depth int) ([]any, error) {
	// each array visited is a step (see lookupField)
	if err := ev.tick(); err != nil {
		return nil, err
	}
	for _, v := range items {
		if a, ok := v.(*array); ok && depth < jsonv.MaxDepth {
			var err error
			if out, err = ev.flatten(a.items, out, depth+1); err != nil {
				return nil, err
			}
		} else {
			if err := ev.allocSlots(1); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	return out, nil
}

func (ev *evaluator) descendants(input any) (any, error) {
	if input == nil {
		return nil, nil
	}
	results := &array{seq: true}
	var recurse func(v any, depth int) error
	recurse = func(v any, depth int) error {
		if depth > jsonv.MaxDepth {
			return nil
		}
		switch x := v.(type) {
		case *array:
			// each array visited is a step (see lookupField)
			if err := ev.tick(); err != nil {
				return err
			}
			for _, e := range x.items {
				if err := recurse(e, depth+1); err != nil {
					return err
				}
			}
		case *jsonv.Object:
			if err := ev.allocSlots(1); err != nil {
				return err
			}
			results.items = append(results.items, x)
			for _, m := range x.Members() {
				v, err := ev.norm(m.Value)
				if err != nil {
					return err
				}
				if err := recurse(v, depth+1); err != nil {
					return err
				}
			}
		default:
			if err := ev.allocSlots(1); err != nil {
				return err
			}
			results.items = append(results.items, v)
		}
		return nil
	}
	if err := recurse(input, 0); err != nil {
		return nil, err
	}
	if len(results.items) == 1 {
		return results.items[0], nil
	}
	return results, nil
}

// group evaluates an object constructor, either on its own or as the grouping clause of a path.
func (ev *evaluator) group(pairs [][2]*node, pos int, input any, env *frame) (any, error) {
	ts, reduce := input.(*tupleSeq)
	var items []any
	var tuples []*tuple
	switch {
	case reduce:
		tuples = ts.tuples
		if len(tuples) == 0 {
			tuples = []*tuple{{}}
		}
	default:
		if a, ok := input.(*array); ok {
			items = a.items
		} else {
			items = []any{input}
		}
		if len(items) == 0 {
			items = []any{nil}
		}
	}
	type entry struct {
		key       string
		data      any
		tuples    []*tuple
		exprIndex int32
		// owned is set once data is an array this group built, which later items of the
		// same key are appended to in place (the reference copies it for every item, which
		// makes grouping many items under one key quadratic)
		owned bool
	}
	var order []*entry
	byKey := map[string]*entry{}
	n := len(items)
	if reduce {
		n = len(tuples)
	}
	for i := 0; i < n; i++ {
		var item any
		scope := env
		var t *tuple
		if reduce {
			t = tuples[i]
			item = t.at
			scope = frameFromTuple(env, t)
		} else {
			item = items[i]
		}
		for pi, pair := range pairs {
			k, err := ev.eval(pair[0], item, scope)
			if err != nil {
				return nil, err
			}
			if k == nil {
				continue
			}
			key, ok := k.(string)
			if !ok {
				return nil, newError("T1003", withPos(pos), withValue(k))
			}
			if e, ok := byKey[key]; ok {
				if int(e.exprIndex) != pi {
					return nil, newError("D1009", withPos(pos), withValue(key))
				}
				if reduce {
					if err := ev.allocSlots(1); err != nil {
						return nil, err
					}
					e.tuples = append(e.tuples, t)
					continue
				}
				added := 1
				if ia, ok := item.(*array); ok {
					added = len(ia.items)
				}
				if err := ev.allocSlots(added); err != nil {
					return nil, err
				}
				if a, ok := e.data.(*array); ok && e.owned {
					if ia, ok := item.(*array); ok {
						a.items = append(a.items, ia.items...)
					} else if item != nil {
						a.items = append(a.items, item)
					}
				} else {
					prev := e.data
					e.data = appendValues(prev, item)
					_, isArr := e.data.(*array)
					e.owned = isArr && e.data != prev && e.data != item
				}
				continue
			}
			if err := ev.alloc(memberBytes); err != nil {
				return nil, err
			}
			e := &entry{key: key, data: item, exprIndex: int32(pi)}
			if reduce {
				e.tuples = []*tuple{t}
			}
			byKey[key] = e
			order = append(order, e)
		}
	}
	result := jsonv.NewObject(len(order))
	for _, e := range order {
		ctx := e.data
		scope := env
		if reduce {
			if len(e.tuples) > 1 {
				if err := ev.alloc(int64(len(e.tuples)) * (tupleBytes + int64(len(e.tuples[0].vars))*slotBytes)); err != nil {
					return nil, err
				}
			}
			t := reduceTuples(e.tuples)
			ctx = t.at
			scope = frameFromTuple(env, t)
		}
		v, err := ev.eval(pairs[e.exprIndex][1], ctx, scope)
		if err != nil {
			return nil, err
		}
		if v != nil {
			result.Set(e.key, v)
		}
	}
	return result, nil
}

// reduceTuples merges the tuples of one group: each variable collects the values of all of
// them.
func reduceTuples(ts []*tuple) *tuple {
	if len(ts) == 1 {
		return ts[0]
	}
	r := ts[0].clone()
	for _, t := range ts[1:] {
		r.at = appendValues(r.at, t.at)
		for _, v := range t.vars {
			found := false
			for i := range r.vars {
				if r.vars[i].name == v.name {
					r.vars[i].val = appendValues(r.vars[i].val, v.val)
					found = true
					break
				}
			}
			if !found {
				r.vars = append(r.vars, v)
			}
		}
	}
	return r
}

func (ev *evaluator) unary(n *node, input any, env *frame) (any, error) {
	switch n.value {
	case "-":
		v, err := ev.eval(n.expr, input, env)
		if err != nil || v == nil {
			return nil, err
		}
		f, ok, err := isNumber(v)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, newError("D1002", withPos(n.pos), withToken("-"), withValue(v))
		}
		return -f, nil
	case "[":
		if err := ev.allocSlots(len(n.exprs)); err != nil {
			return nil, err
		}
		var res any = &array{items: make([]any, 0, len(n.exprs))}
		for _, item := range n.exprs {
			v, err := ev.eval(item, input, env)
			if err != nil {
				return nil, err
			}
			if v == nil {
				continue
			}
			if a, ok := v.(*array); ok && !(item.typ == nUnary && item.value == "[") {
				if err := ev.allocSlots(len(a.items)); err != nil {
					return nil, err
				}
			}
			if item.typ == nUnary && item.value == "[" {
				a := res.(*array)
				a.items = append(a.items, v)
			} else {
				res = appendValues(res, v)
			}
		}
		if n.consarray {
			res.(*array).cons = true
		}
		return res, nil
	case "{":
		return ev.group(n.pairs, n.pos, input, env)
	}
	return nil, nil
}

func (ev *evaluator) binary(n *node, input any, env *frame) (any, error) {
	lhs, err := ev.eval(n.lhs, input, env)
	if err != nil {
		return nil, err
	}
	op := n.value
	if op == "and" || op == "or" {
		l, err := toBoolean(lhs)
		if err != nil {
			return nil, opError(err, n)
		}
		if (op == "and" && !l) || (op == "or" && l) {
			return l, nil
		}
		rhs, err := ev.eval(n.rhs, input, env)
		if err != nil {
			return nil, err
		}
		r, err := toBoolean(rhs)
		if err != nil {
			return nil, opError(err, n)
		}
		return r, nil
	}
	rhs, err := ev.eval(n.rhs, input, env)
	if err != nil {
		return nil, err
	}
	var res any
	switch op {
	case "+", "-", "*", "/", "%":
		res, err = arithmetic(op, lhs, rhs)
	case "=", "!=":
		if lhs == nil || rhs == nil {
			return false, nil
		}
		eq, err := ev.deepEqual(lhs, rhs)
		if err != nil {
			return nil, err
		}
		if op == "!=" {
			eq = !eq
		}
		return eq, nil
	case "<", "<=", ">", ">=":
		res, err = compare(op, lhs, rhs)
	case "&":
		var l, r string
		if l, err = toString(lhs, &ev.mem); err == nil {
			r, err = toString(rhs, &ev.mem)
		}
		if err == nil && l != "" && r != "" {
			err = ev.allocString(len(l) + len(r))
		}
		if err == nil {
			res = l + r
		}
	case "..":
		res, err = ev.rangeOf(lhs, rhs)
	case "in":
		res = includes(lhs, rhs)
	}
	if err != nil {
		return nil, opError(err, n)
	}
	return res, nil
}

func opError(err error, n *node) error {
	if e, ok := err.(*Error); ok {
		if !e.hasPos {
			e.pos, e.hasPos = n.pos, true
		}
		if !e.hasToken {
			e.Token, e.hasToken = n.value, true
		}
	}
	return err
}

func arithmetic(op string, lhs, rhs any) (any, error) {
	var l, r float64
	if lhs != nil {
		f, ok, err := isNumber(lhs)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, newError("T2001", withValue(lhs))
		}
		l = f
	}
	if rhs != nil {
		f, ok, err := isNumber(rhs)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, newError("T2002", withValue(rhs))
		}
		r = f
	}
	if lhs == nil || rhs == nil {
		return nil, nil
	}
	switch op {
	case "+":
		return box(l + r), nil
	case "-":
		return box(l - r), nil
	case "*":
		return box(l * r), nil
	case "/":
		return box(l / r), nil
	}
	return box(math.Mod(l, r)), nil
}

func compare(op string, lhs, rhs any) (any, error) {
	comparable := func(v any) bool {
		switch v.(type) {
		case nil, string, float64:
			return true
		}
		return false
	}
	if !comparable(lhs) || !comparable(rhs) {
		bad := rhs
		switch lhs.(type) {
		case string, float64:
		default:
			bad = lhs
		}
		return nil, newError("T2010", withValue(bad))
	}
	if lhs == nil || rhs == nil {
		return nil, nil
	}
	switch l := lhs.(type) {
	case float64:
		r, ok := rhs.(float64)
		if !ok {
			return nil, newError("T2009", withValue(lhs), withValue2(rhs))
		}
		switch op {
		case "<":
			return l < r, nil
		case "<=":
			return l <= r, nil
		case ">":
			return l > r, nil
		}
		return l >= r, nil
	case string:
		r, ok := rhs.(string)
		if !ok {
			return nil, newError("T2009", withValue(lhs), withValue2(rhs))
		}
		c := compareStrings(l, r)
		switch op {
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		}
		return c >= 0, nil
	}
	return nil, nil
}

// compareStrings orders strings by UTF-16 code units, as JavaScript does.
func compareStrings(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < 0x80 || b[i] < 0x80 || a[i] < 0xEE && b[i] < 0xEE {
				if a[i] < b[i] {
					return -1
				}
				return 1
			}
			return compareUTF16(a[i:], b[i:])
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

func compareUTF16(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	key := func(r rune) rune {
		// supplementary characters sort as surrogates, below U+E000
		if r >= 0x10000 {
			return 0xD800 + (r-0x10000)>>10
		}
		return r
	}
	for i := 0; i < len(ra) && i < len(rb); i++ {
		ka, kb := key(ra[i]), key(rb[i])
		if ka != kb {
			if ka < kb {
				return -1
			}
			return 1
		}
		if ra[i] != rb[i] {
			if ra[i] < rb[i] {
				return -1
			}
			return 1
		}
	}
	return len(ra) - len(rb)
}

const maxRange = 1e7

func (ev *evaluator) rangeOf(lhs, rhs any) (any, error) {
	isInt := func(v any) (float64, bool) {
		f, ok := v.(float64)
		return f, ok && f == math.Trunc(f) && !math.IsInf(f, 0)
	}
	l, lok := isInt(lhs)
	if lhs != nil && !lok {
		return nil, newError("T2003", withValue(lhs))
	}
	r, rok := isInt(rhs)
	if rhs != nil && !rok {
		return nil, newError("T2004", withValue(rhs))
	}
	if lhs == nil || rhs == nil || l > r {
		return nil, nil
	}
	size := r - l + 1
	if size > maxRange {
		return nil, newError("D2014", withValue(size))
	}
	// a range is charged whole, before it is allocated, and fails at once if the budget
	// cannot hold it; numbers past 255 are boxed, a few bytes more each
	cost := size * slotBytes
	if r > 255 || l < 0 {
		cost += (size - max(0, min(256, r+1)-max(0, l))) * numberBytes
	}
	if err := ev.mem.fits(int64(cost)); err != nil {
		return nil, ev.mem.rangeTooLarge(size)
	}
	if err := ev.alloc(int64(cost)); err != nil {
		return nil, err
	}
	items := make([]any, int(size))
	for i := range items {
		// a range can hold ten million items: filling it must honour cancellation
		if i&0xffff == 0xffff {
			if err := ev.checkLimits(); err != nil {
				return nil, err
			}
		}
		items[i] = box(l + float64(i))
	}
	return &array{items: items, seq: true}, nil
}

func includes(lhs, rhs any) bool {
	if lhs == nil || rhs == nil {
		return false
	}
	items := []any{rhs}
	if a, ok := rhs.(*array); ok {
		items = a.items
	}
	for _, v := range items {
		if strictEqual(v, lhs) {
			return true
		}
	}
	return false
}

// strictEqual is JavaScript's ===: primitives by value, containers by identity.
func strictEqual(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nullType:
		return b == null
	}
	return a == b
}
