package glue

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValueType(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""}, {"  ", ""}, {"12", "bigint"}, {"-3", "bigint"}, {"99999999999999999999", "double"}, {"1.5", "double"},
		{"1e3", "double"}, {".5", "double"}, {"TRUE", "boolean"}, {"false", "boolean"}, {"2024-01-02", "date"},
		{"2024-01-02 03:04:05", "timestamp"}, {"2024-01-02T03:04:05.123Z", "timestamp"}, {"abc", "string"}, {"1,5", "string"},
		{"NaN", "string"}, {"Inf", "string"},
	} {
		if got := valueType(tt.in); got != tt.want {
			t.Errorf("valueType(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCSVSchema(t *testing.T) {
	for _, tt := range []struct {
		name, in, delim, cols string
		header                bool
		records               int64
	}{
		{"header", "a,b\n1,x\n2,y\n", ",", "a bigint, b string", true, 2},
		{"no header", "1,x\n2,y\n", ",", "col0 bigint, col1 string", false, 2},
		{"strings only", "a,b\nc,d\n", ",", "col0 string, col1 string", false, 2},
		{"pipe", "id|v\n1|2.5\n", "|", "id bigint, v double", true, 1},
		{"semicolon", "id;v\n1;true\n", ";", "id bigint, v boolean", true, 1},
		{"tab", "id\tv\n1\t2\n", "\t", "id bigint, v bigint", true, 1},
		{"quoted comma", "name,n\n\"a, b\",1\n", ",", "name string, n bigint", true, 1},
		{"widens", "n,m\n1,1\n2.5,x\n", ",", "n double, m string", true, 2},
		{"empty values", "n,m\n,1\n2,\n", ",", "n bigint, m bigint", true, 2},
		{"duplicate header", "a,A\n1,2\n", ",", "a bigint, a_1 bigint", true, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := csvSchema([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, c := range fs.Columns {
				parts = append(parts, c.Name+" "+c.Type)
			}
			if got := strings.Join(parts, ", "); got != tt.cols || fs.Delimiter != tt.delim || fs.Header != tt.header || fs.Records != tt.records {
				t.Errorf("got %s delim %q header %v records %d", got, fs.Delimiter, fs.Header, fs.Records)
			}
		})
	}
	for _, in := range []string{"", "one column\nonly\n", "a,b\n1,2,3\n"} {
		if _, err := csvSchema([]byte(in)); err == nil {
			t.Errorf("csvSchema(%q) classified a non-CSV", in)
		}
	}
}

func TestJSONSchema(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"lines", `{"a":1,"b":"x"}` + "\n" + `{"a":2.5,"c":[1,2]}`, "a double, b string, c array<int>"},
		{"array document", `[{"a":1},{"b":{"x":true}}]`, "a int, b struct<x:boolean>"},
		{"nested merge", `{"s":{"a":1}}` + "\n" + `{"s":{"b":"x","a":5000000000}}`, "s struct<a:bigint,b:string>"},
		{"nulls", `{"a":null}` + "\n" + `{"a":null,"b":[]}`, "a string, b array<string>"},
		{"mixed", `{"a":1}` + "\n" + `{"a":"x"}`, "a string"},
		{"keys lowercased", `{"Name":"x"}`, "name string"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := jsonSchema([]byte(tt.in), false)
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, c := range fs.Columns {
				parts = append(parts, c.Name+" "+c.Type)
			}
			if got := strings.Join(parts, ", "); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	// A sample cut inside its last record keeps the records before it.
	fs, err := jsonSchema([]byte(`{"a":1}`+"\n"+`{"a":2}`+"\n"+`{"a":`), true)
	if err != nil || fs.Records != 2 {
		t.Fatalf("truncated sample: %+v, %v", fs, err)
	}
	if _, err := jsonSchema([]byte(`{"a":`), false); err == nil {
		t.Error("broken JSON classified")
	}
}

func TestReadSampleCutsAtLine(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789\n"), sampleBytes/11+100)
	r := bytes.NewReader(data)
	raw, err := fill(r, nil, firstRead+1)
	if err != nil || len(raw) != firstRead+1 {
		t.Fatalf("first read of %d bytes, %v", len(raw), err)
	}
	if raw, err = fill(r, raw, sampleBytes+1); err != nil || !bytes.Equal(raw, data[:sampleBytes+1]) {
		t.Fatalf("second read does not go on from the first (%d bytes, %v)", len(raw), err)
	}
	s, truncated := cut(raw, sampleBytes)
	if !truncated || len(s) > sampleBytes || s[len(s)-1] != '\n' {
		t.Fatalf("sample of %d bytes, truncated %v", len(s), truncated)
	}
	if s, truncated := cut(data[:100], sampleBytes); truncated || len(s) != 100 {
		t.Fatalf("a short file's sample: %d bytes, truncated %v", len(s), truncated)
	}
}

func FuzzCSVSniff(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "x|y\n\"q\"\"\"|1\n", "1\t2\n3\t4", "a;b\n;\n", "\"unterminated,1\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := csvSchema(data)
		if err == nil && len(fs.Columns) < 2 {
			t.Fatalf("a CSV table of %d columns", len(fs.Columns))
		}
	})
}

func FuzzJSONSchema(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[{"a":[{"b":null}]}]`, `{"a":{"b":{"c":[1,2.5,"x"]}}}` + "\n" + `{"a":1}`, `{`, `[[[[`} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, truncated bool) {
		_, _ = jsonSchema(data, truncated)
		_, _ = classifyText(data, truncated)
	})
}

// A file larger than the sample gets a record count estimated from the bytes the sampled
// records took, compressed or not.
func TestRecordEstimate(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,name,amount\n")
	const rows = 200000
	for i := range rows {
		fmt.Fprintf(&b, "%d,name %d,%d.5\n", i, i%1000, i%777)
	}
	dir := t.TempDir()
	plain := filepath.Join(dir, "a.csv")
	if err := os.WriteFile(plain, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write([]byte(b.String()))
	w.Close()
	packed := filepath.Join(dir, "a.csv.gz")
	if err := os.WriteFile(packed, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{plain, packed} {
		fs, err := classifyFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if off := math.Abs(float64(fs.Estimate-rows)) / rows; off > 0.1 {
			t.Errorf("%s: estimate %d for %d rows", filepath.Base(p), fs.Estimate, rows)
		}
	}
}

// A CSV file's columns are typed from its first csvSampleRecords records, as Glue's CSV
// classifier reads the first 1,000 records (or the first megabyte, when they are longer): a
// value after them does not change a type, one among them does, however wide the rows.
func TestCSVTypesFromFirstRecords(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, rows, oddRow, pad int) string {
		var b strings.Builder
		b.WriteString("id,n,note\n")
		for i := range rows {
			n := fmt.Sprint(i)
			if i == oddRow {
				n = "x"
			}
			fmt.Fprintf(&b, "%d,%s,%s\n", i, n, strings.Repeat("p", pad))
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name              string
		rows, oddRow, pad int
		want              string
		exactRecordCount  bool
	}{
		{"after.csv", 50000, csvSampleRecords + 200, 10, "bigint", false},
		{"within.csv", 50000, csvSampleRecords - 100, 10, "string", false},
		// 1000 rows of 600 bytes are more than the first read: the classifier reads on.
		{"wide.csv", 3000, csvSampleRecords - 100, 600, "string", false},
		{"wide-after.csv", 3000, csvSampleRecords + 100, 600, "bigint", false},
		// A file within the first read is counted whole, beyond the records typed.
		{"small.csv", 5000, 4000, 1, "bigint", true},
	} {
		fs, err := classifyFile(write(c.name, c.rows, c.oddRow, c.pad))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := fs.Columns[1].Type; got != c.want || !fs.Header || fs.Columns[0].Type != "bigint" {
			t.Errorf("%s: columns %v (header %v), want n %s", c.name, fs.Columns, fs.Header, c.want)
		}
		if c.exactRecordCount && fs.Estimate != int64(c.rows) {
			t.Errorf("%s: record count %d, want %d", c.name, fs.Estimate, c.rows)
		}
		if off := math.Abs(float64(fs.Estimate-int64(c.rows))) / float64(c.rows); off > 0.1 {
			t.Errorf("%s: estimate %d for %d rows", c.name, fs.Estimate, c.rows)
		}
	}
}
