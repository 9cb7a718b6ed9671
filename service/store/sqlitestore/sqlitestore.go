package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tollgate-dev/tollgate/service/store"
)

var (
	_ store.Store         = (*Store)(nil)
	_ store.Alerts        = (*Store)(nil)
	_ store.AlertWebhooks = (*Store)(nil)
	_ store.AuditLog      = (*Store)(nil)
)

// Files of a data directory.
const (
	// DBFile is the database (with its -wal and -shm companions).
	DBFile = "tollgate.db"
	// LockFile is locked by the process that has the directory open.
	LockFile = "tollgate.lock"
)

// ErrLocked means another process has the data directory open. The
// embedded store serves one gateway process; several replicas need
// PostgreSQL.
var ErrLocked = errors.New("the data directory is in use by another tollgate process " +
	"(the embedded store serves one process; run several replicas on PostgreSQL with -database-url)")

// Store is the embedded (SQLite) implementation of store.Store, for one
// gateway process. It is safe for concurrent use.
type Store struct {
	dir    string
	lock   *flock.Flock
	w      *sql.DB // the one writer connection
	r      *sql.DB // readers
	logger *slog.Logger
	now    func() time.Time
	latest int
	hub    hub
	// leases announces starved counters (counters.go).
	leases leaseHub
	// heartbeat is the period of WatchConfirmed's confirmations.
	heartbeat time.Duration
	// commitMu is held shared from a write's commit until its changes are
	// queued to watchers, and exclusively while a confirmation is queued:
	// every change committed before a confirmation is queued before it.
	commitMu sync.RWMutex
	// configLock is WithConfigLock's lock (a one-slot semaphore, so a
	// waiter can give up when its context is done).
	configLock chan struct{}

	closeOnce sync.Once
}

// Option adjusts Open.
type Option func(*options)

type options struct {
	logger    *slog.Logger
	readers   int
	now       func() time.Time
	heartbeat time.Duration
}

// DefaultHeartbeat is the default period of WatchConfirmed's
// confirmations.
const DefaultHeartbeat = time.Second

// WithHeartbeat sets how often WatchConfirmed confirms that every earlier
// change was delivered (DefaultHeartbeat by default).
func WithHeartbeat(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.heartbeat = d
		}
	}
}

// WithLogger sets the logger for what the store survives rather than
// returns. The default discards it.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithReaders sets the number of read connections (default: the number of
// CPUs, at least 2). Writes always go through one connection.
func WithReaders(n int) Option { return func(o *options) { o.readers = n } }

// WithClock replaces time.Now for the times the store sets itself
// (creation and update times, lease expiry), for tests.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Open opens (creating it if needed, mode 0700) the data directory dir,
// locks it for this process, opens or creates its database, and applies
// pending migrations. It fails with ErrLocked when another process has
// the directory open. The caller must Close the store.
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	o := options{logger: slog.New(slog.DiscardHandler), readers: max(2, runtime.NumCPU()), now: time.Now, heartbeat: DefaultHeartbeat}
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlitestore: create data directory: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	lock := flock.New(filepath.Join(abs, LockFile))
	locked, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: lock %s: %w", abs, err)
	}
	if !locked {
		return nil, fmt.Errorf("sqlitestore: %s: %w", abs, ErrLocked)
	}
	s := &Store{dir: abs, lock: lock, logger: o.logger, now: o.now, heartbeat: o.heartbeat, configLock: make(chan struct{}, 1)}
	if err := s.open(ctx, o.readers); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// open opens the writer and reader pools and migrates.
