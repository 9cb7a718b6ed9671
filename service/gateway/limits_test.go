package gateway_test

import (
	"fmt"
	"testing"

	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/store"
)

func TestStatusOfLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"budget", &governance.LimitError{Budget: true, ID: "b"}, "budget_exceeded"},
		{"rate", &governance.LimitError{ID: "r"}, "rate_limited"},
		{"wrapped rate", fmt.Errorf("admit: %w", &governance.LimitError{ID: "r"}), "rate_limited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, code := gateway.StatusOf(tt.err)
			if status != store.StatusLimited || code != tt.code {
				t.Errorf("StatusOf = %v, %q; want StatusLimited, %q", status, code, tt.code)
			}
		})
	}
}
