package project

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The intrinsic functions of CloudFormation templates, evaluated over yaml.v3 nodes so that
// every value keeps the line it was written on: an error names the template's file, line and
// property path. Values are yaml.Nodes — scalars, sequences, mappings — as the template would
// hold them after CloudFormation resolved it; AWS::NoValue is the noValue node, dropped by
// the mapping or sequence holding it.

// noValue is what Ref AWS::NoValue evaluates to: the property or item is removed.
var noValue = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "AWS::NoValue"}

// shortTags are YAML's short forms of the intrinsic functions (!Ref X is {Ref: X}).
var shortTags = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!Join": "Fn::Join",
	"!Select": "Fn::Select", "!Split": "Fn::Split", "!If": "Fn::If", "!Equals": "Fn::Equals", "!Not": "Fn::Not",
	"!And": "Fn::And", "!Or": "Fn::Or", "!FindInMap": "Fn::FindInMap", "!Base64": "Fn::Base64",
	"!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue", "!Cidr": "Fn::Cidr", "!Transform": "Fn::Transform",
	"!Length": "Fn::Length", "!ToJsonString": "Fn::ToJsonString", "!Contains": "Fn::Contains",
}

// unsupported words why an intrinsic has no local value.
var unsupported = map[string]string{
	"Fn::GetAZs":       "availability zones are not local; give the value as a parameter (--parameter-overrides)",
	"Fn::ImportValue":  "another stack's exports are not known locally; give the value as a parameter (--parameter-overrides)",
	"Fn::Cidr":         "address blocks are not computed locally; give the value as a parameter (--parameter-overrides)",
	"Fn::Transform":    "macros (AWS::Include, …) are not run locally",
	"Fn::Length":       "AWS::LanguageExtensions functions are not evaluated locally",
	"Fn::ToJsonString": "AWS::LanguageExtensions functions are not evaluated locally",
	"Fn::Contains":     "it belongs to Rules, which are not evaluated locally",
}

// evalBudget bounds the nodes one template evaluates, so that YAML aliases cannot make a
// small file expand without end.
const evalBudget = 1 << 20

// maxEvalDepth bounds nesting, of values and of references between resources' names.
const maxEvalDepth = 100

// strNode is a string value written at line.
func strNode(s string, line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Line: line}
}

// intrinsicOf returns the intrinsic function n calls and its argument: a short form (!Ref X)
// or a mapping of one Ref or Fn:: key. A YAML tag that names no intrinsic is an error.
func (t *tmpl) intrinsicOf(n *yaml.Node, path string) (string, *yaml.Node, bool, error) {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		fn, ok := shortTags[n.Tag]
		if !ok {
			return "", nil, false, t.p.errAt(n, path, "unknown YAML tag %s (intrinsic functions: !Ref, !GetAtt, !Sub, !Join, …)", n.Tag)
		}
		arg := *n
		arg.Tag = ""
		arg.Style &^= yaml.TaggedStyle
		if arg.Kind == yaml.ScalarNode {
			arg.Tag = "!!str"
		}
		return fn, &arg, true, nil
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		k := n.Content[0].Value
		if k == "Ref" || strings.HasPrefix(k, "Fn::") {
			return k, resolve(n.Content[1]), true, nil
		}
	}
	return "", nil, false, nil
}

