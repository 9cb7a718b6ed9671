package app

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

// update rewrites the golden files: go test ./service/app -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name (or writes it with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./service/app -run Golden -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output (run go test ./service/app -run Golden -update and review the diff):\n%s", path, diffLines(string(want), got))
	}
}

// diffLines shows the first lines that differ.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := 0
	for i := 0; i < max(len(w), len(g)) && n < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
			n++
		}
	}
	return b.String()
}

// runMain runs the command line in-process with an empty environment.
func runMain(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	env := map[string]string{"TOLLGATE_CONFIG_DIR": os.DevNull + "/none"}
	code = Main(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestGoldenHelp: the help of every command, as people read it.
func TestGoldenHelp(t *testing.T) {
	t.Parallel()
	c := &cli{getenv: func(string) string { return "" }, now: time.Now()}
	var paths [][]string
	var walk func(cmd *cobra.Command, path []string)
	walk = func(cmd *cobra.Command, path []string) {
		if cmd.Hidden || (cmd.Name() == "help" && len(path) == 1) {
			return
		}
		paths = append(paths, path)
		for _, sub := range cmd.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(c.rootCommand(), nil)
	var all strings.Builder
	for _, p := range paths {
		if len(p) > 0 && (p[0] == "serve" || p[0] == "store" || p[0] == "login" || p[0] == "logout" || p[0] == "whoami" || p[0] == "version") {
			continue // their own flag parsing: tested beside them
		}
		code, out, errOut := runMain(append(p, "--help")...)
		if code != ExitOK || errOut != "" {
			t.Errorf("tollgate %s --help: exit %d, stderr %q", strings.Join(p, " "), code, errOut)
		}
		fmt.Fprintf(&all, "$ tollgate %s --help\n%s\n", strings.Join(p, " "), out)
	}
	golden(t, "help.golden", all.String())
}

// TestGoldenCompletion: the completion scripts, and that completion knows
// the commands and the -o values.
func TestGoldenCompletion(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, errOut := runMain("completion", shell)
		if code != ExitOK || errOut != "" || !strings.Contains(out, "tollgate") {
			t.Fatalf("completion %s: exit %d, stderr %q", shell, code, errOut)
		}
		golden(t, "completion."+shell, out)
	}
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "k"}, []string{"keys"}},
		{[]string{"__complete", "keys", ""}, []string{"create", "get", "list", "revoke", "rotate"}},
		{[]string{"__complete", "teams", "list", "-o", ""}, []string{"table", "wide", "json", "yaml"}},
		{[]string{"__complete", "budgets", "set", "--"}, []string{"--usd", "--period", "--scope", "--url", "--context"}},
	} {
		_, out, _ := runMain(tt.args...)
		for _, w := range tt.want {
			if !strings.Contains(out, w+"\n") && !strings.Contains(out, w+"\t") {
				t.Errorf("tollgate %s: completions lack %q:\n%s", strings.Join(tt.args, " "), w, out)
			}
		}
	}
}

// TestGoldenErrors: bad input gets a message for people naming the flag
// or operand, no Go parser errors, and exit code 2; the gateway is never
// called.
func TestGoldenErrors(t *testing.T) {
	t.Parallel()
	cases := [][]string{
		{},
		{"frobnicate"},
		{"keys"},
		{"keys", "destroy"},
		{"keys", "list", "--color"},
		{"keys", "create"},
		{"keys", "create", "--team", "t", "--expires", "soon"},
		{"keys", "revoke", "a", "b"},
		{"keys", "revoke", "k1"},
		{"budgets", "set", "--id", "b", "--scope", "team", "--team", "t", "--usd", "abc"},
		{"budgets", "set", "--id", "b", "--scope", "team", "--team", "t", "--tokens", "many"},
		{"budgets", "set", "--id", "b", "--scope", "team", "--team", "t", "--usd", "1", "--alert-at", "x"},
		{"limits", "set", "--id", "l", "--scope", "team", "--team", "t", "--rpm", "1.5"},
		{"routes", "update", "r", "--sticky=maybe"},
		{"models", "add", "m", "--provider", "p", "--context-window", "big"},
		{"usage", "report", "--by", "team,colour"},
		{"usage", "report", "--by", "tag:"},
		{"usage", "report", "--since", "yesterday"},
		{"teams", "list", "-o", "xml"},
		{"teams", "list", "-o", "go-template={{.x"},
		{"teams", "list", "--url", "ftp://x"},
		{"teams", "delete", "search"},
		{"cache", "purge", "--older-than", "-1d", "--yes"},
		{"guardrails", "create"},
		{"context", "use"},
		{"context", "add", "bad name!", "--url", "http://x"},
		{"alerts", "add", "ops", "--url", "https://hooks.example/secret"},
	}
	var all strings.Builder
	for _, args := range cases {
		code, out, errOut := runMain(args...)
		if out != "" {
			t.Errorf("tollgate %s printed on stdout: %q", strings.Join(args, " "), out)
		}
		if code != ExitUsage {
			t.Errorf("tollgate %s: exit %d, want %d", strings.Join(args, " "), code, ExitUsage)
		}
		if strings.Contains(errOut, "strconv.") || strings.Contains(errOut, "parse error") {
			t.Errorf("tollgate %s: a Go parser error: %q", strings.Join(args, " "), errOut)
		}
		if strings.Contains(errOut, "secret") && strings.Contains(errOut, "hooks.example") {
			t.Errorf("tollgate %s: repeats the webhook URL: %q", strings.Join(args, " "), errOut)
		}
		if len(args) == 0 {
			errOut = "(the root's help)\n" // its help is in help.golden
		}
		fmt.Fprintf(&all, "$ tollgate %s\n%s(exit %d)\n\n", strings.Join(args, " "), errOut, code)
	}
	golden(t, "errors.golden", all.String())
}

