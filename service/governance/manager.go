package governance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// Store is the part of the store the manager uses.
type Store interface {
	ListBudgets(ctx context.Context, teamID string) ([]store.Budget, error)
	GetBudget(ctx context.Context, id string) (*store.Budget, error)
	ListRateLimits(ctx context.Context, teamID string) ([]store.RateLimit, error)
	GetRateLimit(ctx context.Context, id string) (*store.RateLimit, error)
	store.Counters
}

// Subject is who a request is charged to.
type Subject struct {
	KeyID, TeamID, ServiceID string
}

// Demand is what a request costs: money in nano-USD and tokens.
type Demand struct {
	Nanos, Tokens int64
}

// Option configures a Manager.
type Option func(*config)

type config struct {
	log          *slog.Logger
	now          func() time.Time
	holder       string
	syncInterval time.Duration
	runway       time.Duration
	maxWait      time.Duration

	// Derived from the above (see New).
	tick        time.Duration // maintenance period
	leaseTTL    time.Duration
	idleAfter   time.Duration
	callTimeout time.Duration
	starveFor   time.Duration
	// leaseServes is how long after its last successful lease call a
	// counter's lease still serves while the store is unreachable: the
	// runway, and at least until two sync intervals before the lease could
	// expire.
	leaseServes time.Duration
}

// WithLogger sets the logger for background failures.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithHolder names this replica's leases (default: random).
func WithHolder(id string) Option { return func(c *config) { c.holder = id } }

// WithSyncInterval sets how often usage is reported and leases resized
// (default 1s). Free leases are sized to one interval of recent demand,
// and given back after an interval without requests.
func WithSyncInterval(d time.Duration) Option { return func(c *config) { c.syncInterval = d } }

// WithOutageRunway sets how long budgeted traffic keeps being served from
// memory when the store cannot be reached (default 15s), counted from each
// counter's last successful lease call: from the lease held, plus a share
// of the room the store last reported free. After it, requests fail closed
// with ErrUnavailable. 0 serves only from the lease held, for at most its
// lifetime less two sync intervals. Leases live at least the runway plus
// two sync intervals, so a lease spent during an outage is not given to
// another replica meanwhile.
func WithOutageRunway(d time.Duration) Option { return func(c *config) { c.runway = max(d, 0) } }

// WithMaxWait bounds how long a request waits for room when its lease is
// dry (default 2s): for the lease call in flight, or for other replicas to
// give back free room. A request that cannot be decided in that time fails
// with ErrUnavailable, never with a quota error.
func WithMaxWait(d time.Duration) Option { return func(c *config) { c.maxWait = d } }

// Manager admits requests against budgets and rate limits. It is safe for
// concurrent use. Run must be running for usage to be reported and leases
// to be renewed, resized and returned; requests refill leases on their own.
type Manager struct {
	st     Store
	holder string
	cfg    config
	now    func() time.Time

	rules atomic.Pointer[rules]
	ready atomic.Bool
	// applyMu serialises the writers of rules (Load, Apply), each from
	// its read of the store to its store of the rules.
	applyMu sync.Mutex

	mu       sync.RWMutex
	counters map[counterID]*counter

	// hints remembers, per counter name, what the last successful lease
	// call of its latest window said: a new window starts with the demand
	// statistics of the previous one, and gets a runway allowance while the
	// store is unreachable.
	hints sync.Map // string → *hint

	stats stats

	// background bounds the lease calls no request waits for.
	background chan struct{}
}

// hint is what a counter's last successful lease call said.
type hint struct {
	at      time.Time
	window  time.Time
	holders int
	rate    [2]float64
	big     store.Amount
}

