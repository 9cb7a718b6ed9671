package pgstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/service/store"
)

// Change notifications: the triggers of migration 0001 send '<kind>:<id>'
// on this channel.
const changeChannel = "tollgate_changes"

// watchAppName is the application_name of Watch's connections, which lets
// an operator (or a test) find them in pg_stat_activity.
const watchAppName = "tollgate-watch"

// Reconnect backoff of Watch.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Watch calls fn for every change to providers, models, teams and keys
// committed by any replica, until ctx is done; it then returns ctx.Err().
//
// It listens on a dedicated connection (not one of the pool's). Once LISTEN
// has succeeded it calls fn with ChangeResync, so a caller that loads
// everything on Resync misses nothing. When the connection is lost it
// reconnects with a backoff from 100ms to 5s, and calls fn with ChangeResync
// again after listening anew. fn runs on Watch's goroutine: while it runs,
// notifications queue up on the connection.
//
// A connection that dies silently (no reset from the network) is noticed
// through TCP keepalives, which can take minutes.
func (s *Store) Watch(ctx context.Context, fn func(store.Change)) error {
	backoff := minBackoff
	for {
		listened, err := s.listen(ctx, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if listened {
			backoff = minBackoff
		}
		s.logger.WarnContext(ctx, "pgstore: watch: connection lost, reconnecting",
			slog.Any("error", err), slog.Duration("backoff", backoff))
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

// listen connects, listens and delivers notifications until the connection
// fails or ctx is done. It reports whether LISTEN succeeded.
func (s *Store) listen(ctx context.Context, fn func(store.Change)) (bool, error) {
	cfg := s.connCfg.Copy()
	cfg.RuntimeParams["application_name"] = watchAppName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{changeChannel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	fn(store.Change{Kind: store.ChangeResync})
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		c, ok := parseChange(n.Payload)
		if !ok {
			// A newer schema may send kinds this binary does not know.
			s.logger.DebugContext(ctx, "pgstore: watch: ignoring notification", "payload", n.Payload)
			continue
		}
		fn(c)
	}
}

// parseChange parses a '<kind>:<id>' payload.
func parseChange(payload string) (store.Change, bool) {
	kind, id, ok := strings.Cut(payload, ":")
	if !ok {
		return store.Change{}, false
	}
	switch k := store.ChangeKind(kind); k {
	case store.ChangeProvider, store.ChangeModel, store.ChangeTeam, store.ChangeKey,
		store.ChangeBudget, store.ChangeRateLimit, store.ChangeRoute,
		store.ChangeGuardrailPolicy,
		store.ChangeServiceAccount, store.ChangeServiceAccountToken, store.ChangeRoleBinding,
		store.ChangeCredentials, store.ChangeMasterKey:
		return store.Change{Kind: k, ID: id}, true
	}
	return store.Change{}, false
}
