package jsonv

import (
	"fmt"
	"unicode/utf8"
)

// String returns the compact JSON text of v, as AWS writes state outputs: no spaces, keys in
// order, numbers as written, and only the characters JSON requires escaped (Jackson's rules:
// '"', '\\' and control characters; '<', '>', '&' and non-ASCII stay as they are).
func String(v Value) string { return string(Append(nil, v)) }

// Append appends the compact JSON text of v to buf.
func Append(buf []byte, v Value) []byte {
	switch v := v.(type) {
	case nil:
		return append(buf, "null"...)
	case bool:
		if v {
			return append(buf, "true"...)
		}
		return append(buf, "false"...)
	case Number:
		return append(buf, v...)
	case string:
		return AppendString(buf, v)
	case []Value:
		buf = append(buf, '[')
		for i, e := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = Append(buf, e)
		}
		return append(buf, ']')
	case *Object:
		buf = append(buf, '{')
		for i, m := range v.Members() {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = AppendString(buf, m.Key)
			buf = append(buf, ':')
			buf = Append(buf, m.Value)
		}
		return append(buf, '}')
	}
	panic(fmt.Sprintf("jsonv: %T is not a JSON value", v))
}

const hexDigits = "0123456789ABCDEF"

// AppendString appends s as a quoted JSON string.
func AppendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			if c < utf8.RuneSelf {
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				buf = append(buf, s[start:i]...)
				buf = append(buf, "\uFFFD"...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\f':
			buf = append(buf, '\\', 'f')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// Same reports whether a and b are the very same object or array (not merely equal ones).
func Same(a, b Value) bool {
	switch a := a.(type) {
	case *Object:
		bo, ok := b.(*Object)
		return ok && a == bo
	case []Value:
		ba, ok := b.([]Value)
		return ok && len(a) == len(ba) && cap(a) == cap(ba) && (len(a) == 0 || &a[0] == &ba[0])
	}
	return false
}

// AppendKeeping is Append, except that where the object or array orig itself is v, or an element
// of arrays that make up v, its original text is written instead. AWS passes an execution's
// input on as the text it was given until a state changes it, so spacing in that text survives
// into later inputs and into the result arrays of Parallel and Map; objects built by templates
// or ResultPath hold a parsed copy, written compactly.
func AppendKeeping(buf []byte, v, orig Value, origText string) []byte {
	if Same(v, orig) {
		return append(buf, origText...)
	}
	switch v := v.(type) {
	case []Value:
		buf = append(buf, '[')
		for i, e := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = AppendKeeping(buf, e, orig, origText)
		}
		return append(buf, ']')
	}
	return Append(buf, v)
}
