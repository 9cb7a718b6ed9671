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

// flight is one lease call of a counter in progress. Only one runs at a
// time per counter: every request short of room waits for the flight in
// progress (whose request includes what they queued before it started),
// so one round trip serves them all.
type flight struct {
	done chan struct{}
	// err is set when the store could not be reached; then the counter is
	// offline until a later call succeeds.
	err error
	// short is set when the store granted less than the waiters needed.
	short bool
}

// counter is this replica's view of a shared counter: the lease it holds,
// what it has reserved and spent from it, what the store said about the
// counter at the last call, and the demand statistics that size the lease.
type counter struct {
	id            counterID
	window        time.Time
	expiredIsUsed bool
	// end is when the window closes (zero: never).
	end time.Time

	mu        sync.Mutex
	limit     store.Amount
	held      store.Amount // the lease, as last granted
	returning store.Amount // being given back by the flight in progress
	inflight  store.Amount // reserved by requests in flight
	pending   store.Amount // spent (settled), not yet reported
	queued    store.Amount // wanted by requests waiting for a flight
	queuedMin store.Amount // the smallest want among them (per dimension; approximate)
	// The waiting requests in arrival order (see waiter); head is nil
	// when none waits.
	head, tail *waiter

	// The counter as the last successful lease call left it.
	used, leased, free store.Amount
	holders            int
	starved            bool
	lastOK             time.Time // zero: no call succeeded yet
	lastSync           time.Time // when the last call ended, or the counter was made
	shortAt            time.Time // when a call last granted less than needed

	// failedAt is when lease calls started failing (zero: the last one
	// succeeded): the counter is offline.
	failedAt time.Time

	// Demand statistics, kept across lease calls: reservations per second
	// (rising at once, decaying by half per fold) and the largest single
	// reservation of this fold and the previous one.
	rate         [2]float64
	acc          store.Amount
	lastFold     time.Time
	big, bigPrev store.Amount
	lastUse      time.Time

	fl        *flight // the lease call in progress, nil when none
	staleGen  uint64  // bumped when the limit may have changed
	syncedGen uint64  // staleGen as of the last call that gave the lease back
	dead      bool    // dropped from the manager: look it up again
}

// availLocked is what the replica may still reserve from its lease:
// held − returning − inflight − pending (negative when overdrawn).
func (c *counter) availLocked() store.Amount {
	return c.held.Sub(c.returning).Sub(c.inflight).Sub(c.pending)
}

func (c *counter) staleLocked() bool { return c.staleGen != c.syncedGen }

// offlineLocked reports whether the last lease call failed.
func (c *counter) offlineLocked() bool { return !c.failedAt.IsZero() }

// fits reports whether want fits in a in every dimension that has a limit
// (limit 0 = unlimited).
func fits(a, want, limit store.Amount) bool {
	return (limit.A == 0 || want.A <= a.A) && (limit.B == 0 || want.B <= a.B)
}

func pos(a store.Amount) store.Amount { return store.Amount{A: max(0, a.A), B: max(0, a.B)} }

func maxAmount(a, b store.Amount) store.Amount {
	return store.Amount{A: max(a.A, b.A), B: max(a.B, b.B)}
}

// limitedLocked zeroes the dimensions without a limit: they need no lease.
func (c *counter) limitedLocked(a store.Amount) store.Amount {
	if c.limit.A == 0 {
		a.A = 0
	}
	if c.limit.B == 0 {
		a.B = 0
	}
	return a
}

// noteLocked records a reservation attempt in the demand statistics.
func (c *counter) noteLocked(want store.Amount, now time.Time) {
	c.acc = c.acc.Add(want)
	c.big = maxAmount(c.big, want)
	c.lastUse = now
}

// waiter is a request waiting for room on a counter. From urgentAt on
// (a quarter of its maximum wait after it arrived) it has waited long: the
// room it wants is kept for it, and requests that arrived after it take
// only what the lease holds beyond that. Without this a large request at
// the end of a budget, whose room comes back in parts (other replicas
// giving back their leases as their requests end), would lose every part
// to the smaller requests behind it and be refused when the budget ran
// out, though it asked first.
type waiter struct {
	want       store.Amount
	urgentAt   time.Time
	prev, next *waiter
}

