// Package observability holds the Grafana dashboard and the Prometheus
// alerting rules shipped for Tollgate; its test checks that every PromQL
// expression in them parses and names only metrics a running gateway
// exports.
package observability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"connectrpc.com/connect"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/types/known/structpb"
	"sigs.k8s.io/yaml"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// expressions returns every PromQL expression of the dashboard (panel
// targets; a template variable's label_values(metric, label) query names
// its metric) and of the rules (alerts and recording rules).
func expressions(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	raw, err := os.ReadFile("tollgate-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for i, tg := range p.Targets {
			out[fmt.Sprintf("dashboard panel %q target %d", p.Title, i)] = tg.Expr
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)
	for _, v := range dash.Templating.List {
		var q struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &q) != nil || q.Query == "" {
			continue // a data source variable
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, q.Query)
			continue
		}
		out["dashboard variable "+v.Name] = m[1]
	}
	raw, err = os.ReadFile("tollgate-alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert  string `json:"alert"`
				Record string `json:"record"`
				Expr   string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(raw, &rules, yaml.DisallowUnknownFields); err != nil {
		// Annotations and labels are maps the struct leaves out.
		if err := yaml.Unmarshal(raw, &rules); err != nil {
			t.Fatalf("rules: %v", err)
		}
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out["rule "+g.Name+"/"+r.Alert+r.Record] = r.Expr
		}
	}
	return out
}

// TestAssetsQueryExportedMetrics: every expression parses, and every
// metric it selects is on a gateway's /metrics after a few requests (a
// served one, a cache hit, an upstream error, a guardrail block and a
// budget refusal, so that every family has series).
func TestAssetsQueryExportedMetrics(t *testing.T) {
	t.Parallel()
	exprs := expressions(t)
	if len(exprs) < 20 {
		t.Fatalf("only %d expressions found", len(exprs))
	}
	exported := scrapeAfterTraffic(t)
	promql := parser.NewParser(parser.Options{})
	for where, e := range exprs {
		ast, err := promql.ParseExpr(e)
		if err != nil {
			t.Errorf("%s: %q does not parse: %v", where, e, err)
			continue
		}
		parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			name := vs.Name
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suffix); ok && exported[base] == dto.MetricType_HISTOGRAM {
					name = base
				}
			}
			if _, ok := exported[name]; !ok || (name != vs.Name && exported[name] != dto.MetricType_HISTOGRAM) {
				t.Errorf("%s: metric %q is not exported by the gateway", where, vs.Name)
			}
			return nil
		})
	}
}

// scrapeAfterTraffic runs a gateway on the embedded store in front of a
// fake upstream, sends a few requests and returns the metric families of
// its /metrics with their types.
func scrapeAfterTraffic(t *testing.T) map[string]dto.MetricType {
	t.Helper()
	up, url := fakeupstream.StartOpenAI(t)
	g := servertest.Start(t, servertest.Options{Embedded: true, Config: func(c *server.Config) { c.Cache.Mode = "exact" }})
	key := g.Setup(t, url)
	ctx := context.Background()
	if _, err := g.Admin.SetBudget(ctx, connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
		Id: "team-daily", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_TEAM, TeamId: servertest.TeamID,
		Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY, Limit: &money.Money{CurrencyCode: "USD", Units: 5}}})); err != nil {
		t.Fatal(err)
	}
	guardID, guardKey := g.CreateKey(t, servertest.TeamID)
	cfg, _ := structpb.NewStruct(map[string]any{"types": []any{"email"}})
	if _, err := g.Admin.CreateGuardrailPolicy(ctx, connect.NewRequest(&tollgatev1.CreateGuardrailPolicyRequest{
		Policy: &tollgatev1.GuardrailPolicy{Id: "no-pii", AttachKind: tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_KEY, AttachTo: guardID,
			Guardrails: []*tollgatev1.Guardrail{{Name: "pii", Kind: "pii", Stage: tollgatev1.GuardrailStage_GUARDRAIL_STAGE_INPUT, Config: cfg,
				Mode: tollgatev1.GuardrailMode_GUARDRAIL_MODE_VALIDATE, OnMatch: tollgatev1.GuardrailOnMatch_GUARDRAIL_ON_MATCH_BLOCK}}}})); err != nil {
		t.Fatal(err)
	}
	poorID, poorKey := g.CreateKey(t, servertest.TeamID)
	if _, err := g.Admin.SetBudget(ctx, connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
		Id: "poor", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, KeyId: poorID, TeamId: servertest.TeamID,
		Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY, LimitTokens: 1}})); err != nil {
		t.Fatal(err)
	}
	post := func(key, text string, stream bool) int {
		body := fmt.Sprintf(`{"model":%q,"stream":%t,"messages":[{"role":"user","content":%q}]}`, servertest.ChatModel, stream, text)
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	post(key, "a streamed question", true)
	up.Enqueue(fakeupstream.StatusFault(http.StatusBadRequest))
	post(key, "an upstream error", false)
	post(guardKey, "write to alice.smith@example.com", false)
	post(poorKey, "too expensive", false)
	testutil.Eventually(t, func() error {
		post(key, "a question asked twice", false)
		if fams := scrape(t, g); fams["tollgate_cache_saved_usd_total"] == nil {
			return fmt.Errorf("no cache hit yet")
		}
		return nil
	})
	out := map[string]dto.MetricType{}
	for name, f := range scrape(t, g) {
		out[name] = f.GetType()
	}
	return out
}

func scrape(t *testing.T, g *servertest.Gateway) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+g.Config.MetricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}