// eval resolves every intrinsic in n; the result may be noValue.
func (t *tmpl) eval(n *yaml.Node, path string, depth int) (*yaml.Node, error) {
	n = resolve(n)
	if n == nil {
		return nil, t.p.errAt(nil, path, "an alias names nothing")
	}
	if t.budget--; t.budget < 0 {
		return nil, t.p.errAt(n, path, "the template expands to too many values (YAML aliases?)")
	}
	if depth > maxEvalDepth {
		return nil, t.p.errAt(n, path, "nests too deep")
	}
	fn, arg, ok, err := t.intrinsicOf(n, path)
	if err != nil {
		return nil, err
	}
	if ok {
		return t.call(fn, arg, n, join(path, fn), depth+1)
	}
	switch n.Kind {
	case yaml.MappingNode:
		out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			v, err := t.eval(n.Content[i+1], join(path, k.Value), depth+1)
			if err != nil {
				return nil, err
			}
			if v != noValue {
				out.Content = append(out.Content, k, v)
			}
		}
		return out, nil
	case yaml.SequenceNode:
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: n.Line, Column: n.Column}
		for i, c := range n.Content {
			v, err := t.eval(c, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			if v != noValue {
				out.Content = append(out.Content, v)
			}
		}
		return out, nil
	}
	return n, nil
}

// evalString evaluates n to one string (a scalar).
func (t *tmpl) evalString(n *yaml.Node, path string, depth int) (string, error) {
	v, err := t.eval(n, path, depth)
	if err != nil {
		return "", err
	}
	if v == noValue || v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" {
		return "", t.p.errAt(n, path, "must be a string")
	}
	return v.Value, nil
}

// evalList evaluates n to a sequence.
func (t *tmpl) evalList(n *yaml.Node, path string, depth int) (*yaml.Node, error) {
	v, err := t.eval(n, path, depth)
	if err != nil {
		return nil, err
	}
	if v == noValue || v.Kind != yaml.SequenceNode {
		return nil, t.p.errAt(n, path, "must be a list")
	}
	return v, nil
}

// args checks that arg is a list of count items (min to max when max > count).
func (t *tmpl) args(arg *yaml.Node, path, form string, min, max int) ([]*yaml.Node, error) {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) < min || len(arg.Content) > max {
		return nil, t.p.errAt(arg, path, "takes %s", form)
	}
	out := make([]*yaml.Node, len(arg.Content))
	for i, c := range arg.Content {
		out[i] = resolve(c)
	}
	return out, nil
}

