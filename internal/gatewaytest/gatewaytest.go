// Package gatewaytest runs the real Tollgate server in-process for
// end-to-end tests: the same code path as `tollgate serve`, on a loopback
// port, against a fresh database of the package's pgtest cluster.
//
// A test package using it needs `func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }`.
package gatewaytest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/app"
)

// Gateway is a running gateway.
type Gateway struct {
	// URL is the base URL, e.g. "http://127.0.0.1:43123".
	URL string
	// Addr is the listen address, host:port.
	Addr string
	// AdminToken is the admin token it was started with.
	AdminToken string
	// MasterKey is the hex master key it was started with.
	MasterKey string
	// DatabaseURL is its database.
	DatabaseURL string
	// Logs holds everything the gateway logged.
	Logs *SyncBuffer
	// Admin is a client of the admin services carrying the admin token.
	Admin tollgate.AdminClient

	cancel context.CancelFunc
	done   chan int
	once   sync.Once
}

// Options configure Start.
type Options struct {
	// DatabaseURL reuses a database instead of creating a fresh one.
	DatabaseURL string
	// Args are extra `tollgate serve` flags.
	Args []string
	// Env are extra environment variables.
	Env map[string]string
	// Listener serves instead of a new loopback listener.
	Listener net.Listener
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Start runs a gateway until the test ends.
func Start(t testing.TB, opts Options) *Gateway {
	t.Helper()
	dsn := opts.DatabaseURL
	if dsn == "" {
		dsn = pgtest.NewDatabase(t)
	}
	ln := opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	mk := make([]byte, 32)
	for i := range mk {
		mk[i] = byte(i*7 + 3)
	}
	g := &Gateway{
		Addr: ln.Addr().String(), AdminToken: "test-admin-token-0123456789", MasterKey: hex.EncodeToString(mk),
		DatabaseURL: dsn, Logs: &SyncBuffer{}, done: make(chan int, 1),
	}
	g.URL = "http://" + g.Addr
	probe := http.DefaultClient
	if isTLS(opts.Args) {
		g.URL = "https://" + g.Addr
		// Readiness only: the test's own clients verify the certificate.
		probe = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // test harness probe
	}
	env := map[string]string{
		"TOLLGATE_DATABASE_URL": dsn,
		"TOLLGATE_MASTER_KEY":   g.MasterKey,
		"TOLLGATE_ADMIN_TOKEN":  g.AdminToken,
		"TOLLGATE_LOG_LEVEL":    "debug",
		"TOLLGATE_SPILL_DIR":    t.TempDir(),
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	go func() { g.done <- app.Serve(ctx, opts.Args, func(k string) string { return env[k] }, g.Logs, ln) }()
	t.Cleanup(g.Stop)

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := probe.Get(g.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case code := <-g.done:
			g.done <- code
			t.Fatalf("gateway exited with code %d before becoming ready; logs:\n%s", code, g.Logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not ready after 30s; logs:\n%s", g.Logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.Admin = tollgate.NewAdminClient(http.DefaultClient, g.URL, connect.WithInterceptors(BearerInterceptor(g.AdminToken)))
	return g
}

func isTLS(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "-tls-cert") || strings.HasPrefix(a, "--tls-cert") {
			return true
		}
	}
	return false
}

// Stop shuts the gateway down gracefully and waits for it (idempotent).
// It fails the test if the gateway exited with an error.
func (g *Gateway) Stop() {
	g.once.Do(func() {
		g.cancel()
		select {
		case code := <-g.done:
			if code != 0 {
				panic(fmt.Sprintf("gateway exited with code %d; logs:\n%s", code, g.Logs.String()))
			}
		case <-time.After(40 * time.Second):
			panic("gateway did not stop within 40s")
		}
	})
}

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
