package scheduler

import (
	"testing"

	"github.com/stepline/stepline/internal/store"
	"github.com/stepline/stepline/internal/store/postgres"
	"github.com/stepline/stepline/internal/store/postgres/pgtest"
)

// TestTwoNodesFireOncePostgres is TestTwoNodesFireOnce with each node on its own connection
// pool to one PostgreSQL database (STEPLINE_TEST_POSTGRES), as two processes would be.
func TestTwoNodesFireOncePostgres(t *testing.T) {
	base, schema, _ := pgtest.Schema(t)
	open := func() store.Store {
		st, err := postgres.Open(t.Context(), postgres.Options{DSN: base, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	first := open()
	testTwoNodesOn(t, first, open())
}
