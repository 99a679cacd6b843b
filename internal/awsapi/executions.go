package awsapi

import (
	"context"
	"fmt"

	"github.com/stepline/stepline/internal/jsonv"
	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
)

// executionStatuses is in the order AWS lists them when it refuses a statusFilter.
var executionStatuses = []string{"SUCCEEDED", "TIMED_OUT", "PENDING_REDRIVE", "ABORTED", "FAILED", "RUNNING"}

type startExecutionIn struct {
	StateMachineArn *string `json:"stateMachineArn"`
	Name            *string `json:"name"`
	Input           *string `json:"input"`
	TraceHeader     *string `json:"traceHeader"`
}

type startExecutionOut struct {
	ExecutionArn string `json:"executionArn"`
	StartDate    epoch  `json:"startDate"`
}

func (a *API) startExecution(ctx context.Context, body []byte) (any, error) {
	var in startExecutionIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("stateMachineArn", in.StateMachineArn, 1, maxArn, false)
	c.str("name", in.Name, 1, maxName, false)
	c.str("input", in.Input, 0, maxData, true)
	c.str("traceHeader", in.TraceHeader, 0, 256, false)
	if err := c.err(); err != nil {
		return nil, err
	}
	x, err := a.o.Service.StartExecution(ctx, &service.StartExecutionInput{
		StateMachineArn: *in.StateMachineArn, Name: deref(in.Name), Input: in.Input,
	})
	if err != nil {
		return nil, err
	}
	return startExecutionOut{ExecutionArn: x.Arn, StartDate: epoch(x.StartDate)}, nil
}

type describeExecutionOut struct {
	ExecutionArn        string    `json:"executionArn"`
	StateMachineArn     string    `json:"stateMachineArn"`
	Name                string    `json:"name"`
	Status              string    `json:"status"`
	StartDate           epoch     `json:"startDate"`
	StopDate            *epoch    `json:"stopDate,omitempty"`
	Input               *string   `json:"input,omitempty"`
	InputDetails        *included `json:"inputDetails,omitempty"`
	Output              *string   `json:"output,omitempty"`
	OutputDetails       *included `json:"outputDetails,omitempty"`
	Error               *string   `json:"error,omitempty"`
	Cause               *string   `json:"cause,omitempty"`
	RedriveCount        int64     `json:"redriveCount"`
	RedriveDate         *epoch    `json:"redriveDate,omitempty"`
	RedriveStatus       string    `json:"redriveStatus"`
	RedriveStatusReason string    `json:"redriveStatusReason,omitempty"`

	StateMachineVersionArn string `json:"stateMachineVersionArn,omitempty"`
	StateMachineAliasArn   string `json:"stateMachineAliasArn,omitempty"`
	MapRunArn              string `json:"mapRunArn,omitempty"`
}

func (a *API) describeExecution(ctx context.Context, body []byte) (any, error) {
	arn, in, err := decodeArn(body, "executionArn")
	if err != nil {
		return nil, err
	}
	if service.IsChildExecutionArn(arn) {
		return a.describeChildExecution(ctx, arn, in)
	}
	x, err := a.o.Service.DescribeExecution(ctx, arn)
	if err != nil {
		return nil, err
	}
	out := describeOut(x, in)
	r, err := a.o.Service.Redrives(ctx, arn)
	if err != nil {
		return nil, err
	}
	if r != nil {
		out.RedriveCount, out.RedriveDate = r.Count, epochPtr(&r.Date)
	}
	ok, reason, err := a.o.Service.Redrivable(ctx, x, r)
	if err != nil {
		return nil, err
	}
	out.RedriveStatus = "REDRIVABLE"
	if !ok {
		out.RedriveStatus, out.RedriveStatusReason = "NOT_REDRIVABLE", reason
	}
	if out.StateMachineVersionArn, out.StateMachineAliasArn, err = a.o.Service.ExecutionOrigin(ctx, arn); err != nil {
		return nil, err
	}
	return out, nil
}

