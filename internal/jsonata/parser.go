package jsonata

import (
	"strconv"
)

// The parser is a Pratt (top-down operator precedence) parser, as in the reference
// implementation, followed by a post-parse pass that turns chains of '.' and '[' into path
// steps with predicates and resolves what the parent operator % refers to.

var bindingPower = map[string]int{
	".": 75, "[": 80, "{": 70, "(": 80, "@": 80, "#": 80, "?": 20, "??": 40, "?:": 40,
	"+": 50, "-": 50, "*": 60, "/": 60, "%": 60, "=": 40, "<": 40, ">": 40, "!=": 40,
	"<=": 40, ">=": 40, "^": 40, "~>": 40, "and": 30, "or": 25, "in": 40, "&": 50, ":=": 10,
}

// knownOperators are the operator tokens the grammar has a symbol for; any other operator
// character ('!' or '~' on their own) is an unknown operator.
var knownOperators = map[string]bool{
	":": true, ";": true, ",": true, ")": true, "]": true, "}": true, "..": true, "|": true,
	"**": true,
}

func init() {
	for op := range bindingPower {
		knownOperators[op] = true
	}
}

// maxParseDepth bounds expression nesting, so that a pathological expression fails cleanly
// instead of exhausting the stack.
const maxParseDepth = 500

type parser struct {
	lex   lexer
	depth int
	cur   *node
	// curID is the symbol id of cur: the operator itself, or (name), (literal), (regex), (end).
	curID string

	ancestorLabel int
	ancestry      []*node
}

func parse(src string) (*node, error) {
	p := &parser{lex: lexer{src: src}}
	if err := p.advance("", false); err != nil {
		return nil, err
	}
	expr, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	if p.curID != "(end)" {
		return nil, newError("S0201", withPos(p.cur.pos), withToken(p.cur.value))
	}
	res, err := p.process(expr)
	if err != nil {
		return nil, err
	}
	if res.typ == nParent || res.seeking {
		return nil, newError("S0217", withPos(res.pos), withToken(nodeTypeNames[res.typ]))
	}
	markFrames(res)
	markSimpleNames(res)
	return res, nil
}

func (p *parser) advance(id string, infix bool) error {
	if id != "" && p.curID != id {
		code := "S0202"
		if p.curID == "(end)" {
			code = "S0203"
		}
		return newError(code, withPos(p.cur.pos), withToken(p.cur.value), withValue(id))
	}
	tok, err := p.lex.next(infix)
	if err != nil {
		return err
	}
	n := &node{pos: tok.pos, value: tok.value}
	switch tok.typ {
	case tokEnd:
		n.typ = nEnd
		p.curID = "(end)"
	case tokName:
		n.typ = nName
		p.curID = "(name)"
	case tokVariable:
		n.typ = nVariable
		p.curID = "(name)"
	case tokString:
		n.typ = nString
		p.curID = "(literal)"
	case tokNumber:
		n.typ = nNumber
		n.num = tok.num
		p.curID = "(literal)"
	case tokValue:
		n.typ = nValue
		n.lit = tok.lit
		p.curID = "(literal)"
	case tokRegex:
		n.typ = nRegex
		n.re = tok.re
		n.value = tok.re.source
		p.curID = "(regex)"
	case tokOperator:
		if !knownOperators[tok.value] {
			return newError("S0204", withPos(tok.pos), withToken(tok.value))
		}
		n.typ = nOperator
		p.curID = tok.value
	}
	p.cur = n
	return nil
}

func (p *parser) lbp() int {
	if p.cur.typ != nOperator {
		return 0
	}
	return bindingPower[p.curID]
}

func (p *parser) expression(rbp int) (*node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxParseDepth {
		return nil, newError("U1001", withPos(p.cur.pos))
	}
	t := p.cur
	if err := p.advance("", true); err != nil {
		return nil, err
	}
	left, err := p.nud(t)
	if err != nil {
		return nil, err
	}
	for rbp < p.lbp() {
		t = p.cur
		if err := p.advance("", false); err != nil {
			return nil, err
		}
		left, err = p.led(t, left)
		if err != nil {
			return nil, err
		}
	}
	return left, nil
}

