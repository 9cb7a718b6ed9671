package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/testutil"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/money"
	"github.com/tollgate-dev/tollgate/service/app"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestCLIGovernanceAgainstGateway(t *testing.T) {
	t.Parallel()
	_, upURL := fakeupstream.StartOpenAI(t)
	gw := servertest.Start(t, servertest.Options{})
	secret := gw.Setup(t, upURL)
	const hookURL = "https://hooks.example/services/T0/B0/cli-hook-s3cr3t"
	c := cli{t: t, env: map[string]string{
		"TOLLGATE_URL": gw.Addr, "TOLLGATE_ADMIN_TOKEN": gw.AdminToken, "HOOK_URL": hookURL,
	}}

	// A budget, then its status.
	if out := c.ok("budgets", "set", "--id", "team-a-monthly", "--scope", "team", "--team", servertest.TeamID,
		"--period", "monthly", "--tz", "Europe/Paris", "--usd", "5.00"); !strings.Contains(out, "team-a-monthly") || !strings.Contains(out, "5.00") {
		t.Fatalf("budgets set printed:\n%s", out)
	}
	if out := c.ok("budgets", "list", "--team", servertest.TeamID); !strings.Contains(out, "Europe/Paris") {
		t.Fatalf("budgets list printed:\n%s", out)
	}
	out := c.ok("budgets", "status")
	for _, want := range []string{"REMAINING", "RESETS", "team-a-monthly", "team/" + servertest.TeamID, "monthly", "5.00"} {
		if !strings.Contains(out, want) {
			t.Fatalf("budgets status lacks %q:\n%s", want, out)
		}
	}
	c.ok("limits", "set", "--id", "team-a-rpm", "--scope", "team", "--team", servertest.TeamID, "--rpm", "1000")
	if out := c.ok("limits", "list"); !strings.Contains(out, "team-a-rpm") || !strings.Contains(out, "1000") {
		t.Fatalf("limits list printed:\n%s", out)
	}

	// A route, listed and served.
	c.ok("routes", "create", "--name", "smart", "--strategy", "weighted",
		"--target", servertest.ProviderID+"/"+servertest.ChatModel+":3", "--target", servertest.ChatModel+":1")
	if out := c.ok("routes", "list"); !strings.Contains(out, "smart") || !strings.Contains(out, "weighted") ||
		!strings.Contains(out, servertest.ProviderID+"/"+servertest.ChatModel+":3") {
		t.Fatalf("routes list printed:\n%s", out)
	}
	if out := c.ok("routes", "get", "smart", "--json"); !strings.Contains(out, `"ROUTE_STRATEGY_WEIGHTED"`) {
		t.Fatalf("routes get --json printed:\n%s", out)
	}

	// A webhook: the URL goes in from the environment and never comes out.
	if out := c.ok("alerts", "add", "ops", "--url-env", "HOOK_URL", "--kind", "budget-threshold"); !strings.Contains(out, "https://hooks.example") ||
		strings.Contains(out, "s3cr3t") || !strings.Contains(out, "SIGNING SECRET  whsec_") {
		t.Fatalf("alerts add printed:\n%s", out)
	}
	if out := c.ok("alerts", "list", "--json"); !strings.Contains(out, `"urlHint"`) || strings.Contains(out, "s3cr3t") {
		t.Fatalf("alerts list --json printed:\n%s", out)
	}

	// The audit log shows the writes, without the webhook URL.
	out = c.ok("audit", "list", "--since", "1h")
	for _, want := range []string{"SetBudget", "team-a-monthly", "CreateRoute", "smart", "CreateAlertWebhook", "admin-token"} {
		if !strings.Contains(out, want) {
			t.Fatalf("audit list lacks %q:\n%s", want, out)
		}
	}
	if out := c.ok("audit", "list", "--action", "CreateAlertWebhook", "--json"); !strings.Contains(out, `"ops"`) || strings.Contains(out, "s3cr3t") {
		t.Fatalf("audit list --json for the webhook printed:\n%s", out)
	}

	// A few requests, then the export streams them as CSV.
	key := tollgate.NewClient(gw.URL, secret)
	for _, model := range []string{servertest.ChatModel, "smart", "smart"} {
		if _, err := key.Chat(context.Background(), model, "hello from the export test"); err != nil {
			t.Fatalf("chat %s: %v\nlogs:\n%s", model, err, gw.Logs.String())
		}
	}
	testutil.Eventually(t, func() error {
		out := c.ok("usage", "export", "--format", "csv", "--since", "30d")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !strings.HasPrefix(lines[0], "time,request_id,key_id,team_id,") {
			t.Fatalf("usage export lacks the CSV header:\n%s", out)
		}
		if len(lines) == 4 {
			if !strings.Contains(out, ",smart,") || !strings.Contains(out, ","+servertest.TeamID+",") {
				t.Fatalf("usage export rows:\n%s", out)
			}
			return nil
		}
		return fmt.Errorf("usage export does not show 3 rows:\n%s", out)
	})
	if out := c.ok("usage", "export", "--format", "jsonl", "--team", servertest.TeamID); strings.Count(out, "\n") != 3 || !strings.Contains(out, `"requestedModel":"smart"`) {
		t.Fatalf("usage export --format jsonl printed:\n%s", out)
	}

	// The budget status shows the spend, to the nano.
	testutil.Eventually(t, func() error {
		var st struct {
			Statuses []struct {
				Spent     struct{ Nanos int64 } `json:"spent"`
				Remaining struct {
					Units string `json:"units"`
					Nanos int64  `json:"nanos"`
				} `json:"remaining"`
			} `json:"statuses"`
		}
		out := c.ok("budgets", "status", "--team", servertest.TeamID, "--json")
		if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Statuses) != 1 {
			t.Fatalf("budgets status --json = %v:\n%s", err, out)
		}
		// Remaining is the limit less spent and reserved: the gateway's
		// lease is reserved until it is given back, within a second of idle.
		if s := st.Statuses[0]; s.Spent.Nanos > 0 && s.Remaining.Units == "4" && s.Remaining.Nanos+s.Spent.Nanos == 1e9 {
			if table := c.ok("budgets", "status"); !strings.Contains(table, money.FormatNanos(s.Spent.Nanos)) {
				t.Fatalf("budgets status table after requests:\n%s", table)
			}
			return nil
		}
		return fmt.Errorf("budgets status does not show the spend with the lease given back (limit = spent + remaining):\n%s", out)
	})

	c.ok("routes", "delete", "smart", "--yes")
	c.ok("budgets", "delete", "team-a-monthly", "--yes")
	c.ok("limits", "delete", "team-a-rpm", "--yes")
	c.ok("alerts", "delete", "ops", "--yes")

	failures := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"unknown route", []string{"routes", "get", "nope"}, app.ExitNotFound, "not_found"},
		{"deleted route", []string{"routes", "delete", "smart", "--yes"}, app.ExitNotFound, "not_found"},
		{"route to an unknown provider", []string{"routes", "create", "--name", "bad", "--target", "nope/m"}, app.ExitUsage, "invalid_argument"},
		{"budget of an unknown key", []string{"budgets", "set", "--id", "kb", "--scope", "key", "--key", "key_nope", "--usd", "1"}, app.ExitNotFound, "not_found"},
		{"bad flag", []string{"budgets", "set", "--bogus"}, app.ExitUsage, "unknown flag"},
		{"bad amount", []string{"budgets", "set", "--id", "b", "--scope", "team", "--team", "t", "--usd", "five"}, app.ExitUsage, "--usd"},
		{"bad export format", []string{"usage", "export", "--format", "xml"}, app.ExitUsage, "--format"},
		{"webhook URL in a flag", []string{"alerts", "add", "ops", "--url", hookURL}, app.ExitUsage, "the webhook URL is a secret"},
	}
	for _, f := range failures {
		code, out, errOut := c.run(f.args...)
		if code != f.code || !strings.Contains(errOut, f.inStderr) || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d and %q on stderr only", f.name, code, out, errOut, f.code, f.inStderr)
		}
		if strings.Contains(errOut, "s3cr3t") {
			t.Errorf("%s: stderr repeats the webhook URL: %q", f.name, errOut)
		}
	}
}
