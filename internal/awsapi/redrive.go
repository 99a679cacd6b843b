package awsapi

import "context"

type redriveIn struct {
	ExecutionArn *string `json:"executionArn"`
	ClientToken  *string `json:"clientToken"`
}

type redriveOut struct {
	RedriveDate epoch `json:"redriveDate"`
}

func (a *API) redriveExecution(ctx context.Context, body []byte) (any, error) {
	var in redriveIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("executionArn", in.ExecutionArn, 1, maxArn, false)
	c.str("clientToken", in.ClientToken, 1, 64, false)
	if err := c.err(); err != nil {
		return nil, err
	}
	date, err := a.o.Service.RedriveExecution(ctx, *in.ExecutionArn, deref(in.ClientToken))
	if err != nil {
		return nil, err
	}
	return redriveOut{RedriveDate: epoch(date)}, nil
}
