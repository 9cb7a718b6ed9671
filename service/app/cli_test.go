package app

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

func TestParseCLI(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	credFile := filepath.Join(t.TempDir(), "cred")
	if err := os.WriteFile(credFile, []byte("sk-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TOLLGATE_ADMIN_TOKEN": "env-token", "OPENAI_KEY": "sk-from-env"}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string // replaces env when set
		want  proto.Message
		addr  string // default: defaultClientAddr
		token string // default: env-token
		json  bool
	}{
		{
			name: "keys create",
			args: []string{"keys", "create", "--team", "search", "--name", "indexer", "--service", "crawler", "--models", "gpt-4o-mini,embed", "--tag", "env=prod", "--expires", "30d"},
			want: &tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{
				Name: "indexer", TeamId: "search", ServiceId: "crawler", AllowedModels: []string{"gpt-4o-mini", "embed"},
				Tags: map[string]string{"env": "prod"}, ExpireTime: timestamppb.New(now.Add(30 * 24 * time.Hour)),
			}},
		},
		{
			name: "keys list with flags after the verb and json",
			args: []string{"keys", "list", "--team=search", "--all", "--json"},
			want: &tollgatev1.ListKeysRequest{TeamId: "search", IncludeRevoked: true},
			json: true,
		},
		{
			name: "keys revoke with a flag after the operand",
			args: []string{"keys", "revoke", "key_123", "--addr", "https://gw.example:8443/", "--yes"},
			want: &tollgatev1.RevokeKeyRequest{Id: "key_123"},
			addr: "https://gw.example:8443",
		},
		{
			name: "keys rotate with grace",
			args: []string{"keys", "rotate", "--grace", "1d", "key_123"},
			want: &tollgatev1.RotateKeyRequest{Id: "key_123", GracePeriod: durationpb.New(24 * time.Hour)},
		},
		{
			name: "teams create",
			args: []string{"teams", "create", "search", "--name", "Search Platform", "--label", "cost-center=42"},
			want: &tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: "search", DisplayName: "Search Platform", Labels: map[string]string{"cost-center": "42"}}},
		},
		{name: "teams list", args: []string{"teams", "list"}, want: &tollgatev1.ListTeamsRequest{}},
		{name: "teams delete", args: []string{"teams", "delete", "search", "--yes"}, want: &tollgatev1.DeleteTeamRequest{Id: "search"}},
		{
			name: "providers add with the credential from the environment",
			args: []string{"providers", "add", "openai-prod", "--type", "openai", "--credential-env", "OPENAI_KEY"},
			want: &tollgatev1.CreateProviderRequest{Provider: &tollgatev1.Provider{Id: "openai-prod", Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI}, Credential: "sk-from-env"},
		},
		{
			name: "providers add with the credential from a file",
			args: []string{"providers", "add", "vllm", "--type", "openai-compatible", "--base-url", "http://vllm:8000/v1", "--credential-file", credFile, "--setting", "a=b"},
			want: &tollgatev1.CreateProviderRequest{
				Provider:   &tollgatev1.Provider{Id: "vllm", Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI_COMPATIBLE, BaseUrl: "http://vllm:8000/v1", Settings: map[string]string{"a": "b"}},
				Credential: "sk-from-file",
			},
		},
		{name: "providers list", args: []string{"providers", "list"}, want: &tollgatev1.ListProvidersRequest{}},
		{
			name: "models add with exact prices",
			args: []string{"models", "add", "gpt-4o-mini", "--provider", "openai-prod", "--context-window", "128000", "--input-price", "0.15", "--output-price", "0.6", "--cached-input-price", ".075"},
			want: &tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
				Name: "gpt-4o-mini", ProviderId: "openai-prod", ContextWindow: 128000,
				Pricing: &tollgatev1.ModelPricing{
					InputPerMillion:       &money.Money{CurrencyCode: "USD", Nanos: 150_000_000},
					OutputPerMillion:      &money.Money{CurrencyCode: "USD", Nanos: 600_000_000},
					CachedInputPerMillion: &money.Money{CurrencyCode: "USD", Nanos: 75_000_000},
				},
			}},
		},
		{
			name: "models add embedding without prices",
			args: []string{"models", "add", "embed", "--provider", "p", "--embedding", "--upstream-model", "text-embedding-3-small"},
			want: &tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{Name: "embed", ProviderId: "p", UpstreamModel: "text-embedding-3-small", Embedding: true}},
		},
		{name: "models list", args: []string{"models", "list"}, want: &tollgatev1.ListAllModelsRequest{}},
		{
			name: "usage report by team and service since 30 days",
			args: []string{"usage", "report", "--by", "team,service", "--since", "30d"},
			want: &tollgatev1.GetUsageSummaryRequest{
				GroupBy:   []tollgatev1.UsageDimension{tollgatev1.UsageDimension_USAGE_DIMENSION_TEAM, tollgatev1.UsageDimension_USAGE_DIMENSION_SERVICE},
				StartTime: timestamppb.New(now.Add(-30 * 24 * time.Hour)),
			},
		},
		{
			name: "usage report with a Go duration, an end and a team",
			args: []string{"usage", "report", "--since", "90m", "--until", "30m", "--team", "search", "--by", "model"},
			want: &tollgatev1.GetUsageSummaryRequest{
				GroupBy:   []tollgatev1.UsageDimension{tollgatev1.UsageDimension_USAGE_DIMENSION_MODEL},
				StartTime: timestamppb.New(now.Add(-90 * time.Minute)), EndTime: timestamppb.New(now.Add(-30 * time.Minute)), TeamId: "search",
			},
		},
		{
			name:  "address and token from the environment",
			args:  []string{"teams", "list"},
			env:   map[string]string{"TOLLGATE_ADDR": "127.0.0.1:9999", "TOLLGATE_ADMIN_TOKEN": "t2"},
			want:  &tollgatev1.ListTeamsRequest{},
			addr:  "http://127.0.0.1:9999",
			token: "t2",
		},
		{
			name:  "flags win over the environment",
			args:  []string{"teams", "list", "--token", "flag-token", "--addr", "http://a:1"},
			want:  &tollgatev1.ListTeamsRequest{},
			addr:  "http://a:1",
			token: "flag-token",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := env
			if tt.env != nil {
				e = tt.env
			}
			cmd, err := parseCLI(tt.args, func(k string) string { return e[k] }, now)
			if err != nil {
				t.Fatalf("parseCLI: %v", err)
			}
			if !proto.Equal(cmd.req, tt.want) {
				t.Errorf("request = %v\nwant      %v", cmd.req, tt.want)
			}
			addr, token := tt.addr, tt.token
			if addr == "" {
				addr = defaultClientAddr
			}
			if token == "" {
				token = "env-token"
			}
			if cmd.addr != addr || cmd.token != token || (cmd.output == "json") != tt.json {
				t.Errorf("addr, token, json = %q, %q, %v; want %q, %q, %v", cmd.addr, cmd.token, cmd.output == "json", addr, token, tt.json)
			}
			if cmd.name != tt.args[0]+" "+tt.args[1] {
				t.Errorf("name = %q", cmd.name)
			}
		})
	}
}

