// Package sqlite is the embedded store: one file, one process, no server to run.
//
// Its weaknesses, which the engine must design around:
//   - One writer. SQLite serialises writes to the whole database, so every write goes through a
//     single connection and a write transaction blocks all others; group many transitions into
//     one TransitionCommitBatch rather than committing them one by one.
//   - No FOR UPDATE SKIP LOCKED, and no row locks at all. Claims are still recorded (a claim
//     moves a row's available_at), which is what lets a restarted process take over what the
//     previous one held; but they are made safe by the single writer, not by locking, so only
//     one process may use a database file at a time. Leases are kept in that process's memory
//     (see lease.go).
//   - synchronous=NORMAL in WAL mode: a commit is durable against a crash of the process, but a
//     power loss or OS crash can lose the last transactions committed before it (never corrupt
//     the database). FULL would fsync the WAL on every commit and cost most of the throughput.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/stepline/stepline/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns this driver's schema migrations.
func Migrations() ([]store.Migration, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite migrations: %w", err)
	}
	return store.LoadMigrations(sub)
}

// Options configures Open.
type Options struct {
	// Path is the database file; it is created when missing.
	Path string
	// Readers caps the read pool's connections (0: 4). Reads run beside the writer thanks to WAL.
	Readers int
	// BusyTimeout is how long a statement waits for a lock held by another connection or
	// process (0: 5s); the checkpointer and a second process are the usual holders.
	BusyTimeout time.Duration
}

// Store is the SQLite store.
type Store struct {
	w *sql.DB // the writer pool: one connection, held in wc
	r *sql.DB // read-only pool

	// wc is the one writer connection. Transactions on it are begun and ended by hand (see
	// write) rather than with database/sql's Tx, so that statements can be prepared on the
	// connection in the middle of a transaction and reused by every later one: preparing a
	// statement costs about as much as running it.
	wc    *sql.Conn
	wsem  chan struct{} // held while a write transaction runs, and forever after Close
	done  chan struct{} // closed by Close
	stmts map[string]*sql.Stmt

	ck     *sql.DB       // the checkpointer's connection
	ckDone chan struct{} // closed when the checkpointer has stopped

	leaseMu sync.Mutex
	leases  leaseTable // see lease.go

	// probes[table] asks the read pool whether a work table has a row available (see
	// anyAvailable); prepared once, because parsing cost more than running them.
	probes map[string]*sql.Stmt
}

var (
	_ store.Store           = (*Store)(nil)
	_ store.FaultClassifier = (*Store)(nil)
)

