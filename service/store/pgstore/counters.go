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
	for _, a := range []store.Amount{r.Used, r.Return, r.Need, r.NeedMin, r.Extra} {
		if a.A < 0 || a.B < 0 {
			return store.LeaseResult{}, fmt.Errorf("lease counter %q: negative amount", r.Counter)
		}
	}
	var res store.LeaseResult
	err := s.pool.QueryRow(ctx, `
		SELECT granted_a, granted_b, held_a, held_b, used_a, used_b, leased_a, leased_b, holders, starved
		FROM tollgate_lease($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		r.Counter, r.Window.UTC(), r.Holder, r.Limit.A, r.Limit.B, r.Used.A, r.Used.B, r.Return.A, r.Return.B,
		r.Need.A, r.Need.B, r.NeedMin.A, r.NeedMin.B, r.Extra.A, r.Extra.B, r.TTL, r.ExpiredIsUsed, r.StarveFor,
	).Scan(&res.Granted.A, &res.Granted.B, &res.Held.A, &res.Held.B, &res.Used.A, &res.Used.B, &res.Leased.A, &res.Leased.B,
		&res.Holders, &res.Starved)
	if err != nil {
		return store.LeaseResult{}, fmt.Errorf("lease counter %q: %w", r.Counter, err)
	}
	return res, nil
}

// leaseChannel is where tollgate_lease announces starved counters.
const leaseChannel = "tollgate_leases"

// WatchLeases implements store.LeaseWatcher: it listens on a dedicated
// connection and reconnects with a backoff from 100ms to 5s when it is lost.
func (s *Store) WatchLeases(ctx context.Context, fn func(counter string)) error {
	backoff := minBackoff
	for {
		listened, err := s.listenLeases(ctx, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if listened {
			backoff = minBackoff
		}
		s.logger.DebugContext(ctx, "pgstore: lease watch: connection lost, reconnecting", "error", err, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (s *Store) listenLeases(ctx context.Context, fn func(counter string)) (bool, error) {
	cfg := s.connCfg.Copy()
	cfg.RuntimeParams["application_name"] = watchAppName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{leaseChannel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		fn(n.Payload)
	}
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
