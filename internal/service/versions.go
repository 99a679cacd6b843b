package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/store"
)

// Codes of versions and aliases.
const (
	CodeConflict             Code = "ConflictException"
	CodeServiceQuotaExceeded Code = "ServiceQuotaExceededException"
)

// initialRevision is what PublishStateMachineVersion's revisionId names the revision a
// machine was created with by, since DescribeStateMachine reports no id for it.
const initialRevision = "INITIAL"

// Version is a published version of a state machine.
type Version struct {
	Arn          string
	CreationDate time.Time
}

// Route sends Weight percent of an alias's executions to a version.
type Route struct {
	VersionArn string `json:"stateMachineVersionArn"`
	Weight     int    `json:"weight"`
}

// Alias is a state machine alias as DescribeStateMachineAlias reports it.
type Alias struct {
	Arn          string
	Name         string
	Description  string
	Routing      []Route
	CreationDate time.Time
	UpdateDate   time.Time
}

// PublishStateMachineVersion publishes the machine's latest revision. revisionID, when set,
// must name that revision ("INITIAL" for the one the machine was created with). Publishing a
// revision again returns its version.
func (s *Service) PublishStateMachineVersion(ctx context.Context, machineArn string, revisionID *string, description string) (*Version, error) {
	if err := unqualified(machineArn); err != nil {
		return nil, err
	}
	sm, err := s.stateMachine(ctx, machineArn)
	if err != nil {
		return nil, err
	}
	if revisionID != nil {
		current := sm.RevisionID
		if sm.RevisionCreatedAt.Equal(sm.CreatedAt) {
			current = initialRevision
		}
		if *revisionID != current {
			return nil, newError(CodeConflict, nil,
				"Failed to publish the State Machine version for revision %s. The current State Machine revision is %s.", *revisionID, current)
		}
	}
	res, err := s.o.Store.StateMachineVersionPublish(ctx, &store.VersionPublishParams{
		StateMachineArn: machineArn, RevisionID: sm.RevisionID, Description: description, CreatedAt: s.now()})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, stateMachineDoesNotExist(machineArn, err)
	case errors.Is(err, store.ErrConflict):
		return nil, newError(CodeConflict, err, "Failed to publish the State Machine version: the state machine was updated concurrently")
	case errors.Is(err, store.ErrVersionLimit):
		return nil, newError(CodeServiceQuotaExceeded, err, "Maximum number of versions (%d) reached for '%s'", store.MaxVersions, machineArn)
	case err != nil:
		return nil, fmt.Errorf("service: publishing a version of %s: %w", machineArn, err)
	}
	return &Version{Arn: versionArn(res.Version), CreationDate: res.Version.CreatedAt}, nil
}

// ListStateMachineVersions lists a machine's versions, newest first.
func (s *Service) ListStateMachineVersions(ctx context.Context, machineArn string, page Page) ([]Version, string, error) {
	if err := unqualified(machineArn); err != nil {
		return nil, "", err
	}
	if err := checkPage(page); err != nil {
		return nil, "", err
	}
	if _, err := s.stateMachine(ctx, machineArn); err != nil {
		return nil, "", err
	}
	res, err := s.o.Store.StateMachineVersionList(ctx, &store.VersionListParams{StateMachineArn: machineArn, Limit: page.Limit, Cursor: page.Token})
	if err != nil {
		return nil, "", pageError(fmt.Errorf("service: listing versions of %s: %w", machineArn, err))
	}
	out := make([]Version, len(res.Versions))
	for i, v := range res.Versions {
		out[i] = Version{Arn: versionArn(v), CreationDate: v.CreatedAt}
	}
	return out, res.NextCursor, nil
}

