package routing

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Facts are what the router knows about a request when planning it.
type Facts struct {
	// PromptTokens is the estimated prompt size.
	PromptTokens int
	// NeedsTools and NeedsImages say the request carries tools or images.
	NeedsTools  bool
	NeedsImages bool
	// Who is calling, for conditions and sticky picks.
	EndUser   string
	KeyID     string
	TeamID    string
	ServiceID string
	Tags      []string
	// RequestID identifies the request.
	RequestID string
	// Sticky makes weighted picks deterministic per end user (or per key
	// when there is no end user).
	Sticky bool
}

// Candidate is a target planned for a request, with its live statistics.
type Candidate struct {
	// Index is the target's index in Route.Targets.
	Index int
	// Target is the route's target.
	Target *Target

	st     *stats
	route  *Route
	forced bool
	score  float64
}

// Key returns the target's "provider/model" identity.
func (c *Candidate) Key() string { return c.st.key }

// Option configures a Router.
type Option func(*Router)

// WithRand replaces the random source (math/rand/v2), for tests.
func WithRand(fn func() uint64) Option { return func(r *Router) { r.rand = fn } }

// WithClock replaces the monotonic clock, for tests. It returns nanoseconds
// since an arbitrary fixed point.
func WithClock(fn func() int64) Option { return func(r *Router) { r.clock = fn } }

// WithExploration sets the share of latency-strategy requests sent to a
// random target first, so that a recovered target gets noticed (default 0.05).
func WithExploration(p float64) Option { return func(r *Router) { r.explore = p } }

// WithDecay sets the time constant with which latency observations fade
// (default 10s).
func WithDecay(tau time.Duration) Option { return func(r *Router) { r.tau = float64(tau) } }

// Router orders targets and keeps per-target statistics. It is safe for
// concurrent use; planning takes no locks once a target has been seen.
type Router struct {
	rand    func() uint64
	clock   func() int64
	explore float64
	tau     float64

	mu     sync.Mutex        // guards creation of stats and byName
	stats  sync.Map          // target key → *stats
	plans  sync.Map          // *Route → []*stats
	byName map[string]*Route // the route cached in plans per name
	m      *metrics
}

