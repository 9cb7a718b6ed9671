package routing_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/routing"
)

// fakeClock is a manual monotonic clock.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() int64              { return c.ns.Load() }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// seq returns a deterministic random source.
func seq(seed uint64) func() uint64 {
	x := seed
	return func() uint64 {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return z ^ (z >> 31)
	}
}

func keys(cs []routing.Candidate) []string {
	out := make([]string, len(cs))
	for i := range cs {
		out[i] = cs[i].Key()
	}
	return out
}

func targets(names ...string) []routing.Target {
	out := make([]routing.Target, len(names))
	for i, n := range names {
		out[i] = routing.Target{Provider: n, Model: "m"}
	}
	return out
}

var errServer = &providers.Error{Provider: "p", Status: http.StatusInternalServerError, Kind: providers.KindServer}

func TestPlanStrategies(t *testing.T) {
	t.Parallel()
	price := func(in, out int64) *routing.Price { return &routing.Price{InputPerMillion: in, OutputPerMillion: out} }
	tests := []struct {
		name  string
		route *routing.Route
		facts routing.Facts
		setup func(r *routing.Router, rt *routing.Route)
		want  string
	}{
		{
			name:  "fallback keeps order",
			route: &routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: targets("a", "b", "c")},
			want:  "[a/m b/m c/m]",
		},
		{
			name: "cost picks cheapest that fits",
			route: &routing.Route{Name: "r", Strategy: routing.StrategyCost, Targets: []routing.Target{
				{Provider: "big", Model: "m", Price: price(5000, 15000), ContextWindow: 200000},
				{Provider: "small", Model: "m", Price: price(150, 600), ContextWindow: 1000},
				{Provider: "mid", Model: "m", Price: price(1000, 2000), ContextWindow: 8000},
			}},
			facts: routing.Facts{PromptTokens: 100},
			want:  "[small/m mid/m big/m]",
		},
		{
			name: "cost skips a too small context window",
			route: &routing.Route{Name: "r", Strategy: routing.StrategyCost, Targets: []routing.Target{
				{Provider: "big", Model: "m", Price: price(5000, 15000), ContextWindow: 200000},
				{Provider: "small", Model: "m", Price: price(150, 600), ContextWindow: 1000},
			}},
			facts: routing.Facts{PromptTokens: 5000},
			want:  "[big/m]",
		},
		{
			name: "capabilities filter",
			route: &routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: []routing.Target{
				{Provider: "a", Model: "m", NoTools: true}, {Provider: "b", Model: "m"},
			}},
			facts: routing.Facts{NeedsTools: true},
			want:  "[b/m]",
		},
		{
			name: "nothing fits: all kept",
			route: &routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: []routing.Target{
				{Provider: "a", Model: "m", ContextWindow: 10}, {Provider: "b", Model: "m", ContextWindow: 20},
			}},
			facts: routing.Facts{PromptTokens: 100},
			want:  "[a/m b/m]",
		},
		{
			name: "condition picks subset",
			route: &routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: targets("a", "b", "c"),
				Conditions: []routing.Condition{{Team: "other", Targets: []int{0}}, {Tag: "batch", Targets: []int{2, 1}}}},
			facts: routing.Facts{TeamID: "t", Tags: []string{"env=prod", "batch"}},
			want:  "[c/m b/m]",
		},
		{
			name:  "least busy",
			route: &routing.Route{Name: "r", Strategy: routing.StrategyLeastBusy, Targets: targets("a", "b", "c")},
			setup: func(r *routing.Router, rt *routing.Route) {
				cs := r.Plan(rt, routing.Facts{})
				r.Start(&cs[0]) // a busy
				r.Start(&cs[0])
				r.Start(&cs[1]) // b busy
			},
			want: "[c/m b/m a/m]",
		},
		{
			name:  "latency prefers fastest, unobserved first",
			route: &routing.Route{Name: "r", Strategy: routing.StrategyLatency, Targets: targets("a", "b", "c")},
			setup: func(r *routing.Router, rt *routing.Route) {
				cs := r.Plan(rt, routing.Facts{})
				for i, d := range []time.Duration{300 * time.Millisecond, 20 * time.Millisecond} {
					r.Start(&cs[i])
					r.Done(&cs[i], d, nil)
				}
			},
			want: "[c/m b/m a/m]",
		},
		{
			name:  "open breaker skipped",
			route: &routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: targets("a", "b"), Breaker: routing.Breaker{Failures: 1}},
			setup: func(r *routing.Router, rt *routing.Route) {
				cs := r.Plan(rt, routing.Facts{})
				r.Start(&cs[0])
				r.Done(&cs[0], time.Millisecond, errServer)
			},
			want: "[b/m]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &fakeClock{}
			r := routing.NewRouter(routing.WithRand(seq(1)), routing.WithClock(clock.now), routing.WithExploration(0))
			if tt.setup != nil {
				tt.setup(r, tt.route)
			}
			if got := fmt.Sprint(keys(r.Plan(tt.route, tt.facts))); got != tt.want {
				t.Fatalf("Plan() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestWeightedDistribution(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		a, b   int
		wantA  float64
		sticky bool
	}{
		{"90/10", 90, 10, 0.90, false},
		{"50/50", 50, 50, 0.50, false},
		{"sticky 90/10 over users", 90, 10, 0.90, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rt := &routing.Route{Name: "r", Strategy: routing.StrategyWeighted, Targets: []routing.Target{
				{Provider: "a", Model: "m", Weight: tt.a}, {Provider: "b", Model: "m", Weight: tt.b}}}
			r := routing.NewRouter(routing.WithRand(seq(7)))
			const n = 5000
			var gotA int
			for i := range n {
				f := routing.Facts{Sticky: tt.sticky, EndUser: fmt.Sprintf("user-%d", i)}
				cs := r.Plan(rt, f)
				if len(cs) != 2 {
					t.Fatalf("plan has %d targets", len(cs))
				}
				if cs[0].Key() == "a/m" {
					gotA++
				}
			}
			share := float64(gotA) / n
			if share < tt.wantA-0.02 || share > tt.wantA+0.02 {
				t.Fatalf("share of a = %.3f, want %.2f ± 0.02", share, tt.wantA)
			}
		})
	}
}

