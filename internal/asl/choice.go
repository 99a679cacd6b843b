package asl

import (
	"fmt"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

// choice reads a Choice state: a non-empty Choices array and an optional Default.
func (p *parser) choice(o *jsonv.Object, loc string, lang QueryLanguage) *ChoiceFields {
	c := &ChoiceFields{}
	c.Default, _ = p.str(o, "Default", loc)
	list, ok := p.array(o, "Choices", loc)
	if !ok {
		return c
	}
	if len(list) == 0 {
		p.schema(loc+"/Choices", "Value cannot be empty")
	}
	for i, v := range list {
		rloc := fmt.Sprintf("%s/Choices[%d]", loc, i)
		if r := p.choiceRule(v, rloc, lang, true); r != nil {
			c.Choices = append(c.Choices, r)
		}
	}
	return c
}

// choiceRule reads one rule; top-level rules carry Next (and may assign), nested ones do not.
func (p *parser) choiceRule(v jsonv.Value, loc string, lang QueryLanguage, top bool) *ChoiceRule {
	o, ok := v.(*jsonv.Object)
	if !ok {
		p.schema(loc, "Expected value of type [OBJECT]")
		return nil
	}
	r := &ChoiceRule{}
	if top {
		p.required(o, loc, "Next")
		r.Next, _ = p.str(o, "Next", loc)
		r.Assign = p.assign(o, loc, lang)
	}
	if lang == JSONata {
		p.required(o, loc, "Condition")
		allowed := []string{"Condition", "Comment"}
		if top {
			allowed = append(allowed, "Next", "Assign", "Output")
			if out, ok := o.Get("Output"); ok {
				r.Output = p.template(out, loc+"/Output", JSONata)
			}
		}
		p.only(o, loc, allowed...)
		if cond, ok := o.Get("Condition"); ok {
			r.Condition = p.condition(cond, loc+"/Condition")
		}
		return r
	}

	var ops []string
	for _, m := range o.Members() {
		switch _, isOp := choiceOperators[m.Key]; {
		case isOp:
			ops = append(ops, m.Key)
		case m.Key == "Variable", m.Key == "And", m.Key == "Or", m.Key == "Not", m.Key == "Comment":
		case top && (m.Key == "Next" || m.Key == "Assign"):
		default:
			p.schema(loc, "Field '%s' is not supported", m.Key)
		}
	}
	kinds := 0
	for _, k := range []string{"Variable", "And", "Or", "Not"} {
		if o.Has(k) {
			kinds++
		}
	}
	if kinds != 1 {
		p.schema(loc, "A choice rule must have exactly one of these fields: [Variable, And, Or, Not]")
		return r
	}
	switch {
	case o.Has("Variable"):
		p.comparison(r, o, loc, ops)
	case len(ops) > 0:
		p.schema(loc, "Field '%s' is not supported", ops[0])
	case o.Has("Not"):
		not, _ := o.Get("Not")
		r.Not = p.choiceRule(not, loc+"/Not", lang, false)
	default:
		key := "And"
		if o.Has("Or") {
			key = "Or"
		}
		list, ok := p.array(o, key, loc)
		if !ok {
			break
		}
		if len(list) == 0 {
			p.schema(loc+"/"+key, "Value cannot be empty")
		}
		rules := make([]*ChoiceRule, 0, len(list))
		for i, v := range list {
			if sub := p.choiceRule(v, fmt.Sprintf("%s/%s[%d]", loc, key, i), lang, false); sub != nil {
				rules = append(rules, sub)
			}
		}
		if key == "And" {
			r.And = rules
		} else {
			r.Or = rules
		}
	}
	return r
}

// comparison reads Variable and its one operator.
func (p *parser) comparison(r *ChoiceRule, o *jsonv.Object, loc string, ops []string) {
	r.Variable, _ = p.refPath(o, "Variable", loc)
	if len(ops) != 1 {
		p.schema(loc, "A choice rule with 'Variable' must have exactly one comparison operator")
		return
	}
	name := ops[0]
	spec := choiceOperators[name]
	r.Op = spec.op
	if spec.isPath {
		r.ValuePath, _ = p.refPath(o, name, loc)
		return
	}
	want := map[operandKind]string{operandString: "STRING", operandNumber: "NUMBER", operandBoolean: "BOOLEAN", operandTimestamp: "STRING"}[spec.operand]
	v, ok := p.typed(o, name, loc, want)
	if !ok {
		return
	}
	if spec.operand == operandTimestamp && !isRFC3339(v.(string)) {
		p.schema(loc+"/"+name, "String does not match RFC3339 timestamp")
		return
	}
	r.Value = v
}

// condition compiles a JSONata rule's Condition: an expression or a literal boolean.
func (p *parser) condition(v jsonv.Value, loc string) Expr {
	if s, ok := v.(string); ok {
		if text, ok := jsonataText(strings.TrimSpace(s)); ok {
			return p.jsonata(text, loc, checkBoolean)
		}
	}
	if _, ok := v.(bool); ok {
		return literalExpr{v}
	}
	p.schema(loc, "Expected value of type [BOOLEAN]")
	return nil
}
