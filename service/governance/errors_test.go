package governance_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/governance"
)

func TestLimitErrorHeaders(t *testing.T) {
	t.Parallel()
	reset := time.Date(2026, 11, 28, 0, 1, 0, 0, time.UTC)
	tests := []struct {
		name      string
		err       *governance.LimitError
		sentinel  error
		openai    map[string]string
		anthropic map[string]string
	}{
		{"requests per minute",
			&governance.LimitError{ID: "rpm", Scope: "team", Subject: "t", Dimension: governance.DimRequests, Limit: 60, Remaining: 0, Reset: reset, RetryAfter: 1500 * time.Millisecond},
			governance.ErrRateLimited,
			map[string]string{"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s", "retry-after": "2", "x-should-retry": "true"},
			map[string]string{"anthropic-ratelimit-requests-limit": "60", "anthropic-ratelimit-requests-remaining": "0", "anthropic-ratelimit-requests-reset": "2026-11-28T00:01:00Z", "retry-after": "2"}},
		{"tokens per minute",
			&governance.LimitError{ID: "tpm", Scope: "key", Subject: "k", Dimension: governance.DimTokens, Limit: 1000, Remaining: 12, Reset: reset, RetryAfter: 20 * time.Second},
			governance.ErrRateLimited,
			map[string]string{"x-ratelimit-limit-tokens": "1000", "x-ratelimit-remaining-tokens": "12", "x-ratelimit-reset-tokens": "20s", "retry-after": "20"},
			map[string]string{"anthropic-ratelimit-tokens-limit": "1000", "anthropic-ratelimit-tokens-remaining": "12", "retry-after": "20"}},
		{"money budget",
			&governance.LimitError{Budget: true, ID: "b", Scope: "team", Subject: "t", Period: "monthly", Dimension: governance.DimCost, Limit: 5, Reset: reset},
			governance.ErrBudgetExceeded,
			map[string]string{"x-should-retry": "false", "retry-after": "", "x-ratelimit-limit-requests": ""},
			map[string]string{"retry-after": "", "anthropic-ratelimit-requests-limit": ""}},
		{"token budget",
			&governance.LimitError{Budget: true, ID: "b", Scope: "key", Subject: "k", Period: "lifetime", Dimension: governance.DimTokens, Limit: 100, Remaining: 3},
			governance.ErrBudgetExceeded,
			map[string]string{"x-should-retry": "false"},
			map[string]string{"anthropic-ratelimit-tokens-limit": "100", "anthropic-ratelimit-tokens-remaining": "3", "anthropic-ratelimit-tokens-reset": "", "retry-after": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !errors.Is(tt.err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.sentinel)
			}
			for dialect, want := range map[string]map[string]string{"openai": tt.openai, "anthropic": tt.anthropic} {
				h := http.Header{}
				if dialect == "openai" {
					tt.err.OpenAIHeaders(h)
				} else {
					tt.err.AnthropicHeaders(h)
				}
				for k, v := range want {
					if got := h.Get(k); got != v {
						t.Errorf("%s %s = %q, want %q", dialect, k, got, v)
					}
				}
			}
		})
	}
}