func TestWeightedSticky(t *testing.T) {
	t.Parallel()
	rt := &routing.Route{Name: "r", Strategy: routing.StrategyWeighted, Targets: []routing.Target{
		{Provider: "a", Model: "m", Weight: 1}, {Provider: "b", Model: "m", Weight: 1}}}
	r := routing.NewRouter()
	for _, f := range []routing.Facts{{Sticky: true, EndUser: "alice"}, {Sticky: true, KeyID: "key-1"}} {
		first := r.Plan(rt, f)[0].Key()
		for range 50 {
			if got := r.Plan(rt, f)[0].Key(); got != first {
				t.Fatalf("sticky facts %+v moved from %s to %s", f, first, got)
			}
		}
	}
}

func TestLatencyExploration(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{}
	rt := &routing.Route{Name: "r", Strategy: routing.StrategyLatency, Targets: targets("fast", "slow")}
	r := routing.NewRouter(routing.WithRand(seq(3)), routing.WithClock(clock.now))
	cs := r.Plan(rt, routing.Facts{})
	for i, d := range map[int]time.Duration{0: 20 * time.Millisecond, 1: 500 * time.Millisecond} {
		for _, c := range cs {
			if c.Index == i {
				r.Start(&c)
				r.Done(&c, d, nil)
			}
		}
	}
	var slow int
	for range 2000 {
		if r.Plan(rt, routing.Facts{})[0].Key() == "slow/m" {
			slow++
		}
	}
	// Exploration sends ~5% to a random target first, half of them the slow one.
	if slow == 0 || slow > 2000*6/100 {
		t.Fatalf("slow target first in %d of 2000 plans, want a few (exploration) but under 6%%", slow)
	}
}

