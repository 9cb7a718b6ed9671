// Package accounting writes request records to the store asynchronously
// and without losing them.
//
// The gateway calls [Writer.Record] once per request. Record never waits for
// the database: it appends the record to an in-memory queue and returns.
// [Writer.Run], the single background loop, drains the queue into batches
// of up to [WithBatchSize] records and passes each to the [Sink]
// (store.Records in production) as soon as it is full, or when
// [WithFlushInterval] has elapsed for a partial one.
//
// # Failures and spilling
//
// A failed batch is retried with exponential backoff and jitter
// ([WithBackoff]), each attempt bounded by [WithBatchTimeout]. Meanwhile
// records keep arriving and batching up in memory. When they exceed
// [WithMaxPending], or the sink has been failing for [WithSpillAfter], Run
// appends them to the spill directory ([WithSpillDir]) and from then on
// retries from there. Memory only ever holds records newer than those on
// disk, so Run replays spilled segments oldest first, before the records in
// memory, and deletes each segment once all its records are written. So
// records reach the sink in about the order they were recorded; the order
// is not guaranteed (a record that bypasses a full queue, or a batch that
// fails while newer ones are being spilled, comes later) and does not
// matter to the store, as every record carries its time. At start Run
// replays the segments a previous process left behind, whether it shut
// down cleanly or crashed.
//
// Records are delivered at least once: a retried batch, a segment replayed
// after a crash, or an insert that failed after committing may hand the sink
// records it already stored. The Sink must therefore skip records whose
// RequestID it already has, as store.Records does; the result is that each
// record is stored exactly once.
//
// # Spill format
//
// The spill directory holds segment files named
// segment-<20-digit sequence>.jsonl, written in sequence order. Each line
// is one record as a JSON object with short field names ("id", "time",
// "team", "in", "out", "cost_nanos", "latency_ns", ...; durations in
// nanoseconds); names are only ever added, so newer code replays older
// segments. A segment receives whole batches, is handed to the operating
// system after each append (so a process crash loses nothing that was
// appended), and is fsynced when closed: after [WithSegmentRecords]
// records, before it is replayed, and at shutdown. A line that does not
// decode, such as the last line of a segment torn by a crash, is skipped
// and counted in Stats.Corrupt; the other lines are replayed. A segment
// that cannot be read at all is renamed with the suffix .bad and left for
// an operator. One Writer at a time may use a directory.
//
// # Guarantees and their limits
//
// With a spill directory, a record given to Record is lost only if the
// machine loses power (or the kernel crashes) before the segment holding it
// is fsynced, if the process dies while the record is still in memory —
// within the flush interval, or while the sink fails and neither the memory
// bound nor the outage threshold has been reached yet — or if the disk
// refuses the write. Without a spill directory, at most [WithMaxPending]
// records are kept through an outage and the oldest beyond that are
// dropped; everything in memory is lost if the process dies or the final
// flush fails. Every loss is counted in Stats.Dropped and logged at most
// once per second.
//
// Record itself appends the record, under a mutex, to a chunk of
// batch-size capacity; a full chunk is handed to Run whole, becomes the
// batch passed to the sink, and is reused afterwards. Nothing is copied
// again and, in the steady state, nothing is allocated. (A buffered channel
// would copy each record twice and make Run receive them one at a time,
// under the same kind of lock.) The queue is bounded by
// [WithQueueCapacity]; since Run drains it continuously, whether or not the
// sink responds, it fills only if Run is not running or cannot keep up, and
// then Record appends the record to the spill directory itself (a write to
// a local file, plus an fsync each time a segment is full) or, without one,
// drops it.
//
// # Shutdown
//
// Cancel the context passed to Run and wait for Run to return: Run writes
// what is still in memory within [WithShutdownTimeout] and spills the rest.
// Records passed to Record afterwards go straight to the spill directory
// (or are dropped without one). [Writer.Close], called after Run returned,
// syncs that last segment and makes later records be dropped.
package accounting
