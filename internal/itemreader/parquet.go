package itemreader

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"

	"github.com/stepline/stepline/internal/jsonv"
)

// A Parquet row is a flat list of leaf values, each with its repetition and definition levels
// (Dremel's encoding); an item is the row put back together as JSON following the schema: a
// group is an object of its fields in schema order, a LIST an array, a MAP an object, a
// repeated field an array, a missing optional field null. Leaf values are typed by their
// logical type: timestamps are epoch milliseconds, as AWS gives them; decimals are exact
// numbers, dates "YYYY-MM-DD" and UUIDs their text, which no recording of AWS's settles.

// readParquet reads a Parquet object's rows as items, from the cursor's row on.
func readParquet(ctx context.Context, objs Objects, bucket, key string, c *chunk) (done bool, err error) {
	defer func() {
		// The Parquet library panics on some corrupt files (slice bounds out of range): the
		// object is unreadable, which the Map reports, and the server goes on.
		if p := recover(); p != nil {
			done, err = false, failf("The Parquet object %s could not be read: %v", key, p)
		}
	}()
	size, err := objs.Size(ctx, bucket, key)
	if err != nil {
		return false, err
	}
	ra := &objectReaderAt{ctx: ctx, objs: objs, bucket: bucket, key: key}
	if err := checkFooter(ra, size); err != nil {
		return false, failf("The Parquet object %s could not be read: %v", key, err)
	}
	f, err := parquet.OpenFile(ra, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return false, failf("The Parquet object %s could not be read: %v", key, err)
	}
	if c.cur.Row >= f.NumRows() {
		return true, nil
	}
	schema := f.Schema()
	r := parquet.NewReader(f)
	defer r.Close()
	if err := r.SeekToRow(c.cur.Row); err != nil {
		return false, failf("The Parquet object %s could not be read: %v", key, err)
	}
	rows := make([]parquet.Row, 64)
	cols := make([][]parquet.Value, leaves(schema))
	var item []byte
	for !c.full() && !c.exhausted() {
		want := min(len(rows), c.lim.Items-c.n)
		if c.max > 0 {
			want = min(want, int(c.max-c.cur.Count))
		}
		n, err := r.ReadRows(rows[:want])
		for _, row := range rows[:n] {
			for i := range cols {
				cols[i] = cols[i][:0]
			}
			for _, v := range row {
				if col := v.Column(); col >= 0 && col < len(cols) {
					cols[col] = append(cols[col], v)
				}
			}
			var ok bool
			if item, ok = appendGroup(item[:0], schema, 0, 0, cols); !ok {
				return false, failf("The Parquet object %s could not be read: row %d does not match its schema", key, c.cur.Row)
			}
			c.add(item)
			c.cur.Row++
		}
		if err == io.EOF || c.cur.Row >= f.NumRows() {
			return true, nil
		}
		if err != nil {
			return false, failf("The Parquet object %s could not be read: %v", key, err)
		}
	}
	return false, nil
}

// objectReaderAt reads an object by ranges, for Parquet's footer-first layout.
type objectReaderAt struct {
	ctx         context.Context
	objs        Objects
	bucket, key string
}

func (o *objectReaderAt) ReadAt(p []byte, off int64) (int, error) {
	return o.objs.ReadAt(o.ctx, o.bucket, o.key, p, off)
}

// leaves counts the leaf columns below n.
func leaves(n parquet.Node) int {
	if n.Leaf() {
		return 1
	}
	k := 0
	for _, f := range n.Fields() {
		k += leaves(f)
	}
	return k
}

// appendField appends the value of field n, occurring once in its parent, whose definition
// and repetition levels are def and rep; cols are the values of n's leaf columns within the
// parent's occurrence. ok is false for values that do not match the schema.
func appendField(b []byte, n parquet.Node, def, rep int, cols [][]parquet.Value) ([]byte, bool) {
	if len(cols) == 0 || len(cols[0]) == 0 {
		return b, false
	}
	if n.Repeated() {
		// A repeated field without a LIST annotation (the legacy form) is an array.
		b = append(b, '[')
		ok := eachOccurrence(n, def, rep, cols, func(def, rep int, inst [][]parquet.Value) bool {
			if b[len(b)-1] != '[' {
				b = append(b, ',')
			}
			var ok bool
			b, ok = appendValue(b, n, def, rep, inst)
			return ok
		})
		return append(b, ']'), ok
	}
	if n.Optional() {
		def++
		if cols[0][0].DefinitionLevel() < def {
			return append(b, "null"...), true
		}
	}
	return appendValue(b, n, def, rep, cols)
}

