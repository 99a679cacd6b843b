// Package conformance replays the ASL conformance corpus (executions and definition checks
// recorded against real AWS; see README.md in the corpus directory) against Stepline and compares
// the results the way the corpus's reference normalise.py does.
//
// The package is split so that every step can be tested without an engine: loading and
// classifying cases (corpus.go, classify.go), normalising results (normalise.go, pyjson.go),
// comparing them (equal.go, check.go), running cases concurrently (run.go) and reporting
// (report.go). The engine is reached only through the Engine interface, so all of that is tested
// with fakes; Stepline (engine.go) is the real one: asl.Parse and the in-process runner.
package conformance

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

// EnvCorpus names the environment variable that overrides where the corpus is looked for.
const EnvCorpus = "STEPLINE_CONFORMANCE"

// Locate returns the corpus directory: $STEPLINE_CONFORMANCE when set, else ../shared/conformance
// next to the repository root, which is the nearest ancestor of dir that holds go.mod. found is
// false when no corpus is there; path is still returned so that callers can say where they looked.
func Locate(dir string) (path string, found bool) {
	if env := os.Getenv(EnvCorpus); env != "" {
		path = env
	} else {
		root, err := repoRoot(dir)
		if err != nil {
			return filepath.Join(dir, "..", "shared", "conformance"), false
		}
		path = filepath.Join(filepath.Dir(root), "shared", "conformance")
	}
	st, err := os.Stat(filepath.Join(path, "cases"))
	return path, err == nil && st.IsDir()
}

func repoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above " + dir)
		}
		dir = parent
	}
}

// Kind is what a case checks; the values are index.json's.
type Kind string

// The case kinds.
const (
	KindExecution          Kind = "execution"
	KindInvalidDefinition  Kind = "invalid_definition"
	KindValidateDefinition Kind = "validate_definition"
	KindTestState          Kind = "test_state"
)

// Case is one corpus case. Context and Expect keep the file's key order, which matters for the
// definition text and for nothing else.
type Case struct {
	Name     string // "<group>/<name>"
	Group    string
	Kind     Kind
	Requires []string
	Features []string
	// Definition is the definition text to send: the case's definition object serialised in its
	// key order, or context.definition_text when the definition is not a JSON object.
	Definition string
	definition jsonv.Value // parsed, for classification
	input      jsonv.Value // a TestState case's state input
	Context    *jsonv.Object
	Expect     *jsonv.Object
	// LoadErr is set when the case is listed but cannot be read; such a case counts as failed.
	LoadErr error
}

// Load reads every case of the corpus at dir: those index.json lists and any other file under
// cases/, so that a case missing from either side is still counted.
func Load(dir string) ([]*Case, error) {
	indexed, err := readIndex(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "cases", "*", "*.json"))
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	seen := make(map[string]bool, len(files))
	for _, name := range indexed.order {
		names = append(names, name)
		seen[name] = true
	}
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f)) + "/" + strings.TrimSuffix(filepath.Base(f), ".json")
		if !seen[name] {
			names = append(names, name)
			seen[name] = true
		}
	}
	cases := make([]*Case, len(names))
	parallel(len(names), runtime.GOMAXPROCS(0), func(i int) {
		cases[i] = loadCase(dir, names[i], indexed.kinds[names[i]])
	})
	return cases, nil
}

type index struct {
	order []string
	kinds map[string]Kind
}

func readIndex(path string) (index, error) {
	idx := index{kinds: map[string]Kind{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return idx, err
	}
	v, err := jsonv.Parse(data)
	if err != nil {
		return idx, fmt.Errorf("%s: %w", path, err)
	}
	root, _ := v.(*jsonv.Object)
	list, _ := get(root, "cases").([]jsonv.Value)
	for _, e := range list {
		o, _ := e.(*jsonv.Object)
		name := str(o, "name")
		if name == "" {
			continue
		}
		idx.order = append(idx.order, name)
		idx.kinds[name] = Kind(str(o, "kind"))
	}
	return idx, nil
}

func loadCase(dir, name string, kind Kind) *Case {
	c := &Case{Name: name, Group: name[:max(strings.IndexByte(name, '/'), 0)], Kind: kind}
	data, err := os.ReadFile(filepath.Join(dir, "cases", filepath.FromSlash(name)+".json"))
	if err != nil {
		c.LoadErr = err
		return c
	}
	v, err := jsonv.Parse(data)
	if err != nil {
		c.LoadErr = err
		return c
	}
	root, ok := v.(*jsonv.Object)
	if !ok {
		c.LoadErr = errors.New("case file is not a JSON object")
		return c
	}
	c.Context, _ = get(root, "context").(*jsonv.Object)
	c.Expect, _ = get(root, "expect").(*jsonv.Object)
	c.Requires = stringList(get(root, "requires"))
	c.Features = stringList(get(c.Context, "features"))
	c.definition = get(root, "definition")
	c.input = get(root, "input")
	if c.definition == nil {
		c.Definition = str(c.Context, "definition_text")
	} else {
		c.Definition = jsonv.String(c.definition)
	}
	if c.Kind == "" {
		c.Kind = kindOf(c.Expect)
	}
	return c
}

// kindOf tells the kind of a case that index.json does not list from the shape of its expect.
func kindOf(expect *jsonv.Object) Kind {
	switch {
	case expect.Has("invalid"):
		return KindInvalidDefinition
	case expect.Has("validation_result"):
		return KindValidateDefinition
	case expect.Has("test_state_response"):
		return KindTestState
	}
	return KindExecution
}

func get(o *jsonv.Object, key string) jsonv.Value {
	v, _ := o.Get(key)
	return v
}

func str(o *jsonv.Object, key string) string {
	s, _ := get(o, key).(string)
	return s
}

func stringList(v jsonv.Value) []string {
	list, _ := v.([]jsonv.Value)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// ctx returns the string in the case's context under key.
func (c *Case) ctx(key string) string { return str(c.Context, key) }
