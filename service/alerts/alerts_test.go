package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/store"
)

// fakeStore is an in-memory Store.
type fakeStore struct {
	mu      sync.Mutex
	hooks   []store.AlertWebhook
	fired   map[string]bool
	revoked []string
	audit   []store.AuditEvent
}

var _ Store = (*fakeStore)(nil)

func newFakeStore(hooks ...store.AlertWebhook) *fakeStore {
	return &fakeStore{hooks: hooks, fired: map[string]bool{}}
}

func (f *fakeStore) CreateAlertWebhook(_ context.Context, w *store.AlertWebhook) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hooks = append(f.hooks, *w)
	return nil
}

func (f *fakeStore) ListAlertWebhooks(context.Context) ([]store.AlertWebhook, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.AlertWebhook(nil), f.hooks...), nil
}

func (f *fakeStore) DeleteAlertWebhook(context.Context, string) error { return nil }

func claimKey(subject string, p time.Time, th int) string {
	return fmt.Sprintf("%s|%d|%d", subject, p.Unix(), th)
}

func (f *fakeStore) ClaimAlert(_ context.Context, subject string, p time.Time, th int) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := claimKey(subject, p, th)
	if f.fired[k] {
		return false, nil
	}
	f.fired[k] = true
	return true, nil
}

func (f *fakeStore) ReleaseAlert(_ context.Context, subject string, p time.Time, th int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.fired, claimKey(subject, p, th))
	return nil
}

func (f *fakeStore) AppendAuditEvent(_ context.Context, e *store.AuditEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.audit = append(f.audit, *e)
	return nil
}

func (f *fakeStore) ListAuditEvents(context.Context, store.AuditFilter) ([]store.AuditEvent, string, error) {
	return nil, "", nil
}

func (f *fakeStore) RevokeKey(_ context.Context, id string, _ time.Time) (*store.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, id)
	return &store.Key{ID: id}, nil
}

// fakeBudgets reports fixed spend per budget.
type fakeBudgets struct {
	mu     sync.Mutex
	budget store.Budget
	spent  int64
	start  time.Time
}

func (b *fakeBudgets) Budgets(governance.Subject, string) []store.Budget {
	return []store.Budget{b.budget}
}

func (b *fakeBudgets) Status(_ context.Context, bu store.Budget) (governance.BudgetStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return governance.BudgetStatus{Budget: bu, PeriodStart: b.start, SpentNanos: b.spent}, nil
}

func (b *fakeBudgets) set(spent int64, start time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spent, b.start = spent, start
}

// receiver is a webhook endpoint that records messages and fails the
// first failures requests.
type receiver struct {
	mu       sync.Mutex
	texts    []string
	bodies   []string
	failures int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures > 0 {
		r.failures--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var m Message
	if err := json.NewDecoder(req.Body).Decode(&m); err != nil || len(m.Blocks) == 0 {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.texts = append(r.texts, m.Text)
	r.bodies = append(r.bodies, m.Blocks[0].Text.Text)
}

func (r *receiver) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.texts...)
}

func TestBudgetThresholds(t *testing.T) {
	t.Parallel()
	rcv := &receiver{failures: 1}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	st := newFakeStore(store.AlertWebhook{ID: "h", URL: srv.URL})
	period := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	b := &fakeBudgets{budget: store.Budget{ID: "b1", Scope: store.ScopeTeam, TeamID: "t", Period: store.PeriodMonthly, LimitNanos: 1000}}
	m := New(st, b, WithRetry(3, time.Millisecond))
	steps := []struct {
		name   string
		spent  int64
		period time.Time
		want   string // the text of the new message, "" for none
	}{
		{"below every threshold", 499, period, ""},
		{"50% after a retried delivery", 500, period, "Budget b1 reached 50% of its limit"},
		{"still 50%: not again", 700, period, ""},
		{"jump past 80 and 100: one message for 100", 1200, period, "Budget b1 reached 100% of its limit"},
		{"nothing new", 1300, period, ""},
		{"new period starts over", 800, period.AddDate(0, 1, 0), "Budget b1 reached 80% of its limit"},
	}
	for _, s := range steps {
		before := len(rcv.got())
		b.set(s.spent, s.period)
		if err := m.Check(t.Context()); err != nil {
			t.Fatalf("%s: Check: %v", s.name, err)
		}
		got := rcv.got()[before:]
		switch {
		case s.want == "" && len(got) != 0:
			t.Errorf("%s: sent %q, want nothing", s.name, got)
		case s.want != "" && (len(got) != 1 || got[0] != s.want):
			t.Errorf("%s: sent %q, want %q", s.name, got, s.want)
		}
	}
}

