package jsonata

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stepline/stepline/internal/jsonv"
)

// toString is the reference's $string cast for one value (undefined becomes "").
func toString(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case *lambda, *builtin:
		return "", nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", newError("D3001", withValue(x))
		}
	}
	var sb strings.Builder
	if err := writeJSON(&sb, v, false, true, 0); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// stringify is JSON.stringify, for messages: it never fails.
func stringify(v any, pretty, round bool) string {
	if v == nil {
		return "undefined"
	}
	var sb strings.Builder
	if err := writeJSON(&sb, v, pretty, round, 0); err != nil {
		return ""
	}
	return sb.String()
}

// writeJSON writes v as JSON.stringify does, with the replacer $string uses when round is set:
// numbers to 15 significant digits, functions as "".
func writeJSON(sb *strings.Builder, v any, pretty, round bool, indent int) error {
	if indent > jsonv.MaxDepth {
		return errTooDeep
	}
	switch x := v.(type) {
	case nil, nullType:
		sb.WriteString("null")
	case bool:
		if x {
			sb.WriteString("true")
		} else {
			sb.WriteString("false")
		}
	case float64:
		if round {
			if _, _, err := isNumber(x); err != nil {
				return err
			}
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			sb.WriteString("null")
			return nil
		}
		if round {
			x = toPrecision15(x)
		}
		sb.WriteString(formatNumber(x))
	case jsonv.Number:
		return writeJSON(sb, x.Float64(), pretty, round, indent)
	case string:
		writeJSONString(sb, x)
	case *lambda, *builtin:
		sb.WriteString(`""`)
	case []any:
		return writeJSON(sb, norm(x), pretty, round, indent)
	case *array:
		if len(x.items) == 0 {
			sb.WriteString("[]")
			return nil
		}
		sb.WriteByte('[')
		for i, e := range x.items {
			if i > 0 {
				sb.WriteByte(',')
			}
			newline(sb, pretty, indent+1)
			if err := writeJSON(sb, e, pretty, round, indent+1); err != nil {
				return err
			}
		}
		newline(sb, pretty, indent)
		sb.WriteByte(']')
	case *jsonv.Object:
		if x.Len() == 0 {
			sb.WriteString("{}")
			return nil
		}
		sb.WriteByte('{')
		for i, m := range x.Members() {
			if i > 0 {
				sb.WriteByte(',')
			}
			newline(sb, pretty, indent+1)
			writeJSONString(sb, m.Key)
			sb.WriteByte(':')
			if pretty {
				sb.WriteByte(' ')
			}
			if err := writeJSON(sb, norm(m.Value), pretty, round, indent+1); err != nil {
				return err
			}
		}
		newline(sb, pretty, indent)
		sb.WriteByte('}')
	}
	return nil
}

func newline(sb *strings.Builder, pretty bool, indent int) {
	if pretty {
		sb.WriteByte('\n')
		for i := 0; i < indent; i++ {
			sb.WriteString("  ")
		}
	}
}

func writeJSONString(sb *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	sb.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size > 1 {
				i += size - 1
				continue
			}
			// a lone surrogate (kept as WTF-8) is escaped as JSON.stringify escapes it;
			// other invalid bytes become U+FFFD
			sb.WriteString(s[start:i])
			if i+2 < len(s) && c == 0xED && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2]&0xC0 == 0x80 {
				u := 0xD000 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F)
				sb.WriteString(`\u`)
				sb.WriteString(strconv.FormatInt(int64(u), 16))
				i += 2
			} else {
				sb.WriteString("\uFFFD")
			}
			start = i + 1
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		sb.WriteString(s[start:i])
		switch c {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		default:
			sb.WriteString(`\u00`)
			sb.WriteByte(hex[c>>4])
			sb.WriteByte(hex[c&0xF])
		}
		start = i + 1
	}
	sb.WriteString(s[start:])
	sb.WriteByte('"')
}
