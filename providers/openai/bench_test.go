package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/providers"
)

func typicalRequest() *providers.ChatRequest {
	return &providers.ChatRequest{
		Model: "gpt-4o-mini",
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart("You are a helpful assistant. Answer briefly and cite sources.")}},
			{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("What's the weather like in Paris today, and should I bring an umbrella?")}},
			{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			{Role: providers.RoleTool, ToolCallID: "call_1", Content: []providers.Part{providers.TextPart(`{"temp_c":18,"conditions":"light rain"}`)}},
		},
		Tools: []providers.Tool{{Name: "get_weather", Description: "Current weather for a city",
			Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}},
		Temperature: ptr(0.7),
		MaxTokens:   ptr(512),
		User:        "user-1234",
	}
}

func BenchmarkEncodeChat(b *testing.B) {
	p := newTestProvider(b, nil)
	req := typicalRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.encodeChat(req, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPassthrough is the cost of sending a client's own body: the
// model and the stream options patched.
func BenchmarkPassthrough(b *testing.B) {
	p := newTestProvider(b, nil)
	req := typicalRequest()
	body, err := p.encodeChat(req, false)
	if err != nil {
		b.Fatal(err)
	}
	req.Model = "gpt-4o-mini-2024-07-18"
	req.Source = &providers.Source{Dialect: Dialect, Body: body}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.chatBody(req, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeChat(b *testing.B) {
	p := newTestProvider(b, nil)
	body := readFixture(b, "chat_text.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.decodeChat(200, body); err != nil {
			b.Fatal(err)
		}
	}
}

// streamBody returns an SSE body of n content chunks, a finish chunk, a
// usage chunk and [DONE], like OpenAI sends.
func streamBody(n int) []byte {
	var buf bytes.Buffer
	const head = `data: {"id":"chatcmpl-AXf6lbNq2XWCuFNhnA6KDSn8A4jyM","object":"chat.completion.chunk","created":1732628000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0705bf87c0","choices":[{"index":0,"delta":`
	buf.WriteString(head + `{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n")
	for i := range n {
		buf.WriteString(head + `{"content":" token` + strconv.Itoa(i) + `"},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n")
	}
	buf.WriteString(head + `{},"logprobs":null,"finish_reason":"stop"}],"usage":null}` + "\n\n")
	buf.WriteString(`data: {"id":"chatcmpl-AXf6lbNq2XWCuFNhnA6KDSn8A4jyM","object":"chat.completion.chunk","created":1732628000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0705bf87c0","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":100,"total_tokens":109,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}` + "\n\n")
	buf.WriteString("data: [DONE]\n\n")
	return buf.Bytes()
}

func BenchmarkStreamDecode(b *testing.B) {
	const n = 100
	p := newTestProvider(b, nil)
	body := streamBody(n)
	rd := bytes.NewReader(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	chunks := 0
	for b.Loop() {
		rd.Reset(body)
		s, _ := newTestStream(p, rd)
		for {
			_, err := s.Recv()
			if errors.Is(err, io.EOF) {
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

func BenchmarkChatAgainstFake(b *testing.B) {
	_, base := fakeupstream.StartOpenAI(b)
	p, err := New(providers.Config{ID: "fake", BaseURL: base, APIKey: "k"})
	if err != nil {
		b.Fatal(err)
	}
	req := typicalRequest()
	req.Messages = req.Messages[:2]
	ctx := context.Background()
	b.Run("unary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Chat(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stream", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, err := p.ChatStream(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			var text strings.Builder
			for {
				c, err := s.Recv()
				if err != nil {
					if !errors.Is(err, io.EOF) {
						b.Fatal(err)
					}
					break
				}
				for _, d := range c.Choices {
					text.WriteString(d.Text)
				}
			}
			s.Close()
		}
	})
}