// describeOut is DescribeExecution's answer without the redrive fields and the origin: the
// execution with its input and output, unless the caller asked for metadata only.
func describeOut(x *store.Execution, in *arnIn) describeExecutionOut {
	out := describeExecutionOut{
		ExecutionArn: x.Arn, StateMachineArn: x.StateMachineArn, Name: x.Name, Status: string(x.Status),
		StartDate: epoch(x.StartDate), StopDate: epochPtr(x.StopDate), Error: x.Error, Cause: x.Cause,
	}
	if deref(in.IncludedData) != "METADATA_ONLY" {
		out.Input, out.InputDetails = &x.Input, &included{true}
		if x.Output != nil {
			out.Output, out.OutputDetails = x.Output, &included{true}
		}
	}
	return out
}

// describeChildExecution is DescribeExecution of a Map Run's child execution.
func (a *API) describeChildExecution(ctx context.Context, arn string, in *arnIn) (any, error) {
	c, err := a.o.Service.DescribeChildExecution(ctx, arn)
	if err != nil {
		return nil, err
	}
	out := describeOut(&c.Execution, in)
	out.RedriveStatus, out.RedriveStatusReason, out.MapRunArn = c.RedriveStatus, c.RedriveStatusReason, c.MapRunArn
	if c.Redrives != nil {
		out.RedriveCount, out.RedriveDate = c.Redrives.Count, epochPtr(&c.Redrives.Date)
	}
	return out, nil
}

type stopExecutionIn struct {
	ExecutionArn *string `json:"executionArn"`
	Error        *string `json:"error"`
	Cause        *string `json:"cause"`
}

type stopExecutionOut struct {
	StopDate epoch `json:"stopDate"`
}

func (a *API) stopExecution(ctx context.Context, body []byte) (any, error) {
	var in stopExecutionIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("executionArn", in.ExecutionArn, 1, maxArn, false)
	c.str("error", in.Error, 0, maxError, true)
	c.str("cause", in.Cause, 0, maxCause, true)
	if err := c.err(); err != nil {
		return nil, err
	}
	stopped, err := a.o.Service.StopExecution(ctx, *in.ExecutionArn, in.Error, in.Cause)
	if err != nil {
		return nil, err
	}
	return stopExecutionOut{StopDate: epoch(stopped)}, nil
}

type listExecutionsIn struct {
	StateMachineArn *string `json:"stateMachineArn"`
	StatusFilter    *string `json:"statusFilter"`
	MapRunArn       *string `json:"mapRunArn"`
	RedriveFilter   *string `json:"redriveFilter"`
	pageIn
}

type executionItem struct {
	ExecutionArn    string `json:"executionArn"`
	StateMachineArn string `json:"stateMachineArn"`
	Name            string `json:"name"`
	Status          string `json:"status"`
	StartDate       epoch  `json:"startDate"`
	StopDate        *epoch `json:"stopDate,omitempty"`
	// AWS sends redriveCount 0 for an execution never redriven (its recordings since redrive
	// exists show it, and its documentation says so), and redriveDate only once redriven.
	RedriveCount int64  `json:"redriveCount"`
	RedriveDate  *epoch `json:"redriveDate,omitempty"`

	StateMachineVersionArn string `json:"stateMachineVersionArn,omitempty"`
	StateMachineAliasArn   string `json:"stateMachineAliasArn,omitempty"`
}

type listExecutionsOut struct {
	Executions []executionItem `json:"executions"`
	NextToken  string          `json:"nextToken,omitempty"`
}

