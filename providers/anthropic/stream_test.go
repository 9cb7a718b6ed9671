package anthropic

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream/sse"
)

// fixtureStream returns a stream decoding body.
func fixtureStream(p *Provider, body []byte) *stream {
	rc := io.NopCloser(bytes.NewReader(body))
	return &stream{p: p, body: rc, sse: sse.NewReader(rc)}
}

// drain reads s to the end and returns the chunks and the final error.
func drain(s providers.Stream) ([]providers.Chunk, error) {
	var out []providers.Chunk
	for {
		c, err := s.Recv()
		if err != nil {
			return out, err
		}
		out = append(out, *c)
	}
}

func delta(id string, d providers.ChoiceDelta) providers.Chunk {
	return providers.Chunk{ID: id, Model: "claude-sonnet-4-5-20250929", Choices: []providers.ChoiceDelta{d}}
}

func final(id string, reason providers.FinishReason, u providers.Usage) providers.Chunk {
	c := delta(id, providers.ChoiceDelta{FinishReason: reason})
	c.Usage = &u
	return c
}

func TestStreamDecode(t *testing.T) {
	t.Parallel()
	const (
		text     = "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"
		tools    = "msg_014p7gG3wDgGV9EUtLvnow3U"
		thinking = "msg_01EcMJSdWwAzwN1fCQjgkQXw"
	)
	role := providers.ChoiceDelta{Role: providers.RoleAssistant}
	tests := []struct {
		fixture  string
		want     []providers.Chunk
		wantKind providers.ErrorKind // 0: the stream ends with io.EOF
		wantType string
	}{
		{
			fixture: "stream_text.sse",
			want: []providers.Chunk{
				delta(text, role),
				delta(text, providers.ChoiceDelta{Text: "Hello"}),
				delta(text, providers.ChoiceDelta{Text: "!"}),
				final(text, providers.FinishStop, providers.Usage{InputTokens: 25, OutputTokens: 15}),
			},
		},
		{
			fixture: "stream_tool_use.sse",
			want: []providers.Chunk{
				delta(tools, role),
				delta(tools, providers.ChoiceDelta{Text: "Okay"}),
				delta(tools, providers.ChoiceDelta{Text: ", let's check the weather for San Francisco, CA:"}),
				delta(tools, providers.ChoiceDelta{ToolCalls: []providers.ToolCallDelta{{Index: 0, ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather"}}}),
				delta(tools, providers.ChoiceDelta{ToolCalls: []providers.ToolCallDelta{{Index: 0, Arguments: `{"location":`}}}),
				delta(tools, providers.ChoiceDelta{ToolCalls: []providers.ToolCallDelta{{Index: 0, Arguments: ` "San Fra`}}}),
				delta(tools, providers.ChoiceDelta{ToolCalls: []providers.ToolCallDelta{{Index: 0, Arguments: `ncisc`}}}),
				delta(tools, providers.ChoiceDelta{ToolCalls: []providers.ToolCallDelta{{Index: 0, Arguments: `o, CA"`}}}),
				delta(tools, providers.ChoiceDelta{ToolCalls: []providers.ToolCallDelta{{Index: 0, Arguments: `, "unit": "fah`}}}),
				delta(tools, providers.ChoiceDelta{ToolCalls: []providers.ToolCallDelta{{Index: 0, Arguments: `renheit"}`}}}),
				delta(tools, providers.ChoiceDelta{ToolCalls: []providers.ToolCallDelta{{Index: 1, ID: "toolu_01Hk8kZ1pW3ZpR4yT7tCh9aX", Name: "get_time"}}}),
				delta(tools, providers.ChoiceDelta{ToolCalls: []providers.ToolCallDelta{{Index: 1, Arguments: `{}`}}}),
				final(tools, providers.FinishToolCalls, providers.Usage{InputTokens: 472, OutputTokens: 89}),
			},
		},
		{
			fixture: "stream_thinking.sse",
			want: []providers.Chunk{
				delta(thinking, role),
				delta(thinking, providers.ChoiceDelta{Reasoning: "I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147"}),
				delta(thinking, providers.ChoiceDelta{Reasoning: "\n462 = 3 × 147 + 21\n147 = 7 × 21 + 0\n\nSo GCD(1071, 462) = 21"}),
				delta(thinking, providers.ChoiceDelta{ReasoningSignature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..."}),
				delta(thinking, providers.ChoiceDelta{Text: "The greatest common divisor of 1071 and 462 is **21**."}),
				final(thinking, providers.FinishStop, providers.Usage{InputTokens: 4240, OutputTokens: 187, CachedInputTokens: 3000}),
			},
		},
		{
			fixture: "stream_error.sse",
			want: []providers.Chunk{
				delta("msg_01Overloaded", role),
				delta("msg_01Overloaded", providers.ChoiceDelta{Text: "Par"}),
			},
			wantKind: providers.KindOverloaded,
			wantType: "overloaded_error",
		},
		{
			fixture: "stream_truncated.sse",
			want: []providers.Chunk{
				delta("msg_01Cut", role),
				delta("msg_01Cut", providers.ChoiceDelta{Text: "Hel"}),
			},
			wantKind: providers.KindConnection,
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			p := newTestProvider(t, nil)
			for _, crlf := range []bool{false, true} {
				body := readFixture(t, tt.fixture)
				if crlf {
					body = bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n"))
				}
				s := fixtureStream(p, body)
				got, err := drain(s)
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("crlf=%v chunks:\n got %s\nwant %s", crlf, dump(got), dump(tt.want))
				}
				if tt.wantKind == 0 {
					if err != io.EOF {
						t.Fatalf("crlf=%v end = %v, want io.EOF", crlf, err)
					}
				} else {
					var pe *providers.Error
					if !errors.As(err, &pe) || pe.Kind != tt.wantKind || pe.Type != tt.wantType {
						t.Fatalf("crlf=%v end = %#v, want kind %v type %q", crlf, err, tt.wantKind, tt.wantType)
					}
					if !providers.IsRetryable(err) {
						t.Errorf("mid-stream failure %v should be retryable", err)
					}
				}
				if _, again := s.Recv(); again != err {
					t.Errorf("Recv after the end = %v, want %v again", again, err)
				}
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}
		})
	}
}

func dump(cs []providers.Chunk) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "\n  %s %+v", c.ID, c.Choices)
		if c.Usage != nil {
			fmt.Fprintf(&b, " usage=%+v", *c.Usage)
		}
	}
	return b.String()
}

func TestStreamEvents(t *testing.T) {
	t.Parallel()
	start := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_x\",\"model\":\"m\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
	stop := "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	tests := []struct {
		name      string
		body      string
		wantTexts []string
		wantErr   providers.ErrorKind
	}{
		{
			name: "unknown events and deltas are ignored",
			body: start +
				"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\"}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"query\\\":\\\"x\\\"}\"}}\n\n" +
				"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
				"event: brand_new_event\ndata: {\"type\":\"brand_new_event\"}\n\n" +
				": a comment\n\n" +
				"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"pre\"}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"citations_delta\",\"citation\":{}}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"fix\"}}\n\n" +
				stop,
			wantTexts: []string{"pre", "fix"},
		},
		{
			name:    "error event with non-JSON data",
			body:    start + "event: error\ndata: upstream exploded\n\n",
			wantErr: providers.KindServer,
		},
		{
			name:    "undecodable event",
			body:    start + "event: content_block_delta\ndata: {nope}\n\n",
			wantErr: providers.KindBadResponse,
		},
		{
			name:    "block index out of range",
			body:    start + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":-1,\"content_block\":{\"type\":\"text\"}}\n\n",
			wantErr: providers.KindBadResponse,
		},
		{
			name:    "empty body",
			body:    "",
			wantErr: providers.KindConnection,
		},
		{
			name:      "data without event names",
			body:      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_x\",\"model\":\"m\"}}\n\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"ok\"}}\n\ndata: {\"type\":\"message_stop\"}\n\n",
			wantTexts: []string{"ok"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := fixtureStream(newTestProvider(t, nil), []byte(tt.body))
			chunks, err := drain(s)
			var texts []string
			for _, c := range chunks {
				for _, d := range c.Choices {
					if d.Text != "" {
						texts = append(texts, d.Text)
					}
					if len(d.ToolCalls) > 0 {
						t.Errorf("unexpected tool call delta %+v", d.ToolCalls)
					}
				}
			}
			if !reflect.DeepEqual(texts, tt.wantTexts) {
				t.Errorf("texts = %q, want %q", texts, tt.wantTexts)
			}
			if tt.wantErr == 0 {
				if err != io.EOF {
					t.Fatalf("err = %v, want io.EOF", err)
				}
				return
			}
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != tt.wantErr {
				t.Fatalf("err = %v, want kind %v", err, tt.wantErr)
			}
			if tt.name == "error event with non-JSON data" && pe.Message != "upstream stream error: upstream exploded" {
				t.Errorf("message = %q", pe.Message)
			}
		})
	}
}

func TestStreamClose(t *testing.T) {
	t.Parallel()
	s := fixtureStream(newTestProvider(t, nil), readFixture(t, "stream_text.sse"))
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
}
