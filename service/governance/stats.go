package governance

import (
	"sync/atomic"
	"time"
)

// Stats counts what the manager did since it started, for metrics.
type Stats struct {
	// LeaseCalls is the number of lease calls to the store; LeaseFailures
	// those that failed (store unreachable or too slow); LeaseCallTime
	// their total duration.
	LeaseCalls, LeaseFailures int64
	LeaseCallTime             time.Duration
	// Waits is the number of reservations that waited for a lease call
	// (their lease was short).
	Waits int64
	// Refused is the number of reservations refused for lack of room
	// (budget exceeded or rate limited); Unavailable those refused
	// because the store could not answer in time (fail closed, 503).
	Refused, Unavailable int64
	// RunwayAdmits is the number of reservations admitted beyond the
	// lease while the store could not answer (the outage runway).
	RunwayAdmits int64
	// TopUps is the number of stream top-ups granted; TopUpRefusals those
	// refused (the stream was cut).
	TopUps, TopUpRefusals int64
	// Offline is the number of counters whose last lease call failed.
	Offline int64
}

// stats are the manager's counters.
type stats struct {
	leaseCalls, leaseFailures, leaseNanos atomic.Int64
	waits, refused, unavailable, runway   atomic.Int64
	topUps, topUpRefusals                 atomic.Int64
}

// Stats returns the manager's counters.
func (m *Manager) Stats() Stats {
	s := Stats{
		LeaseCalls: m.stats.leaseCalls.Load(), LeaseFailures: m.stats.leaseFailures.Load(),
		LeaseCallTime: time.Duration(m.stats.leaseNanos.Load()),
		Waits:         m.stats.waits.Load(), Refused: m.stats.refused.Load(), Unavailable: m.stats.unavailable.Load(),
		RunwayAdmits: m.stats.runway.Load(), TopUps: m.stats.topUps.Load(), TopUpRefusals: m.stats.topUpRefusals.Load(),
	}
	for _, c := range m.all() {
		c.mu.Lock()
		if c.offlineLocked() {
			s.Offline++
		}
		c.mu.Unlock()
	}
	return s
}
