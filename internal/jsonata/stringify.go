package jsonata

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stepline/stepline/internal/jsonv"
)

// errTooLong stops writeJSON once its output passes the limit it was given.
var errTooLong = errors.New("jsonata: JSON text too long")

// toString is the reference's $string cast for one value (undefined becomes ""). The text of
// an array or object is charged to b; a value that repeats one array many times over can be
// small to hold and huge to write, so writing stops once the text passes what b has left.
func toString(v any, b *budget) (string, error) {
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
	return jsonText(v, false, b)
}

// jsonText writes v as $string does, charging the text to b.
func jsonText(v any, pretty bool, b *budget) (string, error) {
	limit := math.MaxInt
	if b != nil && b.max > 0 {
		limit = int(max(b.max-b.used, 0))
	}
	left := limit
	var sb strings.Builder
	if err := writeJSON(&sb, v, pretty, true, 0, &left); err != nil {
		if errors.Is(err, errTooLong) {
			return "", b.exceeded()
		}
		return "", err
	}
	if err := b.alloc(int64(limit - left + sb.Len())); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// maxMessageValue bounds the JSON text of a value quoted in an error message.
const maxMessageValue = 1 << 20

// stringify is JSON.stringify, for messages: it never fails. A value whose text would pass
// maxMessageValue is cut short.
func stringify(v any, pretty, round bool) string {
	if v == nil {
		return "undefined"
	}
	var sb strings.Builder
	left := maxMessageValue
	if err := writeJSON(&sb, v, pretty, round, 0, &left); err != nil {
		if errors.Is(err, errTooLong) {
			return sb.String()[:min(sb.Len(), maxMessageValue)] + "…"
		}
		return ""
	}
	return sb.String()
}

// writeJSON writes v as JSON.stringify does, with the replacer $string uses when round is set:
// numbers to 15 significant digits, functions as "". It fails with errTooLong once the text
// passes *limit bytes; each array item and object member written takes slotBytes off *limit,
// so that the work of writing a value that holds another many times over is bounded too.
func writeJSON(sb *strings.Builder, v any, pretty, round bool, indent int, limit *int) error {
	if indent > jsonv.MaxDepth {
		return errTooDeep
	}
	*limit -= slotBytes
	if sb.Len() > *limit {
		return errTooLong
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
		return writeJSON(sb, x.Float64(), pretty, round, indent, limit)
	case string:
		if sb.Len()+len(x) > *limit {
			return errTooLong
		}
		writeJSONString(sb, x)
	case *lambda, *builtin:
		sb.WriteString(`""`)
	case []any:
		return writeJSON(sb, norm(x), pretty, round, indent, limit)
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
			if err := writeJSON(sb, e, pretty, round, indent+1, limit); err != nil {
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
			if err := writeJSON(sb, norm(m.Value), pretty, round, indent+1, limit); err != nil {
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
