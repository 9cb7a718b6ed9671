package gemini

import (
	"errors"
	"reflect"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
)

func TestDecodeChat(t *testing.T) {
	t.Parallel()
	sig := "CtwBAVSoXO5Jg1bX3k0a9qJ2iX7kRMe+Aq5u/0Yb8xW=="
	tests := []struct {
		fixture string
		want    *providers.ChatResponse
	}{
		{
			fixture: "generate_text.json",
			want: &providers.ChatResponse{ID: "7bNoaKS0BdSOxN8Pz4-q0QE", Model: "gemini-2.5-flash",
				Choices: []providers.Choice{{Index: 0, FinishReason: providers.FinishStop, Message: providers.Message{
					Role: providers.RoleAssistant, Content: []providers.Part{
						{Type: providers.PartReasoning, Text: "**Counting the letters**\n\nThe word has three r's."},
						providers.TextPart("There are three r's in \"strawberry\"."),
					}}}},
				Usage: providers.Usage{InputTokens: 11, OutputTokens: 347, CachedInputTokens: 4, ReasoningTokens: 338}},
		},
		{
			fixture: "generate_function_calls.json",
			want: &providers.ChatResponse{ID: "a8RoaPKqH4-ZxN8P6q2WmAQ", Model: "gemini-3-pro-preview",
				Choices: []providers.Choice{{Index: 0, FinishReason: providers.FinishToolCalls, Message: providers.Message{
					Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{
						{ID: joinCallID("call_0", sig), Name: "get_weather", Arguments: `{"location":"Paris"}`},
						{ID: "call_1", Name: "get_time", Arguments: "{}"},
					}}}},
				Usage: providers.Usage{InputTokens: 78, OutputTokens: 72, ReasoningTokens: 48}},
		},
		{
			fixture: "generate_blocked.json",
			want: &providers.ChatResponse{ID: "3sdoaNyFLYGPxN8P1Kn5oQ0", Model: "gemini-2.5-flash",
				Choices: []providers.Choice{{FinishReason: providers.FinishContentFilter, Message: providers.Message{Role: providers.RoleAssistant}}},
				Usage:   providers.Usage{InputTokens: 8}},
		},
		{
			fixture: "generate_candidates.json",
			want: &providers.ChatResponse{ID: "f8hoaI3eJ5XNxN8Pkc3Y4Ao", Model: "gemini-2.0-flash",
				Choices: []providers.Choice{
					{Index: 0, FinishReason: providers.FinishStop, Message: providers.Message{Role: providers.RoleAssistant,
						Content: []providers.Part{providers.TextPart("Hi!")}}},
					{Index: 1, FinishReason: providers.FinishLength, Message: providers.Message{Role: providers.RoleAssistant,
						Content: []providers.Part{providers.TextPart("Hello there, how can")}}},
					{Index: 2, FinishReason: providers.FinishContentFilter, Message: providers.Message{Role: providers.RoleAssistant}},
				},
				Usage: providers.Usage{InputTokens: 2, OutputTokens: 12}},
		},
	}
	p := newTestProvider(t, nil)
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			got, err := p.decodeChat(200, readFixture(t, tt.fixture))
			if err != nil {
				t.Fatalf("decodeChat: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decodeChat =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestDecodeChatErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		kind providers.ErrorKind
	}{
		{name: "not JSON", body: `<html>`, kind: providers.KindBadResponse},
		{name: "error object in 200", body: `{"error":{"code":500,"message":"boom","status":"INTERNAL"}}`, kind: providers.KindServer},
	}
	p := newTestProvider(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := p.decodeChat(200, []byte(tt.body))
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != tt.kind {
				t.Fatalf("err = %v, want kind %s", err, tt.kind)
			}
		})
	}
}

func TestFinishReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		calls bool
		want  providers.FinishReason
	}{
		{"", false, ""},
		{"STOP", false, providers.FinishStop},
		{"STOP", true, providers.FinishToolCalls},
		{"MAX_TOKENS", true, providers.FinishLength},
		{"SAFETY", false, providers.FinishContentFilter},
		{"RECITATION", false, providers.FinishContentFilter},
		{"BLOCKLIST", false, providers.FinishContentFilter},
		{"PROHIBITED_CONTENT", false, providers.FinishContentFilter},
		{"SPII", false, providers.FinishContentFilter},
		{"IMAGE_SAFETY", false, providers.FinishContentFilter},
		{"MALFORMED_FUNCTION_CALL", false, providers.FinishError},
		{"OTHER", false, providers.FinishError},
		{"FINISH_REASON_UNSPECIFIED", false, providers.FinishStop},
		{"SOMETHING_NEW", true, providers.FinishToolCalls},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := finishReason(tt.in, tt.calls); got != tt.want {
				t.Errorf("finishReason(%q, %v) = %q, want %q", tt.in, tt.calls, got, tt.want)
			}
		})
	}
}