// New returns a Manager over st. Call Load (or Run) before serving.
func New(st Store, opts ...Option) *Manager {
	cfg := config{log: slog.New(slog.DiscardHandler), now: time.Now, syncInterval: time.Second,
		runway: 15 * time.Second, maxWait: 2 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.holder == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		cfg.holder = "replica-" + hex.EncodeToString(b)
	}
	cfg.syncInterval = max(cfg.syncInterval, 10*time.Millisecond)
	cfg.tick = min(cfg.syncInterval/4, 250*time.Millisecond)
	cfg.leaseTTL = max(4*cfg.syncInterval, 5*time.Second, cfg.runway+2*cfg.syncInterval)
	cfg.idleAfter = cfg.syncInterval
	cfg.callTimeout = max(2*cfg.syncInterval, time.Second)
	cfg.starveFor = 2 * cfg.syncInterval
	cfg.leaseServes = max(cfg.runway, cfg.leaseTTL-2*cfg.syncInterval)
	if cfg.maxWait <= 0 {
		cfg.maxWait = 2 * time.Second
	}
	m := &Manager{st: st, holder: cfg.holder, cfg: cfg, now: cfg.now, counters: map[counterID]*counter{},
		background: make(chan struct{}, 2)}
	m.rules.Store(newRules(nil, nil))
	return m
}

// Load replaces the rules with the store's budgets and rate limits.
func (m *Manager) Load(ctx context.Context) error {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	bs, err := m.st.ListBudgets(ctx, "")
	if err != nil {
		return fmt.Errorf("governance: load budgets: %w", err)
	}
	ls, err := m.st.ListRateLimits(ctx, "")
	if err != nil {
		return fmt.Errorf("governance: load rate limits: %w", err)
	}
	m.rules.Store(newRules(bs, ls))
	m.markStale(func(string) bool { return true })
	m.ready.Store(true)
	return nil
}

// Apply brings one changed budget or rate limit up to date (everything on
// a resync) and makes this replica give back its free leases of it, so
// that a lowered limit is enforced on the next request.
func (m *Manager) Apply(ctx context.Context, c store.Change) error {
	if c.Kind == store.ChangeResync {
		return m.Load(ctx)
	}
	// Read and replace the rules under applyMu: concurrent applies (an
	// admin call's and the notification of an earlier write) neither lose
	// each other's rule nor put back an older read of one.
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	switch c.Kind {
	case store.ChangeBudget:
		b, err := m.st.GetBudget(ctx, c.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("governance: load budget %s: %w", c.ID, err)
		}
		m.rules.Store(m.rules.Load().withBudget(c.ID, b))
		name := budgetCounter(c.ID)
		m.markStale(func(n string) bool { return n == name })
	case store.ChangeRateLimit:
		l, err := m.st.GetRateLimit(ctx, c.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("governance: load rate limit %s: %w", c.ID, err)
		}
		m.rules.Store(m.rules.Load().withRateLimit(c.ID, l))
		rate, conc := rateCounter(c.ID), concCounter(c.ID)
		m.markStale(func(n string) bool { return n == rate || n == conc })
	}
	return nil
}

// markStale makes the matching counters give back their free lease before
// they admit more.
func (m *Manager) markStale(match func(name string) bool) {
	for _, c := range m.all() {
		if match(c.id.name) {
			c.mu.Lock()
			c.staleGen++
			c.mu.Unlock()
		}
	}
}

// all returns the counters.
func (m *Manager) all() []*counter {
	m.mu.RLock()
	defer m.mu.RUnlock()
	cs := make([]*counter, 0, len(m.counters))
	for _, c := range m.counters {
		cs = append(cs, c)
	}
	return cs
}

// Watcher delivers store changes (store.Store's Watch).
type Watcher interface {
	Watch(ctx context.Context, fn func(store.Change)) error
}

