package itemreader

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/stepline/stepline/internal/jsonv"
)

// memObjects is Objects over a map, for tests of the formats alone.
type memObjects map[string][]byte // "bucket/key" → body

func (m memObjects) Get(_ context.Context, bucket, key string, offset int64) (io.ReadCloser, error) {
	b, ok := m[bucket+"/"+key]
	if !ok {
		return nil, fmt.Errorf("no such key %s", key)
	}
	return io.NopCloser(bytes.NewReader(b[offset:])), nil
}

func (m memObjects) ReadAt(_ context.Context, bucket, key string, p []byte, off int64) (int, error) {
	return bytes.NewReader(m[bucket+"/"+key]).ReadAt(p, off)
}

func (m memObjects) Size(_ context.Context, bucket, key string) (int64, error) {
	return int64(len(m[bucket+"/"+key])), nil
}

func (m memObjects) List(_ context.Context, bucket, prefix, after string, max int) ([]Object, bool, error) {
	var keys []string
	for k := range m {
		b, key, _ := strings.Cut(k, "/")
		if b == bucket && strings.HasPrefix(key, prefix) && key > after {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	more := len(keys) > max
	if more {
		keys = keys[:max]
	}
	var out []Object
	for _, k := range keys {
		out = append(out, Object{Key: k, ETag: `"e"`, Size: int64(len(m[bucket+"/"+k])), LastModified: time.Unix(1700000000, 0)})
	}
	return out, more, nil
}

// readAll reads every item a chunk of at most n items at a time, each Read starting from the
// cursor the last one returned, as the Map does across steps.
func readAll(t *testing.T, objs Objects, s Spec, n int) []any {
	t.Helper()
	var all []any
	var cur Cursor
	for range 10000 {
		// The cursor travels as JSON in the execution's snapshot.
		b, _ := json.Marshal(cur)
		cur = Cursor{}
		if err := json.Unmarshal(b, &cur); err != nil {
			t.Fatal(err)
		}
		c, err := Read(context.Background(), objs, s, cur, Limits{Items: n})
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		var items []any
		if err := json.Unmarshal(c.Items, &items); err != nil {
			t.Fatalf("chunk %s: %v", c.Items, err)
		}
		if len(items) != c.Count || len(items) > n {
			t.Fatalf("chunk of %d items says %d (limit %d)", len(items), c.Count, n)
		}
		all = append(all, items...)
		if c.Done {
			return all
		}
		cur = c.Next
	}
	t.Fatal("the reader never ended")
	return nil
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestFormatsChunked(t *testing.T) {
	csvBody := "Col1,Col2,Col3\nValue1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n"
	objs := memObjects{
		"b/file.csv":   []byte(csvBody),
		"b/pipe.csv":   []byte("a|b\n1|\"x|y\"\n"),
		"b/file.json":  []byte(` [ {"a": 1, "b": [1, 2]} , "two",3.50 ,null, [ ] ] `),
		"b/file.jsonl": []byte("{\"a\":1}\n\n  [2]\n\"three\""),
		"b/obj.json":   []byte(`{"Hello": "world"}`),
	}
	want := `[{"Col1":"Value1","Col2":"Value2","Col3":"Value3"},{"Col1":"Value4","Col2":"Value5","Col3":"Value6"},{"Col1":"","Col2":"","Col3":""},{"Col1":"true","Col2":"1","Col3":"'HelloWorld'"},{"Col1":"Null","Col2":"None","Col3":""},{"Col1":"   ","Col2":"","Col3":""}]`
	jsonWant := `[{"a":1,"b":[1,2]},"two",3.5,null,[]]`
	cases := []struct {
		name string
		spec Spec
		want string
	}{
		{"csv first row", Spec{Resource: ResourceGetObject, Bucket: "b", Key: "file.csv", InputType: "CSV", HeaderLocation: "FIRST_ROW"}, want},
		{"csv max items", Spec{Resource: ResourceGetObject, Bucket: "b", Key: "file.csv", InputType: "CSV", MaxItems: 2}, `[{"Col1":"Value1","Col2":"Value2","Col3":"Value3"},{"Col1":"Value4","Col2":"Value5","Col3":"Value6"}]`},
		{"csv given, extra fields dropped", Spec{Resource: ResourceGetObject, Bucket: "b", Key: "pipe.csv", InputType: "CSV", HeaderLocation: "GIVEN", Headers: []string{"H"}, Delimiter: "PIPE"}, `[{"H":"a"},{"H":"1"}]`},
		{"csv pipe, quoted", Spec{Resource: ResourceGetObject, Bucket: "b", Key: "pipe.csv", InputType: "CSV", Delimiter: "PIPE"}, `[{"a":"1","b":"x|y"}]`},
		{"json", Spec{Resource: ResourceGetObject, Bucket: "b", Key: "file.json", InputType: "JSON"}, jsonWant},
		{"jsonl", Spec{Resource: ResourceGetObject, Bucket: "b", Key: "file.jsonl", InputType: "JSONL"}, `[{"a":1},[2],"three"]`},
		{"list", Spec{Resource: ResourceListObjectsV2, Bucket: "b", Prefix: "file.j"}, `[{"Etag":"\"e\"","Key":"file.json","LastModified":1700000000,"Size":51,"StorageClass":"STANDARD"},{"Etag":"\"e\"","Key":"file.jsonl","LastModified":1700000000,"Size":22,"StorageClass":"STANDARD"}]`},
		{"list, load and flatten", Spec{Resource: ResourceListObjectsV2, Bucket: "b", Prefix: "file.j", InputType: "JSON", Transformation: "LOAD_AND_FLATTEN"}, ""},
	}
	for _, tc := range cases {
		for _, n := range []int{1, 2, 1000} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, n), func(t *testing.T) {
				if tc.want == "" {
					// file.jsonl is no JSON array: LOAD_AND_FLATTEN reads every object as InputType.
					_, err := Read(context.Background(), objs, tc.spec, Cursor{}, Limits{Items: 100})
					if err == nil || err.Error() != nonIterable {
						t.Fatalf("err = %v, want %q", err, nonIterable)
					}
					return
				}
				if got := js(readAll(t, objs, tc.spec, n)); got != tc.want {
					t.Fatalf("got  %s\nwant %s", got, tc.want)
				}
			})
		}
	}
	// A listing's items keep AWS's member order, which the maps above do not show.
	c, err := Read(context.Background(), objs, Spec{Resource: ResourceListObjectsV2, Bucket: "b", Prefix: "obj"}, Cursor{}, Limits{})
	if err != nil || string(c.Items) != `[{"Etag":"\"e\"","LastModified":1700000000,"Key":"obj.json","Size":18,"StorageClass":"STANDARD"}]` || !c.Done {
		t.Fatalf("listing: %s, %v", c.Items, err)
	}
	for _, tc := range []struct {
		spec  Spec
		cause string
	}{
		{Spec{Resource: ResourceGetObject, Bucket: "b", Key: "obj.json", InputType: "JSON"}, nonIterable},
		{Spec{Resource: ResourceGetObject, Bucket: "b", Key: "file.csv", InputType: "CSV", HeaderLocation: "GIVEN", Headers: []string{"H1", "H1"}}, "CSV headers cannot contain duplicates."},
	} {
		_, err := Read(context.Background(), objs, tc.spec, Cursor{}, Limits{})
		if e, ok := err.(*Error); !ok || e.Cause != tc.cause {
			t.Errorf("%s: err = %v, want %q", tc.spec.Key, err, tc.cause)
		}
	}
}

