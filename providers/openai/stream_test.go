package openai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream/sse"
)

// closeCounter is a body that counts Close calls.
type closeCounter struct {
	io.Reader
	closes atomic.Int32
}

func (c *closeCounter) Close() error { c.closes.Add(1); return nil }

func newTestStream(p *Provider, body io.Reader) (*stream, *closeCounter) {
	cc := &closeCounter{Reader: body}
	return &stream{p: p, body: cc, header: http.Header{"X-Request-Id": {"req_1"}}, sse: sse.NewReader(cc)}, cc
}

// drain reads chunks until an error.
func drain(s providers.Stream) ([]*providers.Chunk, error) {
	var out []*providers.Chunk
	for {
		c, err := s.Recv()
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
}

func TestStreamDecode(t *testing.T) {
	t.Parallel()
	const textID, textModel = "chatcmpl-AXf6l", "gpt-4o-mini-2024-07-18"
	const toolID = "chatcmpl-tools"
	tests := []struct {
		fixture string
		want    []*providers.Chunk
		wantErr error
		kind    providers.ErrorKind
	}{
		{
			fixture: "stream_text.sse",
			want: []*providers.Chunk{
				{ID: textID, Model: textModel, Choices: []providers.ChoiceDelta{{Role: providers.RoleAssistant}}},
				{ID: textID, Model: textModel, Choices: []providers.ChoiceDelta{{Text: "Hello"}}},
				{ID: textID, Model: textModel, Choices: []providers.ChoiceDelta{{Text: "! How can I help?"}}},
				{ID: textID, Model: textModel, Choices: []providers.ChoiceDelta{{FinishReason: providers.FinishStop}}},
				{ID: textID, Model: textModel, Usage: &providers.Usage{InputTokens: 9, OutputTokens: 9}},
			},
			wantErr: io.EOF,
		},
		{
			fixture: "stream_tool_calls.sse",
			want: []*providers.Chunk{
				{ID: toolID, Model: textModel, Choices: []providers.ChoiceDelta{{Role: providers.RoleAssistant,
					ToolCalls: []providers.ToolCallDelta{{Index: 0, ID: "call_DdmO9pD3xa9XTPNJ32zg2hcA", Name: "get_weather"}}}}},
				{ID: toolID, Model: textModel, Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{Arguments: `{"lo`}}}}},
				{ID: toolID, Model: textModel, Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{Arguments: `cation":"Paris"}`}}}}},
				{ID: toolID, Model: textModel, Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{Index: 1, ID: "call_2", Name: "get_time"}}}}},
				{ID: toolID, Model: textModel, Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{Index: 1, Arguments: `{}`}}}}},
				{ID: toolID, Model: textModel, Choices: []providers.ChoiceDelta{{FinishReason: providers.FinishToolCalls}}},
				{ID: toolID, Model: textModel, Usage: &providers.Usage{InputTokens: 80, OutputTokens: 30, CachedInputTokens: 64, ReasoningTokens: 12}},
			},
			wantErr: io.EOF,
		},
		{
			fixture: "stream_reasoning_crlf.sse",
			want: []*providers.Chunk{
				{ID: "gen-1", Model: "deepseek-reasoner", Choices: []providers.ChoiceDelta{{Role: providers.RoleAssistant, Reasoning: "Compare"}}},
				{ID: "gen-1", Model: "deepseek-reasoner", Choices: []providers.ChoiceDelta{{Reasoning: " digits."}}},
				{ID: "gen-1", Model: "deepseek-reasoner", Choices: []providers.ChoiceDelta{{Text: "9.8", FinishReason: providers.FinishStop}}},
			},
			wantErr: io.EOF,
		},
		{
			fixture: "stream_error.sse",
			want: []*providers.Chunk{
				{ID: "chatcmpl-err", Model: "gpt-4o-mini", Choices: []providers.ChoiceDelta{{Role: providers.RoleAssistant, Text: "Par"}}},
			},
			kind: providers.KindServer,
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestStream(newTestProvider(t, nil), bytes.NewReader(readFixture(t, tt.fixture)))
			got, err := drain(s)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil {
				var pe *providers.Error
				if !errors.As(err, &pe) || pe.Kind != tt.kind || pe.Provider != "oa" {
					t.Errorf("err = %#v, want *providers.Error of kind %v", err, tt.kind)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d chunks, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], tt.want[i]) {
					t.Errorf("chunk %d:\n got %+v\nwant %+v", i, got[i], tt.want[i])
				}
			}
			if _, again := s.Recv(); !errors.Is(again, err) {
				t.Errorf("Recv after end = %v, want the same %v", again, err)
			}
		})
	}
}

