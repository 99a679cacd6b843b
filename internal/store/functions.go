package store

import (
	"errors"
	"time"
)

// ErrFunctionAlreadyExists: a Lambda function of that name exists.
var ErrFunctionAlreadyExists = errors.New("store: function already exists")

// Function is a Lambda function as package lambda keeps it. The store does not look inside the
// configuration: the Lambda API owns its shape, so that adding a setting needs no migration.
// Code is kept in the database, not on a node's disk, so that every node sharing it can run the
// function.
type Function struct {
	Name   string
	Config []byte // JSON owned by package lambda
	// Code is the zip; set only when asked for (FunctionGetParams.WithCode), because the
	// invoke path needs only the configuration and the digest.
	Code       []byte
	CodeSha256 string // hex
	CodeSize   int64
	RevisionID string
	// ReservedConcurrency is nil when the function has none (PutFunctionConcurrency).
	ReservedConcurrency *int
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// FunctionCreateParams stores a new function. ErrFunctionAlreadyExists.
type FunctionCreateParams struct {
	Name       string
	Config     []byte
	Code       []byte
	CodeSha256 string
	RevisionID string
	CreatedAt  time.Time
}

// FunctionGetParams names a function; WithCode also reads the zip.
type FunctionGetParams struct {
	Name     string
	WithCode bool
}

// FunctionListParams asks for one page of functions, by name, without their code.
type FunctionListParams struct {
	Limit  int
	Cursor string
}

// FunctionListResult is one page.
type FunctionListResult struct {
	Functions  []*Function
	NextCursor string
}

// FunctionUpdateParams replaces a function's configuration and, when Code is not nil, its
// code, and gives it the new RevisionID. When IfRevisionID is set the update is a
// compare-and-swap: ErrConflict unless it is the stored revision. ErrNotFound.
type FunctionUpdateParams struct {
	Name         string
	IfRevisionID string
	RevisionID   string
	Config       []byte
	Code         []byte
	CodeSha256   string
	UpdatedAt    time.Time
}

// FunctionDeleteParams names a function to delete. ErrNotFound.
type FunctionDeleteParams struct {
	Name string
}

// FunctionConcurrencyPutParams sets a function's reserved concurrency, or removes it when
// Reserved is nil. It changes neither the configuration nor the revision. ErrNotFound.
type FunctionConcurrencyPutParams struct {
	Name     string
	Reserved *int
}

// Validate checks the params.
func (p *FunctionCreateParams) Validate() error {
	switch {
	case p.Name == "" || p.RevisionID == "":
		return invalid("function needs a name and a revision")
	case len(p.Config) == 0 || p.Code == nil || p.CodeSha256 == "":
		return invalid("function needs a configuration, code and its digest")
	case p.CreatedAt.IsZero():
		return invalid("function needs a creation date")
	}
	return nil
}

// Validate checks the params.
func (p *FunctionUpdateParams) Validate() error {
	switch {
	case p.Name == "" || p.RevisionID == "" || len(p.Config) == 0:
		return invalid("function update needs a name, a revision and a configuration")
	case p.Code != nil && p.CodeSha256 == "":
		return invalid("new code needs its digest")
	case p.UpdatedAt.IsZero():
		return invalid("function update needs a date")
	}
	return nil
}

// Validate checks the params.
func (p *FunctionConcurrencyPutParams) Validate() error {
	switch {
	case p.Name == "":
		return invalid("function concurrency needs a name")
	case p.Reserved != nil && *p.Reserved < 0:
		return invalid("reserved concurrency %d", *p.Reserved)
	}
	return nil
}
