// Package intrinsic parses and evaluates the States.* intrinsic functions of Amazon States
// Language (States.Format, States.JsonMerge, States.MathAdd, …) with AWS's argument rules.
package intrinsic

import (
	"github.com/stepline/stepline/internal/asl/path"
	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/jsonv"
)

// Call is a compiled intrinsic function call. It is immutable and safe for concurrent use.
type Call struct {
	text string
}

// String returns the call as written.
func (c *Call) String() string { return c.text }

// Parse compiles an intrinsic function call such as States.Format('{}', $.name).
func Parse(s string) (*Call, error) { return &Call{text: s}, nil }

// Eval evaluates the call; failures are *sferr.Error values named States.IntrinsicFailure (or
// States.Runtime where AWS says so).
func (c *Call) Eval(s path.Scope) (jsonv.Value, error) {
	return nil, sferr.New(sferr.IntrinsicFailure, "intrinsic functions are not implemented yet: %s", c.text)
}
