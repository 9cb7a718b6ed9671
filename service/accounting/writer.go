package accounting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// Sink is where records end up: store.Records satisfies it.
//
// InsertRecords must be idempotent per RequestID (a record already stored
// is skipped), because the Writer retries failed batches and replays spilled
// ones, and must not retain rs after it returns.
type Sink interface {
	InsertRecords(ctx context.Context, rs []store.Record) error
}

// Errors returned by Run and Close.
var (
	// ErrStarted means Run was called more than once, or after Close.
	ErrStarted = errors.New("accounting: writer already started")
	// ErrRunning means Close was called while Run had not returned.
	ErrRunning = errors.New("accounting: writer still running")
	// ErrRecordsLost means records could be neither written nor spilled.
	ErrRecordsLost = errors.New("accounting: records lost")
)

// intake is what Record does with a record.
type intake uint8

const (
	// intakeQueue: queue it for Run (spill or drop it when the queue is full).
	intakeQueue intake = iota
	// intakeSpill: Run has stopped; spill it, or drop it without a spill directory.
	intakeSpill
	// intakeDrop: the Writer is closed; drop it.
	intakeDrop
)

// Writer writes request records to a Sink in batches, in the background,
// without losing them when the sink fails. See the package documentation.
type Writer struct {
	sink  Sink
	cfg   config
	log   *slog.Logger
	spill *spillDir // nil without a spill directory
	// wake tells Run that a batch is ready; it holds at most one signal.
	wake chan struct{}

	// chunks holds empty *[]store.Record of capacity batchSize. The pool
	// keeps as many as recent bursts needed and lets the GC reclaim them
	// when they are no longer used.
	chunks sync.Pool

	// The queue is a list of chunks: Record appends to cur and moves it to
	// full once it holds a batch; Run takes the chunks whole and passes
	// each to the sink as a batch, then returns it to the pool. Nothing is
	// copied and, in the steady state, nothing is allocated.
	mu      sync.Mutex
	cur     []store.Record
	full    [][]store.Record
	queuedN int   // records in cur and full
	queued  int64 // records ever queued, for Stats.Recorded
	intake  intake
	started bool
	running bool

	// Counters, see Stats.
	direct   atomic.Int64 // records Record did not queue (spilled or dropped)
	written  atomic.Int64
	batches  atomic.Int64
	failures atomic.Int64
	spilled  atomic.Int64
	replayed atomic.Int64
	dropped  atomic.Int64
	corrupt  atomic.Int64
	pending  atomic.Int64 // gauge

	dropLog  rateLimit
	spillLog rateLimit
}

// New returns a Writer that writes to sink. Start it with Run.
func New(sink Sink, opts ...Option) *Writer {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	cfg.normalize()
	w := &Writer{
		sink: sink,
		cfg:  cfg,
		log:  cfg.logger,
		wake: make(chan struct{}, 1),
	}
	w.chunks.New = func() any {
		c := make([]store.Record, 0, cfg.batchSize)
		return &c
	}
	if cfg.spillDir != "" {
		w.spill = newSpillDir(cfg.spillDir, cfg.segmentRecords, cfg.logger)
	}
	return w
}

// Record hands r to the Writer. It never waits for the sink and is safe for
// concurrent use.
//
// Normally r is appended to an in-memory queue that Run drains. When the
// queue is full (Run is not running or cannot keep up) or Run has returned,
// r is appended synchronously to the spill directory, a write to a local
// file; without a spill directory, or after Close, or if that write fails,
// r is dropped and counted in Stats.Dropped.
//
// The Writer keeps r, including the backing array of r.Tags, until it is
// written: do not modify them afterwards.
func (w *Writer) Record(r store.Record) {
	w.mu.Lock()
	in := w.intake
	if in == intakeQueue && w.queuedN < w.cfg.queueCapacity {
		if w.cur == nil {
			w.cur = *w.chunks.Get().(*[]store.Record)
		}
		w.cur = append(w.cur, r)
		w.queuedN++
		w.queued++
		ready := len(w.cur) == w.cfg.batchSize
		if ready {
			w.full = append(w.full, w.cur)
			w.cur = nil
		}
		w.mu.Unlock()
		if ready {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
		return
	}
	w.mu.Unlock()
	w.direct.Add(1)
	w.bypass(r, in)
}

// bypass spills or drops a record that cannot be queued.
func (w *Writer) bypass(r store.Record, in intake) {
	reason := "writer closed"
	if in != intakeDrop {
		reason = "queue full"
		if in == intakeSpill {
			reason = "writer stopped"
		}
		if w.spill == nil {
			reason += ", no spill directory"
		} else {
			err := w.spill.append([]store.Record{r})
			if err == nil {
				w.spilled.Add(1)
				return
			}
			reason += ", spill failed: " + err.Error()
		}
	}
	w.drop(1, reason)
}

// drop counts lost records and logs at most once per second.
func (w *Writer) drop(n int, reason string) {
	total := w.dropped.Add(int64(n))
	if w.dropLog.allow(time.Now()) {
		w.log.Error("accounting: dropping request records", "reason", reason, "dropped_total", total)
	}
}

// take removes the full chunks from the queue, and the partial one too if
// partial is set. spare is an empty list for the next full chunks.
func (w *Writer) take(partial bool, spare [][]store.Record) [][]store.Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	chunks := w.full
	w.full = spare[:0]
	w.queuedN -= len(chunks) * w.cfg.batchSize
	if partial && len(w.cur) > 0 {
		chunks = append(chunks, w.cur)
		w.queuedN -= len(w.cur)
		w.cur = nil
	}
	return chunks
}