func TestParseCLIErrors(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TOLLGATE_ADMIN_TOKEN": "tok"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // substring of the error
	}{
		{"no verb", []string{"keys"}, nil, "missing subcommand"},
		{"unknown verb", []string{"keys", "destroy"}, nil, `unknown command "keys destroy"`},
		{"unknown budgets verb", []string{"budgets", "raise"}, nil, `unknown command "budgets raise"`},
		{"unknown flag", []string{"keys", "list", "--color"}, nil, "unknown flag: --color"},
		{"create without team", []string{"keys", "create"}, nil, "--team is required"},
		{"revoke without id", []string{"keys", "revoke"}, nil, "exactly one KEY_ID"},
		{"revoke with two ids", []string{"keys", "revoke", "a", "b"}, nil, "exactly one KEY_ID"},
		{"list with an operand", []string{"teams", "list", "x"}, nil, "unexpected arguments"},
		{"bad expiry", []string{"keys", "create", "--team", "t", "--expires", "soon"}, nil, "--expires"},
		{"negative grace", []string{"keys", "rotate", "k", "--grace", "-1h"}, nil, "--grace"},
		{"bad tag", []string{"keys", "create", "--team", "t", "--tag", "novalue"}, nil, "not key=value"},
		{"bad provider type", []string{"providers", "add", "p", "--type", "cohere"}, nil, `--type "cohere"`},
		{"empty credential env", []string{"providers", "add", "p", "--type", "openai", "--credential-env", "NOPE"}, nil, "$NOPE is empty"},
		{"both credential sources", []string{"providers", "add", "p", "--type", "openai", "--credential-env", "A", "--credential-file", "f"}, nil, "exclude each other"},
		{"model without provider", []string{"models", "add", "m"}, nil, "--provider is required"},
		{"price with too many decimals", []string{"models", "add", "m", "--provider", "p", "--input-price", "0.0000000001"}, nil, "--input-price"},
		{"negative price", []string{"models", "add", "m", "--provider", "p", "--output-price", "-1"}, nil, "--output-price"},
		{"unknown dimension", []string{"usage", "report", "--by", "team,colour"}, nil, `--by "colour"`},
		{"bad since", []string{"usage", "report", "--since", "yesterday"}, nil, "--since"},
		{"until after since", []string{"usage", "report", "--since", "1h", "--until", "2h"}, nil, "--until"},
		{"bad address scheme", []string{"teams", "list", "--addr", "ftp://x"}, nil, "want an http:// or https:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := env
			if tt.env != nil {
				e = tt.env
			}
			_, err := parseCLI(tt.args, func(k string) string { return e[k] }, time.Now())
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseCLIHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"keys", "-h"}, {"usage", "--help"}, {"keys", "list", "-h"}} {
		if _, err := parseCLI(args, func(string) string { return "" }, time.Now()); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("parseCLI(%q) = %v, want flag.ErrHelp", args, err)
		}
	}
}

