package governance_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/pricing"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
	"github.com/tollgate-dev/tollgate/service/store"
)

// outcome is how one OpenAI-surface request ended.
type outcome int

const (
	served      outcome = iota // 200, and a stream that reached [DONE]
	refused                    // 429 (budget or rate limit)
	cut                        // a stream ended by an error event
	unavailable                // 503: limits could not be checked
)

// openAIChat sends one chat completion to the gateway's OpenAI surface and
// reads it to the end. It fails the test on any answer a budget must never
// cause: a 500, or an error of another kind.
func openAIChat(t *testing.T, baseURL, key string, body map[string]any) outcome {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/v1/chat/completions", strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("chat: %v", err)
		return unavailable
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusTooManyRequests:
		return refused
	case http.StatusServiceUnavailable:
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("503 without retry-after")
		}
		var e map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&e)
		t.Logf("503: %v", e) // which refusal it was, for the failure report
		return unavailable
	default:
		var e map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&e)
		t.Errorf("chat: status %d: %v", resp.StatusCode, e)
		return unavailable
	}
	if body["stream"] != true {
		return served
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		switch {
		case !ok:
		case line == "[DONE]":
			return served
		case strings.HasPrefix(line, `{"error"`):
			var e struct {
				Error struct{ Type, Code string } `json:"error"`
			}
			_ = json.Unmarshal([]byte(line), &e)
			if e.Error.Type != "insufficient_quota" && e.Error.Code != "rate_limit_exceeded" {
				t.Errorf("stream ended by %s", line)
			}
			return cut
		}
	}
	t.Errorf("stream ended without [DONE] or an error event: %v", sc.Err())
	return cut
}

