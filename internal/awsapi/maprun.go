package awsapi

import (
	"context"
	"strconv"

	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/service"
	"github.com/stepline/stepline/internal/store"
)

// maxMapRunArn is AWS's limit on a Map Run ARN, longer than other ARNs'.
const maxMapRunArn = 2000

type mapRunIn struct {
	MapRunArn                  *string  `json:"mapRunArn"`
	MaxConcurrency             *int     `json:"maxConcurrency"`
	ToleratedFailureCount      *int64   `json:"toleratedFailureCount"`
	ToleratedFailurePercentage *float64 `json:"toleratedFailurePercentage"`
}

// mapRunCounts is MapRunItemCounts and MapRunExecutionCounts. A Map Run is redriven with its
// execution (RedriveExecution); its unsuccessful child executions that wait for their turn
// (beyond MaxConcurrency) are pendingRedrive, and those no redrive will run again
// failuresNotRedrivable.
type mapRunCounts struct {
	Pending               int64 `json:"pending"`
	Running               int64 `json:"running"`
	Succeeded             int64 `json:"succeeded"`
	Failed                int64 `json:"failed"`
	TimedOut              int64 `json:"timedOut"`
	Aborted               int64 `json:"aborted"`
	Total                 int64 `json:"total"`
	ResultsWritten        int64 `json:"resultsWritten"`
	FailuresNotRedrivable int64 `json:"failuresNotRedrivable"`
	PendingRedrive        int64 `json:"pendingRedrive"`
}

func countsOut(c interp.MapRunCounts) mapRunCounts {
	return mapRunCounts{Pending: c.Pending, Running: c.Running, Succeeded: c.Succeeded, Failed: c.Failed,
		TimedOut: c.TimedOut, Aborted: c.Aborted, Total: c.Total, ResultsWritten: c.ResultsWritten,
		PendingRedrive: c.PendingRedrive, FailuresNotRedrivable: c.FailuresNotRedrivable}
}

type describeMapRunOut struct {
	MapRunArn                  string       `json:"mapRunArn"`
	ExecutionArn               string       `json:"executionArn"`
	Status                     string       `json:"status"`
	StartDate                  epoch        `json:"startDate"`
	StopDate                   *epoch       `json:"stopDate,omitempty"`
	MaxConcurrency             int          `json:"maxConcurrency"`
	ToleratedFailurePercentage float64      `json:"toleratedFailurePercentage"`
	ToleratedFailureCount      int64        `json:"toleratedFailureCount"`
	ItemCounts                 mapRunCounts `json:"itemCounts"`
	ExecutionCounts            mapRunCounts `json:"executionCounts"`
	RedriveCount               int64        `json:"redriveCount"`
	RedriveDate                *epoch       `json:"redriveDate,omitempty"`
}

func (a *API) describeMapRun(ctx context.Context, body []byte) (any, error) {
	var in mapRunIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("mapRunArn", in.MapRunArn, 1, maxMapRunArn, false)
	if err := c.err(); err != nil {
		return nil, err
	}
	mr, err := a.o.Service.DescribeMapRun(ctx, *in.MapRunArn)
	if err != nil {
		return nil, err
	}
	return describeMapRunOut{
		MapRunArn: mr.Arn, ExecutionArn: mr.ExecutionArn, Status: string(mr.Status),
		StartDate: epoch(mr.StartDate), StopDate: epochPtr(mr.StopDate), MaxConcurrency: mr.MaxConcurrency,
		ToleratedFailurePercentage: mr.ToleratedFailurePercentage, ToleratedFailureCount: mr.ToleratedFailureCount,
		ItemCounts: countsOut(mr.Items), ExecutionCounts: countsOut(mr.Executions),
		RedriveCount: mr.RedriveCount, RedriveDate: epochPtr(mr.RedriveDate),
	}, nil
}

type listMapRunsIn struct {
	ExecutionArn *string `json:"executionArn"`
	pageIn
}

type mapRunItem struct {
	ExecutionArn    string `json:"executionArn"`
	MapRunArn       string `json:"mapRunArn"`
	StateMachineArn string `json:"stateMachineArn"`
	StartDate       epoch  `json:"startDate"`
	StopDate        *epoch `json:"stopDate,omitempty"`
}

type listMapRunsOut struct {
	MapRuns   []mapRunItem `json:"mapRuns"`
	NextToken string       `json:"nextToken,omitempty"`
}