func TestParseDays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"30d", 30 * 24 * time.Hour, false},
		{"0d", 0, false},
		{"1d", 24 * time.Hour, false},
		{"36h", 36 * time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"d", 0, true},
		{"1.5d", 0, true},
		{"99999999d", 0, true},
		{"week", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := parseDays(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseDays(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseUSD(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		units   int64
		nanos   int32
		wantErr bool
	}{
		{"0.15", 0, 150_000_000, false},
		{"2", 2, 0, false},
		{"$3.5", 3, 500_000_000, false},
		{".000000001", 0, 1, false},
		{"10.123456789", 10, 123_456_789, false},
		{"1.0000000001", 0, 0, true},
		{"-1", 0, 0, true},
		{"1.-5", 0, 0, true},
		{"1.+5", 0, 0, true},
		{"", 0, 0, true},
		{".", 0, 0, true},
		{"abc", 0, 0, true},
	}
	for _, tt := range tests {
		got, err := parseUSD(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("parseUSD(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got.GetUnits() != tt.units || got.GetNanos() != tt.nanos || got.GetCurrencyCode() != "USD" {
			t.Errorf("parseUSD(%q) = %v, %v; want %d units %d nanos USD", tt.in, got, err, tt.units, tt.nanos)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   *money.Money
		want string
	}{
		{nil, "-"},
		{&money.Money{}, "0.00"},
		{&money.Money{Units: 12}, "12.00"},
		{&money.Money{Nanos: 150_000_000}, "0.15"},
		{&money.Money{Nanos: 123}, "0.000000123"},
		{&money.Money{Units: 1, Nanos: 500_000_000}, "1.50"},
		{&money.Money{Units: -1, Nanos: -250_000_000}, "-1.25"},
		{&money.Money{Nanos: -5}, "-0.000000005"},
	}
	for _, tt := range tests {
		if got := formatMoney(tt.in); got != tt.want {
			t.Errorf("formatMoney(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
