package sdk_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
	"google.golang.org/genai"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/providers/anthropic/anthropictest"
	"github.com/tollgate-dev/tollgate/providers/bedrock/bedrocktest"
	"github.com/tollgate-dev/tollgate/providers/vertex/vertextest"
)

// cloudsFixture is the common fixture plus a Bedrock provider (the fake
// Bedrock runtime, which checks every request's SigV4 signature), a
// Vertex AI provider (the fake Vertex endpoint, which accepts only
// access tokens its token endpoint granted to the test service account)
// and an Anthropic provider for fallbacks.
type cloudsFixture struct {
	*fixture
	bedrock *bedrocktest.Server
	vertex  *vertextest.Fixture
	claude  *anthropictest.Server
}

// The models of the clouds fixture, by the names clients use.
var cloudChatModels = map[string]string{
	"bedrock-claude": "us.anthropic.claude-sonnet-4-20250514-v1:0",
	"bedrock-llama":  "meta.llama3-1-70b-instruct-v1:0",
	"vertex-gemini":  "gemini-2.5-flash",
	"vertex-claude":  "claude-sonnet-4-5-20250929",
}

func startCloudsFixture(t *testing.T) *cloudsFixture {
	t.Helper()
	f := &cloudsFixture{fixture: startFixture(t)}
	var bedrockURL, claudeURL string
	f.bedrock, bedrockURL = bedrocktest.Start(t)
	f.vertex = vertextest.Start(t)
	f.claude, claudeURL = anthropictest.Start(t, anthropictest.WithAPIKey("sk-fake-anthropic"))
	creds := bedrocktest.TestCredentials
	f.addCloudProvider(t, &tollgatev1.Provider{Id: "bedrock", Type: tollgatev1.ProviderType_PROVIDER_TYPE_BEDROCK, BaseUrl: bedrockURL,
		Settings: map[string]string{"region": bedrocktest.TestRegion}}, creds.AccessKeyID+":"+creds.SecretAccessKey)
	f.addCloudProvider(t, &tollgatev1.Provider{Id: "vertex", Type: tollgatev1.ProviderType_PROVIDER_TYPE_VERTEX, BaseUrl: f.vertex.URL,
		Settings: map[string]string{"project": vertextest.Project, "location": vertextest.Location}}, string(f.vertex.Account.JSON))
	f.addCloudProvider(t, &tollgatev1.Provider{Id: "anthropic-direct", Type: tollgatev1.ProviderType_PROVIDER_TYPE_ANTHROPIC, BaseUrl: claudeURL},
		"sk-fake-anthropic")
	for name, upstream := range cloudChatModels {
		provider, _, _ := strings.Cut(name, "-")
		f.addModel(t, &tollgatev1.Model{Name: name, ProviderId: provider, UpstreamModel: upstream, ContextWindow: 200000})
	}
	f.addModel(t, &tollgatev1.Model{Name: "bedrock-titan", ProviderId: "bedrock", UpstreamModel: "amazon.titan-embed-text-v2:0", Embedding: true})
	f.addModel(t, &tollgatev1.Model{Name: "bedrock-cohere", ProviderId: "bedrock", UpstreamModel: "cohere.embed-english-v3", Embedding: true})
	f.addModel(t, &tollgatev1.Model{Name: "vertex-embed", ProviderId: "vertex", UpstreamModel: "text-embedding-005", Embedding: true})
	f.addModel(t, &tollgatev1.Model{Name: "claude-direct", ProviderId: "anthropic-direct", UpstreamModel: "claude-sonnet-4-5-20250929", ContextWindow: 200000})
	if _, err := f.g.Admin.CreateRoute(context.Background(), connect.NewRequest(&tollgatev1.CreateRouteRequest{Route: &tollgatev1.Route{
		Name: "claude", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
		Targets: []*tollgatev1.RouteTarget{{Model: "bedrock-claude"}, {Model: "claude-direct"}},
	}})); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *cloudsFixture) addCloudProvider(t *testing.T, p *tollgatev1.Provider, credential string) {
	t.Helper()
	if _, err := f.g.Admin.CreateProvider(context.Background(), connect.NewRequest(&tollgatev1.CreateProviderRequest{Provider: p, Credential: credential})); err != nil {
		t.Fatalf("CreateProvider %s: %v", p.Id, err)
	}
}

func (f *cloudsFixture) addModel(t *testing.T, m *tollgatev1.Model) {
	t.Helper()
	if _, err := f.g.Admin.CreateModel(context.Background(), connect.NewRequest(&tollgatev1.CreateModelRequest{Model: m})); err != nil {
		t.Fatalf("CreateModel %s: %v", m.Name, err)
	}
}

