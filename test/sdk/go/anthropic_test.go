package sdk_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/providers/anthropic/anthropictest"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// ClaudeModel is served by the Anthropic fake in the Anthropic fixture.
const ClaudeModel = "claude-sonnet-4-5"

// anthropicFixture is the common fixture plus an Anthropic-type provider
// (the Anthropic fake) serving ClaudeModel.
type anthropicFixture struct {
	*fixture
	claude *anthropictest.Server
}

func startAnthropicFixture(t *testing.T, opts ...fakeupstream.Option) *anthropicFixture {
	t.Helper()
	return startAnthropicFixtureOn(t, servertest.Options{}, opts...)
}

// startAnthropicFixtureOn is startAnthropicFixture with the gateway started
// with gopts.
func startAnthropicFixtureOn(t *testing.T, gopts servertest.Options, opts ...fakeupstream.Option) *anthropicFixture {
	t.Helper()
	f := &anthropicFixture{fixture: startFixtureOn(t, gopts, opts...)}
	var url string
	f.claude, url = anthropictest.Start(t, anthropictest.WithAPIKey("sk-fake-anthropic"), anthropictest.WithReply(reply))
	f.addProvider(t, "fake-anthropic", tollgatev1.ProviderType_PROVIDER_TYPE_ANTHROPIC, url, ClaudeModel)
	return f
}

// anthropicClient returns an Anthropic client with only the base URL and
// key changed (and retries off, so that error tests see the first answer).
func (f *anthropicFixture) anthropicClient(key string) anthropic.Client {
	return anthropic.NewClient(option.WithBaseURL(f.g.URL), option.WithAPIKey(key), option.WithMaxRetries(0))
}

func TestAnthropicGo(t *testing.T) {
	t.Parallel()
	f := startAnthropicFixture(t, fakeupstream.WithReply(reply), fakeupstream.WithChunks(6))
	ctx := context.Background()
	c := f.anthropicClient(f.key)

	for _, model := range []string{ClaudeModel, servertest.ChatModel} {
		t.Run(model, func(t *testing.T) {
			t.Parallel()

			t.Run("unary", func(t *testing.T) {
				t.Parallel()
				msg, err := c.Messages.New(ctx, anthropic.MessageNewParams{
					Model: anthropic.Model(model), MaxTokens: 256,
					System:   []anthropic.TextBlockParam{{Text: "be brief"}},
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
				})
				if err != nil {
					t.Fatal(err)
				}
				if string(msg.Model) != model || msg.Role != "assistant" || len(msg.Content) != 1 || msg.Content[0].Text != reply ||
					msg.StopReason != anthropic.StopReasonEndTurn || msg.Usage.InputTokens == 0 || msg.Usage.OutputTokens == 0 {
					t.Errorf("message %+v", msg)
				}
			})

			t.Run("stream", func(t *testing.T) {
				t.Parallel()
				s := c.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
					Model: anthropic.Model(model), MaxTokens: 256,
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
				})
				var acc anthropic.Message
				var deltas int
				for s.Next() {
					ev := s.Current()
					if err := acc.Accumulate(ev); err != nil {
						t.Fatal(err)
					}
					if ev.Type == "content_block_delta" {
						deltas++
					}
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				if deltas < 2 || len(acc.Content) != 1 || acc.Content[0].Text != reply {
					t.Errorf("%d deltas, assembled %+v, want %q", deltas, acc.Content, reply)
				}
				if acc.StopReason != anthropic.StopReasonEndTurn || acc.Usage.OutputTokens == 0 {
					t.Errorf("stop %q usage %+v", acc.StopReason, acc.Usage)
				}
			})

			t.Run("tool round trip", func(t *testing.T) {
				t.Parallel()
				params := anthropic.MessageNewParams{
					Model: anthropic.Model(model), MaxTokens: 256,
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("please call lookup"))},
					Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
						Name: "lookup", Description: anthropic.String("looks things up"),
						InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"text": map[string]any{"type": "string"}}},
					}}},
				}
				msg, err := c.Messages.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				var call *anthropic.ContentBlockUnion
				for i := range msg.Content {
					if msg.Content[i].Type == "tool_use" {
						call = &msg.Content[i]
					}
				}
				if msg.StopReason != anthropic.StopReasonToolUse || call == nil || call.Name != "lookup" || !strings.Contains(string(call.Input), "please call lookup") {
					t.Fatalf("want a lookup call, got %+v", msg)
				}
				params.Messages = append(params.Messages, msg.ToParam(),
					anthropic.NewUserMessage(anthropic.NewToolResultBlock(call.ID, "42 apples", false)))
				msg, err = c.Messages.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				if len(msg.Content) == 0 || !strings.Contains(msg.Content[0].Text, "42 apples") {
					t.Errorf("answer %+v does not use the tool result", msg.Content)
				}

				// The first turn streamed and accumulated.
				params.Messages = params.Messages[:1]
				acc := accumulateAnthropic(t, c.Messages.NewStreaming(ctx, params))
				last := acc.Content[len(acc.Content)-1]
				if last.Type != "tool_use" || last.Name != "lookup" || last.ID != call.ID || string(last.Input) != string(call.Input) {
					t.Errorf("streamed call %+v input %s, unary %s", last, last.Input, call.Input)
				}
			})

			t.Run("count tokens", func(t *testing.T) {
				t.Parallel()
				n, err := c.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{
					Model:    anthropic.Model(model),
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("count me"))},
				})
				if err != nil {
					t.Fatal(err)
				}
				if n.InputTokens == 0 {
					t.Error("zero input tokens")
				}
			})
		})
	}

	t.Run("models", func(t *testing.T) {
		t.Parallel()
		page, err := c.Models.List(ctx, anthropic.ModelListParams{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		if got := strings.Join(ids, ","); !strings.Contains(got, ClaudeModel) || !strings.Contains(got, servertest.ChatModel) {
			t.Errorf("models %s", got)
		}
	})

	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name   string
			client anthropic.Client
			model  string
			status int
			typ    string
		}{
			{"invalid key", f.anthropicClient("tg-invalid"), servertest.ChatModel, http.StatusUnauthorized, "authentication_error"},
			{"upstream 429", c, ModelFail429, http.StatusTooManyRequests, "rate_limit_error"},
			{"upstream 500", c, ModelFail500, http.StatusInternalServerError, "api_error"},
			{"unknown model", c, "no-such-model", http.StatusNotFound, "not_found_error"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				_, err := tt.client.Messages.New(ctx, anthropic.MessageNewParams{
					Model: anthropic.Model(tt.model), MaxTokens: 16,
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
				})
				var apiErr *anthropic.Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("err = %v, want *anthropic.Error", err)
				}
				if apiErr.StatusCode != tt.status || !strings.Contains(apiErr.RawJSON(), `"type":"`+tt.typ+`"`) || apiErr.RequestID == "" {
					t.Errorf("status %d, body %s, request id %q", apiErr.StatusCode, apiErr.RawJSON(), apiErr.RequestID)
				}
			})
		}
	})
}

