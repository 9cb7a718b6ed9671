package anthropic

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream/sse"
)

// The structured-output tool's call comes back as the message's text, the
// call unwrapped when the schema was wrapped in "value".
func TestStructuredAnswerDecode(t *testing.T) {
	t.Parallel()
	msg := func(input string) []byte {
		return []byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","stop_reason":"tool_use",
			"content":[{"type":"tool_use","id":"toolu_1","name":"answer","input":` + input + `}],
			"usage":{"input_tokens":5,"output_tokens":7}}`)
	}
	tests := []struct {
		name  string
		rt    *responseTool
		input string
		want  string
	}{
		{"object", &responseTool{Name: "answer"}, `{ "city": "Paris", "n": 1 }`, `{"city":"Paris","n":1}`},
		{"wrapped array", &responseTool{Name: "answer", Wrapped: true}, `{"value": [1, 2]}`, `[1,2]`},
		{"wrapped without the member", &responseTool{Name: "answer", Wrapped: true}, `{"other":1}`, `{"other":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := newTestProvider(t, nil).decodeMessage(200, msg(tt.input), tt.rt)
			if err != nil {
				t.Fatal(err)
			}
			c := got.Choices[0]
			if c.FinishReason != providers.FinishStop || len(c.Message.ToolCalls) != 0 ||
				len(c.Message.Content) != 1 || c.Message.Content[0].Text != tt.want {
				t.Errorf("choice = %+v, want text %s and finish stop", c, tt.want)
			}
		})
	}
	// Another tool of the same answer stays a tool call.
	got, err := newTestProvider(t, nil).decodeMessage(200, msg(`{}`), &responseTool{Name: "json_response"})
	if err != nil || len(got.Choices[0].Message.ToolCalls) != 1 || got.Choices[0].FinishReason != providers.FinishToolCalls {
		t.Errorf("other tool: %+v, %v", got, err)
	}
}

const structuredStream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"model\":\"claude-x\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n" +
	"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"answer\",\"input\":{}}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"value\\\": \"}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"[1, 2]}\"}}\n\n" +
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
	"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9}}\n\n" +
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

func TestStructuredAnswerStream(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		wrapped bool
		want    string
	}{
		{"plain: fragments stream as text", false, `{"value": [1, 2]}`},
		{"wrapped: the unwrapped answer at the block's end", true, `[1,2]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := fixtureStream(newTestProvider(t, nil), []byte(structuredStream))
			s.rt = &responseTool{Name: "answer", Wrapped: tt.wrapped}
			chunks, err := drain(s)
			if err != io.EOF {
				t.Fatalf("err = %v", err)
			}
			var text strings.Builder
			var finish providers.FinishReason
			for _, c := range chunks {
				for _, d := range c.Choices {
					if len(d.ToolCalls) > 0 {
						t.Errorf("tool call delta %+v", d.ToolCalls)
					}
					text.WriteString(d.Text)
					if d.FinishReason != "" {
						finish = d.FinishReason
					}
				}
			}
			if text.String() != tt.want || finish != providers.FinishStop {
				t.Errorf("text %q finish %q, want %q stop", text.String(), finish, tt.want)
			}
		})
	}
}

// A passed-through stream carries every event's bytes, as sent, on the
// chunks, with the canonical reading alongside.
func TestStreamRaw(t *testing.T) {
	t.Parallel()
	body := readFixture(t, "stream_text.sse")
	rc := io.NopCloser(bytes.NewReader(body))
	r := sse.NewReader(rc)
	r.KeepRaw(true)
	s := &stream{p: newTestProvider(t, nil), body: rc, sse: r, raw: true}
	// Raw is valid until the next Recv: collect it as it comes.
	var raw []byte
	var text strings.Builder
	var last *providers.Chunk
	for {
		c, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Raw) == 0 {
			t.Errorf("chunk without bytes: %+v", c)
		}
		raw = append(raw, c.Raw...)
		for _, d := range c.Choices {
			text.WriteString(d.Text)
		}
		last = c
	}
	if !bytes.Equal(raw, body) {
		t.Errorf("raw bytes differ from the upstream's:\n%s\nwant\n%s", raw, body)
	}
	if text.Len() == 0 || last == nil || last.Usage == nil {
		t.Errorf("canonical reading lost: text %q", text.String())
	}
}
