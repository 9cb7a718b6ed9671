package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

func TestParseAdminCLI(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	spec := filepath.Join(dir, "route.json")
	if err := os.WriteFile(spec, []byte(`{
  "name": "smart", "strategy": "ROUTE_STRATEGY_WEIGHTED",
  "targets": [{"providerId": "openai", "model": "gpt-4o-mini", "weight": 3}, {"model": "claude", "weight": 1}],
  "retry": {"maxAttempts": 3}, "timeout": "30s"
}`), 0o600); err != nil {
		t.Fatal(err)
	}
	hookFile := filepath.Join(dir, "hook")
	if err := os.WriteFile(hookFile, []byte("https://hooks.example/T000/B000/file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TOLLGATE_ADMIN_TOKEN": "tok", "SLACK_URL": "https://hooks.example/T000/B000/env-secret"}
	usd := func(units int64, nanos int32) *money.Money {
		return &money.Money{CurrencyCode: "USD", Units: units, Nanos: nanos}
	}
	tests := []struct {
		name string
		args []string
		want proto.Message
	}{
		{
			name: "budgets set a team budget in dollars and cents",
			args: []string{"budgets", "set", "--id", "search-monthly", "--scope", "team", "--team", "search", "--period", "monthly", "--tz", "Europe/Paris", "--usd", "5.00"},
			want: &tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
				Id: "search-monthly", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: "search",
				Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_MONTHLY, TimeZone: "Europe/Paris", Limit: usd(5, 0),
			}},
		},
		{
			name: "budgets set a service budget with an exact fraction, tokens and alerts",
			args: []string{"budgets", "set", "--id", "crawler", "--scope", "service", "--team", "search", "--service", "crawler", "--period", "daily", "--usd", "0.123456789", "--tokens", "1000000", "--alert-at", "50,90"},
			want: &tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
				Id: "crawler", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_SERVICE, TeamId: "search", ServiceId: "crawler",
				Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY, Limit: usd(0, 123_456_789), LimitTokens: 1_000_000,
				AlertThresholds: []int32{50, 90},
			}},
		},
		{
			name: "budgets set a lifetime key budget with tokens only",
			args: []string{"budgets", "set", "--id", "k1", "--scope", "key", "--key", "key_123", "--period", "lifetime", "--tokens", "500"},
			want: &tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
				Id: "k1", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, KeyId: "key_123",
				Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_LIFETIME, LimitTokens: 500,
			}},
		},
		{name: "budgets list", args: []string{"budgets", "list", "--team", "search"}, want: &tollgatev1.ListBudgetsRequest{TeamId: "search"}},
		{name: "budgets status", args: []string{"budgets", "status"}, want: &tollgatev1.GetBudgetStatusRequest{}},
		{name: "budgets delete", args: []string{"budgets", "delete", "k1", "--yes"}, want: &tollgatev1.DeleteBudgetRequest{Id: "k1"}},
		{name: "budgets delete with --id", args: []string{"budgets", "delete", "--id", "k1", "--yes"}, want: &tollgatev1.DeleteBudgetRequest{Id: "k1"}},
		{
			name: "limits set",
			args: []string{"limits", "set", "--id", "search-rpm", "--scope", "team", "--team", "search", "--rpm", "600", "--tpm", "100000", "--concurrency", "8"},
			want: &tollgatev1.SetRateLimitRequest{RateLimit: &tollgatev1.RateLimit{
				Id: "search-rpm", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: "search",
				RequestsPerMinute: 600, TokensPerMinute: 100_000, MaxConcurrent: 8,
			}},
		},
		{name: "limits list", args: []string{"limits", "list"}, want: &tollgatev1.ListRateLimitsRequest{}},
		{name: "limits delete", args: []string{"limits", "delete", "search-rpm", "--yes"}, want: &tollgatev1.DeleteRateLimitRequest{Id: "search-rpm"}},
		{
			name: "routes create from flags",
			args: []string{"routes", "create", "--name", "smart", "--strategy", "weighted", "--target", "openai/gpt-4o-mini:3", "--target", "vllm/meta-llama/Llama-3:1", "--timeout", "20s"},
			want: &tollgatev1.CreateRouteRequest{Route: &tollgatev1.Route{
				Name: "smart", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_WEIGHTED, Timeout: durationpb.New(20 * time.Second),
				Targets: []*tollgatev1.RouteTarget{
					{ProviderId: "openai", Model: "gpt-4o-mini", Weight: 3},
					{ProviderId: "vllm", Model: "meta-llama/Llama-3", Weight: 1},
				},
			}},
		},
		{
			name: "routes create fallback over configured models by default",
			args: []string{"routes", "create", "chat", "--target", "gpt-4o-mini,ollama/llama3:8b"},
			want: &tollgatev1.CreateRouteRequest{Route: &tollgatev1.Route{
				Name: "chat", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
				Targets: []*tollgatev1.RouteTarget{{Model: "gpt-4o-mini"}, {ProviderId: "ollama", Model: "llama3:8b"}},
			}},
		},
		{
			name: "routes create from a spec file",
			args: []string{"routes", "create", "--file", spec},
			want: &tollgatev1.CreateRouteRequest{Route: &tollgatev1.Route{
				Name: "smart", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_WEIGHTED,
				Targets: []*tollgatev1.RouteTarget{{ProviderId: "openai", Model: "gpt-4o-mini", Weight: 3}, {Model: "claude", Weight: 1}},
				Retry:   &tollgatev1.RetryPolicy{MaxAttempts: 3}, Timeout: durationpb.New(30 * time.Second),
			}},
		},
		{
			name: "routes create from a spec file with flags overriding it",
			args: []string{"routes", "create", "--file", spec, "--name", "smart-2", "--strategy", "cost", "--target", "openai/gpt-4o"},
			want: &tollgatev1.CreateRouteRequest{Route: &tollgatev1.Route{
				Name: "smart-2", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_COST,
				Targets: []*tollgatev1.RouteTarget{{ProviderId: "openai", Model: "gpt-4o"}},
				Retry:   &tollgatev1.RetryPolicy{MaxAttempts: 3}, Timeout: durationpb.New(30 * time.Second),
			}},
		},
		{name: "routes list", args: []string{"routes", "list"}, want: &tollgatev1.ListRoutesRequest{}},
		{name: "routes get", args: []string{"routes", "get", "smart"}, want: &tollgatev1.GetRouteRequest{Name: "smart"}},
		{name: "routes delete", args: []string{"routes", "delete", "smart", "--yes"}, want: &tollgatev1.DeleteRouteRequest{Name: "smart"}},
		{
			name: "alerts add with the URL from the environment",
			args: []string{"alerts", "add", "ops", "--url-env", "SLACK_URL", "--kind", "budget-threshold", "--team", "search"},
			want: &tollgatev1.CreateAlertWebhookRequest{Webhook: &tollgatev1.AlertWebhook{
				Id: "ops", Url: "https://hooks.example/T000/B000/env-secret", TeamId: "search",
				Kinds: []tollgatev1.AlertKind{tollgatev1.AlertKind_ALERT_KIND_BUDGET_THRESHOLD},
			}},
		},
		{
			name: "alerts add with the URL from a file",
			args: []string{"alerts", "add", "ops", "--url-file", hookFile},
			want: &tollgatev1.CreateAlertWebhookRequest{Webhook: &tollgatev1.AlertWebhook{Id: "ops", Url: "https://hooks.example/T000/B000/file-secret"}},
		},
		{name: "alerts list", args: []string{"alerts", "list"}, want: &tollgatev1.ListAlertWebhooksRequest{}},
		{name: "alerts delete", args: []string{"alerts", "delete", "ops", "--yes"}, want: &tollgatev1.DeleteAlertWebhookRequest{Id: "ops"}},
		{name: "alerts delete with an etag", args: []string{"alerts", "delete", "ops", "--etag", "e1", "--yes"}, want: &tollgatev1.DeleteAlertWebhookRequest{Id: "ops", Etag: "e1"}},
		{name: "teams list with a limit asks for that page size", args: []string{"teams", "list", "--limit", "5"}, want: &tollgatev1.ListTeamsRequest{PageSize: 5}},
		{
			name: "teams list from a token with a page size",
			args: []string{"teams", "list", "--page-size", "50", "--page-token", "tok"},
			want: &tollgatev1.ListTeamsRequest{PageSize: 50, PageToken: "tok"},
		},
		{name: "limit above the largest page", args: []string{"routes", "list", "--limit", "2500"}, want: &tollgatev1.ListRoutesRequest{PageSize: 1000}},
		{name: "teams get", args: []string{"teams", "get", "search"}, want: &tollgatev1.GetTeamRequest{Id: "search"}},
		{name: "teams delete with an etag", args: []string{"teams", "delete", "search", "--etag", "e2", "--yes"}, want: &tollgatev1.DeleteTeamRequest{Id: "search", Etag: "e2"}},
		{name: "providers get", args: []string{"providers", "get", "openai"}, want: &tollgatev1.GetProviderRequest{Id: "openai"}},
		{
			name: "providers update masks the flags given",
			args: []string{"providers", "update", "openai", "--base-url", "https://api.example/v1", "--credential-env", "SLACK_URL", "--etag", "e3"},
			want: &tollgatev1.UpdateProviderRequest{
				Provider:   &tollgatev1.Provider{Id: "openai", BaseUrl: "https://api.example/v1", Etag: "e3"},
				Credential: "https://hooks.example/T000/B000/env-secret",
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"base_url", "credential"}},
			},
		},
		{
			name: "providers update removes the credential",
			args: []string{"providers", "update", "openai", "--no-credential"},
			want: &tollgatev1.UpdateProviderRequest{Provider: &tollgatev1.Provider{Id: "openai"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"credential"}}},
		},
		{name: "providers delete", args: []string{"providers", "delete", "openai", "--yes"}, want: &tollgatev1.DeleteProviderRequest{Id: "openai"}},
		{
			name: "models update masks one price",
			args: []string{"models", "update", "gpt-4o-mini", "--input-price", "0.2", "--context-window", "64000"},
			want: &tollgatev1.UpdateModelRequest{
				Model: &tollgatev1.Model{Name: "gpt-4o-mini", ContextWindow: 64000, Pricing: &tollgatev1.ModelPricing{
					InputPerMillion: &money.Money{CurrencyCode: "USD", Nanos: 200_000_000},
				}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"context_window", "pricing.input_per_million"}},
			},
		},
		{
			name: "models update can clear a flag's field",
			args: []string{"models", "update", "emb", "--embedding=false"},
			want: &tollgatev1.UpdateModelRequest{
				Model:      &tollgatev1.Model{Name: "emb", Pricing: &tollgatev1.ModelPricing{}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"embedding"}},
			},
		},
		{name: "models delete with an etag", args: []string{"models", "delete", "m", "--etag", "e4", "--yes"}, want: &tollgatev1.DeleteModelRequest{Name: "m", Etag: "e4"}},
		{
			name: "routes update masks the flags given",
			args: []string{"routes", "update", "smart", "--target", "a/m:3", "--target", "b/m:1", "--etag", "e5"},
			want: &tollgatev1.UpdateRouteRequest{
				Route: &tollgatev1.Route{Name: "smart", Etag: "e5", Targets: []*tollgatev1.RouteTarget{
					{ProviderId: "a", Model: "m", Weight: 3}, {ProviderId: "b", Model: "m", Weight: 1},
				}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"targets"}},
			},
		},
		{name: "routes delete with an etag", args: []string{"routes", "delete", "smart", "--etag", "e6", "--yes"}, want: &tollgatev1.DeleteRouteRequest{Name: "smart", Etag: "e6"}},
		{
			name: "audit list defaults to the last week",
			args: []string{"audit", "list"},
			want: &tollgatev1.ListAdminAuditEventsRequest{StartTime: timestamppb.New(now.Add(-7 * 24 * time.Hour)), PageSize: 100},
		},
		{
			name: "audit list filtered",
			args: []string{"audit", "list", "--since", "1d", "--until", "1h", "--action", "SetBudget", "--kind", "budget", "--resource", "k1", "--limit", "5"},
			want: &tollgatev1.ListAdminAuditEventsRequest{
				StartTime: timestamppb.New(now.Add(-24 * time.Hour)), EndTime: timestamppb.New(now.Add(-time.Hour)),
				Action: "SetBudget", ResourceKind: "budget", ResourceId: "k1", PageSize: 5,
			},
		},
		{
			name: "usage export as CSV by default",
			args: []string{"usage", "export", "--since", "30d"},
			want: &tollgatev1.ExportRequestRecordsRequest{StartTime: timestamppb.New(now.Add(-30 * 24 * time.Hour)), Format: tollgatev1.ExportFormat_EXPORT_FORMAT_CSV},
		},
		{
			name: "usage export as JSON lines with filters",
			args: []string{"usage", "export", "--format", "jsonl", "--team", "search", "--key", "key_1", "--model", "gpt-4o-mini", "--end-user", "u1"},
			want: &tollgatev1.ExportRequestRecordsRequest{
				StartTime: timestamppb.New(now.Add(-24 * time.Hour)), Format: tollgatev1.ExportFormat_EXPORT_FORMAT_JSON_LINES,
				TeamId: "search", KeyId: "key_1", Model: "gpt-4o-mini", EndUser: "u1",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd, err := parseCLI(tt.args, func(k string) string { return env[k] }, now)
			if err != nil {
				t.Fatalf("parseCLI: %v", err)
			}
			if !proto.Equal(cmd.req, tt.want) {
				t.Errorf("request = %v\nwant      %v", cmd.req, tt.want)
			}
		})
	}
}

