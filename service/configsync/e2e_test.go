package configsync_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/app"
	"github.com/tollgate-dev/tollgate/service/configfile"
	"github.com/tollgate-dev/tollgate/service/configsync"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// exampleDir is the configuration shipped as the example.
const exampleDir = "../../deploy/examples/config"

// fixture is the example configuration pointed at fake upstreams, with
// its credentials, the alert URL and the keys' secrets in files of the test.
type fixture struct {
	dir     string // where the test's configuration file is written
	secrets string // where key secrets are delivered
	cfg     *configfile.Config
	hosted  *fakeupstream.OpenAI // provider "openai"
	local   *fakeupstream.OpenAI // provider "local"
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), secrets: t.TempDir()}
	var hostedURL, localURL string
	f.hosted, hostedURL = fakeupstream.StartOpenAI(t)
	f.local, localURL = fakeupstream.StartOpenAI(t)
	l, err := configfile.Load(exampleDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := configfile.Validate(l); err != nil {
		t.Fatalf("the shipped example is invalid: %v", err)
	}
	f.cfg = &l.Config
	creds := t.TempDir()
	writeFile := func(name, content string) string {
		p := filepath.Join(creds, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for i := range f.cfg.Providers {
		p := &f.cfg.Providers[i]
		p.Credential = "file:" + writeFile(p.ID, "sk-"+p.ID+"-upstream")
		switch p.ID {
		case "openai", "anthropic":
			p.BaseURL = hostedURL // anthropic's models are never called here
		case "local":
			p.BaseURL = localURL
		}
	}
	// The test steers by weights: everything to the hosted model first.
	f.route("chat").Targets[0].Weight, f.route("chat").Targets[1].Weight = 100, 0
	f.route("chat").Cache = &configfile.CachePolicy{Mode: "off"}
	for i := range f.cfg.Keys {
		k := &f.cfg.Keys[i]
		k.SecretTo = "file:" + filepath.Join(f.secrets, k.Team+"-"+k.Name)
	}
	f.cfg.Alerts[0].URL = "file:" + writeFile("alert-url", "https://hooks.example.com/services/T000/B000/XXXX")
	f.write(t)
	return f
}

func (f *fixture) route(name string) *configfile.Route {
	for i := range f.cfg.Routes {
		if f.cfg.Routes[i].Name == name {
			return &f.cfg.Routes[i]
		}
	}
	panic("no route " + name)
}

func (f *fixture) write(t *testing.T) {
	t.Helper()
	b, err := configsync.Marshal(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "gateway.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) secret(t *testing.T, team, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.secrets, team+"-"+name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// run executes `tollgate config <args>` against g and returns its
// standard output (standard error is logged).
func run(t *testing.T, g *servertest.Gateway, args ...string) (string, error) {
	t.Helper()
	cmd := configsync.NewCommand(func(context.Context) (*tollgate.Client, error) {
		return tollgate.NewClient(g.URL, g.AdminToken), nil
	})
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	if err != nil || errOut.Len() > 0 {
		t.Logf("config %s: stderr: %s", strings.Join(args, " "), errOut.String())
	}
	return out.String(), err
}

func mustRun(t *testing.T, g *servertest.Gateway, args ...string) string {
	t.Helper()
	out, err := run(t, g, args...)
	if err != nil {
		t.Fatalf("config %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// chat sends one chat request through g and reports which fake answered.
func chat(t *testing.T, g *servertest.Gateway, key string, f *fixture) (string, error) {
	hosted, local := len(f.hosted.Requests()), len(f.local.Requests())
	body := `{"model":"chat","messages":[{"role":"user","content":"hello"}]}`
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("chat: %d %s", resp.StatusCode, b)
	}
	switch {
	case len(f.local.Requests()) > local:
		return "local", nil
	case len(f.hosted.Requests()) > hosted:
		return "hosted", nil
	}
	return "", fmt.Errorf("chat answered by neither fake")
}

// TestConfigAsCode applies the example configuration to a fresh gateway
// and follows it through diff, a change seen on a second replica, export
// and prune.
func TestConfigAsCode(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g1 := servertest.Start(t, servertest.Options{})
	g2 := servertest.Start(t, servertest.Options{DatabaseURL: g1.DatabaseURL})
	ctx := context.Background()

	out := mustRun(t, g1, "validate", f.dir)
	if !strings.Contains(out, "3 providers, 6 models, 2 routes, 3 teams, 4 keys, 4 budgets, 2 rate limits, 1 guardrail policies, 1 alert webhooks") {
		t.Fatalf("validate: %s", out)
	}
	out = mustRun(t, g1, "apply", f.dir)
	if !strings.Contains(out, "Plan: 26 to create, 0 to update, 0 to replace, 0 to delete.") || !strings.Contains(out, "Applied 26 changes.") {
		t.Fatalf("first apply:\n%s", out)
	}
	if strings.Contains(out, "sk-") || strings.Contains(out, "tg-") {
		t.Fatalf("apply printed a secret although every key has secret_to:\n%s", out)
	}
	// The alert webhook's generated signing secret is shown once.
	if !strings.Contains(out, "Secret of alert webhook ops (shown once): whsec_") {
		t.Fatalf("apply did not show the webhook's secret:\n%s", out)
	}

	// The marks: one per applied resource, listed page by page.
	all, err := g1.Admin.ListManagedResources(ctx, connect.NewRequest(&tollgatev1.ListManagedResourcesRequest{}))
	if err != nil || len(all.Msg.GetResources()) != 26 || all.Msg.GetNextPageToken() != "" {
		t.Fatalf("ListManagedResources = %d marks, next %q, %v; want 26 in one page", len(all.Msg.GetResources()), all.Msg.GetNextPageToken(), err)
	}
	var paged []string
	for token := ""; ; {
		r, err := g1.Admin.ListManagedResources(ctx, connect.NewRequest(&tollgatev1.ListManagedResourcesRequest{PageSize: 4, PageToken: token}))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Msg.GetResources() {
			paged = append(paged, m.GetKind()+"/"+m.GetName())
		}
		if token = r.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	var whole []string
	for _, m := range all.Msg.GetResources() {
		if m.GetManager() != "config" {
			t.Errorf("mark %s/%s: manager %q", m.GetKind(), m.GetName(), m.GetManager())
		}
		whole = append(whole, m.GetKind()+"/"+m.GetName())
	}
	if strings.Join(paged, " ") != strings.Join(whole, " ") {
		t.Fatalf("pages %v != listing %v", paged, whole)
	}
	if _, err := g1.Admin.ListManagedResources(ctx, connect.NewRequest(&tollgatev1.ListManagedResourcesRequest{PageToken: "garbage"})); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("a garbage page token: %v, want invalid_argument", err)
	}

	// Idempotent: nothing left to change.
	if out := mustRun(t, g1, "diff", f.dir); out != "No changes: the gateway matches the configuration.\n" {
		t.Fatalf("diff after apply:\n%s", out)
	}
	if out := mustRun(t, g1, "apply", f.dir); !strings.Contains(out, "No changes") {
		t.Fatalf("second apply:\n%s", out)
	}

	// The keys work, on both replicas, and the guardrail and budgets exist.
	search := f.secret(t, "search", "ranker-prod")
	for _, g := range []*servertest.Gateway{g1, g2} {
		testutil.Eventually(t, func() error {
			who, err := chat(t, g, search, f)
			if err == nil && who != "hosted" {
				err = fmt.Errorf("answered by %s, want hosted", who)
			}
			return err
		})
	}
	pol, err := g1.Admin.GetGuardrailPolicy(ctx, connect.NewRequest(&tollgatev1.GetGuardrailPolicyRequest{Id: "support-pii"}))
	if err != nil || pol.Msg.GetPolicy().GetGuardrails()[0].GetKind() != "pii" {
		t.Fatalf("guardrail policy: %v %v", pol, err)
	}

	// One route's weights change: the plan shows exactly that.
	f.route("chat").Targets[0].Weight, f.route("chat").Targets[1].Weight = 0, 100
	f.write(t)
	want := "~ route chat\n" +
		"    targets[0].weight: 100 → 0\n" +
		"    targets[1].weight: 0 → 100\n" +
		"Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.\n"
	if out := mustRun(t, g1, "diff", f.dir); out != want {
		t.Fatalf("diff after a weight change:\n%s\nwant:\n%s", out, want)
	}
	mustRun(t, g1, "apply", f.dir)
	applied := time.Now()
	// Live on the second replica: ten answers in a row from the local model.
	streak := 0
	testutil.EventuallyWithin(t, 10*time.Second, func() error {
		who, err := chat(t, g2, search, f)
		if err != nil {
			return err
		}
		if who != "local" {
			streak = 0
			return fmt.Errorf("answered by %s", who)
		}
		if streak++; streak < 10 {
			return fmt.Errorf("%d answers in a row from local", streak)
		}
		return nil
	})
	t.Logf("the weight change was live on the second replica %v after apply returned (10 answers included)", time.Since(applied).Round(time.Millisecond))

	// Export reproduces an equivalent file: applying it changes nothing.
	exported := mustRun(t, g1, "export")
	exported = strings.ReplaceAll(exported, "env:ALERT_URL_OPS", f.cfg.Alerts[0].URL)
	edir := t.TempDir()
	if err := os.WriteFile(filepath.Join(edir, "exported.yaml"), []byte(exported), 0o644); err != nil {
		t.Fatal(err)
	}
	el, err := configfile.Load(edir)
	if err != nil {
		t.Fatalf("the export does not load: %v\n%s", err, exported)
	}
	if err := configfile.Validate(el); err != nil {
		t.Fatalf("the export is invalid: %v\n%s", err, exported)
	}
	if out := mustRun(t, g1, "diff", edir); out != "No changes: the gateway matches the configuration.\n" {
		t.Fatalf("diff of the export:\n%s\nexport:\n%s", out, exported)
	}

	// Prune: a budget created out of band is not managed and stays; the
	// budget removed from the file is deleted, nothing else.
	if _, err := g1.Admin.SetBudget(ctx, connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
		Id: "adhoc", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: "research",
		Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY, LimitTokens: 1000,
	}})); err != nil {
		t.Fatal(err)
	}
	var budgets []configfile.Budget
	for _, b := range f.cfg.Budgets {
		if b.ID != "research-monthly" {
			budgets = append(budgets, b)
		}
	}
	f.cfg.Budgets = budgets
	f.write(t)
	want = "No changes: the gateway matches the configuration.\n" +
		"Managed by configuration but no longer declared (apply --prune deletes them): budget research-monthly.\n" +
		"Not declared and not managed by configuration (left alone): 1 budget.\n"
	if out := mustRun(t, g1, "diff", f.dir); out != want {
		t.Fatalf("diff without --prune:\n%s", out)
	}
	want = "- budget research-monthly\nPlan: 0 to create, 0 to update, 0 to replace, 1 to delete.\n" +
		"Not declared and not managed by configuration (left alone): 1 budget.\n"
	if out := mustRun(t, g1, "diff", "--prune", f.dir); out != want {
		t.Fatalf("diff --prune:\n%s\nwant:\n%s", out, want)
	}
	mustRun(t, g1, "apply", "--prune", f.dir)
	resp, err := g1.Admin.ListBudgets(ctx, connect.NewRequest(&tollgatev1.ListBudgetsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range resp.Msg.GetBudgets() {
		ids = append(ids, b.GetId())
	}
	if got := strings.Join(ids, " "); got != "adhoc search-indexer-daily search-monthly support-daily" {
		t.Fatalf("budgets after prune: %s", got)
	}
}

// TestOutOfBandChanges: a managed resource changed without the managed-by
// header is refused or warned about, as -managed-changes says.
func TestOutOfBandChanges(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"warn", "refuse"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			g := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.Declarative.ManagedChanges = mode }})
			mustRun(t, g, "apply", f.dir)
			ctx := context.Background()
			r, err := g.Admin.GetRoute(ctx, connect.NewRequest(&tollgatev1.GetRouteRequest{Name: "chat"}))
			if err != nil {
				t.Fatal(err)
			}
			route := r.Msg.GetRoute()
			route.Sticky = true
			up, err := g.Admin.UpdateRoute(ctx, connect.NewRequest(&tollgatev1.UpdateRouteRequest{Route: route}))
			switch mode {
			case "refuse":
				if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), `route "chat" is managed by config`) {
					t.Fatalf("UpdateRoute of a managed route = %v, want failed_precondition", err)
				}
			case "warn":
				if err != nil {
					t.Fatal(err)
				}
				if w := up.Header().Get("Warning"); !strings.Contains(w, `route \"chat\" is managed by config`) && !strings.Contains(w, `route "chat" is managed by config`) {
					t.Fatalf("Warning header = %q", w)
				}
				// The next diff shows the drift.
				if out := mustRun(t, g, "diff", f.dir); !strings.Contains(out, "~ route chat\n    sticky: true → false\n") {
					t.Fatalf("diff after an out-of-band change:\n%s", out)
				}
			}
			// Unmanaged resources are not affected.
			if _, err := g.Admin.CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: "adhoc"}})); err != nil {
				t.Fatal(err)
			}
			if _, err := g.Admin.DeleteTeam(ctx, connect.NewRequest(&tollgatev1.DeleteTeamRequest{Id: "adhoc"})); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// configMapDir lays out dir as a Kubernetes ConfigMap volume does: the
