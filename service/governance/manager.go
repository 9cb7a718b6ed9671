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
	leaseTTL     time.Duration
	syncInterval time.Duration
	idleAfter    time.Duration
	dryFor       time.Duration
}

// WithLogger sets the logger for background failures.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithHolder names this replica's leases (default: random).
func WithHolder(id string) Option { return func(c *config) { c.holder = id } }

// WithSyncInterval sets how often usage is reported and leases renewed
// (default 1s). Leases live four intervals (at least 5s) without renewal,
// and idle leases are returned after three intervals.
func WithSyncInterval(d time.Duration) Option { return func(c *config) { c.syncInterval = d } }

// Manager admits requests against budgets and rate limits. It is safe for
// concurrent use; Run must be running for leases to be refilled in the
// background, reported, renewed and returned.
type Manager struct {
	st     Store
	holder string
	cfg    config
	now    func() time.Time

	rules atomic.Pointer[rules]
	ready atomic.Bool

	mu       sync.RWMutex
	counters map[counterID]*counter

	refills chan *counter
}

// New returns a Manager over st. Call Load (or Run) before serving.
func New(st Store, opts ...Option) *Manager {
	cfg := config{log: slog.New(slog.DiscardHandler), now: time.Now, syncInterval: time.Second, dryFor: 250 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.holder == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		cfg.holder = "replica-" + hex.EncodeToString(b)
	}
	cfg.leaseTTL = max(4*cfg.syncInterval, 5*time.Second)
	cfg.idleAfter = 3 * cfg.syncInterval
	m := &Manager{st: st, holder: cfg.holder, cfg: cfg, now: cfg.now,
		counters: map[counterID]*counter{}, refills: make(chan *counter, 1024)}
	m.rules.Store(newRules(nil, nil))
	return m
}

// Load replaces the rules with the store's budgets and rate limits.
func (m *Manager) Load(ctx context.Context) error {
	bs, err := m.st.ListBudgets(ctx, "")
	if err != nil {
		return fmt.Errorf("governance: load budgets: %w", err)
	}
	ls, err := m.st.ListRateLimits(ctx, "")
	if err != nil {
		return fmt.Errorf("governance: load rate limits: %w", err)
	}
	m.rules.Store(newRules(bs, ls))
	m.markAllStale()
	m.ready.Store(true)
	return nil
}

// Apply brings one changed budget or rate limit up to date (everything on
// a resync) and makes this replica return its unreserved leases of it, so
// that a lowered limit is enforced on the next request.
func (m *Manager) Apply(ctx context.Context, c store.Change) error {
	switch c.Kind {
	case store.ChangeResync:
		return m.Load(ctx)
	case store.ChangeBudget:
		b, err := m.st.GetBudget(ctx, c.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("governance: load budget %s: %w", c.ID, err)
		}
		m.rules.Store(m.rules.Load().withBudget(c.ID, b))
		m.markStale(budgetCounter(c.ID))
	case store.ChangeRateLimit:
		l, err := m.st.GetRateLimit(ctx, c.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("governance: load rate limit %s: %w", c.ID, err)
		}
		m.rules.Store(m.rules.Load().withRateLimit(c.ID, l))
		m.markStale(rateCounter(c.ID))
		m.markStale(concCounter(c.ID))
	}
	return nil
}

func (m *Manager) markStale(name string) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for id, c := range m.counters {
		if id.name == name {
			c.mu.Lock()
			c.stale = true
			c.mu.Unlock()
		}
	}
}

func (m *Manager) markAllStale() {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, c := range m.counters {
		c.mu.Lock()
		c.stale = true
		c.mu.Unlock()
	}
}

// Watcher delivers store changes (store.Store's Watch).
type Watcher interface {
	Watch(ctx context.Context, fn func(store.Change)) error
}

// Run keeps the rules in sync with w's changes and maintains the leases
// (refill, report, renew, return) until ctx is done; it then returns every
// unreserved lease and reports pending usage, and returns nil.
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
	tick := time.NewTicker(min(m.cfg.syncInterval/4, 250*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			m.Flush(sctx)
			return nil
		case c := <-m.refills:
			m.syncLogged(ctx, c, opRefill, store.Amount{})
		case <-tick.C:
			m.maintain(ctx)
		}
	}
}

func (m *Manager) syncLogged(ctx context.Context, c *counter, op syncOp, need store.Amount) {
	if err := c.sync(ctx, m, op, need); err != nil && ctx.Err() == nil {
		m.cfg.log.Warn("governance: lease sync failed", "counter", c.id.name, "err", err)
	}
}

