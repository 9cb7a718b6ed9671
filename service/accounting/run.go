package accounting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// Run writes queued records to the sink until ctx is done, then performs
// the final flush and returns. It is the Writer's only background loop
// (with the log's committer, which it starts and stops): call it once,
// typically in its own goroutine, and shut the Writer down by cancelling
// ctx and waiting for Run to return.
//
// At start Run locks the log directory and replays the segments a previous
// process left in it. While ctx is live it never returns early except when
// the log directory cannot be used at start.
//
// Once ctx is done, Record stops queueing (see Record), the last group is
// committed, Run waits for the batch being inserted and tries to insert
// what is still in memory within the shutdown timeout, unless the sink is
// already failing and the records are in the log anyway. Records neither
// written nor logged are lost: Run then returns an error wrapping
// ErrRecordsLost. Segments not yet replayed stay for the next process.
// Insert calls keep ctx's values but not its cancellation: they are
// bounded by the batch and shutdown timeouts.
func (w *Writer) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.started || w.intake == intakeDrop {
		w.mu.Unlock()
		return ErrStarted
	}
	w.started, w.running = true, true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.running = false
		w.mu.Unlock()
	}()

	var stopCommit chan struct{}
	var committer sync.WaitGroup
	if w.rlog != nil {
		if err := w.Open(); err != nil {
			w.stopIntake()
			return err
		}
		stopCommit = make(chan struct{})
		committer.Go(func() { w.commitLoop(stopCommit) })
	}
	stopCommitter := func() {
		if stopCommit != nil {
			close(stopCommit)
			committer.Wait()
			stopCommit = nil
		}
	}
	defer stopCommitter()

	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	jobs := make(chan *job)
	results := make(chan *job)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		for j := range jobs {
			w.write(base, j)
			results <- j
		}
	})

	l := &loop{
		w:       w,
		cfg:     &w.cfg,
		log:     w.log,
		jobs:    jobs,
		results: results,
		retry:   time.NewTimer(time.Hour),
	}
	l.retry.Stop()
	defer l.retry.Stop()
	ticker := time.NewTicker(w.cfg.flushInterval)
	defer ticker.Stop()

	for {
		l.dispatch(time.Now())
		l.publish()
		select {
		case <-ctx.Done():
			w.stopIntake()
			stopCommitter() // commits what was staged
			err := l.shutdown(base, cancelBase)
			l.publish()
			return err
		case <-w.wake:
			l.collect(false)
			l.enforce(time.Now())
		case <-ticker.C:
			l.collect(true)
			l.enforce(time.Now())
		case j := <-results:
			l.complete(j, time.Now())
			l.enforce(time.Now())
		case <-l.retry.C:
			// dispatch runs at the top of the loop.
		}
	}
}

// commitLoop is the group commit: every sync interval, or at once when a
// durable Record waits or the staged records grow large, it appends the
// staged records to the log and queues them; it syncs the log (fdatasync)
// every fsync interval, and at every commit in durable mode. When stop is
// closed it commits and syncs once more and returns.
func (w *Writer) commitLoop(stop <-chan struct{}) {
	t := time.NewTicker(w.cfg.syncInterval)
	defer t.Stop()
	lastSync := time.Now()
	for {
		select {
		case <-stop:
			w.commit(true)
			return
		case <-t.C:
		case <-w.commitNow:
		}
		now := time.Now()
		sync := w.cfg.durable || now.Sub(lastSync) >= w.cfg.fsyncInterval
		w.commit(sync)
		if sync {
			lastSync = now
		}
	}
}

// Open locks the log directory (creating it if needed) and lists the
// segments a previous process left, without starting anything: call it at
// start-up to fail early when the directory is unusable or another process
// holds it. Run opens the directory itself if Open was not called. Without
// a log directory Open does nothing.
func (w *Writer) Open() error {
	if w.rlog == nil {
		return nil
	}
	if err := w.rlog.open(); err != nil {
		return fmt.Errorf("accounting: %w", err)
	}
	return nil
}

// stopIntake makes Record write to the log directly (or drop without one).
func (w *Writer) stopIntake() {
	w.mu.Lock()
	if w.intake == intakeQueue {
		w.intake = intakeDirect
	}
	w.mu.Unlock()
}

// write stores the job's batches in order, stopping at the first failure.
func (w *Writer) write(base context.Context, j *job) {
	j.done, j.err = 0, nil
	for _, b := range j.batches {
		if err := w.store(base, b.RecordBatch); err != nil {
			j.err = err
			return
		}
		j.done++
		if j.replay {
			w.replayed.Add(int64(len(b.Records)))
		}
	}
}

