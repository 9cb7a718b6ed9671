package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
)

// benchRequest is a typical agent turn: a cached system prompt, tools and a
// short history with a tool round trip.
func benchRequest() *providers.ChatRequest {
	return &providers.ChatRequest{
		Model:     "claude-sonnet-4-5",
		MaxTokens: ptr(1024),
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: []providers.Part{{Type: providers.PartText, Text: strings.Repeat("You are a helpful assistant. ", 40), CacheBreakpoint: true}}},
			user("What's the weather in Paris and in Rome?"),
			{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart("Let me check both.")}, ToolCalls: []providers.ToolCall{
				{ID: "toolu_01A", Name: "get_weather", Arguments: `{"location":"Paris","unit":"celsius"}`},
				{ID: "toolu_01B", Name: "get_weather", Arguments: `{"location":"Rome","unit":"celsius"}`},
			}},
			{Role: providers.RoleTool, ToolCallID: "toolu_01A", Content: []providers.Part{providers.TextPart(`{"temp":18,"sky":"cloudy"}`)}},
			{Role: providers.RoleTool, ToolCallID: "toolu_01B", Content: []providers.Part{providers.TextPart(`{"temp":24,"sky":"sunny"}`)}},
			assistant("Paris is 18°C and cloudy; Rome is 24°C and sunny."),
			user("Thanks. And tomorrow?"),
		},
		Tools: []providers.Tool{{Name: "get_weather", Description: "Get the weather for a location",
			Parameters: json.RawMessage(`{"type":"object","properties":{"location":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}`)}},
		Temperature: ptr(0.7),
	}
}

func BenchmarkEncodeChat(b *testing.B) {
	p := newTestProvider(b, nil)
	req := benchRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.chatBody(req, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMessage(b *testing.B) {
	p := newTestProvider(b, nil)
	body := readFixture(b, "message_tool_use.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.decodeMessage(200, body, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// textStream builds a stream of n text deltas.
func textStream(n int) []byte {
	var buf bytes.Buffer
	buf.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n")
	buf.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	for i := range n {
		fmt.Fprintf(&buf, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"token %d, \"}}\n\n", i)
	}
	buf.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	buf.WriteString("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":1000}}\n\n")
	buf.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	return buf.Bytes()
}

func benchStream(b *testing.B, body []byte) { benchStreamMode(b, body, false) }

// benchStreamMode reads body as a stream, relaying the raw events (a
// same-dialect passthrough) when raw is set.
func benchStreamMode(b *testing.B, body []byte, raw bool) {
	p := newTestProvider(b, nil)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	chunks := 0
	for b.Loop() {
		s := fixtureStream(p, body)
		s.raw = raw
		s.sse.KeepRaw(raw)
		for {
			_, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			chunks++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(chunks), "ns/chunk")
}

func BenchmarkStreamTextChunks(b *testing.B) { benchStream(b, textStream(1000)) }

// BenchmarkStreamPassthrough relays a short answer's events as they came
// (same-dialect passthrough): every event, with or without content.
func BenchmarkStreamPassthrough(b *testing.B) { benchStreamMode(b, textStream(8), true) }

func BenchmarkStreamToolUse(b *testing.B) { benchStream(b, readFixture(b, "stream_tool_use.sse")) }
