package gatewaytest_test

import (
	"os"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/gatewaytest"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// TestShimAppliesEnvAndArgs checks that the deprecated Options.Env and
// Options.Args still reach the server's config, through its flag binder.
func TestShimAppliesEnvAndArgs(t *testing.T) {
	t.Parallel()
	g := gatewaytest.Start(t, gatewaytest.Options{
		Env:  map[string]string{"TOLLGATE_MAX_REQUEST_BYTES": "1024", "TOLLGATE_CACHE_MODE": "exact"},
		Args: []string{"-alert-interval", "7s"},
	})
	c := g.Config
	if c.MaxRequestBytes != 1024 || c.Cache.Mode != "exact" || c.AlertInterval != 7*time.Second {
		t.Errorf("config: max request bytes %d, cache mode %q, alert interval %v; want 1024, exact, 7s", c.MaxRequestBytes, c.Cache.Mode, c.AlertInterval)
	}
	if c.MasterKey == "" || c.AdminToken != g.AdminToken || c.DatabaseURL == "" {
		t.Errorf("the shim lost the test secrets or the database: %+v", c)
	}
	if secret := g.Setup(t, "http://127.0.0.1:1"); secret == "" {
		t.Error("Setup returned no key")
	}
}
