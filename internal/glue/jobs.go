package glue

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// Job run states, as GetJobRun reports them.
const (
	runStarting  = "STARTING"
	runRunning   = "RUNNING"
	runStopping  = "STOPPING"
	runStopped   = "STOPPED"
	runSucceeded = "SUCCEEDED"
	runFailed    = "FAILED"
	runTimeout   = "TIMEOUT"
)

func runEnded(state string) bool {
	switch state {
	case runStopped, runSucceeded, runFailed, runTimeout, "ERROR", "EXPIRED":
		return true
	}
	return false
}

// defaultTimeout is Glue's default job timeout, in minutes (48 hours).
const defaultTimeout = 2880

// JobCommand is what a job runs.
type JobCommand struct {
	Name           string `json:"Name,omitempty"`
	ScriptLocation string `json:"ScriptLocation,omitempty"`
	PythonVersion  string `json:"PythonVersion,omitempty"`
	Runtime        string `json:"Runtime,omitempty"`
}

// ExecutionProperty holds a job's MaxConcurrentRuns.
type ExecutionProperty struct {
	MaxConcurrentRuns int `json:"MaxConcurrentRuns"`
}

// Job is a job as GetJob returns it.
type Job struct {
	Name                    string             `json:"Name"`
	Description             string             `json:"Description,omitempty"`
	LogURI                  string             `json:"LogUri,omitempty"`
	Role                    string             `json:"Role,omitempty"`
	CreatedOn               *epoch             `json:"CreatedOn,omitempty"`
	LastModifiedOn          *epoch             `json:"LastModifiedOn,omitempty"`
	ExecutionProperty       *ExecutionProperty `json:"ExecutionProperty,omitempty"`
	Command                 *JobCommand        `json:"Command,omitempty"`
	DefaultArguments        map[string]string  `json:"DefaultArguments,omitempty"`
	NonOverridableArguments map[string]string  `json:"NonOverridableArguments,omitempty"`
	Connections             json.RawMessage    `json:"Connections,omitempty"`
	MaxRetries              int                `json:"MaxRetries"`
	AllocatedCapacity       int                `json:"AllocatedCapacity"`
	Timeout                 int                `json:"Timeout,omitempty"`
	MaxCapacity             float64            `json:"MaxCapacity,omitempty"`
	WorkerType              string             `json:"WorkerType,omitempty"`
	NumberOfWorkers         int                `json:"NumberOfWorkers,omitempty"`
	GlueVersion             string             `json:"GlueVersion,omitempty"`
	ExecutionClass          string             `json:"ExecutionClass,omitempty"`
	NotificationProperty    json.RawMessage    `json:"NotificationProperty,omitempty"`
	SecurityConfiguration   string             `json:"SecurityConfiguration,omitempty"`
	JobMode                 string             `json:"JobMode,omitempty"`
}

// JobRun is a job run as GetJobRun returns it.
type JobRun struct {
	ID                string            `json:"Id"`
	Attempt           int               `json:"Attempt"`
	PreviousRunID     string            `json:"PreviousRunId,omitempty"`
	JobName           string            `json:"JobName"`
	JobMode           string            `json:"JobMode,omitempty"`
	StartedOn         *epoch            `json:"StartedOn,omitempty"`
	LastModifiedOn    *epoch            `json:"LastModifiedOn,omitempty"`
	CompletedOn       *epoch            `json:"CompletedOn,omitempty"`
	JobRunState       string            `json:"JobRunState"`
	Arguments         map[string]string `json:"Arguments,omitempty"`
	ErrorMessage      string            `json:"ErrorMessage,omitempty"`
	PredecessorRuns   []json.RawMessage `json:"PredecessorRuns"`
	AllocatedCapacity int               `json:"AllocatedCapacity"`
	ExecutionTime     int64             `json:"ExecutionTime"`
	Timeout           int               `json:"Timeout,omitempty"`
	MaxCapacity       float64           `json:"MaxCapacity,omitempty"`
	WorkerType        string            `json:"WorkerType,omitempty"`
	NumberOfWorkers   int               `json:"NumberOfWorkers,omitempty"`
	LogGroupName      string            `json:"LogGroupName,omitempty"`
	GlueVersion       string            `json:"GlueVersion,omitempty"`
	ExecutionClass    string            `json:"ExecutionClass,omitempty"`
}

