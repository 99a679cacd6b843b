package jsonata

import (
	"regexp"
	"strings"
)

// signature is a parsed function signature such as <s-nn?:s>. Like the reference, it validates
// an argument list by writing one type letter per argument and matching that string against a
// regular expression built from the signature, which also tells which arguments were supplied.
type signature struct {
	def    string
	params []*sigParam
	re     *regexp.Regexp
	// partial holds the prefixes of the expression, used to find the first bad argument.
	partial []*regexp.Regexp
}

type sigParam struct {
	regex     string
	typ       string
	context   bool
	contextRe *regexp.Regexp
	subtype   string
}

var arraySubtypeNames = map[string]string{
	"a": "arrays", "b": "booleans", "f": "functions", "n": "numbers", "o": "objects", "s": "strings",
}

// parseSignature parses a signature; on error it returns an *Error whose pos is the offset of
// the problem within sig.
func parseSignature(sig string) (*signature, error) {
	var params []*sigParam
	param := &sigParam{}
	var prev *sigParam
	next := func() {
		params = append(params, param)
		prev = param
		param = &sigParam{}
	}
	findClosing := func(start int, open, close byte) int {
		depth := 1
		pos := start
		for pos < len(sig) {
			pos++
			if pos >= len(sig) {
				break
			}
			if sig[pos] == close {
				depth--
				if depth == 0 {
					break
				}
			} else if sig[pos] == open {
				depth++
			}
		}
		return pos
	}
	for pos := 1; pos < len(sig); pos++ {
		sym := sig[pos]
		if sym == ':' {
			break
		}
		switch sym {
		case 's', 'n', 'b', 'l', 'o':
			param.regex = "[" + string(sym) + "m]"
			param.typ = string(sym)
			next()
		case 'a':
			param.regex = "[asnblfom]"
			param.typ = "a"
			next()
		case 'f':
			param.regex = "f"
			param.typ = "f"
			next()
		case 'j':
			param.regex = "[asnblom]"
			param.typ = "j"
			next()
		case 'x':
			param.regex = "[asnblfom]"
			param.typ = "x"
			next()
		case '-':
			if prev != nil {
				prev.context = true
				prev.contextRe = regexp.MustCompile(prev.regex)
				prev.regex += "?"
			}
		case '?', '+':
			if prev != nil {
				prev.regex += string(sym)
			}
		case '(':
			end := findClosing(pos, '(', ')')
			if end >= len(sig) {
				end = len(sig) - 1
			}
			choice := sig[pos+1 : end]
			if strings.Contains(choice, "<") {
				return nil, newError("S0402", withPos(pos), withValue(choice))
			}
			param.regex = "[" + choice + "m]"
			param.typ = "(" + choice + ")"
			pos = end
			next()
		case '<':
			if prev != nil && (prev.typ == "a" || prev.typ == "f") {
				end := findClosing(pos, '<', '>')
				if end > len(sig) {
					end = len(sig)
				}
				prev.subtype = sig[pos+1 : min(end, len(sig))]
				pos = end
			} else {
				typ := ""
				if prev != nil {
					typ = prev.typ
				}
				return nil, newError("S0401", withPos(pos), withValue(typ))
			}
		}
	}
	s := &signature{def: sig, params: params}
	var sb strings.Builder
	sb.WriteByte('^')
	for _, p := range params {
		sb.WriteString("(" + p.regex + ")")
	}
	sb.WriteByte('$')
	re, err := regexp.Compile(sb.String())
	if err != nil {
		return nil, newError("S0401", withPos(0), withValue(sig))
	}
	s.re = re
	prefix := "^"
	for _, p := range params {
		prefix += p.regex
		s.partial = append(s.partial, regexp.MustCompile(prefix))
	}
	return s, nil
}

// validate checks args against the signature and returns them completed: optional arguments
// that were not supplied become undefined, '-' parameters take the context value, and array
// parameters wrap single values.
func (s *signature) validate(args []any, context any) ([]any, error) {
	sym := make([]byte, len(args))
	for i, a := range args {
		sym[i] = typeSymbol(a)
	}
	supplied := string(sym)
	loc := s.re.FindStringSubmatchIndex(supplied)
	if loc == nil {
		goodTo := 0
		for _, p := range s.partial {
			m := p.FindStringIndex(supplied)
			if m == nil {
				break
			}
			goodTo = m[1]
		}
		return nil, newError("T0410", withValue(argAt(args, goodTo)), withIndex(goodTo+1))
	}
	out := make([]any, 0, len(s.params))
	argIndex := 0
	for i, p := range s.params {
		m := supplied[loc[2*i+2]:loc[2*i+3]]
		if m == "" {
			if p.context && p.contextRe != nil {
				if !p.contextRe.MatchString(string(typeSymbol(context))) {
					return nil, newError("T0411", withValue(context), withIndex(argIndex+1))
				}
				out = append(out, context)
			} else {
				out = append(out, argAt(args, argIndex))
				argIndex++
			}
			continue
		}
		for j := 0; j < len(m); j++ {
			single := m[j]
			arg := argAt(args, argIndex)
			if p.typ == "a" {
				if single == 'm' {
					arg = nil
				} else {
					ok := true
					if p.subtype != "" {
						if single != 'a' && m != p.subtype {
							ok = false
						} else if single == 'a' {
							items := arg.(*array).items
							if len(items) > 0 {
								first := typeSymbol(items[0])
								if first != p.subtype[0] {
									ok = false
								} else {
									for _, it := range items {
										if typeSymbol(it) != first {
											ok = false
											break
										}
									}
								}
							}
						}
					}
					if !ok {
						e := newError("T0412", withValue(arg), withIndex(argIndex+1))
						e.typeName = arraySubtypeNames[p.subtype]
						return nil, e
					}
					if single != 'a' {
						arg = &array{items: []any{arg}}
					}
				}
			}
			out = append(out, arg)
			argIndex++
		}
	}
	return out, nil
}

func argAt(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return nil
}