// Run keeps the rules in sync with w's changes and maintains the leases
// (report usage, renew, resize, return idle ones, retry while the store is
// unreachable) until ctx is done; it then returns every free lease and
// reports pending usage, and returns nil.
func (m *Manager) Run(ctx context.Context, w Watcher) error {
	var wg sync.WaitGroup
	wg.Go(func() {
		err := w.Watch(ctx, func(c store.Change) {
			if err := m.Apply(ctx, c); err != nil && ctx.Err() == nil {
				m.cfg.log.Error("governance: applying change failed", "kind", c.Kind, "id", c.ID, "err", err)
			}
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			m.cfg.log.Error("governance: watch stopped", "err", err)
		}
	})
	if lw, ok := m.st.(store.LeaseWatcher); ok {
		wg.Go(func() {
			err := lw.WatchLeases(ctx, m.giveBack)
			if err != nil && !errors.Is(err, context.Canceled) {
				m.cfg.log.Error("governance: lease watch stopped", "err", err)
			}
		})
	}
	tick := time.NewTicker(m.cfg.tick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			m.Flush(sctx)
			return nil
		case <-tick.C:
			m.maintain()
		}
	}
}

// giveBack makes this replica give back the free part of its leases of
// the named counter at once: another replica is short of room.
func (m *Manager) giveBack(name string) {
	for _, c := range m.all() {
		if c.id.name != name {
			continue
		}
		c.mu.Lock()
		c.starved = true // until the next lease call says otherwise
		if c.fl == nil && pos(c.limitedLocked(c.availLocked())) != (store.Amount{}) {
			m.startFlightLocked(c, syncResize)
		}
		c.mu.Unlock()
	}
}

// maintain starts the lease calls that are due: usage to report, a stale
// or starved lease to give back, a lease to renew or resize, a failing
// store to retry; and drops idle counters and closed windows.
func (m *Manager) maintain() {
	now := m.now()
	for _, c := range m.all() {
		c.mu.Lock()
		if c.fl != nil {
			c.mu.Unlock()
			continue
		}
		busy := c.inflight != (store.Amount{}) || c.queued != (store.Amount{})
		hasLease := c.held != (store.Amount{}) || c.pending != (store.Amount{})
		closed := !c.end.IsZero() && now.After(c.end) && !busy
		idle := now.Sub(c.lastUse) > m.cfg.idleAfter && !busy
		sinceSync := now.Sub(c.lastSync)
		avail := c.availLocked()
		t := c.targetLocked(m, now)
		spare := pos(c.limitedLocked(avail.Sub(c.queued)))
		excess := spare.A > 2*t.A || spare.B > 2*t.B
		var due bool
		switch {
		case closed || (idle && !hasLease):
			if m.drop(c) && hasLease {
				due = true
			}
		case c.offlineLocked():
			due = sinceSync >= m.cfg.tick
		case c.staleLocked():
			due = true
		case c.scarceLocked() && pos(c.limitedLocked(avail)) != (store.Amount{}) && sinceSync >= m.cfg.tick:
			due = true // room is scarce: give back what is free
		case c.pending != (store.Amount{}) && sinceSync >= m.cfg.syncInterval:
			due = true
		case excess && sinceSync >= m.cfg.syncInterval:
			due = true
		case hasLease && now.Sub(c.lastOK) >= m.cfg.leaseTTL/3:
			due = true
		}
		if due {
			m.startBackgroundFlightLocked(c)
		}
		c.mu.Unlock()
	}
}

// drop removes c from the manager unless it is busy. A dropped counter
// takes no more reservations (Admit looks the counter up again), so two
// objects never spend the same lease. Called with c.mu held.
func (m *Manager) drop(c *counter) bool {
	if c.inflight != (store.Amount{}) || c.queued != (store.Amount{}) || c.fl != nil {
		return false
	}
	m.mu.Lock()
	if m.counters[c.id] == c {
		delete(m.counters, c.id)
	}
	m.mu.Unlock()
	c.dead = true
	return true
}

