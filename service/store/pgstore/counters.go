package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

// LeaseCounter applies r in one round trip: the tollgate_lease function
// (migration 0020) runs the whole request under the counter row's lock, so
// concurrent leases of all replicas are serialised per counter and the sum
// of live leases and used never exceeds the limit through a grant.
func (s *Store) LeaseCounter(ctx context.Context, r store.LeaseRequest) (store.LeaseResult, error) {
	for _, a := range []store.Amount{r.Used, r.Return, r.Need, r.Extra, r.Reserved} {
		if a.A < 0 || a.B < 0 {
			return store.LeaseResult{}, fmt.Errorf("lease counter %q: negative amount", r.Counter)
		}
	}
	var res store.LeaseResult
	err := s.pool.QueryRow(ctx, `
		SELECT granted_a, granted_b, held_a, held_b, used_a, used_b, leased_a, leased_b, holders,
		       others_free_a, others_free_b, starved
		FROM tollgate_lease($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		r.Counter, r.Window.UTC(), r.Holder, r.Limit.A, r.Limit.B, r.Used.A, r.Used.B, r.Return.A, r.Return.B,
		r.Need.A, r.Need.B, r.Extra.A, r.Extra.B, r.Reserved.A, r.Reserved.B, r.TTL, r.ExpiredIsUsed, r.StarveFor,
	).Scan(&res.Granted.A, &res.Granted.B, &res.Held.A, &res.Held.B, &res.Used.A, &res.Used.B, &res.Leased.A, &res.Leased.B,
		&res.Holders, &res.OthersFree.A, &res.OthersFree.B, &res.Starved)
	if err != nil {
		return store.LeaseResult{}, fmt.Errorf("lease counter %q: %w", r.Counter, err)
	}
	return res, nil
}

// ReadCounter returns a counter's used total and its live leases; expired
// leases count as neither.
func (s *Store) ReadCounter(ctx context.Context, counter string, window time.Time) (store.CounterState, error) {
	var st store.CounterState
	err := s.pool.QueryRow(ctx, `
		SELECT c.used_a, c.used_b,
		       coalesce(sum(l.leased_a) FILTER (WHERE l.expires_at >= now()), 0)::bigint,
		       coalesce(sum(l.leased_b) FILTER (WHERE l.expires_at >= now()), 0)::bigint
		FROM governance_counters c
		LEFT JOIN governance_leases l ON l.counter = c.counter AND l.window_start = c.window_start
		WHERE c.counter = $1 AND c.window_start = $2
		GROUP BY c.used_a, c.used_b`, counter, window.UTC()).Scan(&st.Used.A, &st.Used.B, &st.Leased.A, &st.Leased.B)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.CounterState{}, nil
	}
	if err != nil {
		return store.CounterState{}, fmt.Errorf("read counter %q: %w", counter, err)
	}
	return st, nil
}
