package governance_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/testutil"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// openStore opens a store on dsn (a fresh database when ""), closed when tb ends.
func openStore(tb testing.TB, dsn string) (*pgstore.Store, string) {
	tb.Helper()
	if dsn == "" {
		dsn = pgtest.NewMigratedDatabase(tb)
	}
	s, err := pgstore.Open(context.Background(), dsn, pgstore.WithMaxConns(8))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s, dsn
}

func newManager(tb testing.TB, st *pgstore.Store, opts ...governance.Option) *governance.Manager {
	tb.Helper()
	m := governance.New(st, opts...)
	if err := m.Load(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	return m
}

// inOneMinute returns a clock option for tests that count requests in one
// rate-limit window: real time moved to the 10th second of the current
// minute, so the few seconds such a test takes never straddle a window's
// boundary (a fresh window would admit a second allowance, failing the
// test at random). Give every manager of a test the same option. Lease
// expiry follows Postgres's clock and is not affected.
func inOneMinute() governance.Option {
	now := time.Now()
	shift := 10*time.Second - now.Sub(now.Truncate(time.Minute))
	return governance.WithClock(func() time.Time { return time.Now().Add(shift) })
}

func put(tb testing.TB, st *pgstore.Store, v any) {
	tb.Helper()
	var err error
	switch v := v.(type) {
	case *store.Budget:
		err = st.PutBudget(context.Background(), v)
	case *store.RateLimit:
		err = st.PutRateLimit(context.Background(), v)
	}
	if err != nil {
		tb.Fatal(err)
	}
}

var subj = governance.Subject{KeyID: "k1", TeamID: "t1", ServiceID: "svc"}

func TestAdmitRefusals(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t, "")
	put(t, st, &store.Budget{ID: "money", Scope: store.ScopeKey, KeyID: "k1", Period: store.PeriodDaily, LimitNanos: 1000})
	put(t, st, &store.Budget{ID: "tokens", Scope: store.ScopeService, TeamID: "t2", ServiceID: "svc", Period: store.PeriodLifetime, LimitTokens: 50})
	put(t, st, &store.RateLimit{ID: "rpm", Scope: store.ScopeTeam, TeamID: "t3", RequestsPerMinute: 5})
	put(t, st, &store.RateLimit{ID: "tpm", Scope: store.ScopeKey, KeyID: "k4", TokensPerMinute: 100})
	put(t, st, &store.RateLimit{ID: "conc", Scope: store.ScopeKey, KeyID: "k5", MaxConcurrent: 2})
	tests := []struct {
		name      string
		subject   governance.Subject
		est, act  governance.Demand
		admitted  int // then refused
		sentinel  error
		dimension governance.Dimension
		id        string
		hold      bool // keep tickets open (concurrency)
	}{
		{"money budget", subj, governance.Demand{Nanos: 300}, governance.Demand{Nanos: 250}, 3, governance.ErrBudgetExceeded, governance.DimCost, "money", false},
		{"token budget of a service", governance.Subject{KeyID: "x", TeamID: "t2", ServiceID: "svc"}, governance.Demand{Tokens: 20}, governance.Demand{Tokens: 20}, 2, governance.ErrBudgetExceeded, governance.DimTokens, "tokens", false},
		{"requests per minute", governance.Subject{KeyID: "y", TeamID: "t3"}, governance.Demand{Tokens: 1}, governance.Demand{Tokens: 1}, 5, governance.ErrRateLimited, governance.DimRequests, "rpm", false},
		{"tokens per minute", governance.Subject{KeyID: "k4", TeamID: "t4"}, governance.Demand{Tokens: 30}, governance.Demand{Tokens: 30}, 3, governance.ErrRateLimited, governance.DimTokens, "tpm", false},
		{"concurrency", governance.Subject{KeyID: "k5", TeamID: "t5"}, governance.Demand{}, governance.Demand{}, 2, governance.ErrRateLimited, governance.DimConcurrent, "conc", true},
	}
	clock := inOneMinute()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newManager(t, st, clock)
			var held []*governance.Ticket
			for i := range tt.admitted {
				tk, err := m.Admit(t.Context(), tt.subject, tt.est)
				if err != nil {
					t.Fatalf("request %d refused: %v", i+1, err)
				}
				if tk == nil {
					t.Fatalf("request %d: nil ticket, want one", i+1)
				}
				if tt.hold {
					held = append(held, tk)
				} else {
					m.Settle(tk, tt.act)
				}
			}
			_, err := m.Admit(t.Context(), tt.subject, tt.est)
			var le *governance.LimitError
			if !errors.Is(err, tt.sentinel) || !errors.As(err, &le) {
				t.Fatalf("request %d: err = %v, want a LimitError wrapping %v", tt.admitted+1, err, tt.sentinel)
			}
			if le.Dimension != tt.dimension || le.ID != tt.id {
				t.Errorf("refused by %s/%s, want %s/%s", le.ID, le.Dimension, tt.id, tt.dimension)
			}
			if le.Budget != (tt.sentinel == governance.ErrBudgetExceeded) {
				t.Errorf("Budget = %v", le.Budget)
			}
			if !le.Budget && le.RetryAfter <= 0 {
				t.Errorf("RetryAfter = %v, want > 0", le.RetryAfter)
			}
			if tt.hold {
				m.Settle(held[0], governance.Demand{})
				tk, err := m.Admit(t.Context(), tt.subject, tt.est)
				if err != nil {
					t.Fatalf("after a slot was freed: %v", err)
				}
				m.Settle(tk, governance.Demand{})
			}
		})
	}
}