// store inserts b. When the sink rejects it for its data, store splits it
// in halves and stores each, down to the one record that fails, which
// goes to the dead letters: a bad record costs about 2·log2(batch size)
// calls and never blocks the others. Halves already stored are skipped
// when the batch is retried.
func (w *Writer) store(base context.Context, b store.RecordBatch) error {
	err := w.insert(base, b)
	if err == nil || !errors.Is(err, store.ErrInvalidRecord) {
		return err
	}
	if len(b.Records) == 1 {
		return w.deadLetter(base, b, err)
	}
	mid := len(b.Records) / 2
	lo, hi := b, b
	lo.Records, hi.Records = b.Records[:mid], b.Records[mid:]
	hi.First = b.First + mid
	if err := w.store(base, lo); err != nil {
		return err
	}
	return w.store(base, hi)
}

// insert makes one bounded InsertRecords call.
func (w *Writer) insert(base context.Context, b store.RecordBatch) error {
	ctx, cancel := context.WithTimeout(base, w.cfg.batchTimeout)
	defer cancel()
	if err := w.sink.InsertRecords(ctx, b); err != nil {
		w.failures.Add(1)
		return fmt.Errorf("accounting: %w", err)
	}
	w.batches.Add(1)
	w.written.Add(int64(len(b.Records)))
	return nil
}

// deadLetter stores the one record of b, which the sink rejected with
// cause, as a dead letter.
func (w *Writer) deadLetter(base context.Context, b store.RecordBatch, cause error) error {
	ctx, cancel := context.WithTimeout(base, w.cfg.batchTimeout)
	defer cancel()
	r := &b.Records[0]
	d := store.DeadLetter{Segment: b.Segment, Line: b.First, Record: *r, Error: cause.Error(), At: time.Now()}
	var coded interface{ SQLState() string }
	if errors.As(cause, &coded) {
		d.Code = coded.SQLState()
	}
	if err := w.sink.InsertDeadLetter(ctx, d); err != nil {
		return fmt.Errorf("accounting: store dead letter: %w", err)
	}
	n := w.deadLettered.Add(1)
	if w.deadLog.allow(time.Now()) {
		w.log.Error("accounting: the store rejected a request record; kept as a dead letter",
			"request_id", r.RequestID, "err", cause, "dead_letters_total", n)
	}
	return nil
}

// maxJobBatches bounds the batches handed to the sender goroutine at once,
// which saves a round trip between goroutines per batch when the sink is
// fast and a backlog builds up.
const maxJobBatches = 16

// batch is a batch of a job and, for records queued in memory, the span it
// came from.
type batch struct {
	store.RecordBatch
	span *memSpan // nil for a replayed segment
}

// job is a run of InsertRecords calls made by the sender goroutine.
type job struct {
	batches []batch
	n       int // records in batches
	// replay is true for batches of the segment being replayed.
	replay bool
	// done is the number of batches written; err is the error of the next
	// one, nil if all were written.
	done int
	err  error
}

func (j *job) reset(replay bool) {
	clear(j.batches)
	*j = job{batches: j.batches[:0], replay: replay}
}

func (j *job) add(b batch) {
	j.batches = append(j.batches, b)
	j.n += len(b.Records)
}

// replayState is the log segment being replayed.
type replayState struct {
	seg *segFile
	ld  *loaded
	// run and next are the run and the record in it to send next.
	run, next int
}

func (r *replayState) finished() bool { return r.run >= len(r.ld.runs) }

// loop is Run's state, owned by Run's goroutine.
type loop struct {
	w       *Writer
	cfg     *config
	log     *slog.Logger
	jobs    chan<- *job
	results <-chan *job
	retry   *time.Timer

	// spare is the list the queue's next spans are appended to.
	spare []*memSpan
	// pending holds the spans waiting to be inserted, oldest first.
	pending  []*memSpan
	pendingN int

	replay   *replayState
	inflight *job
	job      job

	// behind is set while the store cannot keep up: committed records stay
	// in the log only and are replayed from there.
	behind bool
	// failingSince is when the current outage began, zero when healthy.
	failingSince time.Time
	attempt      int
	nextTry      time.Time
	// behindInOutage tells whether this outage was already logged.
	behindInOutage bool
}

func (l *loop) publish() {
	n := l.pendingN
	if l.inflight != nil && !l.inflight.replay {
		n += l.inflight.n
	}
	l.w.pending.Store(int64(n))
	l.w.behind.Store(l.behind || !l.failingSince.IsZero())
}

// collect moves the queue's full spans to pending, and the partial one too
// when the flush interval has elapsed. While behind, spans of segments to
// be replayed are dropped from memory: the log has them.
func (l *loop) collect(partial bool) {
	spans := l.w.take(partial, l.spare)
	for _, s := range spans {
		if s.seg != nil && l.behind && l.w.rlog.replays(s.seg) {
			l.w.spilled.Add(int64(len(s.recs)))
			l.w.putSpan(s)
			continue
		}
		l.pending = append(l.pending, s)
		l.pendingN += len(s.recs)
	}
	clear(spans)
	l.spare = spans[:0]
}

