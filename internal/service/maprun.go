package service

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/interp"
	"github.com/stepline/stepline/internal/store"
)

// Map Runs are not stored on their own: an execution keeps the records of the Map Runs it
// started in its snapshot (see interp.MapRun), and a Map Run's ARN names its execution. So
// every Map Run operation restores the execution from its snapshot and reads the record.

// defaultMapRunPage is the page size of ListMapRuns and of a Map Run's ListExecutions when
// maxResults is 0, as on AWS.
const defaultMapRunPage = 100

// DescribeMapRun returns a Map Run.
func (s *Service) DescribeMapRun(ctx context.Context, arn string) (*interp.MapRun, error) {
	parent, mr, err := s.mapRun(ctx, arn)
	if err != nil {
		return nil, err
	}
	if err := s.countNotRedrivable(ctx, parent, mr); err != nil {
		return nil, err
	}
	return mr, nil
}

// ListMapRunsInput is ListMapRuns's request.
type ListMapRunsInput struct {
	ExecutionArn string
	Page
}

// ListMapRuns lists the Map Runs an execution started, newest first.
func (s *Service) ListMapRuns(ctx context.Context, in *ListMapRunsInput) ([]interp.MapRun, string, error) {
	if err := checkPage(in.Page); err != nil {
		return nil, "", err
	}
	if _, err := parseARN(in.ExecutionArn, resExecution); err != nil {
		return nil, "", err
	}
	_, x, err := s.restoredExecution(ctx, in.ExecutionArn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", executionDoesNotExist(in.ExecutionArn, err)
	}
	if err != nil {
		return nil, "", err
	}
	runs := x.MapRunSummaries()
	from, err := decodeIndexToken(in.Token, "r", len(runs))
	if err != nil {
		return nil, "", err
	}
	var page []interp.MapRun
	next := pageDown(from, in.Limit, func(i int) bool {
		page = append(page, runs[i])
		return true
	})
	return page, encodeIndexToken(next, "r"), nil
}

// UpdateMapRunInput is UpdateMapRun's request; nil settings stay as they are.
type UpdateMapRunInput struct {
	MapRunArn                  string
	MaxConcurrency             *int
	ToleratedFailureCount      *int64
	ToleratedFailurePercentage *float64
}

// UpdateMapRun changes a running Map Run's MaxConcurrency and tolerated failures. The change
// reaches the execution through its inbox, like a stop request; UpdateMapRun returns once the
// execution applied it, so that a DescribeMapRun right after it sees the new settings.
func (s *Service) UpdateMapRun(ctx context.Context, in *UpdateMapRunInput) error {
	switch {
	case in.MaxConcurrency != nil && *in.MaxConcurrency < 0:
		return newError(CodeValidation, nil, "maxConcurrency must not be negative")
	case in.ToleratedFailureCount != nil && *in.ToleratedFailureCount < 0:
		return newError(CodeValidation, nil, "toleratedFailureCount must not be negative")
	case in.ToleratedFailurePercentage != nil && (*in.ToleratedFailurePercentage < 0 || *in.ToleratedFailurePercentage > 100):
		return newError(CodeValidation, nil, "toleratedFailurePercentage must be between 0 and 100")
	}
	x, mr, err := s.mapRun(ctx, in.MapRunArn)
	if err != nil {
		return err
	}
	if mr.Status != interp.MapRunRunning {
		return mapRunNotRunning(in.MapRunArn, nil)
	}
	if in.MaxConcurrency == nil && in.ToleratedFailureCount == nil && in.ToleratedFailurePercentage == nil {
		return nil // nothing to change
	}
	err = s.o.Engine.UpdateMapRun(ctx, x.Arn, interp.UpdateMapRun{MapRunArn: in.MapRunArn, MaxConcurrency: in.MaxConcurrency,
		ToleratedFailureCount: in.ToleratedFailureCount, ToleratedFailurePercentage: in.ToleratedFailurePercentage})
	if errors.Is(err, engine.ErrNotRunning) {
		return mapRunNotRunning(in.MapRunArn, err)
	}
	if err != nil {
		return fmt.Errorf("service: updating map run %s: %w", in.MapRunArn, err)
	}
	deadline := s.o.Clock.Now().Add(stopWait)
	for {
		_, now, err := s.mapRun(ctx, in.MapRunArn)
		if err != nil {
			return err
		}
		if now.Updates > mr.Updates || now.Status != interp.MapRunRunning || !s.o.Clock.Now().Before(deadline) {
			// Past the deadline the node holding the execution is slow or gone; the update is
			// queued and applied by whichever node runs the execution next.
			return nil
		}
		if err := s.o.Clock.Sleep(ctx, stopPoll); err != nil {
			return fmt.Errorf("service: waiting for the update of %s: %w", in.MapRunArn, err)
		}
	}
}

// mapRunNotRunning refuses to update a Map Run that ended: AWS documents UpdateMapRun for Map
// Runs in progress only.
func mapRunNotRunning(arn string, cause error) error {
	return newError(CodeValidation, cause, "Map Run is not running and cannot be updated: '%s'", arn)
}

