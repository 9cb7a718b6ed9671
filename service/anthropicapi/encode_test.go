package anthropicapi

import (
	"github.com/tollgate-dev/tollgate/internal/apischema"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
)

func TestFromCanonical(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		resp providers.ChatResponse
		want string
	}{
		{
			name: "text with cache usage",
			resp: providers.ChatResponse{ID: "chatcmpl-1", Model: "gpt-4o-mini",
				Choices: []providers.Choice{{Message: providers.Message{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart("Hi! My name is Claude.")}}, FinishReason: providers.FinishStop}},
				Usage:   providers.Usage{InputTokens: 2095, OutputTokens: 503, CachedInputTokens: 1000, CacheWriteTokens: 95}},
			want: `{"id":"msg_abc","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi! My name is Claude."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1000,"cache_creation_input_tokens":95,"cache_read_input_tokens":1000,"output_tokens":503}}`,
		},
		{
			name: "thinking, text and tool use keep the upstream msg id",
			resp: providers.ChatResponse{ID: "msg_01XFDUDYJgAACzvnptvVoYEL",
				Choices: []providers.Choice{{Message: providers.Message{Role: providers.RoleAssistant,
					Content: []providers.Part{
						{Type: providers.PartReasoning, Text: "Let me think.", Signature: "EqQB"},
						{Type: providers.PartReasoning, RedactedData: "EmwKAhgB"},
						providers.TextPart("I'll check the weather."),
					},
					ToolCalls: []providers.ToolCall{{ID: "toolu_01A09q90qw90lq917835lq9", Name: "get_weather", Arguments: `{"location": "San Francisco, CA"}`}, {ID: "call_2", Name: "noargs"}}},
					FinishReason: providers.FinishToolCalls}},
				Usage: providers.Usage{InputTokens: 10, OutputTokens: 20}},
			want: `{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"thinking","thinking":"Let me think.","signature":"EqQB"},{"type":"redacted_thinking","data":"EmwKAhgB"},{"type":"text","text":"I'll check the weather."},{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA"}},{"type":"tool_use","id":"call_2","name":"noargs","input":{}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":20}}`,
		},
		{
			name: "length, invalid tool arguments",
			resp: providers.ChatResponse{Choices: []providers.Choice{{Message: providers.Message{
				ToolCalls: []providers.ToolCall{{ID: "c", Name: "f", Arguments: `{"cut off`}}}, FinishReason: providers.FinishLength}}},
			want: `{"id":"msg_abc","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"c","name":"f","input":"{\"cut off"}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`,
		},
		{
			name: "no choices, content filter",
			resp: providers.ChatResponse{},
			want: `{"id":"msg_abc","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := apischema.Marshal(fromCanonical(&tt.resp, "claude-sonnet-4-5", "req_abc"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestStopReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   providers.FinishReason
		want string
	}{
		{providers.FinishStop, "end_turn"},
		{providers.FinishLength, "max_tokens"},
		{providers.FinishToolCalls, "tool_use"},
		{providers.FinishContentFilter, "refusal"},
		{providers.FinishError, "end_turn"},
		{"", "end_turn"},
	}
	for _, tt := range tests {
		t.Run(string(tt.in), func(t *testing.T) {
			t.Parallel()
			if got := stopReason(tt.in); got != tt.want {
				t.Errorf("stopReason(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