func (l *loop) popPending() *memSpan {
	s := l.pending[0]
	l.pending[0] = nil
	l.pending = l.pending[1:]
	l.pendingN -= len(s.recs)
	return s
}

// dispatch hands the next batches to the sender unless a job is in flight
// or a retry is not yet due: the rest of the segment being replayed, or
// the oldest pending spans, one batch only while the sink is failing.
// Replayed records go first: they are older.
func (l *loop) dispatch(now time.Time) {
	if l.inflight != nil || now.Before(l.nextTry) {
		return
	}
	limit := maxJobBatches
	if !l.failingSince.IsZero() {
		limit = 1
	}
	j := &l.job
	if l.loadReplay() {
		j.reset(true)
		r, bs := l.replay, l.cfg.batchSize
		for ri, next := r.run, r.next; ri < len(r.ld.runs) && len(j.batches) < limit; {
			run := r.ld.runs[ri]
			end := min(next+bs, len(run.recs))
			j.add(batch{RecordBatch: store.RecordBatch{
				Segment: r.ld.id, First: run.first + next, Records: run.recs[next:end], Dedupe: r.ld.dedupe,
			}})
			if next = end; next == len(run.recs) {
				ri, next = ri+1, 0
			}
		}
	} else {
		j.reset(false)
		for len(l.pending) > 0 && len(j.batches) < limit {
			s := l.popPending()
			j.add(batch{RecordBatch: store.RecordBatch{Segment: s.id, First: s.first, Records: s.recs}, span: s})
		}
	}
	if len(j.batches) == 0 {
		return
	}
	l.inflight = j
	l.jobs <- j
}

// loadReplay makes sure the oldest segment to replay is loaded, if there
// is one, and reports whether there is. When only the open segment is
// left it is sealed to be replayed, and, if the sink is healthy, the
// writer stops being behind: records committed from then on are queued in
// memory again.
func (l *loop) loadReplay() bool {
	rl := l.w.rlog
	if rl == nil {
		return false
	}
	for l.replay == nil {
		seg, resumed, err := rl.nextReplay(l.failingSince.IsZero())
		if resumed && l.behind {
			l.behind = false
			l.log.Info("accounting: caught up with the record log; queueing records in memory again")
		}
		if err != nil {
			l.log.Warn("accounting: sealing record log segment failed", "err", err)
		}
		if seg == nil {
			return false
		}
		ld, err := rl.load(seg)
		if err != nil {
			l.log.Error("accounting: cannot read record log segment, setting it aside", "segment", seg.name(), "err", err)
			if err := rl.quarantine(seg); err != nil {
				l.log.Error("accounting: cannot set record log segment aside", "err", err)
			}
			continue
		}
		if ld.corrupt > 0 {
			l.w.corrupt.Add(int64(ld.corrupt))
			l.log.Warn("accounting: skipped undecodable lines in record log segment", "segment", seg.name(), "lines", ld.corrupt)
		}
		if len(ld.runs) == 0 {
			l.removeSegment(seg)
			continue
		}
		l.replay = &replayState{seg: seg, ld: ld}
	}
	return true
}

func (l *loop) removeSegment(seg *segFile) {
	if err := l.w.rlog.remove(seg); err != nil {
		// It is replayed again at the next start, harmlessly.
		l.log.Warn("accounting: cannot remove replayed record log segment", "err", err)
	}
}

// complete handles the result of a job.
func (l *loop) complete(j *job, now time.Time) {
	l.inflight = nil
	written := j.batches[:j.done]
	if j.replay {
		r := l.replay
		for _, b := range written {
			r.next += len(b.Records)
			if r.next == len(r.ld.runs[r.run].recs) {
				r.run, r.next = r.run+1, 0
			}
		}
		if r.finished() {
			l.replay = nil
			l.removeSegment(r.seg)
		}
	} else {
		for _, b := range written {
			if s := b.span; s.seg != nil {
				if err := l.w.rlog.ack(s.seg, len(s.recs)); err != nil {
					l.log.Warn("accounting: cannot remove stored record log segment", "err", err)
				}
			}
			l.w.putSpan(b.span)
		}
	}
	if j.done > 0 && !l.failingSince.IsZero() {
		l.log.Info("accounting: sink recovered", "outage", now.Sub(l.failingSince), "failed_attempts", l.attempt)
		l.failingSince, l.attempt, l.nextTry = time.Time{}, 0, time.Time{}
		l.behindInOutage = false
		l.retry.Stop()
	}
	if j.err != nil {
		l.attempt++
		if l.failingSince.IsZero() {
			l.failingSince = now
			l.log.Warn("accounting: sink failing, retrying", "err", j.err)
		} else {
			l.log.Debug("accounting: sink still failing", "err", j.err, "attempt", l.attempt)
		}
		d := l.backoff()
		l.nextTry = now.Add(d)
		l.retry.Reset(d)
		if !j.replay {
			l.requeue(j.batches[j.done:])
		}
	}
	j.reset(false)
}

