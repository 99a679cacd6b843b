package asl

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// jsonataRefs is what an expression may read, found by scanning its text. The scan
// over-approximates (a "$name" inside a regular expression counts), which costs at most a
// binding nobody reads; it never misses a reference.
type jsonataRefs struct {
	// names are the $names read, in order of first appearance, excluding $states; they may
	// be workflow variables, so those that exist are bound.
	names []string
	// vars are the names that are workflow variables for DescribeStateMachine: names neither
	// bound inside the expression nor naming a function.
	vars   []string
	states bool // names $states
	// context is set when $states may be read for its context, which costs more to build.
	context bool
	// errorOutput is set when the expression names $states.errorOutput, and root when it
	// names $$: AWS refuses both where they do not exist.
	errorOutput, root bool
	functions         []string // AWS functions named
	clock             bool     // $now or $millis
	random            bool     // $random, $shuffle or $uuid
}

// jsonataFunctions are the names of JSONata's standard library, which are not variables.
var jsonataFunctions = map[string]bool{
	"sum": true, "count": true, "max": true, "min": true, "average": true, "string": true,
	"substring": true, "substringBefore": true, "substringAfter": true, "lowercase": true,
	"uppercase": true, "length": true, "trim": true, "pad": true, "contains": true, "split": true,
	"join": true, "match": true, "replace": true, "eval": true, "base64encode": true,
	"base64decode": true, "encodeUrlComponent": true, "encodeUrl": true,
	"decodeUrlComponent": true, "decodeUrl": true, "number": true, "abs": true, "floor": true,
	"ceil": true, "round": true, "power": true, "sqrt": true, "random": true,
	"formatNumber": true, "formatBase": true, "formatInteger": true, "parseInteger": true,
	"boolean": true, "not": true, "exists": true, "map": true, "zip": true, "filter": true,
	"single": true, "reduce": true, "keys": true, "lookup": true, "append": true, "merge": true,
	"spread": true, "sift": true, "each": true, "error": true, "assert": true, "type": true,
	"sort": true, "reverse": true, "shuffle": true, "distinct": true, "now": true, "millis": true,
	"fromMillis": true, "toMillis": true, "clone": true,
}

// scanRefs finds the $names of an expression, skipping string literals, quoted names, comments
// and regular expressions, and noting the names bound inside it (by := or as lambda
// parameters).
func scanRefs(src string) jsonataRefs {
	var r jsonataRefs
	local := map[string]bool{}
	operand := true // an operand may start here, so '/' opens a regular expression
	params := 0     // > 0 inside a lambda's parameter list
	lambda := false // the last word was "function" or "λ"
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"' || c == '\'':
			i = skipQuoted(src, i, c)
			operand = false
		case c == '`':
			i = skipQuoted(src, i, '`')
			operand = false
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			if end := strings.Index(src[i+2:], "*/"); end >= 0 {
				i += end + 4
			} else {
				i = len(src)
			}
		case c == '/' && operand:
			i = skipQuoted(src, i, '/')
			operand = false
		case c == '$':
			j := i + 1
			for j < len(src) && isNameByte(src[j]) {
				j++
			}
			name := src[i+1 : j]
			switch {
			case name == "" && j < len(src) && src[j] == '$':
				j++
				r.root = true
			case name == "states":
				r.states = true
				r.context = r.context || mayReadContext(src[j:])
				r.errorOutput = r.errorOutput || strings.HasPrefix(src[j:], ".errorOutput") && (j+12 == len(src) || !isNameByte(src[j+12]))
			case name != "":
				if params > 0 || isBinding(src[j:]) {
					local[name] = true
				}
				if !slices.Contains(r.names, name) {
					r.names = append(r.names, name)
				}
			}
			i = j
			operand = false
			lambda = false
		case isNameByte(c):
			j := i
			for j < len(src) && isNameByte(src[j]) {
				j++
			}
			word := src[i:j]
			operand = word == "and" || word == "or" || word == "in"
			lambda = word == "function" || word == "λ"
			i = j
		case c == '(':
			if lambda {
				params++
			}
			lambda = false
			operand = true
			i++
		case c == ')':
			if params > 0 {
				params--
			}
			operand = false
			i++
		case c == ']' || c == '}':
			operand = false
			i++
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		default:
			operand = true
			lambda = false
			i++
		}
	}
	for _, name := range r.names {
		switch {
		case awsFunctions[name].Impl != nil:
			r.functions = append(r.functions, name)
			r.random = r.random || name == "random" || name == "uuid"
		case jsonataFunctions[name]:
			r.clock = r.clock || name == "now" || name == "millis"
			r.random = r.random || name == "shuffle"
		case !local[name]:
			r.vars = append(r.vars, name)
		}
	}
	return r
}

// isNameByte reports whether b can be part of a $name: JSONata ends names only at operators and
// white space, so any non-ASCII byte belongs to one.
func isNameByte(b byte) bool {
	return b >= utf8.RuneSelf || b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// skipQuoted returns the index after the literal opened by src[i] and closed by an unescaped
// quote, or len(src).
func skipQuoted(src string, i int, quote byte) int {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case quote:
			return j + 1
		}
	}
	return len(src)
}

// isBinding reports whether rest starts with := after blanks.
func isBinding(rest string) bool {
	return strings.HasPrefix(strings.TrimLeft(rest, " \t\n\r"), ":=")
}

// mayReadContext reports whether the $states followed by rest may be read for its context: a
// plain access to another field may not; the whole object or a computed key may.
func mayReadContext(rest string) bool {
	if !strings.HasPrefix(rest, ".") {
		return true
	}
	rest = rest[1:]
	end := 0
	for end < len(rest) && isNameByte(rest[end]) {
		end++
	}
	switch rest[:end] {
	case "input", "result", "errorOutput":
		return false
	}
	return true
}
