// Package gctune paces the garbage collector of a process whose live heap
// is small next to the memory it may use.
//
// Go's default pacing (GOGC=100) starts a collection when the heap has
// grown by as much as was live after the last one. A gateway keeps little
// live (a few MB of configuration, caches and in-flight requests) and
// allocates per request, so with the default it collects several times a
// second at moderate load: each cycle costs CPU in its mark workers and
// assists, and the requests that overlap it are slower (the tail of the
// latency). The tuner lets the heap grow by at least a fixed headroom
// between collections instead: after every collection it sets the GC
// percentage to headroom/live (never below the default's, never above
// MaxPercent), so a small live heap is collected rarely and a large one
// paced as by default. Memory is bounded by live + headroom, or by the
// default's doubling when that is larger; GOMEMLIMIT, when set, still
// applies.
package gctune

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// MaxPercent bounds the GC percentage the tuner sets.
const MaxPercent = 1000

// liveMetric is the heap marked live by the last collection.
const liveMetric = "/gc/heap/live:bytes"

// Percent returns the GC percentage that lets a heap of live bytes grow
// by at least headroom before the next collection: base when base's own
// growth is that large already, else headroom as a percentage of live,
// at most MaxPercent (and never below base).
func Percent(live, headroom uint64, base int) int {
	if live == 0 {
		return max(base, MaxPercent)
	}
	p := (headroom*100 + live - 1) / live // rounded up
	return max(base, int(min(p, MaxPercent)))
}

// Tuner re-paces the collector after every collection. Its zero value is
// not usable: call Start.
type Tuner struct {
	headroom uint64
	base     int
	log      *slog.Logger

	mu      sync.Mutex
	stopped bool
	percent int
	runs    int
}

// sentinel is allocated to learn of the end of a collection: its cleanup
// runs once a collection found it unreachable. It is large enough not to
// share a tiny-allocator block with other objects (whose lifetimes would
// keep it alive).
type sentinel struct{ _ [32]byte }

// Start begins pacing with the given headroom (in bytes) over base, the
// percentage the process started with (GOGC, 100 by default). It sets the
// percentage at once from the current live heap, then after every
// collection. Stop ends it and restores base.
func Start(headroom uint64, base int, log *slog.Logger) *Tuner {
	t := &Tuner{headroom: headroom, base: base, log: log, percent: base}
	t.update()
	t.arm()
	log.Info("garbage collector paced for a small live heap", "headroom_bytes", headroom, "gogc_base", base, "gogc", t.Percent())
	return t
}

// arm allocates a sentinel whose cleanup runs after the next collection.
func (t *Tuner) arm() {
	s := new(sentinel)
	runtime.AddCleanup(s, func(t *Tuner) { t.afterGC() }, t)
}

// afterGC runs on the runtime's cleanup goroutine after a collection.
func (t *Tuner) afterGC() {
	if t.update() {
		t.arm()
	}
}

// update sets the percentage from the live heap; it reports false once
// the tuner is stopped.
func (t *Tuner) update() bool {
	s := []metrics.Sample{{Name: liveMetric}}
	metrics.Read(s)
	var live uint64
	if s[0].Value.Kind() == metrics.KindUint64 {
		live = s[0].Value.Uint64()
	}
	p := Percent(live, t.headroom, t.base)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.runs++
	// Small changes are not worth a call: setting the percentage
	// recomputes the pacer's goal under the heap lock.
	if d := p - t.percent; d > t.percent/8 || -d > t.percent/8 {
		debug.SetGCPercent(p)
		t.percent = p
		t.log.Debug("garbage collector re-paced", "live_bytes", live, "gogc", p)
	}
	return true
}

// Percent is the GC percentage the tuner last set.
func (t *Tuner) Percent() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.percent
}

// Runs is how many times the tuner has looked at the live heap.
func (t *Tuner) Runs() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.runs
}

// Stop ends the pacing and restores the base percentage.
func (t *Tuner) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopped = true
	debug.SetGCPercent(t.base)
	t.percent = t.base
}
