package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// LeaseCounter applies r in one write transaction. The store has a single
// writer, so lease calls are serialised: the sum of live leases and used
// never exceeds the limit through a grant. Lease expiry is judged by the
// store's clock.
func (s *Store) LeaseCounter(ctx context.Context, r store.LeaseRequest) (store.LeaseResult, error) {
	if r.Used.A < 0 || r.Used.B < 0 || r.Return.A < 0 || r.Return.B < 0 || r.Want.A < 0 || r.Want.B < 0 {
		return store.LeaseResult{}, fmt.Errorf("lease counter %q: negative amount", r.Counter)
	}
	window := micros(r.Window.UTC())
	now := micros(s.clock())
	var res store.LeaseResult
	err := s.write(ctx, func(t *tx) error {
		if _, err := t.ExecContext(ctx, "INSERT OR IGNORE INTO governance_counters (counter, window_start) VALUES (?, ?)",
			r.Counter, window); err != nil {
			return err
		}
		var used store.Amount
		if err := t.QueryRowContext(ctx, "SELECT used_a, used_b FROM governance_counters WHERE counter = ? AND window_start = ?",
			r.Counter, window).Scan(&used.A, &used.B); err != nil {
			return err
		}
		// Expire other holders' dead leases.
		var expired store.Amount
		if err := t.QueryRowContext(ctx, `
			SELECT coalesce(sum(leased_a), 0), coalesce(sum(leased_b), 0) FROM governance_leases
			WHERE counter = ?1 AND window_start = ?2 AND holder <> ?3 AND expires_at < ?4`,
			r.Counter, window, r.Holder, now).Scan(&expired.A, &expired.B); err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, `DELETE FROM governance_leases
			WHERE counter = ?1 AND window_start = ?2 AND holder <> ?3 AND expires_at < ?4`,
			r.Counter, window, r.Holder, now); err != nil {
			return err
		}
		if r.ExpiredIsUsed {
			used = used.Add(expired)
		}
		var mine, others store.Amount
		var holders int
		if err := t.QueryRowContext(ctx, `
			SELECT coalesce(sum(CASE WHEN holder = ?3 THEN leased_a END), 0),
			       coalesce(sum(CASE WHEN holder = ?3 THEN leased_b END), 0),
			       coalesce(sum(CASE WHEN holder <> ?3 THEN leased_a END), 0),
			       coalesce(sum(CASE WHEN holder <> ?3 THEN leased_b END), 0),
			       count(CASE WHEN holder <> ?3 THEN 1 END)
			FROM governance_leases WHERE counter = ?1 AND window_start = ?2`,
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
		if _, err := t.ExecContext(ctx, "UPDATE governance_counters SET used_a = ?, used_b = ? WHERE counter = ? AND window_start = ?",
			used.A, used.B, r.Counter, window); err != nil {
			return err
		}
		if held == (store.Amount{}) {
			if _, err := t.ExecContext(ctx, "DELETE FROM governance_leases WHERE counter = ? AND window_start = ? AND holder = ?",
				r.Counter, window, r.Holder); err != nil {
				return err
			}
		} else {
			holders++
			if _, err := t.ExecContext(ctx, `
				INSERT INTO governance_leases (counter, window_start, holder, leased_a, leased_b, expires_at)
				VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (counter, window_start, holder) DO UPDATE
				SET leased_a = excluded.leased_a, leased_b = excluded.leased_b, expires_at = excluded.expires_at`,
				r.Counter, window, r.Holder, held.A, held.B, now+r.TTL.Microseconds()); err != nil {
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
	now := micros(s.clock())
	err := s.r.QueryRowContext(ctx, `
		SELECT c.used_a + coalesce(sum(CASE WHEN l.expires_at < ?3 THEN l.leased_a END), 0),
		       c.used_b + coalesce(sum(CASE WHEN l.expires_at < ?3 THEN l.leased_b END), 0),
		       coalesce(sum(CASE WHEN l.expires_at >= ?3 THEN l.leased_a END), 0),
		       coalesce(sum(CASE WHEN l.expires_at >= ?3 THEN l.leased_b END), 0)
		FROM governance_counters c
		LEFT JOIN governance_leases l ON l.counter = c.counter AND l.window_start = c.window_start
		WHERE c.counter = ?1 AND c.window_start = ?2
		GROUP BY c.counter, c.window_start`, counter, micros(window.UTC()), now).Scan(&st.Used.A, &st.Used.B, &st.Leased.A, &st.Leased.B)
	if errors.Is(err, sql.ErrNoRows) {
		return store.CounterState{}, nil
	}
	if err != nil {
		return store.CounterState{}, fmt.Errorf("read counter %q: %w", counter, err)
	}
	return st, nil
}

// Counter is one shared counter's totals in one window, for copying the
// store (see ListCounters).
type Counter struct {
	Counter string
	Window  time.Time
	store.CounterState
}

// ListCounters returns the totals (as ReadCounter) of every counter whose
// name starts with prefix, e.g. "budget:" for the budgets' spend.
func (s *Store) ListCounters(ctx context.Context, prefix string) ([]Counter, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT counter, window_start FROM governance_counters
		WHERE substr(counter, 1, length(?1)) = ?1 ORDER BY counter, window_start`, prefix)
	keys, err := collect(rows, err, func(r scanner) (Counter, error) {
		var c Counter
		var w int64
		err := r.Scan(&c.Counter, &w)
		c.Window = fromMicros(w)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list counters: %w", err)
	}
	for i := range keys {
		if keys[i].CounterState, err = s.ReadCounter(ctx, keys[i].Counter, keys[i].Window); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