func TestNoRulesNoTicket(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t, "")
	m := newManager(t, st)
	tk, err := m.Admit(t.Context(), subj, governance.Demand{Nanos: 1 << 40})
	if err != nil || tk != nil {
		t.Fatalf("Admit = %v, %v; want nil, nil", tk, err)
	}
	m.Settle(tk, governance.Demand{})
}

func TestPeriodRollover(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t, "")
	put(t, st, &store.Budget{ID: "d", Scope: store.ScopeTeam, TeamID: "t1", Period: store.PeriodDaily, TimeZone: "Asia/Tokyo", LimitNanos: 100})
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	var now atomic.Pointer[time.Time]
	set := func(t time.Time) { now.Store(&t) }
	set(time.Date(2026, 6, 1, 23, 0, 0, 0, tokyo))
	m := newManager(t, st, governance.WithClock(func() time.Time { return *now.Load() }))
	tk, err := m.Admit(t.Context(), subj, governance.Demand{Nanos: 100})
	if err != nil {
		t.Fatal(err)
	}
	m.Settle(tk, governance.Demand{Nanos: 100})
	_, err = m.Admit(t.Context(), subj, governance.Demand{Nanos: 1})
	var le *governance.LimitError
	if !errors.As(err, &le) {
		t.Fatalf("spent budget: err = %v, want a LimitError", err)
	}
	if want := time.Date(2026, 6, 2, 0, 0, 0, 0, tokyo); !le.Reset.Equal(want) {
		t.Errorf("Reset = %v, want %v", le.Reset, want)
	}
	set(time.Date(2026, 6, 2, 0, 0, 1, 0, tokyo))
	tk, err = m.Admit(t.Context(), subj, governance.Demand{Nanos: 100})
	if err != nil {
		t.Fatalf("new period: %v", err)
	}
	m.Settle(tk, governance.Demand{Nanos: 40})
	m.Flush(t.Context())
	b, _ := st.GetBudget(t.Context(), "d")
	s, err := m.Status(t.Context(), *b)
	if err != nil {
		t.Fatal(err)
	}
	if s.SpentNanos != 40 || s.RemainingNanos != 60 || !s.Reset.Equal(time.Date(2026, 6, 3, 0, 0, 0, 0, tokyo)) {
		t.Errorf("status = spent %d remaining %d reset %v; want 40, 60, June 3rd in Tokyo", s.SpentNanos, s.RemainingNanos, s.Reset)
	}
}

