package jsonata

import (
	"strings"
)

// signature is a parsed function signature such as <s-nn?:s>. Like the reference, it validates
// an argument list by writing one type letter per argument and matching that string against a
// pattern built from the signature (one character class per parameter, optionally with ? or +),
// which also tells which arguments were supplied. The patterns are simple enough for a small
// backtracking matcher with the same (greedy, leftmost) semantics as the reference's RegExp.
type signature struct {
	def    string
	params []*sigParam
}

type sigParam struct {
	// allowed lists the type letters the parameter accepts; 'm' (missing) means undefined is
	// accepted.
	allowed string
	// quant is 0 for exactly one argument, '?' for an optional one, '+' for one or more.
	quant   byte
	typ     string
	context bool
	// contextAllowed are the types the context value may have when it stands in for the
	// argument.
	contextAllowed string
	subtype        string
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
			param.allowed = string(sym) + "m"
			param.typ = string(sym)
			next()
		case 'a':
			param.allowed = "asnblfom"
			param.typ = "a"
			next()
		case 'f':
			param.allowed = "f"
			param.typ = "f"
			next()
		case 'j':
			param.allowed = "asnblom"
			param.typ = "j"
			next()
		case 'x':
			param.allowed = "asnblfom"
			param.typ = "x"
			next()
		case '-':
			if prev != nil {
				prev.context = true
				prev.contextAllowed = prev.allowed
				prev.quant = '?'
			}
		case '?', '+':
			if prev != nil && prev.quant == 0 {
				prev.quant = sym
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
			param.allowed = choice + "m"
			param.typ = "(" + choice + ")"
			pos = end
			next()
		case '<':
			if prev == nil || (prev.typ != "a" && prev.typ != "f") {
				typ := ""
				if prev != nil {
					typ = prev.typ
				}
				return nil, newError("S0401", withPos(pos), withValue(typ))
			}
			end := findClosing(pos, '<', '>')
			prev.subtype = sig[pos+1 : min(end, len(sig))]
			pos = end
		}
	}
	return &signature{def: sig, params: params}, nil
}

// match matches params[i:] against syms[pos:], filling spans with each parameter's
// [start, end) and returning the end of the match. With anchored set the match must consume
// all of syms.
func (s *signature) match(i, pos int, syms string, spans []int, anchored bool) (int, bool) {
	if i == len(s.params) {
		if anchored && pos != len(syms) {
			return 0, false
		}
		return pos, true
	}
	p := s.params[i]
	ok := func(at int) bool { return at < len(syms) && strings.IndexByte(p.allowed, syms[at]) >= 0 }
	try := func(n int) (int, bool) {
		spans[2*i], spans[2*i+1] = pos, pos+n
		return s.match(i+1, pos+n, syms, spans, anchored)
	}
	switch p.quant {
	case '?':
		if ok(pos) {
			if end, found := try(1); found {
				return end, true
			}
		}
		return try(0)
	case '+':
		n := 0
		for ok(pos + n) {
			n++
		}
		for ; n >= 1; n-- {
			if end, found := try(n); found {
				return end, true
			}
		}
		return 0, false
	}
	if !ok(pos) {
		return 0, false
	}
	return try(1)
}

// validate checks args against the signature and returns them completed: optional arguments
// that were not supplied become undefined, '-' parameters take the context value, and array
// parameters wrap single values.
func (s *signature) validate(args []any, context any) ([]any, error) {
	var buf [8]byte
	sym := buf[:0]
	for _, a := range args {
		sym = append(sym, typeSymbol(a))
	}
	supplied := string(sym)
	var spanBuf [16]int
	var spans []int
	if n := 2 * len(s.params); n > len(spanBuf) {
		spans = make([]int, n)
	} else {
		spans = spanBuf[:n]
	}
	if _, ok := s.match(0, 0, supplied, spans, true); !ok {
		// report the first argument that no prefix of the signature accepts
		goodTo := 0
		for k := 1; k <= len(s.params); k++ {
			prefix := &signature{params: s.params[:k]}
			end, ok := prefix.match(0, 0, supplied, spans, false)
			if !ok {
				break
			}
			goodTo = end
		}
		return nil, newError("T0410", withValue(argAt(args, goodTo)), withIndex(goodTo+1))
	}
	out := make([]any, 0, len(s.params))
	argIndex := 0
	for i, p := range s.params {
		m := supplied[spans[2*i]:spans[2*i+1]]
		if m == "" {
			if p.context {
				if strings.IndexByte(p.contextAllowed, typeSymbol(context)) < 0 {
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
					if !p.arrayItemsOK(single, m, arg) {
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

// arrayItemsOK checks an array parameter's element type (a<n>): like the reference, only the
// first letter of the subtype, and every item must have the type of the first.
func (p *sigParam) arrayItemsOK(single byte, m string, arg any) bool {
	if p.subtype == "" {
		return true
	}
	if single != 'a' {
		return m == p.subtype
	}
	items := arg.(*array).items
	if len(items) == 0 {
		return true
	}
	first := typeSymbol(items[0])
	if first != p.subtype[0] {
		return false
	}
	for _, it := range items {
		if typeSymbol(it) != first {
			return false
		}
	}
	return true
}

func argAt(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return nil
}
