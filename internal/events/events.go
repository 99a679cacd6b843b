// Package events is a local Amazon EventBridge: the EventBridge API (AWS JSON 1.1, X-Amz-Target
// AWSEvents.<Action>) on the serve port. It serves event buses (the default one and custom
// ones), rules and their targets (rules.go), PutEvents and the matching of events against
// rules' patterns (put.go, package pattern), the durable delivery of matched events to state
// machines, Lambda functions and other buses with retries and dead letters (deliver.go), and
// connections — CreateConnection, DescribeConnection, ListConnections, UpdateConnection,
// DeleteConnection — which Step Functions' HTTP Task (arn:aws:states:::http:invoke)
// authorizes its calls with. Rules with a ScheduleExpression are stored here and fired by
// the scheduler (Service.ScheduledRules, Service.FireScheduledRule).
//
// Connections are store entities (store.EventsEntity) whose document holds the credentials
// in clear text: EventBridge keeps them in a Secrets Manager secret that only the HTTP Task
// reads, and so here only the task runner reads them (Service.Connection). The API never
// returns a secret; DescribeConnection answers the secret's ARN instead, as AWS does. A
// connection is AUTHORIZED from its creation: the OAuth token is fetched by the caller (the
// HTTP Task) when it first needs one, not by EventBridge at creation.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/events/pattern"
	"github.com/stepline/stepline/internal/store"
)

// TargetPrefix is the X-Amz-Target prefix of the EventBridge API.
const TargetPrefix = "AWSEvents."

// maxBody bounds a request body: EventBridge's largest requests (PutEvents) are 1 MB.
const maxBody = 1 << 20

// Options configure a Service.
type Options struct {
	Store           store.Store
	Account, Region string
	Clock           clock.Clock
	Logger          *slog.Logger
	// RuleCacheTTL is how long a bus's compiled rules are used before they are read again
	// (default a second): another node's rule changes are seen within it.
	RuleCacheTTL time.Duration
	// RetryBase is the first retry's backoff of a failed delivery (default a second), doubled
	// at each retry up to five minutes.
	RetryBase time.Duration
	// PollInterval is how often stored deliveries are looked for when none was woken (default
	// 200ms); this node's own PutEvents wake the delivery loop at once.
	PollInterval time.Duration
}

// Service is the EventBridge service of one node. It is an http.Handler of the EventBridge
// API; it holds no state of its own beyond the store, so nodes sharing a database agree.
type Service struct {
	o     Options
	cache ruleCache

	mu        sync.Mutex
	targetFns Targets
	stop      context.CancelFunc
	stopped   chan struct{}
	wakeCh    chan struct{}

	matched, delivered, deadLettered atomic.Int64
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("events: a store is needed")
	}
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RuleCacheTTL <= 0 {
		o.RuleCacheTTL = time.Second
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	s := &Service{o: o, wakeCh: make(chan struct{}, 1)}
	s.cache.buses = map[string]*busRules{}
	s.cache.compiled = map[string]*pattern.Pattern{}
	return s, nil
}

// Error is an EventBridge API error: its __type, message and HTTP status.
type Error struct {
	Code    string
	Message string
	Status  int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

func validation(format string, args ...any) *Error {
	return errorf("ValidationException", http.StatusBadRequest, format, args...)
}

type action func(s *Service, ctx context.Context, input []byte) (any, error)

var actions = map[string]action{
	"CreateConnection":   (*Service).createConnection,
	"DescribeConnection": (*Service).describeConnection,
	"ListConnections":    (*Service).listConnections,
	"UpdateConnection":   (*Service).updateConnection,
	"DeleteConnection":   (*Service).deleteConnection,

	"CreateEventBus":        (*Service).createEventBus,
	"DescribeEventBus":      (*Service).describeEventBus,
	"DeleteEventBus":        (*Service).deleteEventBus,
	"ListEventBuses":        (*Service).listEventBuses,
	"PutRule":               (*Service).putRule,
	"DescribeRule":          (*Service).describeRule,
	"DeleteRule":            (*Service).deleteRule,
	"ListRules":             (*Service).listRules,
	"EnableRule":            (*Service).enableRule,
	"DisableRule":           (*Service).disableRule,
	"PutTargets":            (*Service).putTargets,
	"RemoveTargets":         (*Service).removeTargets,
	"ListTargetsByRule":     (*Service).listTargetsByRule,
	"ListRuleNamesByTarget": (*Service).listRuleNamesByTarget,
	"TestEventPattern":      (*Service).testEventPattern,
	"PutEvents":             (*Service).putEvents,
	// Stepline's own: dead letters are kept locally (see deliver.go).
	"ListDeadLetters": (*Service).listDeadLetters,
}

// ServeHTTP implements http.Handler for the EventBridge API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	if r.Method != http.MethodPost || !ok {
		writeError(w, errorf("UnknownOperationException", http.StatusBadRequest, "expected POST with X-Amz-Target AWSEvents.<Action>"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeError(w, validation("request body could not be read or is larger than %d bytes", maxBody))
		return
	}
	out, err := s.Call(r.Context(), name, body)
	if err != nil {
		writeError(w, err.(*Error))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_, _ = w.Write(out)
}

// Call runs one EventBridge action (its name without the AWSEvents. prefix) on a JSON request
// and returns the JSON response, or an *Error as EventBridge words it. It is the API without
// HTTP, for callers in the same process (the project deployer).
func (s *Service) Call(ctx context.Context, name string, input []byte) ([]byte, error) {
	act := actions[name]
	if act == nil {
		// Refused as an operation the service does not know, which no SDK retries.
		return nil, errorf("UnknownOperationException", http.StatusBadRequest,
			"Stepline's EventBridge does not serve %s; it serves buses, rules, targets, PutEvents, TestEventPattern and connections", name)
	}
	if len(input) == 0 {
		input = []byte("{}")
	}
	out, err := act(s, ctx, input)
	if err != nil {
		var ae *Error
		if !errors.As(err, &ae) {
			if f := store.Fault(s.o.Store, err); f != nil {
				ae = errorf("ServiceUnavailableException", http.StatusServiceUnavailable, "%s", f.Error())
			} else {
				s.o.Logger.Error("events: internal error", "action", name, "err", err)
				ae = errorf("InternalException", http.StatusInternalServerError, "%s", err.Error())
			}
		}
		return nil, ae
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, errorf("InternalException", http.StatusInternalServerError, "encode response: %s", err)
	}
	return b, nil
}

func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", e.Code)
	w.WriteHeader(e.Status)
	b, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message}) // strings always marshal
	_, _ = w.Write(b)
}

// decode reads a request into v; unknown fields are ignored, as AWS ignores them.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return validation("request body is not valid: %s", err)
	}
	return nil
}

// epoch is a time as AWS JSON 1.1 sends it: seconds since the epoch, with milliseconds.
type epoch struct{ time.Time }

func at(t time.Time) *epoch { return &epoch{t.UTC().Truncate(time.Millisecond)} }

// MarshalJSON implements json.Marshaler.
func (e epoch) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", float64(e.UnixMilli())/1000)), nil
}
