package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/testutil"

	"connectrpc.com/connect"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/app"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// cli runs the tollgate command in-process against a gateway.
type cli struct {
	t   *testing.T
	env map[string]string
}

func (c cli) run(args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	code = app.Main(context.Background(), args, func(k string) string { return c.env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

// ok runs args and fails the test unless they exit 0.
func (c cli) ok(args ...string) string {
	c.t.Helper()
	code, out, errOut := c.run(args...)
	if code != app.ExitOK {
		c.t.Fatalf("tollgate %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestCLIAgainstGateway(t *testing.T) {
	t.Parallel()
	_, upURL := fakeupstream.StartOpenAI(t)
	gw := servertest.Start(t, servertest.Options{})
	c := cli{t: t, env: map[string]string{
		"TOLLGATE_URL": gw.Addr, "TOLLGATE_ADMIN_TOKEN": gw.AdminToken, "UPSTREAM_KEY": servertest.UpstreamKey,
	}}

	out := c.ok("providers", "add", "fake", "--type", "openai", "--base-url", upURL, "--credential-env", "UPSTREAM_KEY")
	if !strings.Contains(out, "fake") || !strings.Contains(out, "stored") {
		t.Fatalf("providers add printed:\n%s", out)
	}
	c.ok("models", "add", "gpt-4o-mini", "--provider", "fake", "--context-window", "128000", "--input-price", "0.15", "--output-price", "0.60")
	if out := c.ok("models", "list"); !strings.Contains(out, "gpt-4o-mini") || !strings.Contains(out, "0.15") {
		t.Fatalf("models list printed:\n%s", out)
	}
	c.ok("teams", "create", "search", "--name", "Search Platform")
	if out := c.ok("teams", "list"); !strings.Contains(out, "Search Platform") {
		t.Fatalf("teams list printed:\n%s", out)
	}

	var created struct {
		Key struct {
			ID     string `json:"id"`
			TeamID string `json:"teamId"`
		} `json:"key"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(c.ok("keys", "create", "--team", "search", "--service", "crawler", "--name", "indexer", "--json")), &created); err != nil {
		t.Fatal(err)
	}
	if created.Key.ID == "" || !strings.HasPrefix(created.Secret, "tg-") || created.Key.TeamID != "search" {
		t.Fatalf("keys create --json = %+v", created)
	}

	// The new key works.
	key := tollgate.NewClient(gw.URL, created.Secret)
	if _, err := key.Chat(context.Background(), "gpt-4o-mini", "hello from the CLI test"); err != nil {
		t.Fatalf("chat with the new key: %v\nlogs:\n%s", err, gw.Logs.String())
	}

	var listed struct {
		Keys []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(c.ok("keys", "list", "--team", "search", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed.Keys) != 1 || listed.Keys[0].ID != created.Key.ID || listed.Keys[0].State != "KEY_STATE_ACTIVE" {
		t.Fatalf("keys list --json = %+v", listed)
	}

	if out := c.ok("keys", "revoke", created.Key.ID, "--yes"); !strings.Contains(out, "revoked") {
		t.Fatalf("keys revoke printed:\n%s", out)
	}
	if _, err := key.Chat(context.Background(), "gpt-4o-mini", "after revoke"); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("chat with the revoked key: %v, want unauthenticated", err)
	}
	if out := c.ok("keys", "list", "--team", "search"); strings.Contains(out, created.Key.ID) {
		t.Fatalf("revoked key still listed without --all:\n%s", out)
	}
	if out := c.ok("keys", "list", "--all"); !strings.Contains(out, created.Key.ID) || !strings.Contains(out, "revoked") {
		t.Fatalf("keys list --all printed:\n%s", out)
	}

	// The usage report shows the chat once the record is written.
	testutil.Eventually(t, func() error {
		out := c.ok("usage", "report", "--by", "team,service", "--since", "1d")
		if strings.Contains(out, "search") && strings.Contains(out, "crawler") {
			if !strings.Contains(out, "TOTAL") {
				t.Fatalf("usage report lacks the total:\n%s", out)
			}
			return nil
		}
		return fmt.Errorf("usage report does not show the request:\n%s", out)
	})
	var summary struct {
		Total struct {
			Requests string `json:"requests"`
		} `json:"total"`
	}
	if err := json.Unmarshal([]byte(c.ok("usage", "report", "--since", "30d", "--json")), &summary); err != nil {
		t.Fatal(err)
	}
	if summary.Total.Requests == "" || summary.Total.Requests == "0" {
		t.Fatalf("usage report --json total = %+v", summary.Total)
	}

	// Failures: RPC errors exit 1 naming the code, usage errors exit 2.
	failures := []struct {
		name     string
		env      map[string]string
		args     []string
		code     int
		inStderr string
	}{
		{"unknown key", nil, []string{"keys", "revoke", "key_doesnotexist", "--yes"}, app.ExitNotFound, "not_found"},
		{"duplicate team", nil, []string{"teams", "create", "search"}, app.ExitConflict, "already_exists"},
		{"wrong token", map[string]string{"TOLLGATE_URL": gw.URL, "TOLLGATE_ADMIN_TOKEN": "wrong"}, []string{"teams", "list"}, app.ExitAuth, "unauthenticated"},
		{"gateway down", map[string]string{"TOLLGATE_URL": "http://127.0.0.1:1", "TOLLGATE_ADMIN_TOKEN": "x"}, []string{"teams", "list"}, app.ExitError, "unavailable"},
		{"missing operand", nil, []string{"teams", "delete"}, app.ExitUsage, "exactly one TEAM_ID"},
		{"unknown verb", nil, []string{"keys", "frobnicate"}, app.ExitUsage, "unknown command"},
	}
	for _, f := range failures {
		cc := c
		if f.env != nil {
			cc.env = f.env
		}
		code, out, errOut := cc.run(f.args...)
		if code != f.code || !strings.Contains(errOut, f.inStderr) || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d and %q on stderr only", f.name, code, out, errOut, f.code, f.inStderr)
		}
	}
}
