package configfile_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tollgate-dev/tollgate/service/configfile"
)

const base = `
providers:
  - id: openai
    type: openai
    credential: env:OPENAI_API_KEY
models:
  - name: gpt-4o
    provider: openai
teams:
  - id: search
    services: [indexer]
keys:
  - name: indexer
    team: search
    service: indexer
`

func TestLoadAndValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		// want is a substring of the error; "" means valid.
		want string
	}{
		{"valid", base, ""},
		{"unknown field names file and line", base + "budgets:\n  - id: b\n    team: search\n    period: daily\n    limit: \"1\"\n    bogus: 1\n", "test.yaml:21:5: unknown field \"bogus\""},
		{"wrong type", "teams:\n  - id: [1]\n", "test.yaml:2:"},
		{"literal credential refused", strings.Replace(base, "env:OPENAI_API_KEY", "sk-live-0123456789", 1),
			`test.yaml:3: provider "openai": credential must be a reference (env:, file:, vault:, aws-sm:, gcp-sm:), never a literal secret`},
		{"malformed reference", strings.Replace(base, "env:OPENAI_API_KEY", "env:1BAD", 1), `provider "openai": credential invalid credential reference`},
		{"unknown enum", strings.Replace(base, "type: openai", "type: openia", 1), `type "openia" is not one of openai, openai_compatible, anthropic, azure_openai, gemini, bedrock`},
		{"undeclared provider", strings.Replace(base, "provider: openai", "provider: azure", 1), `test.yaml:7: model "gpt-4o": provider "azure" is not declared`},
		{"undeclared service", strings.Replace(base, "service: indexer", "service: ranker", 1), `key "search/indexer": service "ranker" is not declared in team "search"`},
		{"amount", base + "budgets:\n  - id: b\n    team: search\n    period: daily\n    limit: \"1.0000000001\"\n", "more than 9 decimals"},
		{"budget needs a limit", base + "budgets:\n  - id: b\n    team: search\n    period: daily\n", `budget "b": needs a limit or limit_tokens`},
		{"duration", base + "routes:\n  - name: r\n    strategy: fallback\n    targets: [{model: gpt-4o}]\n    timeout: 5 minutes\n", `route "r": timeout: "5 minutes" is not a duration`},
		{"two guardrail kinds", base + "guardrails:\n  - id: p\n    attach: {team: search}\n    guardrails:\n      - name: g\n        pii: {}\n        secrets: {}\n", "sets both pii and secrets"},
		{"unknown guardrail config field", base + "guardrails:\n  - id: p\n    attach: {team: search}\n    guardrails:\n      - name: g\n        pii: {entities: [email]}\n", `unknown field "entities"`},
		{"alert url literal", base + "alerts:\n  - id: ops\n    url: https://hooks.example.com/x\n", "url must be a reference (env:NAME or file:/path), never a literal URL"},
		{"duplicate team in a second document", base + "---\nteams:\n  - id: search\n", `test.yaml:18: team "search": declared twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := configfile.Parse("test.yaml", []byte(tt.yaml))
			if err == nil {
				err = configfile.Validate(l)
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestUSD(t *testing.T) {
	t.Parallel()
	for in, want := range map[configfile.USD]int64{"": 0, "2.50": 2_500_000_000, "0.000000001": 1, "$3": 3_000_000_000, ".5": 500_000_000} {
		got, err := in.Nanos()
		if err != nil || got != want {
			t.Errorf("%q.Nanos() = %d, %v; want %d", in, got, err, want)
		}
		if back, _ := configfile.USDFromNanos(got).Nanos(); back != want {
			t.Errorf("round trip of %q: %d", in, back)
		}
	}
	if s := configfile.USDFromNanos(2_500_000_000); s != "2.50" {
		t.Errorf("USDFromNanos = %q, want 2.50", s)
	}
	for _, bad := range []configfile.USD{"abc", "-1", "1.2.3"} {
		if _, err := bad.Nanos(); err == nil {
			t.Errorf("%q.Nanos() accepted", bad)
		}
	}
}

// TestExampleMatchesSchema validates the shipped example against the
// published JSON Schema, as an editor or a CI job would.
func TestExampleMatchesSchema(t *testing.T) {
	t.Parallel()
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(filepath.Join("../..", configfile.SchemaPath))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../../deploy/examples/config/*.yaml")
	if len(files) == 0 {
		t.Fatal("no example files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		j, err := yaml.YAMLToJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(j)))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// And a literal credential fails the schema too.
	bad := map[string]any{"providers": []any{map[string]any{"id": "x", "type": "openai", "credential": "sk-live"}}}
	b, _ := json.Marshal(bad)
	inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if sch.Validate(inst) == nil {
		t.Error("the schema accepts a literal credential")
	}
}