func (p *parser) nud(t *node) (*node, error) {
	if t.typ != nOperator {
		// names, variables, literals, regexes and the end marker stand for themselves
		return t, nil
	}
	switch t.value {
	case "and", "or", "in":
		return t, nil
	case "-":
		e, err := p.expression(70)
		if err != nil {
			return nil, err
		}
		t.typ, t.expr = nUnary, e
		return t, nil
	case "*":
		t.typ = nWildcard
		return t, nil
	case "**":
		t.typ = nDescendant
		return t, nil
	case "%":
		t.typ = nParent
		return t, nil
	case "(":
		return p.block(t)
	case "[":
		return p.arrayConstructor(t)
	case "{":
		pairs, err := p.objectPairs()
		if err != nil {
			return nil, err
		}
		t.typ, t.pairs = nUnary, pairs
		return t, nil
	case "|":
		return p.transform(t)
	}
	return nil, newError("S0211", withPos(t.pos), withToken(t.value))
}

func (p *parser) led(t *node, left *node) (*node, error) {
	switch op := t.value; op {
	case "(":
		return p.call(t, left)
	case "[":
		return p.predicate(t, left)
	case "^":
		return p.orderBy(t, left)
	case "{":
		pairs, err := p.objectPairs()
		if err != nil {
			return nil, err
		}
		t.typ, t.lhs, t.pairs = nBinary, left, pairs
		return t, nil
	case ":=":
		if left.typ != nVariable {
			return nil, newError("S0212", withPos(left.pos), withToken(left.value))
		}
		rhs, err := p.expression(bindingPower[":="] - 1)
		if err != nil {
			return nil, err
		}
		t.typ, t.lhs, t.rhs = nBinary, left, rhs
		return t, nil
	case "@", "#":
		rhs, err := p.expression(bindingPower[op])
		if err != nil {
			return nil, err
		}
		if rhs.typ != nVariable {
			return nil, newError("S0214", withPos(rhs.pos), withToken(op))
		}
		t.typ, t.lhs, t.rhs = nBinary, left, rhs
		return t, nil
	case "?":
		then, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		t.typ, t.cond, t.then = nCondition, left, then
		if p.curID == ":" {
			if err := p.advance(":", false); err != nil {
				return nil, err
			}
			if t.els, err = p.expression(0); err != nil {
				return nil, err
			}
		}
		return t, nil
	case "??", "?:":
		els, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		t.typ = nCoalesce
		if op == "?:" {
			t.typ = nElvis
		}
		t.cond, t.els = left, els
		return t, nil
	}
	rhs, err := p.expression(bindingPower[t.value])
	if err != nil {
		return nil, err
	}
	t.typ, t.lhs, t.rhs = nBinary, left, rhs
	return t, nil
}

func (p *parser) call(t *node, left *node) (*node, error) {
	t.typ, t.proc = nFunction, left
	if p.curID != ")" {
		for {
			if p.cur.typ == nOperator && p.curID == "?" {
				t.typ = nPartial
				ph := p.cur
				ph.typ = nPlaceholder
				t.args = append(t.args, ph)
				if err := p.advance("?", false); err != nil {
					return nil, err
				}
			} else {
				a, err := p.expression(0)
				if err != nil {
					return nil, err
				}
				t.args = append(t.args, a)
			}
			if p.curID != "," {
				break
			}
			if err := p.advance(",", false); err != nil {
				return nil, err
			}
		}
	}
	if err := p.advance(")", true); err != nil {
		return nil, err
	}
	if left.typ != nName || (left.value != "function" && left.value != "λ") {
		return t, nil
	}
	// function(...) or λ(...) is a lambda definition; every argument must be a parameter name
	for i, a := range t.args {
		if a.typ != nVariable {
			return nil, newError("S0208", withPos(a.pos), withToken(a.value), withValue(float64(i+1)))
		}
		t.params = append(t.params, a.value)
	}
	t.typ = nLambda
	t.args = nil
	if p.curID == "<" {
		sigPos := p.cur.pos
		depth := 1
		sig := "<"
		for depth > 0 && p.curID != "{" && p.curID != "(end)" {
			if err := p.advance("", false); err != nil {
				return nil, err
			}
			switch p.curID {
			case ">":
				depth--
			case "<":
				depth++
			}
			sig += p.cur.value
		}
		if err := p.advance(">", false); err != nil {
			return nil, err
		}
		s, err := parseSignature(sig)
		if err != nil {
			if e, ok := err.(*Error); ok {
				e.pos += sigPos
			}
			return nil, err
		}
		t.sig = s
	}
	if err := p.advance("{", false); err != nil {
		return nil, err
	}
	body, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	t.body = body
	if err := p.advance("}", false); err != nil {
		return nil, err
	}
	return t, nil
}