// TestAnthropicNode runs test/sdk/node/anthropic.test.mjs (the official
// TypeScript SDK) against the Anthropic fixture. It is skipped when node
// or the installed SDK is missing.
func TestAnthropicNode(t *testing.T) {
	t.Parallel()
	node, dir := nodeWithSDKs(t)
	f := startAnthropicFixture(t, fakeupstream.WithReply(reply), fakeupstream.WithChunks(6))
	cmd := exec.CommandContext(t.Context(), node, "--test", "anthropic.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"TOLLGATE_URL="+f.g.URL, "TOLLGATE_KEY="+f.key, "TOLLGATE_REPLY="+reply,
		"TOLLGATE_CHAT_MODEL="+servertest.ChatModel, "TOLLGATE_ANTHROPIC_MODEL="+ClaudeModel,
		"TOLLGATE_FAIL429_MODEL="+ModelFail429, "TOLLGATE_FAIL500_MODEL="+ModelFail500)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test anthropic.test.mjs: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// nodeWithSDKs returns node and test/sdk/node. When node or the pinned
// SDKs (`make node-deps`) are missing it skips the test, except under CI
// (CI set), where a missing SDK must not pass for a compatible one.
func nodeWithSDKs(t *testing.T) (node, dir string) {
	t.Helper()
	missing := t.Skip
	if os.Getenv("CI") != "" {
		missing = t.Fatal
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	if dir, err = filepath.Abs(nodeDir); err != nil {
		t.Fatal(err)
	}
	for _, sdk := range []string{"openai", "@anthropic-ai/sdk"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(sdk))); err != nil {
			missing(sdk + " is not installed; run `make node-deps`")
		}
	}
	return node, dir
}