// jobInput is CreateJob's request, and UpdateJob's JobUpdate.
type jobInput struct {
	Name                    string
	Description             *string
	LogURI                  *string `json:"LogUri"`
	Role                    *string
	ExecutionProperty       *ExecutionProperty
	Command                 *JobCommand
	DefaultArguments        map[string]string
	NonOverridableArguments map[string]string
	Connections             json.RawMessage
	MaxRetries              *int
	Timeout                 *int
	MaxCapacity             *float64
	WorkerType              *string
	NumberOfWorkers         *int
	GlueVersion             *string
	ExecutionClass          *string
	NotificationProperty    json.RawMessage
	SecurityConfiguration   *string
	JobMode                 *string
}

// apply sets the input's fields on j and gives the others their defaults (CreateJob, and
// UpdateJob, which replaces a whole definition).
func (in *jobInput) apply(j *Job) error {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&j.Description, in.Description)
	set(&j.LogURI, in.LogURI)
	set(&j.Role, in.Role)
	set(&j.WorkerType, in.WorkerType)
	set(&j.GlueVersion, in.GlueVersion)
	set(&j.ExecutionClass, in.ExecutionClass)
	set(&j.SecurityConfiguration, in.SecurityConfiguration)
	set(&j.JobMode, in.JobMode)
	j.ExecutionProperty = &ExecutionProperty{MaxConcurrentRuns: 1}
	if in.ExecutionProperty != nil && in.ExecutionProperty.MaxConcurrentRuns > 0 {
		j.ExecutionProperty.MaxConcurrentRuns = in.ExecutionProperty.MaxConcurrentRuns
	}
	if in.Command != nil {
		c := *in.Command
		switch c.Name {
		case "pythonshell":
			if c.PythonVersion == "" {
				c.PythonVersion = "3.9"
			}
		case "glueetl", "gluestreaming", "gluedev":
			if c.PythonVersion == "" {
				c.PythonVersion = "3"
			}
		case "":
			c.Name = "glueetl"
		default:
			return invalidInput("Command name %q is not one Glue knows (pythonshell, glueetl, gluestreaming)", c.Name)
		}
		if c.ScriptLocation != "" {
			if _, _, err := parseS3(c.ScriptLocation); err != nil {
				return err
			}
		}
		j.Command = &c
	}
	j.DefaultArguments = in.DefaultArguments
	if in.NonOverridableArguments != nil {
		j.NonOverridableArguments = in.NonOverridableArguments
	}
	if in.Connections != nil {
		j.Connections = in.Connections
	}
	if in.NotificationProperty != nil {
		j.NotificationProperty = in.NotificationProperty
	}
	if in.MaxRetries != nil {
		if *in.MaxRetries < 0 || *in.MaxRetries > 10 {
			return invalidInput("MaxRetries must be between 0 and 10")
		}
		j.MaxRetries = *in.MaxRetries
	}
	if in.Timeout != nil {
		if *in.Timeout < 1 {
			return invalidInput("1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1", *in.Timeout)
		}
		j.Timeout = *in.Timeout
	} else {
		j.Timeout = defaultTimeout
	}
	if in.MaxCapacity != nil {
		j.MaxCapacity = *in.MaxCapacity
	} else if j.Command != nil && j.Command.Name == "pythonshell" {
		j.MaxCapacity = 0.0625
	}
	if in.NumberOfWorkers != nil {
		j.NumberOfWorkers = *in.NumberOfWorkers
	}
	if j.Role == "" {
		return invalidInput("Role is required")
	}
	if j.Command == nil {
		return invalidInput("Command is required")
	}
	return nil
}