func (a *API) listMapRuns(ctx context.Context, body []byte) (any, error) {
	var in listMapRunsIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("executionArn", in.ExecutionArn, 1, maxArn, false)
	page := in.check(&c, maxPageToken)
	if err := c.err(); err != nil {
		return nil, err
	}
	runs, next, err := a.o.Service.ListMapRuns(ctx, &service.ListMapRunsInput{ExecutionArn: *in.ExecutionArn, Page: page})
	if err != nil {
		return nil, err
	}
	out := listMapRunsOut{MapRuns: []mapRunItem{}, NextToken: next}
	for _, mr := range runs {
		out.MapRuns = append(out.MapRuns, mapRunItem{ExecutionArn: mr.ExecutionArn, MapRunArn: mr.Arn,
			StateMachineArn: mr.StateMachineArn, StartDate: epoch(mr.StartDate), StopDate: epochPtr(mr.StopDate)})
	}
	return out, nil
}

func (a *API) updateMapRun(ctx context.Context, body []byte) (any, error) {
	var in mapRunIn
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checker
	c.reqStr("mapRunArn", in.MapRunArn, 1, maxMapRunArn, false)
	if in.MaxConcurrency != nil && *in.MaxConcurrency < 0 {
		c.fail(shown(strconv.Itoa(*in.MaxConcurrency), false), "maxConcurrency", "Member must have value greater than or equal to 0")
	}
	if in.ToleratedFailureCount != nil && *in.ToleratedFailureCount < 0 {
		c.fail(shown(strconv.FormatInt(*in.ToleratedFailureCount, 10), false), "toleratedFailureCount",
			"Member must have value greater than or equal to 0")
	}
	if p := in.ToleratedFailurePercentage; p != nil {
		shownPct := shown(strconv.FormatFloat(*p, 'f', -1, 32), false)
		switch {
		case *p < 0:
			c.fail(shownPct, "toleratedFailurePercentage", "Member must have value greater than or equal to 0")
		case *p > 100:
			c.fail(shownPct, "toleratedFailurePercentage", "Member must have value less than or equal to 100")
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	err := a.o.Service.UpdateMapRun(ctx, &service.UpdateMapRunInput{MapRunArn: *in.MapRunArn, MaxConcurrency: in.MaxConcurrency,
		ToleratedFailureCount: in.ToleratedFailureCount, ToleratedFailurePercentage: in.ToleratedFailurePercentage})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// mapRunExecutionItem is an ExecutionListItem of a Map Run's child execution: it names the Map
// Run and the items the child processed (one: Stepline does not batch items).
type mapRunExecutionItem struct {
	ExecutionArn    string `json:"executionArn"`
	StateMachineArn string `json:"stateMachineArn"`
	Name            string `json:"name"`
	Status          string `json:"status"`
	StartDate       epoch  `json:"startDate"`
	StopDate        *epoch `json:"stopDate,omitempty"`
	MapRunArn       string `json:"mapRunArn"`
	ItemCount       int    `json:"itemCount"`
	// As for any execution, redriveCount is 0 until the child is redriven.
	RedriveCount int64  `json:"redriveCount"`
	RedriveDate  *epoch `json:"redriveDate,omitempty"`
}

type listMapRunExecutionsOut struct {
	Executions []mapRunExecutionItem `json:"executions"`
	NextToken  string                `json:"nextToken,omitempty"`
}

// listMapRunExecutions is ListExecutions with a mapRunArn: the Map Run's child executions.
func (a *API) listMapRunExecutions(ctx context.Context, in *listExecutionsIn, page service.Page) (any, error) {
	if in.StateMachineArn != nil {
		return nil, &apiError{Code: codeValidation, Message: "Must specify either a stateMachineArn or a mapRunArn, not both"}
	}
	var redriven *bool
	if in.RedriveFilter != nil {
		r := *in.RedriveFilter == "REDRIVEN"
		redriven = &r
	}
	mr, children, next, err := a.o.Service.ListMapRunExecutions(ctx, &service.ListMapRunExecutionsInput{
		MapRunArn: *in.MapRunArn, Status: store.ExecutionStatus(deref(in.StatusFilter)), Redriven: redriven, Page: page,
	})
	if err != nil {
		return nil, err
	}
	out := listMapRunExecutionsOut{Executions: []mapRunExecutionItem{}, NextToken: next}
	for _, c := range children {
		item := mapRunExecutionItem{
			ExecutionArn: c.ExecutionArn, StateMachineArn: mr.StateMachineArn, Name: c.Name, Status: string(c.Status),
			StartDate: epoch(c.StartDate), StopDate: epochPtr(c.StopDate), MapRunArn: mr.Arn, ItemCount: 1,
		}
		if c.RedriveCount > 0 {
			item.RedriveCount, item.RedriveDate = c.RedriveCount, epochPtr(c.RedriveDate)
		}
		out.Executions = append(out.Executions, item)
	}
	return out, nil
}