// Flush reports pending usage and gives back every free lease, waiting
// for the calls (each bounded by the call timeout) or ctx.
func (m *Manager) Flush(ctx context.Context) {
	var wg sync.WaitGroup
	for _, c := range m.all() {
		wg.Go(func() {
			c.mu.Lock()
			for c.fl != nil {
				f := c.fl
				c.mu.Unlock()
				select {
				case <-f.done:
				case <-ctx.Done():
					return
				}
				c.mu.Lock()
			}
			if c.held == (store.Amount{}) && c.pending == (store.Amount{}) {
				c.mu.Unlock()
				return
			}
			f := m.startFlightLocked(c, syncReturn)
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
			}
		})
	}
	wg.Wait()
}

// counter returns the counter for id, creating it.
func (m *Manager) counter(id counterID, window, end time.Time, limit store.Amount, expiredIsUsed bool) *counter {
	m.mu.RLock()
	c, ok := m.counters[id]
	m.mu.RUnlock()
	if !ok {
		m.mu.Lock()
		if c, ok = m.counters[id]; !ok {
			now := m.now()
			c = &counter{id: id, window: window, end: end, limit: limit, expiredIsUsed: expiredIsUsed,
				lastSync: now, lastFold: now, lastUse: now}
			if v, ok := m.hints.Load(id.name); ok {
				// A new window of a busy counter: expect the same demand.
				h := v.(*hint)
				c.rate, c.bigPrev = h.rate, h.big
			}
			m.counters[id] = c
		}
		m.mu.Unlock()
	}
	c.mu.Lock()
	if c.limit != limit {
		c.limit = limit
	}
	c.mu.Unlock()
	return c
}

// noteHint remembers what c's last successful lease call said, for the
// next window of the same counter (see hint). Called with c.mu held.
func (m *Manager) noteHint(c *counter, now time.Time) {
	if v, ok := m.hints.Load(c.id.name); ok {
		if h := v.(*hint); h.window == c.window && now.Sub(h.at) < m.cfg.tick {
			return
		}
	}
	m.hints.Store(c.id.name, &hint{at: now, window: c.window, holders: c.holders, rate: c.rate, big: maxAmount(c.big, c.bigPrev)})
}

// runwayLocked returns what c may spend beyond its lease when the store
// cannot answer in time, and whether the runway still lasts: a share of
// the room the store last reported free (free / holders) until the runway
// after the last successful call ends; for a window this replica never
// reached the store in, the window's limit shared among the replicas that
// held leases of the previous window, provided the new window began after
// the store was last reached (nobody can have spent from it meanwhile
// unless a replica is cut off alone). Called with c.mu held.
func (m *Manager) runwayLocked(c *counter, now time.Time) (store.Amount, bool) {
	if m.cfg.runway <= 0 {
		return store.Amount{}, false
	}
	if !c.lastOK.IsZero() {
		n := int64(max(c.holders, 1))
		return store.Amount{A: c.free.A / n, B: c.free.B / n}, now.Sub(c.lastOK) <= m.cfg.runway
	}
	v, ok := m.hints.Load(c.id.name)
	if !ok {
		return store.Amount{}, false
	}
	h := v.(*hint)
	if c.window.IsZero() || !c.window.After(h.at) || now.Sub(h.at) > m.cfg.runway {
		return store.Amount{}, false
	}
	n := int64(max(h.holders, 1))
	return store.Amount{A: c.limit.A / n, B: c.limit.B / n}, true
}

// Ticket is an admitted request's reservations; pass it to Settle.
type Ticket struct {
	res []reservation
	buf [4]reservation // res's backing array for up to four counters
}

type reservation struct {
	c    *counter
	want store.Amount
	kind ruleKind
	rule *rule
	end  time.Time
}

