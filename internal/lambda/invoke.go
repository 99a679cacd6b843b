package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/stepline/stepline/internal/lambda/sandbox"
)

// drainLimit is how much of a refused request body is read before answering.
const drainLimit = 32 << 20

// tailBytes is how much of an invocation's log LogType Tail returns.
const tailBytes = 4096

// eventGrace bounds an Event invocation beyond its function's timeout: the wait for a free
// process and a cold start.
const eventGrace = 30 * time.Second

// Invoke invokes a function.
func (s *Service) Invoke(ctx context.Context, p *InvokeParams) (*InvokeResult, error) {
	res, e := s.invokeFunction(ctx, p)
	if e != nil {
		return nil, e
	}
	return res, nil
}

func (s *Service) invokeFunction(ctx context.Context, p *InvokeParams) (*InvokeResult, *Error) {
	typ := p.InvocationType
	if typ == "" {
		typ = "RequestResponse"
	}
	limit := maxSyncPayload
	switch typ {
	case "RequestResponse", "DryRun":
	case "Event":
		limit = maxEventPayload
	default:
		return nil, errConstraint(typ, "invocationType", "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
	}
	if p.LogType != "" && p.LogType != "None" && p.LogType != "Tail" {
		return nil, errConstraint(p.LogType, "logType", "Member must satisfy enum value set: [None, Tail]")
	}
	if len(p.Payload) > limit {
		return nil, apiError(codeTooLarge, http.StatusRequestEntityTooLarge,
			"Request must be smaller than %d bytes for the InvokeFunction operation", limit)
	}
	ref, e := s.parseName(p.FunctionName, p.Qualifier)
	if e != nil {
		return nil, e
	}
	f, e := s.lookup(ctx, ref.name)
	if e != nil {
		return nil, e
	}
	payload := p.Payload
	if len(payload) == 0 {
		payload = []byte("{}") // what Lambda hands a function invoked without a payload
	} else if err := checkJSON(payload); err != nil {
		return nil, errBadContent("Could not parse request body into json: Could not parse payload into json: %v", err)
	}
	if typ == "DryRun" {
		return &InvokeResult{StatusCode: http.StatusNoContent, ExecutedVersion: latest}, nil
	}
	if f.spec.Reserved && f.spec.Concurrency == 0 {
		return nil, errThrottled()
	}
	if e := s.ensureCode(ctx, f); e == errStale {
		if f, e = s.lookup(ctx, ref.name); e != nil {
			return nil, e
		}
		if e := s.ensureCode(ctx, f); e != nil {
			return nil, e
		}
	} else if e != nil {
		return nil, e
	}
	id := p.RequestID
	if id == "" {
		id = newID()
	}
	inv := &sandbox.Invocation{RequestID: id, Payload: payload, ClientContext: p.ClientContext, TailLog: p.LogType == "Tail",
		InvokedArn: f.spec.Arn, TraceID: p.TraceHeader}
	if ref.qualifier != "" {
		inv.InvokedArn += ":" + ref.qualifier
	}
	if typ == "Event" {
		switch s.startEvent() {
		case eventClosed:
			return nil, errService(errors.New("lambda: the service is shutting down"))
		case eventFull:
			s.o.Logger.Warn("lambda: Event invocation throttled: the queue is full", "function", f.spec.Function,
				"queued", s.o.MaxEventQueue)
			return nil, errThrottled()
		}
		go s.runEvent(f.spec, inv)
		return &InvokeResult{StatusCode: http.StatusAccepted, RequestID: id}, nil
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return nil, errService(errors.New("lambda: the service is shutting down"))
	}
	r, err := s.pool.Invoke(ctx, f.spec, inv)
	if errors.Is(err, sandbox.ErrThrottled) {
		return nil, errThrottled()
	}
	if err != nil {
		return nil, errService(fmt.Errorf("lambda: invoke %s: %w", f.stored.Name, err))
	}
	out := &InvokeResult{StatusCode: http.StatusOK, FunctionError: r.FunctionError, Payload: r.Payload,
		ExecutedVersion: latest, RequestID: id}
	if p.LogType == "Tail" {
		log := r.Log
		if len(log) > tailBytes {
			log = log[len(log)-tailBytes:]
		}
		out.LogResult = base64.StdEncoding.EncodeToString(log)
	}
	return out, nil
}

// checkJSON reports why a payload is not one JSON value.
func checkJSON(b []byte) error {
	if json.Valid(b) {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return errors.New("not a single JSON value")
}

func errThrottled() *Error {
	return apiError(codeThrottled, http.StatusTooManyRequests, "Rate Exceeded.")
}

const (
	eventStarted = iota
	eventClosed
	eventFull
)

// startEvent counts an Event invocation in, unless Close has begun (whose Wait must not race
// with an Add) or the queue is full.
func (s *Service) startEvent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return eventClosed
	}
	if s.queued >= s.o.MaxEventQueue {
		return eventFull
	}
	s.queued++
	s.events.Add(1)
	return eventStarted
}

