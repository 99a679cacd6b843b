package glue

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"
)

// sampleBytes is how much of a file (after decompression) a crawl reads to infer its schema:
// Glue's classifiers read the first megabyte.
const sampleBytes = 1 << 20

// csvSampleRecords is how many records of a CSV file type its columns: Glue's CSV classifier
// reads the first 1,000 records or the first megabyte, whichever comes first.
const csvSampleRecords = 1000

// firstRead is how much of a file is read first: enough for csvSampleRecords records of
// ordinary width, so that a CSV file is classified without reading its whole first megabyte.
const firstRead = 256 << 10

// Classifications, as the table parameter "classification" names them.
const (
	classCSV     = "csv"
	classJSON    = "json"
	classParquet = "parquet"
)

// fileSchema is what a classifier learnt from one file.
type fileSchema struct {
	Classification string
	Compression    string // none, gzip, bzip2; for Parquet, its codec
	Columns        []Column
	// CSV: the delimiter, and whether the first line is a header.
	Delimiter string
	Header    bool
	Quoted    bool
	// Records in the sample, and their bytes (decompressed); Exact when Records counts the
	// whole file (Parquet).
	Records     int64
	SampleBytes int64
	Exact       bool
	// Estimate is the file's record count: exact, or the sampled records scaled by the file's
	// size over the (compressed) bytes they took.
	Estimate int64
	// Complete: Records counts every record of the sample.
	Complete bool
}

var errUnclassified = errors.New("no built-in classifier recognises the file")

// classifyFile infers the schema of one file, reading at most its first sampleBytes (after
// decompression), except for Parquet, whose schema is in its footer.
func classifyFile(path string) (*fileSchema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	if n == 4 && string(magic[:]) == "PAR1" {
		return parquetSchema(f, st.Size())
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	// The decompressors read through counted byte by byte (it is an io.ByteReader), so that
	// its count is the compressed bytes they consumed, without a read-ahead of their own.
	counted := &countingReader{r: bufio.NewReaderSize(f, 64<<10)}
	var r io.Reader = counted
	compression := "none"
	switch {
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		gz, err := gzip.NewReader(counted)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		r, compression = gz, "gzip"
	case n >= 3 && string(magic[:3]) == "BZh":
		r, compression = bzip2.NewReader(counted), "bzip2"
	}
	raw, err := fill(r, nil, firstRead+1)
	if err != nil {
		return nil, err
	}
	sample, truncated := cut(raw, firstRead)
	fs, cerr := classifyText(sample, truncated)
	// An uncompressed CSV file whose first read holds csvSampleRecords records is classified;
	// anything else reads on to the megabyte: JSON, which Glue reads a megabyte of, longer rows,
	// and compressed files, whose first compressed bytes say too little of the ratio the
	// record count is scaled by.
	if truncated && (cerr != nil || fs.Classification != classCSV || fs.Records < csvSampleRecords || compression != "none") {
		if raw, err = fill(r, raw, sampleBytes+1); err != nil {
			return nil, err
		}
		sample, truncated = cut(raw, sampleBytes)
		fs, cerr = classifyText(sample, truncated)
	}
	if cerr != nil {
		return nil, cerr
	}
	fs.Compression = compression
	if fs.Classification == classCSV && !fs.Complete {
		// The types came from the first records; the count comes from every line read, a
		// cheaper scan than parsing them, and a sample less skewed by the file's start.
		lines := bytes.Count(sample, []byte{'\n'})
		if len(sample) > 0 && sample[len(sample)-1] != '\n' {
			lines++ // the file's last line, without its newline
		}
		fs.Records, fs.SampleBytes = int64(lines), int64(len(sample))
		if fs.Header {
			fs.Records--
			fs.SampleBytes -= int64(bytes.IndexByte(sample, '\n') + 1)
		}
		fs.Complete = !truncated
	}
	// The records' share of the file: the file bytes consumed for the decompressed bytes read
	// (all of the file when it ended within the sample), times the share of those the records
	// span.
	read := st.Size()
	if truncated {
		read = min(counted.n, st.Size())
	}
	switch {
	case !truncated && fs.Complete:
		fs.Estimate = fs.Records // the whole file was read and counted
	case fs.Records > 0 && fs.SampleBytes > 0 && len(raw) > 0:
		took := float64(read) * float64(fs.SampleBytes) / float64(len(raw))
		fs.Estimate = int64(float64(fs.Records) * float64(st.Size()) / max(took, 1))
	}
	return fs, nil
}

// countingReader counts the bytes read through it, by Read or ReadByte.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// fill reads from r onto buf until it holds n bytes or r ends.
func fill(r io.Reader, buf []byte, n int) ([]byte, error) {
	if cap(buf) < n {
		grown := make([]byte, len(buf), n)
		copy(grown, buf)
		buf = grown
	}
	m, err := io.ReadFull(r, buf[len(buf):n])
	buf = buf[:len(buf)+m]
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil
	}
	return buf, err
}