func (p *parser) block(t *node) (*node, error) {
	for p.curID != ")" {
		e, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		t.exprs = append(t.exprs, e)
		if p.curID != ";" {
			break
		}
		if err := p.advance(";", false); err != nil {
			return nil, err
		}
	}
	if err := p.advance(")", true); err != nil {
		return nil, err
	}
	t.typ = nBlock
	return t, nil
}

func (p *parser) arrayConstructor(t *node) (*node, error) {
	if p.curID != "]" {
		for {
			item, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			if p.curID == ".." {
				r := &node{typ: nBinary, value: "..", pos: p.cur.pos, lhs: item}
				if err := p.advance("..", false); err != nil {
					return nil, err
				}
				if r.rhs, err = p.expression(0); err != nil {
					return nil, err
				}
				item = r
			}
			t.exprs = append(t.exprs, item)
			if p.curID != "," {
				break
			}
			if err := p.advance(",", false); err != nil {
				return nil, err
			}
		}
	}
	if err := p.advance("]", true); err != nil {
		return nil, err
	}
	t.typ = nUnary
	return t, nil
}

func (p *parser) predicate(t *node, left *node) (*node, error) {
	if p.curID == "]" {
		// [] keeps singleton arrays as arrays: flag the step it follows
		step := left
		for step != nil && step.typ == nBinary && step.value == "[" {
			step = step.lhs
		}
		step.keepArray = true
		if err := p.advance("]", false); err != nil {
			return nil, err
		}
		return left, nil
	}
	rhs, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	t.typ, t.lhs, t.rhs = nBinary, left, rhs
	if err := p.advance("]", true); err != nil {
		return nil, err
	}
	return t, nil
}

func (p *parser) orderBy(t *node, left *node) (*node, error) {
	if err := p.advance("(", false); err != nil {
		return nil, err
	}
	for {
		term := sortTerm{}
		switch p.curID {
		case "<":
			if err := p.advance("<", false); err != nil {
				return nil, err
			}
		case ">":
			term.descending = true
			if err := p.advance(">", false); err != nil {
				return nil, err
			}
		}
		e, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		term.expr = e
		t.terms = append(t.terms, term)
		if p.curID != "," {
			break
		}
		if err := p.advance(",", false); err != nil {
			return nil, err
		}
	}
	if err := p.advance(")", false); err != nil {
		return nil, err
	}
	t.typ, t.lhs = nBinary, left
	return t, nil
}

func (p *parser) objectPairs() ([][2]*node, error) {
	var pairs [][2]*node
	if p.curID != "}" {
		for {
			k, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			if err := p.advance(":", false); err != nil {
				return nil, err
			}
			v, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			pairs = append(pairs, [2]*node{k, v})
			if p.curID != "," {
				break
			}
			if err := p.advance(",", false); err != nil {
				return nil, err
			}
		}
	}
	if err := p.advance("}", true); err != nil {
		return nil, err
	}
	return pairs, nil
}

func (p *parser) transform(t *node) (*node, error) {
	var err error
	t.typ = nTransform
	if t.pattern, err = p.expression(0); err != nil {
		return nil, err
	}
	if err := p.advance("|", false); err != nil {
		return nil, err
	}
	if t.update, err = p.expression(0); err != nil {
		return nil, err
	}
	if p.curID == "," {
		if err := p.advance(",", false); err != nil {
			return nil, err
		}
		if t.del, err = p.expression(0); err != nil {
			return nil, err
		}
	}
	if err := p.advance("|", false); err != nil {
		return nil, err
	}
	return t, nil
}