func TestManifestAndParquet(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("src,a.txt,3\nsrc,b.txt,4\n"))
	zw.Close()
	type row struct {
		ID    int64   `parquet:"id"`
		Name  string  `parquet:"name"`
		Score float64 `parquet:"score"`
		OK    bool    `parquet:"ok"`
	}
	var pq bytes.Buffer
	w := parquet.NewGenericWriter[row](&pq)
	var rows []row
	for i := range 150 {
		rows = append(rows, row{ID: int64(i), Name: fmt.Sprint("n", i), Score: float64(i) / 2, OK: i%2 == 0})
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	objs := memObjects{
		"b/inv/manifest.json": []byte(`{"sourceBucket":"src","destinationBucket":"arn:aws:s3:::d","fileFormat":"CSV","fileSchema":"Bucket, Key, Size","files":[{"key":"inv/data/1.csv.gz"},{"key":"inv/data/2.csv"}]}`),
		"d/inv/data/1.csv.gz": gz.Bytes(),
		"d/inv/data/2.csv":    []byte("src,c.txt,5\n"),
		"b/data.parquet":      pq.Bytes(),
	}
	got := js(readAll(t, objs, Spec{Resource: ResourceGetObject, Bucket: "b", Key: "inv/manifest.json", InputType: "MANIFEST"}, 1))
	want := `[{"Bucket":"src","Key":"a.txt","Size":"3"},{"Bucket":"src","Key":"b.txt","Size":"4"},{"Bucket":"src","Key":"c.txt","Size":"5"}]`
	if got != want {
		t.Fatalf("manifest: got %s", got)
	}
	for _, n := range []int{7, 1000} {
		items := readAll(t, objs, Spec{Resource: ResourceGetObject, Bucket: "b", Key: "data.parquet", InputType: "PARQUET"}, n)
		if len(items) != 150 || js(items[3]) != `{"id":3,"name":"n3","ok":false,"score":1.5}` {
			t.Fatalf("parquet by %d: %d items, item 3 %s", n, len(items), js(items[3]))
		}
	}
	items := readAll(t, objs, Spec{Resource: ResourceGetObject, Bucket: "b", Key: "data.parquet", InputType: "PARQUET", MaxItems: 10}, 4)
	if len(items) != 10 {
		t.Fatalf("parquet MaxItems 10: %d items", len(items))
	}
}

// TestManifestTypes: an S3 Inventory manifest may say so; any other ManifestType (Athena's
// data manifests) is refused with States.ItemReaderFailed's cause rather than misread.
func TestManifestTypes(t *testing.T) {
	spec := func(mt string) error {
		v, err := jsonv.ParseString(`{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"b","Key":"m"},
			"ReaderConfig":{"InputType":"MANIFEST","ManifestType":"` + mt + `"}}`)
		if err != nil {
			t.Fatal(err)
		}
		_, err = SpecOf(v)
		return err
	}
	if err := spec("S3_INVENTORY"); err != nil {
		t.Fatalf("S3_INVENTORY: %v", err)
	}
	var e *Error
	if err := spec("ATHENA_DATA"); !errors.As(err, &e) || !strings.Contains(e.Cause, "ATHENA_DATA is not supported") {
		t.Fatalf("ATHENA_DATA: %v", err)
	}
}