func TestLatencyPeakAndDecay(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{}
	rt := &routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: targets("a")}
	r := routing.NewRouter(routing.WithClock(clock.now), routing.WithDecay(time.Second))
	observe := func(d time.Duration, err error) {
		c := r.Plan(rt, routing.Facts{})[0]
		r.Start(&c)
		r.Done(&c, d, err)
	}
	observe(100*time.Millisecond, nil)
	observe(500*time.Millisecond, nil)
	if got := r.Latency("a/m"); got != 500*time.Millisecond {
		t.Fatalf("after a peak latency = %v, want 500ms at once", got)
	}
	observe(time.Millisecond, errServer) // fast failures never lower it
	if got := r.Latency("a/m"); got != 500*time.Millisecond {
		t.Fatalf("after a fast failure latency = %v", got)
	}
	clock.advance(10 * time.Second)
	observe(100*time.Millisecond, nil)
	if got := r.Latency("a/m"); got > 101*time.Millisecond {
		t.Fatalf("after 10 time constants latency = %v, want ≈100ms", got)
	}
}

func TestBreaker(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{}
	rt := &routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: targets("a", "b"),
		Breaker: routing.Breaker{Failures: 3, Cooldown: routing.Duration(time.Second)}}
	r := routing.NewRouter(routing.WithClock(clock.now))
	attempt := func(err error) {
		t.Helper()
		c := r.Plan(rt, routing.Facts{})[0]
		if c.Key() != "a/m" {
			t.Fatalf("planned %s first, want a/m", c.Key())
		}
		if !r.Start(&c) {
			t.Fatal("Start refused")
		}
		r.Done(&c, time.Millisecond, err)
	}
	attempt(errServer)
	attempt(&providers.Error{Kind: providers.KindInvalidRequest, Status: 400}) // a 400 proves the upstream is alive
	attempt(errServer)
	attempt(errServer)
	if got := r.State("a/m"); got != routing.BreakerClosed {
		t.Fatalf("after 2 consecutive failures state = %v", got)
	}
	attempt(errServer)
	if got := r.State("a/m"); got != routing.BreakerOpen {
		t.Fatalf("after 3 consecutive failures state = %v", got)
	}
	if got := fmt.Sprint(keys(r.Plan(rt, routing.Facts{}))); got != "[b/m]" {
		t.Fatalf("open: plan = %s", got)
	}
	clock.advance(time.Second)
	// Half-open: one probe only.
	p1 := r.Plan(rt, routing.Facts{})
	p2 := r.Plan(rt, routing.Facts{})
	if p1[0].Key() != "a/m" || !r.Start(&p1[0]) {
		t.Fatalf("after cooldown first plan %v did not admit a probe", keys(p1))
	}
	if r.Start(&p2[0]) {
		t.Fatal("a second probe was admitted")
	}
	if got := fmt.Sprint(keys(r.Plan(rt, routing.Facts{}))); got != "[b/m]" {
		t.Fatalf("probe out: plan = %s", got)
	}
	r.Done(&p1[0], time.Millisecond, errServer)
	if got := r.State("a/m"); got != routing.BreakerOpen {
		t.Fatalf("failed probe: state = %v", got)
	}
	clock.advance(time.Second)
	attempt(nil)
	if got := r.State("a/m"); got != routing.BreakerClosed {
		t.Fatalf("successful probe: state = %v", got)
	}
}

