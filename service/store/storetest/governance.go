package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

func governanceTests() []test {
	return []test{
		{"BudgetPutGetListDelete", testBudgetCRUD},
		{"RateLimitPutGetListDelete", testRateLimitCRUD},
		{"LeaseAccounting", testLeaseAccounting},
		{"LeaseExpiry", testLeaseExpiry},
		{"LeaseConcurrentNeverExceedsLimit", testLeaseConcurrent},
		{"LeaseFairShareAndStarvation", testLeaseFairShare},
	}
}

func testBudgetCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	b := &store.Budget{ID: "b1", Scope: store.ScopeTeam, TeamID: "t1", Period: store.PeriodMonthly,
		TimeZone: "Europe/Paris", LimitNanos: 5_000_000_000}
	wantErr(t, "PutBudget", s.PutBudget(ctx, b), nil)
	if b.CreatedAt.IsZero() {
		t.Fatal("PutBudget did not set CreatedAt")
	}
	other := &store.Budget{ID: "b2", Scope: store.ScopeKey, TeamID: "t2", KeyID: "k9", Period: store.PeriodLifetime, LimitTokens: 1000}
	wantErr(t, "PutBudget b2", s.PutBudget(ctx, other), nil)

	b.LimitNanos = 1_000_000_000
	wantErr(t, "PutBudget update", s.PutBudget(ctx, b), nil)
	got, err := s.GetBudget(ctx, "b1")
	wantErr(t, "GetBudget", err, nil)
	var d diffs
	d.eq("Scope", got.Scope, store.ScopeTeam)
	d.eq("TeamID", got.TeamID, "t1")
	d.eq("Period", got.Period, store.PeriodMonthly)
	d.eq("TimeZone", got.TimeZone, "Europe/Paris")
	d.eq("LimitNanos", got.LimitNanos, int64(1_000_000_000))
	d.report(t, "GetBudget")

	tests := []struct {
		name string
		team string
		want []string
	}{
		{"all", "", []string{"b1", "b2"}},
		{"one team", "t2", []string{"b2"}},
		{"no such team", "t3", nil},
	}
	for _, tt := range tests {
		list, err := s.ListBudgets(ctx, tt.team)
		wantErr(t, "ListBudgets", err, nil)
		var ids []string
		for _, b := range list {
			ids = append(ids, b.ID)
		}
		var d diffs
		d.eq("ids", ids, tt.want)
		d.report(t, "ListBudgets "+tt.name)
	}
	wantErr(t, "DeleteBudget", s.DeleteBudget(ctx, "b1", 0), nil)
	wantErr(t, "DeleteBudget again", s.DeleteBudget(ctx, "b1", 0), store.ErrNotFound)
	_, err = s.GetBudget(ctx, "b1")
	wantErr(t, "GetBudget deleted", err, store.ErrNotFound)
}

func testRateLimitCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	l := &store.RateLimit{ID: "r1", Scope: store.ScopeKey, TeamID: "t1", KeyID: "k1", RequestsPerMinute: 60, MaxConcurrent: 2}
	wantErr(t, "PutRateLimit", s.PutRateLimit(ctx, l), nil)
	l.TokensPerMinute = 1000
	wantErr(t, "PutRateLimit update", s.PutRateLimit(ctx, l), nil)
	got, err := s.GetRateLimit(ctx, "r1")
	wantErr(t, "GetRateLimit", err, nil)
	var d diffs
	d.eq("KeyID", got.KeyID, "k1")
	d.eq("RequestsPerMinute", got.RequestsPerMinute, int64(60))
	d.eq("TokensPerMinute", got.TokensPerMinute, int64(1000))
	d.eq("MaxConcurrent", got.MaxConcurrent, int64(2))
	d.report(t, "GetRateLimit")
	list, err := s.ListRateLimits(ctx, "t1")
	wantErr(t, "ListRateLimits", err, nil)
	if len(list) != 1 {
		t.Fatalf("ListRateLimits = %d limits, want 1", len(list))
	}
	wantErr(t, "DeleteRateLimit", s.DeleteRateLimit(ctx, "r1", 0), nil)
	wantErr(t, "DeleteRateLimit again", s.DeleteRateLimit(ctx, "r1", 0), store.ErrNotFound)
}

