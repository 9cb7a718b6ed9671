// Package servertest runs the real Tollgate server in-process for end-to-end
// tests: the same [server.New] and [server.Server.Serve] that `tollgate
// serve` runs, built from a typed [server.Config], on a loopback port,
// against a fresh pre-migrated database of the package's pgtest server.
//
// A test package using it needs `func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }`:
//
//	func TestChat(t *testing.T) {
//		t.Parallel()
//		up, upURL := fakeupstream.StartOpenAI(t)
//		g := servertest.Start(t, servertest.Options{
//			Config: func(c *server.Config) { c.Cache.Mode = "exact" },
//		})
//		key := g.Setup(t, upURL) // a provider, two models, a team and a key
//		...
//	}
package servertest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server"
)

// Gateway is a running gateway.
type Gateway struct {
	// URL is the base URL, e.g. "http://127.0.0.1:43123" ("https://..."
	// when the config enables TLS).
	URL string
	// Addr is the listen address, host:port.
	Addr string
	// AdminToken is the admin token it was started with.
	AdminToken string
	// MasterKey is the hex master key it was started with.
	MasterKey string
	// DatabaseURL is its database ("" on the embedded store).
	DatabaseURL string
	// DataDir is the embedded store's directory (Options.Embedded).
	DataDir string
	// Config is the configuration it runs with.
	Config server.Config
	// Logs holds everything the gateway logged (JSON lines).
	Logs *SyncBuffer
	// Admin is a client of the admin services carrying the admin token.
	Admin tollgate.AdminClient
	// Server is the running server (for its Engine in benchmarks).
	Server *server.Server

	t      testing.TB
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// Options configure Start. The zero value runs a gateway with the
// defaults of `tollgate serve`, debug logging and a fresh database.
type Options struct {
	// DatabaseURL reuses a database (another replica's) instead of creating
	// a fresh one.
	DatabaseURL string
	// ServerOptions are passed to server.New.
	ServerOptions []server.Option
	// Config, if set, adjusts the configuration before the server starts:
	// the defaults of server.DefaultConfig with the database, master key,
	// admin token, a spill directory and debug logging filled in.
	Config func(*server.Config)
	// Clock, if set, is the server's clock (server.WithClock), e.g. a
	// testutil.Clock's Now to move past TTLs without waiting.
	Clock func() time.Time
	// Listener serves instead of a new loopback listener.
	Listener net.Listener
	// Embedded runs the gateway on the embedded store (SQLite) in a fresh
	// data directory instead of Postgres; DatabaseURL is then ignored.
	Embedded bool
	// HTTPClient is the Admin client's HTTP client; the default is
	// http.DefaultClient (set one that trusts the certificate of a TLS
	// gateway).
	HTTPClient *http.Client
}

// AdminToken, MasterKey and MetricsToken are the secrets every test
// gateway starts with (the metrics token serves /metrics on the API port,
// which Metric reads).
const (
	AdminToken   = "test-admin-token-0123456789"
	MetricsToken = "test-metrics-token-0123456789"
	MasterKey    = "030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dc"
)

// Config returns the configuration Start begins with for database dsn:
// server.DefaultConfig with the database, the test secrets (metrics token
// included), a spill directory of the test, debug logging, patient cache
// timeouts and a fixed admission bound.
func Config(t testing.TB, dsn string) server.Config {
	cfg := server.DefaultConfig()
	cfg.DatabaseURL = dsn
	cfg.MasterKey = MasterKey
	cfg.AdminToken = AdminToken
	cfg.MetricsToken = MetricsToken
	cfg.LogLevel = "debug"
	cfg.SpillDir = t.TempDir()
	// A cache lookup or an embedding past its timeout is a miss; on a
	// loaded test machine the first lookup on a fresh pool can take longer
	// than the production defaults (50 ms, 300 ms), which would turn an
	// expected hit into a miss. Tests of the timeouts set their own.
	cfg.Cache.LookupTimeout, cfg.Cache.EmbedTimeout = 10*time.Second, 10*time.Second
	// Adaptive admission reads the Go scheduler's latency and the CPU use
	// of the process: here that is the test's, shared with its clients,
	// fake upstreams, other replicas and other tests, whose bursts on a
	// loaded machine would be refused as this gateway's overload. The hard
	// bound stays; tests of the controller (and the binary's overload
	// test) run it on its own.
	cfg.AdmissionAdaptive = false
	return cfg
}

// Start runs a gateway until the test ends. The gateway is ready when
// Start returns: its store is open and migrated, its configuration loaded
// and its listener accepting.
func Start(t testing.TB, opts Options) *Gateway {
	t.Helper()
	dsn := opts.DatabaseURL
	if dsn == "" && !opts.Embedded {
		dsn = pgtest.NewMigratedDatabase(t)
	}
	ln := opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config(t, dsn)
	if opts.Embedded {
		cfg.DatabaseURL, cfg.DataDir = "", t.TempDir()
	}
	cfg.Addr = ln.Addr().String()
	if opts.Config != nil {
		opts.Config(&cfg)
	}
	g := &Gateway{
		Addr: cfg.Addr, AdminToken: cfg.AdminToken, MasterKey: cfg.MasterKey, DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir,
		Config: cfg, Logs: &SyncBuffer{}, t: t, done: make(chan error, 1),
	}
	g.URL = "http://" + g.Addr
	if cfg.TLSCert != "" {
		g.URL = "https://" + g.Addr
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		ln.Close()
		t.Fatalf("servertest: log level: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(g.Logs, &slog.HandlerOptions{Level: level}))
	var sopts []server.Option
	if opts.Clock != nil {
		sopts = append(sopts, server.WithClock(opts.Clock))
	}
	sopts = append(sopts, opts.ServerOptions...)

	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, log, sopts...)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("servertest: start the gateway: %v; logs:\n%s", err, g.Logs.String())
	}
	g.Server, g.cancel = srv, cancel
	go func() {
		err := srv.Serve(ctx, ln)
		srv.Close()
		g.done <- err
	}()
	t.Cleanup(g.Stop)

	hc := opts.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	g.Admin = tollgate.NewAdminClient(hc, g.URL, connect.WithInterceptors(BearerInterceptor(g.AdminToken)))
	// server.New gives loading the configuration 5 s and Serve keeps
	// trying after that; on a loaded machine (the race detector, packages
	// in parallel) the first try can take longer, so wait for /readyz.
	if err := testutil.Poll(context.Background(), time.Minute, func() error { return ready(hc, g.URL) }); err != nil {
		t.Fatalf("servertest: the gateway did not become ready: %v; logs:\n%s", err, g.Logs.String())
	}
	return g
}

// ready reports whether the gateway at url answers /readyz with 200.
func ready(hc *http.Client, url string) error {
	resp, err := hc.Get(url + "/readyz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s", resp.Status)
	}
	return nil
}