// runEvent carries out an Event invocation. As Lambda's queue does, it retries while the
// function is throttled, here until the function's timeout (plus a grace) has passed.
func (s *Service) runEvent(spec *sandbox.Spec, inv *sandbox.Invocation) {
	defer s.events.Done()
	defer func() {
		s.mu.Lock()
		s.queued--
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), spec.Timeout+eventGrace)
	defer cancel()
	wait := 50 * time.Millisecond
	for {
		r, err := s.pool.Invoke(ctx, spec, inv)
		switch {
		case errors.Is(err, sandbox.ErrThrottled):
			if s.o.Clock.Sleep(ctx, wait) != nil {
				s.o.Logger.Warn("lambda: Event invocation dropped: throttled until its deadline",
					"function", spec.Function, "requestId", inv.RequestID)
				return
			}
			wait = min(2*wait, time.Second)
			continue
		case err != nil:
			s.o.Logger.Warn("lambda: Event invocation failed", "function", spec.Function, "requestId", inv.RequestID, "error", err)
		case r.FunctionError != "":
			s.o.Logger.Info("lambda: Event invocation ended with a function error", "function", spec.Function,
				"requestId", inv.RequestID, "payload", string(r.Payload))
		}
		return
	}
}

func (s *Service) invoke(w http.ResponseWriter, r *http.Request) {
	// One byte over the limit is enough to know the payload is too large.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSyncPayload+1))
	if err != nil {
		writeError(w, errBadContent("Could not read request body: %v", err))
		return
	}
	if len(body) > maxSyncPayload {
		// Read on (within reason) so that the client, still sending, gets the 413 rather than
		// a connection reset.
		_, _ = io.CopyN(io.Discard, r.Body, drainLimit)
	}
	res, e := s.invokeFunction(r.Context(), &InvokeParams{
		FunctionName: r.PathValue("name"), Qualifier: r.URL.Query().Get("Qualifier"),
		InvocationType: r.Header.Get("X-Amz-Invocation-Type"), LogType: r.Header.Get("X-Amz-Log-Type"),
		ClientContext: r.Header.Get("X-Amz-Client-Context"), Payload: body,
		// A caller's X-Ray header (an AWS SDK inside a traced function sends its
		// _X_AMZN_TRACE_ID) is the invoked function's, as on Lambda.
		TraceHeader: r.Header.Get("X-Amzn-Trace-Id"),
	})
	if e != nil {
		writeError(w, e)
		return
	}
	h := w.Header()
	h.Set("X-Amzn-Requestid", res.RequestID)
	if res.ExecutedVersion != "" {
		h.Set("X-Amz-Executed-Version", res.ExecutedVersion)
	}
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if res.LogResult != "" {
		h.Set("X-Amz-Log-Result", res.LogResult)
	}
	if res.StatusCode != http.StatusOK {
		w.WriteHeader(res.StatusCode)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Payload)
}
