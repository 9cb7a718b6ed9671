// Package console_test drives the web console in headless Chromium
// (Debian's chromium package, through chromedp) against the real gateway
// (servertest: real Postgres, seeded traffic from a fake upstream): one
// gateway and one browser for the whole suite, one tab per test.
//
// Screenshots of every page are written to $TOLLGATE_ARTIFACTS/console,
// or kept with `go test -artifacts -outputdir DIR ./test/console`.
package console_test

import (
	"context"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/oidctest"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// promptMarker is in every seeded prompt: no page may ever show it.
const promptMarker = "PROMPT-TEXT-7f3a"

// world is what the suite seeded.
type world struct {
	g     *servertest.Gateway
	usage tollgatev1connect.UsageServiceClient
	// keys by team: the secret of one key of each team.
	keys map[string]string
	// requests is the number of seeded requests.
	requests int
}

func usd(dollars, cents int64) *money.Money {
	return &money.Money{CurrencyCode: "USD", Units: dollars, Nanos: int32(cents * 10_000_000)}
}

// seed configures providers, models, teams, keys, a weighted route and a
// budget, and sends traffic whose spend differs by team.
func seed(t *testing.T, g *servertest.Gateway, upURL string) *world {
	t.Helper()
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	must(g.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
		Provider:   &tollgatev1.Provider{Id: "openai-prod", Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, BaseUrl: upURL},
		Credential: "sk-upstream-console-test",
	})))
	for _, m := range []struct {
		name        string
		in, out     *money.Money
		contextSize int32
	}{{"gpt-4o-mini", usd(0, 15), usd(0, 60), 128000}, {"gpt-4o", usd(2, 50), usd(10, 0), 128000}} {
		must(g.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
			Name: m.name, ProviderId: "openai-prod", ContextWindow: m.contextSize,
			Pricing: &tollgatev1.ModelPricing{InputPerMillion: m.in, OutputPerMillion: m.out},
		}})))
	}
	must(g.Admin.CreateRoute(ctx, connect.NewRequest(&tollgatev1.CreateRouteRequest{Route: &tollgatev1.Route{
		Name: "smart", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_WEIGHTED,
		Targets: []*tollgatev1.RouteTarget{
			{ProviderId: "openai-prod", Model: "gpt-4o-mini", Weight: 50},
			{ProviderId: "openai-prod", Model: "gpt-4o", Weight: 50},
		},
	}})))
	w := &world{g: g, keys: map[string]string{}}
	w.usage = tollgatev1connect.NewUsageServiceClient(http.DefaultClient, g.URL, connect.WithInterceptors(servertest.BearerInterceptor(g.AdminToken)))
	for _, team := range []struct{ id, name, service string }{
		{"search", "Search platform", "indexer"}, {"chat", "Customer chat", "assistant"}, {"batch", "Batch jobs", "summarise"},
	} {
		must(g.Admin.CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: team.id, DisplayName: team.name}})))
		resp, err := g.Admin.CreateKey(ctx, connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{
			Name: team.service + "-prod", TeamId: team.id, ServiceId: team.service, Tags: map[string]string{"env": "prod"},
		}}))
		must(resp, err)
		w.keys[team.id] = resp.Msg.GetSecret()
	}
	must(g.Admin.SetBudget(ctx, connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
		Id: "search-monthly", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: "search",
		Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_MONTHLY, Limit: usd(0, 5), AlertThresholds: []int32{50, 80, 100},
	}})))

	// Spend that differs by team: search the most, batch the least.
	for _, call := range []struct {
		team, model string
		n           int
	}{{"search", "gpt-4o", 6}, {"chat", "gpt-4o-mini", 3}, {"chat", "smart", 6}, {"batch", "gpt-4o", 2}} {
		for i := range call.n {
			status := chat(t, g.URL, w.keys[call.team], call.model, fmt.Sprintf("user-%d", i%2))
			if status != http.StatusOK {
				t.Fatalf("seed: %s request with %s's key answered %d", call.model, call.team, status)
			}
			w.requests++
		}
	}
	// Records are written asynchronously: wait until all are stored.
	testutil.EventuallyWithin(t, 30*time.Second, func() error {
		r, err := w.usage.GetUsageSummary(ctx, connect.NewRequest(&tollgatev1.GetUsageSummaryRequest{
			StartTime: timestamppb.New(time.Now().Add(-time.Hour)), EndTime: timestamppb.New(time.Now().Add(time.Minute)),
		}))
		if err != nil {
			return err
		}
		if got := r.Msg.GetTotal().GetRequests(); got < int64(w.requests) {
			return fmt.Errorf("%d of %d records stored", got, w.requests)
		}
		return nil
	})
	return w
}

