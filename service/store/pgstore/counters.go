package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

// LeaseCounter applies r in one transaction that holds the counter row's
// lock, so concurrent leases of all replicas are serialised per counter:
// the sum of live leases and used never exceeds the limit through a grant.
func (s *Store) LeaseCounter(ctx context.Context, r store.LeaseRequest) (store.LeaseResult, error) {
	if r.Used.A < 0 || r.Used.B < 0 || r.Return.A < 0 || r.Return.B < 0 || r.Want.A < 0 || r.Want.B < 0 {
		return store.LeaseResult{}, fmt.Errorf("lease counter %q: negative amount", r.Counter)
	}
	window := r.Window.UTC()
	var res store.LeaseResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Create the counter and take its row lock.
		var used store.Amount
		if err := tx.QueryRow(ctx, `
			INSERT INTO governance_counters AS c (counter, window_start) VALUES ($1, $2)
			ON CONFLICT (counter, window_start) DO UPDATE SET used_a = c.used_a
			RETURNING used_a, used_b`, r.Counter, window).Scan(&used.A, &used.B); err != nil {
			return err
		}
		// Expire other holders' dead leases.
		var expired store.Amount
		if err := tx.QueryRow(ctx, `
			WITH gone AS (
				DELETE FROM governance_leases
				WHERE counter = $1 AND window_start = $2 AND holder <> $3 AND expires_at < now()
				RETURNING leased_a, leased_b)
			SELECT coalesce(sum(leased_a), 0)::bigint, coalesce(sum(leased_b), 0)::bigint FROM gone`,
			r.Counter, window, r.Holder).Scan(&expired.A, &expired.B); err != nil {
			return err
		}
		if r.ExpiredIsUsed {
			used = used.Add(expired)
		}
		var mine, others store.Amount
		var holders int
		if err := tx.QueryRow(ctx, `
			SELECT coalesce(sum(leased_a) FILTER (WHERE holder = $3), 0)::bigint,
			       coalesce(sum(leased_b) FILTER (WHERE holder = $3), 0)::bigint,
			       coalesce(sum(leased_a) FILTER (WHERE holder <> $3), 0)::bigint,
			       coalesce(sum(leased_b) FILTER (WHERE holder <> $3), 0)::bigint,
			       count(*) FILTER (WHERE holder <> $3)
			FROM governance_leases WHERE counter = $1 AND window_start = $2`,
			r.Counter, window, r.Holder).Scan(&mine.A, &mine.B, &others.A, &others.B, &holders); err != nil {
			return err
		}
		used = used.Add(r.Used)
		held := store.Amount{A: max(0, mine.A-r.Used.A-r.Return.A), B: max(0, mine.B-r.Used.B-r.Return.B)}
		granted := store.Amount{
			A: grant(r.Want.A, r.Limit.A, used.A+others.A+held.A),
			B: grant(r.Want.B, r.Limit.B, used.B+others.B+held.B),
		}
		// A lease grants every dimension or none: a request needs all.
		if (r.Want.A > 0 && granted.A == 0) || (r.Want.B > 0 && granted.B == 0) {
			granted = store.Amount{}
		}
		held = held.Add(granted)
		if _, err := tx.Exec(ctx, "UPDATE governance_counters SET used_a = $3, used_b = $4 WHERE counter = $1 AND window_start = $2",
			r.Counter, window, used.A, used.B); err != nil {
			return err
		}
		if held == (store.Amount{}) {
			if _, err := tx.Exec(ctx, "DELETE FROM governance_leases WHERE counter = $1 AND window_start = $2 AND holder = $3",
				r.Counter, window, r.Holder); err != nil {
				return err
			}
		} else {
			holders++
			if _, err := tx.Exec(ctx, `
				INSERT INTO governance_leases (counter, window_start, holder, leased_a, leased_b, expires_at)
				VALUES ($1, $2, $3, $4, $5, now() + $6::interval)
				ON CONFLICT (counter, window_start, holder) DO UPDATE
				SET leased_a = excluded.leased_a, leased_b = excluded.leased_b, expires_at = excluded.expires_at`,
				r.Counter, window, r.Holder, held.A, held.B, r.TTL); err != nil {
				return err
			}
		}
		res = store.LeaseResult{Granted: granted, Held: held, Used: used, Leased: others.Add(held), Holders: holders}
		return nil
	})
	if err != nil {
		return store.LeaseResult{}, fmt.Errorf("lease counter %q: %w", r.Counter, err)
	}
	return res, nil
}

// grant returns how much of want fits under limit (0 = unlimited) given
// what is already taken.
func grant(want, limit, taken int64) int64 {
	if limit == 0 {
		return want
	}
	return max(0, min(want, limit-taken))
}

// ReadCounter returns a counter's totals; expired leases count as used.
func (s *Store) ReadCounter(ctx context.Context, counter string, window time.Time) (store.CounterState, error) {
	var st store.CounterState
	err := s.pool.QueryRow(ctx, `
		SELECT c.used_a + coalesce(sum(l.leased_a) FILTER (WHERE l.expires_at < now()), 0)::bigint,
		       c.used_b + coalesce(sum(l.leased_b) FILTER (WHERE l.expires_at < now()), 0)::bigint,
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
