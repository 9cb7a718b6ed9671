package accounting

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// Run writes queued records to the sink until ctx is done, then performs
// the final flush and returns. It is the Writer's only background loop:
// call it once, typically in its own goroutine, and shut the Writer down by
// cancelling ctx and waiting for Run to return.
//
// At start Run replays the segments left in the spill directory by a
// previous process. While ctx is live it never returns early except when
// the spill directory cannot be used at start.
//
// Once ctx is done, Record stops queueing (see Record), Run waits for the
// batch being inserted, and tries to insert everything still in memory
// within the shutdown timeout, unless the sink is already failing and there
// is a spill directory. What is left is spilled and the segment synced; Run
// returns nil, or an error wrapping ErrRecordsLost if records could be
// neither written nor spilled. Segments not yet replayed stay on disk for
// the next process. Insert calls keep ctx's values but not its
// cancellation: they are bounded by the batch and shutdown timeouts.
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

	if w.spill != nil {
		if err := w.spill.init(); err != nil {
			return fmt.Errorf("accounting: %w", err)
		}
	}

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

// write inserts the job's batches in order, stopping at the first failure.
func (w *Writer) write(base context.Context, j *job) {
	j.done, j.err = 0, nil
	for _, b := range j.batches {
		if err := w.insert(base, b); err != nil {
			j.err = err
			return
		}
		j.done++
		w.batches.Add(1)
		w.written.Add(int64(len(b)))
		if j.replay {
			w.replayed.Add(int64(len(b)))
		}
	}
}

// insert makes one bounded InsertRecords call.
func (w *Writer) insert(base context.Context, rs []store.Record) error {
	ctx, cancel := context.WithTimeout(base, w.cfg.batchTimeout)
	defer cancel()
	if err := w.sink.InsertRecords(ctx, rs); err != nil {
		return fmt.Errorf("accounting: insert %d records: %w", len(rs), err)
	}
	return nil
}

// stopIntake makes Record bypass the queue and returns what was queued.
func (w *Writer) stopIntake() [][]store.Record {
	w.mu.Lock()
	if w.intake == intakeQueue {
		w.intake = intakeSpill
	}
	w.mu.Unlock()
	return w.take(true, nil)
}

// maxJobBatches bounds the batches handed to the sender goroutine at once,
// which saves a round trip between goroutines per batch when the sink is
// fast and a backlog builds up.
const maxJobBatches = 16

// job is a run of InsertRecords calls made by the sender goroutine.
type job struct {
	batches [][]store.Record
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

func (j *job) add(b []store.Record) {
	j.batches = append(j.batches, b)
	j.n += len(b)
}

// replayState is the spill segment being replayed.
type replayState struct {
	seq  uint64
	recs []store.Record
	// next is the index of the first record not yet written.
	next int
}

// loop is Run's state, owned by Run's goroutine.
type loop struct {
	w       *Writer
	cfg     *config
	log     *slog.Logger
	jobs    chan<- *job
	results <-chan *job
	retry   *time.Timer

	// spare is the list the queue's next full chunks are appended to.
	spare [][]store.Record
	// pending holds the batches waiting to be inserted, oldest first.
	pending  [][]store.Record
	pendingN int

	replay   *replayState
	inflight *job
	job      job

	// failingSince is when the current outage began, zero when healthy.
	failingSince time.Time
	attempt      int
	nextTry      time.Time
	// spilledInOutage tells whether this outage was already logged as spilling.
	spilledInOutage bool
}

func (l *loop) publish() {
	n := l.pendingN
	if l.inflight != nil && !l.inflight.replay {
		n += l.inflight.n
	}
	l.w.pending.Store(int64(n))
}

// collect moves the queue's full chunks to pending, and the partial one
// too when the flush interval has elapsed.
func (l *loop) collect(partial bool) {
	chunks := l.w.take(partial, l.spare)
	l.add(chunks)
	clear(chunks)
	l.spare = chunks[:0]
}

func (l *loop) add(chunks [][]store.Record) {
	for _, c := range chunks {
		l.pending = append(l.pending, c)
		l.pendingN += len(c)
	}
}

func (l *loop) recycle(b []store.Record) {
	l.w.putChunk(b)
}

func (l *loop) popPending() []store.Record {
	b := l.pending[0]
	l.pending[0] = nil
	l.pending = l.pending[1:]
	l.pendingN -= len(b)
	return b
}

// dispatch hands the next batches to the sender unless a job is in flight
// or a retry is not yet due: the rest of the segment being replayed, or
// the oldest pending batches, one batch only while the sink is failing.
// Spilled records go first: they are older.
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
		for i := r.next; i < len(r.recs) && len(j.batches) < limit; i += bs {
			j.add(r.recs[i:min(i+bs, len(r.recs))])
		}
	} else {
		j.reset(false)
		for len(l.pending) > 0 && len(j.batches) < limit {
			j.add(l.popPending())
		}
	}
	if len(j.batches) == 0 {
		return
	}
	l.inflight = j
	l.jobs <- j
}

