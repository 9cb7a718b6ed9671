package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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

// heartbeatPrefix starts the name of a watch connection's private
// heartbeat channel.
const heartbeatPrefix = "tollgate_hb_"

// DefaultHeartbeat is the default period of Watch's heartbeats.
const DefaultHeartbeat = time.Second

// Reconnect backoff of Watch.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// lostAfter is how many heartbeat periods a heartbeat may take to come
// back before the connection counts as dead. A slow Postgres is not a dead
// one: reconnecting would only add a full reload to its load.
const lostAfter = 3

// errHeartbeatLost reports a heartbeat that did not come back in time: the
// connection is treated as dead.
var errHeartbeatLost = errors.New("heartbeat not echoed in time")

// Watch calls fn for every change to providers, models, teams and keys
// committed by any replica, until ctx is done; it then returns ctx.Err().
// It is WatchConfirmed without the confirmations.
func (s *Store) Watch(ctx context.Context, fn func(store.Change)) error {
	return s.WatchConfirmed(ctx, fn, nil)
}

// WatchConfirmed calls fn for every change committed by any replica, and
// confirmed(t) whenever every change committed before t has been passed
// to fn, until ctx is done; it then returns ctx.Err().
//
// It listens on a dedicated connection (not one of the pool's). Once LISTEN
// has succeeded it calls fn with ChangeResync, so a caller that loads
// everything on Resync misses nothing. When the connection is lost it
// reconnects with a backoff from 100ms to 5s, and calls fn with ChangeResync
// again after listening anew. fn and confirmed run on WatchConfirmed's
// goroutine: while they run, notifications queue up on the connection.
//
// The connection carries a heartbeat every WithHeartbeat period: the
// session NOTIFYs a channel only it listens on, at time t. PostgreSQL
// delivers a session's notifications in commit order, so when the
// heartbeat comes back every change committed before t has been
// delivered: confirmed(t) is called. A heartbeat that does not come back
// within three periods means the connection is dead even if TCP has not
// noticed (a silent partition); it is closed and re-established.
func (s *Store) WatchConfirmed(ctx context.Context, fn func(store.Change), confirmed func(time.Time)) error {
	backoff := minBackoff
	for {
		listened, err := s.listen(ctx, fn, confirmed)
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

// listen connects, listens and delivers notifications and heartbeats until
// the connection fails or ctx is done. It reports whether LISTEN
// succeeded.
func (s *Store) listen(ctx context.Context, fn func(store.Change), confirmed func(time.Time)) (bool, error) {
	every := s.heartbeat
	if every <= 0 {
		every = DefaultHeartbeat
	}
	cfg := s.connCfg.Copy()
	cfg.RuntimeParams["application_name"] = watchAppName
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 2*every+time.Second {
		cfg.ConnectTimeout = 2*every + time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout+time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	var id [8]byte
	_, _ = rand.Read(id[:])
	hb := pgx.Identifier{heartbeatPrefix + hex.EncodeToString(id[:])}.Sanitize()
	lctx, cancel := context.WithTimeout(ctx, 2*every)
	_, err = conn.Exec(lctx, "LISTEN "+pgx.Identifier{changeChannel}.Sanitize()+"; LISTEN "+hb)
	cancel()
	if err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	fn(store.Change{Kind: store.ChangeResync})

	var (
		seq      int64
		sentAt   time.Time    // of the heartbeat in flight; zero when none
		nextBeat = time.Now() // the first heartbeat confirms the resync
	)
	for {
		wake := nextBeat
		if !sentAt.IsZero() {
			wake = sentAt.Add(lostAfter * every)
		}
		// After a slow fn the deadline may have passed while the echo
		// waits unread on the socket: always read for a moment.
		wake = later(wake, time.Now().Add(10*time.Millisecond))
		wctx, cancel := context.WithDeadline(ctx, wake)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return true, ctx.Err()
		case err != nil && !errors.Is(err, context.DeadlineExceeded):
			return true, fmt.Errorf("wait for notification: %w", err)
		case err != nil && !sentAt.IsZero():
			return true, errHeartbeatLost
		case err != nil:
			// Time for a heartbeat.
			seq++
			sentAt = time.Now()
			hctx, cancel := context.WithTimeout(ctx, lostAfter*every)
			_, err := conn.Exec(hctx, "NOTIFY "+hb+", '"+strconv.FormatInt(seq, 10)+"'")
			cancel()
			if err != nil {
				return true, fmt.Errorf("heartbeat: %w", err)
			}
		case strings.HasPrefix(n.Channel, heartbeatPrefix):
			if n.Payload != strconv.FormatInt(seq, 10) || sentAt.IsZero() {
				continue
			}
			if confirmed != nil {
				confirmed(sentAt)
			}
			sentAt, nextBeat = time.Time{}, time.Now().Add(every)
		default:
			c, ok := parseChange(n.Payload)
			if !ok {
				// A newer schema may send kinds this binary does not know.
				s.logger.DebugContext(ctx, "pgstore: watch: ignoring notification", "payload", n.Payload)
				continue
			}
			fn(c)
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
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
