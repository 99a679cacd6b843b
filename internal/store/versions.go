package store

import (
	"errors"
	"time"
)

// ErrVersionLimit: publishing would exceed MaxVersions for the state machine.
var ErrVersionLimit = errors.New("store: state machine version limit reached")

// ErrAliasAlreadyExists: the alias ARN is taken.
var ErrAliasAlreadyExists = errors.New("store: alias already exists")

// MaxVersions is AWS's quota of published versions per state machine.
const MaxVersions = 1000

// Version is a published revision of a state machine. Numbers start at 1 and are never reused,
// not even after the version is deleted, because an ARN must not come to mean another
// definition. Versions and aliases are deleted with their state machine.
type Version struct {
	StateMachineArn string
	Version         int64
	RevisionID      string
	Description     string
	CreatedAt       time.Time
}

// VersionPublishParams publishes RevisionID, which must be the machine's latest revision
// (ErrConflict otherwise: the machine was updated in between). A revision already published is
// not published twice: its version is returned, with Existing set.
type VersionPublishParams struct {
	StateMachineArn string
	RevisionID      string
	Description     string
	CreatedAt       time.Time
}

// VersionPublishResult is the published (or already published) version.
type VersionPublishResult struct {
	Version  *Version
	Existing bool
}

// VersionGetParams names a version.
type VersionGetParams struct {
	StateMachineArn string
	Version         int64
}

// VersionListParams asks for one page of a machine's versions, newest first.
type VersionListParams struct {
	StateMachineArn string
	Limit           int
	Cursor          string
}

// VersionListResult is one page.
type VersionListResult struct {
	Versions   []*Version
	NextCursor string
}

// VersionDeleteParams names a version to delete. ErrConflict when an alias routes to it.
type VersionDeleteParams = VersionGetParams

// AliasRoute sends Weight percent of an alias's executions to a version.
type AliasRoute struct {
	Version int64
	Weight  int
}

// Alias names one or two versions of a state machine, with weights.
type Alias struct {
	Arn             string
	StateMachineArn string
	Name            string
	Description     string
	Routes          []AliasRoute
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// AliasCreateParams creates an alias. ErrAliasAlreadyExists; ErrNotFound when the machine or
// a routed version does not exist.
type AliasCreateParams struct {
	Arn             string
	StateMachineArn string
	Name            string
	Description     string
	Routes          []AliasRoute
	CreatedAt       time.Time
}

// AliasGetParams names an alias.
type AliasGetParams struct {
	Arn string
}

// AliasUpdateParams changes an alias: the description when Description is not nil, the routes
// when Routes is not empty. ErrNotFound.
type AliasUpdateParams struct {
	Arn         string
	Description *string
	Routes      []AliasRoute
	UpdatedAt   time.Time
}

// AliasDeleteParams names an alias.
type AliasDeleteParams = AliasGetParams

// AliasListParams asks for one page of a machine's aliases, by ARN.
type AliasListParams struct {
	StateMachineArn string
	Limit           int
	Cursor          string
}

// AliasListResult is one page; the aliases carry no routes.
type AliasListResult struct {
	Aliases    []*Alias
	NextCursor string
}

// Validate checks the params.
func (p *VersionPublishParams) Validate() error {
	if p.StateMachineArn == "" || p.RevisionID == "" || p.CreatedAt.IsZero() {
		return invalid("publishing needs a state machine ARN, a revision and a creation date")
	}
	return nil
}

// Validate checks the params.
func (p *AliasCreateParams) Validate() error {
	if p.Arn == "" || p.StateMachineArn == "" || p.Name == "" || p.CreatedAt.IsZero() {
		return invalid("alias needs an ARN, a state machine ARN, a name and a creation date")
	}
	if len(p.Routes) == 0 {
		return invalid("alias needs a route")
	}
	return validateRoutes(p.Routes)
}

// Validate checks the params.
func (p *AliasUpdateParams) Validate() error {
	if p.Arn == "" || p.UpdatedAt.IsZero() {
		return invalid("alias update needs an ARN and a date")
	}
	return validateRoutes(p.Routes)
}

func validateRoutes(routes []AliasRoute) error {
	for i, r := range routes {
		if r.Version <= 0 || r.Weight < 0 {
			return invalid("alias route %d: version %d, weight %d", i, r.Version, r.Weight)
		}
		for _, o := range routes[:i] {
			if o.Version == r.Version {
				return invalid("alias routes version %d twice", r.Version)
			}
		}
	}
	return nil
}
