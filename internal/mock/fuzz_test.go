package mock

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that any document either loads or is refused with problems that each name
// a place in it, and that a loaded one answers every lookup without panicking, with outcomes
// that are exactly one of Return and Throw.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("testdata", "MockConfigFile.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(`{"StateMachines":{"M":{"TestCases":{"T":{"S":"R"}}}},"MockedResponses":{"R":{"0-2":{"Throw":{"Error":"E","Cause":"C"}},"3":{"Return":[1]}}}}`))
	f.Add([]byte(`{"StateMachines":{"M":{"TestCases":{}}}}`))
	f.Add([]byte(`{"StateMachines":[],"MockedResponses":{"R":{"1-0":{}}}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			var me *Error
			if !errors.As(err, &me) || len(me.Problems) == 0 {
				t.Fatalf("error %v is not an *Error with problems", err)
			}
			for _, p := range me.Problems {
				if !strings.HasPrefix(p.Path, "/") || p.Message == "" {
					t.Fatalf("problem %+v", p)
				}
			}
			return
		}
		for _, sm := range c.StateMachines() {
			for _, name := range c.TestCases(sm) {
				tc, err := c.TestCase(sm, name)
				if err != nil {
					t.Fatal(err)
				}
				for _, state := range tc.States() {
					for n := int64(0); n < 5; n++ {
						out, mocked, err := tc.Response(state, n)
						if !mocked {
							t.Fatalf("state %s of %s is listed but not mocked", state, name)
						}
						if err == nil && (out.Throw == nil) == (out.Return == "") {
							t.Fatalf("outcome %+v is not exactly one of Return and Throw", out)
						}
					}
				}
			}
		}
	})
}
