package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/oidctest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/app"
	"github.com/tollgate-dev/tollgate/service/cliconfig"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// background runs the tollgate command in a goroutine, so the test can
// play the person at the browser while it waits.
func (c cli) background(args ...string) (stderr *servertest.SyncBuffer, stdout *servertest.SyncBuffer, done chan int) {
	stderr, stdout, done = &servertest.SyncBuffer{}, &servertest.SyncBuffer{}, make(chan int, 1)
	go func() {
		done <- app.Main(context.Background(), args, func(k string) string { return c.env[k] }, stdout, stderr)
	}()
	return stderr, stdout, done
}

// waitFor polls buf until re matches and returns the first submatch.
func waitFor(t *testing.T, buf *servertest.SyncBuffer, re *regexp.Regexp, done chan int) string {
	t.Helper()
	var m []string
	err := testutil.Poll(context.Background(), 30*time.Second, func() error {
		if m = re.FindStringSubmatch(buf.String()); m != nil {
			return nil
		}
		select {
		case code := <-done:
			t.Fatalf("tollgate exited %d before printing %s:\n%s", code, re, buf.String())
		default:
		}
		return fmt.Errorf("no %s yet", re)
	})
	if err != nil {
		t.Fatalf("tollgate did not print %s: %v\n%s", re, err, buf.String())
	}
	return m[1]
}

func exitCode(t *testing.T, done chan int, stderr *servertest.SyncBuffer) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(60 * time.Second):
		t.Fatalf("tollgate did not finish:\n%s", stderr.String())
	}
	return -1
}

// TestLoginEndToEnd logs the CLI in against a real OpenID Provider, with
// the authorization code + PKCE loopback flow (the test follows the
// printed URL as the browser would) and with the device flow (the test
// approves the printed code), then uses the stored login for admin
// commands and refreshes it when it expires.
func TestLoginEndToEnd(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t,
		oidctest.User{Username: "alice", Email: "alice@example.com", Groups: []string{"platform-admins"}},
		oidctest.User{Username: "vera", Email: "vera@example.com", Groups: []string{"readers"}})
	gw := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.Identity.OIDCIssuer, c.Identity.OIDCCLIClientID = op.Issuer, oidctest.CLIClientID
		c.Identity.OIDCRoles = "platform-admins=admin,readers=viewer"
	}})
	dir := t.TempDir()
	c := cli{t: t, env: map[string]string{"TOLLGATE_CONFIG_DIR": dir}}

	// Not logged in yet: admin commands say how to get a credential.
	if code, _, errOut := c.run("teams", "list", "--addr", gw.URL); code != app.ExitAuth || !strings.Contains(errOut, "tollgate login") {
		t.Fatalf("without a login: exit %d: %s", code, errOut)
	}

	// Authorization code + PKCE with a loopback redirect.
	stderr, stdout, done := c.background("login", "--no-browser", "--server", gw.URL)
	authURL := waitFor(t, stderr, regexp.MustCompile(`(http://\S+/authorize\?\S+)`), done)
	if !strings.Contains(authURL, "code_challenge_method=S256") || !strings.Contains(authURL, "redirect_uri=http%3A%2F%2F127.0.0.1%3A") {
		t.Fatalf("authorization URL %s", authURL)
	}
	callback := op.Browse(t, authURL, "alice") // the browser, logging in as alice
	resp, err := http.Get(callback.String())   // …and following the redirect to the CLI
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code := exitCode(t, done, stderr); code != app.ExitOK {
		t.Fatalf("login exit %d:\n%s", code, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "alice@example.com") || !strings.Contains(out, "roles: admin") {
		t.Fatalf("login printed:\n%s", out)
	}
	// The login is stored per context, the tokens readable by the user only.
	cfg, err := cliconfig.Load(dir)
	if err != nil || cfg.CurrentContext != "default" || cfg.Contexts[0].Server != gw.URL || cfg.Contexts[0].OIDC.ClientID != oidctest.CLIClientID {
		t.Fatalf("config = %+v, %v", cfg, err)
	}
	info, err := os.Stat(filepath.Join(dir, "tokens", "default.json"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", info.Mode(), err)
	}
	// Admin commands use it, with no token anywhere else.
	c.ok("teams", "create", "search")
	if out := c.ok("teams", "list"); !strings.Contains(out, "search") {
		t.Fatalf("teams list printed:\n%s", out)
	}
	audit := cli{t: t, env: map[string]string{"TOLLGATE_URL": gw.Addr, "TOLLGATE_ADMIN_TOKEN": gw.AdminToken}}
	if out := audit.ok("audit", "list", "--action", "CreateTeam"); !strings.Contains(out, "user:sub-alice") {
		t.Fatalf("audit names the CLI user:\n%s", out)
	}

	// An expired login is refreshed with the refresh token.
	tok, err := cliconfig.LoadToken(dir, "default")
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("stored token has no refresh token: %+v, %v", tok, err)
	}
	old := tok.IDToken
	tok.Expiry = time.Now().Add(-time.Hour)
	if err := cliconfig.SaveToken(dir, "default", tok); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("whoami"); !strings.Contains(out, "alice@example.com") {
		t.Fatalf("whoami after expiry:\n%s", out)
	}
	tok, _ = cliconfig.LoadToken(dir, "default")
	if tok.IDToken == old || time.Until(tok.Expiry) < 10*time.Minute {
		t.Fatalf("the login was not refreshed: expiry %s", tok.Expiry)
	}

	// The device authorization grant, into a second context.
	stderr, stdout, done = c.background("login", "--device", "--context", "ops", "--server", gw.URL)
	userCode := waitFor(t, stderr, regexp.MustCompile(`code (\S+)`), done)
	if err := op.ApproveDevice(context.Background(), userCode, "vera"); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, done, stderr); code != app.ExitOK {
		t.Fatalf("device login exit %d:\n%s", code, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "vera@example.com") || !strings.Contains(out, "roles: viewer") {
		t.Fatalf("device login printed:\n%s", out)
	}
	// vera (the current context now) may read but not write.
	if code, _, errOut := c.run("teams", "create", "other"); code != app.ExitAuth || !strings.Contains(errOut, "permission_denied") {
		t.Fatalf("viewer write: exit %d: %s", code, errOut)
	}
	if out := c.ok("whoami", "--context", "default"); !strings.Contains(out, "alice@example.com") {
		t.Fatalf("whoami of the first context:\n%s", out)
	}
	c.ok("logout", "--context", "ops")
	if _, err := os.Stat(filepath.Join(dir, "tokens", "ops.json")); !os.IsNotExist(err) {
		t.Fatalf("logout kept the tokens: %v", err)
	}
}