func (s *Service) readJob(ctx context.Context, name string) (*Job, *store.GlueEntity, error) {
	e, err := s.o.Store.GlueGet(ctx, &store.GlueGetParams{Kind: store.GlueJob, Name: name})
	if err != nil {
		return nil, nil, storeErr(err, "Job "+name)
	}
	var j Job
	if err := json.Unmarshal(e.Doc, &j); err != nil {
		return nil, nil, fmt.Errorf("glue: job %s: %w", name, err)
	}
	return &j, e, nil
}

func (s *Service) createJob(ctx context.Context, body []byte) (any, error) {
	var in jobInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := s.checkName("name", in.Name); err != nil {
		return nil, err
	}
	now := s.o.Clock.Now()
	j := Job{Name: in.Name, CreatedOn: at(now), LastModifiedOn: at(now)}
	if err := in.apply(&j); err != nil {
		return nil, err
	}
	doc, _ := json.Marshal(j)
	_, err := s.o.Store.GlueCreate(ctx, &store.GlueCreateParams{Kind: store.GlueJob, Name: j.Name, Doc: doc, Now: now})
	if errors.Is(err, store.ErrGlueAlreadyExists) {
		return nil, errorf("AlreadyExistsException", "Job with name %s already exists.", j.Name)
	}
	if err != nil {
		return nil, err
	}
	return map[string]string{"Name": j.Name}, nil
}

