package console_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/console"
)

// fakeGlue answers GetJobRun for one run, as the Glue service does.
type fakeGlue struct{}

func (fakeGlue) Call(_ context.Context, action string, input []byte) ([]byte, error) {
	if action == "GetJobRun" && strings.Contains(string(input), `"RunId":"jr_1"`) {
		return []byte(`{"JobRun":{"Id":"jr_1","JobName":"clean","JobRunState":"FAILED","StartedOn":1796543068.5,
		  "ErrorMessage":"ValueError: too many bad rows","ExecutionTime":3,"Arguments":{"--max_bad_rows":"0"}}}`), nil
	}
	return nil, errors.New("EntityNotFoundException: Job run not found")
}

// A Glue job run's page shows its state, error and the ends of its output and error logs.
func TestJobRunPage(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	logs := t.TempDir()
	for stream, text := range map[string]string{"output": "read 12 rows\n", "error": "Traceback: ValueError: too many bad rows\n"} {
		dir := filepath.Join(logs, "python-jobs", stream)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "jr_1"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := console.New(console.Options{Service: b.svc, Store: b.st, Glue: fakeGlue{}, GlueLogs: logs})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(cons)
	defer srv.Close()
	code, body := get(t, http.DefaultClient, srv.URL+"/catalog/jobs/clean/runs/jr_1")
	for _, want := range []string{`id="run-state">FAILED`, "too many bad rows", "read 12 rows", "/aws-glue/python-jobs/error", "--max_bad_rows"} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("job run page (%d) lacks %q", code, want)
		}
	}
	if code, _ := get(t, http.DefaultClient, srv.URL+"/catalog/jobs/clean/runs/jr_2"); code != http.StatusNotFound {
		t.Errorf("an unknown run: %d, want 404", code)
	}
}
