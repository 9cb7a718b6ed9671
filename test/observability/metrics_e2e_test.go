package observability_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// Per-token prices in nano-USD: gpt-4o-mini $0.15/$0.60 per million
// tokens, gpt-4o $2.50/$10.
const (
	miniIn, miniOut = 150, 600
	bigIn, bigOut   = 2500, 10000
)

// mixFixture is a gateway with two upstreams (p1, p2), two teams (alpha,
// beta) and three models: gpt-4o-mini and gpt-4o on p1, and the route
// "resilient" that falls back from p1's gpt-4o to p2's.
type mixFixture struct {
	g        *servertest.Gateway
	up1, up2 *fakeupstream.OpenAI
	keyA     string // team alpha
	keyB     string // team beta
	keyGuard string // team alpha, a guardrail blocking e-mail addresses
	keyPoor  string // team beta, a key budget of 1 token
}

func newMix(t *testing.T, cfg func(*server.Config)) *mixFixture {
	t.Helper()
	up1, url1 := fakeupstream.StartOpenAI(t)
	up2, url2 := fakeupstream.StartOpenAI(t)
	g := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.Cache.Mode = "exact"
		c.LogSampleSuccess = 1
		if cfg != nil {
			cfg(c)
		}
	}})
	ctx := context.Background()
	provider(t, g, "p1", url1)
	provider(t, g, "p2", url2)
	big := func(units int64) *money.Money { return &money.Money{CurrencyCode: "USD", Units: units, Nanos: 0} }
	chatModel(t, g, "gpt-4o-mini", "p1", usd(150_000_000), usd(600_000_000))
	chatModel(t, g, "gpt-4o", "p1", &money.Money{CurrencyCode: "USD", Units: 2, Nanos: 500_000_000}, big(10))
	must(t)(g.Admin.CreateRoute(ctx, connect.NewRequest(&tollgatev1.CreateRouteRequest{Route: &tollgatev1.Route{
		Name: "resilient", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
		Targets: []*tollgatev1.RouteTarget{
			{ProviderId: "p1", Model: "gpt-4o", InputPerMillion: &money.Money{CurrencyCode: "USD", Units: 2, Nanos: 500_000_000}, OutputPerMillion: big(10)},
			{ProviderId: "p2", Model: "gpt-4o", InputPerMillion: &money.Money{CurrencyCode: "USD", Units: 2, Nanos: 500_000_000}, OutputPerMillion: big(10)},
		}}})))
	team(t, g, "alpha")
	team(t, g, "beta")
	f := &mixFixture{g: g, up1: up1, up2: up2}
	_, f.keyA = g.CreateKey(t, "alpha")
	_, f.keyB = g.CreateKey(t, "beta")
	guardID, keyGuard := g.CreateKey(t, "alpha")
	f.keyGuard = keyGuard
	must(t)(g.Admin.CreateGuardrailPolicy(ctx, connect.NewRequest(&tollgatev1.CreateGuardrailPolicyRequest{
		Policy: &tollgatev1.GuardrailPolicy{Id: "no-pii", AttachKind: tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_KEY, AttachTo: guardID,
			Guardrails: []*tollgatev1.Guardrail{piiBlock(t)}}})))
	must(t)(g.Admin.SetBudget(ctx, connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
		Id: "alpha-daily", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: "alpha",
		Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY, Limit: big(5)}})))
	poorID, keyPoor := g.CreateKey(t, "beta")
	f.keyPoor = keyPoor
	must(t)(g.Admin.SetBudget(ctx, connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
		Id: "poor", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, KeyId: poorID, TeamId: "beta",
		Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY, LimitTokens: 1}})))
	return f
}

// want accumulates what the metrics must say per team and model.
type want struct {
	requests          map[[5]string]float64 // team, model, provider, outcome, cache
	in, out, costNano map[[2]string]float64 // team, model
}

func newWant() *want {
	return &want{requests: map[[5]string]float64{}, in: map[[2]string]float64{}, out: map[[2]string]float64{}, costNano: map[[2]string]float64{}}
}