func TestStreamFailures(t *testing.T) {
	t.Parallel()
	chunk := `data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}` + "\n\n"
	tests := []struct {
		name   string
		body   io.Reader
		chunks int
		kind   providers.ErrorKind
		msg    string
		target error
	}{
		{name: "ends without done", body: strings.NewReader(chunk), chunks: 1, kind: providers.KindConnection, msg: "stream ended early"},
		{name: "cut mid event", body: strings.NewReader(chunk + `data: {"id":"c","mo`), chunks: 1, kind: providers.KindConnection, msg: "stream ended early"},
		{name: "empty body", body: strings.NewReader(""), kind: providers.KindConnection, msg: "stream ended early"},
		{name: "undecodable chunk", body: strings.NewReader("data: {nope}\n\n"), kind: providers.KindBadResponse},
		{name: "trailing data after a chunk", body: strings.NewReader(chunk + `data: {"id":"c","choices":[]} {"id":"d"}` + "\n\ndata: [DONE]\n\n"),
			chunks: 1, kind: providers.KindBadResponse},
		{name: "truncated JSON in a complete event", body: strings.NewReader(`data: {"id":"c","choices":[` + "\n\ndata: [DONE]\n\n"),
			kind: providers.KindBadResponse},
		{name: "error event with text", body: strings.NewReader("event: error\ndata: upstream exploded\n\n"), kind: providers.KindServer, msg: "upstream exploded"},
		{name: "numeric code error", body: strings.NewReader(`data: {"error":{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}}` + "\n\n"),
			kind: providers.KindInvalidRequest, msg: "bad"},
		{name: "rate limit in stream", body: strings.NewReader(`data: {"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}` + "\n\n"),
			kind: providers.KindRateLimited},
		{name: "reset connection", body: io.MultiReader(strings.NewReader(chunk), iotestErrReader{errors.New("read tcp: connection reset by peer")}),
			chunks: 1, kind: providers.KindConnection, msg: "stream read failed"},
		{name: "context cancelled", body: io.MultiReader(strings.NewReader(chunk), iotestErrReader{context.Canceled}),
			chunks: 1, target: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestStream(newTestProvider(t, nil), tt.body)
			got, err := drain(s)
			if len(got) != tt.chunks {
				t.Errorf("got %d chunks before the error, want %d", len(got), tt.chunks)
			}
			if tt.target != nil {
				if !errors.Is(err, tt.target) {
					t.Fatalf("err = %v, want %v", err, tt.target)
				}
				return
			}
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != tt.kind {
				t.Fatalf("err = %v, want kind %v", err, tt.kind)
			}
			if !strings.Contains(pe.Message, tt.msg) {
				t.Errorf("message %q does not contain %q", pe.Message, tt.msg)
			}
		})
	}
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

func TestStreamSkipsEmptyChunks(t *testing.T) {
	t.Parallel()
	// Azure sends prompt_filter_results in a first chunk without choices.
	body := `data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}` + "\n\n" +
		`data: {"id":"x","model":"m","choices":[{"index":0,"delta":{"content":"a"}}]}` + "\n\n" + "data: [DONE]\n\n"
	s, _ := newTestStream(newTestProvider(t, nil), strings.NewReader(body))
	got, err := drain(s)
	if !errors.Is(err, io.EOF) || len(got) != 1 || got[0].Choices[0].Text != "a" {
		t.Fatalf("got %v, %v; want one chunk with text a", got, err)
	}
}

func TestStreamChunkFieldsDoNotLeak(t *testing.T) {
	t.Parallel()
	body := `data: {"id":"a\u0062","model":"m1","choices":[{"index":1,"delta":{"role":"assistant","content":"x","tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":"{"}}]},"finish_reason":null}]}` + "\n\n" +
		`data: {"id":"ab","model":"m2","choices":[{"index":0,"delta":{"reasoning_content":"r"},"finish_reason":"length"}],"usage":null}` + "\n\n" +
		`data: {"id":null,"model":"m2","choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":1,"completion_tokens":2}}` + "\n\n" +
		"data: [DONE]\n\n"
	s, _ := newTestStream(newTestProvider(t, nil), strings.NewReader(body))
	got, err := drain(s)
	if !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	want := []*providers.Chunk{
		{ID: "ab", Model: "m1", Choices: []providers.ChoiceDelta{{Index: 1, Role: providers.RoleAssistant, Text: "x",
			ToolCalls: []providers.ToolCallDelta{{ID: "t", Name: "f", Arguments: "{"}}}}},
		{ID: "ab", Model: "m2", Choices: []providers.ChoiceDelta{{Reasoning: "r", FinishReason: providers.FinishLength}}},
		{Model: "m2", Choices: []providers.ChoiceDelta{{}}, Usage: &providers.Usage{InputTokens: 1, OutputTokens: 2}},
	}
	if !reflect.DeepEqual(got, want) {
		for i := range got {
			t.Errorf("chunk %d = %+v", i, got[i])
		}
	}
}

func TestStreamClose(t *testing.T) {
	t.Parallel()
	s, cc := newTestStream(newTestProvider(t, nil), strings.NewReader("data: [DONE]\n\n"))
	if got := s.Header().Get("X-Request-Id"); got != "req_1" {
		t.Errorf("Header() lost the response headers: %q", got)
	}
	for range 3 {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := cc.closes.Load(); n != 1 {
		t.Errorf("body closed %d times, want 1", n)
	}
	if _, err := s.Recv(); !errors.Is(err, ErrStreamClosed) {
		t.Errorf("Recv after Close = %v, want ErrStreamClosed", err)
	}
}
