// Package sqlitestore implements store.Store on an embedded SQLite
// database (the pure-Go driver modernc.org/sqlite: no cgo, no server), for
// a gateway that runs as one process with nothing else installed.
//
// # The data directory
//
// [Open] takes a directory (created with mode 0700 when missing), locks it
// for the process (a second process on the same directory is refused with
// [ErrLocked]: several replicas need PostgreSQL), opens tollgate.db in WAL
// mode and applies the embedded migrations (migrations/NNNN_*.sql).
//
//	s, err := sqlitestore.Open(ctx, "./tollgate-data", sqlitestore.WithLogger(logger))
//	if err != nil { ... }
//	defer s.Close()
//
// # One writer
//
// Every write runs in a BEGIN IMMEDIATE transaction on a single
// connection, so writes are serialised in the process and never meet
// SQLITE_BUSY; reads use a pool of read-only connections beside it (WAL
// readers see the last commit and never block the writer). Request
// records arrive in batches from the accounting writer and go in one
// transaction per batch with one prepared statement. Lease calls
// (LeaseCounter) are serialised by the same writer, which is what keeps a
// counter within its limit.
//
// # Semantics shared with pgstore
//
// Both stores pass the same conformance suite (package storetest): the
// same sentinel errors, versions from one sequence that is never reused
// (kept in the sequences table and advanced in each write's transaction),
// the same page cursors, the same record, summary and lease arithmetic.
// Times are stored as microseconds since the epoch, like Postgres's
// timestamptz.
//
// # Change notifications
//
// The process that holds the lock is the only writer, so [Store.Watch]
// needs no database channel: each write announces its changes in process
// after it commits. A watcher that falls more than 1,024 changes behind
// gets a ChangeResync in their place.
//
// # Retention
//
// [Store.DeleteRecordsBefore] deletes old records by time range in
// transactions of at most 5,000 rows, so record writes interleave with it.
package sqlitestore
