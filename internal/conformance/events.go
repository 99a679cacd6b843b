package conformance

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/stepline/stepline/internal/events"
	"github.com/stepline/stepline/internal/store/sqlite"
)

// newEventsWorld is EventBridge for a case that needs it (events:putEvents tasks): the real
// service on a database of its own in dir, with the default bus and no rules, as the corpus's
// tests had it. close releases the database.
func newEventsWorld(ctx context.Context, dir string) (svc *events.Service, close func() error, err error) {
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(dir, "events.db")})
	if err != nil {
		return nil, nil, fmt.Errorf("events world: %w", err)
	}
	svc, err = events.New(events.Options{Store: st, Account: Account, Region: Region})
	if err != nil {
		return nil, nil, fmt.Errorf("events world: %w", err)
	}
	return svc, st.Close, nil
}