// chat sends one OpenAI-style chat request with a long prompt and returns
// the status.
func chat(t *testing.T, base, key, model, endUser string) int {
	t.Helper()
	prompt := strings.Repeat("Summarise the quarterly report of the platform team. ", 40) + promptMarker
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}],"max_tokens":200}`, model, prompt)
	req, err := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tollgate-End-User", endUser)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// nanos returns a Money value in nano-dollars.
func nanos(m *money.Money) int64 { return m.GetUnits()*1_000_000_000 + int64(m.GetNanos()) }

// TestConsole runs the console's browser tests on one gateway and one browser.
func TestConsole(t *testing.T) {
	_, upURL := fakeupstream.StartOpenAI(t)
	// Single sign-on through a real OpenID provider: the console's web
	// client, with the gateway's callback on the listener made here.
	op := oidctest.Start(t, people...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := servertest.Start(t, servertest.Options{Listener: ln, Config: func(c *server.Config) {
		c.Identity.OIDCIssuer = op.Issuer
		c.Identity.OIDCClientID, c.Identity.OIDCClientSecret = oidctest.WebClientID, oidctest.WebClientSecret
		c.Identity.OIDCRedirectURL = "http://" + ln.Addr().String() + "/auth/callback"
		c.Identity.OIDCRoles = roleMap
	}})
	w := seed(t, g, upURL)
	b := newBrowser(t, g.URL)
	b.idp = op.Issuer

	t.Run("FirstLoad", func(t *testing.T) { testFirstLoad(t, b) })
	t.Run("TokenLogin", func(t *testing.T) { testTokenLogin(t, b, w) })
	t.Run("SpendShares", func(t *testing.T) { testSpendShares(t, b, w) })
	t.Run("KeyLifecycle", func(t *testing.T) { testKeyLifecycle(t, b, w) })
	t.Run("RouteWeights", func(t *testing.T) { testRouteWeights(t, b, w) })
	t.Run("RequestDetail", func(t *testing.T) { testRequestDetail(t, b, w) })
	t.Run("AuditFilter", func(t *testing.T) { testAuditFilter(t, b, w) })
	t.Run("EveryPage", func(t *testing.T) { testEveryPage(t, b, w) })
	t.Run("SingleSignOn", func(t *testing.T) { testSSO(t, b, w) })
	t.Run("TeamAdmin", func(t *testing.T) { testTeamAdmin(t, b, w) })
	t.Run("Viewer", func(t *testing.T) { testViewer(t, b, w) })
	t.Run("SameOrigin", func(t *testing.T) { b.checkOrigin(t) })
}

// testFirstLoad measures the console's first load on the loopback (a cold
// tab: nothing cached) and what it transfers.
func testFirstLoad(t *testing.T, b *browser) {
	ctx := b.tab(t)
	start := time.Now()
	run(t, ctx, "first load", chromedp.Navigate(b.origin+"/ui/"), chromedp.WaitVisible("#token", chromedp.ByQuery))
	elapsed := time.Since(start)
	var perf struct {
		DOMContentLoaded float64 `json:"dcl"`
		Load             float64 `json:"load"`
		Transferred      float64 `json:"transferred"`
		Decoded          float64 `json:"decoded"`
		Files            int     `json:"files"`
	}
	evalJSON(t, ctx, `(() => {
		const nav = performance.getEntriesByType("navigation")[0];
		const res = performance.getEntriesByType("resource");
		return {dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
			transferred: nav.transferSize + res.reduce((s, r) => s + r.transferSize, 0),
			decoded: nav.decodedBodySize + res.reduce((s, r) => s + r.decodedBodySize, 0), files: res.length + 1};
	})()`, &perf)
	t.Logf("first load on the loopback: sign-in form shown after %v (DOMContentLoaded %.0f ms, load %.0f ms); %d files, %.1f KiB transferred (%.1f KiB decoded)",
		elapsed.Round(time.Millisecond), perf.DOMContentLoaded, perf.Load, perf.Files, perf.Transferred/1024, perf.Decoded/1024)
	if perf.Transferred <= 0 || perf.Transferred >= perf.Decoded {
		t.Errorf("transferred %.0f bytes for %.0f decoded: the assets are not served compressed", perf.Transferred, perf.Decoded)
	}
	b.screenshot(t, ctx, "00-sign-in")

	// A second visit takes the hashed assets from the browser's cache
	// (cached for a year) and asks the gateway only for the page.
	start = time.Now()
	run(t, ctx, "second visit", chromedp.Navigate(b.origin+"/ui/spend"), chromedp.WaitVisible("#token", chromedp.ByQuery))
	elapsed = time.Since(start)
	var fetched []string
	evalJSON(t, ctx, `performance.getEntriesByType("resource").filter(r => r.name.includes("/ui/assets/") && r.transferSize > 0).map(r => r.name)`, &fetched)
	if len(fetched) > 0 {
		t.Errorf("the second visit fetched %v again instead of using the cache", fetched)
	}
	t.Logf("second visit: sign-in form shown after %v, assets from the cache", elapsed.Round(time.Millisecond))
}

func testTokenLogin(t *testing.T, b *browser, w *world) {
	ctx := b.tab(t)
	// A wrong token is refused with a message and no session.
	run(t, ctx, "wrong token",
		chromedp.Navigate(b.origin+"/ui/"),
		chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", "not-the-admin-token", chromedp.ByQuery),
		chromedp.Click(`button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.login [role=alert]`, chromedp.ByQuery),
	)
	var msg string
	run(t, ctx, "read the refusal", chromedp.Text(`.login [role=alert]`, &msg, chromedp.ByQuery))
	if !strings.Contains(msg, "does not accept") {
		t.Errorf("refusal reads %q", msg)
	}
	b.signIn(t, ctx, w.g.AdminToken)
	var who string
	run(t, ctx, "caller", chromedp.Text("#caller", &who, chromedp.ByQuery))
	if who != "Admin token" {
		t.Errorf("signed in as %q", who)
	}
	// The session survives a reload of the tab and ends with sign-out.
	run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible("#caller", chromedp.ByQuery))
	run(t, ctx, "sign out", chromedp.Click("#logout", chromedp.ByQuery), chromedp.WaitVisible("#token", chromedp.ByQuery))
	run(t, ctx, "reload signed out", chromedp.Reload(), chromedp.WaitVisible("#token", chromedp.ByQuery))
}

// testSpendShares checks the Spend page's per-team shares against
// UsageService's own summary.
func testSpendShares(t *testing.T, b *browser, w *world) {
	ctx := b.tab(t)
	b.signIn(t, ctx, w.g.AdminToken)
	open(t, ctx, b.origin, "spend", "#breakdown tbody tr")
	r, err := w.usage.GetUsageSummary(context.Background(), connect.NewRequest(&tollgatev1.GetUsageSummaryRequest{
		StartTime: timestamppb.New(time.Now().Add(-7 * 24 * time.Hour)), EndTime: timestamppb.New(time.Now()),
		GroupBy: []tollgatev1.UsageDimension{tollgatev1.UsageDimension_USAGE_DIMENSION_TEAM},
	}))
	if err != nil {
		t.Fatal(err)
	}
	total := nanos(r.Msg.GetTotal().GetCost())
	want := map[string]string{}
	for _, grp := range r.Msg.GetGroups() {
		// The share in percent with two decimals, rounded half up, exactly.
		share := new(big.Rat).SetFrac64(nanos(grp.GetCost())*100, total)
		want[grp.GetKeys()[0]] = share.FloatString(2)
	}
	var got []struct {
		Label, Percent, Nanos string
	}
	evalJSON(t, ctx, `[...document.querySelectorAll("#breakdown tbody tr")].map(r => ({Label: r.dataset.label, Percent: r.dataset.percent, Nanos: r.dataset.costNanos}))`, &got)
	if len(got) != len(want) || len(got) != 3 {
		t.Fatalf("the page shows %d teams %v, UsageService %d %v", len(got), got, len(want), want)
	}
	var prev int64 = -1
	for _, row := range got {
		if row.Percent != want[row.Label] {
			t.Errorf("team %s: page shows %s %%, UsageService gives %s %%", row.Label, row.Percent, want[row.Label])
		}
		var c int64
		if _, err := fmt.Sscan(row.Nanos, &c); err != nil {
			t.Fatalf("cost of %s: %v", row.Label, err)
		}
		if prev >= 0 && c > prev {
			t.Errorf("rows are not sorted by cost: %v", got)
		}
		prev = c
	}
	if got[0].Label != "search" {
		t.Errorf("the most expensive team is %q, want search", got[0].Label)
	}
	// The chart is drawn and the month's figures are there.
	run(t, ctx, "chart", chromedp.WaitVisible(".chart canvas", chromedp.ByQuery), chromedp.WaitVisible("#stat-forecast .value", chromedp.ByQuery))
	b.screenshot(t, ctx, "01-spend")
	// Stacked by model, daily, over 30 days: the table follows.
	run(t, ctx, "by model", chromedp.Navigate(b.origin+"/ui/spend?by=model&range=30d"), chromedp.WaitVisible(`#breakdown tr[data-label="gpt-4o"]`, chromedp.ByQuery))
	b.screenshot(t, ctx, "01-spend-by-model")
}