// process is the post-parse pass: it flattens '.' chains into path steps, attaches predicates
// and index/focus bindings to steps, and resolves parent references.
func (p *parser) process(expr *node) (*node, error) {
	var result *node
	var err error
	switch expr.typ {
	case nBinary:
		switch expr.value {
		case ".":
			result, err = p.processPath(expr)
		case "[":
			result, err = p.processPredicate(expr)
		case "{":
			result, err = p.process(expr.lhs)
			if err != nil {
				return nil, err
			}
			if result.group != nil {
				return nil, newError("S0210", withPos(expr.pos))
			}
			g := &groupBy{pos: expr.pos}
			for _, pair := range expr.pairs {
				k, err := p.process(pair[0])
				if err != nil {
					return nil, err
				}
				v, err := p.process(pair[1])
				if err != nil {
					return nil, err
				}
				g.pairs = append(g.pairs, [2]*node{k, v})
			}
			result.group = g
		case "^":
			result, err = p.process(expr.lhs)
			if err != nil {
				return nil, err
			}
			if result.typ != nPath {
				result = &node{typ: nPath, steps: []*node{result}}
			}
			sortStep := &node{typ: nSort, pos: expr.pos}
			for _, term := range expr.terms {
				e, err := p.process(term.expr)
				if err != nil {
					return nil, err
				}
				pushAncestry(sortStep, e)
				sortStep.terms = append(sortStep.terms, sortTerm{descending: term.descending, expr: e})
			}
			result.steps = append(result.steps, sortStep)
			if err := p.resolveAncestry(result); err != nil {
				return nil, err
			}
		case ":=":
			result = &node{typ: nBind, value: expr.value, pos: expr.pos}
			if result.lhs, err = p.process(expr.lhs); err != nil {
				return nil, err
			}
			if result.rhs, err = p.process(expr.rhs); err != nil {
				return nil, err
			}
			pushAncestry(result, result.rhs)
		case "@":
			result, err = p.process(expr.lhs)
			if err != nil {
				return nil, err
			}
			step := result
			if result.typ == nPath {
				step = result.steps[len(result.steps)-1]
			}
			if step.stages != nil || step.predicate != nil {
				return nil, newError("S0215", withPos(expr.pos))
			}
			if step.typ == nSort {
				return nil, newError("S0216", withPos(expr.pos))
			}
			if expr.keepArray {
				step.keepArray = true
			}
			step.focus = expr.rhs.value
			step.tuple = true
		case "#":
			result, err = p.process(expr.lhs)
			if err != nil {
				return nil, err
			}
			step := result
			if result.typ == nPath {
				step = result.steps[len(result.steps)-1]
			} else {
				result = &node{typ: nPath, steps: []*node{result}}
				if step.predicate != nil {
					step.stages = step.predicate
					step.predicate = nil
				}
			}
			if step.stages == nil {
				step.index = expr.rhs.value
			} else {
				step.stages = append(step.stages, &stage{typ: stageIndex, value: expr.rhs.value, pos: expr.pos})
			}
			step.tuple = true
		case "~>":
			result = &node{typ: nApply, value: expr.value, pos: expr.pos}
			if result.lhs, err = p.process(expr.lhs); err != nil {
				return nil, err
			}
			if result.rhs, err = p.process(expr.rhs); err != nil {
				return nil, err
			}
			// a trailing [] on either side (x ~> $f()[]) keeps the result an array
			result.keepArray = result.lhs.keepArray || result.rhs.keepArray
		default:
			result = &node{typ: nBinary, value: expr.value, pos: expr.pos}
			if result.lhs, err = p.process(expr.lhs); err != nil {
				return nil, err
			}
			if result.rhs, err = p.process(expr.rhs); err != nil {
				return nil, err
			}
			pushAncestry(result, result.lhs)
			pushAncestry(result, result.rhs)
		}
	case nUnary:
		result = &node{typ: nUnary, value: expr.value, pos: expr.pos}
		switch expr.value {
		case "[":
			for _, item := range expr.exprs {
				v, err := p.process(item)
				if err != nil {
					return nil, err
				}
				pushAncestry(result, v)
				result.exprs = append(result.exprs, v)
			}
		case "{":
			for _, pair := range expr.pairs {
				k, err := p.process(pair[0])
				if err != nil {
					return nil, err
				}
				pushAncestry(result, k)
				v, err := p.process(pair[1])
				if err != nil {
					return nil, err
				}
				pushAncestry(result, v)
				result.pairs = append(result.pairs, [2]*node{k, v})
			}
		default:
			if result.expr, err = p.process(expr.expr); err != nil {
				return nil, err
			}
			if result.expr.typ == nNumber {
				// fold negative number literals
				result = result.expr
				result.num = -result.num
			} else {
				pushAncestry(result, result.expr)
			}
		}
	case nFunction, nPartial:
		result = &node{typ: expr.typ, value: expr.value, pos: expr.pos}
		for _, a := range expr.args {
			v, err := p.process(a)
			if err != nil {
				return nil, err
			}
			pushAncestry(result, v)
			result.args = append(result.args, v)
		}
		if result.proc, err = p.process(expr.proc); err != nil {
			return nil, err
		}
	case nLambda:
		result = &node{typ: nLambda, params: expr.params, sig: expr.sig, pos: expr.pos}
		body, err := p.process(expr.body)
		if err != nil {
			return nil, err
		}
		result.body = tailCallOptimize(body)
	case nCondition:
		result = &node{typ: nCondition, pos: expr.pos}
		if result.cond, err = p.process(expr.cond); err != nil {
			return nil, err
		}
		pushAncestry(result, result.cond)
		if result.then, err = p.process(expr.then); err != nil {
			return nil, err
		}
		pushAncestry(result, result.then)
		if expr.els != nil {
			if result.els, err = p.process(expr.els); err != nil {
				return nil, err
			}
			pushAncestry(result, result.els)
		}
	case nCoalesce, nElvis:
		result = &node{typ: expr.typ, pos: expr.pos}
		if result.cond, err = p.process(expr.cond); err != nil {
			return nil, err
		}
		pushAncestry(result, result.cond)
		if result.els, err = p.process(expr.els); err != nil {
			return nil, err
		}
		pushAncestry(result, result.els)
	case nTransform:
		result = &node{typ: nTransform, pos: expr.pos}
		if result.pattern, err = p.process(expr.pattern); err != nil {
			return nil, err
		}
		if result.update, err = p.process(expr.update); err != nil {
			return nil, err
		}
		if expr.del != nil {
			if result.del, err = p.process(expr.del); err != nil {
				return nil, err
			}
		}
	case nBlock:
		result = &node{typ: nBlock, pos: expr.pos}
		for _, item := range expr.exprs {
			part, err := p.process(item)
			if err != nil {
				return nil, err
			}
			pushAncestry(result, part)
			if part.consarray || (part.typ == nPath && part.steps[0].consarray) {
				result.consarray = true
			}
			result.exprs = append(result.exprs, part)
		}
	case nName:
		result = &node{typ: nPath, steps: []*node{expr}, pos: expr.pos}
		if expr.keepArray {
			result.keepSingletonArray = true
		}
	case nParent:
		result = &node{typ: nParent, pos: expr.pos, slot: &slot{
			label: "!" + strconv.Itoa(p.ancestorLabel), level: 1, index: len(p.ancestry),
		}}
		p.ancestorLabel++
		p.ancestry = append(p.ancestry, result)
	case nString, nNumber, nValue, nWildcard, nDescendant, nVariable, nRegex:
		result = expr
	case nPlaceholder:
		result = expr
	case nOperator:
		switch expr.value {
		case "and", "or", "in":
			expr.typ = nName
			return p.process(expr)
		}
		return nil, newError("S0201", withPos(expr.pos), withToken(expr.value))
	case nEnd:
		return nil, newError("S0207", withPos(expr.pos))
	default:
		return nil, newError("S0206", withPos(expr.pos), withToken(expr.value))
	}
	if err != nil {
		return nil, err
	}
	if expr.keepArray {
		result.keepArray = true
	}
	return result, nil
}

