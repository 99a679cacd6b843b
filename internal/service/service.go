// Package service holds the Step Functions operations — create a state machine, start or stop
// an execution, hand out activity tasks — with AWS's rules for names, ARNs, definitions and
// idempotency, so that the AWS API, the console, the CLI and triggers all behave alike. It
// knows AWS's error codes but nothing of HTTP.
package service

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/mock"
	"github.com/stepline/stepline/internal/store"
)

// Options configure a Service.
type Options struct {
	Store  store.Store
	Engine *engine.Engine
	// Clock defaults to the real clock.
	Clock clock.Clock
	// Account and Region make ARNs; they must be the engine's.
	Account string
	Region  string
	// NewID makes revision ids and default execution names; it defaults to random UUIDs.
	NewID func() string
	// Mocks is Step Functions Local's mock configuration: StartExecution and
	// StartSyncExecution on stateMachineArn#TestCaseName run under one of its test cases. Nil
	// refuses such starts.
	Mocks *mock.Config
}

// Service carries out the operations. It is safe for concurrent use.
type Service struct {
	o         Options
	revisions revisionCache
	restored  restoredCache
}

// New checks the options and returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Engine == nil {
		return nil, errors.New("service: Options.Store and Options.Engine are required")
	}
	if o.Account == "" || o.Region == "" {
		return nil, errors.New("service: Options.Account and Options.Region are required")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.NewID == nil {
		o.NewID = newUUID
	}
	return &Service{o: o}, nil
}

// newUUID returns a random (version 4) UUID, the shape of AWS's generated names and ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Page is what list operations take: a page size (0 for the default) and the token of the
// previous page ("" for the first).
type Page struct {
	Limit int
	Token string
}

// checkPage refuses page sizes outside AWS's 0..1000.
func checkPage(p Page) error {
	if p.Limit < 0 || p.Limit > store.MaxPageSize {
		return newError(CodeValidation, nil, "maxResults must be between 0 and %d", store.MaxPageSize)
	}
	return nil
}

// pageError turns a store's refusal of a page request into AWS's error.
func pageError(err error) error {
	if errors.Is(err, store.ErrInvalidCursor) {
		return newError(CodeInvalidToken, err, "Invalid Token: 'Invalid pagination token'")
	}
	return err
}