func testKeyLifecycle(t *testing.T, b *browser, w *world) {
	ctx := b.tab(t)
	b.signIn(t, ctx, w.g.AdminToken)
	open(t, ctx, b.origin, "keys", "#keys tbody tr")
	run(t, ctx, "create a key",
		chromedp.Click("#new-key", chromedp.ByQuery),
		chromedp.WaitVisible(`dialog input[name=name]`, chromedp.ByQuery),
		chromedp.SendKeys(`dialog input[name=name]`, "browser-made", chromedp.ByQuery),
		// The team field starts with the first team: select it all and type over it.
		chromedp.Click(`dialog input[name=team]`, chromedp.ByQuery),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(input.ModifierCtrl)),
		chromedp.SendKeys(`dialog input[name=team]`, "chat", chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("dialog input[name=team]").value === "chat"`, nil),
		chromedp.SendKeys(`dialog input[name=service]`, "console-test", chromedp.ByQuery),
		chromedp.Click(`dialog button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible("#new-secret", chromedp.ByQuery),
	)
	var secret string
	run(t, ctx, "read the secret", chromedp.Text("#new-secret", &secret, chromedp.ByQuery))
	if !strings.HasPrefix(secret, "tg-") {
		t.Fatalf("the secret reads %q", secret)
	}
	b.screenshot(t, ctx, "02-key-secret")
	run(t, ctx, "close the secret", chromedp.Click("#secret-done", chromedp.ByQuery), chromedp.WaitVisible(`#keys tr[data-key-id]`, chromedp.ByQuery))
	// Shown once: it is nowhere in the page any more.
	var html string
	run(t, ctx, "page", chromedp.OuterHTML("html", &html, chromedp.ByQuery))
	if strings.Contains(html, secret) {
		t.Error("the secret is still in the page after the dialog closed")
	}
	if got := chat(t, b.origin, secret, "gpt-4o-mini", ""); got != http.StatusOK {
		t.Fatalf("a call with the new key answered %d", got)
	}
	// Find the key's id by its row and revoke it.
	var id string
	evalJSON(t, ctx, `[...document.querySelectorAll("#keys tr[data-key-id]")].find(r => r.textContent.includes("browser-made")).dataset.keyId`, &id)
	run(t, ctx, "revoke",
		chromedp.Click(fmt.Sprintf(`tr[data-key-id=%q] button.danger`, id), chromedp.ByQuery),
		chromedp.WaitVisible(`dialog[open] button[type=submit].danger`, chromedp.ByQuery),
		chromedp.Click(`dialog[open] button[type=submit].danger`, chromedp.ByQuery),
		chromedp.WaitNotPresent(fmt.Sprintf(`tr[data-key-id=%q]`, id), chromedp.ByQuery),
	)
	if got := chat(t, b.origin, secret, "gpt-4o-mini", ""); got != http.StatusUnauthorized {
		t.Fatalf("a call with the revoked key answered %d, want 401", got)
	}
	// Revoked, and its last use known once the call's record is written
	// (records are written asynchronously).
	testutil.EventuallyWithin(t, 30*time.Second, func() error {
		k, err := w.g.Admin.GetKey(context.Background(), connect.NewRequest(&tollgatev1.GetKeyRequest{Id: id}))
		if err != nil {
			return err
		}
		if k.Msg.GetKey().GetState() != tollgatev1.KeyState_KEY_STATE_REVOKED || k.Msg.GetKey().GetLastUsedTime() == nil {
			return fmt.Errorf("the key is %v, last used %v: want revoked, with a last use", k.Msg.GetKey().GetState(), k.Msg.GetKey().GetLastUsedTime())
		}
		return nil
	})
	// The revoked key is listed with "Show revoked keys", marked revoked.
	run(t, ctx, "show revoked",
		chromedp.Click(`input[type=checkbox]`, chromedp.ByQuery),
		chromedp.WaitVisible(fmt.Sprintf(`tr[data-key-id=%q] .pill.bad`, id), chromedp.ByQuery),
	)
	b.screenshot(t, ctx, "02-keys")
}