func (s *Store) open(ctx context.Context, readers int) error {
	path := filepath.Join(s.dir, DBFile)
	// WAL lets readers run beside the writer; synchronous=NORMAL in WAL
	// mode loses at most the last transactions on power loss, never
	// consistency. Foreign keys are per connection.
	common := url.Values{}
	common.Set("_busy_timeout", "10000")
	common.Set("_foreign_keys", "1")
	common.Set("_journal_mode", "WAL")
	common.Set("_synchronous", "NORMAL")
	// 64 MiB of page cache per connection and reads through mmap: scans
	// of records need no system call per page.
	common["_pragma"] = []string{"cache_size(-65536)", "mmap_size(1073741824)"}
	wq := url.Values{}
	for k, v := range common {
		wq[k] = v
	}
	wq.Set("_txlock", "immediate")
	var err error
	if s.w, err = sql.Open("sqlite", "file:"+path+"?"+wq.Encode()); err != nil {
		return fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if s.latest, err = migrate(ctx, s.w, s.now); err != nil {
		return err
	}
	rq := url.Values{}
	for k, v := range common {
		rq[k] = v
	}
	rq.Set("_query_only", "1")
	if s.r, err = sql.Open("sqlite", "file:"+path+"?"+rq.Encode()); err != nil {
		return fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
	s.r.SetConnMaxIdleTime(0)
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	return nil
}

// Dir returns the data directory's absolute path.
func (s *Store) Dir() string { return s.dir }

// DB returns the store's writer and reader pools, for packages that keep
// their own tables in the same database (semcache). Writes must go
// through w, which has a single connection.
func (s *Store) DB() (w, r *sql.DB) { return s.w, s.r }

// Ping reports whether the database answers and has every migration this
// binary knows applied.
func (s *Store) Ping(ctx context.Context) error {
	var version int
	if err := s.r.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&version); err != nil {
		return fmt.Errorf("sqlitestore: ping: %w", err)
	}
	if version < s.latest {
		return fmt.Errorf("sqlitestore: ping: schema at version %d, want %d", version, s.latest)
	}
	return nil
}

// Close closes the database and unlocks the data directory.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		if s.r != nil {
			_ = s.r.Close()
		}
		if s.w != nil {
			// A checkpoint folds the WAL into the database file, so a
			// copied directory needs only tollgate.db.
			_, _ = s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
			_ = s.w.Close()
		}
		_ = s.lock.Unlock()
	})
}

// clock returns the store's current time at microsecond precision.
func (s *Store) clock() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// errCode returns err's extended SQLite result code, 0 when err is not
// from SQLite.
func errCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// mapErr turns a query error about entity into a wrapped sentinel where
// one applies: no rows → ErrNotFound, a unique or primary-key violation →
// ErrConflict, and a foreign-key violation → fk. Other errors are wrapped
// as they are.
func mapErr(entity string, err error, fk error) error {
	switch code := errCode(err); {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", entity, store.ErrNotFound)
	case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%s: %w", entity, store.ErrConflict)
	case fk != nil && (code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY ||
		// ON DELETE RESTRICT reports as a trigger constraint.
		code == sqlite3.SQLITE_CONSTRAINT_TRIGGER && strings.Contains(err.Error(), "FOREIGN KEY")):
		return fmt.Errorf("%s: %w", entity, fk)
	}
	return fmt.Errorf("%s: %w", entity, err)
}

// tx is a write transaction and the changes it makes, announced to
// watchers once it commits.
type tx struct {
	*sql.Tx
	s       *Store
	changes []store.Change
}

// changed records a change to announce after commit.
func (t *tx) changed(kind store.ChangeKind, id string) {
	t.changes = append(t.changes, store.Change{Kind: kind, ID: id})
}

// nextVersion takes the next value of the version sequence.
func (t *tx) nextVersion(ctx context.Context) (int64, error) {
	var v int64
	err := t.QueryRowContext(ctx, "UPDATE sequences SET value = value + 1 WHERE name = 'version' RETURNING value").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("next version: %w", err)
	}
	return v, nil
}

// write runs fn in a write transaction (BEGIN IMMEDIATE on the single
// writer connection) and announces its changes once it commits.
func (s *Store) write(ctx context.Context, fn func(t *tx) error) error {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &tx{Tx: sqlTx, s: s}
	if err := fn(t); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	s.commitMu.RLock()
	defer s.commitMu.RUnlock()
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.hub.publish(t.changes)
	return nil
}

// micros returns t as microseconds since the epoch.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros returns the UTC time of us microseconds since the epoch.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros returns t as microseconds, or NULL for the zero time.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// timeOrZero returns the time of a nullable column, the zero time for NULL.
func timeOrZero(us sql.NullInt64) time.Time {
	if !us.Valid {
		return time.Time{}
	}
	return fromMicros(us.Int64)
}
