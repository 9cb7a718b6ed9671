package identity_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/oidctest"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
	"github.com/tollgate-dev/tollgate/service/weblogin"
)

// headers adds fixed headers to every call of a client.
type headers map[string]string

func (h headers) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestConsoleLogin runs the console's login building blocks: the
// authorization code flow with PKCE through the browser (played by the
// test), a sealed HttpOnly SameSite=Strict session cookie, API calls with
// the cookie and its CSRF token, refusals without the token, from another
// origin or with a tampered cookie, and logout.
func TestConsoleLogin(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, people...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	g := servertest.Start(t, servertest.Options{Listener: ln, Config: func(c *server.Config) {
		c.Identity.OIDCIssuer, c.Identity.OIDCClientID = op.Issuer, oidctest.WebClientID
		c.Identity.OIDCClientSecret, c.Identity.OIDCRedirectURL = oidctest.WebClientSecret, base+"/auth/callback"
		c.Identity.OIDCRoles = roleMap
	}})
	ctx := context.Background()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// 1. The console sends the person to /auth/login.
	resp, err := browser.Get(base + "/auth/login?return_to=/ui/spend")
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("login: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	authURL := resp.Header.Get("Location")
	if !strings.HasPrefix(authURL, op.Issuer) || !strings.Contains(authURL, "code_challenge_method=S256") {
		t.Fatalf("login redirects to %s", authURL)
	}
	// 2. The identity provider logs alice in and redirects back.
	callback := op.Browse(t, authURL, "alice")
	resp, err = browser.Get(callback.String())
	if err != nil || resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/spend" {
		t.Fatalf("callback: %v %v → %s", resp.Status, err, resp.Header.Get("Location"))
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == weblogin.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || cookie.MaxAge <= 0 {
		t.Fatalf("session cookie = %+v", cookie)
	}
	if strings.Contains(cookie.Value, "alice") || strings.Count(cookie.Value, ".") == 2 {
		t.Fatal("the session cookie is readable (not sealed) or a bare JWT")
	}
	// A replayed callback (state used, login cookie gone) is refused.
	resp, _ = browser.Get(callback.String())
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback: %s", resp.Status)
	}
	resp.Body.Close()

	// 3. The console reads who is logged in and the CSRF token.
	resp, err = browser.Get(base + "/auth/session")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("session: %v %v", resp.Status, err)
	}
	var sess struct {
		Email string   `json:"email"`
		Roles []string `json:"roles"`
		CSRF  string   `json:"csrf_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&sess); err != nil || sess.Email != "alice@example.com" || sess.CSRF == "" ||
		len(sess.Roles) != 1 || sess.Roles[0] != "admin" {
		t.Fatalf("session = %+v, %v", sess, err)
	}
	resp.Body.Close()

	// 4. API calls with the cookie need the CSRF token and this origin.
	withCookie := func(h headers) *http.Client {
		h["Cookie"] = weblogin.SessionCookie + "=" + cookie.Value
		return &http.Client{Transport: h}
	}
	teams := func(c *http.Client) error {
		_, err := tollgatev1connect.NewTeamServiceClient(c, g.URL).ListTeams(ctx, connect.NewRequest(&tollgatev1.ListTeamsRequest{}))
		return err
	}
	if err := teams(withCookie(headers{weblogin.CSRFHeader: sess.CSRF, "Origin": base})); err != nil {
		t.Fatalf("call with the session: %v", err)
	}
	_, err = tollgatev1connect.NewTeamServiceClient(withCookie(headers{weblogin.CSRFHeader: sess.CSRF}), g.URL).
		CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: "from-console"}}))
	if err != nil {
		t.Fatalf("write with the session: %v", err)
	}
	wantCode(t, "no CSRF token", teams(withCookie(headers{})), connect.CodeUnauthenticated)
	wantCode(t, "wrong CSRF token", teams(withCookie(headers{weblogin.CSRFHeader: "guess"})), connect.CodeUnauthenticated)
	wantCode(t, "other origin", teams(withCookie(headers{weblogin.CSRFHeader: sess.CSRF, "Origin": "https://evil.example"})), connect.CodeUnauthenticated)
	tampered := []byte(cookie.Value)
	tampered[len(tampered)/2] ^= 1
	wantCode(t, "tampered cookie", teams(&http.Client{Transport: headers{"Cookie": weblogin.SessionCookie + "=" + string(tampered),
		weblogin.CSRFHeader: sess.CSRF}}), connect.CodeUnauthenticated)
	// The audit log names the person and the session.
	evs := must[*connect.Response[tollgatev1.ListAdminAuditEventsResponse]](t, "audit")(usageAs(g, g.AdminToken).ListAdminAuditEvents(ctx, connect.NewRequest(&tollgatev1.ListAdminAuditEventsRequest{ResourceId: "from-console"}))).Msg.GetEvents()
	if len(evs) != 1 || evs[0].GetActor() != "user:sub-alice" || !strings.HasPrefix(evs[0].GetActorDetail().GetTokenId(), "session:") {
		t.Fatalf("audit = %v", evs)
	}

	// 5. Logout needs the CSRF token too, and ends the session in the browser.
	req, _ := http.NewRequest(http.MethodPost, base+"/auth/logout", nil)
	resp, _ = browser.Do(req)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without CSRF: %s", resp.Status)
	}
	resp.Body.Close()
	req.Header.Set(weblogin.CSRFHeader, sess.CSRF)
	resp, _ = browser.Do(req)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %s", resp.Status)
	}
	resp.Body.Close()
	u, _ := url.Parse(base)
	for _, c := range jar.Cookies(u) {
		if c.Name == weblogin.SessionCookie {
			t.Fatal("the session cookie survived logout")
		}
	}
	// An open redirect through return_to is not possible.
	resp, _ = browser.Get(base + "/auth/login?return_to=//evil.example/x")
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	callback = op.Browse(t, loc.String(), "alice")
	resp, _ = browser.Get(callback.String())
	resp.Body.Close()
	if resp.Header.Get("Location") != "/" {
		t.Fatalf("return_to to another site redirected to %s", resp.Header.Get("Location"))
	}
}