func (w *want) served(t *testing.T, a answer, team, model, provider string, pin, pout int64) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("%s/%s: status %d: %s", team, model, a.status, a.body)
	}
	cache := a.header.Get("X-Tollgate-Cache")
	if cache == "hit-exact" {
		w.requests[[5]string{team, model, "cache", "ok", cache}]++
		return // a hit uses no upstream tokens and costs nothing
	}
	w.requests[[5]string{team, model, provider, "ok", cache}]++
	k := [2]string{team, model}
	w.in[k] += float64(a.prompt)
	w.out[k] += float64(a.compl)
	w.costNano[k] += float64(a.prompt*pin + a.compl*pout)
}

// TestMetricsAfterScriptedMix: after two teams' requests to three models
// (a cache hit, a guardrail block, a budget refusal and an upstream 503
// that falls back to another provider among them), /metrics holds the
// exact request, token and cost counts per team and model.
func TestMetricsAfterScriptedMix(t *testing.T) {
	t.Parallel()
	f := newMix(t, nil)
	g := f.g
	w := newWant()
	n := 0
	prompt := func() string { n++; return fmt.Sprintf("question number %d about the weather", n) }

	// Team alpha: two gpt-4o-mini, one gpt-4o.
	for range 2 {
		w.served(t, chat(t, g, f.keyA, "gpt-4o-mini", prompt(), nil), "alpha", "gpt-4o-mini", "p1", miniIn, miniOut)
	}
	w.served(t, chat(t, g, f.keyA, "gpt-4o", prompt(), nil), "alpha", "gpt-4o", "p1", bigIn, bigOut)
	// Team beta: one gpt-4o-mini, one through the route whose first
	// target answers 503: served by p2.
	w.served(t, chat(t, g, f.keyB, "gpt-4o-mini", prompt(), nil), "beta", "gpt-4o-mini", "p1", miniIn, miniOut)
	f.up1.Enqueue(fakeupstream.StatusFault(http.StatusServiceUnavailable))
	fb := chat(t, g, f.keyB, "resilient", prompt(), nil)
	w.served(t, fb, "beta", "resilient", "p2", bigIn, bigOut)
	if len(f.up2.Requests()) != 1 {
		t.Fatalf("p2 received %d requests, want the fallback", len(f.up2.Requests()))
	}
	// A cache hit: the same question again until the asynchronous cache
	// write has landed; every answer is counted as it came.
	same := prompt()
	testutil.Eventually(t, func() error {
		a := chat(t, g, f.keyA, "gpt-4o-mini", same, nil)
		w.served(t, a, "alpha", "gpt-4o-mini", "p1", miniIn, miniOut)
		if a.header.Get("X-Tollgate-Cache") != "hit-exact" {
			return errors.New("no cache hit yet")
		}
		return nil
	})
	// A guardrail block (team alpha) and a budget refusal (team beta).
	if a := chat(t, g, f.keyGuard, "gpt-4o-mini", "mail me at alice.smith@example.com", nil); a.status != http.StatusBadRequest && a.status != http.StatusForbidden {
		t.Fatalf("guardrail: status %d: %s", a.status, a.body)
	}
	w.requests[[5]string{"alpha", "gpt-4o-mini", "", "guardrail_blocked", ""}]++
	if a := chat(t, g, f.keyPoor, "gpt-4o", prompt(), nil); a.status != http.StatusTooManyRequests {
		t.Fatalf("budget: status %d: %s", a.status, a.body)
	}
	w.requests[[5]string{"beta", "gpt-4o", "", "budget_exceeded", ""}]++

	fams := scrape(t, g)
	t.Logf("expected requests %v; cost %v", w.requests, w.costNano)
	total := 0.0
	for k, v := range w.requests {
		labels := map[string]string{"surface": "openai", "operation": "chat", "team": k[0], "model": k[1], "provider": k[2], "outcome": k[3], "cache": k[4]}
		if got := sum(fams, "tollgate_requests_total", labels); got != v {
			t.Errorf("tollgate_requests_total%v = %v, want %v", labels, got, v)
		}
		total += v
	}
	if got := sum(fams, "tollgate_requests_total", nil); got != total {
		t.Errorf("tollgate_requests_total (all) = %v, want %v", got, total)
	}
	for _, k := range [][2]string{{"alpha", "gpt-4o-mini"}, {"alpha", "gpt-4o"}, {"beta", "gpt-4o-mini"}, {"beta", "resilient"}} {
		labels := map[string]string{"team": k[0], "model": k[1]}
		if w.in[k] == 0 || w.out[k] == 0 {
			t.Fatalf("%v: the fake reported no usage", k)
		}
		for typ, v := range map[string]float64{"input": w.in[k], "output": w.out[k]} {
			if got := sum(fams, "tollgate_tokens_total", with(labels, "type", typ)); got != v {
				t.Errorf("tollgate_tokens_total%v type=%s = %v, want %v", labels, typ, got, v)
			}
		}
		if got := sum(fams, "tollgate_cost_nanousd_total", labels); got != w.costNano[k] {
			t.Errorf("tollgate_cost_nanousd_total%v = %v, want %v", labels, got, w.costNano[k])
		}
		if got := sum(fams, "tollgate_cost_usd_total", labels); math.Abs(got-w.costNano[k]/1e9) > 1e-15 {
			t.Errorf("tollgate_cost_usd_total%v = %v, want %v", labels, got, w.costNano[k]/1e9)
		}
	}
	// Team totals and the other families.
	for _, tm := range []string{"alpha", "beta"} {
		var cost float64
		for k, v := range w.costNano {
			if k[0] == tm {
				cost += v
			}
		}
		if got := sum(fams, "tollgate_cost_nanousd_total", map[string]string{"team": tm}); got != cost {
			t.Errorf("team %s spend = %v nano-USD, want %v", tm, got, cost)
		}
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"tollgate_upstream_errors_total", map[string]string{"provider": "p1"}, 1},
		{"tollgate_upstream_errors_total", map[string]string{"provider": "p2"}, 0},
		{"tollgate_cache_lookups_total", map[string]string{"team": "alpha", "result": "hit-exact"}, 1},
		{"tollgate_limit_rejections_total", map[string]string{"team": "beta", "reason": "budget_exceeded"}, 1},
		{"tollgate_guardrail_verdicts_total", map[string]string{"policy": "no-pii", "stage": "input", "action": "block"}, 1},
		{"gen_ai_server_request_duration_seconds", map[string]string{"gen_ai_request_model": "resilient", "gen_ai_provider_name": "p2", "error_type": ""}, 1},
		{"gen_ai_client_token_usage", map[string]string{"gen_ai_request_model": "gpt-4o", "gen_ai_token_type": "input"}, 1},
		{"tollgate_build_info", nil, 1},
	}
	for _, c := range checks {
		if got := sum(fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// The team budget's gauges: its limit, and alpha's spend once reported.
	var alphaSpend float64
	for k, v := range w.costNano {
		if k[0] == "alpha" {
			alphaSpend += v
		}
	}
	if got := sum(fams, "tollgate_budget_limit_usd", map[string]string{"budget": "alpha-daily", "team": "alpha", "scope": "team"}); got != 5 {
		t.Errorf("tollgate_budget_limit_usd = %v, want 5", got)
	}
	testutil.Eventually(t, func() error {
		got := sum(scrape(t, g), "tollgate_budget_spent_usd", map[string]string{"budget": "alpha-daily"})
		if math.Abs(got-alphaSpend/1e9) > 1e-12 {
			return fmt.Errorf("tollgate_budget_spent_usd = %v, want %v", got, alphaSpend/1e9)
		}
		return nil
	})
	if got := sum(fams, "tollgate_cache_saved_usd_total", map[string]string{"team": "alpha", "model": "gpt-4o-mini"}); got <= 0 {
		t.Errorf("tollgate_cache_saved_usd_total = %v, want the hit's original cost", got)
	}
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range m {
		out[a] = b
	}
	return out
}