// requeue takes back spans that were not written, to the head of pending,
// except, while behind, those the log holds: they are replayed from there.
func (l *loop) requeue(bs []batch) {
	spans := make([]*memSpan, 0, len(bs))
	for _, b := range bs {
		if s := b.span; s.seg != nil && l.behind && l.w.rlog.replays(s.seg) {
			l.w.spilled.Add(int64(len(s.recs)))
			l.w.putSpan(s)
			continue
		}
		spans = append(spans, b.span)
		l.pendingN += len(b.span.recs)
	}
	l.pending = slices.Insert(l.pending, 0, spans...)
}

// backoff returns the wait before the next attempt: exponential in the
// number of consecutive failures, capped, jittered within [d/2, d].
func (l *loop) backoff() time.Duration {
	d := l.cfg.minBackoff
	for i := 1; i < l.attempt && d < l.cfg.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, l.cfg.maxBackoff)
	half := d / 2
	return half + rand.N(d-half+1)
}

// enforce applies the memory bound and the outage threshold. With a log,
// the writer falls behind: the records in memory that the log holds are
// dropped from memory, committed records stay in the log only, and all of
// them are replayed from there. Records the log does not hold (no log, or
// one that refused them) are dropped beyond the memory bound, oldest
// first, keeping one batch to retry.
func (l *loop) enforce(now time.Time) {
	over := l.pendingN > l.cfg.maxPending
	stale := !l.failingSince.IsZero() && now.Sub(l.failingSince) >= l.cfg.spillAfter
	if rl := l.w.rlog; rl != nil && !l.behind && (over || stale) && l.pendingN > 0 {
		l.behind = true
		rl.behind()
		n := 0
		kept := l.pending[:0]
		for _, s := range l.pending {
			if s.seg != nil && rl.replays(s.seg) {
				n += len(s.recs)
				l.w.putSpan(s)
				continue
			}
			kept = append(kept, s)
		}
		clear(l.pending[len(kept):])
		l.pending = kept
		l.pendingN -= n
		l.w.spilled.Add(int64(n))
		if !l.behindInOutage {
			l.behindInOutage = true
			l.log.Warn("accounting: store behind; records stay in the record log and are replayed from there",
				"dir", l.cfg.spillDir, "records_in_memory_released", n, "sink_failing", !l.failingSince.IsZero())
		}
		over = l.pendingN > l.cfg.maxPending
	}
	for over && len(l.pending) > 1 {
		s := l.popPending()
		l.w.drop(len(s.recs), "memory bound exceeded while the sink fails, and the records are not in a log")
		l.w.putSpan(s)
		over = l.pendingN > l.cfg.maxPending
	}
}

// shutdown performs the final flush; see Run.
func (l *loop) shutdown(base context.Context, cancelBase context.CancelFunc) error {
	deadline := time.AfterFunc(l.cfg.shutdownTimeout, cancelBase)
	defer deadline.Stop()

	l.collect(true)
	if l.inflight != nil {
		l.complete(<-l.results, time.Now())
	}
	close(l.jobs)
	// The segment being replayed stays on disk for the next process.
	l.replay = nil

	rl := l.w.rlog
	for len(l.pending) > 0 && base.Err() == nil {
		if rl != nil && !l.failingSince.IsZero() {
			break // the log has them, or takes them below
		}
		if d := time.Until(l.nextTry); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-base.Done():
			}
			t.Stop()
			continue
		}
		j := &l.job
		j.reset(false)
		s := l.popPending()
		j.add(batch{RecordBatch: store.RecordBatch{Segment: s.id, First: s.first, Records: s.recs}, span: s})
		l.w.write(base, j)
		l.complete(j, time.Now())
	}

	// What is left and in the log stays there; the rest is logged now if
	// it can be.
	lost := 0
	for len(l.pending) > 0 {
		s := l.popPending()
		switch {
		case s.seg != nil:
			l.w.spilled.Add(int64(len(s.recs)))
		case !l.w.writeDirect(s.recs, "shutdown: sink failing"):
			lost += len(s.recs)
		}
	}
	if rl != nil {
		// The directory is released for the next process; a Record after
		// Run takes it again.
		if err := errors.Join(rl.stop(), rl.close()); err != nil {
			l.log.Warn("accounting: closing the record log failed", "err", err)
		}
	}
	if lost > 0 {
		return fmt.Errorf("accounting: %d records not written at shutdown: %w", lost, ErrRecordsLost)
	}
	return nil
}
