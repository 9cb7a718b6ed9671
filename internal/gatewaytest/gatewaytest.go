// Package gatewaytest is the former home of the in-process test gateway,
// kept only so that tests written against it still compile while other
// branches land. It delegates to servertest and no longer runs the server
// through the command line.
//
// Deprecated: use github.com/tollgate-dev/tollgate/service/server/servertest.
// The conversion is mechanical: replace the import and the package name;
// Options.Env and Options.Args become Options.Config, a func(*server.Config)
// that sets the fields directly (TOLLGATE_CACHE_MODE=exact becomes
// c.Cache.Mode = "exact"). This package goes away once nothing imports it.
package gatewaytest

import (
	"flag"
	"net"
	"testing"

	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// Gateway is a running gateway.
//
// Deprecated: use servertest.Gateway.
type Gateway = servertest.Gateway

// SyncBuffer is a bytes.Buffer safe for concurrent writes and reads.
//
// Deprecated: use servertest.SyncBuffer.
type SyncBuffer = servertest.SyncBuffer

// Options configure Start.
//
// Deprecated: use servertest.Options.
type Options struct {
	// DatabaseURL reuses a database instead of creating a fresh one.
	DatabaseURL string
	// Args are `tollgate serve` flags, applied to the config.
	Args []string
	// Env are TOLLGATE_* settings, applied to the config as the server's
	// flag binder reads them.
	Env map[string]string
	// Listener serves instead of a new loopback listener.
	Listener net.Listener
}

// Fixture names created by Setup.
//
// Deprecated: use servertest's.
const (
	ProviderID     = servertest.ProviderID
	ChatModel      = servertest.ChatModel
	EmbeddingModel = servertest.EmbeddingModel
	TeamID         = servertest.TeamID
	UpstreamKey    = servertest.UpstreamKey
)

// BearerInterceptor adds "Authorization: Bearer token" to every client call.
//
// Deprecated: use servertest.BearerInterceptor.
var BearerInterceptor = servertest.BearerInterceptor

// Start runs a gateway until the test ends.
//
// Deprecated: use servertest.Start.
func Start(t testing.TB, opts Options) *Gateway {
	t.Helper()
	return servertest.Start(t, servertest.Options{
		DatabaseURL: opts.DatabaseURL,
		Listener:    opts.Listener,
		Config: func(c *server.Config) {
			if len(opts.Env) == 0 && len(opts.Args) == 0 {
				return
			}
			secrets := *c
			fs := flag.NewFlagSet("gatewaytest", flag.ContinueOnError)
			if err := c.RegisterFlags(fs, func(k string) string { return opts.Env[k] }); err != nil {
				t.Fatalf("gatewaytest: settings: %v", err)
			}
			if err := fs.Parse(opts.Args); err != nil {
				t.Fatalf("gatewaytest: flags: %v", err)
			}
			// RegisterFlags reads the secrets from the environment only.
			if c.MasterKey == "" {
				c.MasterKey = secrets.MasterKey
			}
			if c.AdminToken == "" {
				c.AdminToken = secrets.AdminToken
			}
		},
	})
}