// DeleteStateMachineVersion deletes a version no alias routes to. Deleting a version that does
// not exist succeeds, as on AWS.
func (s *Service) DeleteStateMachineVersion(ctx context.Context, arn string) error {
	machine, n, err := parseVersionArn(arn)
	if err != nil {
		return err
	}
	err = s.o.Store.StateMachineVersionDelete(ctx, &store.VersionDeleteParams{StateMachineArn: machine, Version: n})
	switch {
	case err == nil, errors.Is(err, store.ErrNotFound):
		return nil
	case errors.Is(err, store.ErrConflict):
		names, lerr := s.aliasesRoutingTo(ctx, machine, n)
		if lerr != nil {
			return lerr
		}
		return newError(CodeConflict, err, "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [%s]", strings.Join(names, ", "))
	}
	return fmt.Errorf("service: deleting version %s: %w", arn, err)
}

// aliasesRoutingTo names the aliases of machine that route to its version n, which AWS lists
// when it refuses to delete that version.
func (s *Service) aliasesRoutingTo(ctx context.Context, machine string, n int64) ([]string, error) {
	var names []string
	cursor := ""
	for {
		res, err := s.o.Store.StateMachineAliasList(ctx, &store.AliasListParams{StateMachineArn: machine, Cursor: cursor})
		if err != nil {
			return nil, fmt.Errorf("service: listing aliases of %s: %w", machine, err)
		}
		for _, listed := range res.Aliases {
			// Listed aliases carry no routes.
			a, err := s.o.Store.StateMachineAliasGet(ctx, &store.AliasGetParams{Arn: listed.Arn})
			if errors.Is(err, store.ErrNotFound) {
				continue // deleted since it was listed
			}
			if err != nil {
				return nil, fmt.Errorf("service: reading alias %s: %w", listed.Arn, err)
			}
			if slices.ContainsFunc(a.Routes, func(r store.AliasRoute) bool { return r.Version == n }) {
				names = append(names, a.Name)
			}
		}
		if res.NextCursor == "" {
			return names, nil
		}
		cursor = res.NextCursor
	}
}

// CreateStateMachineAlias creates an alias routing to one or two versions of a machine.
// Creating it again with the same description and routing returns it.
func (s *Service) CreateStateMachineAlias(ctx context.Context, name, description string, routing []Route) (*Alias, error) {
	if !validName(name) || isNumber(name) {
		return nil, invalidName(name)
	}
	machine, routes, err := s.routes(routing)
	if err != nil {
		return nil, err
	}
	if _, err := s.stateMachine(ctx, machine); err != nil {
		return nil, err
	}
	arn := machine + ":" + name
	a, err := s.o.Store.StateMachineAliasCreate(ctx, &store.AliasCreateParams{Arn: arn, StateMachineArn: machine, Name: name,
		Description: description, Routes: routes, CreatedAt: s.now()})
	if errors.Is(err, store.ErrAliasAlreadyExists) {
		old, gerr := s.DescribeStateMachineAlias(ctx, arn)
		if gerr != nil {
			return nil, gerr
		}
		if old.Description == description && sameRouting(old.Routing, routing) {
			return old, nil
		}
		return nil, newError(CodeConflict, err, "Failed to create alias because an alias with the same name and a different routing configuration already exists.")
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, routeNotFound(machine, err)
	}
	if err != nil {
		return nil, fmt.Errorf("service: creating alias %s: %w", arn, err)
	}
	return toAlias(a), nil
}

// DescribeStateMachineAlias returns an alias.
func (s *Service) DescribeStateMachineAlias(ctx context.Context, arn string) (*Alias, error) {
	if _, err := parseAliasArn(arn); err != nil {
		return nil, err
	}
	a, err := s.o.Store.StateMachineAliasGet(ctx, &store.AliasGetParams{Arn: arn})
	if errors.Is(err, store.ErrNotFound) {
		return nil, resourceNotFound(arn, err)
	}
	if err != nil {
		return nil, fmt.Errorf("service: reading alias %s: %w", arn, err)
	}
	return toAlias(a), nil
}