// loadReplay makes sure the oldest spilled segment is loaded, if there is
// one, and reports whether there is. Records in memory are newer than those
// on disk, so an open segment is sealed to be replayed before them.
func (l *loop) loadReplay() bool {
	sp := l.w.spill
	if sp == nil {
		return false
	}
	for l.replay == nil {
		seq, ok := sp.oldest()
		if !ok {
			if !sp.hasOpen() {
				return false
			}
			l.sealSpill()
			continue
		}
		recs, corrupt, err := sp.load(seq)
		if corrupt > 0 {
			l.w.corrupt.Add(int64(corrupt))
			l.log.Warn("accounting: skipped undecodable lines in spill segment", "segment", segmentName(seq), "lines", corrupt)
		}
		switch {
		case err != nil:
			l.log.Error("accounting: cannot read spill segment, setting it aside", "segment", segmentName(seq), "err", err)
			if err := sp.quarantine(seq); err != nil {
				l.log.Error("accounting: cannot set spill segment aside", "err", err)
			}
		case len(recs) == 0:
			l.removeSegment(seq)
		default:
			l.replay = &replayState{seq: seq, recs: recs}
		}
	}
	return true
}

func (l *loop) removeSegment(seq uint64) {
	if err := l.w.spill.remove(seq); err != nil {
		// It is replayed again at the next start, harmlessly.
		l.log.Warn("accounting: cannot remove replayed spill segment", "err", err)
	}
}

