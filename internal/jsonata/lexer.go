package jsonata

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

type tokenType int

const (
	tokEnd tokenType = iota
	tokOperator
	tokString
	tokNumber
	tokName
	tokVariable
	tokValue // true, false, null
	tokRegex
)

type token struct {
	typ tokenType
	// value is the operator, name, variable name or string text.
	value string
	num   float64
	lit   any // true, false or null for tokValue
	re    *regexLiteral
	pos   int // byte offset just past the token, as the reference reports positions
}

// operatorChars are the characters that end a name; single-character operators among them are
// returned as operator tokens.
const operatorChars = ".[]{}(),@#;:?+-*/%|=<>^&!~"

func isOperatorChar(c byte) bool { return strings.IndexByte(operatorChars, c) >= 0 }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v'
}

type lexer struct {
	src string
	pos int
}

// next returns the next token. infix is true where an operator is expected, which is where a
// '/' means division rather than the start of a regular expression.
func (l *lexer) next(infix bool) (token, error) {
	src := l.src
	for l.pos < len(src) && isSpace(src[l.pos]) {
		l.pos++
	}
	if l.pos >= len(src) {
		return token{typ: tokEnd, pos: len(src)}, nil
	}
	c := src[l.pos]
	if c == '/' && l.pos+1 < len(src) && src[l.pos+1] == '*' {
		start := l.pos
		end := strings.Index(src[l.pos+2:], "*/")
		if end < 0 {
			return token{}, newError("S0106", withPos(start))
		}
		l.pos += 2 + end + 2
		return l.next(infix)
	}
	if !infix && c == '/' {
		l.pos++
		re, err := l.scanRegex()
		if err != nil {
			return token{}, err
		}
		return token{typ: tokRegex, re: re, pos: l.pos}, nil
	}
	if l.pos+1 < len(src) {
		two := src[l.pos : l.pos+2]
		switch two {
		case "..", ":=", "!=", ">=", "<=", "**", "~>", "??", "?:":
			l.pos += 2
			return token{typ: tokOperator, value: two, pos: l.pos}, nil
		}
	}
	if isOperatorChar(c) {
		l.pos++
		return token{typ: tokOperator, value: string(c), pos: l.pos}, nil
	}
	if c == '"' || c == '\'' {
		return l.scanString(c)
	}
	if c >= '0' && c <= '9' {
		return l.scanNumber()
	}
	if c == '`' {
		end := strings.IndexByte(src[l.pos+1:], '`')
		if end < 0 {
			l.pos = len(src)
			return token{}, newError("S0105", withPos(l.pos))
		}
		name := src[l.pos+1 : l.pos+1+end]
		l.pos += end + 2
		return token{typ: tokName, value: name, pos: l.pos}, nil
	}
	i := l.pos
	for i < len(src) && !isSpace(src[i]) && !isOperatorChar(src[i]) {
		i++
	}
	word := src[l.pos:i]
	l.pos = i
	if word[0] == '$' {
		return token{typ: tokVariable, value: word[1:], pos: i}, nil
	}
	switch word {
	case "or", "in", "and":
		return token{typ: tokOperator, value: word, pos: i}, nil
	case "true":
		return token{typ: tokValue, lit: true, value: word, pos: i}, nil
	case "false":
		return token{typ: tokValue, lit: false, value: word, pos: i}, nil
	case "null":
		return token{typ: tokValue, lit: null, value: word, pos: i}, nil
	}
	return token{typ: tokName, value: word, pos: i}, nil
}

func (l *lexer) scanNumber() (token, error) {
	src := l.src
	i := l.pos
	if src[i] == '0' {
		i++
	} else {
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
	}
	if i+1 < len(src) && src[i] == '.' && src[i+1] >= '0' && src[i+1] <= '9' {
		i++
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < len(src) && src[j] >= '0' && src[j] <= '9' {
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			i = j
		}
	}
	text := src[l.pos:i]
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return token{}, newError("S0102", withPos(l.pos), withToken(text))
	}
	l.pos = i
	return token{typ: tokNumber, num: f, value: text, pos: i}, nil
}

func (l *lexer) scanString(quote byte) (token, error) {
	src := l.src
	l.pos++
	var sb strings.Builder
	start := l.pos
	for l.pos < len(src) {
		c := src[l.pos]
		switch {
		case c == quote:
			sb.WriteString(src[start:l.pos])
			l.pos++
			return token{typ: tokString, value: sb.String(), pos: l.pos}, nil
		case c == '\\':
			sb.WriteString(src[start:l.pos])
			l.pos++
			if l.pos >= len(src) {
				return token{}, newError("S0103", withPos(l.pos), withToken(""))
			}
			e := src[l.pos]
			switch e {
			case '"', '\\', '/':
				sb.WriteByte(e)
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case 'u':
				r, ok := hex4(src, l.pos+1)
				if !ok {
					return token{}, newError("S0104", withPos(l.pos))
				}
				l.pos += 4
				// A high surrogate followed by an escaped low surrogate is one character, as
				// in JavaScript's UTF-16 strings.
				if utf16.IsSurrogate(r) {
					if l.pos+6 < len(src) && src[l.pos+1] == '\\' && src[l.pos+2] == 'u' {
						if lo, ok := hex4(src, l.pos+3); ok {
							if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
								r = d
								l.pos += 6
							}
						}
					}
				}
				if utf16.IsSurrogate(r) {
					// A lone surrogate has no UTF-8 form. Keep it as its WTF-8 bytes, so that
					// functions that must reject it (such as $encodeUrl) can tell.
					sb.WriteByte(byte(0xE0 | r>>12))
					sb.WriteByte(byte(0x80 | (r>>6)&0x3F))
					sb.WriteByte(byte(0x80 | r&0x3F))
				} else {
					sb.WriteRune(r)
				}
			default:
				_, size := utf8.DecodeRuneInString(src[l.pos:])
				return token{}, newError("S0103", withPos(l.pos), withToken(src[l.pos:l.pos+size]))
			}
			l.pos++
			start = l.pos
		default:
			l.pos++
		}
	}
	return token{}, newError("S0101", withPos(l.pos))
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// scanRegex reads a regular expression literal after its opening '/'.
func (l *lexer) scanRegex() (*regexLiteral, error) {
	src := l.src
	start := l.pos
	depth := 0
	for l.pos < len(src) {
		c := src[l.pos]
		if c == '/' && depth == 0 {
			backslashes := 0
			for j := l.pos - 1; j >= start && src[j] == '\\'; j-- {
				backslashes++
			}
			if backslashes%2 == 0 {
				pattern := src[start:l.pos]
				if pattern == "" {
					return nil, newError("S0301", withPos(l.pos))
				}
				l.pos++
				fstart := l.pos
				for l.pos < len(src) && (src[l.pos] == 'i' || src[l.pos] == 'm') {
					l.pos++
				}
				re, err := compileRegex(pattern, src[fstart:l.pos])
				if err != nil {
					return nil, newError("S0303", withPos(start), withValue(pattern))
				}
				return re, nil
			}
		}
		escaped := l.pos > 0 && src[l.pos-1] == '\\'
		switch c {
		case '(', '[', '{':
			if !escaped {
				depth++
			}
		case ')', ']', '}':
			if !escaped {
				depth--
			}
		}
		l.pos++
	}
	return nil, newError("S0302", withPos(l.pos))
}
