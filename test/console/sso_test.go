package console_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/oidctest"
)

// The people of the test identity provider, their groups, and the
// gateway's mapping of groups to roles.
var people = []oidctest.User{
	{Username: "alice", Email: "alice@example.com", Groups: []string{"platform-admins"}},
	{Username: "sam", Email: "sam@example.com", Groups: []string{"team-search-admins"}},
	{Username: "vera", Email: "vera@example.com", Groups: []string{"readers"}},
}

const roleMap = "platform-admins=admin,team-search-admins=team-admin:search,readers=viewer"

// writeControls lists the enabled controls of a page that change
// something: every button and field in the page's main part except the
// filters (what to show), exports and details.
const writeControls = `[...document.querySelectorAll("main button:not([disabled]), main input:not([disabled]):not([type=checkbox]):not([name=team]):not([type=search])")]
	.filter(e => !e.closest(".filters") && !["Export CSV", "Refresh", "Details", "Copy"].some(s => e.textContent.includes(s)))
	.map(e => e.id || e.getAttribute("aria-label") || e.textContent.trim())`

// ssoSignIn signs username in through the gateway's single sign-on in a
// new tab, with no cookies left from an earlier person: the console's
// button, the gateway's /auth/login, the identity provider (whose login
// page the test fills by naming the user), the callback, and back on the
// console.
func (b *browser) ssoSignIn(t *testing.T, username string) context.Context {
	t.Helper()
	ctx := b.tab(t)
	run(t, ctx, "open the sign-in page",
		network.ClearBrowserCookies(),
		chromedp.Navigate(b.origin+"/ui/keys"),
		chromedp.WaitVisible("#sso-login", chromedp.ByQuery),
	)
	b.screenshot(t, ctx, "30-sign-in-sso")
	// The tab leaves for the identity provider's login page (found by the
	// navigation, as its page is on another origin).
	loginPage := make(chan string, 1)
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Type == network.ResourceTypeDocument && strings.HasPrefix(e.Request.URL, b.idp+"/login?") {
			select {
			case loginPage <- e.Request.URL:
			default:
			}
		}
	})
	run(t, ctx, "single sign-on", chromedp.Click("#sso-login", chromedp.ByQuery))
	var at string
	select {
	case at = <-loginPage:
	case <-time.After(30 * time.Second):
		t.Fatal("the single sign-on button did not lead to the identity provider's login page")
	}
	// There the person says who they are.
	u, err := url.Parse(at)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("user", username)
	u.RawQuery = q.Encode()
	run(t, ctx, "log in at the identity provider",
		chromedp.Navigate(u.String()),
		chromedp.WaitVisible("#caller", chromedp.ByQuery),
	)
	var loc string
	run(t, ctx, "back on the console", chromedp.Location(&loc))
	if loc != b.origin+"/ui/keys" {
		t.Errorf("after the login the console is at %s, want the page the login started from", loc)
	}
	return ctx
}

