package anthropic

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
)

var testClock = time.Date(2025, 10, 1, 12, 0, 0, 0, time.UTC)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		want    *providers.ChatResponse
	}{
		{
			fixture: "message_text.json",
			want: &providers.ChatResponse{ID: "msg_013Zva2CMHLNnXjNJJKqJ2EF", Model: "claude-sonnet-4-5-20250929", Created: testClock,
				Choices: []providers.Choice{{FinishReason: providers.FinishStop, Message: providers.Message{Role: providers.RoleAssistant,
					Content: []providers.Part{providers.TextPart("Hi! My name is Claude.")}}}},
				Usage: providers.Usage{InputTokens: 2095 + 1800, OutputTokens: 503, CachedInputTokens: 1800}},
		},
		{
			fixture: "message_tool_use.json",
			want: &providers.ChatResponse{ID: "msg_01Aq9w938a90dw8q", Model: "claude-sonnet-4-5-20250929", Created: testClock,
				Choices: []providers.Choice{{FinishReason: providers.FinishToolCalls, Message: providers.Message{Role: providers.RoleAssistant,
					Content: []providers.Part{providers.TextPart("I'll check the current weather in San Francisco for you.")},
					ToolCalls: []providers.ToolCall{
						{ID: "toolu_01A09q90qw90lq917835lq9", Name: "get_weather", Arguments: `{"location":"San Francisco, CA","unit":"celsius"}`},
						{ID: "toolu_01B19q90qw90lq917835lq0", Name: "get_time", Arguments: `{}`},
					}}}},
				Usage: providers.Usage{InputTokens: 384 + 1024, OutputTokens: 92, CacheWriteTokens: 1024}},
		},
		{
			fixture: "message_thinking.json",
			want: &providers.ChatResponse{ID: "msg_01VqHnx4tXzG6Tub4YDFE6hU", Model: "claude-sonnet-4-5-20250929", Created: testClock,
				Choices: []providers.Choice{{FinishReason: providers.FinishLength, Message: providers.Message{Role: providers.RoleAssistant,
					Content: []providers.Part{
						{Type: providers.PartReasoning, Text: "Let me analyze this step by step...",
							Signature: "WaUjzkypQ2mUEVM36O2TxuC06KN8xyfbJwyem2dw3URve/op91XWHOEBLLqIOMfFG/UvLEczmEsUjavL...."},
						{Type: providers.PartReasoning, RedactedData: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj2pabXwh8Z=="},
						providers.TextPart("Based on my analysis..."),
					}}}},
				Usage: providers.Usage{InputTokens: 56, OutputTokens: 4096}},
		},
		{
			fixture: "message_refusal.json",
			want: &providers.ChatResponse{ID: "msg_01RefusaL", Model: "claude-sonnet-4-5", Created: testClock,
				Choices: []providers.Choice{{FinishReason: providers.FinishContentFilter, Message: providers.Message{Role: providers.RoleAssistant}}},
				Usage:   providers.Usage{InputTokens: 12}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			p, err := New(providers.Config{ID: "a"}, WithClock(func() time.Time { return testClock }))
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.decodeMessage(200, readFixture(t, tt.fixture), nil)
			if err != nil {
				t.Fatalf("decodeMessage: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeMessageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		wantKind providers.ErrorKind
	}{
		{"not json", `<html>oops</html>`, providers.KindBadResponse},
		{"truncated", `{"id":"msg_1","content":[{"type":"text","text":"hi`, providers.KindBadResponse},
		{"bad tool input", `{"id":"msg_1","content":[{"type":"tool_use","id":"t","name":"n","input":{"a":}}]}`, providers.KindBadResponse},
		{"error object with status 200", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, providers.KindOverloaded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newTestProvider(t, nil)
			_, err := p.decodeMessage(200, []byte(tt.body), nil)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != tt.wantKind {
				t.Fatalf("err = %v, want kind %v", err, tt.wantKind)
			}
		})
	}
}

func TestFinishReason(t *testing.T) {
	t.Parallel()
	tests := map[string]providers.FinishReason{
		"end_turn":                      providers.FinishStop,
		"stop_sequence":                 providers.FinishStop,
		"pause_turn":                    providers.FinishStop,
		"max_tokens":                    providers.FinishLength,
		"model_context_window_exceeded": providers.FinishLength,
		"tool_use":                      providers.FinishToolCalls,
		"refusal":                       providers.FinishContentFilter,
		"something_new":                 providers.FinishStop,
		"":                              "",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			if got := finishReason(in); got != want {
				t.Errorf("finishReason(%q) = %q, want %q", in, got, want)
			}
		})
	}
}
