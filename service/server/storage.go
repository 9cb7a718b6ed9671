package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
	"github.com/tollgate-dev/tollgate/service/store/sqlitestore"
)

// backend is everything the gateway keeps: PostgreSQL (pgstore, any
// number of replicas) or the embedded store (sqlitestore, one process).
type backend interface {
	store.Store
	store.Alerts
	store.AlertWebhooks
	store.AuditLog
	store.Principals
	store.Keyring
	store.KeyCreators
	store.ManagedResources
	store.Responses
	// SealAlertWebhookURL seals a webhook URL stored in plain text by an
	// older version (see resealSecrets).
	SealAlertWebhookURL(ctx context.Context, id string, sealed []byte, hint string) (bool, error)
}

var (
	_ backend = (*pgstore.Store)(nil)
	_ backend = (*sqlitestore.Store)(nil)
)

// openBackend opens the configured store: Postgres when a database URL is
// set, else the embedded store in the data directory (which another
// process holding it makes fail at once, with sqlitestore.ErrLocked).
func openBackend(ctx context.Context, cfg Config, log *slog.Logger) (backend, error) {
	if cfg.Embedded() {
		st, err := sqlitestore.Open(ctx, cfg.DataDir, sqlitestore.WithLogger(log), sqlitestore.WithHeartbeat(cfg.ConfigMaxStaleness/3))
		if err != nil {
			return nil, fmt.Errorf("open the embedded store: %w", err)
		}
		log.Info("embedded store opened", "dir", st.Dir())
		return st, nil
	}
	// Three heartbeats per staleness bound keep the view confirmed well
	// within it while Postgres answers.
	opts := []pgstore.Option{pgstore.WithLogger(log), pgstore.WithHeartbeat(cfg.ConfigMaxStaleness / 3)}
	if cfg.Cache.EmbeddingModel == "" {
		// Only semantic lookups need pgvector: without an embedding model
		// its migration stays pending, and a PostgreSQL without the
		// extension serves everything else.
		opts = append(opts, pgstore.WithoutVector())
	}
	st, err := pgstore.Open(ctx, cfg.DatabaseURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}

// cacheStore returns the response cache's store on db.
func cacheStore(db backend) semcache.Store {
	switch db := db.(type) {
	case *pgstore.Store:
		return semcache.Postgres(db.Pool())
	case *sqlitestore.Store:
		return semcache.SQLite(db.DB())
	}
	panic(fmt.Sprintf("server: no response cache on %T", db))
}

// maintainRecords keeps the request records' storage: on Postgres a week
// of daily partitions ahead, the hourly usage rollups of past hours
// compacted and whole partitions dropped past retention,
// on the embedded store old records deleted in batches.
func (s *Server) maintainRecords(ctx context.Context, now time.Time) {
	switch db := s.db.(type) {
	case *pgstore.Store:
		if err := db.EnsurePartitions(ctx, now, now.Add(7*24*time.Hour)); err != nil && ctx.Err() == nil {
			s.log.Warn("maintenance: creating record partitions failed", "err", err)
		}
		if _, err := db.CompactUsage(ctx, now); err != nil && ctx.Err() == nil {
			s.log.Warn("maintenance: compacting hourly usage rollups failed", "err", err)
		}
		if s.cfg.Retention > 0 {
			n, err := db.DropPartitionsBefore(ctx, now.Add(-s.cfg.Retention))
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Warn("maintenance: dropping expired record partitions failed", "err", err)
			case n > 0:
				s.log.Info("maintenance: dropped expired record partitions", "partitions", n, "retention", s.cfg.Retention)
			}
		}
	case *sqlitestore.Store:
		if s.cfg.Retention > 0 {
			n, err := db.DeleteRecordsBefore(ctx, now.Add(-s.cfg.Retention))
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Warn("maintenance: deleting expired records failed", "err", err)
			case n > 0:
				s.log.Info("maintenance: deleted expired records", "records", n, "retention", s.cfg.Retention)
			}
		}
	}
}
