package task_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/s3"
	"github.com/stepline/stepline/internal/task"
)

// TestReadItemsThroughS3 runs the reader's task over the real S3 service, a chunk at a time
// from the cursor each read returns: ranged GETs for CSV, JSON and JSON Lines, ranged reads of
// a Parquet object, an S3 Inventory manifest with a gzipped file, and ListObjectsV2.
func TestReadItemsThroughS3(t *testing.T) {
	ctx := context.Background()
	s3svc, err := s3.New(s3.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s3svc.Close()
	put := func(path string, body []byte) {
		t.Helper()
		rec := httptest.NewRecorder()
		s3svc.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, path, bytes.NewReader(body)))
		if rec.Code != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	put("/items", nil)
	put("/items/a.csv", []byte("k;v\n1;\"x;y\"\n2;z\n3;w\n"))
	put("/items/a.json", []byte(`[{"n":1}, {"n":2.50}, [3], "four", null]`))
	put("/items/a.jsonl", []byte("{\"n\":1}\n{\"n\":2}\n"))
	type row struct {
		ID   int64  `parquet:"id"`
		Name string `parquet:"name"`
	}
	var pq bytes.Buffer
	pw := parquet.NewGenericWriter[row](&pq)
	for i := range 5 {
		if _, err := pw.Write([]row{{ID: int64(i), Name: fmt.Sprint("n", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	put("/items/a.parquet", pq.Bytes())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("items,a.csv,20\nitems,a.json,40\n"))
	zw.Close()
	put("/items/inv/data/1.csv.gz", gz.Bytes())
	put("/items/inv/manifest.json", []byte(`{"sourceBucket":"items","destinationBucket":"arn:aws:s3:::items","fileFormat":"CSV","fileSchema":"Bucket, Key, Size","files":[{"key":"inv/data/1.csv.gz"}]}`))

	r := task.New(task.Options{S3: s3svc})
	readAll := func(reader string, limit int) (string, error) {
		t.Helper()
		var all []json.RawMessage
		cursor := "null"
		for range 100 {
			params := `{"Reader":` + reader + `,"Cursor":` + cursor + `,"Limit":` + fmt.Sprint(limit) + `}`
			out, err := r.Run(ctx, &engine.Task{TaskID: "t", Resource: interp.ReadItemsResource, Parameters: params})
			if err != nil {
				return "", err
			}
			var chunk struct {
				Items  []json.RawMessage
				Cursor json.RawMessage
				Done   bool
			}
			if err := json.Unmarshal([]byte(out), &chunk); err != nil {
				t.Fatalf("answer %s: %v", out, err)
			}
			if len(chunk.Items) > limit {
				t.Fatalf("%d items, limit %d", len(chunk.Items), limit)
			}
			all = append(all, chunk.Items...)
			if chunk.Done {
				b, _ := json.Marshal(all)
				return string(b), nil
			}
			cursor = string(chunk.Cursor)
		}
		t.Fatal("no end")
		return "", nil
	}
	get := func(key, config string) string {
		return `{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"items","Key":"` + key + `"},"ReaderConfig":` + config + `}`
	}
	for _, tc := range []struct{ name, reader, want string }{
		{"csv", get("a.csv", `{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW","CSVDelimiter":"SEMICOLON"}`), `[{"k":"1","v":"x;y"},{"k":"2","v":"z"},{"k":"3","v":"w"}]`},
		{"csv max items", get("a.csv", `{"InputType":"CSV","CSVHeaderLocation":"GIVEN","CSVHeaders":["a"],"CSVDelimiter":"SEMICOLON","MaxItems":2}`), `[{"a":"k"},{"a":"1"}]`},
		{"json", get("a.json", `{"InputType":"JSON"}`), `[{"n":1},{"n":2.50},[3],"four",null]`},
		{"jsonl", get("a.jsonl", `{"InputType":"JSONL"}`), `[{"n":1},{"n":2}]`},
		{"parquet", get("a.parquet", `{"InputType":"PARQUET"}`), `[{"id":0,"name":"n0"},{"id":1,"name":"n1"},{"id":2,"name":"n2"},{"id":3,"name":"n3"},{"id":4,"name":"n4"}]`},
		{"manifest", get("inv/manifest.json", `{"InputType":"MANIFEST"}`), `[{"Bucket":"items","Key":"a.csv","Size":"20"},{"Bucket":"items","Key":"a.json","Size":"40"}]`},
		{"flatten", `{"Resource":"arn:aws:states:::s3:listObjectsV2","Parameters":{"Bucket":"items","Prefix":"a.js"},"ReaderConfig":{"InputType":"JSONL","Transformation":"LOAD_AND_FLATTEN"}}`, ""},
	} {
		for _, limit := range []int{1, 2, 100} {
			got, err := readAll(tc.reader, limit)
			if tc.want == "" {
				// a.json is no JSON Lines object: its first line is the whole array.
				if err != nil || got != `[[{"n":1},{"n":2.50},[3],"four",null],{"n":1},{"n":2}]` {
					t.Errorf("%s by %d: %s (%v)", tc.name, limit, got, err)
				}
				continue
			}
			if err != nil || got != tc.want {
				t.Errorf("%s by %d: %s (%v), want %s", tc.name, limit, got, err, tc.want)
			}
		}
	}
	listed, err := readAll(`{"Resource":"arn:aws:states:::s3:listObjectsV2","Parameters":{"Bucket":"items","Prefix":"a.j"}}`, 1)
	if err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	if err := json.Unmarshal([]byte(listed), &objs); err != nil || len(objs) != 2 || objs[0]["Key"] != "a.json" ||
		objs[1]["Size"] != float64(16) || objs[0]["StorageClass"] != "STANDARD" || !strings.HasPrefix(objs[0]["Etag"].(string), `"`) {
		t.Fatalf("listed %s", listed)
	}
	if lm, ok := objs[0]["LastModified"].(float64); !ok || lm < 1.6e9 {
		t.Errorf("LastModified %v, want epoch seconds", objs[0]["LastModified"])
	}
	// Failures are the reader's, with S3's words.
	_, err = r.Run(ctx, &engine.Task{TaskID: "t", Resource: interp.ReadItemsResource,
		Parameters: `{"Reader":` + get("nope.csv", `{"InputType":"CSV"}`) + `,"Cursor":null,"Limit":10}`})
	var te *engine.TaskError
	if !errors.As(err, &te) || te.Name != "States.ItemReaderFailed" || !strings.Contains(te.Cause, "The specified key does not exist.") {
		t.Errorf("missing key: %v", err)
	}
}
