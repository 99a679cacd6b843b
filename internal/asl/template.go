package asl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stepline/stepline/internal/asl/intrinsic"
	"github.com/stepline/stepline/internal/asl/path"
	"github.com/stepline/stepline/internal/jsonata"
	"github.com/stepline/stepline/internal/jsonv"
)

// objectTemplate builds an object per evaluation from precompiled members, in definition order.
type objectTemplate struct{ members []templateMember }

type templateMember struct {
	key   string // as emitted: without ".$"
	value Expr
}

func (t objectTemplate) Eval(s Scope) (jsonv.Value, error) {
	o := jsonv.NewObject(len(t.members))
	for _, m := range t.members {
		v, err := m.value.Eval(s)
		if err != nil {
			return nil, err
		}
		o.Set(m.key, v)
	}
	return o, nil
}

// arrayTemplate builds an array whose elements include templates.
type arrayTemplate struct{ elems []Expr }

func (t arrayTemplate) Eval(s Scope) (jsonv.Value, error) {
	a := make([]jsonv.Value, len(t.elems))
	for i, e := range t.elems {
		v, err := e.Eval(s)
		if err != nil {
			return nil, err
		}
		a[i] = v
	}
	return a, nil
}

// template compiles a payload template (Parameters, ResultSelector, ItemSelector, Credentials,
// ItemReader Parameters, …) found at loc. Problems are reported at loc, the template field, as AWS
// does. Parts without dynamic values collapse into literals, so a fully static template costs
// nothing to evaluate.
func (p *parser) template(v jsonv.Value, loc string, lang QueryLanguage) Expr {
	e, _ := p.templateValue(v, loc, lang)
	return e
}

// templateValue returns the Expr for v and whether it is dynamic. In a JSONata template every
// value has a location of its own ("…/Output/a/b[0]"), because AWS names it in the errors of the
// expression found there.
func (p *parser) templateValue(v jsonv.Value, loc string, lang QueryLanguage) (Expr, bool) {
	switch v := v.(type) {
	case *jsonv.Object:
		members := make([]templateMember, 0, v.Len())
		dynamic := false
		for _, m := range v.Members() {
			key, e, dyn := m.Key, Expr(nil), false
			switch {
			case lang == JSONPath && strings.HasSuffix(m.Key, ".$") && len(m.Key) > 2:
				key = strings.TrimSuffix(m.Key, ".$")
				e, dyn = p.dynamicValue(m.Key, m.Value, loc), true
			case lang == JSONata:
				e, dyn = p.templateValue(m.Value, loc+"/"+m.Key, lang)
			default:
				e, dyn = p.templateValue(m.Value, loc, lang)
			}
			dynamic = dynamic || dyn
			members = append(members, templateMember{key, e})
		}
		if !dynamic {
			return literalExpr{v}, false
		}
		return objectTemplate{members}, true
	case []jsonv.Value:
		elems := make([]Expr, len(v))
		dynamic := false
		for i, x := range v {
			eloc := loc
			if lang == JSONata {
				eloc = fmt.Sprintf("%s[%d]", loc, i)
			}
			var dyn bool
			elems[i], dyn = p.templateValue(x, eloc, lang)
			dynamic = dynamic || dyn
		}
		if !dynamic {
			return literalExpr{v}, false
		}
		return arrayTemplate{elems}, true
	case string:
		if lang == JSONata {
			if expr, ok := jsonataText(v); ok {
				return p.jsonata(expr, loc, checkAny), true
			}
		}
	}
	return literalExpr{v}, false
}

// dynamicValue compiles the value of a "key.$" member: a path or an intrinsic function call.
func (p *parser) dynamicValue(key string, v jsonv.Value, loc string) Expr {
	if s, ok := v.(string); ok {
		if e := compileDynamic(s, key); e != nil {
			return e
		}
	}
	p.schema(loc, "The value for the field '%s' must be a valid JSONPath or a valid intrinsic function call", key)
	return literalExpr{nil}
}

// compileDynamic compiles a path or an intrinsic call for field, or returns nil.
func compileDynamic(s, field string) Expr {
	if strings.HasPrefix(s, "$") {
		if pp, err := path.Compile(s); err == nil {
			return fieldPathExpr{pp, field}
		}
		return nil
	}
	if strings.HasPrefix(s, "States.") {
		if c, err := intrinsic.Parse(s); err == nil {
			return intrinsicExpr{c}
		}
	}
	return nil
}

// jsonataText returns the expression inside "{% … %}".
func jsonataText(s string) (string, bool) {
	if len(s) >= 4 && strings.HasPrefix(s, "{%") && strings.HasSuffix(s, "%}") {
		return s[2 : len(s)-2], true
	}
	return "", false
}

// jsonata compiles a JSONata expression found at loc whose value must pass chk, reporting a
// syntax error as AWS does: the parser's message, without its code, at the field.
func (p *parser) jsonata(text, loc string, chk check) Expr {
	e, err := compileJSONata(text, strings.TrimPrefix(loc, p.stateLoc+"/"), chk)
	if err != nil {
		var je *jsonata.Error
		if errors.As(err, &je) {
			p.add(CodeInvalidJSONata, loc, "%s", je.Message)
		} else {
			p.add(CodeInvalidJSONata, loc, "%v", err)
		}
		return literalExpr{nil}
	}
	e.maxMemory = p.opts.JSONataMemory
	// AWS refuses, when the definition is created, what an expression could never read.
	if e.refs.root {
		p.add(CodeUnsupportedJSONata, loc, "Reference to '$$' is not supported.")
	}
	if e.refs.errorOutput && !p.inCatch {
		p.add(CodeUnsupportedJSONata, loc, "Field '$states.errorOutput' does not exist.")
	}
	return e
}
