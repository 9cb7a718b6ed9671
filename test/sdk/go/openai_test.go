package sdk_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

const reply = "The quick brown fox jumps over the lazy dog."

// client returns an OpenAI client with only the base URL and key changed.
func (f *fixture) client(key string, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{option.WithBaseURL(f.g.URL + "/v1/"), option.WithAPIKey(key)}, opts...)...)
}

func TestOpenAIGo(t *testing.T) {
	t.Parallel()
	f := startFixture(t, fakeupstream.WithReply(reply), fakeupstream.WithChunks(6))
	ctx := context.Background()
	c := f.client(f.key)

	t.Run("unary", func(t *testing.T) {
		t.Parallel()
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    servertest.ChatModel,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hi")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Model != servertest.ChatModel || len(resp.Choices) != 1 || resp.Choices[0].Message.Content != reply ||
			resp.Choices[0].FinishReason != "stop" || resp.Usage.TotalTokens != resp.Usage.PromptTokens+resp.Usage.CompletionTokens {
			t.Errorf("response %+v", resp)
		}
	})

	t.Run("stream", func(t *testing.T) {
		t.Parallel()
		s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:         servertest.ChatModel,
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		acc, chunks := accumulateOpenAI(t, s)
		if chunks < 3 {
			t.Errorf("only %d chunks", chunks)
		}
		if got := acc.Choices[0].Message.Content; got != reply {
			t.Errorf("assembled %q, want %q", got, reply)
		}
		if acc.Usage.TotalTokens == 0 {
			t.Error("no usage from include_usage")
		}
	})

	t.Run("tools round trip", func(t *testing.T) {
		t.Parallel()
		params := openai.ChatCompletionNewParams{
			Model:    servertest.ChatModel,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("call lookup")},
			Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name: "lookup", Description: openai.String("looks things up"),
				Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"text": map[string]any{"type": "string"}}},
			})},
		}
		resp, err := c.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		msg := resp.Choices[0].Message
		if resp.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "lookup" {
			t.Fatalf("want a lookup call, got %+v", resp.Choices[0])
		}
		params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage("42 apples", msg.ToolCalls[0].ID))
		resp, err = c.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Choices[0].Message.Content; !strings.Contains(got, "42 apples") {
			t.Errorf("answer %q does not use the tool result", got)
		}

		// The same call streamed and accumulated.
		params.Messages = params.Messages[:1]
		acc, _ := accumulateOpenAI(t, c.Chat.Completions.NewStreaming(ctx, params))
		calls := acc.Choices[0].Message.ToolCalls
		if len(calls) != 1 || calls[0].Function.Name != "lookup" || calls[0].Function.Arguments != msg.ToolCalls[0].Function.Arguments {
			t.Errorf("streamed calls %+v, want %+v", calls, msg.ToolCalls)
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		t.Parallel()
		resp, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model: servertest.EmbeddingModel,
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 2 || len(resp.Data[0].Embedding) != 8 || resp.Data[1].Index != 1 {
			t.Errorf("embeddings %+v", resp.Data)
		}
	})

	t.Run("models", func(t *testing.T) {
		t.Parallel()
		page, err := c.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		if !strings.Contains(strings.Join(ids, ","), servertest.ChatModel) {
			t.Errorf("models %v", ids)
		}
		m, err := c.Models.Get(ctx, servertest.ChatModel)
		if err != nil || m.OwnedBy != servertest.ProviderID {
			t.Errorf("model %+v, %v", m, err)
		}
	})
}

func TestOpenAIGoErrors(t *testing.T) {
	t.Parallel()
	f := startFixture(t)
	ctx := context.Background()
	tests := []struct {
		name       string
		key        string
		model      string
		stream     bool
		wantStatus int
		wantCode   string
	}{
		{"invalid key", "tg-invalid", servertest.ChatModel, false, http.StatusUnauthorized, "invalid_api_key"},
		{"upstream 429", f.key, ModelFail429, false, http.StatusTooManyRequests, "rate_limit_exceeded"},
		{"upstream 500", f.key, ModelFail500, false, http.StatusBadGateway, "upstream_error"},
		{"upstream 429 streaming", f.key, ModelFail429, true, http.StatusTooManyRequests, "rate_limit_exceeded"},
		{"unknown model", f.key, "no-such-model", false, http.StatusNotFound, "model_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := f.client(tt.key, option.WithMaxRetries(0))
			params := openai.ChatCompletionNewParams{Model: tt.model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
			var err error
			if tt.stream {
				s := c.Chat.Completions.NewStreaming(ctx, params)
				for s.Next() {
				}
				err = s.Err()
			} else {
				_, err = c.Chat.Completions.New(ctx, params)
			}
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v (%T), want *openai.Error", err, err)
			}
			if apiErr.StatusCode != tt.wantStatus || apiErr.Code != tt.wantCode {
				t.Errorf("status %d code %q, want %d %q", apiErr.StatusCode, apiErr.Code, tt.wantStatus, tt.wantCode)
			}
		})
	}

	t.Run("5xx is retried", func(t *testing.T) {
		before := len(f.fail500.Requests())
		c := f.client(f.key, option.WithMaxRetries(1))
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: ModelFail500,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway {
			t.Fatalf("error %v", err)
		}
		// The SDK tries twice, and the gateway tries each of those twice
		// (a plain model is a single-target route with one retry).
		if got := len(f.fail500.Requests()) - before; got != 4 {
			t.Errorf("upstream saw %d requests, want 4 (one SDK retry × one gateway retry)", got)
		}
	})
}