// eachOccurrence calls f for each occurrence of the repeated field n in cols (none when the
// first value is not defined that deep: an empty list), with the occurrence's levels.
func eachOccurrence(n parquet.Node, def, rep int, cols [][]parquet.Value, f func(def, rep int, inst [][]parquet.Value) bool) bool {
	def++
	rep++
	if cols[0][0].DefinitionLevel() < def {
		return true
	}
	// An occurrence starts at each value repeated at n's level; values repeated deeper belong
	// to the occurrence before them. Every column has the same occurrences.
	starts := make([][]int, len(cols))
	for i, col := range cols {
		for j, v := range col {
			if j == 0 || v.RepetitionLevel() <= rep {
				starts[i] = append(starts[i], j)
			}
		}
		if len(starts[i]) != len(starts[0]) {
			return false
		}
	}
	inst := make([][]parquet.Value, len(cols))
	for k := range starts[0] {
		for i, col := range cols {
			end := len(col)
			if k+1 < len(starts[i]) {
				end = starts[i][k+1]
			}
			inst[i] = col[starts[i][k]:end]
		}
		if !f(def, rep, inst) {
			return false
		}
	}
	return true
}

// appendValue appends the value of n, present, with levels def and rep.
func appendValue(b []byte, n parquet.Node, def, rep int, cols [][]parquet.Value) ([]byte, bool) {
	if n.Leaf() {
		return appendLeaf(b, n, cols[0][0]), true
	}
	switch {
	case isList(n):
		return appendList(b, n, def, rep, cols)
	case isMap(n):
		return appendMap(b, n, def, rep, cols)
	}
	return appendGroup(b, n, def, rep, cols)
}