// cut is the sample of what was read, at most limit bytes: all of it when the file ended within
// limit, else what precedes its last full line, so that no record is half read (truncated).
func cut(raw []byte, limit int) (sample []byte, truncated bool) {
	if len(raw) <= limit {
		return raw, false
	}
	s := raw[:limit]
	if i := bytes.LastIndexByte(s, '\n'); i >= 0 {
		s = s[:i+1]
	}
	return s, true
}

// classifyText tries the JSON classifier, then the CSV one, as Glue orders its built-ins.
func classifyText(sample []byte, truncated bool) (*fileSchema, error) {
	trimmed := bytes.TrimLeft(sample, " \t\r\n\ufeff")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		if fs, err := jsonSchema(trimmed, truncated); err == nil {
			return fs, nil
		}
	}
	return csvSchema(sample)
}

// ---- CSV ----

// csvDelimiters are those Glue's CSV classifier recognises, in its order of preference.
var csvDelimiters = []rune{',', '|', '\t', ';'}

// maxSniffRows bounds the records of a JSON sample its schema is inferred from.
const maxSniffRows = 10000

// sniffRows is how many rows pick the delimiter; the chosen one then reads the sample.
const sniffRows = 50

// readRows reads up to limit non-empty rows split by d. ok is false when a row is malformed or
// has another number of columns than the first; offset is where the rows read end.
func readRows(sample []byte, d rune, limit int) (rows [][]string, offset int64, ok bool) {
	r := csv.NewReader(bytes.NewReader(sample))
	r.Comma, r.FieldsPerRecord, r.LazyQuotes = d, -1, true
	width := -1
	for len(rows) < limit {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rows, offset, false
		}
		if len(rec) == 1 && rec[0] == "" {
			continue
		}
		if width < 0 {
			width = len(rec)
		} else if len(rec) != width {
			return rows, offset, false
		}
		rows = append(rows, rec)
		offset = r.InputOffset()
	}
	return rows, offset, true
}

// sniffCSV picks the delimiter that splits the sample's first rows into the same number (more
// than one) of columns, preferring the one giving most columns, and returns the sample's rows
// (up to maxSniffRows, and those before a row that breaks the pattern) and the bytes they span.
func sniffCSV(sample []byte) (delim rune, rows [][]string, used int64, quoted, complete bool) {
	var best rune
	width := 0
	for _, d := range csvDelimiters {
		if !bytes.ContainsRune(sample, d) {
			continue
		}
		rows, _, ok := readRows(sample, d, sniffRows)
		if ok && len(rows) > 0 && len(rows[0]) > 1 && len(rows[0]) > width {
			best, width = d, len(rows[0])
		}
	}
	if width == 0 {
		return 0, nil, 0, false, false
	}
	// A header and csvSampleRecords records.
	rows, used, ok := readRows(sample, best, csvSampleRecords+1)
	return best, rows, used, bytes.IndexByte(sample[:used], '"') >= 0, ok && len(rows) < csvSampleRecords+1
}

// The value shapes Glue's CSV classifier types, matched by hand: they run on every value of a
// sample, where regular expressions cost most of a crawl.

func digits(v string) int {
	n := 0
	for n < len(v) && v[n] >= '0' && v[n] <= '9' {
		n++
	}
	return n
}

func unsigned(v string) string {
	if v != "" && (v[0] == '+' || v[0] == '-') {
		return v[1:]
	}
	return v
}

// isInt: [+-]digits.
func isInt(v string) bool {
	v = unsigned(v)
	return v != "" && digits(v) == len(v)
}

// isDouble: [+-](digits[.digits*] | .digits)([eE][+-]digits).
func isDouble(v string) bool {
	v = unsigned(v)
	n := digits(v)
	mant := n
	v = v[n:]
	if v != "" && v[0] == '.' {
		f := digits(v[1:])
		mant += f
		v = v[1+f:]
	}
	if mant == 0 {
		return false
	}
	if v != "" && (v[0] == 'e' || v[0] == 'E') {
		e := unsigned(v[1:])
		return e != "" && digits(e) == len(e)
	}
	return v == ""
}

