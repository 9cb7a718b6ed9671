package sdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genai"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/types/known/structpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/providers/gemini/geminitest"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// Gemini models of the Gemini fixture.
const (
	GeminiModel          = "gemini-2.5-flash"
	GeminiEmbeddingModel = "gemini-embedding-001"
)

// geminiFixture serves a GPT model (OpenAI fake), a Claude model
// (Anthropic fake) and Gemini models (Gemini fake).
type geminiFixture struct {
	*losslessFixture
	gemini *geminitest.Gemini
}

func startGeminiFixture(t *testing.T) *geminiFixture {
	t.Helper()
	f := &geminiFixture{losslessFixture: startLossless(t)}
	var url string
	f.gemini, url = geminitest.Start(t, geminitest.WithAPIKey("sk-fake-gemini"), geminitest.WithReply(reply))
	ctx := context.Background()
	if _, err := f.g.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
		Provider:   &tollgatev1.Provider{Id: "fake-gemini", Type: tollgatev1.ProviderType_PROVIDER_TYPE_GEMINI, BaseUrl: url},
		Credential: "sk-fake-gemini",
	})); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*tollgatev1.Model{
		{Name: GeminiModel, ProviderId: "fake-gemini", ContextWindow: 1_000_000},
		{Name: GeminiEmbeddingModel, ProviderId: "fake-gemini", Embedding: true},
	} {
		if _, err := f.g.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: m})); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// genaiClient returns a Go GenAI SDK client with only its base URL and key
