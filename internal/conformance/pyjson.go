package conformance

import (
	"unicode/utf16"

	"github.com/stepline/stepline/internal/jsonv"
)

// pyDumps writes v as Python's json.dumps(v) does with its defaults: ", " and ": " separators and
// every character outside printable ASCII escaped. The corpus's regex replacements ran over that
// text, so a pattern matches here exactly where it matched when the corpus was made.
//
// Numbers keep their written form, where Python would print its float's repr (1.50 as 1.5): no
// replacement pattern in the corpus can match inside a number, and the text is parsed back anyway.
func pyDumps(v jsonv.Value) string { return string(appendPy(nil, v)) }

func appendPy(buf []byte, v jsonv.Value) []byte {
	switch v := v.(type) {
	case string:
		return appendPyString(buf, v)
	case []jsonv.Value:
		buf = append(buf, '[')
		for i, e := range v {
			if i > 0 {
				buf = append(buf, ", "...)
			}
			buf = appendPy(buf, e)
		}
		return append(buf, ']')
	case *jsonv.Object:
		buf = append(buf, '{')
		for i, m := range v.Members() {
			if i > 0 {
				buf = append(buf, ", "...)
			}
			buf = appendPyString(buf, m.Key)
			buf = append(buf, ": "...)
			buf = appendPy(buf, m.Value)
		}
		return append(buf, '}')
	}
	return jsonv.Append(buf, v)
}

const lowerHex = "0123456789abcdef"

// appendPyString follows Python's ensure_ascii encoder: short escapes for the usual five
// controls, \u00XX (lower-case hex) for everything else outside ' '..'~' (DEL included), and
// surrogate pairs above the BMP.
func appendPyString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			buf = append(buf, '\\', byte(r))
		case r == '\n':
			buf = append(buf, `\n`...)
		case r == '\r':
			buf = append(buf, `\r`...)
		case r == '\t':
			buf = append(buf, `\t`...)
		case r == '\b':
			buf = append(buf, `\b`...)
		case r == '\f':
			buf = append(buf, `\f`...)
		case r >= ' ' && r <= '~':
			buf = append(buf, byte(r))
		case r > 0xFFFF:
			hi, lo := utf16.EncodeRune(r)
			buf = appendU4(appendU4(buf, hi), lo)
		default:
			buf = appendU4(buf, r)
		}
	}
	return append(buf, '"')
}

func appendU4(buf []byte, r rune) []byte {
	return append(buf, '\\', 'u', lowerHex[r>>12&0xF], lowerHex[r>>8&0xF], lowerHex[r>>4&0xF], lowerHex[r&0xF])
}
