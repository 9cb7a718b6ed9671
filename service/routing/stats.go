package routing

import (
	"math"
	"sync/atomic"
)

// BreakerState is the state of a target's circuit breaker.
type BreakerState int32

// The breaker states.
const (
	// BreakerClosed lets every request through.
	BreakerClosed BreakerState = iota
	// BreakerOpen rejects requests until its cooldown is over.
	BreakerOpen
	// BreakerHalfOpen has admitted one probe and rejects other requests
	// until the probe ends.
	BreakerHalfOpen
)

// String returns "closed", "open" or "half_open".
func (s BreakerState) String() string {
	switch s {
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half_open"
	}
	return "closed"
}

// stats are the live statistics of one target, shared by every route
// that uses it. All fields are atomics.
type stats struct {
	key, provider, model string

	inFlight atomic.Int64
	ewma     atomic.Uint64 // float64 bits, nanoseconds
	stamp    atomic.Int64  // clock of the last latency observation

	breaker atomic.Int32 // BreakerState
	fails   atomic.Int32 // consecutive retryable failures
	// until is the end of the cooldown while open, and the deadline of
	// the probe while half-open (a probe that never reports back does not
	// keep the target out forever).
	until atomic.Int64

	m targetMetrics
}

func newStats(key, provider, model string, m *metrics) *stats {
	return &stats{key: key, provider: provider, model: model, m: m.bind(provider, model)}
}

// latency returns the peak-EWMA estimate in nanoseconds.
func (s *stats) latency() float64 { return math.Float64frombits(s.ewma.Load()) }

// score returns the latency estimate weighted by the load, the latency
// strategy's sort key.
func (s *stats) score() float64 { return s.latency() * float64(s.inFlight.Load()+1) }

// observe folds a latency sample into the peak-EWMA: a sample above the
// estimate replaces it at once (peak); lower samples pull it down with a
// weight that grows with the time since the last sample. With onlyPeak
// the sample may raise the estimate but never lower it.
func (s *stats) observe(now int64, v, tau float64, onlyPeak bool) {
	for {
		oldBits := s.ewma.Load()
		old := math.Float64frombits(oldBits)
		var next float64
		switch {
		case old == 0 || v > old:
			next = v
		case onlyPeak:
			return
		default:
			dt := float64(max(now-s.stamp.Load(), 0))
			w := math.Exp(-dt / tau)
			next = old*w + v*(1-w)
		}
		if s.ewma.CompareAndSwap(oldBits, math.Float64bits(next)) {
			s.stamp.Store(now)
			return
		}
	}
}

// admits reports whether the breaker would let a request through now, and
// when it will if not.
func (s *stats) admits(now int64) (bool, int64) {
	if BreakerState(s.breaker.Load()) == BreakerClosed {
		return true, 0
	}
	until := s.until.Load()
	return now >= until, until
}

// acquire admits an attempt. An open breaker past its cooldown becomes
// half-open and admits exactly one probe; forced attempts (every target
// is open) are admitted regardless.
func (s *stats) acquire(now int64, forced bool, cooldown int64) bool {
	for {
		st := BreakerState(s.breaker.Load())
		if st == BreakerClosed {
			return true
		}
		until := s.until.Load()
		if now < until {
			return forced
		}
		// Cooldown over (open) or probe overdue (half-open): claim the probe.
		if s.until.CompareAndSwap(until, now+cooldown) {
			s.breaker.CompareAndSwap(int32(st), int32(BreakerHalfOpen))
			return true
		}
	}
}

// settle updates the breaker with the outcome of an attempt.
func (s *stats) settle(now int64, class Class, rt *Route) {
	switch class {
	case ClassOK, ClassFatal, ClassContextLength:
		// The upstream answered: it is healthy even if the request was bad.
		s.fails.Store(0)
		if s.breaker.Swap(int32(BreakerClosed)) != int32(BreakerClosed) {
			s.m.transitions.Inc()
		}
	case ClassRetryable:
		f := s.fails.Add(1)
		st := BreakerState(s.breaker.Load())
		if st == BreakerHalfOpen || (st == BreakerClosed && f >= rt.failures()) || st == BreakerOpen {
			s.until.Store(now + int64(rt.cooldown()))
			if s.breaker.Swap(int32(BreakerOpen)) != int32(BreakerOpen) {
				s.m.transitions.Inc()
			}
		}
	case ClassCanceled:
		// The caller gave up: no verdict. A cancelled probe frees the slot.
		if BreakerState(s.breaker.Load()) == BreakerHalfOpen {
			s.until.Store(now)
		}
	}
}

func (s *stats) state(now int64) BreakerState {
	st := BreakerState(s.breaker.Load())
	if st == BreakerOpen && now >= s.until.Load() {
		return BreakerHalfOpen
	}
	return st
}