// fixed reports whether v starts with digits and separators laid out as pattern ('9' a digit).
func fixed(v, pattern string) bool {
	if len(v) < len(pattern) {
		return false
	}
	for i := range len(pattern) {
		switch c := pattern[i]; {
		case c == '9':
			if v[i] < '0' || v[i] > '9' {
				return false
			}
		case c == 'T':
			if v[i] != 'T' && v[i] != ' ' {
				return false
			}
		case v[i] != c:
			return false
		}
	}
	return true
}

// isDate: yyyy-MM-dd.
func isDate(v string) bool { return len(v) == 10 && fixed(v, "9999-99-99") }

// isTimestamp: yyyy-MM-dd[ T]HH:mm:ss[.fraction][Z|±hh[:]mm].
func isTimestamp(v string) bool {
	if !fixed(v, "9999-99-99T99:99:99") {
		return false
	}
	v = v[19:]
	if v != "" && v[0] == '.' {
		f := digits(v[1:])
		if f < 1 || f > 9 {
			return false
		}
		v = v[1+f:]
	}
	switch {
	case v == "" || v == "Z":
		return true
	case v[0] == '+' || v[0] == '-':
		return fixed(v[1:], "99:99") && len(v) == 6 || fixed(v[1:], "9999") && len(v) == 5
	}
	return false
}

// valueType is the Hive type Glue's CSV classifier gives one value; "" for an empty value,
// which says nothing about its column.
func valueType(v string) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return ""
	case strings.EqualFold(v, "true") || strings.EqualFold(v, "false"):
		return "boolean"
	case isInt(v):
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return "bigint"
		}
		return "double"
	case isDouble(v):
		return "double"
	case isTimestamp(v):
		return "timestamp"
	case isDate(v):
		return "date"
	}
	return "string"
}

// widen merges two column types: numbers widen to double, anything else mixed is a string.
func widen(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "" || a == b:
		return a
	case numeric[a] > 0 && numeric[b] > 0:
		if numeric[a] > numeric[b] {
			return a
		}
		return b
	}
	return "string"
}

// numeric ranks the number types: mixing two gives the wider.
var numeric = map[string]int{"int": 1, "bigint": 2, "double": 3}

func csvSchema(sample []byte) (*fileSchema, error) {
	delim, rows, used, quoted, complete := sniffCSV(sample)
	if rows == nil {
		return nil, errUnclassified
	}
	width := len(rows[0])
	first := make([]string, width)
	allString := true
	for i, v := range rows[0] {
		if first[i] = valueType(v); first[i] != "string" {
			allString = false
		}
	}
	types := make([]string, width)
	laterNonString := false
	for _, row := range rows[1:] {
		for i, v := range row {
			t := valueType(v)
			if t != "" && t != "string" {
				laterNonString = true
			}
			types[i] = widen(types[i], t)
		}
	}
	// Glue's rule: the first row is a header when each of its columns is a string while some
	// column of the other rows is not; a file of strings only has no header.
	header := allString && laterNonString
	fs := &fileSchema{Classification: classCSV, Delimiter: string(delim), Header: header, Quoted: quoted, Complete: complete}
	data := rows
	if header {
		data = rows[1:]
	} else {
		for i := range types {
			types[i] = widen(first[i], types[i])
		}
	}
	seen := map[string]bool{}
	for i := range width {
		name := fmt.Sprintf("col%d", i)
		if header {
			if h := columnName(rows[0][i]); h != "" {
				name = h
			}
		}
		for seen[name] {
			name += fmt.Sprintf("_%d", i)
		}
		seen[name] = true
		t := types[i]
		if t == "" {
			t = "string"
		}
		fs.Columns = append(fs.Columns, Column{Name: name, Type: t})
	}
	fs.Records = int64(len(data))
	fs.SampleBytes = used
	if header {
		fs.SampleBytes -= int64(bytes.IndexByte(sample, '\n') + 1)
	}
	return fs, nil
}

// columnName is a header value as Glue names the column: trimmed and lowercased.
func columnName(h string) string {
	return strings.ToLower(strings.TrimSpace(strings.Trim(strings.TrimSpace(h), `"`)))
}

// ---- JSON ----

