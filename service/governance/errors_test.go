package governance_test

import (
	"errors"
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
			governance.ErrRateLimited, `rate limited: the team rate limit "rpm" (team t) allows 60 requests per minute and none remain; it resets at 2026-11-28 00:01 UTC`},
		{"tokens per minute",
			&governance.LimitError{ID: "tpm", Scope: "key", Subject: "k1", Dimension: governance.DimTokens, Limit: 20_000, Remaining: 500, Want: 1200, Reset: reset},
			governance.ErrRateLimited, `rate limited: the key rate limit "tpm" (key k1) allows 20,000 tokens per minute and only 500 remain (this request could use up to 1,200); it resets at 2026-11-28 00:01 UTC`},
		{"concurrency",
			&governance.LimitError{ID: "c", Scope: "team", Subject: "t", Dimension: governance.DimConcurrent, Limit: 4, RetryAfter: time.Second},
			governance.ErrRateLimited, `rate limited: the team rate limit "c" (team t) allows 4 requests at once and all are in flight`},
		{"money budget, the issue's example",
			&governance.LimitError{Budget: true, ID: "search-daily", Scope: "team", Subject: "search", Period: "daily", Dimension: governance.DimCost,
				Limit: 10_000_000, Remaining: 8_200_000, Want: 12_000_000, Reset: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)},
			governance.ErrBudgetExceeded, "budget exceeded: this request could cost up to $0.012 and only $0.0082 remains in the daily team budget \"search-daily\" (team search); it resets at 2026-11-29 00:00 UTC"},
		{"money budget without the request's cost",
			&governance.LimitError{Budget: true, ID: "b", Scope: "team", Subject: "t", Period: "monthly", Dimension: governance.DimCost, Limit: 5_000_000_000, Reset: reset},
			governance.ErrBudgetExceeded, `budget exceeded: the monthly team budget "b" (team t) of $5.00 is used up ($0.00 remains); it resets at 2026-11-28 00:01 UTC`},
		{"lifetime token budget of a key",
			&governance.LimitError{Budget: true, ID: "kb", Scope: "key", Subject: "key_1", Period: "lifetime", Dimension: governance.DimTokens, Limit: 100_000, Remaining: 800, Want: 1200},
			governance.ErrBudgetExceeded, `budget exceeded: this request could use up to 1,200 tokens and only 800 remain in the lifetime key budget "kb" (key key_1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !errors.Is(tt.err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.sentinel)
			}
			if got := tt.err.Error(); got != tt.msg {
				t.Errorf("Error() = %q, want %q", got, tt.msg)
			}
		})
	}
}
