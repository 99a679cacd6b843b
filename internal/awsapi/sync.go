package awsapi

import (
	"context"
	"time"

	"github.com/stepline/stepline/internal/service"
)

type startSyncExecutionIn struct {
	StateMachineArn *string `json:"stateMachineArn"`
	Name            *string `json:"name"`
	Input           *string `json:"input"`
	TraceHeader     *string `json:"traceHeader"`
	IncludedData    *string `json:"includedData"`
}

type startSyncExecutionOut struct {
	ExecutionArn    string    `json:"executionArn"`
	StateMachineArn string    `json:"stateMachineArn"`
	Name            string    `json:"name"`
	StartDate       epoch     `json:"startDate"`
	StopDate        epoch     `json:"stopDate"`
	Status          string    `json:"status"`
	Error           *string   `json:"error,omitempty"`
	Cause           *string   `json:"cause,omitempty"`
	Input           *string   `json:"input,omitempty"`
	InputDetails    *included `json:"inputDetails,omitempty"`
	Output          *string   `json:"output,omitempty"`
	OutputDetails   *included `json:"outputDetails,omitempty"`
	TraceHeader     *string   `json:"traceHeader,omitempty"`
	BillingDetails  billing   `json:"billingDetails"`
}

// billing is what AWS bills an Express execution for: its duration rounded up to the next
// 100 ms, and the memory used, of which 64 MB is the least billed.
type billing struct {
	MemoryMB   int64 `json:"billedMemoryUsedInMB"`
	DurationMs int64 `json:"billedDurationInMilliseconds"`
}

func billed(d time.Duration) billing {
	ms := max((d.Milliseconds()+99)/100*100, 100)
	return billing{MemoryMB: 64, DurationMs: ms}
}

func (a *API) startSyncExecution(ctx context.Context, body []byte) (any, error) {
	var in startSyncExecutionIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("stateMachineArn", in.StateMachineArn, 1, maxArn, false)
	c.str("name", in.Name, 1, maxName, false)
	c.str("input", in.Input, 0, maxData, true)
	c.str("traceHeader", in.TraceHeader, 0, 256, false)
	c.enum("includedData", in.IncludedData, "ALL_DATA", "METADATA_ONLY")
	if err := c.err(); err != nil {
		return nil, err
	}
	x, err := a.o.Service.StartSyncExecution(ctx, &service.StartExecutionInput{
		StateMachineArn: *in.StateMachineArn, Name: deref(in.Name), Input: in.Input,
	})
	if err != nil {
		return nil, err
	}
	out := startSyncExecutionOut{
		ExecutionArn: x.Arn, StateMachineArn: x.StateMachineArn, Name: x.Name, StartDate: epoch(x.StartDate),
		StopDate: epoch(x.StopDate), Status: string(x.Status), Error: x.Error, Cause: x.Cause,
		TraceHeader: in.TraceHeader, BillingDetails: billed(x.StopDate.Sub(x.StartDate)),
	}
	if deref(in.IncludedData) != "METADATA_ONLY" {
		out.Input, out.InputDetails = &x.Input, &included{true}
		if x.Output != nil {
			out.Output, out.OutputDetails = x.Output, &included{true}
		}
	}
	return out, nil
}