func (p *parser) processPath(expr *node) (*node, error) {
	lstep, err := p.process(expr.lhs)
	if err != nil {
		return nil, err
	}
	result := lstep
	if lstep.typ != nPath {
		result = &node{typ: nPath, steps: []*node{lstep}, pos: lstep.pos}
	}
	if lstep.typ == nParent {
		result.seekingParent = []*slot{lstep.slot}
		result.seeking = true
	}
	rest, err := p.process(expr.rhs)
	if err != nil {
		return nil, err
	}
	if rest.typ == nPath {
		result.steps = append(result.steps, rest.steps...)
	} else {
		if rest.predicate != nil {
			rest.stages = rest.predicate
			rest.predicate = nil
		}
		result.steps = append(result.steps, rest)
	}
	for _, step := range result.steps {
		switch step.typ {
		case nNumber, nValue:
			v := step.lit
			if step.typ == nNumber {
				v = step.num
			}
			return nil, newError("S0213", withPos(step.pos), withValue(v))
		case nString:
			step.typ = nName
		}
		if step.keepArray {
			result.keepSingletonArray = true
		}
	}
	if first := result.steps[0]; first.typ == nUnary && first.value == "[" {
		first.consarray = true
	}
	if last := result.steps[len(result.steps)-1]; last.typ == nUnary && last.value == "[" {
		last.consarray = true
	}
	if err := p.resolveAncestry(result); err != nil {
		return nil, err
	}
	return result, nil
}