// budgetStatus returns the spent and reserved nano-USD of the only budget
// key sees, through replica g.
func budgetStatus(t *testing.T, g *servertest.Gateway, key string) (spent, reserved int64) {
	t.Helper()
	usage := tollgatev1connect.NewUsageServiceClient(http.DefaultClient, g.URL, connect.WithInterceptors(servertest.BearerInterceptor(key)))
	st, err := usage.GetBudgetStatus(context.Background(), connect.NewRequest(&tollgatev1.GetBudgetStatusRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.Msg.GetStatuses()); n != 1 {
		t.Fatalf("key sees %d budgets, want 1", n)
	}
	s := st.Msg.GetStatuses()[0]
	return nanos(s.GetSpent()), nanos(s.GetReserved())
}

// waitBudgetVisible waits until every replica knows key's budget (it
// reaches them by notification).
func waitBudgetVisible(t *testing.T, gs []*servertest.Gateway, key string) {
	t.Helper()
	for _, g := range gs {
		usage := tollgatev1connect.NewUsageServiceClient(http.DefaultClient, g.URL, connect.WithInterceptors(servertest.BearerInterceptor(key)))
		testutil.EventuallyWithin(t, 10*time.Second, func() error {
			st, err := usage.GetBudgetStatus(context.Background(), connect.NewRequest(&tollgatev1.GetBudgetStatusRequest{}))
			if err != nil {
				return err
			}
			if len(st.Msg.GetStatuses()) != 1 {
				return errors.New("budget not visible yet")
			}
			return nil
		})
	}
}

// settled waits until every replica has reported its spend and given back
// its leases (they do once idle), and returns the spent nano-USD.
func settled(t *testing.T, g *servertest.Gateway, key string) int64 {
	t.Helper()
	var spent int64
	testutil.EventuallyWithin(t, 15*time.Second, func() error {
		s, r := budgetStatus(t, g, key)
		if r != 0 {
			return fmt.Errorf("%d nano-USD still leased", r)
		}
		spent = s
		return nil
	})
	return spent
}

// keyBudget creates a key of team-a with a lifetime budget of limit
// nano-USD and returns its secret.
func keyBudget(t *testing.T, g *servertest.Gateway, id string, limit int64) string {
	t.Helper()
	keyID, secret := g.CreateKey(t, servertest.TeamID)
	setBudget(t, g, &tollgatev1.Budget{Id: id, Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, KeyId: keyID,
		TeamId: servertest.TeamID, Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_LIFETIME, Limit: usd(limit)})
	return secret
}

// startReplicasOn starts n gateways on one database in front of upstream.
//
// A request whose lease is dry waits up to the budget's max wait (2s by
// default) for the store's answer and for other replicas to give room
// back; one the store did not answer in that time fails with a 503 (the
// documented choice: never a quota error it cannot prove). These tests run
// three replicas in one process beside the rest of the suite on two cores,
// where a lease call can take seconds: the replicas wait up to 10s, so
// that a 503 here means a request left undecided, not a slow machine. (At
// the end of a budget, requests whose room is held by reservations in
// flight on other replicas, themselves waiting to top up, wait out the
// max wait and are then refused: the tests take that long once.)
func startReplicasOn(t *testing.T, n int, upstream string) []*servertest.Gateway {
	t.Helper()
	patient := func(c *server.Config) { c.Governance.MaxWait = 10 * time.Second }
	gs := []*servertest.Gateway{servertest.Start(t, servertest.Options{Config: patient})}
	gs[0].Setup(t, upstream)
	for range n - 1 {
		gs = append(gs, servertest.Start(t, servertest.Options{DatabaseURL: gs[0].DatabaseURL, Config: patient}))
	}
	return gs
}

// TestBudgetBoundDenseNAndStreams hammers one budget through three
// replicas with 16 concurrent clients each, every request asking for 16
// choices of a token-dense prompt — a third unary with max_tokens, a third
// streams without max_tokens (whose output outgrows the default and tops
// up its reservation), a third streams with max_tokens — against an
// upstream that bills one token per byte and fills every choice. What the
// budget charged stays within the stated overshoot bound (0 for this mix:
// prompts within the byte bound, outputs within max_tokens or topped up
// before they are produced), and so does what the upstream billed, up to
// what cut streams produced after the gateway closed them.
func TestBudgetBoundDenseNAndStreams(t *testing.T) {
	t.Parallel()
	dense, up := startDense(t, 3000)
	gs := startReplicasOn(t, 3, up)
	const limit = 500_000_000 // $0.50
	key := keyBudget(t, gs[0], "dense-n16", limit)
	waitBudgetVisible(t, gs, key)

	prompt := strings.Repeat("x", 4000) // 4,006 tokens to the dense upstream
	var counts [4]atomic.Int64
	var wg sync.WaitGroup
	for _, g := range gs {
		for i := range 16 {
			body := map[string]any{"model": servertest.ChatModel, "n": 16,
				"messages": []map[string]any{{"role": "user", "content": prompt}}}
			switch i % 3 {
			case 0:
				body["max_tokens"] = 64
			case 1:
				body["stream"] = true // no max_tokens: 3,000 tokens per choice
			case 2:
				body["stream"], body["max_tokens"] = true, 128
			}
			wg.Go(func() {
				for misses := 0; misses < 3; {
					o := openAIChat(t, g.URL, key, body)
					counts[o].Add(1)
					if o == served || o == cut {
						misses = 0
					} else {
						misses++
					}
				}
			})
		}
	}
	wg.Wait()
	spent := settled(t, gs[0], key)
	t.Logf("3 replicas × 16 clients, n=16: served %d, refused %d, streams cut %d, unavailable %d; budget charged %d of %d nano-USD; upstream billed %d tokens in %d requests",
		counts[served].Load(), counts[refused].Load(), counts[cut].Load(), counts[unavailable].Load(), spent, limit, dense.billed.Load(), dense.requests.Load())
	if spent > limit {
		t.Errorf("charged %d nano-USD, over the limit %d by %d (stated bound: 0)", spent, limit, spent-limit)
	}
	if spent < limit/2 {
		t.Errorf("charged only %d of %d: the budget was not used", spent, limit)
	}
	if counts[cut].Load() == 0 {
		t.Errorf("no stream was cut: the test did not reach the budget with streams in flight")
	}
	if counts[unavailable].Load() != 0 {
		t.Errorf("%d requests got 503 while Postgres was up", counts[unavailable].Load())
	}
}

// TestSmallBudgetWithoutMaxTokens is the starvation case: a $5
// budget through three replicas, requests without max_tokens on a
// premium-priced model. Each reserves the default output (1,024 tokens,
// $0.41) rather than the model's maximum, idle replicas give their leases
// back, and requests are admitted until less than one reservation is left.
func TestSmallBudgetWithoutMaxTokens(t *testing.T) {
	t.Parallel()
	_, up := startDense(t, 500)
	gs := startReplicasOn(t, 3, up)
	if _, err := gs[0].Admin.CreateModel(context.Background(), connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
		Name: "premium", ProviderId: servertest.ProviderID, UpstreamModel: "premium",
		Pricing: &tollgatev1.ModelPricing{InputPerMillion: usd(100 * 1_000_000_000), OutputPerMillion: usd(400 * 1_000_000_000)},
	}})); err != nil {
		t.Fatal(err)
	}
	const limit = 5 * 1_000_000_000 // $5
	const text = "hello"
	worst := pricing.Cost(store.Pricing{InputPerMillion: 100 * 1_000_000_000, OutputPerMillion: 400 * 1_000_000_000},
		providers.Usage{OutputTokens: gateway.DefaultOutputTokens, InputTokens: gateway.PromptTokenBound(&providers.ChatRequest{
			Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{{Type: providers.PartText, Text: text}}}}})})
	body := map[string]any{"model": "premium", "messages": []map[string]any{{"role": "user", "content": text}}}
	// hammer runs clients that send requests until they are refused three
	// times while no other request is in flight: a refusal while others
	// hold reservations is legitimate (their room may come back), so the
	// client waits for them before it tries again.
	var inFlight atomic.Int64
	hammer := func(g *servertest.Gateway, key string, clients int) (servedN int64) {
		var n atomic.Int64
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for misses := 0; misses < 3; {
					others := inFlight.Add(1) - 1
					o := openAIChat(t, g.URL, key, body)
					inFlight.Add(-1)
					switch {
					case o == served:
						n.Add(1)
						misses = 0
					case o == unavailable:
						t.Errorf("503 while Postgres was up")
						return
					case others == 0 && inFlight.Load() == 0:
						misses++
					default:
						testutil.EventuallyWithin(t, 30*time.Second, func() error {
							if inFlight.Load() != 0 {
								return errors.New("requests in flight")
							}
							return nil
						})
					}
				}
			})
		}
		wg.Wait()
		return n.Load()
	}
	tests := []struct {
		name string
		run  func(key string) int64
	}{
		{"all replicas busy", func(key string) int64 {
			var total atomic.Int64
			var wg sync.WaitGroup
			for _, g := range gs {
				wg.Go(func() { total.Add(hammer(g, key, 2)) })
			}
			wg.Wait()
			return total.Load()
		}},
		{"two replicas gone idle", func(key string) int64 {
			var n int64
			for _, g := range gs[1:] { // they lease a slice each, then stop
				for range 2 {
					if openAIChat(t, g.URL, key, body) != served {
						t.Fatal("first requests refused")
					}
					n++
				}
			}
			return n + hammer(gs[0], key, 2)
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := keyBudget(t, gs[0], fmt.Sprintf("five-dollars-%d", i), limit)
			waitBudgetVisible(t, gs, key)
			n := tt.run(key)
			spent := settled(t, gs[0], key)
			t.Logf("%d requests served, $%.4f charged of $5 (one reservation: $%.4f)", n, float64(spent)/1e9, float64(worst)/1e9)
			if spent > limit {
				t.Errorf("charged %d nano-USD, over the limit %d", spent, limit)
			}
			if spent < limit-worst {
				t.Errorf("charged only $%.4f of $5: refused with more than one reservation ($%.4f) left", float64(spent)/1e9, float64(worst)/1e9)
			}
		})
	}
}
