package governance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/pricing"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
	"github.com/tollgate-dev/tollgate/service/store"
)

// binaryReplica is the real tollgate binary serving as one more replica of
// g (same database, master key and admin token), so that it can be killed.
type binaryReplica struct {
	URL string
	cmd *exec.Cmd
}

// startBinaryReplica runs cmd/tollgate's binary as `tollgate serve` as a
// replica of g with the extra flags, until it is killed or the test ends.
func startBinaryReplica(t *testing.T, g *servertest.Gateway, args ...string) *binaryReplica {
	t.Helper()
	bin := testutil.Command(t, "tollgate")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, append([]string{"serve", "-addr", addr, "-log-requests=false", "-log-level", "warn"}, args...)...)
	cmd.Env = append(os.Environ(), "TOLLGATE_DATABASE_URL="+g.DatabaseURL, "TOLLGATE_MASTER_KEY="+g.MasterKey,
		"TOLLGATE_ADMIN_TOKEN="+g.AdminToken, "TOLLGATE_SPILL_DIR="+t.TempDir())
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &binaryReplica{URL: "http://" + addr, cmd: cmd}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
		}
	})
	testutil.EventuallyWithin(t, 30*time.Second, func() error {
		resp, err := http.Get(r.URL + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s", resp.Status)
		}
		return nil
	})
	return r
}

// kill ends the replica with SIGKILL: no lease is given back.
func (r *binaryReplica) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = r.cmd.Wait()
}

// premiumModel registers a model at $100/$400 per million input/output
// tokens and returns what a request of text without max_tokens reserves.
func premiumModel(t *testing.T, g *servertest.Gateway, text string) (worst int64) {
	t.Helper()
	if _, err := g.Admin.CreateModel(context.Background(), connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
		Name: "premium", ProviderId: servertest.ProviderID, UpstreamModel: "premium",
		Pricing: &tollgatev1.ModelPricing{InputPerMillion: usd(100 * 1_000_000_000), OutputPerMillion: usd(400 * 1_000_000_000)},
	}})); err != nil {
		t.Fatal(err)
	}
	return pricing.Cost(premiumPrices, providers.Usage{OutputTokens: gateway.DefaultOutputTokens, InputTokens: gateway.PromptTokenBound(
		&providers.ChatRequest{Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{{Type: providers.PartText, Text: text}}}}})})
}

var premiumPrices = store.Pricing{InputPerMillion: 100 * 1_000_000_000, OutputPerMillion: 400 * 1_000_000_000}