// testSSO signs an admin in with single sign-on: the session is an
// HttpOnly cookie the page cannot read, writes carry the CSRF token, and
// sign-out ends the session at the gateway.
func testSSO(t *testing.T, b *browser, w *world) {
	ctx := b.ssoSignIn(t, "alice")
	var who, roles, cookies string
	run(t, ctx, "caller", chromedp.Text("#caller", &who, chromedp.ByQuery), chromedp.Text("#roles", &roles, chromedp.ByQuery),
		chromedp.Evaluate(`document.cookie`, &cookies))
	if !strings.Contains(who, "alice") || roles != "admin" {
		t.Errorf("signed in as %q with roles %q", who, roles)
	}
	if strings.Contains(cookies, "tollgate_session") {
		t.Error("the page can read the session cookie")
	}
	// An admin has the write controls a viewer lacks (see testViewer), and
	// a write through the page works: the CSRF token goes with it.
	open(t, ctx, b.origin, "keys", "#keys tbody tr[data-key-id]")
	var writes []string
	evalJSON(t, ctx, writeControls, &writes)
	if !slices.Contains(writes, "new-key") || len(writes) < 3 {
		t.Errorf("alice (admin) sees write controls %v: want New key, Rotate and Revoke", writes)
	}
	run(t, ctx, "create a team",
		chromedp.Navigate(b.origin+"/ui/teams"),
		chromedp.WaitVisible("#new-team", chromedp.ByQuery),
		chromedp.Click("#new-team", chromedp.ByQuery),
		chromedp.WaitVisible(`dialog[open] input[name=id]`, chromedp.ByQuery),
		chromedp.SendKeys(`dialog[open] input[name=id]`, "sso-made", chromedp.ByQuery),
		chromedp.Click(`dialog[open] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible("#team-sso-made", chromedp.ByQuery),
	)
	if _, err := w.g.Admin.GetTeam(context.Background(), connect.NewRequest(&tollgatev1.GetTeamRequest{Id: "sso-made"})); err != nil {
		t.Errorf("the team created through the SSO session: %v", err)
	}
	b.screenshot(t, ctx, "31-sso-admin")
	// Sign out ends the session: a reload shows the sign-in page.
	run(t, ctx, "sign out", chromedp.Click("#logout", chromedp.ByQuery), chromedp.WaitVisible("#sso-login", chromedp.ByQuery),
		chromedp.Reload(), chromedp.WaitVisible("#sso-login", chromedp.ByQuery))
}

// testTeamAdmin: sam administers team search only: the Spend page and the
// keys list show search alone, and keys of search can be created.
func testTeamAdmin(t *testing.T, b *browser, w *world) {
	ctx := b.ssoSignIn(t, "sam")
	var roles string
	run(t, ctx, "roles", chromedp.Text("#roles", &roles, chromedp.ByQuery))
	if roles != "team-admin:search" {
		t.Errorf("roles %q", roles)
	}
	run(t, ctx, "keys", chromedp.WaitVisible("#keys tbody tr[data-key-id]", chromedp.ByQuery))
	var teams []string
	evalJSON(t, ctx, `[...document.querySelectorAll("#keys tr[data-key-id] td:nth-child(2)")].map(c => c.firstChild.textContent.trim())`, &teams)
	if len(teams) == 0 {
		t.Fatal("sam sees no keys")
	}
	for _, tm := range teams {
		if tm != "search" {
			t.Errorf("sam sees a key of team %q", tm)
		}
	}
	b.screenshot(t, ctx, "32-team-admin-keys")
	open(t, ctx, b.origin, "spend", "#breakdown tbody tr")
	var labels []string
	evalJSON(t, ctx, `[...document.querySelectorAll("#breakdown tbody tr")].map(r => r.dataset.label)`, &labels)
	if len(labels) != 1 || labels[0] != "search" {
		t.Errorf("sam's Spend page shows teams %v, want only search", labels)
	}
	b.screenshot(t, ctx, "32-team-admin-spend")
}

// testViewer: vera reads everything and writes nothing: no write buttons,
// and a write forced from her session is refused by the API.
func testViewer(t *testing.T, b *browser, w *world) {
	ctx := b.ssoSignIn(t, "vera")
	run(t, ctx, "keys", chromedp.WaitVisible("#keys tbody tr[data-key-id]", chromedp.ByQuery))
	for _, page := range []struct{ path, wait string }{
		{"keys", "#keys tbody tr[data-key-id]"}, {"budgets", "#budget-search-monthly .bar"}, {"teams", "#team-search table"},
		{"providers", "#provider-openai-prod table"}, {"routes", "#route-smart"}, {"guardrails", "main .card"}, {"cache", "main .stats"},
	} {
		open(t, ctx, b.origin, page.path, page.wait)
		var writes []string
		evalJSON(t, ctx, writeControls, &writes)
		if len(writes) > 0 {
			t.Errorf("vera sees write controls on %s: %v", page.path, writes)
		}
		b.screenshot(t, ctx, "33-viewer-"+page.path)
	}
	// A write forced from the viewer's session (the console's own CSRF
	// token, same origin) is refused by the API.
	var status int
	run(t, ctx, "forced write", chromedp.Evaluate(`(async () => {
		const s = await (await fetch("/auth/session")).json();
		const r = await fetch("/tollgate.v1.TeamService/CreateTeam", {method: "POST",
			headers: {"Content-Type": "application/json", "X-CSRF-Token": s.csrf_token},
			body: JSON.stringify({team: {id: "forced"}})});
		return r.status;
	})()`, &status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if status != 403 {
		t.Errorf("a forced CreateTeam from the viewer's session answered %d, want 403 (permission denied)", status)
	}
	if _, err := w.g.Admin.GetTeam(context.Background(), connect.NewRequest(&tollgatev1.GetTeamRequest{Id: "forced"})); err == nil {
		t.Error("the viewer's forced write created the team")
	}
}
