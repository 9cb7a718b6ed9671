package accounting

import (
	"context"
	"crypto/rand"
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
// InsertRecords must be idempotent per line of a segment (lines already
// stored are skipped), because the Writer retries failed batches and
// replays the log after a crash, must wrap store.ErrInvalidRecord when it
// rejects a batch for its data, and must not retain the batch after it
// returns. InsertDeadLetter stores a rejected record in its place.
type Sink interface {
	InsertRecords(ctx context.Context, b store.RecordBatch) error
	InsertDeadLetter(ctx context.Context, d store.DeadLetter) error
}

// Errors returned by Run and Close.
var (
	// ErrStarted means Run was called more than once, or after Close.
	ErrStarted = errors.New("accounting: writer already started")
	// ErrRunning means Close was called while Run had not returned.
	ErrRunning = errors.New("accounting: writer still running")
	// ErrRecordsLost means records could be neither written nor logged.
	ErrRecordsLost = errors.New("accounting: records lost")
)

// intake is what Record does with a record.
type intake uint8

const (
	// intakeQueue: log it (group commit) and queue it for Run.
	intakeQueue intake = iota
	// intakeDirect: Run has stopped; append it to the log at once, for the
	// next process, or drop it without a log.
	intakeDirect
	// intakeDrop: the Writer is closed; drop it.
	intakeDrop
)

// durableWaitLimit bounds how long Record waits for the group commit in
// durable mode, should the log stall (the record is then still committed
// later, or kept in memory).
const durableWaitLimit = 5 * time.Second

// commitBytes is the size of staged records at which the committer writes
// without waiting for the sync interval.
const commitBytes = 1 << 20

// Writer writes request records to a Sink in batches, in the background,
// without losing them when the sink fails or the process dies. See the
// package documentation.
type Writer struct {
	sink Sink
	cfg  config
	log  *slog.Logger
	rlog *recordLog // nil without a log directory
	// mem names the records that are not in the log (no log directory, or
	// the log refused them): line memNext is the next such record.
	mem store.SegmentID
	// wake tells Run that a full span is queued; commitNow tells the
	// committer to write the staged records now. Each holds one signal.
	wake      chan struct{}
	commitNow chan struct{}

	// spans holds empty *[]store.Record of capacity batchSize.
	spans sync.Pool

	mu sync.Mutex
	// stage is the group of records waiting for the next group commit;
	// spareGroup is the last one committed, whose buffers stage reuses.
	stage      *group
	spareGroup *group
	// The queue: spans of consecutive lines, each at most a batch. Record
	// (without a log) or the committer appends to cur, which moves to full
	// once it holds a batch; Run takes them whole.
	cur      *memSpan
	full     []*memSpan
	queuedN  int   // records staged or queued
	recorded int64 // calls to Record that were accepted
	memNext  int
	intake   intake
	started  bool
	running  bool

	// Counters, see Stats.
	direct          atomic.Int64
	written         atomic.Int64
	batches         atomic.Int64
	failures        atomic.Int64
	logged          atomic.Int64
	spilled         atomic.Int64
	replayed        atomic.Int64
	dropped         atomic.Int64
	corrupt         atomic.Int64
	deadLettered    atomic.Int64
	logFailures     atomic.Int64
	durableTimeouts atomic.Int64
	pending         atomic.Int64 // gauge
	behind          atomic.Bool  // gauge, see Stats.Behind

	dropLog, logFailLog, deadLog rateLimit
}

// group is the records of one group commit.
type group struct {
	buf  []byte // the records' lines
	recs []store.Record
	// done is closed once the group is committed (or failed to be).
	done chan struct{}
}

// memSpan is records of consecutive lines of one segment held in memory:
// recs[i] is line first+i.
type memSpan struct {
	seg   *segFile // nil for w.mem
	id    store.SegmentID
	first int
	recs  []store.Record
}

// New returns a Writer that writes to sink. Start it with Run.
func New(sink Sink, opts ...Option) *Writer {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	cfg.normalize()
	w := &Writer{
		sink:      sink,
		cfg:       cfg,
		log:       cfg.logger,
		wake:      make(chan struct{}, 1),
		commitNow: make(chan struct{}, 1),
	}
	_, _ = rand.Read(w.mem[:])
	w.spans.New = func() any {
		c := make([]store.Record, 0, cfg.batchSize)
		return &c
	}
	if cfg.spillDir != "" {
		w.rlog = newRecordLog(cfg.spillDir, cfg.segmentRecords, cfg.maxLogBytes)
		w.stage = &group{done: make(chan struct{})}
	}
	return w
}

// Record hands r to the Writer after sanitising it (store.Record.Sanitize).
// It is safe for concurrent use and never waits for the sink.
//
// With a log directory r is staged for the next group commit, which
// appends it to the log and then queues it for Run; in durable mode
// ([WithDurable]) Record returns once that commit is on disk. Without one
// r is queued at once. When Run has returned, r is appended to the log
// directly (for the next process) or dropped without a log; after Close it
// is dropped. Drops are counted in Stats.Dropped.
//
// The Writer keeps r, including the backing array of r.Tags, until it is
// written: do not modify them afterwards.
func (w *Writer) Record(r store.Record) {
	r.Sanitize()
	w.mu.Lock()
	switch w.intake {
	case intakeDrop:
		w.mu.Unlock()
		w.direct.Add(1)
		w.drop(1, "writer closed")
		return
	case intakeDirect:
		w.mu.Unlock()
		w.direct.Add(1)
		w.writeDirect([]store.Record{r}, "writer stopped")
		return
	}
	if w.queuedN >= w.cfg.queueCapacity {
		w.mu.Unlock()
		w.direct.Add(1)
		w.writeDirect([]store.Record{r}, "queue full: the writer is not running or cannot keep up")
		return
	}
	w.recorded++
	w.queuedN++
	if w.rlog == nil {
		ready := w.enqueueLocked(nil, w.mem, w.memNext, r)
		w.memNext++
		w.mu.Unlock()
		if ready {
			signal(w.wake)
		}
		return
	}
	g := w.stage
	g.buf = appendRecord(g.buf, &r)
	g.recs = append(g.recs, r)
	big := len(g.buf) >= commitBytes
	done := g.done
	w.mu.Unlock()
	if w.cfg.durable || big {
		signal(w.commitNow)
	}
	if w.cfg.durable {
		select {
		case <-done:
		default:
			t := time.NewTimer(durableWaitLimit)
			select {
			case <-done:
			case <-t.C:
				w.durableTimeouts.Add(1)
			}
			t.Stop()
		}
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// enqueueLocked appends r, line `line` of segment id, to the queue and
// reports whether a span became full.
func (w *Writer) enqueueLocked(seg *segFile, id store.SegmentID, line int, r store.Record) bool {
	c := w.cur
	if c != nil && (c.seg != seg || c.id != id || c.first+len(c.recs) != line) {
		w.full = append(w.full, c)
		c, w.cur = nil, nil
	}
	if c == nil {
		c = &memSpan{seg: seg, id: id, first: line, recs: *w.spans.Get().(*[]store.Record)}
		w.cur = c
	}
	c.recs = append(c.recs, r)
	if len(c.recs) == w.cfg.batchSize {
		w.full = append(w.full, c)
		w.cur = nil
		return true
	}
	return false
}

// commit writes the staged group to the log, syncing it with sync, and
// queues its records: as lines of the log's segment, or, if the log
// refused them, as records of w.mem. With nothing staged it only syncs what
// is not yet synced. It is called by the committer only.
func (w *Writer) commit(sync bool) {
	w.mu.Lock()
	g := w.stage
	if len(g.recs) == 0 {
		w.mu.Unlock()
		if sync {
			if err := w.rlog.sync(); err != nil {
				w.logFailures.Add(1)
				if w.logFailLog.allow(time.Now()) {
					w.log.Error("accounting: cannot sync the record log", "err", err)
				}
			}
		}
		return
	}
	next := w.spareGroup
	if next == nil {
		next = &group{}
	}
	w.spareGroup = nil
	next.done = make(chan struct{})
	w.stage = next
	w.mu.Unlock()
	defer func() {
		close(g.done)
		// The group's buffers serve the commit after next.
		clear(g.recs)
		g.buf, g.recs, g.done = g.buf[:0], g.recs[:0], nil
		w.mu.Lock()
		w.spareGroup = g
		w.mu.Unlock()
	}()

	n := len(g.recs)
	seg, first, queue, err := w.rlog.write(g.buf, n, sync)
	if err == nil {
		w.logged.Add(int64(n))
	} else {
		w.logFailures.Add(1)
		if w.logFailLog.allow(time.Now()) {
			if errors.Is(err, errLogFull) {
				size, _ := w.rlog.stats()
				w.log.Error("accounting: record log is full, keeping new records in memory only",
					"dir", w.cfg.spillDir, "bytes", size, "max_bytes", w.cfg.maxLogBytes)
			} else {
				w.log.Error("accounting: cannot append to the record log, keeping records in memory only", "err", err)
			}
		}
		seg, queue = nil, true
	}
	if !queue {
		w.spilled.Add(int64(n))
	}
	ready := false
	w.mu.Lock()
	if !queue {
		w.queuedN -= n
	} else {
		for i := range g.recs {
			if seg != nil {
				ready = w.enqueueLocked(seg, seg.id, first+i, g.recs[i]) || ready
			} else {
				ready = w.enqueueLocked(nil, w.mem, w.memNext, g.recs[i]) || ready
				w.memNext++
			}
		}
	}
	w.mu.Unlock()
	if ready {
		signal(w.wake)
	}
}

// writeDirect appends records that cannot be queued to the log at once,
// to be replayed from there, or drops them without a log.
func (w *Writer) writeDirect(rs []store.Record, reason string) bool {
	if w.rlog == nil {
		w.drop(len(rs), reason+", no log directory")
		return false
	}
	var buf []byte
	for i := range rs {
		buf = appendRecord(buf, &rs[i])
	}
	if err := w.rlog.open(); err != nil {
		w.drop(len(rs), reason+", log unusable: "+err.Error())
		return false
	}
	if _, _, _, err := w.rlog.writeOffline(buf, len(rs)); err != nil {
		w.logFailures.Add(1)
		w.drop(len(rs), reason+", log write failed: "+err.Error())
		return false
	}
	w.logged.Add(int64(len(rs)))
	w.spilled.Add(int64(len(rs)))
	return true
}

// drop counts lost records and logs at most once per second.
func (w *Writer) drop(n int, reason string) {
	total := w.dropped.Add(int64(n))
	if w.dropLog.allow(time.Now()) {
		w.log.Error("accounting: dropping request records", "reason", reason, "dropped_total", total)
	}
}

// take removes the full spans from the queue, and the partial one too if
// partial is set, appending them to spare.
func (w *Writer) take(partial bool, spare []*memSpan) []*memSpan {
	w.mu.Lock()
	defer w.mu.Unlock()
	spans := append(spare, w.full...)
	clear(w.full)
	w.full = w.full[:0]
	if partial && w.cur != nil {
		spans = append(spans, w.cur)
		w.cur = nil
	}
	for _, s := range spans[len(spare):] {
		w.queuedN -= len(s.recs)
	}
	return spans
}

// putSpan returns a written span's records to the pool. They are not
// cleared: the next records overwrite them, which is cheaper.
func (w *Writer) putSpan(s *memSpan) {
	if cap(s.recs) != w.cfg.batchSize {
		return // a slice of a replayed segment
	}
	c := s.recs[:0]
	w.spans.Put(&c)
}

// Close ends the Writer's life: records still staged or queued because
// Run never started are appended to the log (or dropped without one), the
// log is closed, and later records are dropped. Close must not be called
// before Run has returned (it then returns ErrRunning); calling it is
// optional, since Run leaves everything durable, and calling it twice is
// harmless.
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
	var left []store.Record
	if w.stage != nil {
		left = append(left, w.stage.recs...)
		close(w.stage.done)
		w.stage = &group{done: make(chan struct{})}
	}
	w.mu.Unlock()
	for _, s := range w.take(true, nil) {
		left = append(left, s.recs...)
	}
	var errs []error
	if len(left) > 0 && !w.writeDirect(left, "closed before Run drained the queue") {
		errs = append(errs, fmt.Errorf("%d queued records: %w", len(left), ErrRecordsLost))
	}
	if w.rlog != nil {
		if err := w.rlog.close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("accounting: close: %w", err)
	}
	return nil
}

// Stats is a snapshot of a Writer's counters. Counters only grow; Queued,
// Pending, LogBytes and LogFull are current values.
//
// For a Writer that started with an empty log directory, once everything
// has been written, Recorded = Written + DeadLettered + Dropped. Records
// replayed from a previous process's log count in Written and Replayed but
// not in Recorded.
type Stats struct {
	// Recorded counts the calls to Record.
	Recorded int64
	// Written counts records stored by successful InsertRecords calls,
	// Replayed included (a line the store already held counts again).
	Written int64
	// Batches counts successful InsertRecords calls.
	Batches int64
	// Failures counts failed InsertRecords calls (retried), data errors
	// that split a batch included.
	Failures int64
	// Logged counts records appended to the record log.
	Logged int64
	// Spilled counts records left to the log only, to be read back from
	// there: while the store was behind, or after Run returned.
	Spilled int64
	// Replayed counts records read back from the log and written.
	Replayed int64
	// DeadLettered counts records the store rejected and kept as dead
	// letters.
	DeadLettered int64
	// Dropped counts records lost: no log directory (or a full or failing
	// log) and the memory bound exceeded, the queue full, or Record after
	// Close.
	Dropped int64
	// Corrupt counts log lines that could not be decoded and were skipped.
	Corrupt int64
	// LogFailures counts group commits the log refused (full or failing).
	LogFailures int64
	// DurableTimeouts counts durable-mode Records that stopped waiting for
	// a stalled group commit.
	DurableTimeouts int64
	// Queued is the number of records staged for the log or queued for Run.
	Queued int
	// Pending is the number of records Run holds in memory, not yet
	// written (the batches being inserted included, not a segment being
	// replayed).
	Pending int
	// LogBytes is the size of the record log; LogFull is set while it is
	// at its bound ([WithMaxLogBytes]).
	LogBytes int64
	LogFull  bool
	// Behind is set while the store does not take records: from a failed
	// insert to the next successful one, and while records wait in the log
	// to be replayed because the store fell behind.
	Behind bool
}

// Stats returns a snapshot of the counters, e.g. for a metrics collector.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	queued, recorded := w.queuedN, w.recorded
	w.mu.Unlock()
	s := Stats{
		Recorded:        recorded + w.direct.Load(),
		Written:         w.written.Load(),
		Batches:         w.batches.Load(),
		Failures:        w.failures.Load(),
		Logged:          w.logged.Load(),
		Spilled:         w.spilled.Load(),
		Replayed:        w.replayed.Load(),
		DeadLettered:    w.deadLettered.Load(),
		Dropped:         w.dropped.Load(),
		Corrupt:         w.corrupt.Load(),
		LogFailures:     w.logFailures.Load(),
		DurableTimeouts: w.durableTimeouts.Load(),
		Queued:          queued,
		Pending:         int(w.pending.Load()),
		Behind:          w.behind.Load(),
	}
	if w.rlog != nil {
		s.LogBytes, s.LogFull = w.rlog.stats()
	}
	return s
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
