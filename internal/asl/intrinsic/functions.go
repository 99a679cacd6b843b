package intrinsic

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/stepline/stepline/internal/asl/path"
	"github.com/stepline/stepline/internal/jsonv"
)

type function struct {
	name     string
	min, max int // argument count; max -1 for any number
	eval     func(c *Call, args []jsonv.Value, s path.Scope) (jsonv.Value, *failure)
}

func (f *function) arity() string {
	switch {
	case f.max < 0:
		return strconv.Itoa(f.min) + " or more arguments"
	case f.min == f.max && f.min == 1:
		return "1 argument"
	case f.min == f.max:
		return strconv.Itoa(f.min) + " arguments"
	}
	return strconv.Itoa(f.min) + " to " + strconv.Itoa(f.max) + " arguments"
}

var functions = map[string]*function{}

func init() {
	for _, f := range []*function{
		{"States.Format", 1, -1, format},
		{"States.StringToJson", 1, 1, stringToJSON},
		{"States.JsonToString", 1, 1, func(_ *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
			return jsonv.String(a[0]), nil
		}},
		{"States.Array", 0, -1, func(_ *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
			return a, nil
		}},
		{"States.ArrayPartition", 2, 2, arrayPartition},
		{"States.ArrayContains", 2, 2, arrayContains},
		{"States.ArrayRange", 3, 3, arrayRange},
		{"States.ArrayGetItem", 2, 2, arrayGetItem},
		{"States.ArrayLength", 1, 1, arrayLength},
		{"States.ArrayUnique", 1, 1, arrayUnique},
		{"States.Base64Encode", 1, 1, base64Encode},
		{"States.Base64Decode", 1, 1, base64Decode},
		{"States.Hash", 2, 2, hashFunc},
		{"States.JsonMerge", 3, 3, jsonMerge},
		{"States.MathRandom", 2, 3, mathRandom},
		{"States.MathAdd", 2, 2, mathAdd},
		{"States.StringSplit", 2, 2, stringSplit},
		{"States.UUID", 0, 0, uuid},
	} {
		functions[f.name] = f
	}
}

// maxStringLength is AWS's limit on the input of States.Hash, Base64Encode and Base64Decode,
// counted in Java chars (UTF-16 units).
const maxStringLength = 10000

// maxRangeLength is AWS's limit on the array States.ArrayRange builds.
const maxRangeLength = 1000

func typeError(c *Call, i int, want string, got jsonv.Value) *failure {
	return fail("Invalid argument %d of %s: expected %s, got %s %s", i+1, c.fn.name, want, jsonv.TypeName(got), jsonv.String(got))
}

func stringArg(c *Call, a []jsonv.Value, i int) (string, *failure) {
	s, ok := a[i].(string)
	if !ok {
		return "", typeError(c, i, "a string", a[i])
	}
	return s, nil
}

func arrayArg(c *Call, a []jsonv.Value, i int) ([]jsonv.Value, *failure) {
	arr, ok := a[i].([]jsonv.Value)
	if !ok {
		return nil, typeError(c, i, "an array", a[i])
	}
	return arr, nil
}

// intArg reads an integer argument. AWS rounds a number with a fraction to the nearest integer
// the way Java's Math.round does (halves up: 1.5 → 2, -1.5 → -1), as the recorded MathAdd
// results show.
func intArg(c *Call, a []jsonv.Value, i int) (int64, *failure) {
	n, ok := a[i].(jsonv.Number)
	if !ok {
		return 0, typeError(c, i, "a number", a[i])
	}
	if n.IsInteger() {
		if v, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return v, nil
		}
	}
	return javaRound(n.Float64()), nil
}

// javaRound is Java's Math.round(double): the closest long, halves rounded up, NaN to 0 and
// values beyond the long range saturated.
func javaRound(x float64) int64 {
	switch {
	case math.IsNaN(x):
		return 0
	case x >= math.MaxInt64:
		return math.MaxInt64
	case x <= math.MinInt64:
		return math.MinInt64
	}
	r := math.Floor(x)
	if x-r >= 0.5 {
		r++
	}
	return int64(r)
}

