package server

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/tollgate-dev/tollgate/service/accounting"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

// RecordsConfig is how durable usage records are (see package accounting
// and docs/architecture.md, "Usage records").
type RecordsConfig struct {
	// Durable makes every answer wait until its record is in the local log
	// and synced: a crash then loses no answered request's record.
	Durable bool
	// SyncInterval is the group commit interval of the local log: without
	// Durable, a process killed outright loses at most the records of the
	// requests answered in the last interval.
	SyncInterval time.Duration
	// FsyncInterval is how often the local log is synced to disk: without
	// Durable, a machine that dies also loses the records appended in the
	// last interval.
	FsyncInterval time.Duration
	// MaxLogBytes bounds the local log (0: no bound). Beyond it records are
	// kept in memory only and the writer reports the log full.
	MaxLogBytes int64
}

func defaultRecordsConfig() RecordsConfig {
	return RecordsConfig{SyncInterval: accounting.DefaultSyncInterval, FsyncInterval: accounting.DefaultFsyncInterval,
		MaxLogBytes: accounting.DefaultMaxLogBytes}
}

func (c *RecordsConfig) registerFlags(e *envFlags) {
	e.bool(&c.Durable, "durable-records", "TOLLGATE_DURABLE_RECORDS",
		"answer only once the request's record is synced to the -spill-dir log (no record lost on a crash; adds one fsync's latency)")
	e.duration(&c.SyncInterval, "records-sync-interval", "TOLLGATE_RECORDS_SYNC_INTERVAL",
		"how often usage records are appended to the -spill-dir log (the most a killed process loses without -durable-records)")
	e.duration(&c.FsyncInterval, "records-fsync-interval", "TOLLGATE_RECORDS_FSYNC_INTERVAL",
		"how often the -spill-dir log is synced to disk (what a machine crash loses besides, without -durable-records)")
	e.int64(&c.MaxLogBytes, "spill-max-bytes", "TOLLGATE_SPILL_MAX_BYTES",
		"largest size of the -spill-dir log; beyond it records are kept in memory only (0: no bound)")
}

func (c *RecordsConfig) validate(spillDir string) error {
	var errs []error
	if c.Durable && spillDir == "" {
		errs = append(errs, errors.New("-durable-records needs -spill-dir"))
	}
	if c.SyncInterval <= 0 || c.SyncInterval > time.Second {
		errs = append(errs, errors.New("-records-sync-interval must be above 0 and at most 1s"))
	}
	if c.FsyncInterval < c.SyncInterval || c.FsyncInterval > time.Minute {
		errs = append(errs, errors.New("-records-fsync-interval must be at least -records-sync-interval and at most 1m"))
	}
	if c.MaxLogBytes < 0 {
		errs = append(errs, errors.New("-spill-max-bytes must not be negative"))
	}
	return errors.Join(errs...)
}

// writerOptions returns the record writer's options for cfg.
func writerOptions(cfg *Config, log *slog.Logger) []accounting.Option {
	opts := []accounting.Option{accounting.WithLogger(log)}
	if cfg.SpillDir == "" {
		log.Warn("no -spill-dir: usage records wait in memory only, and a crash loses those not yet in Postgres")
		return opts
	}
	return append(opts, accounting.WithSpillDir(cfg.SpillDir), accounting.WithDurable(cfg.Records.Durable),
		accounting.WithSyncInterval(cfg.Records.SyncInterval), accounting.WithFsyncInterval(cfg.Records.FsyncInterval),
		accounting.WithMaxLogBytes(cfg.Records.MaxLogBytes))
}

// errStoreNotOpen is what the record writer's inserts fail with until the
// store is open; the writer keeps the records and retries.
var errStoreNotOpen = errors.New("store not open yet")

// recordSink is the record writer's sink: the store once it is open. The
// writer starts before Postgres answers, so that its local log is locked
// and replayed from the start.
type recordSink struct {
	st atomic.Pointer[pgstore.Store]
}

func (r *recordSink) set(st *pgstore.Store) { r.st.Store(st) }

// InsertRecords implements accounting.Sink.
func (r *recordSink) InsertRecords(ctx context.Context, b store.RecordBatch) error {
	st := r.st.Load()
	if st == nil {
		return errStoreNotOpen
	}
	return st.InsertRecords(ctx, b)
}

// InsertDeadLetter implements accounting.Sink.
func (r *recordSink) InsertDeadLetter(ctx context.Context, d store.DeadLetter) error {
	st := r.st.Load()
	if st == nil {
		return errStoreNotOpen
	}
	return st.InsertDeadLetter(ctx, d)
}