// TestCloudsGo: the official OpenAI and Anthropic Go SDKs through the real
// server against Bedrock (Claude and Llama) and Vertex AI (Gemini and
// Claude): unary, stream, a tool round trip and embeddings; and a Bedrock
// ThrottlingException falling back to Anthropic direct.
func TestCloudsGo(t *testing.T) {
	t.Parallel()
	f := startCloudsFixture(t)
	ctx := context.Background()
	oc := f.client(f.key)
	ac := anthropic.NewClient(aoption.WithBaseURL(f.g.URL), aoption.WithAPIKey(f.key), aoption.WithMaxRetries(0))
	lookup := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "lookup", Description: openai.String("looks things up"),
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"text": map[string]any{"type": "string"}}},
	})}

	for model := range cloudChatModels {
		t.Run(model, func(t *testing.T) {
			t.Parallel()
			t.Run("openai", func(t *testing.T) {
				t.Parallel()
				resp, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hello clouds")}})
				if err != nil {
					t.Fatal(err)
				}
				text := resp.Choices[0].Message.Content
				if !strings.Contains(text, "hello clouds") || resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens == 0 {
					t.Errorf("unary %+v", resp)
				}
				s := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: model,
					Messages:      []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hello clouds")},
					StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
				acc, chunks := accumulateOpenAI(t, s)
				if chunks < 3 || acc.Choices[0].Message.Content != text || acc.Usage.TotalTokens == 0 {
					t.Errorf("stream of %d chunks %q usage %+v, unary %q", chunks, acc.Choices[0].Message.Content, acc.Usage, text)
				}

				params := openai.ChatCompletionNewParams{Model: model, Tools: lookup,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("please call lookup")}}
				resp, err = oc.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				msg := resp.Choices[0].Message
				if resp.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "lookup" {
					t.Fatalf("want a lookup call, got %+v", resp.Choices[0])
				}
				params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage("42 apples", msg.ToolCalls[0].ID))
				resp, err = oc.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				if got := resp.Choices[0].Message.Content; !strings.Contains(got, "42 apples") {
					t.Errorf("answer %q does not use the tool result", got)
				}
			})
			t.Run("anthropic", func(t *testing.T) {
				t.Parallel()
				params := anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 256,
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello clouds"))}}
				msg, err := ac.Messages.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				if len(msg.Content) == 0 || !strings.Contains(msg.Content[0].Text, "hello clouds") || msg.Usage.OutputTokens == 0 {
					t.Errorf("message %+v", msg)
				}
				acc := accumulateAnthropic(t, ac.Messages.NewStreaming(ctx, params))
				if len(acc.Content) == 0 || acc.Content[0].Text != msg.Content[0].Text || acc.StopReason != anthropic.StopReasonEndTurn {
					t.Errorf("streamed %+v, unary %q", acc.Content, msg.Content[0].Text)
				}

				params.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("please call lookup"))}
				params.Tools = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "lookup",
					InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"text": map[string]any{"type": "string"}}}}}}
				msg, err = ac.Messages.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				var call *anthropic.ContentBlockUnion
				for i := range msg.Content {
					if msg.Content[i].Type == "tool_use" {
						call = &msg.Content[i]
					}
				}
				if msg.StopReason != anthropic.StopReasonToolUse || call == nil || call.Name != "lookup" {
					t.Fatalf("want a lookup call, got %+v", msg)
				}
				params.Messages = append(params.Messages, msg.ToParam(), anthropic.NewUserMessage(anthropic.NewToolResultBlock(call.ID, "42 apples", false)))
				msg, err = ac.Messages.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				if len(msg.Content) == 0 || !strings.Contains(msg.Content[0].Text, "42 apples") {
					t.Errorf("answer %+v does not use the tool result", msg.Content)
				}
			})
		})
	}

	for _, model := range []string{"bedrock-titan", "bedrock-cohere", "vertex-embed"} {
		t.Run(model, func(t *testing.T) {
			t.Parallel()
			resp, err := oc.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: model,
				Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}}})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Data) != 2 || len(resp.Data[0].Embedding) == 0 || resp.Data[1].Index != 1 {
				t.Errorf("embeddings %+v", resp.Data)
			}
		})
	}

	t.Run("genai to vertex-gemini", func(t *testing.T) {
		t.Parallel()
		c, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: f.key, Backend: genai.BackendGeminiAPI,
			HTTPOptions: genai.HTTPOptions{BaseURL: f.g.URL, APIVersion: "v1beta"}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Models.GenerateContent(ctx, "vertex-gemini", genai.Text("hello from genai"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(resp.Text(), "hello from genai") {
			t.Errorf("answer %q", resp.Text())
		}
		var sent string
		for _, r := range f.vertex.Requests() {
			if strings.Contains(string(r.Body), "hello from genai") {
				sent = string(r.Body)
			}
		}
		if !strings.Contains(sent, `"contents":[{"parts":[{"text":"hello from genai"}],"role":"user"}]`) {
			t.Errorf("Vertex got %s, want the SDK's body passed through", sent)
		}
	})

	t.Run("fallback on throttling", func(t *testing.T) {
		t.Parallel()
		before := len(f.claude.Requests())
		var throttled atomic.Int64
		f.bedrock.Apply(bedrocktest.WithFaultFunc(func(r *bedrocktest.Request) (bedrocktest.Fault, bool) {
			if strings.Contains(string(r.Body), "fall back") {
				throttled.Add(1)
				return bedrocktest.ThrottlingFault(), true
			}
			return bedrocktest.Fault{}, false
		}))
		msg, err := ac.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude", MaxTokens: 64,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("fall back"))}})
		if err != nil {
			t.Fatal(err)
		}
		if len(msg.Content) == 0 || len(f.claude.Requests()) != before+1 || throttled.Load() == 0 {
			t.Errorf("message %+v; Bedrock throttled %d, Anthropic direct got %d requests", msg, throttled.Load(), len(f.claude.Requests())-before)
		}
	})

	if f.bedrock.Refused() != 0 || f.vertex.Unauthorized() != 0 {
		t.Errorf("refused signatures %d, unauthorized tokens %d", f.bedrock.Refused(), f.vertex.Unauthorized())
	}
}