// UpdateStateMachineAlias changes an alias's description, routing, or both.
func (s *Service) UpdateStateMachineAlias(ctx context.Context, arn string, description *string, routing []Route) (time.Time, error) {
	machine, err := parseAliasArn(arn)
	if err != nil {
		return time.Time{}, err
	}
	if description == nil && routing == nil {
		return time.Time{}, newError(CodeValidation, nil, "Either the description or the RoutingConfiguration must be specified")
	}
	var routes []store.AliasRoute
	if routing != nil {
		var target string
		if target, routes, err = s.routes(routing); err != nil {
			return time.Time{}, err
		}
		if target != machine {
			return time.Time{}, newError(CodeValidation, nil, "Routing configuration versions must belong to the alias's state machine '%s'", machine)
		}
	}
	a, err := s.o.Store.StateMachineAliasUpdate(ctx, &store.AliasUpdateParams{Arn: arn, Description: description, Routes: routes, UpdatedAt: s.now()})
	if errors.Is(err, store.ErrNotFound) {
		if _, gerr := s.DescribeStateMachineAlias(ctx, arn); gerr != nil {
			return time.Time{}, gerr
		}
		return time.Time{}, routeNotFound(machine, err)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("service: updating alias %s: %w", arn, err)
	}
	return a.UpdatedAt, nil
}

// DeleteStateMachineAlias deletes an alias; the versions it routed to stay. Deleting an alias
// that does not exist succeeds, as deleting a version does: AWS's own test of it
// (LocalStack's test_delete_no_such_alias_arn, validated against AWS) deletes one twice.
func (s *Service) DeleteStateMachineAlias(ctx context.Context, arn string) error {
	if _, err := parseAliasArn(arn); err != nil {
		return err
	}
	err := s.o.Store.StateMachineAliasDelete(ctx, &store.AliasDeleteParams{Arn: arn})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("service: deleting alias %s: %w", arn, err)
	}
	return nil
}

// ListStateMachineAliases lists a machine's aliases by ARN.
func (s *Service) ListStateMachineAliases(ctx context.Context, machineArn string, page Page) ([]Alias, string, error) {
	if err := unqualified(machineArn); err != nil {
		return nil, "", err
	}
	if err := checkPage(page); err != nil {
		return nil, "", err
	}
	if _, err := s.stateMachine(ctx, machineArn); err != nil {
		return nil, "", err
	}
	res, err := s.o.Store.StateMachineAliasList(ctx, &store.AliasListParams{StateMachineArn: machineArn, Limit: page.Limit, Cursor: page.Token})
	if err != nil {
		return nil, "", pageError(fmt.Errorf("service: listing aliases of %s: %w", machineArn, err))
	}
	out := make([]Alias, len(res.Aliases))
	for i, a := range res.Aliases {
		out[i] = *toAlias(a)
	}
	return out, res.NextCursor, nil
}

// describeVersion is DescribeStateMachine of a version: its revision, under the version's ARN
// and with the version's description, as AWS reports it.
func (s *Service) describeVersion(ctx context.Context, arn string) (*StateMachine, error) {
	sm, _, err := s.startRevision(ctx, arn)
	if err != nil {
		return nil, err
	}
	machine, n, _ := parseVersionArn(arn)
	v, err := s.o.Store.StateMachineVersionGet(ctx, &store.VersionGetParams{StateMachineArn: machine, Version: n})
	if errors.Is(err, store.ErrNotFound) {
		return nil, stateMachineDoesNotExist(arn, err)
	}
	if err != nil {
		return nil, fmt.Errorf("service: reading version %s: %w", arn, err)
	}
	out, err := describe(sm)
	if err != nil {
		return nil, err
	}
	out.Arn, out.Description, out.RevisionID = arn, v.Description, sm.RevisionID
	return out, nil
}

