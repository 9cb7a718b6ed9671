package server_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestEmbeddedStoreConfirmsConfiguration checks that on the embedded store
// the registry's view is confirmed by the store's watch, not only by full
// reloads: with the reconcile reload an hour away, /healthz reports a
// confirmation newer than the start, and the view is not stale.
func TestEmbeddedStoreConfirmsConfiguration(t *testing.T) {
	t.Parallel()
	gw := servertest.Start(t, servertest.Options{Embedded: true, Config: func(c *server.Config) {
		c.ConfigMaxStaleness, c.ConfigReconcile = 600*time.Millisecond, time.Hour
	}})
	confirmedAfter := func(t0 time.Time) func() error {
		return func() error {
			cfg, ok := healthz(t, gw.URL)["config"].(map[string]any)
			if !ok {
				return errors.New("no config in /healthz")
			}
			at, err := time.Parse(time.RFC3339Nano, cfg["confirmed"].(string))
			if err != nil {
				return err
			}
			if !at.After(t0) || cfg["stale"] != false {
				return fmt.Errorf("confirmed at %s (want after %s), stale %v", at, t0, cfg["stale"])
			}
			return nil
		}
	}
	// The first confirmation comes with the watch's start; later ones only
	// from its heartbeats.
	testutil.Eventually(t, confirmedAfter(time.Time{}))
	testutil.Eventually(t, confirmedAfter(time.Now()))
}