// Open opens (creating if need be) the database file and brings its schema up to date.
// A database migrated by a newer binary is refused with a *store.SchemaTooNewError.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Path == "" {
		return nil, fmt.Errorf("sqlite: %w: empty path", store.ErrInvalidParams)
	}
	if o.Readers == 0 {
		o.Readers = 4
	}
	if o.BusyTimeout == 0 {
		o.BusyTimeout = 5 * time.Second
	}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(o.BusyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_foreign_keys", "1")
	// A bigger page cache than the default 2 MB: the writer keeps the hot parts of the
	// executions, history and timer indexes in memory instead of re-reading them.
	q.Add("_pragma", "cache_size(-65536)")
	// Statement journals (kept so that one multi-row statement can be undone inside a
	// transaction, as every claim needs) go to memory, not to temporary files.
	q.Add("_pragma", "temp_store(MEMORY)")
	// Commits do not checkpoint the WAL: the checkpointer does, beside the writer. A commit
	// that checkpoints waits for the database file's fsync, which took a third of the
	// writer's time when 100,000 parked executions resumed.
	q.Add("_pragma", "wal_autocheckpoint(0)")
	w, err := sql.Open("sqlite", "file:"+o.Path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", o.Path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	q.Set("_query_only", "1")
	r, err := sql.Open("sqlite", "file:"+o.Path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", o.Path, err)
	}
	r.SetMaxOpenConns(o.Readers)
	r.SetMaxIdleConns(o.Readers)
	wc, err := w.Conn(ctx)
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", o.Path, err)
	}
	q.Del("_query_only")
	// The checkpointer waits for readers while it holds the writer (see checkpoint): not long.
	q.Set("_busy_timeout", fmt.Sprint(ckBusyTimeout.Milliseconds()))
	ck, err := sql.Open("sqlite", "file:"+o.Path+"?"+q.Encode())
	if err != nil {
		wc.Close()
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", o.Path, err)
	}
	ck.SetMaxOpenConns(1)
	s := &Store{w: w, r: r, wc: wc, ck: ck, wsem: make(chan struct{}, 1), done: make(chan struct{}),
		ckDone: make(chan struct{}), stmts: map[string]*sql.Stmt{}, probes: map[string]*sql.Stmt{}, leases: leaseTable{}}
	for table, column := range map[string]string{"timers": "due_at", "effects": "available_at", "inbox": "available_at"} {
		st, err := r.PrepareContext(ctx, `SELECT 1 FROM `+table+` WHERE `+column+` <= ? LIMIT 1`)
		if err != nil {
			s.closeProbes()
			ck.Close()
			wc.Close()
			r.Close()
			w.Close()
			return nil, fmt.Errorf("sqlite: open %s: %w", o.Path, err)
		}
		s.probes[table] = st
	}
	go s.checkpoint()
	return s, nil
}

func (s *Store) closeProbes() error {
	var errs []error
	for _, st := range s.probes {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// checkpointInterval is how often the checkpointer copies the WAL into the database file.
const checkpointInterval = 500 * time.Millisecond

// walRestartFrames is the WAL length (in pages) past which the checkpointer holds the writer
// to let the WAL start over, and ckBusyTimeout how long it then waits for readers.
const (
	walRestartFrames = 8192
	ckBusyTimeout    = 100 * time.Millisecond
)

// checkpoint copies committed WAL frames into the database file until Close. PASSIVE takes no
// lock the writer needs, so commits go on meanwhile. But under a steady stream of commits it
// never catches up with the last one, and the WAL starts over only once a checkpoint has
// copied all of it: the WAL grew to 470 MB while 100,000 parked executions resumed. So once
// the WAL is long, the checkpointer holds the writer while it copies what PASSIVE left
// (little, as PASSIVE just ran) and waits a moment for readers to leave the WAL (RESTART);
// if they do not, the next tick tries again.
func (s *Store) checkpoint() {
	defer close(s.ckDone)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		// A failed checkpoint is retried at the next tick; the WAL only grows meanwhile.
		var busy, frames, copied int
		if err := s.ck.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil || frames < walRestartFrames {
			continue
		}
		select {
		case s.wsem <- struct{}{}:
		case <-s.done:
			return
		}
		s.ck.Exec(`PRAGMA wal_checkpoint(RESTART)`)
		<-s.wsem
	}
}

func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	var cur int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&cur); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if cur > len(ms) {
		return &store.SchemaTooNewError{Found: cur, Known: len(ms)}
	}
	for _, m := range ms[cur:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, m.Version); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// SchemaVersion implements store.Store.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite: schema version: %w", err)
	}
	return v, nil
}

// Close implements store.Store. It waits for the running write transaction, if any.
func (s *Store) Close() error {
	select {
	case s.wsem <- struct{}{}: // never released: no write starts after this
	case <-s.done:
		return nil
	}
	close(s.done)
	<-s.ckDone
	for _, st := range s.stmts {
		st.Close()
	}
	return errors.Join(s.closeProbes(), s.ck.Close(), s.wc.Close(), s.r.Close(), s.w.Close())
}

// wtx is the writer connection inside a transaction begun by write.
type wtx struct{ s *Store }