// ExecutionOrigin returns the version, and the alias that chose it, an execution was started
// through ("" for none), as its ExecutionStarted event records them.
func (s *Service) ExecutionOrigin(ctx context.Context, arn string) (versionArn, aliasArn string, err error) {
	page, err := s.o.Store.HistoryList(ctx, &store.HistoryListParams{ExecutionArn: arn, Limit: 1})
	if err != nil {
		return "", "", fmt.Errorf("service: reading the history of %s: %w", arn, err)
	}
	if len(page.Events) == 0 {
		return "", "", nil
	}
	var started struct {
		Details struct {
			VersionArn string `json:"stateMachineVersionArn"`
			AliasArn   string `json:"stateMachineAliasArn"`
		} `json:"executionStartedEventDetails"`
	}
	if err := json.Unmarshal(page.Events[0].Payload, &started); err != nil {
		return "", "", fmt.Errorf("service: the first event of %s: %w", arn, err)
	}
	return started.Details.VersionArn, started.Details.AliasArn, nil
}

// origin names the version, and the alias that chose it, an execution is started through.
type origin struct {
	versionArn, aliasArn string
}

// startRevision is the revision StartExecution runs for a state machine, version or alias
// ARN (for an alias, a version drawn by the routing weights), and the version and alias.
func (s *Service) startRevision(ctx context.Context, arn string) (*store.StateMachine, origin, error) {
	a, err := parseARN(arn, resStateMachine)
	if err != nil {
		return nil, origin{}, err
	}
	if len(a.Names) == 1 {
		sm, err := s.latestRevision(ctx, arn)
		return sm, origin{}, err
	}
	machine := arn[:len(arn)-len(a.Names[1])-1]
	var o origin
	n, err := strconv.ParseInt(a.Names[1], 10, 64)
	if err != nil {
		alias, err := s.o.Store.StateMachineAliasGet(ctx, &store.AliasGetParams{Arn: arn})
		if errors.Is(err, store.ErrNotFound) {
			return nil, origin{}, stateMachineDoesNotExist(arn, err)
		}
		if err != nil {
			return nil, origin{}, fmt.Errorf("service: reading alias %s: %w", arn, err)
		}
		n, o.aliasArn = pickRoute(alias.Routes, rand.IntN(100)), arn
	}
	v, err := s.o.Store.StateMachineVersionGet(ctx, &store.VersionGetParams{StateMachineArn: machine, Version: n})
	if errors.Is(err, store.ErrNotFound) {
		return nil, origin{}, stateMachineDoesNotExist(arn, err)
	}
	if err != nil {
		return nil, origin{}, fmt.Errorf("service: reading version %s: %w", arn, err)
	}
	sm, err := s.o.Store.StateMachineGet(ctx, &store.StateMachineGetParams{Arn: machine, RevisionID: v.RevisionID})
	if err != nil {
		return nil, origin{}, fmt.Errorf("service: reading the revision of %s: %w", arn, err)
	}
	o.versionArn = versionArn(v)
	return sm, o, nil
}

// pickRoute returns the version a draw in 0..99 lands on, the routes' weights summing to 100.
func pickRoute(routes []store.AliasRoute, draw int) int64 {
	for _, r := range routes {
		if draw < r.Weight {
			return r.Version
		}
		draw -= r.Weight
	}
	return routes[len(routes)-1].Version
}

