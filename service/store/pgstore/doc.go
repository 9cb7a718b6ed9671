// Package pgstore implements store.Store on PostgreSQL (15 or later, with
// the pgvector extension available).
//
// # Opening
//
// [Open] parses the DSN, applies pending migrations, opens a pgxpool and
// creates request-record partitions for the coming week:
//
//	s, err := pgstore.Open(ctx, "postgres://tollgate@db/tollgate",
//		pgstore.WithMaxConns(20), pgstore.WithLogger(logger))
//	if err != nil { ... }
//	defer s.Close()
//
// # Migrations
//
// The schema lives in migrations/NNNN_description.sql, embedded in the
// binary. Each pending file runs in its own transaction together with its
// row in schema_migrations, under a session advisory lock, so replicas that
// start together apply each migration exactly once while the others wait.
// Released migrations are never edited; changes are new files. Migration
// 0001 creates the vector extension, which is why Open migrates on a plain
// connection before the pool's connections register the pgvector types.
// [Migrate] runs the same step alone, for deployments that migrate ahead.
// [Store.Ping] fails while the database lags behind the binary's newest
// migration.
//
// # Change notifications
//
// Triggers on providers, models, teams and virtual_keys send
// '<kind>:<id>' on the tollgate_changes channel when a row is inserted,
// deleted or actually changed. [Store.Watch] listens on a dedicated
// connection and turns them into store.Change values, with a ChangeResync
// after every (re)connection.
//
// # Request records
//
// request_records is partitioned by day (UTC) on time, with a default
// partition for days that have none. Partitions are created ahead of time
// by Open and by [Store.EnsurePartitions] (run it daily, e.g. for today
// through a week ahead), on demand for the days of an inserted batch, and
// dropped for retention by [Store.DropPartitionsBefore]. Creating a
// partition moves the rows the default partition holds for that day.
//
// [Store.InsertRecords] stores a batch in one transaction: the ledger rows
// of its log lines (record_batches), which make a retried or replayed batch
// idempotent without a key on the records, the records COPYed straight into
// their partition, and their totals added to the minute and hour usage
// rollups (rollups.go), which [Store.SummarizeUsage] reads instead of the
// records (summary.go). A batch Postgres rejects for its data wraps
// store.ErrInvalidRecord; [Store.InsertDeadLetter] keeps such a record in
// request_records_dead.
package pgstore