func (t *tmpl) call(fn string, arg, at *yaml.Node, path string, depth int) (*yaml.Node, error) {
	line := at.Line
	switch fn {
	case "Ref":
		if arg.Kind != yaml.ScalarNode {
			return nil, t.p.errAt(arg, path, "takes the name of a parameter or resource")
		}
		return t.ref(arg.Value, at, path, depth)
	case "Fn::GetAtt":
		var id, attr string
		switch arg.Kind {
		case yaml.ScalarNode:
			var ok bool
			if id, attr, ok = strings.Cut(arg.Value, "."); !ok {
				return nil, t.p.errAt(arg, path, "takes RESOURCE.ATTRIBUTE, not %q", arg.Value)
			}
		case yaml.SequenceNode:
			a, err := t.args(arg, path, "[RESOURCE, ATTRIBUTE]", 2, 2)
			if err != nil {
				return nil, err
			}
			if id, err = t.evalString(a[0], path+"[0]", depth); err != nil {
				return nil, err
			}
			if attr, err = t.evalString(a[1], path+"[1]", depth); err != nil {
				return nil, err
			}
		default:
			return nil, t.p.errAt(arg, path, "takes [RESOURCE, ATTRIBUTE]")
		}
		s, err := t.getAtt(id, attr, at, path, depth)
		if err != nil {
			return nil, err
		}
		return strNode(s, line), nil
	case "Fn::Sub":
		var vars map[string]*yaml.Node
		text := arg
		if arg.Kind == yaml.SequenceNode {
			a, err := t.args(arg, path, "a string, or [STRING, {NAME: VALUE, …}]", 1, 2)
			if err != nil {
				return nil, err
			}
			text = a[0]
			if len(a) == 2 {
				if a[1].Kind != yaml.MappingNode {
					return nil, t.p.errAt(a[1], path+"[1]", "must be a mapping of names to values")
				}
				vars = map[string]*yaml.Node{}
				for i := 0; i+1 < len(a[1].Content); i += 2 {
					k := a[1].Content[i].Value
					v, err := t.eval(a[1].Content[i+1], path+"[1]."+k, depth)
					if err != nil {
						return nil, err
					}
					vars[k] = v
				}
			}
		}
		if text.Kind != yaml.ScalarNode {
			return nil, t.p.errAt(text, path, "takes a string, or [STRING, {NAME: VALUE, …}]")
		}
		s, err := t.sub(text.Value, vars, at, path, depth)
		if err != nil {
			return nil, err
		}
		return strNode(s, line), nil
	case "Fn::Join":
		a, err := t.args(arg, path, "[DELIMITER, [VALUE, …]]", 2, 2)
		if err != nil {
			return nil, err
		}
		if a[0].Kind != yaml.ScalarNode {
			return nil, t.p.errAt(a[0], path+"[0]", "the delimiter must be a string")
		}
		list, err := t.evalList(a[1], path+"[1]", depth)
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(list.Content))
		for i, c := range list.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, t.p.errAt(c, fmt.Sprintf("%s[1][%d]", path, i), "must be a string to be joined")
			}
			parts[i] = c.Value
		}
		return strNode(strings.Join(parts, a[0].Value), line), nil
	case "Fn::Select":
		a, err := t.args(arg, path, "[INDEX, [VALUE, …]]", 2, 2)
		if err != nil {
			return nil, err
		}
		is, err := t.evalString(a[0], path+"[0]", depth)
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(is)
		if err != nil || i < 0 {
			return nil, t.p.errAt(a[0], path+"[0]", "the index must be a whole number, not %q", is)
		}
		list, err := t.evalList(a[1], path+"[1]", depth)
		if err != nil {
			return nil, err
		}
		if i >= len(list.Content) {
			return nil, t.p.errAt(a[0], path+"[0]", "index %d is past the list's %d items", i, len(list.Content))
		}
		return list.Content[i], nil
	case "Fn::Split":
		a, err := t.args(arg, path, "[DELIMITER, STRING]", 2, 2)
		if err != nil {
			return nil, err
		}
		if a[0].Kind != yaml.ScalarNode || a[0].Value == "" {
			return nil, t.p.errAt(a[0], path+"[0]", "the delimiter must be a non-empty string")
		}
		s, err := t.evalString(a[1], path+"[1]", depth)
		if err != nil {
			return nil, err
		}
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line}
		for _, part := range strings.Split(s, a[0].Value) {
			out.Content = append(out.Content, strNode(part, line))
		}
		return out, nil
	case "Fn::If":
		a, err := t.args(arg, path, "[CONDITION, VALUE_IF_TRUE, VALUE_IF_FALSE]", 3, 3)
		if err != nil {
			return nil, err
		}
		if a[0].Kind != yaml.ScalarNode {
			return nil, t.p.errAt(a[0], path+"[0]", "must name a condition")
		}
		ok, err := t.condition(a[0].Value, a[0], path+"[0]", depth)
		if err != nil {
			return nil, err
		}
		if ok {
			return t.eval(a[1], path+"[1]", depth)
		}
		return t.eval(a[2], path+"[2]", depth)
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		ok, err := t.condCall(fn, arg, path, depth)
		if err != nil {
			return nil, err
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(ok), Line: line}, nil
	case "Fn::FindInMap":
		a, err := t.args(arg, path, "[MAP, TOP_KEY, SECOND_KEY]", 3, 3)
		if err != nil {
			return nil, err
		}
		var keys [3]string
		for i := range a {
			if keys[i], err = t.evalString(a[i], fmt.Sprintf("%s[%d]", path, i), depth); err != nil {
				return nil, err
			}
		}
		v := t.mappings
		for i, k := range keys {
			if v = mapGet(v, k); v == nil {
				return nil, t.p.errAt(a[i], fmt.Sprintf("%s[%d]", path, i), "Mappings has no %s", strings.Join(keys[:i+1], "."))
			}
		}
		return t.eval(v, "Mappings."+strings.Join(keys[:], "."), depth)
	case "Fn::Base64":
		s, err := t.evalString(arg, path, depth)
		if err != nil {
			return nil, err
		}
		return strNode(base64.StdEncoding.EncodeToString([]byte(s)), line), nil
	}
	if why, ok := unsupported[fn]; ok {
		return nil, t.p.errAt(at, path, "not supported: %s", why)
	}
	return nil, t.p.errAt(at, path, "unknown intrinsic function")
}