// maintain reports usage, renews, returns stale and idle leases and drops
// closed windows.
func (m *Manager) maintain(ctx context.Context) {
	now := m.now()
	m.mu.RLock()
	cs := make([]*counter, 0, len(m.counters))
	for _, c := range m.counters {
		cs = append(cs, c)
	}
	m.mu.RUnlock()
	for _, c := range cs {
		c.mu.Lock()
		stale, idle := c.stale, now.Sub(c.lastUse) > m.cfg.idleAfter && c.inflight == (store.Amount{})
		due := now.Sub(c.lastSync) >= m.cfg.syncInterval && (c.pending != (store.Amount{}) || c.held != (store.Amount{}))
		closed := !c.end.IsZero() && now.After(c.end) && c.inflight == (store.Amount{})
		hasLease := c.held != (store.Amount{}) || c.pending != (store.Amount{})
		c.mu.Unlock()
		switch {
		case closed || (idle && !hasLease):
			if m.drop(c) && hasLease {
				m.syncLogged(ctx, c, opReturnFree, store.Amount{})
			}
		case stale, idle && hasLease:
			m.syncLogged(ctx, c, opReturnFree, store.Amount{})
		case due:
			m.syncLogged(ctx, c, opReport, store.Amount{})
		}
	}
}

// drop removes c from the manager unless a request holds a reservation
// of it. A dropped counter takes no more reservations (Admit looks the
// counter up again), so two objects never spend the same lease.
func (m *Manager) drop(c *counter) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight != (store.Amount{}) {
		return false
	}
	c.dead = true
	delete(m.counters, c.id)
	return true
}

// Flush reports pending usage and returns every unreserved lease.
func (m *Manager) Flush(ctx context.Context) {
	m.mu.RLock()
	cs := make([]*counter, 0, len(m.counters))
	for _, c := range m.counters {
		cs = append(cs, c)
	}
	m.mu.RUnlock()
	for _, c := range cs {
		m.syncLogged(ctx, c, opReturnFree, store.Amount{})
	}
}

// counter returns the counter for id, creating it.
func (m *Manager) counter(id counterID, window, end time.Time, limit store.Amount, expiredIsUsed bool) *counter {
	m.mu.RLock()
	c, ok := m.counters[id]
	m.mu.RUnlock()
	if !ok {
		m.mu.Lock()
		if c, ok = m.counters[id]; !ok {
			c = &counter{id: id, window: window, end: end, limit: limit, expiredIsUsed: expiredIsUsed, lastSync: m.now()}
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

// Ticket is an admitted request's reservations; pass it to Settle.
type Ticket struct {
	res []reservation
}

type reservation struct {
	c    *counter
	want store.Amount
	kind ruleKind
}

// Admit reserves d (the request's worst case) from every budget and rate
// limit that applies to s, or refuses with a *LimitError wrapping
// ErrBudgetExceeded or ErrRateLimited. It returns a nil ticket when nothing
// applies. The caller must Settle every non-nil ticket.
func (m *Manager) Admit(ctx context.Context, s Subject, d Demand) (*Ticket, error) {
	rs := m.rules.Load()
	applicable := rs.match(s)
	if len(applicable) == 0 {
		return nil, nil
	}
	now := m.now()
	t := &Ticket{res: make([]reservation, 0, len(applicable)+1)}
	for _, r := range applicable {
		for _, p := range r.parts(now, d) {
			c := m.counter(p.id, p.window, p.end, p.limit, p.expiredIsUsed)
			err := m.reserve(ctx, c, p.want, now)
			for try := 0; errors.Is(err, errDropped) && try < 3; try++ {
				c = m.counter(p.id, p.window, p.end, p.limit, p.expiredIsUsed)
				err = m.reserve(ctx, c, p.want, now)
			}
			if err != nil {
				t.cancel()
				return nil, r.limitError(p, c, now, err)
			}
			t.res = append(t.res, reservation{c: c, want: p.want, kind: p.kind})
		}
	}
	return t, nil
}

// Reasons reserve fails.
var (
	// errNoRoom means the counter has no room left for the request.
	errNoRoom = errors.New("no room")
	// errDropped means the counter was dropped meanwhile; look it up again.
	errDropped = errors.New("counter dropped")
)

// reserve takes want from c's lease, leasing more from the store first when
// the lease is short.
func (m *Manager) reserve(ctx context.Context, c *counter, want store.Amount, now time.Time) error {
	ok, refill := c.tryReserve(want, now)
	if ok {
		if refill {
			select {
			case m.refills <- c:
			default:
				c.mu.Lock()
				c.refilling = false
				c.mu.Unlock()
			}
		}
		return nil
	}
	c.mu.Lock()
	dry, stale, dead := now.Before(c.dryUntil), c.stale, c.dead
	c.mu.Unlock()
	if dead {
		return errDropped
	}
	if dry && !stale {
		return errNoRoom
	}
	// Other requests of this replica may take the refill first: retry
	// until the store itself has no room.
	for range 8 {
		if stale {
			// Give the stale lease back first, so the store checks the new limit.
			if err := c.sync(ctx, m, opReturnFree, store.Amount{}); err != nil {
				return err
			}
		}
		if err := c.sync(ctx, m, opRefill, want); err != nil {
			return err
		}
		if ok, _ := c.tryReserve(want, now); ok {
			return nil
		}
		c.mu.Lock()
		dry, stale, dead = m.now().Before(c.dryUntil), c.stale, c.dead
		c.mu.Unlock()
		if dead {
			return errDropped
		}
		if dry && !stale {
			return errNoRoom
		}
	}
	return errNoRoom
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