// jtype is a JSON value's Hive type: a primitive name, or a struct's ordered fields, or an
// array's element.
type jtype struct {
	prim   string // int, bigint, double, boolean, string; "" for struct/array/unknown (null)
	fields []jfield
	elem   *jtype
	isArr  bool
}

type jfield struct {
	name string
	t    *jtype
}

func (t *jtype) String() string {
	switch {
	case t == nil:
		return "string"
	case t.isArr:
		return "array<" + t.elem.String() + ">"
	case t.fields != nil:
		parts := make([]string, len(t.fields))
		for i, f := range t.fields {
			parts[i] = f.name + ":" + f.t.String()
		}
		return "struct<" + strings.Join(parts, ",") + ">"
	case t.prim == "":
		return "string"
	}
	return t.prim
}

// maxJSONDepth bounds how deep a schema follows nesting, so a pathological file cannot make
// the type strings (or the recursion) grow without bound.
const maxJSONDepth = 32

func typeOf(v any, depth int) *jtype {
	switch x := v.(type) {
	case nil:
		return nil
	case bool:
		return &jtype{prim: "boolean"}
	case string:
		return &jtype{prim: "string"}
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			if i >= math.MinInt32 && i <= math.MaxInt32 {
				return &jtype{prim: "int"}
			}
			return &jtype{prim: "bigint"}
		}
		return &jtype{prim: "double"}
	case []any:
		if depth >= maxJSONDepth {
			return &jtype{prim: "string"}
		}
		t := &jtype{isArr: true}
		for _, e := range x {
			t.elem = mergeJ(t.elem, typeOf(e, depth+1))
		}
		return t
	case *object:
		if depth >= maxJSONDepth {
			return &jtype{prim: "string"}
		}
		t := &jtype{fields: []jfield{}}
		for _, kv := range x.kvs {
			t = mergeJ(t, &jtype{fields: []jfield{{name: strings.ToLower(kv.k), t: typeOf(kv.v, depth+1)}}})
		}
		return t
	}
	return &jtype{prim: "string"}
}

// mergeJ merges two types seen for one column: structs merge field by field, arrays by element,
// numbers widen, and a null (nil) takes the other's type.
func mergeJ(a, b *jtype) *jtype {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.isArr && b.isArr:
		return &jtype{isArr: true, elem: mergeJ(a.elem, b.elem)}
	case a.fields != nil && b.fields != nil:
		out := &jtype{fields: append([]jfield(nil), a.fields...)}
		for _, f := range b.fields {
			found := false
			for i := range out.fields {
				if out.fields[i].name == f.name {
					out.fields[i].t = mergeJ(out.fields[i].t, f.t)
					found = true
					break
				}
			}
			if !found {
				out.fields = append(out.fields, f)
			}
		}
		return out
	case a.prim != "" && b.prim != "":
		return &jtype{prim: widen(a.prim, b.prim)}
	}
	return &jtype{prim: "string"}
}

// object is a decoded JSON object that keeps its keys' order, which becomes the columns' order.
type object struct {
	kvs []struct {
		k string
		v any
	}
}

// maxDecodeDepth bounds the nesting decodeValue follows, so that a sample of a megabyte of
// brackets cannot recurse a million frames deep.
const maxDecodeDepth = 512

// decodeValue reads one JSON value keeping object key order.
func decodeValue(d *json.Decoder, depth int) (any, error) {
	if depth > maxDecodeDepth {
		return nil, errors.New("JSON nested too deep")
	}
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				v, err := decodeValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				o.kvs = append(o.kvs, struct {
					k string
					v any
				}{k, v})
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			arr := []any{}
			for d.More() {
				v, err := decodeValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := d.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	}
	return tok, nil
}

// jsonSchema infers the columns of JSON Lines (or a file of one JSON document; a top-level
// array's elements are its records). A truncated sample's last record may be cut: records read
// before it count.
func jsonSchema(sample []byte, truncated bool) (*fileSchema, error) {
	d := json.NewDecoder(bytes.NewReader(sample))
	d.UseNumber()
	var rec *jtype
	var records, used int64
	complete := false
	for records < maxSniffRows {
		v, err := decodeValue(d, 0)
		if errors.Is(err, io.EOF) {
			complete = true
			break
		}
		if err != nil {
			if records > 0 && truncated {
				break
			}
			return nil, fmt.Errorf("not JSON: %w", err)
		}
		vals := []any{v}
		if arr, ok := v.([]any); ok && records == 0 {
			vals = arr
		}
		for _, x := range vals {
			o, ok := x.(*object)
			if !ok {
				return nil, errors.New("a JSON record is not an object")
			}
			rec = mergeJ(rec, typeOf(o, 0))
			records++
		}
		used = d.InputOffset()
	}
	if rec == nil || len(rec.fields) == 0 {
		return nil, errUnclassified
	}
	fs := &fileSchema{Classification: classJSON, Records: records, SampleBytes: used, Complete: complete}
	for _, f := range rec.fields {
		fs.Columns = append(fs.Columns, Column{Name: f.name, Type: f.t.String()})
	}
	return fs, nil
}