// changed, recording the bodies it sends.
func (f *geminiFixture) genaiClient(t *testing.T, key string, s *sent) *genai.Client {
	t.Helper()
	hc := &http.Client{Transport: recordingTransport{s: s}}
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{APIKey: key, Backend: genai.BackendGeminiAPI,
		HTTPClient: hc, HTTPOptions: genai.HTTPOptions{BaseURL: f.g.URL, APIVersion: "v1beta"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// recordingTransport keeps the bodies a client sends (s may be nil).
type recordingTransport struct{ s *sent }

func (rt recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if rt.s != nil && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		rt.s.bodies = append(rt.s.bodies, b)
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestGeminiGo drives the Go GenAI SDK through the real server against a
// Gemini, an OpenAI and an Anthropic upstream: generateContent, a stream,
// countTokens, embedContent, models, errors in Gemini's shape, budgets,
// rate limits, a PII mutate guardrail and records.
func TestGeminiGo(t *testing.T) {
	t.Parallel()
	f := startGeminiFixture(t)
	ctx := context.Background()

	for _, tc := range []struct{ model, embed string }{
		{GeminiModel, GeminiEmbeddingModel},
		{servertest.ChatModel, servertest.EmbeddingModel},
		{ClaudeModel, ""},
	} {
		t.Run(tc.model, func(t *testing.T) {
			t.Parallel()
			var s sent
			c := f.genaiClient(t, f.key, &s)
			cfg := &genai.GenerateContentConfig{SystemInstruction: genai.NewContentFromText("be brief", genai.RoleUser),
				MaxOutputTokens: 256, Temperature: genai.Ptr[float32](0.2)}

			t.Run("generateContent", func(t *testing.T) {
				resp, err := c.Models.GenerateContent(ctx, tc.model, genai.Text("hello from genai"), cfg)
				if err != nil {
					t.Fatal(err)
				}
				if resp.Text() != reply || resp.UsageMetadata == nil || resp.UsageMetadata.PromptTokenCount == 0 ||
					resp.UsageMetadata.CandidatesTokenCount == 0 || resp.Candidates[0].FinishReason != genai.FinishReasonStop {
					t.Errorf("response %+v text %q", resp, resp.Text())
				}
				if tc.model == GeminiModel { // same dialect: the SDK's body reached the upstream byte for byte
					if got := received(t, f.gemini.Requests(), "hello from genai"); !bytes.Equal(got, s.last()) {
						t.Errorf("the upstream received\n%s\nthe SDK sent\n%s", got, s.last())
					}
				}
			})

			t.Run("stream", func(t *testing.T) {
				var text strings.Builder
				var last *genai.GenerateContentResponse
				n := 0
				for resp, err := range c.Models.GenerateContentStream(ctx, tc.model, genai.Text("stream please"), cfg) {
					if err != nil {
						t.Fatal(err)
					}
					text.WriteString(resp.Text())
					last = resp
					n++
				}
				if text.String() != reply || n < 2 || last.UsageMetadata == nil || last.UsageMetadata.TotalTokenCount == 0 {
					t.Errorf("%d events, text %q, last %+v", n, text.String(), last)
				}
			})

			t.Run("function call round trip", func(t *testing.T) {
				tools := &genai.GenerateContentConfig{Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
					Name: "get_weather", Description: "weather of a city",
					Parameters: &genai.Schema{Type: genai.TypeObject, Properties: map[string]*genai.Schema{"city": {Type: genai.TypeString}},
						Required: []string{"city"}},
				}}}}, ToolConfig: &genai.ToolConfig{FunctionCallingConfig: &genai.FunctionCallingConfig{Mode: genai.FunctionCallingConfigModeAny}}}
				history := genai.Text("what is the weather in Paris? use get_weather")
				resp, err := c.Models.GenerateContent(ctx, tc.model, history, tools)
				if err != nil {
					t.Fatal(err)
				}
				calls := resp.FunctionCalls()
				if len(calls) != 1 || calls[0].Name != "get_weather" {
					t.Fatalf("calls %+v in %+v", calls, resp.Candidates[0].Content)
				}
				history = append(history, resp.Candidates[0].Content,
					genai.NewContentFromFunctionResponse("get_weather", map[string]any{"temperature": "21C"}, genai.RoleUser))
				history[len(history)-1].Parts[0].FunctionResponse.ID = calls[0].ID
				tools.ToolConfig = nil
				final, err := c.Models.GenerateContent(ctx, tc.model, history, tools)
				if err != nil {
					t.Fatal(err)
				}
				if final.Text() == "" || len(final.FunctionCalls()) != 0 {
					t.Errorf("final %+v", final.Candidates[0].Content)
				}
			})

			t.Run("countTokens", func(t *testing.T) {
				ct, err := c.Models.CountTokens(ctx, tc.model, genai.Text("count these words please"), nil)
				if err != nil {
					t.Fatal(err)
				}
				if ct.TotalTokens <= 0 {
					t.Errorf("count %+v", ct)
				}
			})

			if tc.embed != "" {
				t.Run("embedContent", func(t *testing.T) {
					er, err := c.Models.EmbedContent(ctx, tc.embed, []*genai.Content{
						genai.NewContentFromText("first "+tc.embed, genai.RoleUser), genai.NewContentFromText("second", genai.RoleUser)},
						&genai.EmbedContentConfig{TaskType: "RETRIEVAL_DOCUMENT"})
					if err != nil {
						t.Fatal(err)
					}
					if len(er.Embeddings) != 2 || len(er.Embeddings[0].Values) == 0 ||
						slicesEqual(er.Embeddings[0].Values, er.Embeddings[1].Values) {
						t.Errorf("embeddings %+v", er.Embeddings)
					}
					// A Gemini upstream takes taskType (the body passes through);
					// another cannot, and the answer says it was dropped.
					dropped := er.SDKHTTPResponse.Headers.Get("X-Tollgate-Dropped-Params")
					if tc.embed == GeminiEmbeddingModel {
						if got := received(t, f.gemini.Requests(), "first "+tc.embed); !bytes.Equal(got, s.last()) || dropped != "" {
							t.Errorf("the upstream received\n%s\nthe SDK sent\n%s\ndropped %q", got, s.last(), dropped)
						}
					} else if dropped != "taskType" {
						t.Errorf("X-Tollgate-Dropped-Params = %q", dropped)
					}
				})
			}
		})
	}

	t.Run("models", func(t *testing.T) {
		t.Parallel()
		c := f.genaiClient(t, f.key, nil)
		m, err := c.Models.Get(ctx, ClaudeModel, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name != "models/"+ClaudeModel {
			t.Errorf("model %+v", m)
		}
		page, err := c.Models.List(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, m := range page.Items {
			names[m.Name] = true
		}
		if !names["models/"+GeminiModel] || !names["models/"+servertest.ChatModel] || !names["models/"+GeminiEmbeddingModel] {
			t.Errorf("models %v", names)
		}
	})

	t.Run("errors in Gemini's shape", func(t *testing.T) {
		t.Parallel()
		budgetID, budgetKey := f.g.CreateKey(t, servertest.TeamID)
		if _, err := f.g.Admin.SetBudget(ctx, connect.NewRequest(&tollgatev1.SetBudgetRequest{Budget: &tollgatev1.Budget{
			Id: "gemini-tiny", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, KeyId: budgetID,
			Period: tollgatev1.BudgetPeriod_BUDGET_PERIOD_DAILY, Limit: nanoUSD(1)}})); err != nil {
			t.Fatal(err)
		}
		rateID, rateKey := f.g.CreateKey(t, servertest.TeamID)
		if _, err := f.g.Admin.SetRateLimit(ctx, connect.NewRequest(&tollgatev1.SetRateLimitRequest{RateLimit: &tollgatev1.RateLimit{
			Id: "gemini-rpm", Scope: tollgatev1.GovernanceScope_GOVERNANCE_SCOPE_KEY, KeyId: rateID, RequestsPerMinute: 1}})); err != nil {
			t.Fatal(err)
		}
		if _, err := f.genaiClient(t, rateKey, nil).Models.GenerateContent(ctx, servertest.ChatModel, genai.Text("first"), nil); err != nil {
			t.Fatalf("first request under the rate limit: %v", err)
		}
		for _, tc := range []struct {
			name, key, model string
			code             int
			status           string
		}{
			{"bad model", f.key, "no-such-model", http.StatusNotFound, "NOT_FOUND"},
			{"bad key", "tg-not-a-key", GeminiModel, http.StatusUnauthorized, "UNAUTHENTICATED"},
			{"budget refusal", budgetKey, servertest.ChatModel, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED"},
			{"rate limit", rateKey, servertest.ChatModel, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED"},
		} {
			_, err := f.genaiClient(t, tc.key, nil).Models.GenerateContent(ctx, tc.model, genai.Text("refuse me"), nil)
			var ae genai.APIError
			if !errors.As(err, &ae) || ae.Code != tc.code || ae.Status != tc.status || ae.Message == "" {
				t.Errorf("%s: error %#v, want %d %s", tc.name, err, tc.code, tc.status)
			}
		}
	})

	t.Run("REST: key parameter, JSON-array stream, unknown paths", func(t *testing.T) {
		t.Parallel()
		body := `{"contents":[{"parts":[{"text":"array please"}]}]}`
		for _, model := range []string{GeminiModel, ClaudeModel} {
			resp, err := http.Post(f.g.URL+"/v1beta/models/"+model+":streamGenerateContent?key="+f.key, "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			var events []genai.GenerateContentResponse
			if err := json.Unmarshal(b, &events); err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%s: %d %s: %v", model, resp.StatusCode, b, err)
			}
			var text strings.Builder
			for i := range events {
				text.WriteString(events[i].Text())
			}
			if len(events) < 2 || text.String() != reply || events[len(events)-1].UsageMetadata == nil {
				t.Errorf("%s: events %s", model, b)
			}
		}
		for _, tc := range []struct {
			method, path string
			code         int
			status       string
		}{
			{http.MethodPost, "/v1beta/models/" + GeminiModel + ":predict?key=" + f.key, http.StatusNotFound, "NOT_FOUND"},
			{http.MethodGet, "/v1beta/cachedContents?key=" + f.key, http.StatusNotFound, "NOT_FOUND"},
			{http.MethodGet, "/v1beta/models/" + GeminiModel + ":generateContent?key=" + f.key, http.StatusMethodNotAllowed, "INVALID_ARGUMENT"},
			{http.MethodPost, "/v1beta/models/" + GeminiModel + ":generateContent?key=" + f.key, http.StatusBadRequest, "INVALID_ARGUMENT"},
			{http.MethodGet, "/v1beta/models", http.StatusUnauthorized, "UNAUTHENTICATED"},
		} {
			req, _ := http.NewRequest(tc.method, f.g.URL+tc.path, strings.NewReader(`{"contents":[{"role":"robot","parts":[{"text":"x"}]}]}`))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e struct {
				Error struct {
					Code            int
					Message, Status string
				}
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != tc.code || e.Error.Code != tc.code || e.Error.Status != tc.status || e.Error.Message == "" {
				t.Errorf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, b)
			}
		}
	})

	t.Run("PII mutate guardrail and records", func(t *testing.T) {
		t.Parallel()
		id, key := f.g.CreateKey(t, servertest.TeamID)
		cfg, err := structpb.NewStruct(map[string]any{"types": []any{"email"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.g.Admin.CreateGuardrailPolicy(ctx, connect.NewRequest(&tollgatev1.CreateGuardrailPolicyRequest{
			Policy: &tollgatev1.GuardrailPolicy{Id: "gemini-pii", AttachKind: tollgatev1.GuardrailAttachKind_GUARDRAIL_ATTACH_KIND_KEY, AttachTo: id,
				Guardrails: []*tollgatev1.Guardrail{{Name: "pii", Kind: "pii", Stage: tollgatev1.GuardrailStage_GUARDRAIL_STAGE_INPUT, Config: cfg,
					Mode: tollgatev1.GuardrailMode_GUARDRAIL_MODE_MUTATE}}}})); err != nil {
			t.Fatal(err)
		}
		const email = "alice.gemini@example.com"
		for _, model := range []string{GeminiModel, ClaudeModel} {
			c := f.genaiClient(t, key, nil)
			_, err := c.Models.GenerateContent(ctx, model, genai.Text("mail "+email+" about pii-"+model), nil)
			if err != nil {
				t.Fatal(err)
			}
			var body []byte
			if model == GeminiModel {
				body = received(t, f.gemini.Requests(), "pii-"+model)
			} else {
				body = received(t, f.claude.Requests(), "pii-"+model)
			}
			if bytes.Contains(body, []byte(email)) {
				t.Errorf("%s: the upstream received the e-mail address: %s", model, body)
			}
		}
		// Records: the surface, the key and the usage of a Gemini request.
		resp, err := f.genaiClient(t, key, nil).Models.GenerateContent(ctx, servertest.ChatModel, genai.Text("record me"), nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := f.record(t, "req_"+resp.ResponseID)
		if rec.GetSurface() != "gemini" || rec.GetKeyId() != id || rec.GetUsage().GetInputTokens() == 0 || rec.GetUsage().GetOutputTokens() == 0 ||
			rec.GetRequestedModel() != servertest.ChatModel {
			t.Errorf("record %+v", rec)
		}
	})
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// nanoUSD is n nano-USD as Money.
func nanoUSD(n int32) *money.Money { return &money.Money{CurrencyCode: "USD", Nanos: n} }
