package gateway_test

import (
	"fmt"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/store"
)

func TestStatusOfLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"budget", &governance.LimitError{Budget: true, ID: "b"}, "budget_exceeded"},
		{"rate", &governance.LimitError{ID: "r"}, "rate_limited"},
		{"wrapped rate", fmt.Errorf("admit: %w", &governance.LimitError{ID: "r"}), "rate_limited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, code := gateway.StatusOf(tt.err)
			if status != store.StatusLimited || code != tt.code {
				t.Errorf("StatusOf = %v, %q; want StatusLimited, %q", status, code, tt.code)
			}
		})
	}
}

func TestPromptTokenBound(t *testing.T) {
	t.Parallel()
	text := func(role providers.Role, s string) providers.Message {
		return providers.Message{Role: role, Content: []providers.Part{{Type: providers.PartText, Text: s}}}
	}
	tests := []struct {
		name string
		req  providers.ChatRequest
		want int64
	}{
		{"one message: one token per byte, plus framing", providers.ChatRequest{Messages: []providers.Message{text("user", "hello")}},
			8 + 4 + 4 + 5},
		{"token-dense text counts its bytes", providers.ChatRequest{Messages: []providers.Message{text("user", "x9$Qz")}},
			8 + 4 + 4 + 5},
		{"multi-byte text counts bytes, not runes", providers.ChatRequest{Messages: []providers.Message{text("user", "日本")}},
			8 + 4 + 4 + 6},
		{"an image", providers.ChatRequest{Messages: []providers.Message{{Role: "user", Content: []providers.Part{{Type: providers.PartImage, Image: &providers.Image{URL: "https://x/y.png"}}}}}},
			8 + 4 + 4 + 1600},
		{"tools add the tool-use prompt once, and each definition", providers.ChatRequest{
			Messages: []providers.Message{text("user", "hi")},
			Tools:    []providers.Tool{{Name: "a", Parameters: []byte(`{}`)}, {Name: "bb", Description: "d"}}},
			8 + 4 + 4 + 2 + 512 + (32 + 1 + 2) + (32 + 2 + 1)},
		{"tool calls and results", providers.ChatRequest{Messages: []providers.Message{
			{Role: "assistant", ToolCalls: []providers.ToolCall{{ID: "c1", Name: "f", Arguments: `{"x":1}`}}},
			{Role: "tool", ToolCallID: "c1", Content: []providers.Part{{Type: providers.PartText, Text: "42"}}}}},
			8 + (4 + 9 + 8 + 2 + 1 + 7) + (4 + 4 + 2 + 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := gateway.PromptTokenBound(&tt.req); got != tt.want {
				t.Errorf("PromptTokenBound = %d, want %d", got, tt.want)
			}
		})
	}
}
