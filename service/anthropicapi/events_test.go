package anthropicapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
)

// sse joins event lines into the framed stream the translator must emit.
func sse(events ...string) string {
	var b strings.Builder
	for _, e := range events {
		name := e[strings.Index(e, `"type":"`)+8:]
		name = name[:strings.IndexByte(name, '"')]
		b.WriteString("event: " + name + "\ndata: " + e + "\n\n")
	}
	return b.String()
}

func TestEventsSequence(t *testing.T) {
	t.Parallel()
	const start = `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}`
	const ping = `{"type":"ping"}`
	tests := []struct {
		name   string
		chunks []providers.Chunk
		usage  providers.Usage
		want   string
	}{
		{
			name: "text",
			chunks: []providers.Chunk{
				{Choices: []providers.ChoiceDelta{{Role: providers.RoleAssistant}}},
				{Choices: []providers.ChoiceDelta{{Text: "Hello"}}},
				{Choices: []providers.ChoiceDelta{{Text: "!\n\"quoted\""}}},
				{Choices: []providers.ChoiceDelta{{FinishReason: providers.FinishStop}}},
				{Usage: &providers.Usage{InputTokens: 25, OutputTokens: 15}},
			},
			usage: providers.Usage{InputTokens: 25, OutputTokens: 15},
			want: sse(start, ping,
				`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
				`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`,
				`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!\n\"quoted\""}}`,
				`{"type":"content_block_stop","index":0}`,
				`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":15}}`,
				`{"type":"message_stop"}`),
		},
		{
			name: "text then tool use",
			chunks: []providers.Chunk{
				{Choices: []providers.ChoiceDelta{{Text: "Okay, let me check."}}},
				{Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{Index: 0, ID: "toolu_01T1x", Name: "get_weather"}}}}},
				{Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{Index: 0, Arguments: `{"location":`}}}}},
				{Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{Index: 0, Arguments: ` "San Francisco, CA"}`}}}}},
				{Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{Index: 1, ID: "toolu_02", Name: "get_time", Arguments: `{}`}}}}},
				{Choices: []providers.ChoiceDelta{{FinishReason: providers.FinishToolCalls}}},
			},
			usage: providers.Usage{InputTokens: 30, OutputTokens: 89, CachedInputTokens: 5},
			want: sse(start, ping,
				`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
				`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay, let me check."}}`,
				`{"type":"content_block_stop","index":0}`,
				`{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x","name":"get_weather","input":{}}}`,
				`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}`,
				`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"San Francisco, CA\"}"}}`,
				`{"type":"content_block_stop","index":1}`,
				`{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}}`,
				`{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{}"}}`,
				`{"type":"content_block_stop","index":2}`,
				`{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":5,"output_tokens":89}}`,
				`{"type":"message_stop"}`),
		},
		{
			name: "thinking with signature then text",
			chunks: []providers.Chunk{
				{Choices: []providers.ChoiceDelta{{Reasoning: "Let me solve this step by step."}}},
				{Choices: []providers.ChoiceDelta{{Reasoning: "\n\n1. First"}}},
				{Choices: []providers.ChoiceDelta{{ReasoningSignature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}}},
				{Choices: []providers.ChoiceDelta{{Text: "27 * 453 = 12,231"}}},
				{Choices: []providers.ChoiceDelta{{FinishReason: providers.FinishLength}}},
			},
			usage: providers.Usage{InputTokens: 25, OutputTokens: 40},
			want: sse(start, ping,
				`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
				`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me solve this step by step."}}`,
				`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"\n\n1. First"}}`,
				`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}}`,
				`{"type":"content_block_stop","index":0}`,
				`{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`,
				`{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"27 * 453 = 12,231"}}`,
				`{"type":"content_block_stop","index":1}`,
				`{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":40}}`,
				`{"type":"message_stop"}`),
		},
		{
			name:   "empty reply",
			chunks: []providers.Chunk{{Choices: []providers.ChoiceDelta{{FinishReason: providers.FinishContentFilter}}}},
			usage:  providers.Usage{InputTokens: 25},
			want: sse(start, ping,
				`{"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null},"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`,
				`{"type":"message_stop"}`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ev events
			ev.start("msg_1", "claude-sonnet-4-5", usageOut{InputTokens: 25})
			for i := range tt.chunks {
				ev.chunk(&tt.chunks[i])
			}
			ev.end(usageOf(tt.usage))
			if got := string(ev.buf); got != tt.want {
				t.Errorf("events differ\ngot:\n%s\nwant:\n%s", got, tt.want)
			}
			// Every data line must be valid JSON.
			for line := range strings.SplitSeq(string(ev.buf), "\n") {
				if d, ok := strings.CutPrefix(line, "data: "); ok && !json.Valid([]byte(d)) {
					t.Errorf("invalid JSON: %s", d)
				}
			}
		})
	}
}

func TestEventsFail(t *testing.T) {
	t.Parallel()
	var ev events
	ev.fail("overloaded_error", "Overloaded")
	want := "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
	if got := string(ev.buf); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func BenchmarkEventsText(b *testing.B) {
	c := providers.Chunk{Choices: []providers.ChoiceDelta{{Text: "some streamed text, with \"quotes\" and ünïcödé"}}}
	ev := events{buf: make([]byte, 0, 1024)}
	ev.start("msg_1", "m", usageOut{})
	b.ReportAllocs()
	for b.Loop() {
		ev.chunk(&c)
		ev.reset()
	}
}
