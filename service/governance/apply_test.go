package governance_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/store"
)

// heldStore is a governance.Store of budgets in memory whose first
// GetBudget reads the budget, then waits for release before it returns
// what it read: an Apply overtaken by a later one.
type heldStore struct {
	store.Counters // not used by Load and Apply

	mu      sync.Mutex
	budgets map[string]store.Budget
	calls   int
	inside  chan struct{} // closed when the first GetBudget has read
	release chan struct{}
}

func (s *heldStore) set(b store.Budget) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.budgets[b.ID] = b
}

func (s *heldStore) ListBudgets(context.Context, string) ([]store.Budget, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Budget
	for _, b := range s.budgets {
		out = append(out, b)
	}
	return out, nil
}

func (s *heldStore) GetBudget(_ context.Context, id string) (*store.Budget, error) {
	s.mu.Lock()
	b, ok := s.budgets[id]
	s.calls++
	first := s.calls == 1
	s.mu.Unlock()
	if first {
		close(s.inside)
		<-s.release
	}
	if !ok {
		return nil, store.ErrNotFound
	}
	return &b, nil
}

func (s *heldStore) ListRateLimits(context.Context, string) ([]store.RateLimit, error) {
	return nil, nil
}

func (s *heldStore) GetRateLimit(context.Context, string) (*store.RateLimit, error) {
	return nil, store.ErrNotFound
}

// TestApplyInReadOrder: an Apply that read a budget before it was changed
// and is overtaken by the Apply of the change (an admin call's, while the
// notification of the earlier write is being applied) must not put the
// older read back. Before Apply was serialised, a budget just set could
// vanish or revert until its own notification arrived.
func TestApplyInReadOrder(t *testing.T) {
	t.Parallel()
	st := &heldStore{budgets: map[string]store.Budget{}, inside: make(chan struct{}), release: make(chan struct{})}
	budget := func(limit int64) store.Budget {
		return store.Budget{ID: "b", Scope: store.ScopeTeam, TeamID: "t", Period: store.PeriodMonthly, LimitNanos: limit}
	}
	st.set(budget(1_000))
	m := governance.New(st)
	if err := m.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	change := store.Change{Kind: store.ChangeBudget, ID: "b"}
	first := make(chan error, 1)
	go func() { first <- m.Apply(context.Background(), change) }()
	<-st.inside // the first Apply read the limit of 1,000
	st.set(budget(2_000))
	second := make(chan error, 1)
	go func() { second <- m.Apply(context.Background(), change) }()
	// Serialised, the second Apply waits for the first, and this select
	// times out; unserialised, it gets ahead (the order that lost the
	// change). The wait cannot fail a correct Manager.
	select {
	case err := <-second:
		second <- err
	case <-time.After(100 * time.Millisecond):
	}
	close(st.release)
	for _, ch := range []chan error{first, second} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	bs := m.Budgets(governance.Subject{}, "t")
	if len(bs) != 1 || bs[0].LimitNanos != 2_000 {
		t.Fatalf("budgets after both applies = %+v, want the limit of 2,000 (the later read)", bs)
	}
}