// TestCLIPrincipalsAndSecrets runs the commands of service accounts,
// their tokens, role bindings, credential references and the master key.
func TestCLIPrincipalsAndSecrets(t *testing.T) {
	t.Parallel()
	gw := servertest.Start(t, servertest.Options{})
	c := cli{t: t, env: map[string]string{"TOLLGATE_URL": gw.Addr, "TOLLGATE_ADMIN_TOKEN": gw.AdminToken, "TOLLGATE_CONFIG_DIR": t.TempDir()}}

	if out := c.ok("service-accounts", "create", "ci", "--role", "team-admin:search", "--role", "viewer", "--description", "CI"); !strings.Contains(out, "team-admin:search,viewer") {
		t.Fatalf("create printed:\n%s", out)
	}
	out := c.ok("service-accounts", "token", "create", "ci", "--name", "nightly", "--ttl", "30d")
	secret := regexp.MustCompile(`SECRET\s+(tga-[a-z2-7]+)`).FindStringSubmatch(out)[1]
	if secret == "" || !strings.Contains(out, "shown once") {
		t.Fatalf("token create printed:\n%s", out)
	}
	tokenID := regexp.MustCompile(`sat_[a-z2-7]+`).FindString(out)
	// The token is a credential of the CLI too.
	sa := cli{t: t, env: map[string]string{"TOLLGATE_URL": gw.Addr, "TOLLGATE_ADMIN_TOKEN": secret}}
	if out := sa.ok("whoami"); !strings.Contains(out, "service-account:ci") || !strings.Contains(out, "team-admin:search") {
		t.Fatalf("whoami with the token:\n%s", out)
	}
	if code, _, errOut := sa.run("service-accounts", "list"); code != app.ExitAuth || !strings.Contains(errOut, "permission_denied") {
		t.Fatalf("a viewer lists service accounts: exit %d %s", code, errOut)
	}
	if out := c.ok("service-accounts", "token", "list", "ci"); !strings.Contains(out, tokenID) || !strings.Contains(out, "nightly") {
		t.Fatalf("token list printed:\n%s", out)
	}
	if out := c.ok("service-accounts", "token", "rotate", tokenID, "--grace", "1h"); !strings.Contains(out, "tga-") {
		t.Fatalf("token rotate printed:\n%s", out)
	}
	c.ok("service-accounts", "token", "revoke", tokenID, "--yes")
	if code, _, errOut := sa.run("whoami"); code != app.ExitAuth || !strings.Contains(errOut, "unauthenticated") {
		t.Fatalf("revoked token: exit %d %s", code, errOut)
	}
	if out := c.ok("service-accounts", "update", "ci", "--disabled=true"); !strings.Contains(out, "yes") {
		t.Fatalf("update printed:\n%s", out)
	}
	if out := c.ok("service-accounts", "list"); !strings.Contains(out, "ci") {
		t.Fatalf("list printed:\n%s", out)
	}
	c.ok("service-accounts", "delete", "ci", "--yes")

	out = c.ok("role-bindings", "create", "--group", "platform-admins", "--role", "admin")
	bindingID := regexp.MustCompile(`rb_[a-z2-7]+`).FindString(out)
	if bindingID == "" || !strings.Contains(out, "group") {
		t.Fatalf("role binding create printed:\n%s", out)
	}
	if out := c.ok("role-bindings", "list"); !strings.Contains(out, "platform-admins") {
		t.Fatalf("role-bindings list printed:\n%s", out)
	}
	c.ok("role-bindings", "delete", bindingID, "--yes")
	if code, _, errOut := c.run("role-bindings", "create", "--group", "g", "--role", "root"); code != app.ExitUsage || !strings.Contains(errOut, "unknown role") {
		t.Fatalf("bad role: exit %d %s", code, errOut)
	}

	c.env["OPENAI_KEY"] = "sk-from-the-environment"
	c.ok("providers", "add", "by-ref", "--type", "openai", "--credential-ref", "env:OPENAI_KEY")
	if out := c.ok("credentials", "list"); !strings.Contains(out, "env:OPENAI_KEY") {
		t.Fatalf("credentials list printed:\n%s", out)
	}
	if out := c.ok("credentials", "refresh", "--provider", "by-ref"); !strings.Contains(out, "by-ref") {
		t.Fatalf("credentials refresh printed:\n%s", out)
	}
	if out := c.ok("admin", "master-key-status"); !strings.Contains(out, "yes") {
		t.Fatalf("master-key-status printed:\n%s", out)
	}
	if out := c.ok("admin", "rotate-master-key"); !strings.Contains(out, "SEALING KEY") {
		t.Fatalf("rotate-master-key printed:\n%s", out)
	}
}
