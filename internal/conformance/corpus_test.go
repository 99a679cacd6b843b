package conformance

import (
	"os"
	"path/filepath"
	"testing"
)

// writeCorpus lays out a corpus with the given case files and index entries.
func writeCorpus(t *testing.T, files map[string]string, index string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, "cases", filepath.FromSlash(name)+".json")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if index != "" {
		if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(index), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadOne loads a corpus holding the single case g/c.
func loadOne(t *testing.T, text string) *Case {
	t.Helper()
	cases, err := Load(writeCorpus(t, map[string]string{"g/c": text}, ""))
	if err != nil || len(cases) != 1 {
		t.Fatalf("Load: %v, %d cases", err, len(cases))
	}
	if cases[0].LoadErr != nil {
		t.Fatal(cases[0].LoadErr)
	}
	return cases[0]
}

func TestLoad(t *testing.T) {
	dir := writeCorpus(t, map[string]string{
		"g/listed":   `{"definition":{"StartAt":"B","States":{},"Comment":"key order kept"},"requires":["lambda"],"context":{"features":["state:Pass"]},"expect":{"status":"SUCCEEDED"}}`,
		"g/unlisted": `{"definition":null,"context":{"definition_text":"not json"},"expect":{"invalid":true}}`,
		"h/broken":   `{`,
	}, `{"cases":[{"name":"g/listed","kind":"execution"},{"name":"g/missing","kind":"execution"},{"name":"h/broken","kind":"execution"}]}`)
	cases, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Case{}
	for _, c := range cases {
		byName[c.Name] = c
	}
	if len(cases) != 4 {
		t.Fatalf("loaded %d cases, want 4 (listed, missing, broken, unlisted)", len(cases))
	}
	listed := byName["g/listed"]
	if listed.Group != "g" || listed.Kind != KindExecution || listed.Requires[0] != "lambda" || listed.Features[0] != "state:Pass" {
		t.Errorf("listed case: %+v", listed)
	}
	if want := `{"StartAt":"B","States":{},"Comment":"key order kept"}`; listed.Definition != want {
		t.Errorf("definition text %s, want %s", listed.Definition, want)
	}
	if c := byName["g/unlisted"]; c.Kind != KindInvalidDefinition || c.Definition != "not json" {
		t.Errorf("unlisted case: kind %q, definition %q", c.Kind, c.Definition)
	}
	for _, name := range []string{"g/missing", "h/broken"} {
		if byName[name].LoadErr == nil {
			t.Errorf("%s: no load error", name)
		}
	}
}

func TestLocate(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "main")
	pkg := filepath.Join(repo, "internal", "x")
	corpus := filepath.Join(root, "shared", "conformance")
	for _, d := range []string{pkg, filepath.Join(corpus, "cases")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Setenv(EnvCorpus, "")
	if got, found := Locate(pkg); got != corpus || !found {
		t.Errorf("Locate = %s, %v; want %s, true", got, found, corpus)
	}
	elsewhere := filepath.Join(root, "elsewhere")
	t.Setenv(EnvCorpus, elsewhere)
	if got, found := Locate(pkg); got != elsewhere || found {
		t.Errorf("with %s set: Locate = %s, %v; want %s, false", EnvCorpus, got, found, elsewhere)
	}
}

func TestSkipReason(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"runnable", `{"definition":{"StartAt":"A"},"context":{"features":["state:Pass"]},"expect":{"status":"SUCCEEDED"}}`, ""},
		{"TestState", `{"expect":{"test_state_response":{}}}`, ""},
		{"TestState API error", `{"context":{"api":"TestState"},"expect":{"invalid":true}}`, ""},
		{"TestState of a served service", `{"requires":["lambda"],"expect":{"test_state_response":{}}}`, ReasonTestStateService},
		{"TestState of another service", `{"requires":["sqs"],"expect":{"test_state_response":{}}}`, "requires sqs"},
		{"TestState with a mock", `{"requires":["lambda"],"context":{"request_args":{"mock":{}}},"expect":{"test_state_response":{}}}`, ""},
		{"CreateStateMachine error", `{"context":{"api":"CreateStateMachine"},"expect":{"invalid":true}}`, ""},
		{"requires, as a sorted set", `{"requires":["sqs","callback"],"expect":{}}`, "requires callback, sqs"},
		{"requires before JSONata", `{"requires":["sqs"],"context":{"features":["jsonata"]},"expect":{}}`, "requires sqs"},
		{"a served service runs", `{"requires":["lambda"],"expect":{}}`, ""},
		{"with all the others it needs", `{"requires":["lambda","sqs"],"expect":{}}`, "requires lambda, sqs"},
		{"S3 runs", `{"requires":["s3"],"expect":{}}`, ""},
		{"a Map reading S3", `{"requires":["s3"],"definition":{"States":{"M":{"Type":"Map","ItemReader":{}}}},"expect":{}}`, ""},
		{"JSONata", `{"definition":{"States":{"A":{"QueryLanguage":"JSONata","Output":"{% $x %}"}}},"context":{"features":["jsonata"]},"expect":{}}`, ""},
		{"variables", `{"context":{"features":["variables:reference"]},"expect":{}}`, ""},
		{"recorded while running", `{"expect":{"status":"RUNNING"}}`, ReasonRunning},
		{"stopped by the test", `{"context":{"other_api_calls_by_test":[{"op":"stop_execution"}]},"expect":{"status":"ABORTED"}}`, ReasonStopExecution},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SkipReason(loadOne(t, tc.text)); got != tc.want {
				t.Errorf("SkipReason = %q, want %q", got, tc.want)
			}
		})
	}
}