// Admit reserves d (the request's worst case) from every budget and rate
// limit that applies to s, or refuses with a *LimitError wrapping
// ErrBudgetExceeded or ErrRateLimited — only when the shared counter has
// no room for d — or with an *UnavailableError when that cannot be decided
// (the store is unreachable beyond the outage runway, or did not answer
// within the maximum wait). It returns a nil ticket when nothing applies.
// The caller must Settle every non-nil ticket.
func (m *Manager) Admit(ctx context.Context, s Subject, d Demand) (*Ticket, error) {
	rs := m.rules.Load()
	applicable := rs.match(s)
	if len(applicable) == 0 {
		return nil, nil
	}
	now := m.now()
	deadline := now.Add(m.cfg.maxWait)
	t := &Ticket{}
	t.res = t.buf[:0]
	var buf [8]part
	for _, r := range applicable {
		for _, p := range r.appendParts(buf[:0], now, d) {
			c := m.counterOf(r, &p)
			err := m.reserve(ctx, c, p.want, now, deadline)
			for try := 0; errors.Is(err, errDropped) && try < 3; try++ {
				r.cur[p.slot].CompareAndSwap(c, nil)
				c = m.counterOf(r, &p)
				err = m.reserve(ctx, c, p.want, now, deadline)
			}
			if err != nil {
				t.cancel()
				m.count(err)
				return nil, r.limitError(p.kind, p.end, p.want, c, now, err)
			}
			t.res = append(t.res, reservation{c: c, want: p.want, kind: p.kind, rule: r, end: p.end})
		}
	}
	return t, nil
}

// counterOf returns the counter of part p of rule r: the one r found last
// if it is of the same window, else the manager's (created if need be).
func (m *Manager) counterOf(r *rule, p *part) *counter {
	if c := r.cur[p.slot].Load(); c != nil && c.id == p.id {
		return c
	}
	c := m.counter(p.id, p.window, p.end, p.limit, p.expiredIsUsed)
	r.cur[p.slot].Store(c)
	return c
}

// TopUp reserves d more for the admitted request of t, from the budgets
// and token rates that admitted it (a stream that outgrew its
// reservation). It refuses like Admit; what t holds stays reserved until
// Settle either way. A nil t is a no-op.
func (m *Manager) TopUp(ctx context.Context, t *Ticket, d Demand) error {
	if t == nil {
		return nil
	}
	now := m.now()
	deadline := now.Add(m.cfg.maxWait)
	for i := range t.res {
		r := &t.res[i]
		var more store.Amount
		switch r.kind {
		case kindBudget:
			more = store.Amount{A: d.Nanos, B: d.Tokens}
		case kindRate:
			more = store.Amount{B: d.Tokens}
		}
		if more == (store.Amount{}) {
			continue
		}
		if err := m.reserve(ctx, r.c, more, now, deadline); err != nil {
			m.count(err)
			m.stats.topUpRefusals.Add(1)
			return r.rule.limitError(r.kind, r.end, more, r.c, now, err)
		}
		m.stats.topUps.Add(1)
		r.want = r.want.Add(more)
	}
	return nil
}

// count counts a failed reservation in the stats.
func (m *Manager) count(err error) {
	switch {
	case errors.Is(err, errNoRoom):
		m.stats.refused.Add(1)
	case errors.Is(err, ErrUnavailable):
		m.stats.unavailable.Add(1)
	}
}

// Reasons reserve fails besides a *UnavailableError and ctx's error.
var (
	// errNoRoom means the counter has no room left for the request.
	errNoRoom = errors.New("no room")
	// errDropped means the counter was dropped meanwhile; look it up again.
	errDropped = errors.New("counter dropped")
)

// reserve takes want from c's lease. When the lease is short it waits for
// the lease call in flight (or starts one), whose request covers every
// waiting request, and refuses only when the store reports no room for
// want. now is the request's time; deadline bounds the wait.
func (m *Manager) reserve(ctx context.Context, c *counter, want store.Amount, now, deadline time.Time) error {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return errDropped
	}
	c.noteLocked(want, now)
	// Requests already waiting go first: the lease call they wait for was
	// sized for them.
	if c.head == nil && c.tryLocked(m, want, store.Amount{}, now) {
		if c.fl == nil && c.lowLocked(m, now) {
			m.startFlightLocked(c, syncResize)
		}
		c.mu.Unlock()
		return nil
	}
	m.stats.waits.Add(1)
	return m.reserveSlow(ctx, c, want, deadline)
}