// routes checks a routing configuration as AWS does and returns its machine and routes.
func (s *Service) routes(routing []Route) (string, []store.AliasRoute, error) {
	if len(routing) == 0 || len(routing) > 2 {
		return "", nil, newError(CodeValidation, nil, "Routing configuration must contain one or two versions")
	}
	// AWS's refusals quote the whole configuration's ARNs or weights ("Received: [a, b]").
	arns, weights := make([]string, len(routing)), make([]string, len(routing))
	for i, r := range routing {
		arns[i], weights[i] = r.VersionArn, strconv.Itoa(r.Weight)
	}
	received := func(items []string) string { return "[" + strings.Join(items, ", ") + "]" }
	var machine string
	total := 0
	routes := make([]store.AliasRoute, len(routing))
	for i, r := range routing {
		m, n, err := parseVersionArn(r.VersionArn)
		if err != nil {
			if _, perr := parseARN(r.VersionArn, resStateMachine); perr == nil {
				return "", nil, newError(CodeValidation, err, "Routing configuration must contain state machine version ARNs. Received: %s", received(arns))
			}
			return "", nil, err
		}
		if i > 0 && m != machine {
			return "", nil, newError(CodeValidation, nil, "Routing configuration versions must belong to the same state machine")
		}
		if i > 0 && n == routes[0].Version {
			return "", nil, newError(CodeValidation, nil, "Routing configuration must contain distinct state machine version ARNs. Received: %s", received(arns))
		}
		if r.Weight < 0 || r.Weight > 100 {
			return "", nil, newError(CodeValidation, nil, "Routing configuration weights must be between 0 and 100")
		}
		machine, total = m, total+r.Weight
		routes[i] = store.AliasRoute{Version: n, Weight: r.Weight}
	}
	if total != 100 {
		return "", nil, newError(CodeValidation, nil, "Sum of routing configuration weights must equal 100. Received: %s", received(weights))
	}
	return machine, routes, nil
}

// routeNotFound is the error of a routing configuration naming a version that does not exist.
func routeNotFound(machine string, cause error) error {
	return newError(CodeResourceNotFound, cause, "Resource not found: a version in the routing configuration of '%s' does not exist", machine)
}

func toAlias(a *store.Alias) *Alias {
	out := &Alias{Arn: a.Arn, Name: a.Name, Description: a.Description, CreationDate: a.CreatedAt, UpdateDate: a.UpdatedAt}
	for _, r := range a.Routes {
		out.Routing = append(out.Routing, Route{VersionArn: a.StateMachineArn + ":" + strconv.FormatInt(r.Version, 10), Weight: r.Weight})
	}
	return out
}

func sameRouting(a, b []Route) bool {
	if len(a) != len(b) {
		return false
	}
	for _, r := range a {
		found := false
		for _, o := range b {
			found = found || r == o
		}
		if !found {
			return false
		}
	}
	return true
}

func versionArn(v *store.Version) string {
	return v.StateMachineArn + ":" + strconv.FormatInt(v.Version, 10)
}

// unqualified refuses a version or alias ARN where only a state machine's own ARN will do.
func unqualified(arn string) error {
	a, err := parseARN(arn, resStateMachine)
	if err != nil {
		return err
	}
	if len(a.Names) != 1 {
		return newError(CodeInvalidArn, nil, "Invalid Arn: 'Expected a state machine ARN without a version or alias: %s'", arn)
	}
	return nil
}

// parseVersionArn splits a version ARN into its machine's ARN and its number.
func parseVersionArn(arn string) (string, int64, error) {
	a, err := parseARN(arn, resStateMachine)
	if err != nil {
		return "", 0, err
	}
	if len(a.Names) == 2 {
		if n, err := strconv.ParseInt(a.Names[1], 10, 64); err == nil && n > 0 {
			return strings.TrimSuffix(arn, ":"+a.Names[1]), n, nil
		}
	}
	return "", 0, newError(CodeInvalidArn, nil, "Invalid Arn: 'Invalid state machine version ARN: %s'", arn)
}

// parseAliasArn returns the machine ARN of an alias ARN.
func parseAliasArn(arn string) (string, error) {
	a, err := parseARN(arn, resStateMachine)
	if err != nil {
		return "", err
	}
	if len(a.Names) != 2 || isNumber(a.Names[1]) {
		return "", newError(CodeInvalidArn, nil, "Invalid Arn: 'Invalid state machine alias ARN: %s'", arn)
	}
	return strings.TrimSuffix(arn, ":"+a.Names[1]), nil
}

// isNumber reports whether a name is all digits: such a qualifier names a version, so an alias
// may not have it.
func isNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
