package governance_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/governance"
)

// TestLimitErrors checks the sentinels and messages of refusals; package
// edge tests how each dialect renders them.
func TestLimitErrors(t *testing.T) {
	t.Parallel()
	reset := time.Date(2026, 11, 28, 0, 1, 0, 0, time.UTC)
	tests := []struct {
		name     string
		err      *governance.LimitError
		sentinel error
		msg      string
	}{
		{"requests per minute",
			&governance.LimitError{ID: "rpm", Scope: "team", Subject: "t", Dimension: governance.DimRequests, Limit: 60, Remaining: 0, Reset: reset, RetryAfter: 1500 * time.Millisecond},
			governance.ErrRateLimited, `rate limited: rate limit "rpm" of team "t": requests limit 60 reached (0 remaining); resets at 2026-11-28T00:01:00Z`},
		{"money budget",
			&governance.LimitError{Budget: true, ID: "b", Scope: "team", Subject: "t", Period: "monthly", Dimension: governance.DimCost, Limit: 5, Reset: reset},
			governance.ErrBudgetExceeded, `budget exceeded: budget "b" of team "t": cost limit 5 reached (0 remaining), monthly; resets at 2026-11-28T00:01:00Z`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !errors.Is(tt.err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.sentinel)
			}
			if got := tt.err.Error(); !strings.Contains(got, tt.msg) {
				t.Errorf("Error() = %q, want %q", got, tt.msg)
			}
		})
	}
}
