// Package postgres is the shared store: several Stepline nodes on one PostgreSQL database
// divide the work between them through it alone.
//
// Nodes coordinate with row locks only: leases and claims are rows updated under
// FOR UPDATE SKIP LOCKED, so concurrent claimers pass over each other's rows instead of
// waiting, and commits are compare-and-swaps on a version column. No advisory locks and no
// LISTEN/NOTIFY, so the same SQL runs on the PostgreSQL-protocol distributed databases
// (CockroachDB, YugabyteDB). Its weaknesses:
//   - Every operation is a network round trip; group transitions into one
//     TransitionCommitBatch, which costs a fixed handful of round trips whatever its size.
//   - Under SERIALIZABLE isolation (CockroachDB's default) any call may fail with a
//     serialization error that the caller must retry; PostgreSQL's default READ COMMITTED
//     does not raise them for this store's statements.
//   - Leases and claims expire by the times callers pass in, so nodes' clocks must roughly
//     agree; a node whose clock runs ahead takes over leases early (safe, but wasteful).
//
// Lock order, which keeps commits free of deadlocks: a batch locks its executions' rows
// first, in ARN order as far as the planner follows its sorted arrays (see groups), and only
// then the child rows (timers, effects, tokens, inbox) of those same executions, which no
// other commit can be touching. Should two nodes still cross (a stale node and the one that
// took its leases over), PostgreSQL aborts one batch as a deadlock, and the caller retries it
// as any failed batch.
// Claims and lease acquisition take row locks with SKIP LOCKED and so never wait. Inserts
// that reference an execution (inbox, activity tasks) take only a KEY SHARE lock on it, which
// a commit's UPDATE (it changes no key) does not conflict with.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stepline/stepline/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns this driver's schema migrations.
func Migrations() ([]store.Migration, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres migrations: %w", err)
	}
	return store.LoadMigrations(sub)
}

// Options configures Open.
type Options struct {
	// DSN is a postgres:// URL or key=value connection string.
	DSN string
	// Schema, when set, is where the tables live (the connections' search_path). It must exist.
	Schema string
	// MaxConns caps the pool (0: pgxpool's default).
	MaxConns int32
}

// Store is the PostgreSQL store.
type Store struct {
	pool *pgxpool.Pool
}

var (
	_ store.Store           = (*Store)(nil)
	_ store.FaultClassifier = (*Store)(nil)
)

// Open connects and brings the schema up to date. A database migrated by a newer binary is
// refused with a *store.SchemaTooNewError.
func Open(ctx context.Context, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(o.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w: %w", store.ErrInvalidParams, err)
	}
	if o.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = o.Schema
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	lost := &lostConns{}
	cfg.ConnConfig.Tracer = lost
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	lost.pool.Store(pool)
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// migrate applies missing migrations, each in its own transaction that first claims its
// version row: when several nodes start at once, one applies a migration and the others
// wait on that row and then see it applied. That needs no advisory lock.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INT PRIMARY KEY,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil && !isUnique(err) {
		// A unique violation here is a concurrent node creating the table at the same moment.
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	for {
		var cur int
		if err := pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&cur); err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		if cur > len(ms) {
			return &store.SchemaTooNewError{Found: cur, Known: len(ms)}
		}
		if cur == len(ms) {
			return nil
		}
		m := ms[cur]
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, m.Version); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, m.SQL)
			return err
		})
		if err != nil && !isUnique(err) {
			return fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
	}
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// SchemaVersion implements store.Store.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	return v, nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Fault implements store.FaultClassifier. PostgreSQL reports a full disk as SQLSTATE 53100. A
// lost connection shows as the server's goodbye (57P01 when an administrator or a failover
// terminated the backend, 57P02 a crash, 57P03 a server still starting, class 08 connection
// exceptions), as pgx's ErrConnClosed on a connection it already gave up, as a failed connect,
// or as the socket's own error (reset, unexpected EOF) when the server vanished without a word.
func (s *Store) Fault(err error) error {
	switch {
	case pgCode(err) == "53100":
		return store.ErrStorageFull
	case lostConnection(err):
		return store.ErrUnavailable
	}
	return nil
}

func lostConnection(err error) bool {
	code := pgCode(err)
	var ce *pgconn.ConnectError
	var ne net.Error
	return code == "57P01" || code == "57P02" || code == "57P03" || strings.HasPrefix(code, "08") ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// lostConns resets the pool when a statement finds its connection lost: when the server
// restarted, failed over or terminated backends, the pool's idle connections are most likely
// dead too, and each would fail one more call before pgxpool noticed (it pings only
// connections idle for a second). A call cancelled by its caller also loses its connection,
// and says nothing of the others.
type lostConns struct {
	pool      atomic.Pointer[pgxpool.Pool]
	resetting atomic.Bool
}

func (l *lostConns) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (l *lostConns) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	l.check(ctx, d.Err)
}

func (l *lostConns) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (l *lostConns) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	l.check(ctx, d.Err)
}

func (l *lostConns) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchEndData) {
	l.check(ctx, d.Err)
}

func (l *lostConns) check(ctx context.Context, err error) {
	if err == nil || ctx.Err() != nil || !lostConnection(err) {
		return
	}
	p := l.pool.Load()
	if p == nil || !l.resetting.CompareAndSwap(false, true) {
		return
	}
	// Reset waits for nothing checked out, and a tracer runs on the failing call's goroutine.
	go func() {
		defer l.resetting.Store(false)
		p.Reset()
	}()
}

func isUnique(err error) bool     { return pgCode(err) == "23505" }
func isForeignKey(err error) bool { return pgCode(err) == "23503" }

// ts rounds t down to the microsecond, as the SQLite store does, where PostgreSQL would round
// to nearest: both stores must agree on which timers are due at a given instant.
func ts(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

func tsPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// nonNil keeps NOT NULL bytea columns happy when a caller passes no bytes.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
