package task_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/s3"
	"github.com/stepline/stepline/internal/task"
)

// TestResultFilesSplit: a status's records past the largest result file go on in the next
// file (SUCCEEDED_0.json, SUCCEEDED_1.json, …), each whole parts and valid JSON, all listed in
// the manifest with their sizes. The limit is AWS's 5 GB; the test lowers it.
func TestResultFilesSplit(t *testing.T) {
	defer task.SetMaxResultFile(100)()
	ctx := context.Background()
	s3svc, err := s3.New(s3.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s3svc.Close()
	rec := httptest.NewRecorder()
	s3svc.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/out", nil))
	r := task.New(task.Options{S3: s3svc})
	const arn = "arn:aws:states:us-east-1:123456789012:mapRun:sm/m:run-1"
	run := func(more string) string {
		t.Helper()
		out, err := r.Run(ctx, &engine.Task{Resource: interp.WriteResultsResource,
			Parameters: `{"Parameters":{"Bucket":"out","Prefix":"p"},"MapRunArn":"` + arn + `","OutputType":"JSON",` + more + `}`})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Five parts of two 20-byte records each (41 bytes a part): two parts a file.
	for i := range 5 {
		recs := fmt.Sprintf(`{"n":%d,"pad":"xxxxx"},{"n":%d,"pad":"yyyyy"}`, 2*i, 2*i+1)
		run(fmt.Sprintf(`"Write":{"SUCCEEDED":{"Index":%d,"Records":[%s]}}`, i, recs))
	}
	run(`"Manifest":true,"Parts":{"SUCCEEDED":5}`)
	get := func(key string) []byte {
		t.Helper()
		rec := httptest.NewRecorder()
		s3svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/out/"+key, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", key, rec.Code)
		}
		b, _ := io.ReadAll(rec.Body)
		return b
	}
	var manifest struct {
		ResultFiles map[string][]struct {
			Key  string
			Size int64
		}
	}
	if err := json.Unmarshal(get("p/run-1/manifest.json"), &manifest); err != nil {
		t.Fatal(err)
	}
	files := manifest.ResultFiles["SUCCEEDED"]
	var keys []string
	n := 0
	for _, f := range files {
		keys = append(keys, f.Key)
		body := get(f.Key)
		var recs []struct{ N int }
		if err := json.Unmarshal(body, &recs); err != nil || int64(len(body)) != f.Size || len(body) > 100 {
			t.Fatalf("%s (%d bytes, manifest says %d): %s, %v", f.Key, len(body), f.Size, body, err)
		}
		for _, r := range recs {
			if r.N != n {
				t.Fatalf("%s holds record %d, want %d", f.Key, r.N, n)
			}
			n++
		}
	}
	if got := strings.Join(keys, " "); got != "p/run-1/SUCCEEDED_0.json p/run-1/SUCCEEDED_1.json p/run-1/SUCCEEDED_2.json" || n != 10 {
		t.Fatalf("files %s holding %d records", got, n)
	}
}