func (s *Service) getJob(ctx context.Context, body []byte) (any, error) {
	var in struct{ JobName string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	j, _, err := s.readJob(ctx, in.JobName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Job": j}, nil
}

func (s *Service) jobPage(ctx context.Context, body []byte) ([]*store.GlueEntity, string, error) {
	var in struct {
		NextToken  string
		MaxResults int
	}
	if err := decode(body, &in); err != nil {
		return nil, "", err
	}
	limit, err := page(in.MaxResults)
	if err != nil {
		return nil, "", err
	}
	res, err := s.o.Store.GlueList(ctx, &store.GlueListParams{Kind: store.GlueJob, Limit: limit, Cursor: in.NextToken})
	if err != nil {
		return nil, "", storeErr(err, "")
	}
	return res.Entities, res.NextCursor, nil
}

func (s *Service) getJobs(ctx context.Context, body []byte) (any, error) {
	es, next, err := s.jobPage(ctx, body)
	if err != nil {
		return nil, err
	}
	list := []json.RawMessage{}
	for _, e := range es {
		list = append(list, e.Doc)
	}
	return map[string]any{"Jobs": list, "NextToken": omit(next)}, nil
}

func (s *Service) listJobs(ctx context.Context, body []byte) (any, error) {
	es, next, err := s.jobPage(ctx, body)
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, e := range es {
		names = append(names, e.Name)
	}
	return map[string]any{"JobNames": names, "NextToken": omit(next)}, nil
}

func (s *Service) updateJob(ctx context.Context, body []byte) (any, error) {
	var in struct {
		JobName   string
		JobUpdate *jobInput
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.JobUpdate == nil {
		return nil, invalidInput("JobUpdate is required")
	}
	j, e, err := s.readJob(ctx, in.JobName)
	if err != nil {
		return nil, err
	}
	// As on AWS, JobUpdate overwrites the previous definition completely: what it leaves out
	// goes back to its default.
	now := s.o.Clock.Now()
	j = &Job{Name: j.Name, CreatedOn: j.CreatedOn}
	if err := in.JobUpdate.apply(j); err != nil {
		return nil, err
	}
	j.LastModifiedOn = at(now)
	doc, _ := json.Marshal(j)
	if _, err := s.o.Store.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: store.GlueJob, Name: j.Name, IfVersion: e.Version, Doc: doc, Now: now}); err != nil {
		return nil, conflictRetry(err)
	}
	return map[string]string{"JobName": j.Name}, nil
}

func (s *Service) deleteJob(ctx context.Context, body []byte) (any, error) {
	var in struct{ JobName string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	// Glue answers a missing job with its name, as if deleted. Its runs go with it.
	err := s.o.Store.GlueDelete(ctx, &store.GlueDeleteParams{Kind: store.GlueJob, Name: in.JobName,
		Children: []store.GlueChildren{{Kind: store.GlueJobRun, Parent: in.JobName}, {Kind: kindRunToken, Parent: in.JobName}}})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return map[string]string{"JobName": in.JobName}, nil
}

// newRunID makes a run id of Glue's shape, jr_ and 64 hex digits, whose first 16 digits count
// down with time, so that a job's runs sort newest first, as GetJobRuns lists them.
func newRunID(now time.Time) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("jr_%016x%s", uint64(math.MaxInt64-now.UnixNano()), hex.EncodeToString(b[:]))
}

func (s *Service) readRun(ctx context.Context, job, id string) (*JobRun, *store.GlueEntity, error) {
	e, err := s.o.Store.GlueGet(ctx, &store.GlueGetParams{Kind: store.GlueJobRun, Parent: job, Name: id})
	if err != nil {
		return nil, nil, storeErr(err, "Job Run "+id)
	}
	var r JobRun
	if err := json.Unmarshal(e.Doc, &r); err != nil {
		return nil, nil, fmt.Errorf("glue: job run %s: %w", id, err)
	}
	return &r, e, nil
}

func (s *Service) startJobRun(ctx context.Context, body []byte) (any, error) {
	return s.startJobRunAs(ctx, body, "")
}

// kindRunToken is the store kind of StartJobRunOnce's tokens (under their job): each holds the
// id of the run its token started.
const kindRunToken = "jobruntoken"

func (s *Service) startJobRunOnce(ctx context.Context, token string, body []byte) (any, error) {
	var in struct{ JobName string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, _, err := s.readJob(ctx, in.JobName); err != nil {
		return nil, err
	}
	key := &store.GlueGetParams{Kind: kindRunToken, Parent: in.JobName, Name: token}
	e, err := s.o.Store.GlueGet(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		// The run's id is reserved before the run is made: a caller that stops in between
		// finds the id again and makes the run then.
		now := s.o.Clock.Now()
		e, err = s.o.Store.GlueCreate(ctx, &store.GlueCreateParams{Kind: kindRunToken, Parent: in.JobName, Name: token,
			Doc: []byte(newRunID(now)), Now: now})
		if errors.Is(err, store.ErrGlueAlreadyExists) {
			e, err = s.o.Store.GlueGet(ctx, key)
		}
	}
	if err != nil {
		return nil, err
	}
	id := string(e.Doc)
	_, _, err = s.readRun(ctx, in.JobName, id)
	var ae *Error
	switch {
	case err == nil:
		return map[string]string{"JobRunId": id}, nil
	case !errors.As(err, &ae) || ae.Code != "EntityNotFoundException":
		return nil, err
	}
	return s.startJobRunAs(ctx, body, id)
}

// startJobRunAs starts a run as StartJobRun asks, with the given id (a new one when empty).
func (s *Service) startJobRunAs(ctx context.Context, body []byte, id string) (any, error) {
	var in struct {
		JobName     string
		JobRunID    string `json:"JobRunId"`
		Arguments   map[string]string
		Timeout     int
		MaxCapacity float64
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	j, _, err := s.readJob(ctx, in.JobName)
	if err != nil {
		return nil, err
	}
	var prev *JobRun
	if in.JobRunID != "" {
		if prev, _, err = s.readRun(ctx, j.Name, in.JobRunID); err != nil {
			return nil, err
		}
	}
	args := map[string]string{}
	for k, v := range j.DefaultArguments {
		args[k] = v
	}
	for k, v := range in.Arguments {
		args[k] = v
	}
	for k, v := range j.NonOverridableArguments {
		args[k] = v
	}
	timeout := j.Timeout
	if in.Timeout > 0 {
		timeout = in.Timeout
	}
	if timeout == 0 {
		timeout = defaultTimeout
	}
	r := &JobRun{ID: id, JobName: j.Name, Arguments: in.Arguments, Timeout: timeout, MaxCapacity: j.MaxCapacity, WorkerType: j.WorkerType,
		NumberOfWorkers: j.NumberOfWorkers, GlueVersion: j.GlueVersion, ExecutionClass: j.ExecutionClass, JobMode: j.JobMode}
	if in.MaxCapacity > 0 {
		r.MaxCapacity = in.MaxCapacity
	}
	if prev != nil {
		r.PreviousRunID = prev.ID
	}
	id, err = s.launch(ctx, j, r, args)
	if err != nil {
		return nil, err
	}
	return map[string]string{"JobRunId": id}, nil
}

// launch records a new run (STARTING, owned by this node, counted against the job's
// MaxConcurrentRuns in the same transaction) and starts it. The run gets a new id unless it
// has one.
func (s *Service) launch(ctx context.Context, j *Job, r *JobRun, args map[string]string) (string, error) {
	now := s.o.Clock.Now()
	if r.ID == "" {
		r.ID = newRunID(now)
	}
	r.JobRunState, r.StartedOn, r.LastModifiedOn = runStarting, at(now), at(now)
	r.PredecessorRuns = []json.RawMessage{}
	r.LogGroupName = "/aws-glue/jobs"
	if j.Command.Name == "pythonshell" {
		r.LogGroupName = "/aws-glue/python-jobs"
	}
	limit := 1
	if j.ExecutionProperty != nil && j.ExecutionProperty.MaxConcurrentRuns > 0 {
		limit = j.ExecutionProperty.MaxConcurrentRuns
	}
	doc, _ := json.Marshal(r)
	_, err := s.o.Store.GlueCreate(ctx, &store.GlueCreateParams{Kind: store.GlueJobRun, Parent: j.Name, Name: r.ID, Doc: doc,
		Active: true, Owner: s.o.NodeID, ActiveLimit: limit, Now: now})
	if errors.Is(err, store.ErrGlueLimit) {
		return "", errorf("ConcurrentRunsExceededException", "Concurrent runs exceeded for %s", j.Name)
	}
	if err != nil {
		return "", err
	}
	job := *j
	started := s.goTracked(func() { s.runJob(&job, r.ID, args) })
	if !started {
		s.endRun(j.Name, r.ID, runFailed, "Job run was not started: the Stepline server is stopping")
		return "", errorf("InternalServiceException", "the service is shutting down")
	}
	return r.ID, nil
}

func (s *Service) getJobRun(ctx context.Context, body []byte) (any, error) {
	var in struct {
		JobName string
		RunID   string `json:"RunId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, _, err := s.readJob(ctx, in.JobName); err != nil {
		return nil, err
	}
	r, _, err := s.readRun(ctx, in.JobName, in.RunID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"JobRun": s.runView(r)}, nil
}

// runView shows a run's ExecutionTime as it grows while the run goes on.
func (s *Service) runView(r *JobRun) *JobRun {
	if !runEnded(r.JobRunState) && r.StartedOn != nil {
		r.ExecutionTime = int64(s.o.Clock.Now().Sub(r.StartedOn.Time) / time.Second)
	}
	return r
}

func (s *Service) getJobRuns(ctx context.Context, body []byte) (any, error) {
	var in struct {
		JobName, NextToken string
		MaxResults         int
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit, err := page(in.MaxResults)
	if err != nil {
		return nil, err
	}
	if limit > 200 {
		return nil, invalidInput("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 200", limit)
	}
	if _, _, err := s.readJob(ctx, in.JobName); err != nil {
		return nil, err
	}
	res, err := s.o.Store.GlueList(ctx, &store.GlueListParams{Kind: store.GlueJobRun, Parent: in.JobName, Limit: limit, Cursor: in.NextToken})
	if err != nil {
		return nil, storeErr(err, "")
	}
	list := []*JobRun{}
	for _, e := range res.Entities {
		var r JobRun
		if err := json.Unmarshal(e.Doc, &r); err != nil {
			return nil, fmt.Errorf("glue: job run %s: %w", e.Name, err)
		}
		list = append(list, s.runView(&r))
	}
	return map[string]any{"JobRuns": list, "NextToken": omit(res.NextCursor)}, nil
}

func (s *Service) batchStopJobRun(ctx context.Context, body []byte) (any, error) {
	var in struct {
		JobName   string
		JobRunIDs []string `json:"JobRunIds"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.JobRunIDs) == 0 || len(in.JobRunIDs) > 25 {
		return nil, invalidInput("1 validation error detected: Value at 'jobRunIds' failed to satisfy constraint: Member must have length between 1 and 25")
	}
	ok, errs := []any{}, []any{}
	for _, id := range in.JobRunIDs {
		if msg := s.requestStop(ctx, in.JobName, id); msg != "" {
			errs = append(errs, map[string]any{"JobName": in.JobName, "JobRunId": id,
				"ErrorDetail": map[string]string{"ErrorCode": "InvalidInputException", "ErrorMessage": msg}})
			continue
		}
		ok = append(ok, map[string]string{"JobName": in.JobName, "JobRunId": id})
	}
	return map[string]any{"SuccessfulSubmissions": ok, "Errors": errs}, nil
}

// requestStop marks a run STOPPING (its owner kills it: at once when this node runs it, else
// within a poll) and returns why it could not, or "".
func (s *Service) requestStop(ctx context.Context, job, id string) string {
	for {
		r, e, err := s.readRun(ctx, job, id)
		if err != nil {
			return "Job Run " + id + " not found"
		}
		if runEnded(r.JobRunState) {
			return fmt.Sprintf("Job Run %s is in a terminal state %s and cannot be stopped", id, r.JobRunState)
		}
		if r.JobRunState != runStopping {
			r.JobRunState, r.LastModifiedOn = runStopping, at(s.o.Clock.Now())
			doc, _ := json.Marshal(r)
			_, err = s.o.Store.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: store.GlueJobRun, Parent: job, Name: id, IfVersion: e.Version,
				Doc: doc, Active: true, Owner: e.Owner, Now: s.o.Clock.Now()})
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return "Job Run " + id + " could not be stopped: " + err.Error()
			}
		}
		s.mu.Lock()
		if p := s.runs[id]; p != nil {
			p.stop(runStopped)
		}
		s.mu.Unlock()
		return ""
	}
}