func testLeaseAccounting(t *testing.T, s store.Store) {
	window := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	limit := store.Amount{A: 100, B: 0}
	req := func(holder string, used, ret, want int64) store.LeaseRequest {
		return store.LeaseRequest{Counter: "c", Window: window, Holder: holder, Limit: limit,
			Used: store.Amount{A: used}, Return: store.Amount{A: ret}, Need: store.Amount{A: want, B: want},
			TTL: time.Minute, ExpiredIsUsed: true}
	}
	steps := []struct {
		name        string
		req         store.LeaseRequest
		wantGranted int64
		wantHeld    int64
		wantUsed    int64
		wantLeased  int64
	}{
		{"first lease", req("r1", 0, 0, 40), 40, 40, 0, 40},
		{"second holder", req("r2", 0, 0, 40), 40, 40, 0, 80},
		{"partial grant", req("r3", 0, 0, 40), 20, 20, 0, 100},
		{"full: nothing", req("r3", 0, 0, 10), 0, 20, 0, 100},
		{"settle: used counts, no room", req("r1", 30, 0, 30), 0, 10, 30, 70},
		{"return all", req("r2", 5, 35, 0), 0, 0, 35, 30},
		{"room again", req("r3", 0, 0, 50), 35, 55, 35, 65},
		{"overspend clamps the lease", req("r3", 70, 0, 0), 0, 0, 105, 10},
	}
	for _, st := range steps {
		res, err := s.LeaseCounter(t.Context(), st.req)
		wantErr(t, st.name, err, nil)
		var d diffs
		d.eq("Granted", res.Granted.A, st.wantGranted)
		d.eq("Held", res.Held.A, st.wantHeld)
		d.eq("Used", res.Used.A, st.wantUsed)
		d.eq("Leased", res.Leased.A, st.wantLeased)
		d.report(t, st.name)
	}
	got, err := s.ReadCounter(t.Context(), "c", window)
	wantErr(t, "ReadCounter", err, nil)
	if got.Used.A != 105 || got.Leased.A != 10 {
		t.Errorf("ReadCounter = %+v, want used 105, leased 10", got)
	}
	if got, _ := s.ReadCounter(t.Context(), "c", window.AddDate(0, 1, 0)); got != (store.CounterState{}) {
		t.Errorf("next window = %+v, want zero", got)
	}
}

func testLeaseExpiry(t *testing.T, s store.Store) {
	window := time.Time{}
	tests := []struct {
		name          string
		expiredIsUsed bool
		wantGranted   int64
		wantUsed      int64
	}{
		{"rate window: expired lease counts as used", true, 0, 10},
		{"budget or slots: expired lease is free again, not spent", false, 10, 0},
	}
	for _, tt := range tests {
		counter := "exp-" + tt.name
		dead := store.LeaseRequest{Counter: counter, Window: window, Holder: "dead", Limit: store.Amount{A: 10},
			Need: store.Amount{A: 10}, TTL: time.Millisecond, ExpiredIsUsed: tt.expiredIsUsed}
		if _, err := s.LeaseCounter(t.Context(), dead); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // the store's clock must pass the 1ms TTL
		live := dead
		live.Holder, live.TTL = "live", time.Minute
		res, err := s.LeaseCounter(t.Context(), live)
		wantErr(t, tt.name, err, nil)
		var d diffs
		d.eq("Granted", res.Granted.A, tt.wantGranted)
		d.eq("Used", res.Used.A, tt.wantUsed)
		d.report(t, tt.name)
	}
}

func testLeaseConcurrent(t *testing.T, s store.Store) {
	const limit, holders, rounds = 1000, 8, 20
	var mu sync.Mutex
	var granted int64
	var wg sync.WaitGroup
	for h := range holders {
		wg.Go(func() {
			for range rounds {
				res, err := s.LeaseCounter(t.Context(), store.LeaseRequest{
					Counter: "conc", Holder: string(rune('a' + h)), Limit: store.Amount{A: limit},
					Used: store.Amount{}, Need: store.Amount{A: 17}, TTL: time.Minute, ExpiredIsUsed: true})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				granted += res.Granted.A
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if granted != limit {
		t.Errorf("granted %d in total, want exactly the limit %d", granted, limit)
	}
}

// testLeaseFairShare checks what replicas need to share a counter without
// starving one another: room to spare (Extra) is granted only up to a fair
// share of what is left, and a need that falls short marks the counter
// starved, for every holder to see.
func testLeaseFairShare(t *testing.T, s store.Store) {
	limit := store.Amount{A: 1000}
	req := func(holder string, need, needMin, extra int64) store.LeaseRequest {
		return store.LeaseRequest{Counter: "fair", Holder: holder, Limit: limit, Need: store.Amount{A: need},
			NeedMin: store.Amount{A: needMin}, Extra: store.Amount{A: extra}, TTL: time.Minute, StarveFor: time.Minute}
	}
	steps := []struct {
		name                         string
		req                          store.LeaseRequest
		granted, held, leased, holds int64
		starved                      bool
	}{
		// Alone: the need, plus half of the rest at most.
		{"need and capped extra", req("r1", 100, 0, 1000), 100 + 450, 550, 550, 1, false},
		// With one other holder: (450 - 50) / (2 * 2) = 100 extra.
		{"second holder's extra is a fair share", req("r2", 50, 0, 1000), 150, 150, 700, 2, false},
		{"nothing asked, nothing held", req("r3", 0, 0, 0), 0, 0, 700, 2, false},
		// 300 are free: no waiting request fits, so nothing is granted.
		{"room below the smallest need", req("r3", 400, 350, 0), 0, 0, 700, 2, true},
		// Any part of the need is of use: the 300 are granted.
		{"short need starves", req("r3", 400, 0, 0), 300, 300, 1000, 3, true},
		{"starved is seen by others", req("r1", 0, 0, 0), 0, 550, 1000, 3, true},
	}
	for _, st := range steps {
		res, err := s.LeaseCounter(t.Context(), st.req)
		wantErr(t, st.name, err, nil)
		var d diffs
		d.eq("Granted", res.Granted.A, st.granted)
		d.eq("Held", res.Held.A, st.held)
		d.eq("Leased", res.Leased.A, st.leased)
		d.eq("Holders", int64(res.Holders), st.holds)
		d.eq("Starved", res.Starved, st.starved)
		d.report(t, st.name)
	}
}
