package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/events"
	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/s3"
	"github.com/stepline/stepline/internal/service"
)

// eventTargets is what EventBridge delivers matched events to: this server's Step Functions
// and Lambda services. An error retrying cannot mend is marked permanent, so that the event
// goes to the target's dead letters at once, as AWS does for a missing target.
func eventTargets(svc *service.Service, lam *lambda.Service) events.Targets {
	return events.Targets{
		StartExecution: func(ctx context.Context, arn, name, input string) error {
			_, err := svc.StartExecution(ctx, &service.StartExecutionInput{StateMachineArn: arn, Name: name, Input: &input})
			var se *service.Error
			if errors.As(err, &se) {
				switch se.Code {
				case service.CodeExecutionAlreadyExists:
					// Its name is derived from the event, rule and target: this delivery started
					// it before (a retry after a lost answer, or another node's claim).
					return nil
				case service.CodeStateMachineDoesNotExist, service.CodeInvalidArn, service.CodeInvalidExecutionInput:
					return events.Permanent(err)
				}
			}
			return err
		},
		InvokeFunction: func(ctx context.Context, arn string, payload []byte) error {
			_, err := lam.Invoke(ctx, &lambda.InvokeParams{FunctionName: arn, InvocationType: "Event", Payload: payload})
			var le *lambda.Error
			if errors.As(err, &le) && (le.Code == "ResourceNotFoundException" || le.Code == "InvalidParameterValueException" ||
				le.Code == "RequestTooLargeException" || le.Code == "InvalidRequestContentException") {
				return events.Permanent(err)
			}
			return err
		},
	}
}

// statusEvents puts a "Step Functions Execution Status Change" event on the default bus for
// every status change the engine commits. The engine must not wait on EventBridge, so changes
// are queued and put in order by one goroutine; the queue is unbounded rather than lossy.
type statusEvents struct {
	ev  *events.Service
	log *slog.Logger

	mu      sync.Mutex
	queue   []engine.StatusChange
	ready   chan struct{}
	stop    chan struct{}
	stopped chan struct{}
}

func newStatusEvents(ev *events.Service, log *slog.Logger) *statusEvents {
	s := &statusEvents{ev: ev, log: log, ready: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go s.run()
	return s
}

// ExecutionStatusChanged implements engine.StatusObserver.
func (s *statusEvents) ExecutionStatusChanged(c engine.StatusChange) {
	s.mu.Lock()
	s.queue = append(s.queue, c)
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Close puts what is queued, then stops.
func (s *statusEvents) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.stopped
}

func (s *statusEvents) run() {
	defer close(s.stopped)
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		s.mu.Unlock()
		for _, c := range batch {
			if _, err := s.ev.PutAWSEvent(context.Background(), "aws.states", "Step Functions Execution Status Change",
				[]string{c.ExecutionArn}, statusDetail(c)); err != nil {
				s.log.Error("putting a status-change event", "execution", c.ExecutionArn, "status", c.Status, "err", err)
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-s.ready:
		case <-s.stop:
			s.mu.Lock()
			n := len(s.queue)
			s.mu.Unlock()
			if n == 0 {
				return
			}
		}
	}
}

// statusDetail is the event's detail as AWS documents it ("Step Functions Execution Status
// Change" in the Step Functions developer guide).
func statusDetail(c engine.StatusChange) map[string]any {
	d := map[string]any{
		"executionArn":    c.ExecutionArn,
		"stateMachineArn": c.StateMachineArn,
		"name":            c.Name,
		"status":          c.Status,
		"startDate":       c.StartDate.UnixMilli(),
		"stopDate":        nil,
		"input":           c.Input,
		"output":          nil,
		"inputDetails":    map[string]bool{"included": true},
		"outputDetails":   nil,
		"error":           nil,
		"cause":           nil,
		"redriveCount":    c.RedriveCount,
		"redriveDate":     nil,
	}
	switch c.Status {
	case "RUNNING", "SUCCEEDED":
		d["redriveStatus"] = "NOT_REDRIVABLE"
		d["redriveStatusReason"] = "Execution is " + c.Status + " and cannot be redriven"
	default:
		d["redriveStatus"] = "REDRIVABLE"
		d["redriveStatusReason"] = nil
	}
	if c.StopDate != nil {
		d["stopDate"] = c.StopDate.UnixMilli()
	}
	if c.RedriveDate != nil {
		d["redriveDate"] = c.RedriveDate.UnixMilli()
	}
	if c.Output != nil {
		d["output"] = *c.Output
		d["outputDetails"] = map[string]bool{"included": true}
	}
	if c.Error != nil {
		d["error"] = *c.Error
	}
	if c.Cause != nil {
		d["cause"] = *c.Cause
	}
	return d
}

// s3Events puts the object events of buckets with EventBridge notifications on the default
// bus, shaped as S3 sends them ("Amazon S3 Event Notifications … EventBridge" in the S3 user
// guide): Object Created with reason PutObject, Object Deleted with deletion-type Permanently
// Deleted. A file dropped in by hand is reported as a PutObject from this machine.
func s3Events(ev *events.Service, account string, log *slog.Logger) func(s3.ObjectEvent) {
	return func(e s3.ObjectEvent) {
		obj := map[string]any{"key": e.Key, "sequencer": fmt.Sprintf("%016X", e.Time.UnixNano())}
		d := map[string]any{"version": "0", "bucket": map[string]string{"name": e.Bucket}, "object": obj,
			"request-id": randomHex(8), "requester": account, "source-ip-address": "127.0.0.1"}
		typ := "Object Created"
		if e.Deleted {
			typ = "Object Deleted"
			d["reason"] = "DeleteObject"
			d["deletion-type"] = "Permanently Deleted"
		} else {
			obj["size"], obj["etag"] = e.Size, e.ETag
			d["reason"] = "PutObject"
		}
		if _, err := ev.PutAWSEvent(context.Background(), "aws.s3", typ, []string{"arn:aws:s3:::" + e.Bucket}, d); err != nil {
			log.Error("putting an S3 event", "bucket", e.Bucket, "key", e.Key, "err", err)
		}
	}
}