// ListMapRunExecutionsInput is ListExecutions's request for a Map Run's child executions; an
// empty Status lists all.
type ListMapRunExecutionsInput struct {
	MapRunArn string
	Status    store.ExecutionStatus
	// Redriven, when set, lists only children that were (or were never) redriven: a Map Run's
	// children are redriven with their Map Run (see interp.MapRunChild).
	Redriven *bool
	Page
}

// ListMapRunExecutions lists a Map Run's child executions, newest first, with the Map Run.
func (s *Service) ListMapRunExecutions(ctx context.Context, in *ListMapRunExecutionsInput) (*interp.MapRun, []interp.MapRunChild, string, error) {
	if err := checkPage(in.Page); err != nil {
		return nil, nil, "", err
	}
	_, mr, x, err := s.mapRunOf(ctx, in.MapRunArn)
	if err != nil {
		return nil, nil, "", err
	}
	// Pages count down item indexes; items start in order, so the started ones come first.
	from, err := decodeIndexToken(in.Token, "c", int(mr.Items.Total))
	if err != nil {
		return nil, nil, "", err
	}
	var page []interp.MapRunChild
	next := pageDown(from, in.Limit, func(i int) bool {
		c, started := x.MapRunChildOf(mr.Arn, i)
		if !started || in.Status != "" && string(c.Status) != string(in.Status) {
			return false
		}
		if in.Redriven != nil && *in.Redriven != (c.RedriveCount > 0) {
			return false
		}
		page = append(page, c)
		return true
	})
	return mr, page, encodeIndexToken(next, "c"), nil
}

// pageDown visits indexes from-1 down to 0 until take accepted limit of them (0: the default
// page size), and returns where the next page starts (0: no next page).
func pageDown(from, limit int, take func(i int) bool) int {
	if limit == 0 {
		limit = defaultMapRunPage
	}
	taken := 0
	for i := from - 1; i >= 0; i-- {
		if taken == limit {
			return i + 1
		}
		if take(i) {
			taken++
		}
	}
	return 0
}

// Map Run pages count down from the newest, so pages stay put while newer Map Runs and child
// executions start: a token holds the index the next page starts below, and what it lists.
func encodeIndexToken(next int, kind string) string {
	if next == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte("m1:" + kind + ":" + strconv.Itoa(next)))
}

// decodeIndexToken returns where a page starts: n for the first page.
func decodeIndexToken(token, kind string, n int) (int, error) {
	if token == "" {
		return n, nil
	}
	bad := newError(CodeInvalidToken, nil, "Invalid Token: 'Invalid pagination token'")
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, bad
	}
	rest, ok := strings.CutPrefix(string(b), "m1:"+kind+":")
	if !ok {
		return 0, bad
	}
	from, err := strconv.Atoi(rest)
	if err != nil || from <= 0 || from > n {
		return 0, bad
	}
	return from, nil
}

// mapRun finds a Map Run by its ARN: the execution it names, and its record there (without its
// children).
func (s *Service) mapRun(ctx context.Context, arn string) (*store.Execution, *interp.MapRun, error) {
	ex, mr, _, err := s.mapRunOf(ctx, arn)
	return ex, mr, err
}

// mapRunOf is mapRun that also returns the restored execution, to read the children from.
func (s *Service) mapRunOf(ctx context.Context, arn string) (*store.Execution, *interp.MapRun, *interp.Execution, error) {
	a, err := parseARN(arn, resMapRun)
	if err != nil {
		return nil, nil, nil, err
	}
	machine, name, err := interp.ParseMapRunArn(arn)
	if err != nil {
		// Well formed, but no Map Run of this service has such an ARN.
		return nil, nil, nil, resourceNotFound(arn, err)
	}
	execArn := "arn:aws:states:" + a.Region + ":" + a.Account + ":" + resExecution + ":" + machine + ":" + name
	ex, x, err := s.restoredExecution(ctx, execArn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil, resourceNotFound(arn, err)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	for _, mr := range x.MapRunSummaries() {
		if mr.Arn == arn {
			return ex, &mr, x, nil
		}
	}
	return nil, nil, nil, resourceNotFound(arn, nil)
}

// restoredExecution reads an execution and restores it from its snapshot. A missing execution
// gives an error matching store.ErrNotFound. The execution returned is shared: callers only
// read it.
func (s *Service) restoredExecution(ctx context.Context, arn string) (*store.Execution, *interp.Execution, error) {
	ex, err := s.o.Store.ExecutionGet(ctx, &store.ExecutionGetParams{Arn: arn, WithState: true})
	if err != nil {
		return nil, nil, fmt.Errorf("service: reading execution %s: %w", arn, err)
	}
	if x := s.restored.get(arn, ex.Version); x != nil {
		return ex, x, nil
	}
	sm, err := s.o.Store.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: ex.StateMachineArn, RevisionID: ex.RevisionID})
	if err != nil {
		return nil, nil, fmt.Errorf("service: reading the state machine of %s: %w", arn, err)
	}
	def, err := s.o.Engine.Definition(sm)
	if err != nil {
		return nil, nil, fmt.Errorf("service: the definition of %s: %w", arn, err)
	}
	x, err := interp.Restore(def, ex.State)
	if err != nil {
		return nil, nil, fmt.Errorf("service: restoring %s: %w", arn, err)
	}
	s.restored.put(arn, ex.Version, x)
	return ex, x, nil
}