// TestLongKilledReplicaLeaseIsNotSpend kills (SIGKILL) a replica while it
// holds a lease of a lifetime budget for requests in flight. Before, the
// dead replica's lease became "spent" when it expired and the budget was
// refused for ever; now spend is what replicas reported (the settled
// actuals), the lease goes back to the pool when it expires, and the other
// replica spends the budget to within one reservation.
func TestLongKilledReplicaLeaseIsNotSpend(t *testing.T) {
	testutil.Long(t)
	t.Parallel()
	_, up := startDense(t, 500)
	b := servertest.Start(t, servertest.Options{})
	b.Setup(t, up)
	worst := premiumModel(t, b, "hello")
	const limit = 5 * 1_000_000_000 // $5, lifetime
	key := keyBudget(t, b, "killed-replica", limit)
	// The runway sets the lease lifetime: max(5s, 4 sync intervals, runway + 2 intervals).
	a := startBinaryReplica(t, b, "-budget-outage-runway=1s")
	aGW := &servertest.Gateway{URL: a.URL}
	waitBudgetVisible(t, []*servertest.Gateway{aGW, b}, key)

	// Spend through A, and wait until A has reported it.
	body := map[string]any{"model": "premium", "messages": []map[string]any{{"role": "user", "content": "hello"}}}
	const served3 = 3
	for range served3 {
		if o := openAIChat(t, a.URL, key, body); o != served {
			t.Fatalf("request through A: outcome %d", o)
		}
	}
	// The dense upstream bills 3 + (3 + 5) prompt tokens and 500 output tokens.
	charged := served3 * pricing.Cost(premiumPrices, providers.Usage{InputTokens: 11, OutputTokens: 500})
	testutil.EventuallyWithin(t, 10*time.Second, func() error {
		if s, _ := budgetStatus(t, b, key); s != charged {
			return fmt.Errorf("spent %d, want %d", s, charged)
		}
		return nil
	})

	// Requests A holds in flight (the upstream answers them only when A
	// is gone): A's lease covers them.
	const held = 4
	slow := map[string]any{"model": "premium", "messages": []map[string]any{{"role": "user", "content": "[slow] hold on"}}}
	var wg sync.WaitGroup
	defer wg.Wait()
	for range held {
		wg.Go(func() {
			b, _ := jsonBody(slow)
			req, _ := http.NewRequest(http.MethodPost, a.URL+"/v1/chat/completions", b)
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close() // A dies first: no answer expected
			}
		})
	}
	testutil.EventuallyWithin(t, 10*time.Second, func() error {
		if _, r := budgetStatus(t, b, key); r < held*worst {
			return fmt.Errorf("reserved %d, want at least %d", r, held*worst)
		}
		return nil
	})
	a.kill(t)
	spent, reserved := budgetStatus(t, b, key)
	t.Logf("killed A holding a lease of $%.4f; spent $%.4f", float64(reserved)/1e9, float64(spent)/1e9)
	if spent != charged {
		t.Fatalf("spent %d right after the kill, want %d", spent, charged)
	}
	// The lease expires within its lifetime (5s) and goes back to the pool.
	testutil.EventuallyWithin(t, 20*time.Second, func() error {
		s, r := budgetStatus(t, b, key)
		if s != charged {
			return fmt.Errorf("spent %d, want %d: the dead lease counted as spend", s, charged)
		}
		if r != 0 {
			return fmt.Errorf("%d still leased", r)
		}
		return nil
	})

	// B spends the rest, to within one reservation.
	var n atomic.Int64
	for misses := 0; misses < 3; {
		if openAIChat(t, b.URL, key, body) == served {
			n.Add(1)
			misses = 0
		} else {
			misses++
		}
	}
	total := settled(t, b, key)
	t.Logf("after the lease expired, B served %d more: $%.4f of $5 spent (one reservation: $%.4f)", n.Load(), float64(total)/1e9, float64(worst)/1e9)
	if total > limit || total < limit-worst {
		t.Errorf("spent %d of %d: want within one reservation (%d) under the limit", total, limit, worst)
	}
}

