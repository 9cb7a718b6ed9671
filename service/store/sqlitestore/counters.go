package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/service/store"
)

// LeaseCounter applies r in one write transaction (see
// store.LeaseRequest). The store has a single writer, so lease calls are
// serialised: the sum of live leases and used never exceeds the limit
// through a grant. Lease expiry is judged by the store's clock. A grant
// short of the need marks the counter starved for r.StarveFor and is
// announced to WatchLeases.
func (s *Store) LeaseCounter(ctx context.Context, r store.LeaseRequest) (store.LeaseResult, error) {
	for _, a := range []store.Amount{r.Used, r.Return, r.Need, r.NeedMin, r.Extra} {
		if a.A < 0 || a.B < 0 {
			return store.LeaseResult{}, fmt.Errorf("lease counter %q: negative amount", r.Counter)
		}
	}
	window := micros(r.Window.UTC())
	now := micros(s.clock())
	var res store.LeaseResult
	var short bool
	err := s.write(ctx, func(t *tx) error {
		if _, err := t.ExecContext(ctx, "INSERT OR IGNORE INTO governance_counters (counter, window_start) VALUES (?, ?)",
			r.Counter, window); err != nil {
			return err
		}
		var used store.Amount
		var starved sql.NullInt64
		if err := t.QueryRowContext(ctx, "SELECT used_a, used_b, starved_until FROM governance_counters WHERE counter = ? AND window_start = ?",
			r.Counter, window).Scan(&used.A, &used.B, &starved); err != nil {
			return err
		}
		// Drop other holders' dead leases.
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
		var holders int64
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
			A: grant(r.Need.A, r.NeedMin.A, r.Extra.A, r.Limit.A, used.A+others.A+held.A, holders),
			B: grant(r.Need.B, r.NeedMin.B, r.Extra.B, r.Limit.B, used.B+others.B+held.B, holders),
		}
		// A grant covers every dimension asked for or none: a request needs all.
		if (r.Need.A+r.Extra.A > 0 && granted.A == 0) || (r.Need.B+r.Extra.B > 0 && granted.B == 0) {
			granted = store.Amount{}
		}
		held = held.Add(granted)
		if granted.A < r.Need.A || granted.B < r.Need.B {
			short = true
			starved = sql.NullInt64{Int64: now + r.StarveFor.Microseconds(), Valid: true}
		}
		if _, err := t.ExecContext(ctx, "UPDATE governance_counters SET used_a = ?, used_b = ?, starved_until = ? WHERE counter = ? AND window_start = ?",
			used.A, used.B, starved, r.Counter, window); err != nil {
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
		res = store.LeaseResult{Granted: granted, Held: held, Used: used, Leased: others.Add(held), Holders: int(holders),
			Starved: starved.Valid && starved.Int64 > now}
		return nil
	})
	if err != nil {
		return store.LeaseResult{}, fmt.Errorf("lease counter %q: %w", r.Counter, err)
	}
	if short {
		s.leases.publish(r.Counter)
	}
	return res, nil
}

// grant returns what one dimension's lease call gets: need in full if the
// limit (0: none) allows, else the room left if that is at least needMin,
// else nothing; and extra up to a fair share of the room left after that,
// (room − need) / (2 · (others + 1)).
func grant(need, needMin, extra, limit, taken, others int64) int64 {
	if limit == 0 {
		return need + extra
	}
	room := max(0, limit-taken)
	switch {
	case room >= need:
	case room >= needMin:
		need = room
	default:
		need = 0
	}
	return need + min(extra, (room-need)/(2*(others+1)))
}

// ReadCounter returns a counter's used total and its live leases; expired
// leases count as neither.
func (s *Store) ReadCounter(ctx context.Context, counter string, window time.Time) (store.CounterState, error) {
	var st store.CounterState
	now := micros(s.clock())
	err := s.r.QueryRowContext(ctx, `
		SELECT c.used_a, c.used_b,
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

var _ store.LeaseWatcher = (*Store)(nil)

// leaseHub announces starved counters to this process's WatchLeases
// calls; an announcement a watcher has no room for is dropped
// (LeaseResult.Starved tells the same, later).
type leaseHub struct {
	mu   sync.Mutex
	subs map[chan string]struct{}
}

func (h *leaseHub) publish(counter string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- counter:
		default:
		}
	}
}

// WatchLeases implements store.LeaseWatcher: fn is called with the
// counter of every lease call of this process (the only writer) that
// could not be granted what it needed, until ctx is done; it then returns
// ctx.Err().
func (s *Store) WatchLeases(ctx context.Context, fn func(counter string)) error {
	ch := make(chan string, 64)
	s.leases.mu.Lock()
	if s.leases.subs == nil {
		s.leases.subs = map[chan string]struct{}{}
	}
	s.leases.subs[ch] = struct{}{}
	s.leases.mu.Unlock()
	defer func() {
		s.leases.mu.Lock()
		delete(s.leases.subs, ch)
		s.leases.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c := <-ch:
			fn(c)
		}
	}
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
