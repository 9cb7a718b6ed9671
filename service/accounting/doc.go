// Package accounting writes request records to the store asynchronously,
// in batches, without losing them when the store fails or the process dies,
// and without letting one bad record block the others.
//
// The gateway calls [Writer.Record] once per request. Record sanitises the
// record (store.Record.Sanitize: valid UTF-8, no NUL, bounded strings,
// lists and numbers, Truncated set when anything changed) and never waits
// for the database.
//
// # The record log
//
// With a log directory ([WithSpillDir]) every record is first staged in
// memory and then appended to the log by the group commit, which runs
// every [WithSyncInterval]: one write and one fsync for all records staged
// meanwhile. Only then are the records queued for the sink. A process
// killed outright therefore loses at most the records of the last interval;
// in durable mode ([WithDurable]) Record returns only once its record is
// synced (the commit then starts as soon as a Record waits), so nothing it
// returned for is lost, even when the machine dies.
//
// The log is a directory of segment files, records-<20-digit
// sequence>.jsonl, each a header line naming the segment by a random id and
// then one record per line (JSON with short field names, see logRecord;
// names are only ever added, so newer code replays older segments). A
// record's identity in the log is its segment and line. The directory is
// locked (flock) by one Writer at a time. A segment is deleted once all its
// records are stored.
//
// # Batches and idempotency
//
// [Writer.Run], the single background loop, drains the queue into batches
// of up to [WithBatchSize] records, each a run of consecutive lines of one
// segment, and passes each to the [Sink] as soon as it is full, or when
// [WithFlushInterval] has elapsed for a partial one. The sink (store.Records
// in production) records the lines it stored in the same transaction as
// the records and skips them when they come again, so a batch retried
// after an error whose outcome was unknown, or replayed from the log after
// a crash, is stored exactly once. Records without a log (no directory, or
// the log refused them) are numbered in a segment of their own that exists
// only in memory.
//
// # Failures
//
// A failed batch is retried with exponential backoff and jitter
// ([WithBackoff]), each attempt bounded by [WithBatchTimeout]. A batch the
// sink rejects for its data (store.ErrInvalidRecord) is split in halves,
// each stored on its own, down to the one record that fails, which is
// handed to Sink.InsertDeadLetter with the error and counted in
// Stats.DeadLettered: it costs about 2·log2(batch size) calls and never
// blocks the records after it.
//
// When the sink has been failing for [WithSpillAfter], or more than
// [WithMaxPending] records wait in memory, the writer falls behind:
// committed records stay in the log only (Stats.Spilled) and are replayed
// from there, oldest segment first, when the sink answers again; once the
// replay reaches the segment being written, the writer queues records in
// memory again. Segments a previous process left, whether it shut down
// cleanly or crashed, are replayed at start. Lines that do not decode (the
// last line of a segment torn by a crash) are skipped and counted in
// Stats.Corrupt, replayed records are sanitised again, and a segment that
// cannot be read is renamed with the suffix .bad and left for an operator.
// Segments of the previous version (segment-*.jsonl, without a header) are
// replayed too, deduplicated by request id and time since they carry no
// line identity.
//
// The log is bounded by [WithMaxLogBytes]. At the bound, and when it cannot
// be written, records are kept in memory only (Stats.LogFull,
// Stats.LogFailures, an error logged at most once a second); without a log
// directory that is always the case. Such records survive an outage only
// up to WithMaxPending: the oldest beyond it are dropped and counted in
// Stats.Dropped.
//
// # Shutdown
//
// Cancel the context passed to Run and wait for Run to return: the last
// group is committed, and Run writes what is still in memory within
// [WithShutdownTimeout]; what it cannot write stays in the log for the next
// process, and Run releases the directory. Records passed to Record
// afterwards are appended to the log directly (or dropped without one).
// [Writer.Close], called after Run returned, closes the log and makes later
// records be dropped.
package accounting
