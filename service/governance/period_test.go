package governance_test

import (
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/store"
)

func TestPeriodBounds(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	tests := []struct {
		name       string
		period     store.Period
		loc        *time.Location
		at         time.Time
		start, end time.Time
		hours      float64
	}{
		{"daily UTC", store.PeriodDaily, time.UTC, time.Date(2026, 5, 17, 23, 59, 0, 0, time.UTC),
			time.Date(2026, 5, 17, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 18, 0, 0, 0, 0, time.UTC), 24},
		{"daily nil zone is UTC", store.PeriodDaily, nil, time.Date(2026, 5, 17, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 5, 17, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 18, 0, 0, 0, 0, time.UTC), 24},
		{"daily NY, UTC instant is the previous local day", store.PeriodDaily, ny, time.Date(2026, 5, 18, 3, 0, 0, 0, time.UTC),
			time.Date(2026, 5, 17, 0, 0, 0, 0, ny), time.Date(2026, 5, 18, 0, 0, 0, 0, ny), 24},
		{"daily NY on the fall-back day lasts 25h", store.PeriodDaily, ny, time.Date(2026, 11, 1, 12, 0, 0, 0, ny),
			time.Date(2026, 11, 1, 0, 0, 0, 0, ny), time.Date(2026, 11, 2, 0, 0, 0, 0, ny), 25},
		{"daily NY on the spring-forward day lasts 23h", store.PeriodDaily, ny, time.Date(2026, 3, 8, 12, 0, 0, 0, ny),
			time.Date(2026, 3, 8, 0, 0, 0, 0, ny), time.Date(2026, 3, 9, 0, 0, 0, 0, ny), 23},
		{"weekly NY across fall-back starts Monday, lasts 169h", store.PeriodWeekly, ny, time.Date(2026, 11, 1, 23, 0, 0, 0, ny),
			time.Date(2026, 10, 26, 0, 0, 0, 0, ny), time.Date(2026, 11, 2, 0, 0, 0, 0, ny), 169},
		{"weekly on a Monday midnight", store.PeriodWeekly, paris, time.Date(2026, 3, 30, 0, 0, 0, 0, paris),
			time.Date(2026, 3, 30, 0, 0, 0, 0, paris), time.Date(2026, 4, 6, 0, 0, 0, 0, paris), 168},
		{"weekly Paris across spring-forward lasts 167h", store.PeriodWeekly, paris, time.Date(2026, 3, 29, 10, 0, 0, 0, paris),
			time.Date(2026, 3, 23, 0, 0, 0, 0, paris), time.Date(2026, 3, 30, 0, 0, 0, 0, paris), 167},
		{"monthly Paris March has 743h", store.PeriodMonthly, paris, time.Date(2026, 3, 31, 23, 30, 0, 0, paris),
			time.Date(2026, 3, 1, 0, 0, 0, 0, paris), time.Date(2026, 4, 1, 0, 0, 0, 0, paris), 31*24 - 1},
		{"monthly December rolls the year", store.PeriodMonthly, time.UTC, time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC),
			time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), 31 * 24},
		{"monthly February leap year", store.PeriodMonthly, time.UTC, time.Date(2028, 2, 29, 1, 0, 0, 0, time.UTC),
			time.Date(2028, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC), 29 * 24},
		{"lifetime never resets", store.PeriodLifetime, ny, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, time.Time{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start, end, err := governance.PeriodBounds(tt.period, tt.loc, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Errorf("bounds = [%v, %v), want [%v, %v)", start, end, tt.start, tt.end)
			}
			if got := end.Sub(start).Hours(); got != tt.hours {
				t.Errorf("period lasts %vh, want %vh", got, tt.hours)
			}
			if !start.IsZero() && (tt.at.Before(start) || !tt.at.Before(end)) {
				t.Errorf("%v is not in [%v, %v)", tt.at, start, end)
			}
		})
	}
	if _, _, err := governance.PeriodBounds("hourly", time.UTC, time.Now()); err == nil {
		t.Error("unknown period: nil error")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	budgets := []struct {
		name string
		b    store.Budget
		ok   bool
	}{
		{"team money", store.Budget{ID: "b", Scope: store.ScopeTeam, TeamID: "t", Period: store.PeriodDaily, LimitNanos: 1}, true},
		{"service tokens in a zone", store.Budget{ID: "b", Scope: store.ScopeService, TeamID: "t", ServiceID: "s", Period: store.PeriodWeekly, TimeZone: "Asia/Tokyo", LimitTokens: 1}, true},
		{"no id", store.Budget{Scope: store.ScopeTeam, TeamID: "t", Period: store.PeriodDaily, LimitNanos: 1}, false},
		{"key without key id", store.Budget{ID: "b", Scope: store.ScopeKey, Period: store.PeriodDaily, LimitNanos: 1}, false},
		{"service without service", store.Budget{ID: "b", Scope: store.ScopeService, TeamID: "t", Period: store.PeriodDaily, LimitNanos: 1}, false},
		{"no limit", store.Budget{ID: "b", Scope: store.ScopeTeam, TeamID: "t", Period: store.PeriodDaily}, false},
		{"bad zone", store.Budget{ID: "b", Scope: store.ScopeTeam, TeamID: "t", Period: store.PeriodDaily, TimeZone: "Mars/Olympus", LimitNanos: 1}, false},
		{"bad period", store.Budget{ID: "b", Scope: store.ScopeTeam, TeamID: "t", Period: "hourly", LimitNanos: 1}, false},
	}
	for _, tt := range budgets {
		if err := governance.ValidateBudget(&tt.b); (err == nil) != tt.ok {
			t.Errorf("ValidateBudget(%s) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	limits := []struct {
		name string
		l    store.RateLimit
		ok   bool
	}{
		{"key rpm", store.RateLimit{ID: "r", Scope: store.ScopeKey, KeyID: "k", RequestsPerMinute: 1}, true},
		{"team concurrency", store.RateLimit{ID: "r", Scope: store.ScopeTeam, TeamID: "t", MaxConcurrent: 1}, true},
		{"service scope", store.RateLimit{ID: "r", Scope: store.ScopeService, TeamID: "t", MaxConcurrent: 1}, false},
		{"nothing limited", store.RateLimit{ID: "r", Scope: store.ScopeKey, KeyID: "k"}, false},
	}
	for _, tt := range limits {
		if err := governance.ValidateRateLimit(&tt.l); (err == nil) != tt.ok {
			t.Errorf("ValidateRateLimit(%s) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
