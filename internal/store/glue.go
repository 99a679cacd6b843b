package store

import (
	"errors"
	"time"
)

// ErrGlueAlreadyExists: a Glue entity of that kind and name exists under its parent.
var ErrGlueAlreadyExists = errors.New("store: glue entity already exists")

// ErrGlueLimit: creating the entity would exceed the number of active entities its parent
// allows (a job's MaxConcurrentRuns).
var ErrGlueLimit = errors.New("store: glue active limit reached")

// Glue entity kinds. The Data Catalog nests: a table's parent is its database, a partition's
// parent is GlueParent(database, table); a job run's parent is its job.
const (
	GlueDatabase  = "database"
	GlueTable     = "table"
	GluePartition = "partition"
	GlueCrawler   = "crawler"
	GlueJob       = "job"
	GlueJobRun    = "jobrun"
)

// GlueParent joins the names of a nested parent (database, then table) into one key. The
// separator is a control character, which no Glue name may contain.
func GlueParent(names ...string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += "\x1f"
		}
		out += n
	}
	return out
}

// GlueEntity is one object of the Glue API as package glue keeps it: the store does not look
// inside Doc (JSON owned by package glue), so that Glue's many optional fields need no
// migration. Active and Owner are the parts the store itself reads: Active marks a running job
// run or crawl (counted against a limit, found again after a crash), Owner the node running it.
type GlueEntity struct {
	Kind    string
	Parent  string
	Name    string
	Doc     []byte
	Active  bool
	Owner   string
	Version int64 // 1 when created, +1 on every update
	// UpdatedAt is when the entity was last written.
	UpdatedAt time.Time
}

// GlueCreateParams stores a new entity. ErrGlueAlreadyExists. When ActiveLimit > 0 the entity
// is created only if fewer than ActiveLimit active entities of its kind share its parent
// (counted in the same transaction): ErrGlueLimit.
type GlueCreateParams struct {
	Kind, Parent, Name string
	Doc                []byte
	Active             bool
	Owner              string
	ActiveLimit        int
	Now                time.Time
}

// GlueGetParams names one entity. ErrNotFound.
type GlueGetParams struct {
	Kind, Parent, Name string
}

// GlueListParams asks for one page of the entities of a kind under a parent, by name. When
// Owner is set, only active entities of that owner are listed (what a node finds again when it
// restarts); when StaleBefore is set, only active entities of any owner last written before it
// (work whose node stopped renewing it); AnyParent lists across parents.
type GlueListParams struct {
	Kind, Parent string
	AnyParent    bool
	Owner        string
	StaleBefore  time.Time
	Limit        int
	Cursor       string
}

// GlueListResult is one page.
type GlueListResult struct {
	Entities   []*GlueEntity
	NextCursor string
}

// GlueUpdateParams replaces an entity's document, activity and owner. When IfVersion > 0 it is
// a compare-and-swap: ErrConflict unless the stored version is IfVersion. ErrNotFound.
type GlueUpdateParams struct {
	Kind, Parent, Name string
	IfVersion          int64
	Doc                []byte
	Active             bool
	Owner              string
	Now                time.Time
}

// GlueDeleteParams deletes an entity and, in the same transaction, every entity whose parent
// is one of Children (a database's tables and their partitions). ErrNotFound.
type GlueDeleteParams struct {
	Kind, Parent, Name string
	Children           []GlueChildren
}

// GlueChildren names the entities of a kind under one parent.
type GlueChildren struct {
	Kind, Parent string
	// ParentPrefix also deletes under every parent starting with Parent + "\x1f".
	ParentPrefix bool
}

// Validate checks the params.
func (p *GlueCreateParams) Validate() error {
	switch {
	case p.Kind == "" || p.Name == "" || len(p.Doc) == 0:
		return invalid("glue entity needs a kind, a name and a document")
	case p.Now.IsZero():
		return invalid("glue entity needs a date")
	case p.ActiveLimit < 0:
		return invalid("glue active limit %d", p.ActiveLimit)
	}
	return nil
}

// Validate checks the params.
func (p *GlueUpdateParams) Validate() error {
	switch {
	case p.Kind == "" || p.Name == "" || len(p.Doc) == 0:
		return invalid("glue update needs a kind, a name and a document")
	case p.Now.IsZero():
		return invalid("glue update needs a date")
	}
	return nil
}
