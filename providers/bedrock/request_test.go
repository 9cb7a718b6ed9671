package bedrock

import (
	"errors"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
)

// TestEncode checks the Converse body of canonical requests: turns merged
// into alternating roles, tool results in a user turn, model fields for
// top_k and Claude's thinking, and what is refused.
func TestEncode(t *testing.T) {
	t.Parallel()
	p := &Provider{id: "p"}
	k, n := 40, 2
	call := providers.Message{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "t1", Name: "f", Arguments: `{"a": 1}`}}}
	result := providers.Message{Role: providers.RoleTool, ToolCallID: "t1", Content: []providers.Part{providers.TextPart("42")}}
	user := func(s string) providers.Message {
		return providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(s)}}
	}
	tests := []struct {
		name    string
		req     providers.ChatRequest
		want    []string
		wantErr string
	}{
		{"merged user turns", providers.ChatRequest{Model: "meta.llama3-1-8b-instruct-v1:0", Messages: []providers.Message{user("a"), user("b")}},
			[]string{`"messages":[{"role":"user","content":[{"text":"a"},{"text":"b"}]}]`}, ""},
		{"tool result in a user turn", providers.ChatRequest{Model: "anthropic.claude-x",
			Tools: []providers.Tool{{Name: "f"}}, Messages: []providers.Message{user("go"), call, result}},
			[]string{`{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"f","input":{"a":1}}}]}`,
				`{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"42"}]}}]}`,
				`"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object","properties":{}}}}}]}`}, ""},
		{"top_k and thinking for Claude", providers.ChatRequest{Model: "us.anthropic.claude-sonnet-4", TopK: &k,
			Reasoning: &providers.ReasoningConfig{BudgetTokens: 2048}, Messages: []providers.Message{user("x")}},
			[]string{`"additionalModelRequestFields":{"thinking":{"budget_tokens":2048,"type":"enabled"},"top_k":40}`}, ""},
		{"forced tool", providers.ChatRequest{Model: "m", Tools: []providers.Tool{{Name: "f"}},
			ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: "f"}, Messages: []providers.Message{user("x")}},
			[]string{`"toolChoice":{"tool":{"name":"f"}}`}, ""},
		{"reasoning for Llama refused", providers.ChatRequest{Model: "meta.llama3", Reasoning: &providers.ReasoningConfig{Effort: "high"},
			Messages: []providers.Message{user("x")}}, nil, "reasoning"},
		{"n refused", providers.ChatRequest{Model: "m", N: &n, Messages: []providers.Message{user("x")}}, nil, "n is not supported"},
		{"only a system message", providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleSystem,
			Content: []providers.Part{providers.TextPart("s")}}}}, nil, "no user or assistant message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, err := p.encode(&tt.req)
			if tt.wantErr != "" {
				var pe *providers.Error
				if !errors.As(err, &pe) || pe.Kind != providers.KindInvalidRequest || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(body), w) {
					t.Errorf("body %s\nlacks %s", body, w)
				}
			}
		})
	}
}