// TestReplicasOvershoot hammers one budget from three managers (replicas)
// on one database and measures the overshoot against the documented bound.
func TestReplicasOvershoot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// actual returns a request's actual cost given its estimate.
		actual func(i, est int64) int64
		// bound is the documented overshoot bound for workers requests in flight.
		bound func(workers, est int64) int64
	}{
		{"actual within estimate", func(i, est int64) int64 { return est/2 + i%(est/2) }, func(_, _ int64) int64 { return 0 }},
		{"actual exceeds estimate by up to 20%", func(i, est int64) int64 { return est + i%(est/5+1) }, func(w, est int64) int64 {
			// Each request can exceed its reservation by est/5 and each
			// refusal is decided before all in-flight actuals are known.
			return w * (est/5 + 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const limit, est, workersPerReplica, replicas = 200_000, 1_000, 8, 3
			st, dsn := openStore(t, "")
			put(t, st, &store.Budget{ID: "team", Scope: store.ScopeTeam, TeamID: "t1", Period: store.PeriodMonthly, LimitNanos: limit})
			ms := make([]*governance.Manager, replicas)
			for i := range ms {
				rs, _ := openStore(t, dsn)
				ms[i] = newManager(t, rs)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { _ = ms[i].Run(ctx, rs); close(done) }()
				t.Cleanup(func() { cancel(); <-done })
			}
			var charged, admitted, refused atomic.Int64
			var n atomic.Int64
			var wg sync.WaitGroup
			for _, m := range ms {
				for range workersPerReplica {
					wg.Go(func() {
						for misses := 0; misses < 20; {
							tk, err := m.Admit(t.Context(), subj, governance.Demand{Nanos: est})
							if errors.Is(err, governance.ErrBudgetExceeded) {
								refused.Add(1)
								misses++
								time.Sleep(time.Millisecond) // simulated latency: a refused client retries a moment later
								continue
							}
							if err != nil {
								t.Error(err)
								return
							}
							a := tt.actual(n.Add(1), est)
							charged.Add(a)
							admitted.Add(1)
							m.Settle(tk, governance.Demand{Nanos: a})
						}
					})
				}
			}
			wg.Wait()
			for _, m := range ms {
				m.Flush(t.Context())
			}
			over := charged.Load() - limit
			bound := tt.bound(workersPerReplica*replicas, est)
			t.Logf("admitted %d, refused %d, charged %d of %d: overshoot %d (bound %d), unused %d",
				admitted.Load(), refused.Load(), charged.Load(), limit, max(over, 0), bound, max(-over, 0))
			if over > bound {
				t.Errorf("charged %d, over the limit %d by %d > bound %d", charged.Load(), limit, over, bound)
			}
			// Leases are returned at flush: the store's total is the charge.
			s, err := ms[0].Status(t.Context(), store.Budget{ID: "team", Period: store.PeriodMonthly, LimitNanos: limit})
			if err != nil {
				t.Fatal(err)
			}
			if s.SpentNanos != charged.Load() || s.ReservedNanos != 0 {
				t.Errorf("store: spent %d reserved %d, want spent %d reserved 0", s.SpentNanos, s.ReservedNanos, charged.Load())
			}
			// The budget is used up to within one request's estimate per replica.
			if charged.Load() < limit-replicas*workersPerReplica*est {
				t.Errorf("charged only %d of %d: leases were not shared", charged.Load(), limit)
			}
		})
	}
}

// TestLoweredLimitReachesReplicas lowers a budget through the store while
// two running managers hold leases; the other one must refuse within 1s.
func TestLoweredLimitReachesReplicas(t *testing.T) {
	t.Parallel()
	st, dsn := openStore(t, "")
	put(t, st, &store.Budget{ID: "b", Scope: store.ScopeTeam, TeamID: "t1", Period: store.PeriodDaily, LimitNanos: 1_000_000})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	ms := make([]*governance.Manager, 2)
	for i := range ms {
		rs, _ := openStore(t, dsn)
		ms[i] = newManager(t, rs)
		wg.Go(func() { _ = ms[i].Run(ctx, rs) })
	}
	for _, m := range ms {
		for range 10 {
			tk, err := m.Admit(t.Context(), subj, governance.Demand{Nanos: 1000})
			if err != nil {
				t.Fatal(err)
			}
			m.Settle(tk, governance.Demand{Nanos: 1000})
		}
	}
	put(t, st, &store.Budget{ID: "b", Scope: store.ScopeTeam, TeamID: "t1", Period: store.PeriodDaily, LimitNanos: 15_000})
	lowered := time.Now()
	testutil.Eventually(t, func() error {
		tk, err := ms[1].Admit(t.Context(), subj, governance.Demand{Nanos: 1000})
		if errors.Is(err, governance.ErrBudgetExceeded) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		ms[1].Settle(tk, governance.Demand{})
		return errors.New("lowered budget not enforced")
	})
	t.Logf("lowered limit enforced after %v", time.Since(lowered))
}
