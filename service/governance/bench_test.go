package governance_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

// BenchmarkAdmitSettle measures the request path's admission and
// settlement: without any rule, and with a key budget, a team budget and a
// team rate limit (RPM, TPM and concurrency) whose leases are refilled in
// the background by Run.
func BenchmarkAdmitSettle(b *testing.B) {
	st, _ := openStore(b, "")
	put(b, st, &store.Budget{ID: "key", Scope: store.ScopeKey, KeyID: "k1", Period: store.PeriodDaily, LimitNanos: 1 << 50})
	put(b, st, &store.Budget{ID: "team", Scope: store.ScopeTeam, TeamID: "t1", Period: store.PeriodMonthly, LimitNanos: 1 << 50, LimitTokens: 1 << 50})
	put(b, st, &store.RateLimit{ID: "rl", Scope: store.ScopeTeam, TeamID: "t1", RequestsPerMinute: 1 << 40, TokensPerMinute: 1 << 50, MaxConcurrent: 1 << 20})
	benches := []struct {
		name    string
		subject governance.Subject
	}{
		{"none", governance.Subject{KeyID: "other", TeamID: "other"}},
		{"budgets+rate", subj},
	}
	for _, bb := range benches {
		for _, parallel := range []bool{false, true} {
			name := bb.name
			if parallel {
				name += "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				cs := &countingStore{Store: st}
				m := governance.New(cs)
				if err := m.Load(b.Context()); err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { _ = m.Run(ctx, st); close(done) }()
				defer func() { cancel(); <-done }()
				d := governance.Demand{Nanos: 10_000, Tokens: 100}
				one := func() {
					tk, err := m.Admit(ctx, bb.subject, d)
					if err != nil {
						b.Fatal(err)
					}
					m.Settle(tk, d)
				}
				one() // first lease
				b.ReportAllocs()
				b.ResetTimer()
				if parallel {
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							one()
						}
					})
					b.ReportMetric(float64(cs.leases.Load())/float64(b.N), "leases/op")
					return
				}
				for b.Loop() {
					one()
				}
				b.ReportMetric(float64(cs.leases.Load())/float64(b.N), "leases/op")
			})
		}
	}
}

// countingStore counts LeaseCounter calls (database round trips).
type countingStore struct {
	*pgstore.Store
	leases atomic.Int64
}

func (c *countingStore) LeaseCounter(ctx context.Context, r store.LeaseRequest) (store.LeaseResult, error) {
	c.leases.Add(1)
	return c.Store.LeaseCounter(ctx, r)
}