// reserveSlow is reserve's path when the lease is short. Called with c.mu
// held; returns with it released.
func (m *Manager) reserveSlow(ctx context.Context, c *counter, want store.Amount, deadline time.Time) error {
	w := &waiter{want: want, urgentAt: deadline.Add(-m.cfg.maxWait * 3 / 4)}
	queued := false
	leave := func(err error) error {
		if queued {
			c.dequeueLocked(w)
		}
		c.mu.Unlock()
		return err
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var woke *flight // the flight last waited for, when it ended
	reached := false // a flight waited for reached the store
	pauses := 0
	for {
		if c.dead {
			return leave(errDropped)
		}
		now := m.now()
		var asker *waiter // nil: a new request, behind every waiter
		if queued {
			asker = w
		}
		if c.tryLocked(m, want, c.keptLocked(asker, now), now) {
			return leave(nil)
		}
		if c.offlineLocked() {
			// The store cannot be reached: serve from the lease and the
			// runway, else fail closed without waiting.
			if c.tryRunwayLocked(m, want, now) {
				return leave(nil)
			}
			if c.fl == nil && now.Sub(c.lastSync) >= m.cfg.tick {
				m.startFlightLocked(c, syncResize) // probe the store for the requests to come
			}
			if c.spentLocked(want) {
				return leave(errNoRoom)
			}
			return leave(unavailable(time.Second, "the limits store cannot be reached and this replica's lease cannot cover the request"))
		}
		pause := false
		if woke != nil && woke.err == nil && !c.staleLocked() {
			if c.noRoomLocked(want) {
				return leave(errNoRoom)
			}
			// The rest of the room is in other replicas' leases: in flight
			// there, or free and given back once they see the counter
			// starved. Ask again a little later.
			pause = woke.short
		}
		if !now.Before(deadline) {
			if reached && !fits(c.availLocked().Add(c.free), want, c.limit) {
				// The store answered, and the room left is in other
				// replicas' leases, which did not give it back in time.
				return leave(errNoRoom)
			}
			// The store is too slow, or the room it reported was taken by
			// others each time: serve from the runway as in an outage.
			if c.tryRunwayLocked(m, want, now) {
				return leave(nil)
			}
			if reached {
				return leave(unavailable(time.Second, "the room left was not free for this request within the maximum wait (other requests and replicas hold it)"))
			}
			return leave(unavailable(time.Second, "the limits store did not answer in time"))
		}
		if !queued {
			c.enqueueLocked(w)
			queued = true
		}
		var done <-chan struct{}
		wait := deadline.Sub(now)
		if pause {
			// Others give room back within milliseconds when told (see
			// giveBack), within a sync interval otherwise: back off.
			wait = min(wait, m.cfg.tick, 10*time.Millisecond<<min(pauses, 8))
			pauses++
			woke = nil
		} else {
			f := c.fl
			if f == nil {
				f = m.startFlightLocked(c, syncResize)
			}
			woke, done = f, f.done
		}
		c.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-done:
			timer.Stop()
		case <-timer.C:
		case <-ctx.Done():
			c.mu.Lock()
			return leave(ctx.Err())
		}
		c.mu.Lock()
		if woke != nil && !isClosed(woke.done) {
			woke = nil // the deadline came first
		}
		if woke != nil && woke.err == nil {
			reached = true
		}
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Settle ends t's reservations, charging the actual usage d to each budget
// and token rate, and frees concurrency slots. A nil t is a no-op.
func (m *Manager) Settle(t *Ticket, d Demand) {
	if t == nil {
		return
	}
	for _, r := range t.res {
		r.c.release(r.want, actualFor(r.kind, d))
	}
	t.res = nil
}

// cancel ends t's reservations without charging anything.
func (t *Ticket) cancel() {
	for _, r := range t.res {
		r.c.release(r.want, store.Amount{})
	}
	t.res = nil
}
