package sdk_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/tollgate-dev/tollgate/providers/anthropic/anthropictest"
)

// These tests drive the fake with Anthropic's official Go client, whose
// decoders and stream accumulator check the wire format (event order,
// block indexes, field types) independently of this repository's code.

func fakeAnthropicClient(base string) anthropic.Client {
	return anthropic.NewClient(option.WithBaseURL(base), option.WithAPIKey("sk-ant-sdk"), option.WithMaxRetries(0))
}

func TestFakeAnthropicConversation(t *testing.T) {
	t.Parallel()
	_, base := anthropictest.Start(t, anthropictest.WithAPIKey("sk-ant-sdk"), anthropictest.WithChunks(3))
	c := fakeAnthropicClient(base)
	ctx := t.Context()
	tools := []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "lookup",
		InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"text": map[string]any{"type": "string"}}}}}}
	params := anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 4096,
		Thinking:  anthropic.ThinkingConfigParamOfEnabled(1024),
		Tools:     tools,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("please call lookup"))},
	}

	// Streamed and accumulated by the SDK, the answer must equal the unary one.
	acc := accumulateAnthropic(t, c.Messages.NewStreaming(ctx, params))
	unary, err := c.Messages.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*anthropic.Message{&acc, unary} {
		if m.StopReason != anthropic.StopReasonToolUse || len(m.Content) != 2 {
			t.Fatalf("message = %s", m.RawJSON())
		}
		th, tu := m.Content[0].AsThinking(), m.Content[1].AsToolUse()
		if th.Thinking != "Thinking about: please call lookup" || th.Signature == "" {
			t.Errorf("thinking = %+v", th)
		}
		if tu.Name != "lookup" || string(tu.Input) != `{"text":"please call lookup"}` {
			t.Errorf("tool use = %s %s", tu.Name, tu.Input)
		}
		if m.Usage.InputTokens == 0 || m.Usage.OutputTokens == 0 {
			t.Errorf("usage = %+v", m.Usage)
		}
	}
	if acc.Content[1].AsToolUse().ID != unary.Content[1].AsToolUse().ID || acc.Usage.OutputTokens != unary.Usage.OutputTokens {
		t.Errorf("stream %s differs from unary %s", acc.RawJSON(), unary.RawJSON())
	}

	// Send the turn back with the tool result, as the SDK builds it.
	params.Messages = append(params.Messages, unary.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock(unary.Content[1].AsToolUse().ID, "42 apples", false)))
	next, err := c.Messages.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if got := next.Content[len(next.Content)-1].AsText().Text; got != "The tool lookup returned: 42 apples" || next.StopReason != anthropic.StopReasonEndTurn {
		t.Errorf("answer = %q (%s)", got, next.StopReason)
	}

	count, err := c.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "claude-sonnet-4-5",
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("count me"))}})
	if err != nil || count.InputTokens != 3+2 {
		t.Errorf("count = %+v, %v", count, err)
	}
}

func TestFakeAnthropicModels(t *testing.T) {
	t.Parallel()
	_, base := anthropictest.Start(t, anthropictest.WithModels("m1", "m2", "m3", "m4", "m5"))
	c := fakeAnthropicClient(base)
	pager := c.Models.ListAutoPaging(t.Context(), anthropic.ModelListParams{Limit: anthropic.Int(2)})
	var ids []string
	for pager.Next() {
		ids = append(ids, pager.Current().ID)
	}
	if err := pager.Err(); err != nil || strings.Join(ids, ",") != "m1,m2,m3,m4,m5" {
		t.Errorf("ids = %v, err = %v", ids, err)
	}
}

func TestFakeAnthropicErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      anthropictest.Fault
		stream     bool
		wantStatus int
		wantType   string
	}{
		{"rate limit", anthropictest.RateLimitFault(time.Second), false, http.StatusTooManyRequests, "rate_limit_error"},
		{"overloaded", anthropictest.OverloadedFault(), false, anthropictest.StatusOverloaded, "overloaded_error"},
		{"not found", anthropictest.StatusFault(http.StatusNotFound), false, http.StatusNotFound, "not_found_error"},
		{"in-stream overloaded", anthropictest.StreamErrorFault(3, "overloaded_error"), true, 0, "overloaded_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, base := anthropictest.Start(t)
			fake.Enqueue(tt.fault)
			c := fakeAnthropicClient(base)
			params := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 64,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}
			var err error
			if tt.stream {
				s := c.Messages.NewStreaming(t.Context(), params)
				for s.Next() {
				}
				err = s.Err()
			} else {
				_, err = c.Messages.New(t.Context(), params)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.wantType) {
				t.Errorf("error %q does not name %s", err, tt.wantType)
			}
			var apiErr *anthropic.Error
			if tt.wantStatus != 0 && (!errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantStatus || string(apiErr.Type()) != tt.wantType) {
				t.Errorf("error = %#v", err)
			}
		})
	}
}