func TestParseAdminCLIErrors(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TOLLGATE_ADMIN_TOKEN": "tok", "HOOK": "https://hooks.example/s3cr3t-path", "NOT_URL": "s3cr3t-not-a-url"}
	tests := []struct {
		name string
		args []string
		want string // substring of the error
	}{
		{"budget without id", []string{"budgets", "set", "--scope", "team", "--team", "t", "--usd", "1"}, "--id is required"},
		{"budget with a bad scope", []string{"budgets", "set", "--id", "b", "--scope", "org", "--usd", "1"}, `--scope "org"`},
		{"team budget without team", []string{"budgets", "set", "--id", "b", "--scope", "team", "--usd", "1"}, "--scope team needs --team"},
		{"service budget without service", []string{"budgets", "set", "--id", "b", "--scope", "service", "--team", "t", "--usd", "1"}, "--scope service needs"},
		{"key budget without key", []string{"budgets", "set", "--id", "b", "--scope", "key", "--team", "t", "--usd", "1"}, "--scope key needs --key"},
		{"budget with a bad period", []string{"budgets", "set", "--id", "b", "--scope", "team", "--team", "t", "--period", "yearly", "--usd", "1"}, `--period "yearly"`},
		{"budget with a bad time zone", []string{"budgets", "set", "--id", "b", "--scope", "team", "--team", "t", "--tz", "Mars/Olympus", "--usd", "1"}, "--tz"},
		{"budget without a limit", []string{"budgets", "set", "--id", "b", "--scope", "team", "--team", "t"}, "give a limit"},
		{"budget with a float-ish amount", []string{"budgets", "set", "--id", "b", "--scope", "team", "--team", "t", "--usd", "1e3"}, "--usd"},
		{"budget with a negative amount", []string{"budgets", "set", "--id", "b", "--scope", "team", "--team", "t", "--usd", "-5"}, "--usd"},
		{"budget with ten decimals", []string{"budgets", "set", "--id", "b", "--scope", "team", "--team", "t", "--usd", "0.0000000001"}, "--usd"},
		{"budget with a bad threshold", []string{"budgets", "set", "--id", "b", "--scope", "team", "--team", "t", "--usd", "1", "--alert-at", "0"}, "--alert-at"},
		{"budget with a bad token count", []string{"budgets", "set", "--id", "b", "--scope", "team", "--team", "t", "--tokens", "many"}, "invalid value"},
		{"budget delete without id", []string{"budgets", "delete"}, "exactly one BUDGET_ID"},
		{"limit with a service scope", []string{"limits", "set", "--id", "l", "--scope", "service", "--team", "t", "--rpm", "1"}, `--scope "service"`},
		{"limit without a limit", []string{"limits", "set", "--id", "l", "--scope", "team", "--team", "t"}, "give a limit"},
		{"negative limit", []string{"limits", "set", "--id", "l", "--scope", "team", "--team", "t", "--rpm", "-1"}, "must not be negative"},
		{"route without name", []string{"routes", "create", "--target", "p/m"}, "--name is required"},
		{"route without targets", []string{"routes", "create", "--name", "r"}, "at least one --target"},
		{"route with a bad strategy", []string{"routes", "create", "--name", "r", "--strategy", "random", "--target", "p/m"}, `--strategy "random"`},
		{"route with an empty provider", []string{"routes", "create", "--name", "r", "--target", "/m"}, "empty provider"},
		{"route with an empty model", []string{"routes", "create", "--name", "r", "--target", "p/:2"}, "empty model"},
		{"route with a bad spec file", []string{"routes", "create", "--file", "testdata-does-not-exist.json"}, "--file"},
		{"route get without name", []string{"routes", "get"}, "exactly one ROUTE"},
		{"webhook without URL source", []string{"alerts", "add", "ops"}, "--url-env VAR or --url-file FILE"},
		{"webhook with an empty env", []string{"alerts", "add", "ops", "--url-env", "NOPE"}, "$NOPE is empty"},
		{"webhook with both sources", []string{"alerts", "add", "ops", "--url-env", "HOOK", "--url-file", "f"}, "exclude each other"},
		{"webhook URL that is not http", []string{"alerts", "add", "ops", "--url-env", "NOT_URL"}, "must start with http"},
		{"webhook with a bad kind", []string{"alerts", "add", "ops", "--url-env", "HOOK", "--kind", "outage"}, `--kind "outage"`},
		{"audit with a bad since", []string{"audit", "list", "--since", "lastweek"}, "--since"},
		{"audit with a bad limit", []string{"audit", "list", "--limit", "-1"}, "--limit"},
		{"list with a bad page size", []string{"teams", "list", "--page-size", "5000"}, "--page-size"},
		{"route update without changes", []string{"routes", "update", "r"}, "nothing to update"},
		{"model update without changes", []string{"models", "update", "m"}, "nothing to update"},
		{"provider update without changes", []string{"providers", "update", "p"}, "nothing to update"},
		{"provider update with two credentials", []string{"providers", "update", "p", "--credential-env", "HOOK", "--no-credential"}, "exclude each other"},
		{"export with a bad format", []string{"usage", "export", "--format", "xlsx"}, `--format "xlsx"`},
		{"unknown routes verb", []string{"routes", "rename", "r"}, `unknown command "routes rename"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseCLI(tt.args, func(k string) string { return env[k] }, time.Now())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			// The webhook URL is a secret: no error may repeat it.
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q repeats a secret", err)
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    *tollgatev1.RouteTarget
		wantErr bool
	}{
		{"openai/gpt-4o-mini", &tollgatev1.RouteTarget{ProviderId: "openai", Model: "gpt-4o-mini"}, false},
		{"openai/gpt-4o-mini:70", &tollgatev1.RouteTarget{ProviderId: "openai", Model: "gpt-4o-mini", Weight: 70}, false},
		{"gpt-4o-mini", &tollgatev1.RouteTarget{Model: "gpt-4o-mini"}, false},
		{"gpt-4o-mini:2", &tollgatev1.RouteTarget{Model: "gpt-4o-mini", Weight: 2}, false},
		{"ollama/llama3:8b", &tollgatev1.RouteTarget{ProviderId: "ollama", Model: "llama3:8b"}, false},
		{"ollama/llama3:8b:5", &tollgatev1.RouteTarget{ProviderId: "ollama", Model: "llama3:8b", Weight: 5}, false},
		{"vllm/meta-llama/Llama-3.1-8B", &tollgatev1.RouteTarget{ProviderId: "vllm", Model: "meta-llama/Llama-3.1-8B"}, false},
		{"p/m:99999999999", nil, true},
		{"/m", nil, true},
		{"p/", nil, true},
		{":3", nil, true},
	}
	for _, tt := range tests {
		got, err := parseTarget(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && !proto.Equal(got, tt.want)) {
			t.Errorf("parseTarget(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if !tt.wantErr && formatTarget(got) != tt.in {
			t.Errorf("formatTarget(parseTarget(%q)) = %q", tt.in, formatTarget(got))
		}
	}
}

func TestAdminTables(t *testing.T) {
	t.Parallel()
	reset := timestamppb.New(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	tests := []struct {
		name string
		resp proto.Message
		want []string // substrings of the output
		not  []string
	}{
		{
			name: "budget status prints money for people, small amounts included",
			resp: &tollgatev1.GetBudgetStatusResponse{Statuses: []*tollgatev1.BudgetStatus{{
				Budget: &tollgatev1.Budget{
					Id: "search-monthly", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: "search",
					Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_MONTHLY, Limit: &money.Money{CurrencyCode: "USD", Units: 5},
				},
				Spent:     &money.Money{CurrencyCode: "USD", Nanos: 1_230},
				Remaining: &money.Money{CurrencyCode: "USD", Nanos: 8_200_000},
				ResetTime: reset,
			}}},
			want: []string{"LIMIT", "SPENT", "REMAINING", "RESETS", "search-monthly", "team/search", "monthly", "$5.00", "$0.00000123", "$0.0082", "2026-04-01T00:00:00Z"},
		},
		{
			name: "lifetime budgets never reset",
			resp: &tollgatev1.GetBudgetStatusResponse{Statuses: []*tollgatev1.BudgetStatus{{
				Budget:      &tollgatev1.Budget{Id: "k", KeyId: "key_1", Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_LIFETIME, LimitTokens: 100},
				SpentTokens: 40,
			}}},
			want: []string{"key/key_1", "lifetime", "40/100", "never"},
		},
		{
			name: "webhooks show the hint only",
			resp: &tollgatev1.ListAlertWebhooksResponse{Webhooks: []*tollgatev1.AlertWebhook{{Id: "ops", UrlHint: "https://hooks.example"}}},
			want: []string{"ops", "https://hooks.example", "all"},
		},
		{
			name: "routes list",
			resp: &tollgatev1.ListRoutesResponse{Routes: []*tollgatev1.Route{{
				Name: "smart", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_LEAST_BUSY,
				Targets: []*tollgatev1.RouteTarget{{ProviderId: "a", Model: "m", Weight: 2}, {Model: "gpt-4o-mini"}},
			}}},
			want: []string{"smart", "least-busy", "a/m:2,gpt-4o-mini", "ETAG"},
		},
		{
			name: "audit events",
			resp: &tollgatev1.ListAdminAuditEventsResponse{Events: []*tollgatev1.AdminAuditEvent{{
				Id: 7, Actor: "admin-token", Action: "SetBudget", ResourceKind: "budget", ResourceId: "b1", Outcome: "ok", Summary: `{"x":1}`,
			}}, NextPageToken: "n"},
			want: []string{"SetBudget", "budget", "b1", "ok"},
			not:  []string{`{"x":1}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			if err := writeTable(&b, tt.resp, false); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("table lacks %q:\n%s", w, b.String())
				}
			}
			for _, n := range tt.not {
				if strings.Contains(b.String(), n) {
					t.Errorf("table has %q:\n%s", n, b.String())
				}
			}
		})
	}
}
