package path

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

// javaClass names the Java class Jayway sees for v, as its error messages quote it. The
// document root is a Jackson node; values read from inside it are unwrapped to plain Java
// values by JacksonJsonNodeJsonProvider, while objects and arrays stay Jackson nodes.
func javaClass(v jsonv.Value, root bool) string {
	const node = "com.fasterxml.jackson.databind.node."
	switch v := v.(type) {
	case nil:
		if root {
			return node + "NullNode"
		}
		return "null"
	case bool:
		if root {
			return node + "BooleanNode"
		}
		return "java.lang.Boolean"
	case string:
		if root {
			return node + "TextNode"
		}
		return "java.lang.String"
	case jsonv.Number:
		switch numberKind(v) {
		case javaInt:
			if root {
				return node + "IntNode"
			}
			return "java.lang.Integer"
		case javaLong:
			if root {
				return node + "LongNode"
			}
			return "java.lang.Long"
		case javaBigInteger:
			if root {
				return node + "BigIntegerNode"
			}
			return "java.math.BigInteger"
		}
		if root {
			return node + "DoubleNode"
		}
		return "java.lang.Double"
	case []jsonv.Value:
		return node + "ArrayNode"
	}
	return node + "ObjectNode"
}

// javaToString is Java's toString of the value Jayway holds: Jackson nodes print as compact
// JSON, unwrapped strings print raw.
func javaToString(v jsonv.Value, root bool) string {
	switch v := v.(type) {
	case string:
		if root {
			return jsonv.String(v)
		}
		return v
	case jsonv.Number:
		if numberKind(v) == javaDouble {
			return formatJavaDouble(v.Float64())
		}
		i, _ := new(big.Int).SetString(string(v), 10)
		return i.String()
	}
	return jsonv.String(v)
}

type javaNumber uint8

const (
	javaInt javaNumber = iota
	javaLong
	javaBigInteger
	javaDouble
)

// numberKind tells which Java type Jackson reads a JSON number as.
func numberKind(n jsonv.Number) javaNumber {
	if !n.IsInteger() {
		return javaDouble
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	switch {
	case err != nil:
		return javaBigInteger
	case i >= math.MinInt32 && i <= math.MaxInt32:
		return javaInt
	}
	return javaLong
}

// formatJavaDouble formats f as Java's Double.toString does (1.0, 0.001, 1.0E-4, 1.0E21), which is how
// AWS prints doubles it computed.
func formatJavaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // 1.2345E+21
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	exp = strings.TrimPrefix(exp, "+")
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(strings.TrimPrefix(exp, "-"), "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "E" + exp
}