func TestAllOpenTriesEarliestCooldown(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{}
	rt := &routing.Route{Name: "r", Strategy: routing.StrategyFallback, Targets: targets("a", "b"),
		Breaker: routing.Breaker{Failures: 1, Cooldown: routing.Duration(time.Second)}}
	r := routing.NewRouter(routing.WithClock(clock.now))
	cs := r.Plan(rt, routing.Facts{})
	r.Start(&cs[1])
	r.Done(&cs[1], time.Millisecond, errServer) // b opens first
	clock.advance(100 * time.Millisecond)
	r.Start(&cs[0])
	r.Done(&cs[0], time.Millisecond, errServer)
	got := r.Plan(rt, routing.Facts{})
	if len(got) != 1 || got[0].Key() != "b/m" {
		t.Fatalf("all open: plan = %v, want [b/m]", keys(got))
	}
	if !r.Start(&got[0]) {
		t.Fatal("forced candidate refused")
	}
	r.Done(&got[0], time.Millisecond, nil)
	if r.State("b/m") != routing.BreakerClosed {
		t.Fatal("success did not close the breaker")
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want routing.Class
	}{
		{"nil", nil, routing.ClassOK},
		{"500", errServer, routing.ClassRetryable},
		{"429", &providers.Error{Kind: providers.KindRateLimited, Status: 429}, routing.ClassRetryable},
		{"503", &providers.Error{Kind: providers.KindOverloaded, Status: 503}, routing.ClassRetryable},
		{"timeout", &providers.Error{Kind: providers.KindTimeout}, routing.ClassRetryable},
		{"reset", fmt.Errorf("wrapped: %w", &providers.Error{Kind: providers.KindConnection}), routing.ClassRetryable},
		{"400", &providers.Error{Kind: providers.KindInvalidRequest, Status: 400}, routing.ClassFatal},
		{"401", &providers.Error{Kind: providers.KindAuthentication, Status: 401}, routing.ClassFatal},
		{"context length", &providers.Error{Kind: providers.KindContextLength, Status: 400}, routing.ClassContextLength},
		{"canceled", context.Canceled, routing.ClassCanceled},
		{"deadline", context.DeadlineExceeded, routing.ClassCanceled},
		{"other", fmt.Errorf("boom"), routing.ClassFatal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := routing.Classify(tt.err); got != tt.want {
				t.Fatalf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	const base, ceiling = 100 * time.Millisecond, time.Second
	maxRnd := ^uint64(0)
	tests := []struct {
		name     string
		n        int
		err      error
		rnd      uint64
		min, max time.Duration
	}{
		{"no retry", 0, errServer, maxRnd, 0, 0},
		{"first retry bounded by base", 1, errServer, maxRnd, 0, base},
		{"third retry bounded by 4 base", 3, errServer, maxRnd, 0, 4 * base},
		{"capped", 30, errServer, maxRnd, 0, ceiling},
		{"huge n", 1000, errServer, maxRnd, 0, ceiling},
		{"zero jitter", 3, errServer, 0, 0, 0},
		{"retry-after honoured", 1, &providers.Error{Kind: providers.KindRateLimited, RetryAfter: 700 * time.Millisecond}, 0, 700 * time.Millisecond, 700 * time.Millisecond},
		{"retry-after capped", 1, &providers.Error{Kind: providers.KindRateLimited, RetryAfter: time.Hour}, 0, ceiling, ceiling},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := routing.Backoff(tt.n, base, ceiling, tt.err, tt.rnd)
			if got < tt.min || got > tt.max {
				t.Fatalf("Backoff = %v, want in [%v, %v]", got, tt.min, tt.max)
			}
		})
	}
	// Full jitter spreads over the whole range.
	rnd := seq(9)
	var low, high int
	for range 1000 {
		d := routing.Backoff(2, base, ceiling, errServer, rnd())
		if d < 50*time.Millisecond {
			low++
		}
		if d > 150*time.Millisecond {
			high++
		}
	}
	if low < 100 || high < 100 {
		t.Fatalf("jitter not spread: %d below 50ms, %d above 150ms of 1000", low, high)
	}
}

func BenchmarkPlan(b *testing.B) {
	five := []routing.Target{
		{Provider: "a", Model: "m", Weight: 5, Price: &routing.Price{InputPerMillion: 1, OutputPerMillion: 2}},
		{Provider: "b", Model: "m", Weight: 4, Price: &routing.Price{InputPerMillion: 3, OutputPerMillion: 2}},
		{Provider: "c", Model: "m", Weight: 3, Price: &routing.Price{InputPerMillion: 2, OutputPerMillion: 2}},
		{Provider: "d", Model: "m", Weight: 2, Price: &routing.Price{InputPerMillion: 5, OutputPerMillion: 2}},
		{Provider: "e", Model: "m", Weight: 1, Price: &routing.Price{InputPerMillion: 4, OutputPerMillion: 2}},
	}
	for _, s := range []routing.Strategy{routing.StrategyFallback, routing.StrategyWeighted, routing.StrategyLatency, routing.StrategyCost, routing.StrategyLeastBusy} {
		b.Run(string(s), func(b *testing.B) {
			r := routing.NewRouter()
			rt := &routing.Route{Name: "r", Strategy: s, Targets: five}
			f := routing.Facts{PromptTokens: 500, EndUser: "u", KeyID: "k"}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					cs := r.Plan(rt, f)
					if len(cs) != 5 {
						b.Fatal("short plan")
					}
				}
			})
		})
	}
}