// TestGoldenOutput: every resource in every output format.
func TestGoldenOutput(t *testing.T) {
	t.Parallel()
	ts := timestamppb.New(time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC))
	usd := func(units int64, nanos int32) *money.Money {
		return &money.Money{CurrencyCode: "USD", Units: units, Nanos: nanos}
	}
	samples := []struct {
		name string
		resp proto.Message
	}{
		{"keys list", &tollgatev1.ListKeysResponse{Keys: []*tollgatev1.VirtualKey{{Id: "key_01", Name: "indexer", TeamId: "search", ServiceId: "crawler",
			State: tollgatev1.KeyState_KEY_STATE_ACTIVE, SecretPrefix: "tg-abcd", AllowedModels: []string{"gpt-4o-mini"}, CreateTime: ts,
			Tags: map[string]string{"project": "atlas", "env": "prod"}, CreatedBy: "admin"}}}},
		{"keys create", &tollgatev1.CreateKeyResponse{Key: &tollgatev1.VirtualKey{Id: "key_01", TeamId: "search", State: tollgatev1.KeyState_KEY_STATE_ACTIVE, SecretPrefix: "tg-abcd"},
			Secret: "tg-abcd-example-secret"}},
		{"keys get", &tollgatev1.GetKeyResponse{Key: &tollgatev1.VirtualKey{Id: "key_01", TeamId: "search", State: tollgatev1.KeyState_KEY_STATE_REVOKED, SecretPrefix: "tg-abcd", ExpireTime: ts}}},
		{"teams list", &tollgatev1.ListTeamsResponse{Teams: []*tollgatev1.Team{{Id: "search", DisplayName: "Search Platform", CreateTime: ts, Etag: "3",
			Labels: map[string]string{"cost-center": "42"}}}}},
		{"providers list", &tollgatev1.ListProvidersResponse{Providers: []*tollgatev1.Provider{{Id: "openai", Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI,
			HasCredential: true, CreateTime: ts, Etag: "1", Settings: map[string]string{"organization": "org-1"}}}}},
		{"models list", &tollgatev1.ListAllModelsResponse{Models: []*tollgatev1.Model{{Name: "gpt-4o-mini", ProviderId: "openai", ContextWindow: 128000, MaxOutputTokens: 16384,
			Pricing: &tollgatev1.ModelPricing{InputPerMillion: usd(0, 150_000_000), OutputPerMillion: usd(0, 600_000_000), CachedInputPerMillion: usd(0, 75_000_000)}, Etag: "2"}}}},
		{"routes list", &tollgatev1.ListRoutesResponse{Routes: []*tollgatev1.Route{{Name: "chat", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_WEIGHTED,
			Targets: []*tollgatev1.RouteTarget{{ProviderId: "openai", Model: "gpt-4o-mini", Weight: 3}, {ProviderId: "anthropic", Model: "claude-haiku-4-5", Weight: 1}},
			Timeout: durationpb.New(30 * time.Second), Etag: "4"}}}},
		{"budgets list", &tollgatev1.ListBudgetsResponse{Budgets: []*tollgatev1.Budget{{Id: "search-daily", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM,
			TeamId: "search", Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY, Limit: usd(0, 10_000_000), AlertThresholds: []int32{50, 80}, UpdateTime: ts, Etag: "5"}}}},
		{"budgets status", &tollgatev1.GetBudgetStatusResponse{Statuses: []*tollgatev1.BudgetStatus{{Budget: &tollgatev1.Budget{Id: "search-daily",
			Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: "search", Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY, Limit: usd(0, 10_000_000)},
			Spent: usd(0, 1_800_000), Remaining: usd(0, 8_200_000), ResetTime: ts}}}},
		{"limits list", &tollgatev1.ListRateLimitsResponse{RateLimits: []*tollgatev1.RateLimit{{Id: "search-rpm", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM,
			TeamId: "search", RequestsPerMinute: 600, TokensPerMinute: 200000, Etag: "6"}}}},
		{"alerts list", &tollgatev1.ListAlertWebhooksResponse{Webhooks: []*tollgatev1.AlertWebhook{{Id: "ops", UrlHint: "https://hooks.example/…",
			Kinds: []tollgatev1.AlertKind{tollgatev1.AlertKind_ALERT_KIND_BUDGET_THRESHOLD}, CreateTime: ts, Etag: "7"}}}},
		{"guardrails list", &tollgatev1.ListGuardrailPoliciesResponse{Policies: []*tollgatev1.GuardrailPolicy{{Id: "pii", AttachKind: tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_TEAM,
			AttachTo: "search", Guardrails: []*tollgatev1.Guardrail{{Name: "emails", Kind: "pii", Mode: tollgatev1.GuardrailMode_GUARDRAIL_MODE_MUTATE}}, Etag: "8"}}}},
		{"cache stats", &tollgatev1.GetCacheStatsResponse{Entries: 1200, Bytes: 3_400_000, HitsExact: 340, HitsSemantic: 12, Misses: 900, Saved: usd(1, 250_000_000),
			DefaultMode: tollgatev1.CacheMode_CACHE_MODE_EXACT}},
		{"usage records", &tollgatev1.ListRequestRecordsResponse{Records: []*tollgatev1.RequestRecord{{Time: ts, RequestId: "req_01", TeamId: "search", KeyId: "key_01",
			RequestedModel: "gpt-4o-mini", Provider: "openai", Status: tollgatev1.RequestStatus_REQUEST_STATUS_OK, Usage: &tollgatev1.Usage{InputTokens: 1200, OutputTokens: 300},
			Cost: usd(0, 360_000), CacheStatus: "miss"}}}},
		{"usage report", &tollgatev1.GetUsageSummaryResponse{
			Groups: []*tollgatev1.UsageGroup{
				{Keys: []string{"search"}, Requests: 1500, Errors: 3, Usage: &tollgatev1.Usage{InputTokens: 1_200_000, OutputTokens: 300_000}, Cost: usd(0, 360_000_000)},
				{Keys: []string{"ads"}, Requests: 20, Usage: &tollgatev1.Usage{InputTokens: 2000, OutputTokens: 100}, Cost: usd(0, 360_000)},
			},
			Total: &tollgatev1.UsageGroup{Requests: 1520, Errors: 3, Usage: &tollgatev1.Usage{InputTokens: 1_202_000, OutputTokens: 300_100}, Cost: usd(0, 360_360_000)}}},
		{"service-accounts list", &tollgatev1.ListServiceAccountsResponse{ServiceAccounts: []*tollgatev1.ServiceAccount{{Id: "ci", Description: "CI pipeline",
			Roles: []string{"team-admin:search"}, CreateTime: ts, Etag: "9"}}}},
		{"service-accounts token list", &tollgatev1.ListServiceAccountTokensResponse{Tokens: []*tollgatev1.ServiceAccountToken{{Id: "sat_01", ServiceAccountId: "ci",
			Name: "github-actions", SecretPrefix: "tga-abcd", ExpireTime: ts, CreateTime: ts}}}},
		{"role-bindings list", &tollgatev1.ListRoleBindingsResponse{RoleBindings: []*tollgatev1.RoleBinding{{Id: "rb_01",
			SubjectKind: tollgatev1.RoleBindingSubjectKind_ROLE_BINDING_SUBJECT_KIND_GROUP, Subject: "platform", Role: "admin", CreateTime: ts}}}},
		{"credentials list", &tollgatev1.ListCredentialReferencesResponse{References: []*tollgatev1.CredentialReference{{ProviderId: "openai", Ref: "env:OPENAI_API_KEY",
			Resolved: true, RefreshTime: ts}}}},
		{"audit list", &tollgatev1.ListAdminAuditEventsResponse{Events: []*tollgatev1.AdminAuditEvent{{Id: 42, Time: ts, Actor: "admin", Action: "SetBudget",
			ResourceKind: "budget", ResourceId: "search-daily", Outcome: "ok"}}}},
	}
	for _, format := range []string{"table", "wide", "json", "yaml"} {
		var all strings.Builder
		for _, s := range samples {
			var out strings.Builder
			if err := writeOutput(&out, s.resp, format); err != nil {
				t.Fatalf("%s -o %s: %v", s.name, format, err)
			}
			fmt.Fprintf(&all, "$ tollgate %s -o %s\n%s\n", s.name, format, out.String())
		}
		golden(t, "output."+format, all.String())
	}
}
