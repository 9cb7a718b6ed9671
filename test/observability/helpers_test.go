package observability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/types/known/structpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// scrape reads the gateway's /metrics.
func scrape(t testing.TB, g *servertest.Gateway) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+g.Config.MetricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sum adds the values of name's samples whose labels include want.
func sum(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	total := 0.0
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

// usd is a price in US dollars as google.type.Money.
func usd(nanos int32) *money.Money { return &money.Money{CurrencyCode: "USD", Nanos: nanos} }

func must(t testing.TB) func(any, error) {
	return func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("setup: %v", err)
		}
	}
}

// provider registers an OpenAI-compatible provider at url.
func provider(t testing.TB, g *servertest.Gateway, id, url string) {
	t.Helper()
	must(t)(g.Admin.CreateProvider(context.Background(), connect.NewRequest(&tollgatev1.CreateProviderRequest{
		Provider: &tollgatev1.Provider{Id: id, Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, BaseUrl: url}, Credential: "sk-test"})))
}

// chatModel registers a chat model priced per million tokens (in nano-USD units of money.Nanos).
func chatModel(t testing.TB, g *servertest.Gateway, name, prov string, in, out *money.Money) {
	t.Helper()
	must(t)(g.Admin.CreateModel(context.Background(), connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
		Name: name, ProviderId: prov, ContextWindow: 128000,
		Pricing: &tollgatev1.ModelPricing{InputPerMillion: in, OutputPerMillion: out}}})))
}

func team(t testing.TB, g *servertest.Gateway, id string) {
	t.Helper()
	must(t)(g.Admin.CreateTeam(context.Background(), connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: id, DisplayName: id}})))
}

// answer is a chat completion's outcome as the caller saw it.
type answer struct {
	status          int
	header          http.Header
	body            []byte
	prompt, compl   int64
	requestID, code string
}

// chat sends an OpenAI chat completion with key.
func chat(t testing.TB, g *servertest.Gateway, key, model, text string, header http.Header) answer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": model, "messages": []any{map[string]any{"role": "user", "content": text}}})
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b, requestID: resp.Header.Get("X-Request-Id")}
	var v struct {
		Usage struct {
			Prompt     int64 `json:"prompt_tokens"`
			Completion int64 `json:"completion_tokens"`
		} `json:"usage"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &v)
	a.prompt, a.compl, a.code = v.Usage.Prompt, v.Usage.Completion, v.Error.Code
	return a
}

// logLines returns the gateway's log lines whose msg is "request".
func logLines(t testing.TB, g *servertest.Gateway) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(g.Logs.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

// piiBlock is an input guardrail blocking e-mail addresses.
func piiBlock(t testing.TB) *tollgatev1.Guardrail {
	t.Helper()
	cfg, err := structpb.NewStruct(map[string]any{"types": []any{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	return &tollgatev1.Guardrail{Name: "pii", Kind: "pii", Stage: tollgatev1.GuardrailStage_GUARDRAIL_STAGE_INPUT, Config: cfg,
		Mode: tollgatev1.GuardrailMode_GUARDRAIL_MODE_VALIDATE, OnMatch: tollgatev1.GuardrailOnMatch_GUARDRAIL_ON_MATCH_BLOCK}
}