// endRun records a run's end, once: a run already ended stays as it is.
func (s *Service) endRun(job, id, state, msg string) *JobRun {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		r, e, err := s.readRun(ctx, job, id)
		if err != nil {
			s.o.Logger.Error("glue: job run end", "job", job, "run", id, "err", err)
			return nil
		}
		if runEnded(r.JobRunState) {
			return r
		}
		now := s.o.Clock.Now()
		r.JobRunState, r.ErrorMessage, r.CompletedOn, r.LastModifiedOn = state, msg, at(now), at(now)
		if r.StartedOn != nil {
			r.ExecutionTime = int64(math.Round(now.Sub(r.StartedOn.Time).Seconds()))
		}
		doc, _ := json.Marshal(r)
		_, err = s.o.Store.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: store.GlueJobRun, Parent: job, Name: id, IfVersion: e.Version,
			Doc: doc, Now: now})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			s.o.Logger.Error("glue: job run end", "job", job, "run", id, "err", err)
			return nil
		}
		return r
	}
	return nil
}

// setRunning moves a run from STARTING to RUNNING, unless a stop came first.
func (s *Service) setRunning(ctx context.Context, job, id string) bool {
	for {
		r, e, err := s.readRun(ctx, job, id)
		if err != nil || r.JobRunState != runStarting {
			return false
		}
		r.JobRunState, r.LastModifiedOn = runRunning, at(s.o.Clock.Now())
		doc, _ := json.Marshal(r)
		_, err = s.o.Store.GlueUpdate(ctx, &store.GlueUpdateParams{Kind: store.GlueJobRun, Parent: job, Name: id, IfVersion: e.Version,
			Doc: doc, Active: true, Owner: e.Owner, Now: s.o.Clock.Now()})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return err == nil
	}
}