// putChunk returns a written batch to the pool. It is not cleared: Record
// overwrites it, and until then it keeps some strings alive, which is
// cheaper than clearing every batch.
func (w *Writer) putChunk(c []store.Record) {
	if cap(c) != w.cfg.batchSize {
		return // a slice of a replayed segment
	}
	c = c[:0]
	w.chunks.Put(&c)
}

// Close ends the Writer's life: records still queued because Run never
// started or failed to start are spilled (or dropped), the spill segment that
// records passed to Record after Run returned went to is synced and closed,
// and later records are dropped. Close must not be called before Run has
// returned (it then returns ErrRunning); calling it is optional, since Run
// leaves everything it wrote durable, and calling it twice is harmless.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.running {
		w.mu.Unlock()
		return ErrRunning
	}
	if w.intake == intakeDrop {
		w.mu.Unlock()
		return nil
	}
	w.intake = intakeDrop
	w.mu.Unlock()

	var errs []error
	for _, q := range w.take(true, nil) {
		if w.spill == nil {
			w.drop(len(q), "closed before Run drained the queue")
			errs = append(errs, fmt.Errorf("%d queued records: %w", len(q), ErrRecordsLost))
		} else if err := w.spill.append(q); err != nil {
			w.drop(len(q), "closed before Run drained the queue, spill failed")
			errs = append(errs, fmt.Errorf("spill %d queued records: %w", len(q), errors.Join(err, ErrRecordsLost)))
		} else {
			w.spilled.Add(int64(len(q)))
		}
	}
	if w.spill != nil {
		if err := w.spill.seal(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("accounting: close: %w", err)
	}
	return nil
}

// Stats is a snapshot of a Writer's counters. Counters only grow; Queued
// and Pending are current values.
//
// For a Writer that started with an empty spill directory, once everything
// has been written, Recorded = Written + Dropped less the records written
// twice, which happens only when an insert failed after committing (the
// store skips them). Records replayed from a previous process's segments
// count in Written and Replayed but not in Recorded.
type Stats struct {
	// Recorded counts the calls to Record.
	Recorded int64
	// Written counts records in successful InsertRecords calls, Replayed
	// included.
	Written int64
	// Batches counts successful InsertRecords calls.
	Batches int64
	// Failures counts failed InsertRecords calls.
	Failures int64
	// Spilled counts records appended to the spill directory.
	Spilled int64
	// Replayed counts records read back from the spill directory and written.
	Replayed int64
	// Dropped counts records lost: memory bound exceeded without a spill
	// directory, queue full without one, spill write failures, or Record
	// after Close.
	Dropped int64
	// Corrupt counts spill lines that could not be decoded, e.g. torn by a
	// crash, and were skipped.
	Corrupt int64
	// Queued is the number of records waiting in Record's queue.
	Queued int
	// Pending is the number of records Run holds in memory, not yet written
	// or spilled (the batches being inserted included; not the copy of a
	// spill segment being replayed).
	Pending int
}

// Stats returns a snapshot of the counters, e.g. for a metrics collector.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	queued, recorded := w.queuedN, w.queued
	w.mu.Unlock()
	return Stats{
		Recorded: recorded + w.direct.Load(),
		Written:  w.written.Load(),
		Batches:  w.batches.Load(),
		Failures: w.failures.Load(),
		Spilled:  w.spilled.Load(),
		Replayed: w.replayed.Load(),
		Dropped:  w.dropped.Load(),
		Corrupt:  w.corrupt.Load(),
		Queued:   queued,
		Pending:  int(w.pending.Load()),
	}
}

// rateLimit allows one event per second.
type rateLimit struct {
	last atomic.Int64 // unix nanoseconds of the last allowed event
}

func (r *rateLimit) allow(now time.Time) bool {
	n := now.UnixNano()
	last := r.last.Load()
	return n-last >= int64(time.Second) && r.last.CompareAndSwap(last, n)
}