func testRouteWeights(t *testing.T, b *browser, w *world) {
	ctx := b.tab(t)
	b.signIn(t, ctx, w.g.AdminToken)
	open(t, ctx, b.origin, "routes", "#route-smart input[type=range]")
	// The first weight by keyboard on its slider (50 → about 80: what the
	// slider then shows is what must be saved), the second by typing into
	// its number field (→ 20).
	const slider = `#route-smart tbody tr:nth-child(1) input[type=range]`
	run(t, ctx, "first slider", chromedp.Focus(slider, chromedp.ByQuery))
	for range 30 {
		run(t, ctx, "arrow", chromedp.KeyEvent(kb.ArrowRight))
	}
	var first int32
	evalJSON(t, ctx, `Number(document.querySelector("`+slider+`").value)`, &first)
	if first <= 50 {
		t.Fatalf("the slider reads %d after 30 presses of the right arrow", first)
	}
	var shown int32
	evalJSON(t, ctx, `Number(document.querySelector("#route-smart tbody tr:nth-child(1) input.weight-number").value)`, &shown)
	if shown != first {
		t.Errorf("the slider reads %d, its number field %d", first, shown)
	}
	run(t, ctx, "second weight",
		chromedp.SetValue(`#route-smart tbody tr:nth-child(2) input.weight-number`, "", chromedp.ByQuery),
		chromedp.SendKeys(`#route-smart tbody tr:nth-child(2) input.weight-number`, "20", chromedp.ByQuery),
		chromedp.WaitEnabled("#save-smart", chromedp.ByQuery),
	)
	b.screenshot(t, ctx, "03-routes-editing")
	run(t, ctx, "save", chromedp.Click("#save-smart", chromedp.ByQuery), chromedp.WaitVisible(".toast", chromedp.ByQuery))
	testutil.EventuallyWithin(t, 10*time.Second, func() error {
		r, err := w.g.Admin.GetRoute(context.Background(), connect.NewRequest(&tollgatev1.GetRouteRequest{Name: "smart"}))
		if err != nil {
			return err
		}
		var ws []int32
		for _, tg := range r.Msg.GetRoute().GetTargets() {
			ws = append(ws, tg.GetWeight())
		}
		if len(ws) != 2 || ws[0] != first || ws[1] != 20 {
			return fmt.Errorf("weights %v, want [%d 20]", ws, first)
		}
		return nil
	})
	// The live split shows where the seeded requests went; health shows the breaker.
	run(t, ctx, "live split", chromedp.WaitVisible(`#route-smart .split span`, chromedp.ByQuery), chromedp.WaitVisible(`#route-smart .pill.ok`, chromedp.ByQuery))
	b.screenshot(t, ctx, "03-routes")
}

