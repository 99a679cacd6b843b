package server

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/sigv4"
)

// protocol is how an AWS service frames its requests and, what the router cares about, its
// errors: each SDK parses an error only in its service's shape.
type protocol int

const (
	// awsJSON is AWS JSON 1.0 or 1.1: POST / with X-Amz-Target; errors are {"__type","message"}
	// with X-Amzn-Errortype (Step Functions, EventBridge, Glue).
	awsJSON protocol = iota + 1
	// restJSON is REST with JSON bodies; errors are X-Amzn-Errortype and {"Type","message"}
	// (Lambda, EventBridge Scheduler).
	restJSON
	// restXML is S3's REST: errors are <Error><Code/><Message/></Error>.
	restXML
	// awsQuery is the form-encoded query protocol (SNS, STS, IAM…), which Stepline serves for
	// no service but answers in its shape, <ErrorResponse><Error>…, when naming the service.
	awsQuery
)

// route is one AWS service on the serve port: how requests for it are recognised, how its
// errors are shaped and how much body the router reads to verify a signature.
type route struct {
	// name is the service's SigV4 signing name ("states", "lambda", "s3"…): REST requests are
	// routed by it, and JSON requests signed for it without a target reach handler.
	name string
	// title is how people call it, in messages.
	title string
	// target is the X-Amz-Target prefix of a JSON protocol ("AWSStepFunctions."), "" for REST.
	target string
	// contentType is a JSON protocol's ("application/x-amz-json-1.0" or "-1.1").
	contentType string
	protocol    protocol
	// maxBody bounds the body the router reads to verify a signature; it should be at least
	// what the service itself accepts, so that the service words its own limit.
	maxBody int64
	handler http.Handler
	// slots bounds the requests served at once (see limits.go); nil: no bound.
	slots chan struct{}
}

// router is the one http.Handler of the serve port. It finds the service of each request (JSON
// protocols by X-Amz-Target, REST protocols by the service of the SigV4 credential scope),
// verifies its signature once when --auth is on, and answers requests for services Stepline
// does not serve with an error naming the service, in that protocol's shape. Unsigned requests
// without a target go to other (health, metrics, the Step Functions API on POST /).
type router struct {
	services []*route
	byName   map[string]*route
	auth     sigv4.Credentials
	clock    clock.Clock
	log      *slog.Logger
	other    http.Handler
}

func newRouter(services []*route, auth sigv4.Credentials, clk clock.Clock, log *slog.Logger) *router {
	rt := &router{services: services, byName: map[string]*route{}, auth: auth, clock: clk, log: log}
	for _, s := range services {
		rt.byName[s.name] = s
	}
	return rt
}

// serve returns a handler that sends every request to the named service, for the routes of
// other that belong to one.
func (rt *router) serve(name string) http.Handler {
	s := rt.byName[name]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rt.dispatch(w, r, s) })
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// JSON protocols post to / and name the action in X-Amz-Target.
	if target := r.Header.Get("X-Amz-Target"); target != "" && r.Method == http.MethodPost && r.URL.Path == "/" {
		for _, s := range rt.services {
			if s.target != "" && strings.HasPrefix(target, s.target) {
				rt.dispatch(w, r, s)
				return
			}
		}
		// The target names the service better than a scope signed for one that is served.
		name := sigv4.ServiceOf(r)
		if name == "" || rt.byName[name] != nil {
			name, _, _ = strings.Cut(target, ".")
		}
		rt.notServed(w, r, name, awsJSON, "X-Amz-Target "+target)
		return
	}
	name := sigv4.ServiceOf(r)
	if name == "" {
		rt.other.ServeHTTP(w, r)
		return
	}
	if s := rt.byName[name]; s != nil {
		rt.dispatch(w, r, s)
		return
	}
	rt.notServed(w, r, name, guessProtocol(r, name), "signed for "+name)
}

// dispatch verifies r's signature when --auth is on, then hands r to the service with its
// body as it was.
func (rt *router) dispatch(w http.ResponseWriter, r *http.Request, s *route) {
	if !s.enter() {
		rt.throttle(w, r, s)
		return
	}
	defer s.leave()
	if len(rt.auth) == 0 {
		s.handler.ServeHTTP(w, r)
		return
	}
	if sigv4.BodyUnsigned(r) {
		// The signature leaves the body out (S3 uploads): check it without reading the body,
		// which streams to the service.
		if err := rt.auth.Verify(r, nil, rt.clock.Now()); err != nil {
			rt.refuse(w, s, err)
			return
		}
		s.handler.ServeHTTP(w, r)
		return
	}
	if s.protocol == restXML && sigv4.BodyDeclared(r) {
		// S3 checks the bytes against the declared SHA-256 as they stream to a temporary file,
		// and keeps them only when they match: no need to hold a PutObject or UploadPart of
		// gigabytes in memory to verify its signature.
		if err := rt.auth.VerifyDeclared(r, rt.clock.Now()); err != nil {
			rt.refuse(w, s, err)
			return
		}
		s.handler.ServeHTTP(w, r)
		return
	}
	if r.ContentLength > s.maxBody {
		rt.tooLarge(w, r, s)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.maxBody+1))
	if err != nil {
		rt.log.Debug("reading a request body", "service", s.name, "err", err)
		writeError(w, s.protocol, s.contentType, apiError{code: "SerializationException", status: http.StatusBadRequest,
			message: "Could not read the request body"})
		return
	}
	if int64(len(body)) > s.maxBody {
		rt.tooLarge(w, r, s)
		return
	}
	if err := rt.auth.Verify(r, body, rt.clock.Now()); err != nil {
		rt.refuse(w, s, err)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	s.handler.ServeHTTP(w, r)
}