// enqueueLocked records w as waiting, last.
func (c *counter) enqueueLocked(w *waiter) {
	if c.head == nil {
		c.queuedMin = w.want
	} else {
		c.queuedMin = store.Amount{A: min(c.queuedMin.A, w.want.A), B: min(c.queuedMin.B, w.want.B)}
	}
	c.queued = c.queued.Add(w.want)
	w.prev, w.next = c.tail, nil
	if c.tail == nil {
		c.head = w
	} else {
		c.tail.next = w
	}
	c.tail = w
}

// dequeueLocked records that w left. queuedMin stays as it is until the
// queue empties: it may then be below what the remaining waiters want, so
// a lease call may grant a part none of them can use (given back by the
// next call).
func (c *counter) dequeueLocked(w *waiter) {
	c.queued = c.queued.Sub(w.want)
	if w.prev == nil {
		c.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		c.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
	if c.head == nil {
		c.queuedMin = store.Amount{}
	}
}

// keptWaiters bounds how many of the longest-waiting requests have their
// room kept at once, and so the work of keptLocked under the counter's
// lock when thousands wait (a slow store): the oldest are served first,
// and the next ones move up as they leave.
const keptWaiters = 8

// keptLocked is the room kept for the requests that have waited long and
// arrived before w (before any waiter when w is nil: a new request): the
// first keptWaiters of them. They are a prefix of the queue, which is in
// arrival order.
func (c *counter) keptLocked(w *waiter, now time.Time) store.Amount {
	var kept store.Amount
	n := 0
	for x := c.head; x != nil && x != w && n < keptWaiters && !now.Before(x.urgentAt); x = x.next {
		kept = kept.Add(x.want)
		n++
	}
	return kept
}

// tryLocked reserves want from the lease if it fits beside kept (see
// keptLocked). While the store is unreachable the lease serves only as
// long as it surely lives (see config.leaseServes): after that its row may
// have expired and its room been leased to another replica.
func (c *counter) tryLocked(m *Manager, want, kept store.Amount, now time.Time) bool {
	if c.staleLocked() || !fits(c.availLocked().Sub(kept), want, c.limit) {
		return false
	}
	if c.offlineLocked() && now.Sub(c.lastOK) > m.cfg.leaseServes {
		return false
	}
	c.inflight = c.inflight.Add(want)
	return true
}

// foldLocked turns the reservations seen since the last fold into the
// demand rate: it rises at once to a higher instantaneous rate and decays
// by half per fold otherwise. Folds are at least 100ms apart.
func (c *counter) foldLocked(now time.Time) {
	el := now.Sub(c.lastFold)
	if el < 100*time.Millisecond {
		return
	}
	for i, v := range [2]int64{c.acc.A, c.acc.B} {
		inst := float64(v) / el.Seconds()
		if inst >= c.rate[i] {
			c.rate[i] = inst
		} else {
			c.rate[i] = (c.rate[i] + inst) / 2
		}
	}
	c.acc, c.lastFold = store.Amount{}, now
	c.bigPrev, c.big = c.big, store.Amount{}
}

// targetLocked is the free room the lease should keep beyond what is in
// flight and queued: one sync interval of recent demand, at least the
// largest recent request; nothing when idle or when room is scarce (see
// scarceLocked). Recent demand is the folded rate or, when higher, the rate
// since the last fold (over at least 50ms), so that a burst is seen within
// a few lease calls rather than after the next fold.
func (c *counter) targetLocked(m *Manager, now time.Time) store.Amount {
	if c.scarceLocked() || now.Sub(c.lastUse) > m.cfg.idleAfter {
		return store.Amount{}
	}
	h := m.cfg.syncInterval.Seconds()
	el := max(now.Sub(c.lastFold), 50*time.Millisecond).Seconds()
	t := store.Amount{
		A: int64(max(c.rate[0], float64(c.acc.A)/el) * h),
		B: int64(max(c.rate[1], float64(c.acc.B)/el) * h),
	}
	return c.limitedLocked(maxAmount(t, maxAmount(c.big, c.bigPrev)))
}

// lowLocked reports whether a background refill should start: the free
// lease is under half the target in a limited dimension, the store is
// reachable and has not just refused.
func (c *counter) lowLocked(m *Manager, now time.Time) bool {
	if c.offlineLocked() || now.Sub(c.shortAt) < m.cfg.tick {
		return false
	}
	t, a := c.targetLocked(m, now), c.availLocked()
	return (c.limit.A > 0 && 2*a.A < t.A) || (c.limit.B > 0 && 2*a.B < t.B)
}

// syncMode says what a lease call should do with the free lease.
type syncMode uint8

const (
	// syncResize reports usage, leases what queued requests need, and keeps
	// the free lease between one and two targets (giving back the rest).
	syncResize syncMode = iota
	// syncReturn reports usage and gives back the whole free lease.
	syncReturn
)

// requestLocked builds the lease call of a new flight and marks what it
// gives back as returning, so that no request reserves it meanwhile.
func (c *counter) requestLocked(m *Manager, now time.Time, mode syncMode) store.LeaseRequest {
	c.foldLocked(now)
	avail := c.availLocked()
	var ret, need, needMin, extra store.Amount
	switch {
	case mode == syncReturn || c.staleLocked() || c.scarceLocked():
		// Give back all that is free — so the store checks the (new)
		// limit, or so that the room goes to whoever needs it — and ask
		// for what waiters need, each at least the smallest want.
		ret = pos(avail)
		deficit := pos(store.Amount{}.Sub(avail))
		need = pos(c.queued.Add(deficit))
		if need != (store.Amount{}) {
			needMin = c.queuedMin.Add(deficit)
		}
	default:
		need = pos(c.queued.Sub(avail))
		t := c.targetLocked(m, now)
		spare := avail.Sub(c.queued) // free beyond what waiters take
		extra = pos(t.Sub(pos(spare)))
		if need == (store.Amount{}) {
			ret = pos(spare.Sub(t).Sub(t))
			if t == (store.Amount{}) {
				ret = pos(spare)
			}
		}
	}
	ret, need, needMin, extra = c.limitedLocked(ret), c.limitedLocked(need), c.limitedLocked(needMin), c.limitedLocked(extra)
	c.returning = ret
	return store.LeaseRequest{
		Counter: c.id.name, Window: c.window, Holder: m.holder, Limit: c.limit,
		Used: c.pending, Return: ret, Need: need, NeedMin: needMin, Extra: extra,
		TTL: m.cfg.leaseTTL, ExpiredIsUsed: c.expiredIsUsed, StarveFor: m.cfg.starveFor,
	}
}

// applyLocked takes in the outcome of a flight's lease call.
func (c *counter) applyLocked(m *Manager, req store.LeaseRequest, gen uint64, res store.LeaseResult, err error, now time.Time) {
	c.returning = store.Amount{}
	c.lastSync = now
	if err != nil {
		if c.failedAt.IsZero() {
			c.failedAt = now
		}
		return
	}
	c.pending = c.pending.Sub(req.Used)
	c.held = res.Held
	c.used, c.leased, c.holders, c.starved = res.Used, res.Leased, res.Holders, res.Starved
	c.free = res.Free(c.limit)
	c.lastOK = now
	c.failedAt = time.Time{}
	// A call built while the counter was stale gave the free lease back:
	// the store checked the limit of generation gen.
	c.syncedGen = gen
	if res.Granted.A < req.Need.A || res.Granted.B < req.Need.B {
		c.shortAt = now
	}
	m.noteHint(c, now)
}

// noRoomLocked reports whether the counter certainly has no room for want:
// what is reported spent and what this replica has reserved and spent
// leave less than want under the limit. (What other replicas hold may be
// spent or may come back; only they can tell, by giving it back.)
func (c *counter) noRoomLocked(want store.Amount) bool {
	return !fits(c.limit.Sub(c.used).Sub(c.pending).Sub(c.inflight), want, c.limit)
}

// scarceLocked reports whether the room no lease holds is down to a few
// requests per holder, or a holder starved: leases then keep only what is
// in flight and give back the rest at once, so that whichever replica
// needs room finds it.
func (c *counter) scarceLocked() bool {
	if c.starved {
		return true
	}
	if c.lastOK.IsZero() {
		return false
	}
	big := maxAmount(c.big, c.bigPrev)
	n := int64(4 * (c.holders + 1))
	return (c.limit.A > 0 && c.free.A < n*big.A) || (c.limit.B > 0 && c.free.B < n*big.B)
}

// spentLocked reports whether what is spent for sure (reported, and
// settled here) leaves no room for want, whatever the leases hold.
func (c *counter) spentLocked(want store.Amount) bool {
	return !fits(c.limit.Sub(c.used).Sub(c.pending), want, c.limit)
}

// tryRunwayLocked reserves want when the store cannot answer in time:
// from the lease and the runway allowance, while the runway lasts, and
// never beyond what this replica knows is spent or reserved.
func (c *counter) tryRunwayLocked(m *Manager, want store.Amount, now time.Time) bool {
	allow, ok := m.runwayLocked(c, now)
	if !ok || !fits(c.availLocked().Add(allow), want, c.limit) || c.spentLocked(want.Add(c.inflight)) {
		return false
	}
	c.inflight = c.inflight.Add(want)
	m.stats.runway.Add(1)
	return true
}

// release ends a reservation: want leaves inflight, actual joins pending.
func (c *counter) release(want, actual store.Amount) {
	c.mu.Lock()
	c.inflight = c.inflight.Sub(want)
	c.pending = c.pending.Add(actual)
	c.mu.Unlock()
}

// remaining is the counter's room as last seen by this replica, per dimension.
func (c *counter) remaining() store.Amount {
	c.mu.Lock()
	defer c.mu.Unlock()
	return pos(c.limit.Sub(c.used).Sub(c.pending).Sub(c.leased.Sub(c.held)).Sub(c.inflight))
}

// startFlightLocked starts a lease call for c.
func (m *Manager) startFlightLocked(c *counter, mode syncMode) *flight {
	f := &flight{done: make(chan struct{})}
	c.fl = f
	go m.fly(c, f, mode, nil)
	return f
}

// startBackgroundFlightLocked starts a lease call for c that no request
// is waiting for (reports, renewals, resizing): at most a few of those
// run at once, so that a tick with many counters due does not take every
// connection of the pool from the calls requests wait for.
func (m *Manager) startBackgroundFlightLocked(c *counter) *flight {
	f := &flight{done: make(chan struct{})}
	c.fl = f
	go m.fly(c, f, syncResize, m.background)
	return f
}

// fly runs a flight's lease call and wakes its waiters. The request is
// built when the call starts (after sem, if any), so that it covers every
// request that queued meanwhile.
func (m *Manager) fly(c *counter, f *flight, mode syncMode, sem chan struct{}) {
	if sem != nil {
		sem <- struct{}{}
		defer func() { <-sem }()
	}
	c.mu.Lock()
	req, gen := c.requestLocked(m, m.now(), mode), c.staleGen
	c.mu.Unlock()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.callTimeout)
	res, err := m.st.LeaseCounter(ctx, req)
	cancel()
	took := time.Since(start)
	m.stats.leaseCalls.Add(1)
	m.stats.leaseNanos.Add(int64(took))
	if err != nil {
		m.stats.leaseFailures.Add(1)
	}
	c.mu.Lock()
	wasOffline := c.offlineLocked()
	c.applyLocked(m, req, gen, res, err, m.now())
	f.err = err
	f.short = err == nil && (res.Granted.A < req.Need.A || res.Granted.B < req.Need.B)
	c.fl = nil
	c.mu.Unlock()
	close(f.done)
	switch {
	case err != nil && !wasOffline:
		m.cfg.log.Warn("governance: lease call failed; serving from leases within the outage runway",
			"counter", c.id.name, "runway", m.cfg.runway, "err", err)
	case err == nil && wasOffline:
		m.cfg.log.Info("governance: lease calls succeed again", "counter", c.id.name)
	case took > m.cfg.syncInterval/2:
		m.cfg.log.Debug("governance: slow lease call", "counter", c.id.name, "took", took)
	}
}