// recoverRuns fails the runs this node was running when it stopped without Close.
func (s *Service) recoverRuns(ctx context.Context) error {
	for cursor := ""; ; {
		res, err := s.o.Store.GlueList(ctx, &store.GlueListParams{Kind: store.GlueJobRun, AnyParent: true, Owner: s.o.NodeID,
			Limit: store.MaxPageSize, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("glue: recover job runs: %w", err)
		}
		ids := map[string]bool{}
		for _, e := range res.Entities {
			ids[e.Name] = true
		}
		// The script died with the server (Pdeathsig), but what it started did not: those
		// processes are found by the run id in their environment and killed, before the run
		// is ended, so that a run said FAILED has nothing of it still writing.
		killRunProcesses(ids, s.o.Logger)
		for _, e := range res.Entities {
			// The run's copy of its script, which the run removes when it ends.
			if err := os.RemoveAll(filepath.Join(s.o.Dir, "glue", "runs", e.Name)); err != nil {
				s.o.Logger.Warn("glue: remove an interrupted run's folder", "run", e.Name, "err", err)
			}
			state, msg := interruptedRun(e, fmt.Sprintf(
				"Job run was interrupted: the Stepline server (node %s) that ran it stopped before the run ended", s.o.NodeID))
			s.endRun(e.Parent, e.Name, state, msg)
		}
		if cursor = res.NextCursor; cursor == "" {
			return nil
		}
	}
}

// interruptedRun is how a run whose node stopped during it ends: FAILED with msg, or STOPPED
// when a stop had been asked (STOPPING), since its process is gone as asked.
func interruptedRun(e *store.GlueEntity, msg string) (state, message string) {
	var r JobRun
	if json.Unmarshal(e.Doc, &r) == nil && r.JobRunState == runStopping {
		return runStopped, ""
	}
	return runFailed, msg
}

// jobID is the --JOB_ID Glue passes: j_ and hex digits, the same for every run of a job.
func jobID(j *Job) string {
	h := sha256.Sum256([]byte(j.Name + "\x00" + j.CreatedOn.String()))
	return "j_" + hex.EncodeToString(h[:])
}

// argv is the argument list Glue gives a script: --key value for each argument (keys as the
// job's arguments spell them, sorted, so runs are reproducible), then --JOB_ID, --JOB_RUN_ID
// and --JOB_NAME.
func argv(j *Job, runID string, args map[string]string) []string {
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		switch k {
		case "--JOB_ID", "--JOB_RUN_ID", "--JOB_NAME":
			continue
		}
		out = append(out, k, args[k])
	}
	return append(out, "--JOB_ID", jobID(j), "--JOB_RUN_ID", runID, "--JOB_NAME", j.Name)
}

// scriptPath is the local file behind a job's ScriptLocation.
func (s *Service) scriptPath(loc string) (string, error) {
	bucket, key, err := parseS3(loc)
	if err != nil {
		return "", err
	}
	if key == "" || strings.HasSuffix(key, "/") {
		return "", fmt.Errorf("ScriptLocation %s names no object", loc)
	}
	if s.bound(bucket) {
		return s.boundScript(bucket, key, loc)
	}
	p := filepath.Join(s.o.Dir, "s3", bucket, filepath.FromSlash(key))
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("failed to download script from %s: the object does not exist", loc)
	}
	return p, nil
}

// getRunLogs is where a run's output and error streams are kept, as Glue's log groups
// /aws-glue/python-jobs/output and …/error keep them.
func (s *Service) runLogs(j *Job, runID string) (out, errPath string) {
	group := "jobs"
	if j.Command.Name == "pythonshell" {
		group = "python-jobs"
	}
	base := filepath.Join(s.o.Dir, "glue", "logs", group)
	return filepath.Join(base, "output", runID), filepath.Join(base, "error", runID)
}