func format(c *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
	segs := c.template
	if segs == nil {
		tmpl, f := stringArg(c, a, 0)
		if f != nil {
			return nil, f
		}
		segs = splitTemplate(tmpl)
	}
	if len(segs) != len(a) {
		return nil, fail("Number of arguments does not match the number of placeholders in the format string: %d arguments for %d placeholders", len(a)-1, len(segs)-1)
	}
	n := 0
	for _, seg := range segs {
		n += len(seg)
	}
	var b strings.Builder
	b.Grow(n + 16*len(a))
	for i, seg := range segs {
		b.WriteString(seg)
		if i+1 < len(a) {
			appendFormatted(&b, a[i+1])
		}
	}
	return b.String(), nil
}

// splitTemplate cuts a States.Format template at its {} placeholders, resolving the escapes
// \{, \}, \' and \\ so that an escaped brace is never a placeholder. A literal template is
// split as written, once, when the call is parsed; a template from a path is its value, where
// AWS honours the same escapes.
func splitTemplate(tmpl string) []string {
	var segs []string
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		switch ch := tmpl[i]; {
		case ch == '\\' && i+1 < len(tmpl) && strings.IndexByte(`'{}\`, tmpl[i+1]) >= 0:
			i++
			b.WriteByte(tmpl[i])
		case ch == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
			i++
			segs = append(segs, b.String())
			b.Reset()
		default:
			b.WriteByte(ch)
		}
	}
	return append(segs, b.String())
}

// appendFormatted writes v as States.Format does, which is Java's toString of the value:
// strings bare, objects as {key=value, …} and arrays as [a, b], at any depth.
func appendFormatted(b *strings.Builder, v jsonv.Value) {
	switch v := v.(type) {
	case string:
		b.WriteString(v)
	case []jsonv.Value:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			appendFormatted(b, e)
		}
		b.WriteByte(']')
	case *jsonv.Object:
		b.WriteByte('{')
		for i, m := range v.Members() {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(m.Key)
			b.WriteByte('=')
			appendFormatted(b, m.Value)
		}
		b.WriteByte('}')
	default:
		b.WriteString(jsonv.String(v))
	}
}

func stringToJSON(c *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
	s, f := stringArg(c, a, 0)
	if f != nil {
		return nil, f
	}
	// AWS answers null for an empty or blank string, as Jackson's readTree does.
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	v, err := jsonv.ParseString(s)
	if err != nil {
		return nil, fail("The string %q is not valid JSON: %v", s, err)
	}
	return normalizeIntegers(v), nil
}

// normalizeIntegers rewrites -0 as 0: Jackson reads integers as Java ints and longs, which have
// no negative zero.
func normalizeIntegers(v jsonv.Value) jsonv.Value {
	switch v := v.(type) {
	case jsonv.Number:
		if v == "-0" {
			return jsonv.Number("0")
		}
	case []jsonv.Value:
		for i, e := range v {
			v[i] = normalizeIntegers(e)
		}
	case *jsonv.Object:
		for _, m := range v.Members() {
			if n, ok := m.Value.(jsonv.Number); ok && n == "-0" {
				v.Set(m.Key, jsonv.Number("0"))
			} else {
				normalizeIntegers(m.Value)
			}
		}
	}
	return v
}

func arrayPartition(c *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
	arr, f := arrayArg(c, a, 0)
	if f != nil {
		return nil, f
	}
	size, f := intArg(c, a, 1)
	if f != nil {
		return nil, f
	}
	if size <= 0 {
		return nil, fail("Invalid argument 2 of %s: the chunk size must be greater than 0, got %d", c.fn.name, size)
	}
	out := make([]jsonv.Value, 0, (int64(len(arr))+size-1)/size)
	for len(arr) > 0 {
		n := int(min(size, int64(len(arr))))
		out = append(out, arr[:n:n])
		arr = arr[n:]
	}
	return out, nil
}

func arrayContains(c *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
	arr, f := arrayArg(c, a, 0)
	if f != nil {
		return nil, f
	}
	for _, e := range arr {
		if jsonv.Equal(e, a[1]) {
			return true, nil
		}
	}
	return false, nil
}

func arrayRange(c *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
	var bounds [3]int64
	for i := range bounds {
		v, f := intArg(c, a, i)
		if f != nil {
			return nil, f
		}
		bounds[i] = v
	}
	start, end, step := bounds[0], bounds[1], bounds[2]
	if step == 0 {
		return nil, fail("Invalid argument 3 of %s: the step must not be 0", c.fn.name)
	}
	// The count in big integers: start, end and step may be anywhere in the long range.
	count := new(big.Int).Sub(big.NewInt(end), big.NewInt(start))
	count.Quo(count, big.NewInt(step))
	if count.Sign() < 0 {
		return []jsonv.Value{}, nil
	}
	count.Add(count, big.NewInt(1))
	if !count.IsInt64() || count.Int64() > maxRangeLength {
		return nil, fail("%s cannot create an array of more than %d elements", c.fn.name, maxRangeLength)
	}
	out := make([]jsonv.Value, count.Int64())
	for i := range out {
		out[i] = jsonv.Int(start + int64(i)*step)
	}
	return out, nil
}

func arrayGetItem(c *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
	arr, f := arrayArg(c, a, 0)
	if f != nil {
		return nil, f
	}
	i, f := intArg(c, a, 1)
	if f != nil {
		return nil, f
	}
	if i < 0 || i >= int64(len(arr)) {
		return nil, fail("Invalid argument 2 of %s: index %d is out of bounds for an array of length %d", c.fn.name, i, len(arr))
	}
	return arr[i], nil
}

func arrayLength(c *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
	arr, f := arrayArg(c, a, 0)
	if f != nil {
		return nil, f
	}
	return jsonv.Int(int64(len(arr))), nil
}

func arrayUnique(c *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
	arr, f := arrayArg(c, a, 0)
	if f != nil {
		return nil, f
	}
	out := make([]jsonv.Value, 0, len(arr))
next:
	for _, e := range arr {
		for _, seen := range out {
			if jsonv.Equal(e, seen) {
				continue next
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func javaLength(s string) int { return len(utf16.Encode([]rune(s))) }

func limitedString(c *Call, a []jsonv.Value, i int) (string, *failure) {
	s, f := stringArg(c, a, i)
	if f != nil {
		return "", f
	}
	if javaLength(s) > maxStringLength {
		return "", fail("Invalid argument %d of %s: the string is longer than %d characters", i+1, c.fn.name, maxStringLength)
	}
	return s, nil
}

func base64Encode(c *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
	s, f := limitedString(c, a, 0)
	if f != nil {
		return nil, f
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

// base64Decode decodes like Java's Base64 basic decoder: padding optional, but correct when
// present; the bytes are read as UTF-8 with malformed sequences replaced.
func base64Decode(c *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
	s, f := limitedString(c, a, 0)
	if f != nil {
		return nil, f
	}
	enc := base64.RawStdEncoding
	if strings.HasSuffix(s, "=") {
		enc = base64.StdEncoding
	}
	// Go skips line breaks in base64; Java's basic decoder rejects them.
	b, err := enc.DecodeString(s)
	if err != nil || strings.ContainsAny(s, "\r\n") {
		return nil, fail("Invalid argument 1 of %s: %q is not valid base64", c.fn.name, s)
	}
	return strings.ToValidUTF8(string(b), string(utf8.RuneError)), nil
}

var hashes = map[string]func() hash.Hash{
	"MD5": md5.New, "SHA-1": sha1.New, "SHA-256": sha256.New, "SHA-384": sha512.New384, "SHA-512": sha512.New,
}

func hashFunc(c *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
	s, f := limitedString(c, a, 0)
	if f != nil {
		return nil, f
	}
	alg, f := stringArg(c, a, 1)
	if f != nil {
		return nil, f
	}
	sum, ok := Hash(s, alg)
	if !ok {
		return nil, fail("Invalid argument 2 of %s: unsupported algorithm %q; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512", c.fn.name, alg)
	}
	return sum, nil
}

// Hash returns the hex digest of s with alg (MD5, SHA-1, SHA-256, SHA-384 or SHA-512), the
// algorithms States.Hash and JSONata's $hash accept; ok is false for any other.
func Hash(s, alg string) (sum string, ok bool) {
	newHash, ok := hashes[alg]
	if !ok {
		return "", false
	}
	h := newHash()
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil)), true
}

// jsonMerge is a shallow merge: the first object's members in order, with the second's values
// replacing them, then the second's other members. AWS supports only the shallow mode.
func jsonMerge(c *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
	var objs [2]*jsonv.Object
	for i := range objs {
		o, ok := a[i].(*jsonv.Object)
		if !ok {
			return nil, typeError(c, i, "an object", a[i])
		}
		objs[i] = o
	}
	deep, ok := a[2].(bool)
	if !ok {
		return nil, typeError(c, 2, "a boolean", a[2])
	}
	if deep {
		return nil, fail("Invalid argument 3 of %s: only the shallow merge (false) is supported", c.fn.name)
	}
	out := jsonv.NewObject(objs[0].Len() + objs[1].Len())
	for _, o := range objs {
		for _, m := range o.Members() {
			out.Set(m.Key, m.Value)
		}
	}
	return out, nil
}

func mathAdd(c *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
	x, f := intArg(c, a, 0)
	if f != nil {
		return nil, f
	}
	y, f := intArg(c, a, 1)
	if f != nil {
		return nil, f
	}
	return jsonv.Int(x + y), nil
}

// mathRandom returns an integer in [start, end). With a seed it is java.util.Random's
// new Random(seed).nextInt(end - start) + start, so seeded results match AWS's.
func mathRandom(c *Call, a []jsonv.Value, s path.Scope) (jsonv.Value, *failure) {
	start, f := intArg(c, a, 0)
	if f != nil {
		return nil, f
	}
	end, f := intArg(c, a, 1)
	if f != nil {
		return nil, f
	}
	bound := end - start
	if bound <= 0 || bound > math.MaxInt32 || start < math.MinInt32 || end > math.MaxInt32 {
		return nil, fail("Invalid arguments of %s: the start %d must be less than the end %d, both within the 32-bit integer range", c.fn.name, start, end)
	}
	var seed int64
	if len(a) == 3 {
		if seed, f = intArg(c, a, 2); f != nil {
			return nil, f
		}
	} else {
		var b [8]byte
		readRandom(s, b[:])
		seed = int64(binary.LittleEndian.Uint64(b[:]))
	}
	return jsonv.Int(start + int64(newJavaRandom(seed).nextInt(int32(bound)))), nil
}

func stringSplit(c *Call, a []jsonv.Value, _ path.Scope) (jsonv.Value, *failure) {
	s, f := stringArg(c, a, 0)
	if f != nil {
		return nil, f
	}
	delims, f := stringArg(c, a, 1)
	if f != nil {
		return nil, f
	}
	// Java's StringTokenizer: every character of the second argument delimits, and empty
	// tokens are dropped (",,a," gives ["a"]).
	out := []jsonv.Value{}
	for tok := range strings.FieldsFuncSeq(s, func(r rune) bool { return strings.ContainsRune(delims, r) }) {
		out = append(out, tok)
	}
	return out, nil
}

func uuid(_ *Call, _ []jsonv.Value, s path.Scope) (jsonv.Value, *failure) {
	return UUID(s), nil
}

// UUID returns a version 4 UUID made of the scope's randomness (see Entropy), as States.UUID and
// JSONata's $uuid do.
func UUID(s path.Scope) string {
	var b [16]byte
	readRandom(s, b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// RandomFloat returns a number in [0, 1) made of the scope's randomness (see Entropy), for
// JSONata's $random() without a seed.
func RandomFloat(s path.Scope) float64 {
	var b [8]byte
	readRandom(s, b[:])
	return float64(binary.LittleEndian.Uint64(b[:])>>11) / (1 << 53)
}