func (p *parser) processPredicate(expr *node) (*node, error) {
	result, err := p.process(expr.lhs)
	if err != nil {
		return nil, err
	}
	step := result
	inPath := false
	if result.typ == nPath {
		step = result.steps[len(result.steps)-1]
		inPath = true
	}
	if step.group != nil {
		return nil, newError("S0209", withPos(expr.pos))
	}
	pred, err := p.process(expr.rhs)
	if err != nil {
		return nil, err
	}
	if pred.seeking {
		for _, s := range pred.seekingParent {
			if s.level == 1 {
				if _, err := p.seekParent(step, s); err != nil {
					return nil, err
				}
			} else {
				s.level--
			}
		}
		pushAncestry(step, pred)
	}
	st := &stage{typ: stageFilter, expr: pred, pos: expr.pos}
	if inPath {
		step.stages = append(step.stages, st)
	} else {
		step.predicate = append(step.predicate, st)
	}
	return result, nil
}

func (p *parser) seekParent(n *node, s *slot) (*slot, error) {
	switch n.typ {
	case nName, nWildcard:
		s.level--
		if s.level == 0 {
			if n.ancestor != nil {
				// two parent references to the same step share one label
				s.label = n.ancestor.label
			}
			n.ancestor = s
			n.tuple = true
		}
	case nParent:
		s.level++
	case nBlock:
		if len(n.exprs) > 0 {
			n.tuple = true
			return p.seekParent(n.exprs[len(n.exprs)-1], s)
		}
	case nPath:
		n.tuple = true
		i := len(n.steps) - 1
		var err error
		if s, err = p.seekParent(n.steps[i], s); err != nil {
			return nil, err
		}
		for i--; s.level > 0 && i >= 0; i-- {
			if s, err = p.seekParent(n.steps[i], s); err != nil {
				return nil, err
			}
		}
	default:
		return nil, newError("S0217", withPos(n.pos), withToken(nodeTypeNames[n.typ]))
	}
	return s, nil
}

func pushAncestry(result, value *node) {
	if !value.seeking && value.typ != nParent {
		return
	}
	slots := value.seekingParent
	if value.typ == nParent {
		slots = append(slots, value.slot)
	}
	result.seekingParent = append(result.seekingParent, slots...)
	result.seeking = true
}

