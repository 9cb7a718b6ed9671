package gemini

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
)

// serveBody starts a server answering every request with body.
func serveBody(t *testing.T, contentType string, body []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("alt") != "sse" || r.Header.Get(apiKeyHeader) != testKey {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// collect reads a stream to its end.
func collect(s providers.Stream) ([]*providers.Chunk, error) {
	defer s.Close()
	var out []*providers.Chunk
	for {
		c, err := s.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
}

func TestStreamDecoding(t *testing.T) {
	t.Parallel()
	usage := func(in, out, reasoning int64) *providers.Usage {
		return &providers.Usage{InputTokens: in, OutputTokens: out, ReasoningTokens: reasoning}
	}
	tests := []struct {
		name        string
		fixture     string
		contentType string
		body        string
		want        []*providers.Chunk
		wantKind    providers.ErrorKind
		n           *int
	}{
		{
			name: "text (CRLF events)", fixture: "stream_text.sse",
			want: []*providers.Chunk{
				{ID: "Fb5oaLq1BtqNxN8PtfPYmQk", Model: "gemini-2.0-flash", Choices: []providers.ChoiceDelta{{Role: providers.RoleAssistant, Text: "The"}}},
				{ID: "Fb5oaLq1BtqNxN8PtfPYmQk", Model: "gemini-2.0-flash", Choices: []providers.ChoiceDelta{{Text: " sky appears blue because of Rayleigh"}}},
				{ID: "Fb5oaLq1BtqNxN8PtfPYmQk", Model: "gemini-2.0-flash", Choices: []providers.ChoiceDelta{{Text: " scattering.\n", FinishReason: providers.FinishStop}},
					Usage: usage(9, 11, 0)},
			},
		},
		{
			name: "thoughts and parallel function calls", fixture: "stream_function_call.sse",
			want: []*providers.Chunk{
				{ID: "nsFoaOP8Ka-nxN8Pl7vw-QQ", Model: "gemini-3-pro-preview", Choices: []providers.ChoiceDelta{{Role: providers.RoleAssistant,
					Reasoning: "**Planning the lookup**\n\nI need the weather first."}}},
				{ID: "nsFoaOP8Ka-nxN8Pl7vw-QQ", Model: "gemini-3-pro-preview", Choices: []providers.ChoiceDelta{{
					ToolCalls: []providers.ToolCallDelta{
						{Index: 0, ID: joinCallID("call_0", "CiQBVKhc7xSigOne+/=="), Name: "get_weather", Arguments: `{"location":"Paris"}`},
						{Index: 1, ID: "call_1", Name: "get_time", Arguments: `{"tz":"Europe/Paris"}`},
					}, FinishReason: providers.FinishToolCalls}},
					Usage: usage(64, 109, 78)},
			},
		},
		{
			name: "blocked prompt", fixture: "stream_blocked.sse",
			want: []*providers.Chunk{{ID: "blk", Model: "gemini-2.5-flash",
				Choices: []providers.ChoiceDelta{{Role: providers.RoleAssistant, FinishReason: providers.FinishContentFilter}},
				Usage:   usage(12, 0, 0)}},
		},
		{
			name: "JSON array answer", contentType: "application/json",
			body: `[{"candidates":[{"content":{"parts":[{"text":"a"}],"role":"model"}}],"responseId":"j","modelVersion":"m"},
				{"candidates":[{"content":{"parts":[{"text":"b"}],"role":"model"},"finishReason":"STOP"}],
				 "usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":2,"totalTokenCount":3},"responseId":"j","modelVersion":"m"}]`,
			want: []*providers.Chunk{
				{ID: "j", Model: "m", Choices: []providers.ChoiceDelta{{Role: providers.RoleAssistant, Text: "a"}}},
				{ID: "j", Model: "m", Choices: []providers.ChoiceDelta{{Text: "b", FinishReason: providers.FinishStop}}, Usage: usage(1, 2, 0)},
			},
		},
		{
			name: "two candidates, usage after both finish", n: ptr(2),
			body: "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}],\"role\":\"model\"},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":1}}\n\n" +
				"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"y\"}],\"role\":\"model\"},\"finishReason\":\"MAX_TOKENS\",\"index\":1}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2}}\n\n",
			want: []*providers.Chunk{
				{Choices: []providers.ChoiceDelta{{Role: providers.RoleAssistant, Text: "x", FinishReason: providers.FinishStop}}},
				{Choices: []providers.ChoiceDelta{{Index: 1, Role: providers.RoleAssistant, Text: "y", FinishReason: providers.FinishLength}}, Usage: usage(3, 2, 0)},
			},
		},
		{
			name: "usage after finish arrives in a trailing chunk",
			body: "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}],\"role\":\"model\"},\"finishReason\":\"STOP\"}],\"responseId\":\"r\"}\n\n" +
				": keep-alive\n\n" +
				"data: {\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":1},\"responseId\":\"r\"}", // no final blank line
			want: []*providers.Chunk{
				{ID: "r", Choices: []providers.ChoiceDelta{{Role: providers.RoleAssistant, Text: "x", FinishReason: providers.FinishStop}}},
				{ID: "r", Usage: usage(3, 1, 0)},
			},
		},
		{name: "ends before finish reason", fixture: "stream_truncated.sse", wantKind: providers.KindConnection},
		{name: "ends inside an event", body: "data: {\"candidates\":[{\"content\":{\"parts\":[{\"te", wantKind: providers.KindConnection},
		{name: "empty body", body: "", wantKind: providers.KindConnection},
		{name: "error event", fixture: "stream_error.sse", wantKind: providers.KindOverloaded},
		{name: "garbage event", body: "data: not json\n\n", wantKind: providers.KindBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(tt.body)
			if tt.fixture != "" {
				body = readFixture(t, tt.fixture)
			}
			ct := tt.contentType
			if ct == "" {
				ct = "text/event-stream"
			}
			p, err := New(providers.Config{ID: "gm", BaseURL: serveBody(t, ct, body), APIKey: testKey})
			if err != nil {
				t.Fatal(err)
			}
			s, err := p.ChatStream(context.Background(), &providers.ChatRequest{Model: "gemini-2.5-flash", N: tt.n, Messages: []providers.Message{user("hi")}})
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			got, err := collect(s)
			if tt.wantKind != 0 {
				var pe *providers.Error
				if !errors.As(err, &pe) || pe.Kind != tt.wantKind {
					t.Fatalf("err = %v, want kind %s", err, tt.wantKind)
				}
				if _, again := s.Recv(); again == nil {
					t.Error("Recv after failure returned no error")
				}
				return
			}
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("chunks:\n%s\nwant:\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

func dump(cs []*providers.Chunk) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("  ")
		b.WriteString(strings.ReplaceAll(strings.TrimSpace(strings.Join(strings.Fields(sprintChunk(c)), " ")), "\n", " "))
		b.WriteByte('\n')
	}
	return b.String()
}

func sprintChunk(c *providers.Chunk) string {
	s := "id=" + c.ID + " model=" + c.Model
	for _, d := range c.Choices {
		s += " [" + string(d.Role) + " text=" + d.Text + " reasoning=" + d.Reasoning + " finish=" + string(d.FinishReason)
		for _, tc := range d.ToolCalls {
			s += " call(" + tc.ID + "," + tc.Name + "," + tc.Arguments + ")"
		}
		s += "]"
	}
	if c.Usage != nil {
		s += " usage"
	}
	return s
}

func TestStreamCloseStopsRecv(t *testing.T) {
	t.Parallel()
	p, err := New(providers.Config{ID: "gm", BaseURL: serveBody(t, "text/event-stream", readFixture(t, "stream_text.sse")), APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.ChatStream(context.Background(), &providers.ChatRequest{Model: "gemini-2.5-flash", Messages: []providers.Message{user("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Recv(); !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("Recv after Close = %v, want ErrStreamClosed", err)
	}
	if s.Header().Get("Content-Type") != "text/event-stream" {
		t.Errorf("Header() = %v", s.Header())
	}
}
