package task_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/task"
)

// BenchmarkHTTPTask is one HTTP Task (API key connection read from SQLite, a JSON body, a
// JSON answer parsed into the result) against a loopback server; BenchmarkHTTPDirect is the
// same request made with net/http alone, so that the difference is the task's overhead.
func BenchmarkHTTPTask(b *testing.B) {
	hb := setupHTTP(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"items":[1,2,3]}`)
	}))
	b.Cleanup(srv.Close)
	arn := hb.connect(b, apiKeyConn)
	r := hb.runner(task.Options{})
	params := `{"ApiEndpoint":"` + srv.URL + `/x","Method":"POST","Authentication":{"ConnectionArn":"` + arn + `"},"RequestBody":{"n":1}}`
	b.ResetTimer()
	for range b.N {
		if _, err := r.Run(b.Context(), &engine.Task{Resource: "arn:aws:states:::http:invoke", Parameters: params}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHTTPDirect(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"items":[1,2,3]}`)
	}))
	b.Cleanup(srv.Close)
	c := srv.Client()
	for range b.N {
		res, err := c.Post(srv.URL+"/x", "application/json", nil)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.ReadAll(res.Body)
		res.Body.Close()
	}
}
