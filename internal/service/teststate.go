package service

import (
	"context"
	"errors"

	"github.com/stepline/stepline/internal/teststate"
)

// TestState runs one state as AWS's TestState does (see package teststate), in this service's
// account and region.
func (s *Service) TestState(_ context.Context, req *teststate.Request) (*teststate.Response, error) {
	req.Region, req.Account = s.o.Region, s.o.Account
	resp, err := teststate.Run(req, s.o.Clock.Now())
	var te *teststate.Error
	if errors.As(err, &te) {
		return nil, &Error{Code: Code(te.Code), Message: te.Message, Err: err}
	}
	return resp, err
}