// file is a symlink through "..data" to a timestamped directory, and an
// update swaps "..data" atomically.
type configMapDir struct {
	dir string
	n   int
}

func (c *configMapDir) update(t *testing.T, f *fixture) {
	t.Helper()
	c.n++
	b, err := configsync.Marshal(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := fmt.Sprintf("..2026_12_06_16_00_0%d", c.n)
	if err := os.Mkdir(filepath.Join(c.dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, ts, "gateway.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ts, filepath.Join(c.dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(c.dir, "..data_tmp"), filepath.Join(c.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if c.n == 1 {
		if err := os.Symlink("..data/gateway.yaml", filepath.Join(c.dir, "gateway.yaml")); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServeConfig: `serve -config DIR` applies the files on start and an
// edited file (a ConfigMap update) without a restart.
func TestServeConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cm := &configMapDir{dir: t.TempDir()}
	cm.update(t, f)
	g := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.Declarative.Path = cm.dir
		c.Declarative.Poll = 100 * time.Millisecond
	}})
	weights := func() (string, error) {
		r, err := g.Admin.GetRoute(context.Background(), connect.NewRequest(&tollgatev1.GetRouteRequest{Name: "chat"}))
		if err != nil {
			return "", err
		}
		ts := r.Msg.GetRoute().GetTargets()
		return fmt.Sprintf("%d/%d", ts[0].GetWeight(), ts[1].GetWeight()), nil
	}
	testutil.Eventually(t, func() error {
		if w, err := weights(); err != nil || w != "100/0" {
			return fmt.Errorf("weights %q, %v", w, err)
		}
		return nil
	})
	key := ""
	testutil.Eventually(t, func() error {
		b, err := os.ReadFile(filepath.Join(f.secrets, "search-ranker-prod"))
		key = strings.TrimSpace(string(b))
		return err
	})
	if who, err := chat(t, g, key, f); err != nil || who != "hosted" {
		t.Fatalf("chat before the edit: %s, %v", who, err)
	}

	f.route("chat").Targets[0].Weight, f.route("chat").Targets[1].Weight = 0, 100
	cm.update(t, f)
	testutil.Eventually(t, func() error {
		if w, err := weights(); err != nil || w != "0/100" {
			return fmt.Errorf("weights %q, %v", w, err)
		}
		return nil
	})
	testutil.Eventually(t, func() error {
		who, err := chat(t, g, key, f)
		if err == nil && who != "local" {
			err = fmt.Errorf("answered by %s", who)
		}
		return err
	})
	// The apply run logs what it did once the whole run is done, which
	// may be after the change is already visible.
	testutil.Eventually(t, func() error {
		if !strings.Contains(g.Logs.String(), `"action":"update","kind":"route","name":"chat"`) {
			return errors.New("no log line of the route's update")
		}
		return nil
	})
	// The CLI sees the same state: nothing to apply.
	if out := mustRun(t, g, "diff", cm.dir); out != "No changes: the gateway matches the configuration.\n" {
		t.Fatalf("diff after serve -config applied the edit:\n%s", out)
	}
}

// TestMountedInCLI runs `tollgate config` through the CLI's root, as the
// binary does: global flags, the context's credential and exit codes.
func TestMountedInCLI(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g := servertest.Start(t, servertest.Options{})
	getenv := func(k string) string {
		switch k {
		case "TOLLGATE_ADMIN_TOKEN":
			return g.AdminToken
		case "HOME", "XDG_CONFIG_HOME":
			return t.TempDir()
		}
		return ""
	}
	main := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := app.Main(context.Background(), args, getenv, &out, &errOut, configsync.NewCommand)
		return code, out.String(), errOut.String()
	}
	if code, out, errOut := main("--url", g.URL, "config", "apply", f.dir); code != 0 || !strings.Contains(out, "Applied 26 changes.") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := main("config", "diff", f.dir, "--url", g.URL); code != 0 || out != "No changes: the gateway matches the configuration.\n" {
		t.Fatalf("diff: exit %d\n%s%s", code, out, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("teams:\n  - id: search\n    colour: blue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := main("config", "validate", bad); code != 1 || errOut != "tollgate config validate: "+bad+":3:5: unknown field \"colour\"\n" {
		t.Fatalf("validate of a bad file: exit %d, stderr %q", code, errOut)
	}
}