// ---- Parquet ----

// parquetSchema reads the schema and row count from a Parquet file's footer: no page is read.
func parquetSchema(f *os.File, size int64) (*fileSchema, error) {
	pf, err := parquet.OpenFile(f, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("parquet footer: %w", err)
	}
	fs := &fileSchema{Classification: classParquet, Compression: "none", Records: pf.NumRows(), Exact: true, SampleBytes: size, Estimate: pf.NumRows()}
	for _, field := range pf.Schema().Fields() {
		fs.Columns = append(fs.Columns, Column{Name: strings.ToLower(field.Name()), Type: parquetType(field, 0)})
	}
	if md := pf.Metadata(); len(md.RowGroups) > 0 && len(md.RowGroups[0].Columns) > 0 {
		if c := strings.ToLower(md.RowGroups[0].Columns[0].MetaData.Codec.String()); c != "uncompressed" {
			fs.Compression = c
		}
	}
	return fs, nil
}

// parquetType maps a Parquet field to the Hive type Glue gives it: lists become array<>, maps
// map<>, groups struct<>, and leaves by their logical type, else their physical type.
func parquetType(n parquet.Node, depth int) string {
	if depth > maxJSONDepth {
		return "string"
	}
	t := n.Type()
	if !n.Leaf() {
		lt := t.LogicalType()
		fields := n.Fields()
		switch {
		case lt != nil && isList(lt) && len(fields) == 1:
			inner := fields[0]
			if !inner.Leaf() && len(inner.Fields()) == 1 {
				return "array<" + parquetType(inner.Fields()[0], depth+1) + ">"
			}
			return "array<" + parquetType(inner, depth+1) + ">"
		case lt != nil && isMap(lt) && len(fields) == 1 && len(fields[0].Fields()) == 2:
			kv := fields[0].Fields()
			return "map<" + parquetType(kv[0], depth+1) + "," + parquetType(kv[1], depth+1) + ">"
		}
		parts := make([]string, len(fields))
		for i, f := range fields {
			parts[i] = strings.ToLower(f.Name()) + ":" + parquetType(f, depth+1)
		}
		s := "struct<" + strings.Join(parts, ",") + ">"
		if n.Repeated() {
			return "array<" + s + ">"
		}
		return s
	}
	s := leafType(t)
	if n.Repeated() {
		return "array<" + s + ">"
	}
	return s
}

func isList(lt *format.LogicalType) bool { _, ok := lt.Value.(*format.ListType); return ok }
func isMap(lt *format.LogicalType) bool  { _, ok := lt.Value.(*format.MapType); return ok }

func leafType(t parquet.Type) string {
	if lt := t.LogicalType(); lt != nil && lt.Value != nil {
		switch v := lt.Value.(type) {
		case *format.StringType, *format.EnumType, *format.JsonType, *format.UUIDType:
			return "string"
		case *format.DateType:
			return "date"
		case *format.TimestampType:
			return "timestamp"
		case *format.DecimalType:
			return fmt.Sprintf("decimal(%d,%d)", v.Precision, v.Scale)
		case *format.IntType:
			switch {
			case v.BitWidth <= 8:
				return "tinyint"
			case v.BitWidth <= 16:
				return "smallint"
			case v.BitWidth <= 32:
				return "int"
			}
			return "bigint"
		}
	}
	if ct := t.ConvertedType(); ct != nil {
		switch *ct {
		case deprecated.UTF8:
			return "string"
		case deprecated.Date:
			return "date"
		case deprecated.TimestampMillis, deprecated.TimestampMicros:
			return "timestamp"
		}
	}
	switch t.Kind() {
	case parquet.Boolean:
		return "boolean"
	case parquet.Int32:
		return "int"
	case parquet.Int64:
		return "bigint"
	case parquet.Int96:
		return "timestamp"
	case parquet.Float:
		return "float"
	case parquet.Double:
		return "double"
	}
	return "binary"
}
