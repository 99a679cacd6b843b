package store

import (
	"errors"
	"time"
)

// ErrEventsAlreadyExists: an EventBridge entity of that kind and name exists under its parent.
var ErrEventsAlreadyExists = errors.New("store: events entity already exists")

// EventBridge entity kinds. Connections and buses are regional (no parent); rules and
// targets have their event bus's name as parent (a target is named RULE/ID); deliveries (the
// outbox of matched events, named by due time) are regional; dead letters have their
// DeadLetterConfig ARN as parent.
const (
	EventsConnection = "connection"
	EventsBus        = "bus"
	EventsRule       = "rule"
	EventsTarget     = "target"
	EventsDelivery   = "delivery"
	EventsDeadLetter = "deadletter"
)

// EventsEntity is one object of the EventBridge API as package events keeps it: the store
// does not look inside Doc (JSON owned by package events, which may hold a connection's
// secrets), so that EventBridge's many optional fields need no migration.
type EventsEntity struct {
	Kind    string
	Parent  string
	Name    string
	Doc     []byte
	Version int64 // 1 when created, +1 on every update
	// CreatedAt and UpdatedAt are when the entity was created and last written.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// EventsCreateParams stores a new entity. ErrEventsAlreadyExists.
type EventsCreateParams struct {
	Kind, Parent, Name string
	Doc                []byte
	Now                time.Time
}

// EventsGetParams names one entity. ErrNotFound.
type EventsGetParams struct {
	Kind, Parent, Name string
}

// EventsListParams asks for one page of the entities of a kind under a parent, by name,
// optionally only those whose name starts with Prefix.
type EventsListParams struct {
	Kind, Parent string
	Prefix       string
	Limit        int
	Cursor       string
}

// EventsListResult is one page.
type EventsListResult struct {
	Entities   []*EventsEntity
	NextCursor string
}

// EventsUpdateParams replaces an entity's document. When IfVersion > 0 it is a
// compare-and-swap: ErrConflict unless the stored version is IfVersion. ErrNotFound.
type EventsUpdateParams struct {
	Kind, Parent, Name string
	IfVersion          int64
	Doc                []byte
	Now                time.Time
}

// EventsDeleteParams deletes an entity. ErrNotFound.
type EventsDeleteParams struct {
	Kind, Parent, Name string
}

// Validate checks the params.
func (p *EventsCreateParams) Validate() error {
	switch {
	case p.Kind == "" || p.Name == "" || len(p.Doc) == 0:
		return invalid("events entity needs a kind, a name and a document")
	case p.Now.IsZero():
		return invalid("events entity needs a date")
	}
	return nil
}

// Validate checks the params.
func (p *EventsUpdateParams) Validate() error {
	switch {
	case p.Kind == "" || p.Name == "" || len(p.Doc) == 0:
		return invalid("events update needs a kind, a name and a document")
	case p.Now.IsZero():
		return invalid("events update needs a date")
	}
	return nil
}
