package awsapi

import (
	"context"

	"github.com/stepline/stepline/internal/teststate"
)

// testStateIn is TestState's request. Strings are pointers so that an empty member and a
// missing one are told apart, as AWS's length checks do.
type testStateIn struct {
	Definition         *string                       `json:"definition"`
	RoleArn            *string                       `json:"roleArn"`
	Input              *string                       `json:"input"`
	InspectionLevel    *string                       `json:"inspectionLevel"`
	RevealSecrets      bool                          `json:"revealSecrets"`
	Variables          *string                       `json:"variables"`
	StateName          *string                       `json:"stateName"`
	Context            *string                       `json:"context"`
	Mock               *teststate.Mock               `json:"mock"`
	StateConfiguration *teststate.StateConfiguration `json:"stateConfiguration"`
}

func (a *API) testState(ctx context.Context, body []byte) (any, error) {
	var in testStateIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("definition", in.Definition, 1, maxDefinition, true)
	c.str("roleArn", in.RoleArn, 1, maxArn, false)
	c.str("input", in.Input, 0, maxData, true)
	c.enum("inspectionLevel", in.InspectionLevel, "INFO", "DEBUG", "TRACE")
	c.str("variables", in.Variables, 0, maxData, true)
	c.str("stateName", in.StateName, 1, maxName, false)
	c.str("context", in.Context, 0, maxData, true)
	if m := in.Mock; m != nil {
		c.str("mock.result", m.Result, 0, maxData, true)
		fvm := &m.FieldValidationMode
		if *fvm == "" {
			fvm = nil
		}
		c.enum("mock.fieldValidationMode", fvm, "STRICT", "PRESENT", "NONE")
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return a.o.Service.TestState(ctx, &teststate.Request{
		Definition: *in.Definition, RoleArn: deref(in.RoleArn), Input: deref(in.Input),
		InspectionLevel: deref(in.InspectionLevel), RevealSecrets: in.RevealSecrets, Variables: deref(in.Variables),
		StateName: deref(in.StateName), Context: deref(in.Context), Mock: in.Mock, StateConfiguration: in.StateConfiguration,
	})
}