// TestLongBudgetedTrafficThroughPostgresOutage stops Postgres for ten
// seconds under budgeted traffic (key and team budgets, a team rate limit)
// on two replicas: A with the default outage runway (15s) serves every
// request throughout from its leases; B, with a 2s runway, fails closed
// with 503 limits_unavailable and retry-after once its runway is over, and serves
// again when Postgres is back. Neither ever answers 500. Postgres is a
// private cluster, so other tests run on meanwhile.
func TestLongBudgetedTrafficThroughPostgresOutage(t *testing.T) {
	testutil.Long(t)
	t.Parallel()
	cluster := pgtest.PrivateCluster(t) // stopped below: not the shared server
	_, up := fakeupstream.StartOpenAI(t)
	// Keys are trusted for -config-max-staleness without Postgres (3s by
	// default), so a replica serves through an outage for the shorter of
	// that bound and its outage runway: both are raised past the outage.
	stale := func(c *server.Config) { c.ConfigMaxStaleness = 30 * time.Second }
	a := servertest.Start(t, servertest.Options{DatabaseURL: cluster.NewMigratedDatabase(t), Config: stale})
	keyID, key := func() (string, string) { a.Setup(t, up); return a.CreateKey(t, servertest.TeamID) }()
	b := servertest.Start(t, servertest.Options{DatabaseURL: a.DatabaseURL, Config: func(c *server.Config) {
		stale(c)
		c.Governance.OutageRunway = 2 * time.Second
	}})
	ctx := context.Background()
	setBudget(t, a, &tollgatev1.Budget{Id: "outage-key", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, KeyId: keyID,
		TeamId: servertest.TeamID, Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY, Limit: usd(1000 * 1_000_000_000)})
	setBudget(t, a, &tollgatev1.Budget{Id: "outage-team", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM,
		TeamId: servertest.TeamID, Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_MONTHLY, Limit: usd(1000 * 1_000_000_000)})
	if _, err := a.Admin.SetRateLimit(ctx, connect.NewRequest(&tollgatev1.SetRateLimitRequest{RateLimit: &tollgatev1.RateLimit{
		Id: "outage-rate", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: servertest.TeamID,
		RequestsPerMinute: 1_000_000, TokensPerMinute: 1_000_000_000}})); err != nil {
		t.Fatal(err)
	}
	usage := func(g *servertest.Gateway) tollgatev1connect.UsageServiceClient {
		return tollgatev1connect.NewUsageServiceClient(http.DefaultClient, g.URL, connect.WithInterceptors(servertest.BearerInterceptor(key)))
	}
	for _, g := range []*servertest.Gateway{a, b} {
		testutil.EventuallyWithin(t, 10*time.Second, func() error {
			st, err := usage(g).GetBudgetStatus(ctx, connect.NewRequest(&tollgatev1.GetBudgetStatusRequest{}))
			if err != nil || len(st.Msg.GetStatuses()) != 2 {
				return fmt.Errorf("budgets not visible yet: %v", err)
			}
			return nil
		})
	}

	// Clients send requests to both replicas until told to stop.
	type result struct {
		at     time.Time
		status int
		code   string
	}
	var mu sync.Mutex
	results := map[*servertest.Gateway][]result{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	body := `{"model":"` + servertest.ChatModel + `","max_tokens":16,"messages":[{"role":"user","content":"through the outage"}]}`
	for _, g := range []*servertest.Gateway{a, b} {
		for range 2 {
			wg.Go(func() {
				client := &http.Client{Timeout: 30 * time.Second}
				for {
					select {
					case <-stop:
						return
					default:
					}
					req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+key)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						t.Errorf("request: %v", err)
						return
					}
					var e struct {
						Error struct{ Code string } `json:"error"`
					}
					_ = jsonDecode(resp, &e)
					if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
						t.Errorf("503 without retry-after")
					}
					mu.Lock()
					results[g] = append(results[g], result{time.Now(), resp.StatusCode, e.Error.Code})
					mu.Unlock()
					time.Sleep(5 * time.Millisecond) // simulated client think time
				}
			})
		}
	}
	count := func(g *servertest.Gateway, from time.Time, ok func(result) bool) (n, all int) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range results[g] {
			if r.at.After(from) {
				all++
				if ok(r) {
					n++
				}
			}
		}
		return n, all
	}
	isOK := func(r result) bool { return r.status == http.StatusOK }
	start := time.Now()
	testutil.EventuallyWithin(t, 10*time.Second, func() error {
		for _, g := range []*servertest.Gateway{a, b} {
			if n, _ := count(g, start, isOK); n < 20 {
				return errors.New("warming up")
			}
		}
		return nil
	})

	if err := cluster.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	restarted := false
	defer func() {
		if !restarted {
			_ = cluster.Start(ctx)
		}
	}()
	time.Sleep(10 * time.Second) // the outage's length is the point of the test
	if err := cluster.Start(ctx); err != nil {
		t.Fatal(err)
	}
	restarted, up2 := true, time.Now()
	// B serves again once its lease calls succeed.
	testutil.EventuallyWithin(t, 20*time.Second, func() error {
		if n, _ := count(b, up2, isOK); n < 20 {
			return errors.New("B not serving yet")
		}
		return nil
	})
	close(stop)
	wg.Wait()

	okA, allA := count(a, down, isOK)
	okB, allB := count(b, down.Add(3*time.Second), isOK)
	closed, _ := count(b, down, func(r result) bool {
		return r.status == http.StatusServiceUnavailable && r.code == "limits_unavailable"
	})
	t.Logf("outage of %v: A served %d of %d requests; B served %d of %d after its 2s runway, %d got 503 limits_unavailable",
		up2.Sub(down).Round(time.Millisecond), okA, allA, okB, allB, closed)
	for _, g := range []*servertest.Gateway{a, b} {
		if bad, _ := count(g, start, func(r result) bool { return r.status != http.StatusOK && r.status != http.StatusServiceUnavailable }); bad > 0 {
			t.Errorf("%d answers other than 200 and 503 (a 500 is never acceptable)", bad)
		}
	}
	if okA != allA {
		t.Errorf("A (15s runway) failed %d of %d requests during and after the outage", allA-okA, allA)
	}
	if closed == 0 {
		t.Errorf("B (2s runway) never failed closed during a 10s outage")
	}
}

func jsonBody(v any) (io.Reader, error) {
	b, err := json.Marshal(v)
	return bytes.NewReader(b), err
}

// jsonDecode decodes resp's body into v and closes it.
func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