// mapGet is the value of key in mapping n, or nil.
func mapGet(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return resolve(n.Content[i+1])
		}
	}
	return nil
}

// subVar is a ${…} of Fn::Sub; ${!…} is written as is.
var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// sub replaces each ${NAME} of s: a variable of Fn::Sub's list form, a parameter, a resource
// (its Ref), RESOURCE.ATTRIBUTE (its Fn::GetAtt) or a pseudo parameter.
func (t *tmpl) sub(s string, vars map[string]*yaml.Node, at *yaml.Node, path string, depth int) (string, error) {
	var failed error
	out := subVar.ReplaceAllStringFunc(s, func(m string) string {
		if failed != nil {
			return m
		}
		name := strings.TrimSpace(m[2 : len(m)-1])
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		if v, ok := vars[name]; ok {
			if v == noValue || v.Kind != yaml.ScalarNode {
				failed = t.p.errAt(at, path, "${%s} must be a string", name)
				return m
			}
			return v.Value
		}
		if id, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			v, err := t.getAtt(id, attr, at, path, depth)
			failed = err
			return v
		}
		v, err := t.ref(name, at, path, depth)
		if err != nil {
			failed = err
			return m
		}
		if v == noValue || v.Kind != yaml.ScalarNode {
			failed = t.p.errAt(at, path, "${%s} is a list, not a string", name)
			return m
		}
		return v.Value
	})
	return out, failed
}

// partitionOf is the partition of a region, and its URL suffix.
func partitionOf(region string) (string, string) {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn", "amazonaws.com.cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov", "amazonaws.com"
	}
	return "aws", "amazonaws.com"
}

// ref is what Ref NAME gives: a pseudo parameter, a parameter's value, or a resource's.
func (t *tmpl) ref(name string, at *yaml.Node, path string, depth int) (*yaml.Node, error) {
	line := at.Line
	switch name {
	case "AWS::Region":
		return strNode(t.o.Region, line), nil
	case "AWS::AccountId":
		return strNode(t.o.Account, line), nil
	case "AWS::Partition":
		return strNode(t.partition, line), nil
	case "AWS::URLSuffix":
		return strNode(t.urlSuffix, line), nil
	case "AWS::StackName":
		return strNode(t.o.StackName, line), nil
	case "AWS::StackId":
		h := sha256.Sum256([]byte(t.o.Account + "/" + t.o.Region + "/" + t.o.StackName))
		id := fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
		return strNode(fmt.Sprintf("arn:%s:cloudformation:%s:%s:stack/%s/%s", t.partition, t.o.Region, t.o.Account, t.o.StackName, id), line), nil
	case "AWS::NoValue":
		return noValue, nil
	case "AWS::NotificationARNs":
		return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line}, nil
	}
	if prm, ok := t.params[name]; ok {
		if prm.err != "" {
			return nil, t.p.errAt(at, path, "parameter %s: %s", name, prm.err)
		}
		v := *prm.value
		v.Line = line
		return &v, nil
	}
	if _, ok := t.resources[name]; ok {
		s, err := t.getAtt(name, "", at, path, depth)
		if err != nil {
			return nil, err
		}
		return strNode(s, line), nil
	}
	if strings.HasPrefix(name, "AWS::") {
		return nil, t.p.errAt(at, path, "unknown pseudo parameter %s (known: AWS::AccountId, AWS::NoValue, AWS::NotificationARNs, "+
			"AWS::Partition, AWS::Region, AWS::StackId, AWS::StackName, AWS::URLSuffix)", name)
	}
	return nil, t.p.errAt(at, path, "no parameter or resource named %s", name)
}