// refuse answers a request whose signature did not verify, in its service's protocol.
func (rt *router) refuse(w http.ResponseWriter, s *route, err error) {
	var se *sigv4.Error
	if !errors.As(err, &se) {
		se = &sigv4.Error{Reason: sigv4.Mismatch, Code: "InvalidSignatureException", Message: err.Error(), Status: http.StatusBadRequest}
	}
	rt.log.Debug("request refused", "service", s.name, "code", se.Code, "message", se.Message)
	writeError(w, s.protocol, s.contentType, authError(s.protocol, se))
}

func (rt *router) tooLarge(w http.ResponseWriter, r *http.Request, s *route) {
	e := apiError{code: "RequestEntityTooLargeException", status: http.StatusRequestEntityTooLarge,
		message: fmt.Sprintf("Request size exceeded %d bytes", s.maxBody)}
	switch s.protocol {
	case restJSON:
		e.code = "RequestTooLargeException"
	case restXML:
		e = apiError{code: "EntityTooLarge", status: http.StatusBadRequest,
			message: fmt.Sprintf("Your proposed upload exceeds the maximum allowed size of %d bytes", s.maxBody)}
	}
	rt.log.Debug("request too large", "service", s.name, "content_length", r.ContentLength)
	writeError(w, s.protocol, s.contentType, e)
}

// notServed answers a request for a service Stepline does not serve, naming it. 501 Not
// Implemented is what it is, and no SDK retries it.
func (rt *router) notServed(w http.ResponseWriter, r *http.Request, name string, p protocol, how string) {
	served := make([]string, len(rt.services))
	for i, s := range rt.services {
		served[i] = s.title + " (" + s.name + ")"
	}
	msg := fmt.Sprintf("Stepline does not serve the AWS service %s (%s); it serves %s", name, how, strings.Join(served, ", "))
	rt.log.Debug("request for a service not served", "service", name, "method", r.Method, "path", r.URL.Path)
	contentType := r.Header.Get("Content-Type")
	if !strings.HasPrefix(contentType, "application/x-amz-json-") {
		contentType = "application/x-amz-json-1.1"
	}
	writeError(w, p, contentType, apiError{code: "NotImplemented", status: http.StatusNotImplemented, message: msg})
}

// restXMLServices are the REST services whose clients parse XML errors; S3 puts <Error> at the
// root, the others wrap it as the query protocol does.
var restXMLServices = []string{"cloudfront", "route53"}

// guessProtocol is the protocol of a request for a service Stepline does not know, so that
// its client can parse the error that names the service.
func guessProtocol(r *http.Request, name string) protocol {
	switch {
	case name == "s3" || name == "s3-outposts":
		return restXML
	case slices.Contains(restXMLServices, name),
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		return awsQuery
	case strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-"):
		return awsJSON
	}
	return restJSON
}

// apiError is an error as the router sends it, before it takes a protocol's shape.
type apiError struct {
	code    string
	status  int
	message string
}

// authError words a refused signature as the protocol's services do: AWS's JSON services send
// 400, Lambda 403, S3 its own codes.
func authError(p protocol, e *sigv4.Error) apiError {
	switch p {
	case restJSON:
		return apiError{code: e.Code, status: http.StatusForbidden, message: e.Message}
	case restXML:
		code, status, msg := e.S3()
		return apiError{code: code, status: status, message: msg}
	}
	return apiError{code: e.Code, status: e.Status, message: e.Message}
}

// writeError sends e in the protocol's shape; contentType is a JSON protocol's own.
func writeError(w http.ResponseWriter, p protocol, contentType string, e apiError) {
	id := requestID()
	h := w.Header()
	var body []byte
	switch p {
	case awsJSON, restJSON:
		h.Set("X-Amzn-Requestid", id)
		h.Set("X-Amzn-Errortype", e.code)
		if p == awsJSON {
			h.Set("Content-Type", contentType)
			body, _ = json.Marshal(struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}{e.code, e.message}) // strings always marshal
		} else {
			h.Set("Content-Type", "application/json")
			kind := "User"
			if e.status >= 500 {
				kind = "Service"
			}
			body, _ = json.Marshal(struct {
				Type    string `json:"Type"`
				Message string `json:"message"`
			}{kind, e.message})
		}
	case restXML:
		h.Set("Content-Type", "application/xml")
		h.Set("X-Amz-Request-Id", id)
		body, _ = xml.Marshal(struct {
			XMLName   xml.Name `xml:"Error"`
			Code      string
			Message   string
			RequestID string `xml:"RequestId"`
		}{Code: e.code, Message: e.message, RequestID: id})
		body = append([]byte(xml.Header), body...)
	case awsQuery:
		h.Set("Content-Type", "text/xml")
		h.Set("X-Amzn-Requestid", id)
		kind := "Sender"
		if e.status >= 500 {
			kind = "Receiver"
		}
		type errorElem struct {
			Type    string
			Code    string
			Message string
		}
		body, _ = xml.Marshal(struct {
			XMLName   xml.Name `xml:"ErrorResponse"`
			Error     errorElem
			RequestID string `xml:"RequestId"`
		}{Error: errorElem{kind, e.code, e.message}, RequestID: id})
		body = append([]byte(xml.Header), body...)
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}
