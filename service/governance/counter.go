package governance

import (
	"context"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// counterID names one counter: a budget period or a rate window.
type counterID struct {
	name   string
	window int64 // UnixNano of the window start; 0 for none
}

// counter is this replica's view of a shared counter: the lease it holds
// and what it has reserved and spent from it.
type counter struct {
	id            counterID
	window        time.Time
	expiredIsUsed bool
	// end is when the window closes (zero: never).
	end time.Time

	dbMu sync.Mutex // serialises database calls

	mu       sync.Mutex
	limit    store.Amount
	held     store.Amount // the lease, as last granted
	inflight store.Amount // reserved by requests in flight
	pending  store.Amount // spent, not yet reported
	used     store.Amount // the counter's used total, as last seen
	leased   store.Amount // all replicas' leases, as last seen
	holders  int
	bigWant  store.Amount // largest recent single need
	spentWin store.Amount // spent since lastSync, for the adaptive slice
	lastSync time.Time
	lastUse  time.Time
	// dryUntil: the database had no room; refuse from memory until then.
	dryUntil  time.Time
	refilling bool
	stale     bool // the limit changed: return the lease
	dead      bool // dropped from the manager: look it up again
}

// avail is what the replica may still reserve: held − inflight − pending.
func (c *counter) availLocked() store.Amount {
	return c.held.Sub(c.inflight).Sub(c.pending)
}

// fits reports whether want fits in a under limit (0 = unlimited).
func fits(a, want, limit store.Amount) bool {
	return (limit.A == 0 || want.A <= a.A) && (limit.B == 0 || want.B <= a.B)
}

// tryReserve reserves want from memory. It reports whether it did and
// whether a background refill should start.
func (c *counter) tryReserve(want store.Amount, now time.Time) (ok, refill bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return false, false
	}
	c.lastUse = now
	c.bigWant = store.Amount{A: max(c.bigWant.A, want.A), B: max(c.bigWant.B, want.B)}
	if c.stale || !fits(c.availLocked(), want, c.limit) {
		return false, false
	}
	c.inflight = c.inflight.Add(want)
	left := c.availLocked()
	if !c.refilling && now.After(c.dryUntil) && c.lowLocked(left) {
		c.refilling = true
		refill = true
	}
	return true, refill
}

// lowLocked reports whether left is under half a slice in a limited dimension.
func (c *counter) lowLocked(left store.Amount) bool {
	s := c.sliceLocked(store.Amount{})
	return (c.limit.A > 0 && 2*left.A < s.A) || (c.limit.B > 0 && 2*left.B < s.B)
}

// sliceLocked is the adaptive lease size per dimension, at least need:
// min(limit/(4·replicas), max(2·largest recent need, spend per second)).
func (c *counter) sliceLocked(need store.Amount) store.Amount {
	replicas := int64(max(c.holders, 1))
	dim := func(limit, need, big, rate int64) int64 {
		if limit == 0 {
			return need
		}
		share := limit / (4 * replicas)
		return max(need, min(share, max(2*big, rate)))
	}
	elapsed := max(time.Since(c.lastSync), 100*time.Millisecond)
	perSec := func(v int64) int64 { return int64(float64(v) / elapsed.Seconds()) }
	return store.Amount{
		A: dim(c.limit.A, need.A, c.bigWant.A, perSec(c.spentWin.A)),
		B: dim(c.limit.B, need.B, c.bigWant.B, perSec(c.spentWin.B)),
	}
}

// release ends a reservation: want leaves inflight, actual joins pending.
func (c *counter) release(want, actual store.Amount) {
	c.mu.Lock()
	c.inflight = c.inflight.Sub(want)
	c.pending = c.pending.Add(actual)
	c.spentWin = c.spentWin.Add(actual)
	c.mu.Unlock()
}

// syncOp says what a sync should do with the lease.
type syncOp int

const (
	opRefill     syncOp = iota // report usage, lease a slice (≥ need)
	opReport                   // report usage and renew the lease
	opReturnFree               // report usage, return what is not reserved
)

// sync reports pending usage to the database and adjusts the lease.
func (c *counter) sync(ctx context.Context, m *Manager, op syncOp, need store.Amount) error {
	c.dbMu.Lock()
	defer c.dbMu.Unlock()
	c.mu.Lock()
	if op == opRefill && need != (store.Amount{}) && !c.stale && fits(c.availLocked(), need, c.limit) {
		c.mu.Unlock()
		return nil // another caller refilled while this one waited
	}
	used := c.pending
	req := store.LeaseRequest{
		Counter: c.id.name, Window: c.window, Holder: m.holder, Limit: c.limit, Used: used,
		TTL: m.cfg.leaseTTL, ExpiredIsUsed: c.expiredIsUsed,
	}
	switch op {
	case opRefill:
		avail := c.availLocked()
		short := store.Amount{A: max(0, need.A-avail.A), B: max(0, need.B-avail.B)}
		req.Want = c.sliceLocked(short)
	case opReturnFree:
		req.Return = store.Amount{A: max(0, c.availLocked().A), B: max(0, c.availLocked().B)}
	}
	if c.limit.A == 0 {
		req.Want.A = 0
	}
	if c.limit.B == 0 {
		req.Want.B = 0
	}
	c.mu.Unlock()

	res, err := m.st.LeaseCounter(ctx, req)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.refilling = false
	if err != nil {
		return err
	}
	c.pending = c.pending.Sub(used)
	c.held, c.used, c.leased, c.holders = res.Held, res.Used, res.Leased, res.Holders
	now := m.now()
	c.lastSync, c.spentWin, c.bigWant = now, store.Amount{}, store.Amount{}
	if op == opReturnFree {
		c.stale = false
	}
	if req.Want != (store.Amount{}) && res.Granted == (store.Amount{}) {
		c.dryUntil = now.Add(m.cfg.dryFor)
	}
	return nil
}

// remaining is the counter's room as last seen by this replica, per dimension.
func (c *counter) remaining() store.Amount {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.limit.Sub(c.used).Sub(c.pending).Sub(c.leased.Sub(c.held)).Sub(c.inflight)
	return store.Amount{A: max(0, r.A), B: max(0, r.B)}
}