// NewRouter returns a Router.
func NewRouter(opts ...Option) *Router {
	epoch := time.Now()
	r := &Router{
		rand:    rand.Uint64,
		clock:   func() int64 { return int64(time.Since(epoch)) },
		explore: 0.05,
		tau:     float64(10 * time.Second),
		m:       newMetrics(),
		byName:  map[string]*Route{},
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// statsOf returns the per-target statistics of a route, creating them on first use.
func (r *Router) statsOf(rt *Route) []*stats {
	if v, ok := r.plans.Load(rt); ok {
		return v.([]*stats)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*stats, len(rt.Targets))
	for i := range rt.Targets {
		key := rt.Targets[i].Key()
		if v, ok := r.stats.Load(key); ok {
			out[i] = v.(*stats)
			continue
		}
		s := newStats(key, rt.Targets[i].Provider, rt.Targets[i].Model, r.m)
		r.stats.Store(key, s)
		out[i] = s
	}
	// A route replaced by a new version of the same name is dropped, so
	// the cache does not grow with configuration changes.
	if old := r.byName[rt.Name]; old != nil && old != rt {
		r.plans.Delete(old)
	}
	r.byName[rt.Name] = rt
	r.plans.Store(rt, out)
	return out
}

// Plan orders the targets of rt for one request. Targets that cannot take
// the request (context window, tools, images) are left out unless none
// can; targets whose breaker is open are left out unless all are open,
// in which case the one whose cooldown ends first is returned alone.
func (r *Router) Plan(rt *Route, f Facts) []Candidate {
	sts := r.statsOf(rt)
	subset := -1
	for i := range rt.Conditions {
		if rt.Conditions[i].matches(&f) {
			subset = i
			break
		}
	}
	n := len(rt.Targets)
	if subset >= 0 {
		n = len(rt.Conditions[subset].Targets)
	}
	out := make([]Candidate, 0, n)
	now := r.clock()
	add := func(ix int, requireFit bool) {
		t := &rt.Targets[ix]
		if requireFit && !fits(t, &f) {
			return
		}
		out = append(out, Candidate{Index: ix, Target: t, st: sts[ix], route: rt})
	}
	for pass := 0; pass < 2 && len(out) == 0; pass++ {
		if subset >= 0 {
			for _, ix := range rt.Conditions[subset].Targets {
				add(ix, pass == 0)
			}
		} else {
			for ix := range rt.Targets {
				add(ix, pass == 0)
			}
		}
	}
	r.order(rt, &f, out)
	// Leave out targets whose breaker rejects requests.
	kept := out[:0]
	var best Candidate
	bestUntil := int64(math.MaxInt64)
	for _, c := range out {
		if ok, until := c.st.admits(now); ok {
			kept = append(kept, c)
		} else if until < bestUntil {
			best, bestUntil = c, until
		}
	}
	if len(kept) == 0 && len(out) > 0 {
		best.forced = true
		kept = append(kept, best)
	}
	return kept
}

func fits(t *Target, f *Facts) bool {
	if t.ContextWindow > 0 && f.PromptTokens > t.ContextWindow {
		return false
	}
	return !(f.NeedsTools && t.NoTools) && !(f.NeedsImages && t.NoImages)
}

// expectedOutputTokens is the output size assumed when comparing costs.
const expectedOutputTokens = 256

func (r *Router) order(rt *Route, f *Facts, cs []Candidate) {
	if len(cs) < 2 {
		return
	}
	switch rt.Strategy {
	case StrategyWeighted:
		var total uint64
		for i := range cs {
			total += uint64(cs[i].Target.Weight)
		}
		if total == 0 {
			return
		}
		var x uint64
		if key := stickyKey(f); key != "" {
			x = hash64(key)
		} else {
			x = r.rand()
		}
		pick := x % total
		for i := range cs {
			w := uint64(cs[i].Target.Weight)
			if pick < w {
				toFront(cs, i)
				return
			}
			pick -= w
		}
	case StrategyLatency:
		for i := range cs {
			cs[i].score = cs[i].st.score()
		}
		sortByScore(cs)
		if r.explore > 0 && float64(r.rand()>>11)/(1<<53) < r.explore {
			toFront(cs, int(r.rand()%uint64(len(cs))))
		}
	case StrategyCost:
		for i := range cs {
			cs[i].score = cost(cs[i].Target, f.PromptTokens)
		}
		sortByScore(cs)
	case StrategyLeastBusy:
		for i := range cs {
			cs[i].score = float64(cs[i].st.inFlight.Load())
		}
		sortByScore(cs)
	}
}

func stickyKey(f *Facts) string {
	if !f.Sticky {
		return ""
	}
	if f.EndUser != "" {
		return f.EndUser
	}
	return f.KeyID
}

// hash64 is FNV-1a with a final mix, so that similar keys spread.
func hash64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

func cost(t *Target, prompt int) float64 {
	if t.Price == nil {
		return math.Inf(1)
	}
	return float64(t.Price.InputPerMillion)*float64(prompt) + float64(t.Price.OutputPerMillion)*expectedOutputTokens
}

// toFront moves cs[i] to the front, keeping the others in order.
func toFront(cs []Candidate, i int) {
	if i == 0 {
		return
	}
	c := cs[i]
	copy(cs[1:i+1], cs[:i])
	cs[0] = c
}

func sortByScore(cs []Candidate) {
	slices.SortStableFunc(cs, func(a, b Candidate) int {
		switch {
		case a.score < b.score:
			return -1
		case a.score > b.score:
			return 1
		}
		return 0
	})
}

// Start admits an attempt on c and counts it in flight. It returns false
// when the target's breaker is half-open and its one probe is already
// out; the caller then moves on to the next candidate. Every admitted
// attempt must be ended with Done.
func (r *Router) Start(c *Candidate) bool {
	if !c.st.acquire(r.clock(), c.forced, int64(c.route.cooldown())) {
		return false
	}
	c.st.inFlight.Add(1)
	c.st.m.requests.Inc()
	return true
}

// Done ends an attempt started with Start: it updates the latency
// estimate (elapsed is the response time, or the time to the first chunk
// of a stream), the breaker and the metrics.
func (r *Router) Done(c *Candidate, elapsed time.Duration, err error) {
	s := c.st
	s.inFlight.Add(-1)
	now := r.clock()
	class := Classify(err)
	switch class {
	case ClassOK:
		s.observe(now, float64(elapsed), r.tau, false)
		s.m.latency.Observe(elapsed.Seconds())
	case ClassRetryable:
		// A failure never makes a target look faster.
		s.observe(now, float64(elapsed), r.tau, true)
	}
	if class != ClassOK {
		s.m.errors.WithLabelValues(s.provider, s.model, class.String()).Inc()
	}
	s.settle(now, class, c.route)
}

// Latency returns the current peak-EWMA latency estimate of a target
// ("provider/model"), 0 if it was never observed.
func (r *Router) Latency(key string) time.Duration {
	if v, ok := r.stats.Load(key); ok {
		return time.Duration(v.(*stats).latency())
	}
	return 0
}

// State returns the breaker state of a target ("provider/model").
func (r *Router) State(key string) BreakerState {
	if v, ok := r.stats.Load(key); ok {
		return v.(*stats).state(r.clock())
	}
	return BreakerClosed
}

// InFlight returns the number of attempts in flight on a target.
func (r *Router) InFlight(key string) int {
	if v, ok := r.stats.Load(key); ok {
		return int(v.(*stats).inFlight.Load())
	}
	return 0
}

// TargetStatus is a snapshot of one target's live state.
type TargetStatus struct {
	// Provider and Model name the target.
	Provider, Model string
	// Breaker is the circuit breaker's state.
	Breaker BreakerState
	// Latency is the peak-EWMA latency estimate, 0 until an attempt succeeded.
	Latency time.Duration
	// InFlight counts attempts in flight.
	InFlight int
	// Failures counts retryable failures since the last success.
	Failures int
}

// Targets returns the live state of every target the router has planned
// for, ordered by provider and model. It takes no lock on the request path.
func (r *Router) Targets() []TargetStatus {
	now := r.clock()
	var out []TargetStatus
	r.stats.Range(func(_, v any) bool {
		s := v.(*stats)
		out = append(out, TargetStatus{Provider: s.provider, Model: s.model, Breaker: s.state(now),
			Latency: time.Duration(s.latency()), InFlight: int(s.inFlight.Load()), Failures: int(s.fails.Load())})
		return true
	})
	slices.SortFunc(out, func(a, b TargetStatus) int {
		if a.Provider != b.Provider {
			return strings.Compare(a.Provider, b.Provider)
		}
		return strings.Compare(a.Model, b.Model)
	})
	return out
}