// write runs f in a write transaction, waiting for the one before it to end.
func (s *Store) write(ctx context.Context, f func(tx *wtx) error) error {
	select {
	case s.wsem <- struct{}{}:
	case <-s.done:
		return errors.New("sqlite: store is closed")
	case <-ctx.Done():
		return fmt.Errorf("sqlite: waiting for the writer: %w", ctx.Err())
	}
	defer func() { <-s.wsem }()
	tx := &wtx{s}
	// IMMEDIATE takes the write lock at BEGIN, so a transaction never fails half-way with
	// SQLITE_BUSY when it first writes, which deferred transactions do under contention.
	if _, err := tx.exec(ctx, `BEGIN IMMEDIATE`); err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := f(tx); err != nil {
		// Without ctx: a cancelled context must not leave the transaction open.
		if rerr := tx.rollback(ctx); rerr != nil {
			return full(errors.Join(err, rerr))
		}
		return full(err)
	}
	if _, err := tx.exec(ctx, `COMMIT`); err != nil {
		return full(errors.Join(fmt.Errorf("sqlite: commit: %w", err), tx.rollback(ctx)))
	}
	return nil
}

// rollback ends the transaction after a failure. A failure of SQLITE_FULL (or IOERR, NOMEM)
// may already have rolled the whole transaction back, as SQLite documents; the ROLLBACK's
// "no transaction is active" then says only that, and would make the error read like a bug.
func (tx *wtx) rollback(ctx context.Context) error {
	_, err := tx.exec(context.WithoutCancel(ctx), `ROLLBACK`)
	var e *sqlite.Error
	if err == nil || errors.As(err, &e) && e.Code() == sqlite3.SQLITE_ERROR && strings.Contains(e.Error(), "no transaction is active") {
		return nil
	}
	return fmt.Errorf("sqlite: rollback: %w", err)
}

// isFull reports SQLITE_FULL: the disk (or the file system) had no room for a write.
func isFull(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_FULL
}

// full marks a write that failed for want of disk space with store.ErrStorageFull, so that it
// is reported as such (and not as an internal failure) and the log says so.
func full(err error) error {
	if isFull(err) {
		return fmt.Errorf("%w: %w", store.ErrStorageFull, err)
	}
	return err
}

// Fault implements store.FaultClassifier, for the writes outside write (claims) too.
func (s *Store) Fault(err error) error {
	if isFull(err) {
		return store.ErrStorageFull
	}
	return nil
}

// stmt returns query prepared on the writer connection. Only write holds wsem, so the map
// needs no lock of its own.
func (tx *wtx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := tx.s.stmts[query]; ok {
		return st, nil
	}
	st, err := tx.s.wc.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	tx.s.stmts[query] = st
	return st, nil
}

// stmtCtx returns query prepared, and the context to run it in. Write statements are short
// index lookups, so ctx is checked before each rather than watched during it: the driver
// watches a cancellable context with a goroutine per statement, which cost a third of the
// CPU time of a batch commit.
func (tx *wtx) stmtCtx(ctx context.Context, query string) (*sql.Stmt, context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("sqlite: %w", err)
	}
	ctx = context.WithoutCancel(ctx)
	st, err := tx.stmt(ctx, query)
	return st, ctx, err
}

func (tx *wtx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, ctx, err := tx.stmtCtx(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (tx *wtx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, ctx, err := tx.stmtCtx(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow reports a failure to prepare through Scan, as sql.Row does for query errors.
func (tx *wtx) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	st, ctx, err := tx.stmtCtx(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

type rowScanner interface{ Scan(...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func isConstraint(err error, codes ...int) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code() == c {
			return true
		}
	}
	return false
}

func isUnique(err error) bool {
	return isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func isForeignKey(err error) bool {
	return isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY)
}

func micro(t time.Time) int64 { return t.UnixMicro() }

func microPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromMicro(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromMicroNull(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicro(v.Int64)
	return &t
}

func strPtr(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}
