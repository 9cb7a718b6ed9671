package gemini

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream/sse"
)

// benchRequest is a typical agent turn: system prompt, a few turns, a tool
// round trip and two tools.
func benchRequest() *providers.ChatRequest {
	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 20)
	return &providers.ChatRequest{
		Model: "gemini-2.5-flash",
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart("You are a helpful assistant.")}},
			user(long),
			{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart(long)}},
			user("What is the weather in Paris?"),
			{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "call_0", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			{Role: providers.RoleTool, ToolCallID: "call_0", Content: []providers.Part{providers.TextPart(`{"temp_c":21,"sky":"clear"}`)}},
		},
		Tools: []providers.Tool{
			{Name: "get_weather", Description: "Weather for a city", Parameters: json.RawMessage(
				`{"type":"object","additionalProperties":false,"properties":{"city":{"type":"string"},"unit":{"type":["string","null"],"enum":["c","f"]}},"required":["city"]}`)},
			{Name: "get_time", Parameters: json.RawMessage(`{"type":"object","properties":{"tz":{"type":"string"}}}`)},
		},
		Temperature: ptr(0.7),
		MaxTokens:   ptr(1024),
	}
}

func BenchmarkEncodeChat(b *testing.B) {
	p := newTestProvider(b, nil)
	req := benchRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.chatBody(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeChat(b *testing.B) {
	p := newTestProvider(b, nil)
	body := readFixture(b, "generate_function_calls.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.decodeChat(200, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamDecode(b *testing.B) {
	p := newTestProvider(b, nil)
	body := readFixture(b, "stream_text.sse")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s := &stream{p: p, body: io.NopCloser(bytes.NewReader(body)), expected: 1}
		s.sse = sse.NewReader(s.body)
		for {
			_, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