// appendGroup appends a group as an object of its fields, in schema order.
func appendGroup(b []byte, n parquet.Node, def, rep int, cols [][]parquet.Value) ([]byte, bool) {
	b = append(b, '{')
	at := 0
	for i, f := range n.Fields() {
		k := leaves(f)
		if at+k > len(cols) {
			return b, false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonv.AppendString(b, f.Name())
		b = append(b, ':')
		var ok bool
		if b, ok = appendField(b, f, def, rep, cols[at:at+k]); !ok {
			return b, false
		}
		at += k
	}
	return append(b, '}'), true
}

// appendList appends a LIST: its repeated field's occurrences, each the element it wraps
// (LIST { repeated group list { element } }), or itself in the legacy forms that wrap none.
func appendList(b []byte, n parquet.Node, def, rep int, cols [][]parquet.Value) ([]byte, bool) {
	r := n.Fields()[0]
	elem := r
	if !r.Leaf() && len(r.Fields()) == 1 && r.Name() != "array" && !strings.HasSuffix(r.Name(), "_tuple") {
		elem = r.Fields()[0]
	}
	b = append(b, '[')
	ok := eachOccurrence(r, def, rep, cols, func(def, rep int, inst [][]parquet.Value) bool {
		if b[len(b)-1] != '[' {
			b = append(b, ',')
		}
		var ok bool
		if elem == r {
			b, ok = appendValue(b, r, def, rep, inst)
		} else {
			b, ok = appendField(b, elem, def, rep, inst)
		}
		return ok
	})
	return append(b, ']'), ok
}

// appendMap appends a MAP (MAP { repeated group key_value { key; value } }) as an object;
// keys that are not strings are written as their JSON text.
func appendMap(b []byte, n parquet.Node, def, rep int, cols [][]parquet.Value) ([]byte, bool) {
	kv := n.Fields()[0]
	if kv.Leaf() || len(kv.Fields()) != 2 {
		return b, false
	}
	key, val := kv.Fields()[0], kv.Fields()[1]
	nk := leaves(key)
	b = append(b, '{')
	ok := eachOccurrence(kv, def, rep, cols, func(def, rep int, inst [][]parquet.Value) bool {
		if nk > len(inst) {
			return false
		}
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		k, ok := appendField(nil, key, def, rep, inst[:nk])
		if !ok {
			return false
		}
		if len(k) > 0 && k[0] == '"' {
			b = append(b, k...)
		} else {
			b = jsonv.AppendString(b, string(k))
		}
		b = append(b, ':')
		b, ok = appendField(b, val, def, rep, inst[nk:])
		return ok
	})
	return append(b, '}'), ok
}

func isList(n parquet.Node) bool {
	if lt := n.Type().LogicalType(); lt != nil {
		if _, ok := lt.Value.(*format.ListType); ok {
			return len(n.Fields()) == 1 && n.Fields()[0].Repeated()
		}
	}
	ct := n.Type().ConvertedType()
	return ct != nil && *ct == deprecated.List && len(n.Fields()) == 1 && n.Fields()[0].Repeated()
}

func isMap(n parquet.Node) bool {
	if lt := n.Type().LogicalType(); lt != nil {
		if _, ok := lt.Value.(*format.MapType); ok {
			return len(n.Fields()) == 1 && n.Fields()[0].Repeated()
		}
	}
	ct := n.Type().ConvertedType()
	return ct != nil && (*ct == deprecated.Map || *ct == deprecated.MapKeyValue) && len(n.Fields()) == 1 && n.Fields()[0].Repeated()
}

// epochJulianDay is the Julian day of 1970-01-01, which INT96 timestamps count from.
const epochJulianDay = 2440588

// appendLeaf appends a leaf value, typed by its logical type.
func appendLeaf(b []byte, n parquet.Node, v parquet.Value) []byte {
	if v.IsNull() {
		return append(b, "null"...)
	}
	t := n.Type()
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	switch lt := lt.(type) {
	case *format.TimestampType:
		return strconv.AppendInt(b, toMillis(v.Int64(), &lt.Unit), 10)
	case *format.TimeType:
		if v.Kind() == parquet.Int32 {
			return strconv.AppendInt(b, int64(v.Int32()), 10)
		}
		return strconv.AppendInt(b, toMillis(v.Int64(), &lt.Unit), 10)
	case *format.DateType:
		d := time.Unix(int64(v.Int32())*86400, 0).UTC()
		return jsonv.AppendString(b, d.Format(time.DateOnly))
	case *format.DecimalType:
		return appendDecimal(b, v, int(lt.Scale))
	case *format.UUIDType:
		if u, err := uuid.FromBytes(v.ByteArray()); err == nil {
			return jsonv.AppendString(b, u.String())
		}
	case *format.IntType:
		if !lt.IsSigned {
			switch v.Kind() {
			case parquet.Int32:
				return strconv.AppendUint(b, uint64(v.Uint32()), 10)
			case parquet.Int64:
				return strconv.AppendUint(b, v.Uint64(), 10)
			}
		}
	}
	if ct := t.ConvertedType(); ct != nil && lt == nil {
		switch *ct {
		case deprecated.TimestampMillis:
			return strconv.AppendInt(b, v.Int64(), 10)
		case deprecated.TimestampMicros:
			return strconv.AppendInt(b, v.Int64()/1000, 10)
		case deprecated.Date:
			return jsonv.AppendString(b, time.Unix(int64(v.Int32())*86400, 0).UTC().Format(time.DateOnly))
		}
	}
	switch v.Kind() {
	case parquet.Boolean:
		return strconv.AppendBool(b, v.Boolean())
	case parquet.Int32:
		return strconv.AppendInt(b, int64(v.Int32()), 10)
	case parquet.Int64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case parquet.Int96:
		// The legacy timestamp: nanoseconds of the day, then the Julian day.
		i := v.Int96()
		nanos := int64(i[1])<<32 | int64(i[0])
		return strconv.AppendInt(b, (int64(i[2])-epochJulianDay)*86400000+nanos/1e6, 10)
	case parquet.Float:
		return appendFloat(b, float64(v.Float()), 32)
	case parquet.Double:
		return appendFloat(b, v.Double(), 64)
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return jsonv.AppendString(b, string(v.ByteArray()))
	}
	return jsonv.AppendString(b, v.String())
}

// toMillis converts a count of unit to milliseconds.
func toMillis(x int64, unit *format.TimeUnit) int64 {
	switch unit.Value.(type) {
	case *format.MicroSeconds:
		return x / 1e3
	case *format.NanoSeconds:
		return x / 1e6
	}
	return x
}

// appendDecimal appends a DECIMAL as a JSON number: its unscaled integer (INT32, INT64, or a
// big-endian two's complement byte array) divided by 10^scale, exactly.
func appendDecimal(b []byte, v parquet.Value, scale int) []byte {
	var u big.Int
	switch v.Kind() {
	case parquet.Int32:
		u.SetInt64(int64(v.Int32()))
	case parquet.Int64:
		u.SetInt64(v.Int64())
	default:
		raw := v.ByteArray()
		u.SetBytes(raw)
		if len(raw) > 0 && raw[0]&0x80 != 0 {
			u.Sub(&u, new(big.Int).Lsh(big.NewInt(1), uint(8*len(raw))))
		}
	}
	s := u.String()
	if scale <= 0 {
		return append(b, s...)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	if neg {
		b = append(b, '-')
	}
	b = append(b, s[:len(s)-scale]...)
	return append(append(b, '.'), s[len(s)-scale:]...)
}

func appendFloat(b []byte, f float64, bits int) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

// checkFooter reads the footer of a Parquet object of size bytes (its metadata, Thrift's
// compact encoding) and refuses one whose lists, maps or strings claim more elements or bytes
// than the footer holds. The Parquet library trusts those counts and would allocate, or loop,
// for billions of elements on a corrupt footer of a few bytes.
func checkFooter(ra io.ReaderAt, size int64) error {
	if size < 12 {
		return errors.New("too short to be Parquet")
	}
	var tail [8]byte
	if _, err := ra.ReadAt(tail[:], size-8); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if string(tail[4:]) != "PAR1" || n > size-12 {
		return errors.New("no Parquet footer")
	}
	footer := make([]byte, n)
	if _, err := ra.ReadAt(footer, size-8-n); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	w := &thriftWalker{b: footer}
	if !w.value(thriftStruct, 0) {
		return errors.New("its footer is corrupt")
	}
	return nil
}

// Thrift compact types.
const (
	thriftTrue   = 1
	thriftFalse  = 2
	thriftByte   = 3
	thriftI16    = 4
	thriftI32    = 5
	thriftI64    = 6
	thriftDouble = 7
	thriftBinary = 8
	thriftList   = 9
	thriftSet    = 10
	thriftMap    = 11
	thriftStruct = 12
)

// thriftWalker walks a Thrift compact value without decoding it, checking every count
// against the bytes left.
type thriftWalker struct {
	b   []byte
	off int
}

func (w *thriftWalker) left() int { return len(w.b) - w.off }

func (w *thriftWalker) byte() (byte, bool) {
	if w.off >= len(w.b) {
		return 0, false
	}
	w.off++
	return w.b[w.off-1], true
}

func (w *thriftWalker) varint() (uint64, bool) {
	x, n := binary.Uvarint(w.b[w.off:])
	if n <= 0 {
		return 0, false
	}
	w.off += n
	return x, true
}

// value walks one value of type t at nesting depth.
func (w *thriftWalker) value(t byte, depth int) bool {
	if depth > 64 {
		return false
	}
	switch t {
	case thriftTrue, thriftFalse: // a struct field's boolean is its type
		return true
	case thriftByte:
		_, ok := w.byte()
		return ok
	case thriftI16, thriftI32, thriftI64:
		_, ok := w.varint()
		return ok
	case thriftDouble:
		if w.left() < 8 {
			return false
		}
		w.off += 8
		return true
	case thriftBinary:
		n, ok := w.varint()
		if !ok || n > uint64(w.left()) {
			return false
		}
		w.off += int(n)
		return true
	case thriftList, thriftSet:
		h, ok := w.byte()
		if !ok {
			return false
		}
		n, elem := uint64(h>>4), h&0x0f
		if n == 15 {
			if n, ok = w.varint(); !ok {
				return false
			}
		}
		if n > uint64(w.left()) { // every element takes a byte at least
			return false
		}
		for range n {
			if !w.element(elem, depth) {
				return false
			}
		}
		return true
	case thriftMap:
		n, ok := w.varint()
		if !ok || n > uint64(w.left())/2 {
			return false
		}
		if n == 0 {
			return true
		}
		kv, ok := w.byte()
		if !ok {
			return false
		}
		for range n {
			if !w.element(kv>>4, depth) || !w.element(kv&0x0f, depth) {
				return false
			}
		}
		return true
	case thriftStruct:
		for {
			h, ok := w.byte()
			if !ok {
				return false
			}
			if h == 0 {
				return true
			}
			if h>>4 == 0 { // a field id of its own, zigzag varint
				if _, ok := w.varint(); !ok {
					return false
				}
			}
			if !w.value(h&0x0f, depth+1) {
				return false
			}
		}
	}
	return false
}

// element walks an element of a list, set or map, where a boolean takes a byte of its own.
func (w *thriftWalker) element(t byte, depth int) bool {
	if t == thriftTrue || t == thriftFalse {
		_, ok := w.byte()
		return ok
	}
	return w.value(t, depth+1)
}