func (a *API) listExecutions(ctx context.Context, body []byte) (any, error) {
	var in listExecutionsIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.str("stateMachineArn", in.StateMachineArn, 1, maxArn, false)
	c.enum("statusFilter", in.StatusFilter, executionStatuses...)
	c.str("mapRunArn", in.MapRunArn, 1, 2000, false)
	c.enum("redriveFilter", in.RedriveFilter, "REDRIVEN", "NOT_REDRIVEN")
	page := in.check(&c, maxListExecToken)
	if err := c.err(); err != nil {
		return nil, err
	}
	switch {
	case in.MapRunArn != nil:
		return a.listMapRunExecutions(ctx, &in, page)
	case in.StateMachineArn == nil:
		return nil, &apiError{Code: codeValidation, Message: "Must specify either a stateMachineArn or a mapRunArn"}
	}
	out := listExecutionsOut{Executions: []executionItem{}}
	if deref(in.StatusFilter) == "PENDING_REDRIVE" {
		// Only a Map Run's child executions wait to be redriven; still check the machine (or
		// version, or alias) and the page, as AWS does.
		_, _, err := a.o.Service.ListExecutions(ctx, &service.ListExecutionsInput{
			StateMachineArn: *in.StateMachineArn, Status: store.StatusRunning, Page: service.Page{Limit: 1, Token: page.Token}})
		return out, err
	}
	var redriven *bool
	if in.RedriveFilter != nil {
		r := *in.RedriveFilter == "REDRIVEN"
		redriven = &r
	}
	xs, next, err := a.o.Service.ListExecutions(ctx, &service.ListExecutionsInput{
		StateMachineArn: *in.StateMachineArn, Status: store.ExecutionStatus(deref(in.StatusFilter)), Redriven: redriven, Page: page,
	})
	if err != nil {
		return nil, err
	}
	out.NextToken = next
	for _, x := range xs {
		item := executionItem{
			ExecutionArn: x.Arn, StateMachineArn: x.StateMachineArn, Name: x.Name, Status: string(x.Status),
			StartDate: epoch(x.StartDate), StopDate: epochPtr(x.StopDate),
			StateMachineVersionArn: x.VersionArn, StateMachineAliasArn: x.AliasArn,
		}
		if r := x.Redrives; r != nil {
			item.RedriveCount, item.RedriveDate = r.Count, epochPtr(&r.Date)
		}
		out.Executions = append(out.Executions, item)
	}
	return out, nil
}

type historyIn struct {
	ExecutionArn         *string `json:"executionArn"`
	ReverseOrder         *bool   `json:"reverseOrder"`
	IncludeExecutionData *bool   `json:"includeExecutionData"`
	pageIn
}

func (a *API) getExecutionHistory(ctx context.Context, body []byte) (any, error) {
	var in historyIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("executionArn", in.ExecutionArn, 1, maxArn, false)
	page := in.check(&c, maxPageToken)
	if err := c.err(); err != nil {
		return nil, err
	}
	events, next, err := a.o.Service.GetExecutionHistory(ctx, &service.HistoryInput{
		ExecutionArn: *in.ExecutionArn, Reverse: deref(in.ReverseOrder), Page: page,
	})
	if err != nil {
		return nil, err
	}
	withData := in.IncludeExecutionData == nil || *in.IncludeExecutionData
	size := 32 + len(next)
	for _, ev := range events {
		size += len(ev.Payload) + 1
	}
	buf := make([]byte, 0, size)
	buf = append(buf, `{"events":[`...)
	for i, ev := range events {
		if i > 0 {
			buf = append(buf, ',')
		}
		if withData {
			// The store keeps each event as GetExecutionHistory's JSON: splice it in as it is.
			buf = append(buf, ev.Payload...)
			continue
		}
		if buf, err = appendWithoutData(buf, ev.Payload); err != nil {
			return nil, fmt.Errorf("awsapi: history event %d: %w", ev.ID, err)
		}
	}
	buf = append(buf, ']')
	if next != "" {
		buf = append(buf, `,"nextToken":`...)
		buf = jsonv.AppendString(buf, next)
	}
	return rawJSON(append(buf, '}')), nil
}

// dataKeys are the members of an event's details that includeExecutionData=false leaves out:
// inputs, outputs and task parameters, with their "…Details" companions.
var dataKeys = [...]string{"input", "inputDetails", "output", "outputDetails", "parameters"}

// appendWithoutData appends a stored event with its execution data removed. Events are
// re-encoded with jsonv, which keeps member order and numbers as written.
func appendWithoutData(buf, payload []byte) ([]byte, error) {
	v, err := jsonv.Parse(payload)
	if err != nil {
		return buf, fmt.Errorf("stored event is not JSON: %w", err)
	}
	ev, ok := v.(*jsonv.Object)
	if !ok {
		return buf, fmt.Errorf("stored event is a %s, not an object", jsonv.TypeName(v))
	}
	for _, m := range ev.Members() {
		details, ok := m.Value.(*jsonv.Object)
		if !ok {
			continue
		}
		for _, k := range dataKeys {
			details = details.Without(k)
		}
		ev = ev.With(m.Key, details)
	}
	return jsonv.Append(buf, ev), nil
}
