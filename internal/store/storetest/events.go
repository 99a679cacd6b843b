package storetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/store"
)

// testEvents holds the EventBridge entity methods to their contract: keys by (kind, parent,
// name), documents kept byte for byte, pages by name with a prefix, compare-and-swap updates
// that keep the creation date, and deletes.
func testEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	create := func(kind, parent, name string) (*store.EventsEntity, error) {
		return s.EventsCreate(ctx, &store.EventsCreateParams{Kind: kind, Parent: parent, Name: name,
			Doc: []byte(`{"n":"` + name + `","secret":"s3cr\u00e9t"}`), Now: t0})
	}
	for _, n := range []string{"api-b", "api-a", "other", "api_c", "api-d"} {
		if _, err := create(store.EventsConnection, "", n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := create(store.EventsConnection, "", "api-a"); !errors.Is(err, store.ErrEventsAlreadyExists) {
		t.Fatalf("second create: %v, want ErrEventsAlreadyExists", err)
	}
	// The same name of another kind or under another parent is another entity.
	if _, err := create("rule", "default", "api-a"); err != nil {
		t.Fatal(err)
	}
	list := func(p store.EventsListParams) string {
		t.Helper()
		var names []string
		for {
			res, err := s.EventsList(ctx, &p)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range res.Entities {
				names = append(names, e.Name)
			}
			if p.Cursor = res.NextCursor; p.Cursor == "" {
				return strings.Join(names, ",")
			}
		}
	}
	if got := list(store.EventsListParams{Kind: store.EventsConnection, Limit: 2}); got != "api-a,api-b,api-d,api_c,other" {
		t.Fatalf("connections = %s", got)
	}
	if got := list(store.EventsListParams{Kind: store.EventsConnection, Prefix: "api-", Limit: 1}); got != "api-a,api-b,api-d" {
		t.Fatalf("connections with prefix api- = %s", got)
	}
	if got := list(store.EventsListParams{Kind: "rule", Parent: "default"}); got != "api-a" {
		t.Fatalf("rules = %s", got)
	}

	e, err := s.EventsGet(ctx, &store.EventsGetParams{Kind: store.EventsConnection, Name: "api-b"})
	if err != nil || string(e.Doc) != `{"n":"api-b","secret":"s3cr\u00e9t"}` || e.Version != 1 ||
		!e.CreatedAt.Equal(t0.Truncate(1000)) || !e.UpdatedAt.Equal(t0.Truncate(1000)) {
		t.Fatalf("EventsGet = %+v, %v", e, err)
	}
	if _, err := s.EventsGet(ctx, &store.EventsGetParams{Kind: store.EventsConnection, Parent: "x", Name: "api-b"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("EventsGet under another parent: %v", err)
	}
	upd := &store.EventsUpdateParams{Kind: store.EventsConnection, Name: "api-b", IfVersion: 1, Doc: []byte(`{"v":2}`), Now: t0.Add(1e9)}
	if e, err = s.EventsUpdate(ctx, upd); err != nil || e.Version != 2 || string(e.Doc) != `{"v":2}` ||
		!e.CreatedAt.Equal(t0.Truncate(1000)) || !e.UpdatedAt.Equal(t0.Add(1e9).Truncate(1000)) {
		t.Fatalf("EventsUpdate = %+v, %v", e, err)
	}
	if e, err = s.EventsGet(ctx, &store.EventsGetParams{Kind: store.EventsConnection, Name: "api-b"}); err != nil || e.Version != 2 ||
		string(e.Doc) != `{"v":2}` || !e.CreatedAt.Equal(t0.Truncate(1000)) || !e.UpdatedAt.Equal(t0.Add(1e9).Truncate(1000)) {
		t.Fatalf("EventsGet after update = %+v, %v", e, err)
	}
	if _, err := s.EventsUpdate(ctx, upd); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale EventsUpdate: %v, want ErrConflict", err)
	}
	upd.IfVersion = 0
	if e, err = s.EventsUpdate(ctx, upd); err != nil || e.Version != 3 {
		t.Fatalf("unconditional EventsUpdate = %+v, %v", e, err)
	}
	upd.Name = "nope"
	if _, err := s.EventsUpdate(ctx, upd); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("EventsUpdate of a missing entity: %v", err)
	}
	if _, err := s.EventsUpdate(ctx, &store.EventsUpdateParams{Kind: store.EventsConnection, Name: "api-b", Now: t0}); !errors.Is(err, store.ErrInvalidParams) {
		t.Fatalf("EventsUpdate without a document: %v", err)
	}

	if err := s.EventsDelete(ctx, &store.EventsDeleteParams{Kind: store.EventsConnection, Name: "api-a"}); err != nil {
		t.Fatal(err)
	}
	if err := s.EventsDelete(ctx, &store.EventsDeleteParams{Kind: store.EventsConnection, Name: "api-a"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if got := list(store.EventsListParams{Kind: store.EventsConnection}); got != "api-b,api-d,api_c,other" {
		t.Fatalf("connections after delete = %s", got)
	}
	if got := list(store.EventsListParams{Kind: "rule", Parent: "default"}); got != "api-a" {
		t.Fatalf("rules after deleting the connection = %s", got)
	}
	// Deleted names can be created again, as EventBridge allows.
	if _, err := create(store.EventsConnection, "", "api-a"); err != nil {
		t.Fatalf("create after delete: %v", err)
	}
}
