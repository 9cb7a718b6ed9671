package governance_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/store"
)

// TestWaitingRequestIsNotStarved: at the end of a budget whose room comes
// back in small parts (another replica giving back its lease as its
// requests end), a large request that waits for room must get it, not
// lose every part to the smaller requests that arrived after it. The
// other replica is played by the test through the store: it holds the
// whole budget and gives back 6 units every 10ms; this replica gets a
// 12-unit request, then a 2-unit request every millisecond, each spending
// what it reserved — more demand than room coming back, so without a fair
// hand-off the small requests take every part as it arrives and the large
// one never sees 12 at once.
//
// It runs in a synctest bubble against the real Postgres: time is fake,
// so the outcome does not depend on the machine's speed.
func TestWaitingRequestIsNotStarved(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st, _ := openStore(t, dsn)
		const limit, part = 1000, 6
		put(t, st, &store.Budget{ID: "fair", Scope: store.ScopeKey, KeyID: "fair-key", Period: store.PeriodLifetime, LimitNanos: limit})
		other := store.LeaseRequest{Counter: "budget:fair", Holder: "other-replica", Limit: store.Amount{A: limit},
			TTL: time.Hour, StarveFor: time.Minute}
		take := other
		take.Need = store.Amount{A: limit}
		if res, err := st.LeaseCounter(ctx, take); err != nil || res.Granted.A != limit {
			t.Fatalf("the other replica's lease: %+v, %v", res, err)
		}
		m := newManager(t, st)
		defer m.Flush(context.Background())
		subject := governance.Subject{KeyID: "fair-key"}

		var wg sync.WaitGroup
		wg.Go(func() { // the other replica gives its lease back, a part at a time
			give := other
			give.Return = store.Amount{A: part}
			for range limit / part {
				time.Sleep(10 * time.Millisecond)
				if _, err := st.LeaseCounter(context.Background(), give); err != nil {
					t.Errorf("giving back: %v", err)
					return
				}
			}
		})
		var bigErr error
		bigAt := make(chan time.Duration, 1)
		start := time.Now()
		wg.Go(func() {
			time.Sleep(5 * time.Millisecond)
			tk, err := m.Admit(context.Background(), subject, governance.Demand{Nanos: 12})
			bigErr = err
			bigAt <- time.Since(start)
			if err == nil {
				m.Settle(tk, governance.Demand{Nanos: 12})
			}
		})
		var small atomic.Int64
		for range 2500 {
			wg.Go(func() {
				tk, err := m.Admit(context.Background(), subject, governance.Demand{Nanos: 2})
				if err != nil {
					return // the budget's end: refusals are expected
				}
				small.Add(1)
				time.Sleep(20 * time.Millisecond)
				m.Settle(tk, governance.Demand{Nanos: 2})
			})
			time.Sleep(time.Millisecond)
		}
		wg.Wait()
		took := <-bigAt
		t.Logf("the 12-unit request: %v after %v; %d of 2500 2-unit requests admitted", bigErr, took, small.Load())
		if bigErr != nil {
			t.Fatalf("the 12-unit request that waited first was refused while smaller later ones took the room: %v", bigErr)
		}
		if spent := 12 + 2*small.Load(); spent > limit {
			t.Errorf("admitted %d units of a %d budget", spent, limit)
		}
	})
}