func (p *parser) resolveAncestry(path *node) error {
	last := path.steps[len(path.steps)-1]
	slots := last.seekingParent
	if last.typ == nParent {
		slots = append(slots, last.slot)
	}
	for _, s := range slots {
		index := len(path.steps) - 2
		for s.level > 0 {
			if index < 0 {
				path.seekingParent = append(path.seekingParent, s)
				path.seeking = true
				break
			}
			step := path.steps[index]
			index--
			// contiguous steps that bind the focus are skipped
			for index >= 0 && step.focus != "" && path.steps[index].focus != "" {
				step = path.steps[index]
				index--
			}
			var err error
			if s, err = p.seekParent(step, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// tailCallOptimize wraps function calls in tail position in thunks, which the trampoline in
// apply runs without growing the stack, so that tail-recursive functions can recurse deeply.
func tailCallOptimize(expr *node) *node {
	switch expr.typ {
	case nFunction:
		if expr.predicate != nil || expr.group != nil || expr.keepArray {
			return expr
		}
		return &node{typ: nLambda, thunk: true, pos: expr.pos, body: expr}
	case nCondition:
		expr.then = tailCallOptimize(expr.then)
		if expr.els != nil {
			expr.els = tailCallOptimize(expr.els)
		}
	case nBlock:
		if n := len(expr.exprs); n > 0 {
			expr.exprs[n-1] = tailCallOptimize(expr.exprs[n-1])
		}
	}
	return expr
}

// markFrames flags the blocks that bind variables, so that the others can skip allocating a
// scope each time they run. It reports whether n (outside nested blocks and lambdas) binds.
func markFrames(n *node) bool {
	if n == nil {
		return false
	}
	binds := n.typ == nBind
	visit := func(c *node) {
		if markFrames(c) {
			binds = true
		}
	}
	visitStages := func(ss []*stage) {
		for _, s := range ss {
			visit(s.expr)
		}
	}
	visit(n.lhs)
	visit(n.rhs)
	visit(n.expr)
	for _, e := range n.exprs {
		visit(e)
	}
	for _, pr := range n.pairs {
		visit(pr[0])
		visit(pr[1])
	}
	for _, s := range n.steps {
		visit(s)
	}
	visit(n.proc)
	for _, a := range n.args {
		visit(a)
	}
	visit(n.cond)
	visit(n.then)
	visit(n.els)
	visit(n.pattern)
	visit(n.update)
	visit(n.del)
	for _, t := range n.terms {
		visit(t.expr)
	}
	visitStages(n.predicate)
	visitStages(n.stages)
	if n.group != nil {
		for _, pr := range n.group.pairs {
			visit(pr[0])
			visit(pr[1])
		}
	}
	if n.typ == nLambda {
		markFrames(n.body)
		return false
	}
	if n.typ == nBlock {
		n.needsFrame = binds
		return false
	}
	return binds
}

// markSimpleNames flags paths that are a single field name with nothing attached, which the
// evaluator can treat as a plain lookup.
func markSimpleNames(n *node) {
	if n == nil {
		return
	}
	if n.typ == nPath && len(n.steps) == 1 && !n.keepSingletonArray && !n.keepArray && !n.tuple &&
		n.group == nil && n.predicate == nil {
		s := n.steps[0]
		n.simpleName = s.typ == nName && s.stages == nil && s.predicate == nil && s.group == nil &&
			!s.tuple && !s.keepArray && s.focus == "" && s.index == "" && s.ancestor == nil
	}
	for _, c := range []*node{n.lhs, n.rhs, n.expr, n.proc, n.body, n.cond, n.then, n.els, n.pattern, n.update, n.del} {
		markSimpleNames(c)
	}
	for _, list := range [][]*node{n.exprs, n.steps, n.args} {
		for _, c := range list {
			markSimpleNames(c)
		}
	}
	for _, p := range n.pairs {
		markSimpleNames(p[0])
		markSimpleNames(p[1])
	}
	for _, t := range n.terms {
		markSimpleNames(t.expr)
	}
	for _, ss := range [][]*stage{n.predicate, n.stages} {
		for _, st := range ss {
			markSimpleNames(st.expr)
		}
	}
	if n.group != nil {
		for _, p := range n.group.pairs {
			markSimpleNames(p[0])
			markSimpleNames(p[1])
		}
	}
}
