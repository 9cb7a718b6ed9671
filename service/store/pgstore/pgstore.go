package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxvec "github.com/pgvector/pgvector-go/pgx"

	"github.com/tollgate-dev/tollgate/service/store"
)

var _ store.Store = (*Store)(nil)

// aheadDays is how many days after today Open makes partitions for.
const aheadDays = 7

// Store is the PostgreSQL implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	connCfg *pgx.ConnConfig // for the dedicated connections of Watch
	logger  *slog.Logger
	// heartbeat is the period of Watch's heartbeats.
	heartbeat time.Duration
	latest    int // version of the newest embedded migration
	parts     partitionCache
	closeOne  sync.Once
}

// Option adjusts Open.
type Option func(*options)

type options struct {
	logger    *slog.Logger
	maxConns  int32
	heartbeat time.Duration
}

// WithHeartbeat sets how often Watch's connection proves it is alive and
// confirms that every earlier change was delivered (DefaultHeartbeat by
// default; see WatchConfirmed).
func WithHeartbeat(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.heartbeat = d
		}
	}
}

// WithLogger sets the logger for what the store survives rather than
// returns: Watch's connection losses and InsertRecords' failures to create
// partitions. The default discards them.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithMaxConns sets the pool's maximum number of connections. The default is
// pgxpool's (the DSN's pool_max_conns, else max(4, number of CPUs)).
func WithMaxConns(n int32) Option {
	return func(o *options) { o.maxConns = n }
}

// CheckURL reports whether dsn is a connection string Open can parse,
// without connecting.
func CheckURL(dsn string) error {
	if _, err := pgxpool.ParseConfig(dsn); err != nil {
		return fmt.Errorf("pgstore: parse dsn: %w", err)
	}
	return nil
}

// Open connects to the database named by dsn, applies any pending migrations
// (safe when several replicas start at once), creates the request-record
// partitions for today and the next seven days, and returns the store. The
// caller must Close it.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := options{logger: slog.New(slog.DiscardHandler), heartbeat: DefaultHeartbeat}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: parse dsn: %w", err)
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
		if cfg.MinConns > cfg.MaxConns {
			cfg.MinConns = cfg.MaxConns
		}
	}
	// The vector type exists once migration 1 ran, which happens below on a
	// plain connection before the pool opens any.
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		if err := pgxvec.RegisterTypes(ctx, conn); err != nil {
			return fmt.Errorf("register vector types: %w", err)
		}
		return nil
	}

	latest, err := migrate(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: create pool: %w", err)
	}
	s := &Store{
		pool:      pool,
		connCfg:   cfg.ConnConfig,
		logger:    o.logger,
		heartbeat: o.heartbeat,
		latest:    latest,
	}
	today := time.Now()
	if err := s.EnsurePartitions(ctx, today, today.AddDate(0, 0, aheadDays)); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Pool returns the store's connection pool, for packages that keep their
// own tables in the same database. Its connections know the pgvector types.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping reports whether the database is reachable and has every migration
// this binary knows applied.
func (s *Store) Ping(ctx context.Context) error {
	var version int
	err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&version)
	if err != nil {
		return fmt.Errorf("pgstore: ping: %w", err)
	}
	if version < s.latest {
		return fmt.Errorf("pgstore: ping: schema at version %d, want %d", version, s.latest)
	}
	return nil
}

// Close closes the pool. Watch calls use their own connection and end with
// their context.
func (s *Store) Close() {
	s.closeOne.Do(s.pool.Close)
}

// SQLSTATE codes the store maps to sentinel errors.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

// sqlState returns err's SQLSTATE, "" when err is not from the server.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// mapErr turns a query error about entity (e.g. `provider "p1"`) into a
// wrapped sentinel where one applies: no rows → ErrNotFound, a unique
// violation → ErrConflict, and a foreign-key violation → fk (ErrNotFound
// when creating a child, ErrInUse when deleting a parent). Other errors are
// wrapped as they are.
func mapErr(entity string, err error, fk error) error {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%s: %w", entity, store.ErrNotFound)
	case sqlState(err) == codeUniqueViolation:
		return fmt.Errorf("%s: %w", entity, store.ErrConflict)
	case fk != nil && sqlState(err) == codeForeignKeyViolation:
		return fmt.Errorf("%s: %w", entity, fk)
	}
	return fmt.Errorf("%s: %w", entity, err)
}

// timeOrZero returns *t, or the zero time for nil.
func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// timeOrNil returns &t, or nil for the zero time (stored as NULL).
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// nonNilMap returns m, or an empty map for nil, so that jsonb columns hold {}.
func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// nonNilSlice returns s, or an empty slice for nil, so that array columns hold {}.
func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