// complete handles the result of a job.
func (l *loop) complete(j *job, now time.Time) {
	l.inflight = nil
	written := j.batches[:j.done]
	if j.replay {
		r := l.replay
		for _, b := range written {
			r.next += len(b)
		}
		if r.next >= len(r.recs) {
			l.replay = nil
			l.removeSegment(r.seq)
		}
	} else {
		for _, b := range written {
			l.recycle(b)
		}
	}
	if j.done > 0 && !l.failingSince.IsZero() {
		l.log.Info("accounting: sink recovered", "outage", now.Sub(l.failingSince), "failed_attempts", l.attempt)
		l.failingSince, l.attempt, l.nextTry = time.Time{}, 0, time.Time{}
		l.spilledInOutage = false
		l.retry.Stop()
	}
	if j.err != nil {
		l.w.failures.Add(1)
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

// requeue takes back batches that were not written. Memory holds only
// records newer than those on disk: if records were spilled while the
// batches were in flight they go to disk too (after them: the one case
// where order is not kept), otherwise back to the head of pending.
func (l *loop) requeue(bs [][]store.Record) {
	if sp := l.w.spill; sp != nil && (l.replay != nil || sp.hasBacklog()) {
		for len(bs) > 0 {
			if err := sp.append(bs[0]); err != nil {
				if l.w.spillLog.allow(time.Now()) {
					l.log.Error("accounting: cannot spill request records, keeping them in memory", "err", err)
				}
				break
			}
			l.w.spilled.Add(int64(len(bs[0])))
			l.recycle(bs[0])
			bs = bs[1:]
		}
	}
	l.pending = slices.Insert(l.pending, 0, bs...)
	for _, b := range bs {
		l.pendingN += len(b)
	}
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

// enforce applies the memory bound and the outage threshold: pending
// batches move to the spill directory, from where they are then retried,
// or, without one, the oldest are dropped, keeping one batch to retry.
func (l *loop) enforce(now time.Time) {
	over := l.pendingN > l.cfg.maxPending
	if sp := l.w.spill; sp != nil && l.pendingN > 0 {
		stale := !l.failingSince.IsZero() && now.Sub(l.failingSince) >= l.cfg.spillAfter
		// Unless memory is short, wait for the batch in flight: if it
		// fails it is older than the pending ones and goes first.
		if inMemory := l.inflight != nil && !l.inflight.replay; over || (stale && !inMemory) {
			n, err := l.spillPending()
			if n > 0 && !l.spilledInOutage && !l.failingSince.IsZero() {
				l.spilledInOutage = true
				l.log.Warn("accounting: spilling request records to disk", "dir", l.cfg.spillDir, "records", n)
			}
			if err != nil && l.w.spillLog.allow(now) {
				l.log.Error("accounting: cannot spill request records, keeping them in memory", "err", err)
			}
			over = l.pendingN > l.cfg.maxPending
		}
	}
	for over && len(l.pending) > 1 {
		b := l.popPending()
		l.w.drop(len(b), "memory bound exceeded while the sink fails")
		l.recycle(b)
		over = l.pendingN > l.cfg.maxPending
	}
}

// spillPending appends the pending batches to the spill directory, oldest
// first, and returns the number of records spilled.
func (l *loop) spillPending() (int, error) {
	spilled := 0
	for len(l.pending) > 0 {
		b := l.pending[0]
		if err := l.w.spill.append(b); err != nil {
			// Keep the batch; if it was partly written its records may be
			// written twice, which the sink tolerates.
			return spilled, err
		}
		l.popPending()
		l.w.spilled.Add(int64(len(b)))
		spilled += len(b)
		l.recycle(b)
	}
	return spilled, nil
}

func (l *loop) sealSpill() {
	if l.w.spill == nil {
		return
	}
	if err := l.w.spill.seal(); err != nil {
		l.log.Warn("accounting: sealing spill segment failed", "err", err)
	}
}

// shutdown performs the final flush; see Run.
func (l *loop) shutdown(base context.Context, cancelBase context.CancelFunc) error {
	deadline := time.AfterFunc(l.cfg.shutdownTimeout, cancelBase)
	defer deadline.Stop()

	l.add(l.w.stopIntake())
	if l.inflight != nil {
		l.complete(<-l.results, time.Now())
	}
	close(l.jobs)
	// The segment being replayed stays on disk for the next process.
	l.replay = nil

	sp := l.w.spill
	for len(l.pending) > 0 && base.Err() == nil {
		if sp != nil && !l.failingSince.IsZero() {
			break // spill now rather than wait for a failing sink
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
		j.add(l.popPending())
		l.w.write(base, j)
		l.complete(j, time.Now())
	}

	lost := 0
	if len(l.pending) > 0 && sp != nil {
		n, err := l.spillPending()
		if err != nil {
			l.log.Error("accounting: cannot spill request records at shutdown", "err", err)
		}
		if n > 0 {
			l.log.Warn("accounting: spilled request records at shutdown", "dir", l.cfg.spillDir, "records", n)
		}
	}
	for len(l.pending) > 0 {
		b := l.popPending()
		lost += len(b)
	}
	if lost > 0 {
		l.w.drop(lost, "shutdown: sink failing and no spill possible")
	}
	l.sealSpill()
	if lost > 0 {
		return fmt.Errorf("accounting: %d records not written at shutdown: %w", lost, ErrRecordsLost)
	}
	return nil
}