// condition is the value of the named condition of Conditions.
func (t *tmpl) condition(name string, at *yaml.Node, path string, depth int) (bool, error) {
	if v, ok := t.condValues[name]; ok {
		return v, nil
	}
	n := mapGet(t.conditions, name)
	if n == nil {
		return false, t.p.errAt(at, path, "no condition named %s under Conditions", name)
	}
	if t.condBusy[name] {
		return false, t.p.errAt(at, path, "condition %s depends on itself", name)
	}
	t.condBusy[name] = true
	v, err := t.condExpr(n, "Conditions."+name, depth+1)
	delete(t.condBusy, name)
	if err != nil {
		return false, err
	}
	t.condValues[name] = v
	return v, nil
}

// condExpr evaluates a condition: Fn::Equals, Fn::Not, Fn::And, Fn::Or or {Condition: NAME}.
func (t *tmpl) condExpr(n *yaml.Node, path string, depth int) (bool, error) {
	n = resolve(n)
	if n == nil {
		return false, t.p.errAt(nil, path, "an alias names nothing")
	}
	if depth > maxEvalDepth {
		return false, t.p.errAt(n, path, "nests too deep")
	}
	if n.Tag == "!Condition" || (n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Condition") {
		name := n
		if n.Kind == yaml.MappingNode {
			name = resolve(n.Content[1])
		}
		if name.Kind != yaml.ScalarNode {
			return false, t.p.errAt(n, path, "Condition takes a condition's name")
		}
		return t.condition(name.Value, n, path, depth)
	}
	fn, arg, ok, err := t.intrinsicOf(n, path)
	if err != nil {
		return false, err
	}
	if !ok || !slices.Contains([]string{"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"}, fn) {
		return false, t.p.errAt(n, path, "a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition")
	}
	return t.condCall(fn, arg, join(path, fn), depth+1)
}

func (t *tmpl) condCall(fn string, arg *yaml.Node, path string, depth int) (bool, error) {
	switch fn {
	case "Fn::Equals":
		a, err := t.args(arg, path, "[VALUE, VALUE]", 2, 2)
		if err != nil {
			return false, err
		}
		x, err := t.eval(a[0], path+"[0]", depth)
		if err != nil {
			return false, err
		}
		y, err := t.eval(a[1], path+"[1]", depth)
		if err != nil {
			return false, err
		}
		return sameValue(x, y), nil
	case "Fn::Not":
		a, err := t.args(arg, path, "[CONDITION]", 1, 1)
		if err != nil {
			return false, err
		}
		v, err := t.condExpr(a[0], path+"[0]", depth)
		return !v, err
	}
	// Fn::And, Fn::Or: 2 to 10 conditions, each evaluated (an error is an error either way).
	a, err := t.args(arg, path, "[CONDITION, CONDITION, …] (2 to 10)", 2, 10)
	if err != nil {
		return false, err
	}
	and := fn == "Fn::And"
	result := and
	for i, c := range a {
		v, err := t.condExpr(c, fmt.Sprintf("%s[%d]", path, i), depth)
		if err != nil {
			return false, err
		}
		if and {
			result = result && v
		} else {
			result = result || v
		}
	}
	return result, nil
}

// sameValue compares two evaluated values as CloudFormation does: scalars by their text.
func sameValue(x, y *yaml.Node) bool {
	if x == noValue || y == noValue {
		return x == y
	}
	if x.Kind != y.Kind {
		return false
	}
	switch x.Kind {
	case yaml.ScalarNode:
		return x.Value == y.Value
	case yaml.SequenceNode, yaml.MappingNode:
		if len(x.Content) != len(y.Content) {
			return false
		}
		for i := range x.Content {
			if !sameValue(resolve(x.Content[i]), resolve(y.Content[i])) {
				return false
			}
		}
		return true
	}
	return false
}