func testRequestDetail(t *testing.T, b *browser, w *world) {
	ctx := b.tab(t)
	b.signIn(t, ctx, w.g.AdminToken)
	open(t, ctx, b.origin, "requests", "#requests tbody tr")
	// Filter by team and model, then open the newest request.
	run(t, ctx, "filter",
		chromedp.SendKeys(`input[name=team]`, "search", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=service]`, "indexer", chromedp.ByQuery),
		chromedp.Click("#apply-filters", chromedp.ByQuery),
		// The list is replaced by the filtered one.
		chromedp.Poll(`(() => {
			const cells = [...document.querySelectorAll("#requests tbody tr td:nth-child(2)")].map(c => c.textContent.trim());
			return cells.length > 0 && cells.every(c => c === "search / indexer");
		})()`, nil),
	)
	var teams []string
	evalJSON(t, ctx, `[...document.querySelectorAll("#requests tbody tr td:nth-child(2)")].map(c => c.textContent.trim())`, &teams)
	if len(teams) != 6 {
		t.Errorf("the filtered list has %d requests, want search's 6", len(teams))
	}
	for _, tm := range teams {
		if tm != "search / indexer" {
			t.Errorf("filtered list shows %q", tm)
		}
	}
	var id string
	evalJSON(t, ctx, `document.querySelector("#requests tbody tr").dataset.requestId`, &id)
	run(t, ctx, "open the detail", chromedp.Click(`#requests tbody tr`, chromedp.ByQuery), chromedp.WaitVisible("#request-detail", chromedp.ByQuery))
	var detail string
	run(t, ctx, "read the detail", chromedp.Text("#request-detail", &detail, chromedp.ByQuery))
	for _, want := range []string{id, "Time to first token", "Attempts", "Tokens", "search", "openai-prod/gpt-4o", "no verdict"} {
		if !strings.Contains(detail, want) {
			t.Errorf("the detail lacks %q:\n%s", want, detail)
		}
	}
	rec, err := w.usage.ListRequestRecords(context.Background(), connect.NewRequest(&tollgatev1.ListRequestRecordsRequest{RequestId: id}))
	if err != nil || len(rec.Msg.GetRecords()) != 1 {
		t.Fatalf("ListRequestRecords(%s): %v, %d records", id, err, len(rec.Msg.GetRecords()))
	}
	var cost string
	run(t, ctx, "cost", chromedp.Text("#detail-cost", &cost, chromedp.ByQuery))
	if c := nanos(rec.Msg.GetRecords()[0].GetCost()); c <= 0 || !strings.HasPrefix(cost, "$0.") {
		t.Errorf("the detail shows %s for a record costing %d nano-dollars", cost, c)
	}
	b.screenshot(t, ctx, "04-request-detail")
	// The detail has its own URL.
	run(t, ctx, "deep link", chromedp.Navigate(b.origin+"/ui/requests?id="+id), chromedp.WaitVisible("#request-detail", chromedp.ByQuery))
	var html string
	run(t, ctx, "page", chromedp.OuterHTML("html", &html, chromedp.ByQuery))
	if strings.Contains(html, promptMarker) {
		t.Error("the page shows prompt text")
	}
}

func testAuditFilter(t *testing.T, b *browser, w *world) {
	ctx := b.tab(t)
	b.signIn(t, ctx, w.g.AdminToken)
	open(t, ctx, b.origin, "audit", "#audit tbody tr")
	run(t, ctx, "filter by action",
		chromedp.SendKeys(`input[name=action]`, "CreateTeam", chromedp.ByQuery),
		chromedp.Click("#apply-filters", chromedp.ByQuery),
		chromedp.WaitNotPresent(`#audit tr[data-action]:not([data-action="CreateTeam"])`, chromedp.ByQuery),
		chromedp.WaitVisible(`#audit tr[data-action="CreateTeam"]`, chromedp.ByQuery),
	)
	var actions []string
	evalJSON(t, ctx, `[...document.querySelectorAll("#audit tr[data-action]")].map(r => r.dataset.action)`, &actions)
	if len(actions) != 3 {
		t.Errorf("filtered audit log lists %v, want the 3 CreateTeam events", actions)
	}
	run(t, ctx, "details", chromedp.Click(`#audit tr[data-action] button`, chromedp.ByQuery), chromedp.WaitVisible("#audit pre.json", chromedp.ByQuery))
	var summary string
	run(t, ctx, "summary", chromedp.Text("#audit pre.json", &summary, chromedp.ByQuery))
	if !strings.Contains(summary, `"team"`) {
		t.Errorf("the event's summary reads %q", summary)
	}
	b.screenshot(t, ctx, "05-audit")
}

// testEveryPage opens every page in both themes and saves screenshots.
func testEveryPage(t *testing.T, b *browser, w *world) {
	ctx := b.tab(t)
	b.signIn(t, ctx, w.g.AdminToken)
	pages := []struct{ path, wait string }{
		{"budgets", "#budget-search-monthly .bar"},
		{"teams", "#team-search table"},
		{"providers", "#provider-openai-prod table"},
		{"guardrails", "main .card"},
		{"cache", "main .stats"},
		{"keys", "#keys tbody tr"},
		{"spend", "#breakdown tbody tr"},
	}
	for i, p := range pages {
		open(t, ctx, b.origin, p.path, p.wait)
		b.screenshot(t, ctx, fmt.Sprintf("1%d-%s", i, p.path))
	}
	// The provider page shows the live health of the served models.
	var health string
	run(t, ctx, "health", chromedp.Navigate(b.origin+"/ui/providers"), chromedp.WaitVisible(`#provider-openai-prod tr[data-model="gpt-4o"] .pill`, chromedp.ByQuery),
		chromedp.Text(`#provider-openai-prod tr[data-model="gpt-4o"]`, &health, chromedp.ByQuery))
	if !strings.Contains(health, "closed") || !strings.Contains(health, "ms") {
		t.Errorf("gpt-4o's health reads %q, want a closed breaker and a latency", health)
	}
	// Budgets: the seeded spend crossed none of the $0.05 budget's... or some; the bar matches the status.
	st, err := w.usage.GetBudgetStatus(context.Background(), connect.NewRequest(&tollgatev1.GetBudgetStatusRequest{TeamId: "search"}))
	if err != nil || len(st.Msg.GetStatuses()) != 1 {
		t.Fatalf("GetBudgetStatus: %v", err)
	}
	var now string
	run(t, ctx, "budget", chromedp.Navigate(b.origin+"/ui/budgets"), chromedp.WaitVisible("#budget-search-monthly .bar", chromedp.ByQuery),
		chromedp.AttributeValue("#budget-search-monthly .bar", "aria-valuenow", &now, nil, chromedp.ByQuery))
	s := st.Msg.GetStatuses()[0]
	if want := fmt.Sprint(min(100, (nanos(s.GetSpent())*100+nanos(s.GetBudget().GetLimit())/2)/nanos(s.GetBudget().GetLimit()))); now != want {
		t.Errorf("the budget bar is at %s %%, the status says %s %%", now, want)
	}
	// Dark theme.
	run(t, ctx, "dark", chromedp.Click(`button[aria-label="Use the dark theme"]`, chromedp.ByQuery), chromedp.WaitVisible(`html[data-theme="dark"]`, chromedp.ByQuery))
	for _, p := range []struct{ path, wait string }{{"spend", ".chart canvas"}, {"budgets", "#budget-search-monthly .bar"}, {"routes", "#route-smart"}} {
		open(t, ctx, b.origin, p.path, p.wait)
		b.screenshot(t, ctx, "20-dark-"+p.path)
	}
	// Narrow screens get the menu button instead of the side bar.
	run(t, ctx, "narrow", chromedp.EmulateViewport(390, 800), chromedp.WaitVisible(".menu-button", chromedp.ByQuery))
	b.screenshot(t, ctx, "21-narrow-spend")
	run(t, ctx, "wide again", chromedp.EmulateViewport(1366, 900))
}
