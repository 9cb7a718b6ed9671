package governance_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/store"
)

// TestReplicasShareRPM runs three managers (replicas) with their
// background loops on one requests-per-minute limit; requests stay in
// flight a little while, across lease refills and reports.
func TestReplicasShareRPM(t *testing.T) {
	t.Parallel()
	st, dsn := openStore(t, "")
	put(t, st, &store.RateLimit{ID: "rpm", Scope: store.ScopeTeam, TeamID: "t1", RequestsPerMinute: 30})
	var admitted atomic.Int64
	var wg sync.WaitGroup
	clock := inOneMinute()
	for range 3 {
		rs, _ := openStore(t, dsn)
		m := newManager(t, rs, clock)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = m.Run(ctx, rs); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		for range 3 {
			wg.Go(func() {
				for range 40 {
					tk, err := m.Admit(t.Context(), subj, governance.Demand{Tokens: 10})
					if err == nil {
						admitted.Add(1)
						time.Sleep(5 * time.Millisecond) // simulated latency: the request takes a while before it settles
						m.Settle(tk, governance.Demand{Tokens: 10})
					}
				}
			})
		}
	}
	wg.Wait()
	if admitted.Load() > 30 {
		t.Errorf("admitted %d > 30", admitted.Load())
	}
}