// Stop shuts the gateway down gracefully and waits for it (idempotent). It
// fails the test if the gateway stopped with an error or takes too long.
func (g *Gateway) Stop() {
	g.once.Do(func() {
		g.cancel()
		select {
		case err := <-g.done:
			if err != nil {
				g.t.Errorf("servertest: gateway stopped with %v; logs:\n%s", err, g.Logs.String())
			}
		case <-time.After(g.Config.ShutdownTimeout + 10*time.Second):
			g.t.Errorf("servertest: gateway did not stop within %v", g.Config.ShutdownTimeout+10*time.Second)
		}
	})
}

// Metric returns the value of the unlabelled metric name (e.g.
// "tollgate_accounting_batch_failures_total") on the gateway's /metrics,
// or -1 when it is absent, for polling background work with
// testutil.Eventually.
func (g *Gateway) Metric(t testing.TB, name string) float64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+g.Config.MetricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("servertest: GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("servertest: GET /metrics: %v", err)
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("servertest: metric %s: %v", name, err)
			}
			return f
		}
	}
	return -1
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type SyncBuffer = testutil.Buffer

// BearerInterceptor adds "Authorization: Bearer token" to every client call.
func BearerInterceptor(token string) connect.Interceptor { return bearer(token) }

type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// Fixture names created by Setup.
const (
	ProviderID     = "fake-openai"
	ChatModel      = "gpt-4o-mini"
	EmbeddingModel = "text-embedding-3-small"
	TeamID         = "team-a"
	// UpstreamKey is the provider credential Setup stores.
	UpstreamKey = "sk-upstream-SECRET-4f9a7c1e"
)

// Setup registers an OpenAI-compatible provider at upstreamURL (with
// UpstreamKey as its credential), a chat and an embedding model priced like
// gpt-4o-mini, a team, and returns a new virtual key's secret.
func (g *Gateway) Setup(t testing.TB, upstreamURL string) string {
	t.Helper()
	ctx := context.Background()
	check(t)(g.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
		Provider:   &tollgatev1.Provider{Id: ProviderID, Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, BaseUrl: upstreamURL},
		Credential: UpstreamKey,
	})))
	check(t)(g.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
		Name: ChatModel, ProviderId: ProviderID, ContextWindow: 128000,
		Pricing: &tollgatev1.ModelPricing{
			InputPerMillion:  &money.Money{CurrencyCode: "USD", Nanos: 150_000_000},
			OutputPerMillion: &money.Money{CurrencyCode: "USD", Nanos: 600_000_000},
		},
	}})))
	check(t)(g.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
		Name: EmbeddingModel, ProviderId: ProviderID, Embedding: true,
		Pricing: &tollgatev1.ModelPricing{InputPerMillion: &money.Money{CurrencyCode: "USD", Nanos: 20_000_000}},
	}})))
	check(t)(g.Admin.CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: TeamID, DisplayName: "Team A"}})))
	_, secret := g.CreateKey(t, TeamID)
	return secret
}

// CreateKey creates a virtual key of team limited to models (all when
// none) and returns its id and secret.
func (g *Gateway) CreateKey(t testing.TB, team string, models ...string) (string, string) {
	t.Helper()
	resp, err := g.Admin.CreateKey(context.Background(), connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{
		Name: "test key", TeamId: team, AllowedModels: models,
	}}))
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return resp.Msg.GetKey().GetId(), resp.Msg.GetSecret()
}

// check returns a function failing t on a non-nil error, for one-line setup calls.
func check(t testing.TB) func(any, error) {
	return func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("setup: %v", err)
		}
	}
}
