package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// pathStep is one step of a JSONPath: a field name or an array index.
type pathStep struct {
	field string
	index int
	isIdx bool
}

// parsePath parses the JSONPath subset EventBridge's InputPath and InputPathsMap take:
// $, .name, ['name'] and [n].
func parsePath(p string) ([]pathStep, error) {
	if !strings.HasPrefix(p, "$") {
		return nil, errors.New("a path starts with $")
	}
	var steps []pathStep
	rest := p[1:]
	for rest != "" {
		switch {
		case rest[0] == '.':
			rest = rest[1:]
			i := strings.IndexAny(rest, ".[")
			if i < 0 {
				i = len(rest)
			}
			if i == 0 {
				return nil, fmt.Errorf("empty field name in %s", p)
			}
			steps = append(steps, pathStep{field: rest[:i]})
			rest = rest[i:]
		case strings.HasPrefix(rest, "['"):
			i := strings.Index(rest[2:], "']")
			if i < 0 {
				return nil, fmt.Errorf("unterminated ['…'] in %s", p)
			}
			steps = append(steps, pathStep{field: rest[2 : 2+i]})
			rest = rest[2+i+2:]
		case rest[0] == '[':
			i := strings.IndexByte(rest, ']')
			if i < 0 {
				return nil, fmt.Errorf("unterminated [ in %s", p)
			}
			n, err := strconv.Atoi(rest[1:i])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad index in %s", p)
			}
			steps = append(steps, pathStep{index: n, isIdx: true})
			rest = rest[i+1:]
		default:
			return nil, fmt.Errorf("unexpected %q in %s", rest[0], p)
		}
	}
	return steps, nil
}

// evalPath returns the value at a path, and whether there is one.
func evalPath(v any, p string) (any, bool) {
	steps, err := parsePath(p)
	if err != nil {
		return nil, false
	}
	for _, s := range steps {
		if s.isIdx {
			a, ok := v.([]any)
			if !ok || s.index >= len(a) {
				return nil, false
			}
			v = a[s.index]
			continue
		}
		o, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = o[s.field]; !ok {
			return nil, false
		}
	}
	return v, true
}

func decodeNumbers(b []byte) (any, error) {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// transformInput shapes what a target receives: the event, or Input, InputPath or
// InputTransformer's output.
func transformInput(t *Target, event []byte, ruleArn, ruleName string) ([]byte, error) {
	switch {
	case t.Input != nil:
		return []byte(*t.Input), nil
	case t.InputPath != nil:
		ev, err := decodeNumbers(event)
		if err != nil {
			return nil, err
		}
		v, ok := evalPath(ev, *t.InputPath)
		if !ok {
			return []byte("null"), nil
		}
		return json.Marshal(v)
	case t.InputTransformer != nil:
		ev, err := decodeNumbers(event)
		if err != nil {
			return nil, err
		}
		vals := map[string]any{}
		for k, p := range t.InputTransformer.InputPathsMap {
			if v, ok := evalPath(ev, p); ok {
				vals[k] = v
			} else {
				vals[k] = nil
			}
		}
		vals["aws.events.rule-arn"] = ruleArn
		vals["aws.events.rule-name"] = ruleName
		if o, ok := ev.(map[string]any); ok {
			vals["aws.events.event.ingestion-time"] = o["time"]
		}
		vals["aws.events.event"] = json.RawMessage(event)
		vals["aws.events.event.json"] = json.RawMessage(event)
		return renderTemplate(t.InputTransformer.InputTemplate, vals), nil
	}
	return event, nil
}

// renderTemplate replaces <name> placeholders with values by AWS's quoting rules: inside a
// JSON string a string value goes in as its text (escaped for the string) and any other
// value as its JSON text, escaped; outside a string a value goes in as JSON (a string with
// its quotes) when the template is JSON, and a string as its bare text when the template is
// plain text.
func renderTemplate(tmpl string, vals map[string]any) []byte {
	trim := strings.TrimSpace(tmpl)
	jsonTemplate := trim != "" && strings.ContainsRune(`{["`, rune(trim[0]))
	var out strings.Builder
	inString := false
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch {
		case c == '\\' && inString && i+1 < len(tmpl):
			out.WriteByte(c)
			out.WriteByte(tmpl[i+1])
			i++
			continue
		case c == '"' && jsonTemplate:
			inString = !inString
		case c == '<':
			if j := strings.IndexByte(tmpl[i+1:], '>'); j >= 0 {
				name := tmpl[i+1 : i+1+j]
				if v, ok := vals[name]; ok {
					out.WriteString(render(v, inString, jsonTemplate))
					i += j + 1
					continue
				}
			}
		}
		out.WriteByte(c)
	}
	return []byte(out.String())
}

func render(v any, inString, jsonTemplate bool) string {
	if s, ok := v.(string); ok && (inString || !jsonTemplate) {
		if !inString {
			return s
		}
		b, _ := json.Marshal(s) // a string always marshals
		return string(b[1 : len(b)-1])
	}
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte("null")
	}
	if inString {
		q, _ := json.Marshal(string(compactJSON(b))) // a string always marshals
		return string(q[1 : len(q)-1])
	}
	return string(b)
}