// TestBudgetAlertTextForSmallAmounts: a $0.00001 budget reads in dollars
// with the digits that matter, not "Spent $0.00 of $0.00".
func TestBudgetAlertTextForSmallAmounts(t *testing.T) {
	t.Parallel()
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	st := newFakeStore(store.AlertWebhook{ID: "h", URL: srv.URL})
	b := &fakeBudgets{budget: store.Budget{ID: "tiny", Scope: store.ScopeTeam, TeamID: "t", Period: store.PeriodDaily, LimitNanos: 10_000}}
	b.set(8_200, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	if err := New(st, b).Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	want := "Spent $0.0000082 of $0.00001 this daily period"
	if len(rcv.bodies) != 1 || !strings.Contains(rcv.bodies[0], want) {
		t.Fatalf("alert bodies = %q, want one containing %q", rcv.bodies, want)
	}
}

func TestBudgetAlertReleasedWhenUndelivered(t *testing.T) {
	t.Parallel()
	rcv := &receiver{failures: 2}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	st := newFakeStore(store.AlertWebhook{ID: "h", URL: srv.URL, Kinds: []string{string(KindBudgetThreshold)}})
	b := &fakeBudgets{budget: store.Budget{ID: "b1", Scope: store.ScopeTeam, TeamID: "t", LimitNanos: 100, AlertThresholds: []int{90}}}
	b.set(95, time.Time{})
	m := New(st, b, WithRetry(2, time.Millisecond))
	if err := m.Check(t.Context()); err == nil {
		t.Fatal("Check with an unreachable webhook returned nil")
	}
	if err := m.Check(t.Context()); err != nil {
		t.Fatalf("second Check: %v", err)
	}
	if got := rcv.got(); len(got) != 1 || got[0] != "Budget b1 reached 90% of its limit" {
		t.Errorf("sent %q, want one 90%% alert after the failed delivery", got)
	}
}

func TestVelocity(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 30, 30, 0, time.UTC)
	const usd = 1_000_000_000
	tests := []struct {
		name string
		// baseline is spent per minute over the hour before; recent per
		// minute over the last five minutes.
		baseline, recent int64
		suspend          bool
		wantAlert        bool
	}{
		{"steady spend", usd / 2, usd / 2, false, false},
		{"new key under the floor", 0, usd / 10, false, false},
		{"new key over the floor", 0, usd, false, true},
		{"ten-fold is not above ten-fold", usd / 5, 2 * usd, false, false},
		{"runaway job", usd / 5, 3 * usd, false, true},
		{"runaway job suspended", usd / 5, 3 * usd, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rcv := &receiver{}
			srv := httptest.NewServer(rcv)
			t.Cleanup(srv.Close)
			st := newFakeStore(store.AlertWebhook{ID: "h", URL: srv.URL, TeamID: "t"})
			m := New(st, nil, WithClock(func() time.Time { return now }), WithSuspendOnVelocity(tt.suspend), WithRetry(1, 0))
			rec := m.Tee(discard{})
			for i := range historyBuckets {
				cost := tt.baseline
				if i < recentBuckets {
					cost = tt.recent
				}
				rec.Record(store.Record{KeyID: "k", TeamID: "t", Time: now.Add(-time.Duration(i) * time.Minute), CostNanos: cost})
			}
			for range 2 { // the second check must not repeat the alert
				if err := m.Check(t.Context()); err != nil {
					t.Fatalf("Check: %v", err)
				}
			}
			got := rcv.got()
			if tt.wantAlert != (len(got) == 1) || len(got) > 1 {
				t.Fatalf("sent %q; want alert %v (once)", got, tt.wantAlert)
			}
			if tt.wantAlert && !strings.Contains(got[0], "Spend spike on key k") {
				t.Errorf("text %q", got[0])
			}
			if wantRevoked := tt.suspend && tt.wantAlert; wantRevoked != (len(st.revoked) == 1) {
				t.Errorf("revoked %v, want suspension %v", st.revoked, wantRevoked)
			}
			if tt.suspend && tt.wantAlert && (len(st.audit) != 1 || st.audit[0].Action != "SuspendKey" || st.audit[0].Actor != ActorAlerts) {
				t.Errorf("audit = %+v, want one SuspendKey by %q", st.audit, ActorAlerts)
			}
		})
	}
}

func TestWebhookFilters(t *testing.T) {
	t.Parallel()
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	st := newFakeStore(
		store.AlertWebhook{ID: "other-team", URL: srv.URL, TeamID: "u"},
		store.AlertWebhook{ID: "velocity-only", URL: srv.URL, Kinds: []string{string(KindSpendVelocity)}},
		store.AlertWebhook{ID: "all", URL: srv.URL},
	)
	b := &fakeBudgets{budget: store.Budget{ID: "b1", Scope: store.ScopeTeam, TeamID: "t", LimitNanos: 10}}
	b.set(10, time.Time{})
	if err := New(st, b).Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got := rcv.got(); len(got) != 1 {
		t.Errorf("sent %d messages (%q), want 1: only the webhook for every kind and team matches", len(got), got)
	}
}

type discard struct{}

func (discard) Record(store.Record) {}
