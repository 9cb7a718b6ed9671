package pgstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/faultproxy"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/store"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

// TestWatchHeartbeat: WatchConfirmed confirms regularly; a silent
// partition (the proxy holds every byte, closes nothing) stops the
// confirmations and makes the watch reconnect and resync once it heals.
func TestWatchHeartbeat(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	open(t, dsn) // migrate through a direct connection
	proxy, via := faultproxy.Via(t, dsn)
	s := open(t, via, pgstore.WithHeartbeat(100*time.Millisecond))
	var confirmed atomic.Int64
	resyncs := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- s.WatchConfirmed(ctx, func(c store.Change) {
			if c.Kind == store.ChangeResync {
				resyncs <- struct{}{}
			}
		}, func(at time.Time) { confirmed.Store(at.UnixNano()) })
	}()
	defer func() {
		cancel()
		<-done
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		testutil.Eventually(t, func() error {
			if !ok() {
				return fmt.Errorf("no %s", what)
			}
			return nil
		})
	}
	<-resyncs
	waitFor("confirmation", func() bool { return confirmed.Load() != 0 })

	proxy.Set(faultproxy.Partition)
	cut := time.Now()
	// Confirmations stop: none is for a heartbeat sent after the cut.
	time.Sleep(time.Second) // several heartbeat periods; polling for an absence
	if at := time.Unix(0, confirmed.Load()); at.After(cut) {
		t.Fatalf("confirmed at %v, after the partition began at %v", at, cut)
	}
	proxy.Set(faultproxy.Forward)
	waitFor("resync after the partition healed", func() bool {
		select {
		case <-resyncs:
			return true
		default:
			return false
		}
	})
	waitFor("confirmation after the partition healed", func() bool { return time.Unix(0, confirmed.Load()).After(cut) })
}
