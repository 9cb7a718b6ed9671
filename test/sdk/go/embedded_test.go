package sdk_test

import (
	"context"
	"errors"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestSDKsOnEmbeddedStore runs a short subset of the OpenAI and Anthropic
// SDK suites against a gateway on the embedded store (no Postgres): the
// surfaces do not depend on the backend.
func TestSDKsOnEmbeddedStore(t *testing.T) {
	t.Parallel()
	f := startAnthropicFixtureOn(t, servertest.Options{Embedded: true}, fakeupstream.WithReply(reply), fakeupstream.WithChunks(6))
	if f.g.DatabaseURL != "" || f.g.DataDir == "" {
		t.Fatalf("gateway on %q / %q, want the embedded store", f.g.DatabaseURL, f.g.DataDir)
	}
	ctx := context.Background()
	oc := f.client(f.key)
	ac := f.anthropicClient(f.key)

	t.Run("openai unary", func(t *testing.T) {
		t.Parallel()
		resp, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    servertest.ChatModel,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != reply || resp.Usage.TotalTokens == 0 {
			t.Errorf("response %+v", resp)
		}
	})
	t.Run("openai stream", func(t *testing.T) {
		t.Parallel()
		s := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:         servertest.ChatModel,
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		acc, _ := accumulateOpenAI(t, s)
		if got := acc.Choices[0].Message.Content; got != reply {
			t.Errorf("assembled %q, want %q", got, reply)
		}
	})
	for _, model := range []string{ClaudeModel, servertest.ChatModel} {
		t.Run("anthropic unary "+model, func(t *testing.T) {
			t.Parallel()
			msg, err := ac.Messages.New(ctx, anthropic.MessageNewParams{
				Model: anthropic.Model(model), MaxTokens: 256,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(msg.Content) != 1 || msg.Content[0].Text != reply || msg.Usage.OutputTokens == 0 {
				t.Errorf("message %+v", msg)
			}
		})
		t.Run("anthropic stream "+model, func(t *testing.T) {
			t.Parallel()
			s := ac.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
				Model: anthropic.Model(model), MaxTokens: 256,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
			})
			acc := accumulateAnthropic(t, s)
			if len(acc.Content) != 1 || acc.Content[0].Text != reply {
				t.Errorf("assembled %+v", acc.Content)
			}
		})
	}
	t.Run("invalid key", func(t *testing.T) {
		t.Parallel()
		bad := f.client("tg-not-a-key")
		_, err := bad.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: servertest.ChatModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
			t.Errorf("invalid key: %v, want a 401", err)
		}
	})
}
