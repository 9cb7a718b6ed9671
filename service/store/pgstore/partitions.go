package pgstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// partitionLockKey is the pg_advisory_xact_lock key that serializes
// partition maintenance across replicas ("tgrecprt" in ASCII).
const partitionLockKey int64 = 0x7467726563707274

// Partition naming: request_records_pYYYYMMDD holds one UTC day.
const (
	partitionPrefix = "request_records_p"
	partitionLayout = "20060102"
	day             = 24 * time.Hour
)

// partitionCache remembers the days known to have a partition, so that
// InsertRecords checks the database only for days it has not seen. It may
// be stale when another replica drops partitions; records of a day without
// a partition then go to the default partition, which is harmless.
type partitionCache struct {
	mu   sync.Mutex
	days map[int64]bool // by Unix time of the day's start
}

func (c *partitionCache) has(d time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.days[d.Unix()]
}

func (c *partitionCache) add(ds ...time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.days == nil {
		c.days = make(map[int64]bool)
	}
	for _, d := range ds {
		c.days[d.Unix()] = true
	}
}

func (c *partitionCache) removeBefore(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for d := range c.days {
		if d < t.Unix() {
			delete(c.days, d)
		}
	}
}

// dayOf returns the start (00:00 UTC) of t's day.
func dayOf(t time.Time) time.Time {
	return t.UTC().Truncate(day)
}

// partitionName returns the name of the partition holding day d.
func partitionName(d time.Time) string {
	return partitionPrefix + d.Format(partitionLayout)
}

// EnsurePartitions creates the daily request-record partitions for every
// UTC day from from's through to's, skipping those that exist. Rows already
// in the default partition for such a day are moved into the new partition.
// It is idempotent and safe to call from several replicas at once; run it
// ahead of time (Open covers today and the next seven days; a daily
// maintenance job should keep that window) so that records seldom reach the
// default partition.
func (s *Store) EnsurePartitions(ctx context.Context, from, to time.Time) error {
	var missing []time.Time
	for d := dayOf(from); !d.After(dayOf(to)); d = d.Add(day) {
		if !s.parts.has(d) {
			missing = append(missing, d)
		}
	}
	return s.ensureDays(ctx, missing)
}

// ensureDays creates the partitions of days that do not exist, in one
// transaction holding the partition lock, and records them in the cache.
func (s *Store) ensureDays(ctx context.Context, days []time.Time) error {
	if len(days) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", partitionLockKey); err != nil {
			return fmt.Errorf("take partition lock: %w", err)
		}
		existing, err := listPartitions(ctx, tx)
		if err != nil {
			return err
		}
		for _, d := range days {
			if existing[d.Unix()] {
				continue
			}
			if err := createPartition(ctx, tx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: ensure partitions: %w", err)
	}
	s.parts.add(days...)
	return nil
}

// createPartition creates day d's partition as a plain table, moves d's rows
// out of the default partition into it and attaches it. Attaching, unlike
// CREATE TABLE ... PARTITION OF, does not block concurrent inserts into
// other partitions, and does not fail when the default partition holds rows
// of the day.
func createPartition(ctx context.Context, tx pgx.Tx, d time.Time) error {
	name := pgx.Identifier{partitionName(d)}.Sanitize()
	from, to := d, d.Add(day)
	stmts := []struct {
		sql  string
		args []any
	}{
		{sql: "CREATE TABLE " + name + " (LIKE request_records INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"},
		{sql: `WITH moved AS (
				DELETE FROM request_records_default WHERE time >= $1 AND time < $2 RETURNING *
			) INSERT INTO ` + name + ` SELECT * FROM moved`, args: []any{from, to}},
		{sql: "ALTER TABLE request_records ATTACH PARTITION " + name + " FOR VALUES FROM (" +
			quoteTime(from) + ") TO (" + quoteTime(to) + ")"},
	}
	for _, st := range stmts {
		if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("create partition %s: %w", partitionName(d), err)
		}
	}
	return nil
}

// quoteTime returns t as an SQL timestamptz literal (partition bounds cannot
// be query parameters). The text comes from time.Format, not from input.
func quoteTime(t time.Time) string {
	return "'" + t.UTC().Format("2006-01-02 15:04:05Z07:00") + "'"
}

// listPartitions returns the days (the Unix time of their start) of the
// existing daily partitions.
func listPartitions(ctx context.Context, tx pgx.Tx) (map[int64]bool, error) {
	rows, _ := tx.Query(ctx, `
		SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'request_records'::regclass`)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	days := make(map[int64]bool, len(names))
	for _, n := range names {
		suffix, ok := strings.CutPrefix(n, partitionPrefix)
		if !ok {
			continue // the default partition
		}
		d, err := time.Parse(partitionLayout, suffix)
		if err != nil {
			continue // not ours
		}
		days[d.Unix()] = true
	}
	return days, nil
}

// DropPartitionsBefore drops the daily partitions that end at or before t,
// deletes the default partition's rows older than t, the usage rollups of
// the days before t's, and the ledger rows and dead letters older than t,
// and returns the number of partitions dropped. It is the retention job: records of the day that
// contains t are kept until that whole day is before the cutoff.
func (s *Store) DropPartitionsBefore(ctx context.Context, t time.Time) (int, error) {
	dropped := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		dropped = 0
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", partitionLockKey); err != nil {
			return fmt.Errorf("take partition lock: %w", err)
		}
		existing, err := listPartitions(ctx, tx)
		if err != nil {
			return err
		}
		for unix := range existing {
			d := time.Unix(unix, 0).UTC()
			if d.Add(day).After(t) {
				continue
			}
			if _, err := tx.Exec(ctx, "DROP TABLE "+pgx.Identifier{partitionName(d)}.Sanitize()); err != nil {
				return fmt.Errorf("drop partition %s: %w", partitionName(d), err)
			}
			dropped++
		}
		if _, err := tx.Exec(ctx, "DELETE FROM request_records_default WHERE time < $1", t); err != nil {
			return fmt.Errorf("delete old default rows: %w", err)
		}
		// The rollups of the dropped days, and ledger rows and dead letters
		// as old: a log segment is replayed within days, not months.
		var b pgx.Batch
		for _, f := range rollupFams {
			for _, g := range []rollupGrain{grainMinute, grainHour, grainDay} {
				b.Queue("DELETE FROM "+f.table+g.suffix+" WHERE bucket < $1", dayOf(t))
			}
		}
		b.Queue("DELETE FROM usage_dirty_hours WHERE hour < $1", dayOf(t))
		b.Queue("DELETE FROM record_batches WHERE stored_at < $1", t)
		b.Queue("DELETE FROM request_records_dead WHERE dead_at < $1", t)
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("delete old rollups, ledger rows and dead letters: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: drop partitions before %s: %w", t.Format(time.RFC3339), err)
	}
	s.parts.removeBefore(dayOf(t))
	return dropped, nil
}
