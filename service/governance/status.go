package governance

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// BudgetStatus is a budget's state in its current period.
type BudgetStatus struct {
	Budget store.Budget
	// PeriodStart and Reset bound the current period (zero for lifetime).
	PeriodStart, Reset time.Time
	// SpentNanos and SpentTokens are reported spend (replicas report at
	// least every second); ReservedNanos and ReservedTokens are leased to
	// replicas and not yet reported.
	SpentNanos, SpentTokens       int64
	ReservedNanos, ReservedTokens int64
	// RemainingNanos and RemainingTokens are limit − spent − reserved, at
	// least 0 (0 also for a dimension without a limit).
	RemainingNanos, RemainingTokens int64
}

// Status returns b's state in the period containing now.
func (m *Manager) Status(ctx context.Context, b store.Budget) (BudgetStatus, error) {
	loc, err := LoadZone(b.TimeZone)
	if err != nil {
		return BudgetStatus{}, err
	}
	start, end, err := PeriodBounds(b.Period, loc, m.now())
	if err != nil {
		return BudgetStatus{}, err
	}
	win := time.Time{}
	if !start.IsZero() {
		win = start.UTC()
	}
	st, err := m.st.ReadCounter(ctx, budgetCounter(b.ID), win)
	if err != nil {
		return BudgetStatus{}, fmt.Errorf("governance: budget %s status: %w", b.ID, err)
	}
	rem := func(limit, used, leased int64) int64 {
		if limit == 0 {
			return 0
		}
		return max(0, limit-used-leased)
	}
	return BudgetStatus{
		Budget: b, PeriodStart: start, Reset: end,
		SpentNanos: st.Used.A, SpentTokens: st.Used.B, ReservedNanos: st.Leased.A, ReservedTokens: st.Leased.B,
		RemainingNanos:  rem(b.LimitNanos, st.Used.A, st.Leased.A),
		RemainingTokens: rem(b.LimitTokens, st.Used.B, st.Leased.B),
	}, nil
}
