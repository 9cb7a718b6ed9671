package governance_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

// TestBurstFarBelowBudgetNeverRefused sends a cold replica (no lease yet)
// bursts of concurrent worst-case reservations against budgets and rate
// limits they use a tiny fraction of — the shape of ../shared/bench's
// burst.sh: a key and a team budget of $1M, team RPM/TPM limits far away,
// every request reserving 4,096 output tokens and holding it for 50ms.
// Not one may be refused or fail, and the lease calls are few: requests
// short of room share the call in flight.
//
// It runs in a synctest bubble against the real Postgres: time is fake
// (the 50ms holds and the managers' deadlines), while store calls are real
// network I/O, during which the bubble's clock stands still — so no
// deadline can expire because the machine is slow, and the outcome does
// not depend on timing.
func TestBurstFarBelowBudgetNeverRefused(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	tests := []struct {
		name          string
		rate, seconds int // requests per second, for seconds
		hold          time.Duration
	}{
		{"1000 RPS", 1000, 2, 50 * time.Millisecond},
		{"3000 RPS", 3000, 1, 50 * time.Millisecond},
		{"slow upstream: 500 RPS held 2s", 500, 2, 2 * time.Second},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st, err := pgstore.Open(t.Context(), dsn, pgstore.WithMaxConns(4))
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				team := "burst-team-" + string(rune('a'+i))
				key := "burst-key-" + string(rune('a'+i))
				put(t, st, &store.Budget{ID: key + "-budget", Scope: store.ScopeKey, KeyID: key, Period: store.PeriodMonthly, LimitNanos: 1_000_000 * 1e9})
				put(t, st, &store.Budget{ID: team + "-budget", Scope: store.ScopeTeam, TeamID: team, Period: store.PeriodMonthly, LimitNanos: 1_000_000 * 1e9})
				put(t, st, &store.RateLimit{ID: team + "-limit", Scope: store.ScopeTeam, TeamID: team, RequestsPerMinute: 1e8, TokensPerMinute: 1e11})
				cs := &countingStore{Store: st}
				m := governance.New(cs)
				if err := m.Load(t.Context()); err != nil {
					t.Fatal(err)
				}
				subject := governance.Subject{KeyID: key, TeamID: team}
				// gpt-4o-mini's prices: 100 prompt tokens and a 4,096-token
				// worst case cost $0.0024726; the request actually uses 20.
				worst := governance.Demand{Nanos: 2_472_600, Tokens: 4196}
				actual := governance.Demand{Nanos: 27_000, Tokens: 120}

				var admitted atomic.Int64
				var mu sync.Mutex
				var failures []error
				var wg sync.WaitGroup
				tick := time.Second / time.Duration(tt.rate)
				for range tt.rate * tt.seconds {
					wg.Go(func() {
						tk, err := m.Admit(context.Background(), subject, worst)
						if err != nil {
							mu.Lock()
							failures = append(failures, err)
							mu.Unlock()
							return
						}
						admitted.Add(1)
						time.Sleep(tt.hold) // the upstream's answer, in the bubble's fake time
						m.Settle(tk, actual)
					})
					time.Sleep(tick) // open-loop arrivals, in fake time
				}
				wg.Wait()
				m.Flush(context.Background())
				n := int64(tt.rate * tt.seconds)
				t.Logf("%d requests: %d admitted, %d failed; %d lease calls (%.4f per request)",
					n, admitted.Load(), len(failures), cs.leases.Load(), float64(cs.leases.Load())/float64(n))
				for i, err := range failures {
					var le *governance.LimitError
					kind := "other"
					switch {
					case errors.As(err, &le):
						kind = "refused"
					case errors.Is(err, governance.ErrUnavailable):
						kind = "unavailable"
					}
					if i < 5 {
						t.Errorf("request failed (%s): %v", kind, err)
					}
				}
				// Three counters; a few calls each to grow the lease, then
				// about one per sync interval: far fewer than requests.
				if calls := cs.leases.Load(); calls > n/20 {
					t.Errorf("%d lease calls for %d requests: requests short of room did not share calls", calls, n)
				}
			})
		})
	}
}

// slowStore makes every lease call take delay (in the bubble's fake time)
// before it reaches the store.
type slowStore struct {
	*pgstore.Store
	delay time.Duration
}

func (s *slowStore) LeaseCounter(ctx context.Context, r store.LeaseRequest) (store.LeaseResult, error) {
	time.Sleep(s.delay) // a slow store, in fake time
	return s.Store.LeaseCounter(ctx, r)
}

// TestSlowStoreIsNeverAQuotaError: when lease calls take longer than the
// maximum wait, requests waiting for room are served from the outage
// runway or answered ErrUnavailable — never refused as if the budget were
// spent. A cold counter (no lease call answered yet) has nothing to serve
// from; once one call has answered, a burst is served in full.
func TestSlowStoreIsNeverAQuotaError(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	synctest.Test(t, func(t *testing.T) {
		st, err := pgstore.Open(t.Context(), dsn, pgstore.WithMaxConns(4))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		put(t, st, &store.Budget{ID: "slow-budget", Scope: store.ScopeTeam, TeamID: "slow", Period: store.PeriodMonthly, LimitNanos: 1_000_000 * 1e9})
		m := governance.New(&slowStore{Store: st, delay: 1500 * time.Millisecond}, governance.WithMaxWait(time.Second))
		if err := m.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer m.Flush(context.Background())
		subject := governance.Subject{KeyID: "k", TeamID: "slow"}
		worst, actual := governance.Demand{Nanos: 2_500_000}, governance.Demand{Nanos: 27_000}
		if _, err := m.Admit(context.Background(), subject, worst); !errors.Is(err, governance.ErrUnavailable) {
			t.Fatalf("cold counter, slow store: err = %v, want ErrUnavailable", err)
		}
		time.Sleep(2 * time.Second) // the first lease call answers, in fake time
		var admitted atomic.Int64
		var wg sync.WaitGroup
		for range 2000 {
			wg.Go(func() {
				tk, err := m.Admit(context.Background(), subject, worst)
				if err != nil {
					t.Errorf("request failed: %v", err)
					return
				}
				admitted.Add(1)
				time.Sleep(500 * time.Millisecond) // a slow upstream's answer, in fake time
				m.Settle(tk, actual)
			})
			time.Sleep(time.Millisecond) // 1,000 requests per second, in fake time
		}
		wg.Wait()
		s := m.Stats()
		t.Logf("lease calls of 1.5s, max wait 1s: %d of 2000 admitted, %d beyond the lease (runway), %d waited", admitted.Load(), s.RunwayAdmits, s.Waits)
		if s.RunwayAdmits == 0 {
			t.Error("no request waited past the maximum wait: the test does not test it")
		}
	})
}
