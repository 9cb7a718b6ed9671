package openaiapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/providers"
)

func ptr[T any](v T) *T { return &v }

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeChatFixtures(t *testing.T) {
	t.Parallel()
	full := providers.ChatRequest{
		Model: "gpt-4o-mini",
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart("You are terse.")}},
			{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("What is in this image?"),
				{Type: providers.PartImage, Image: &providers.Image{URL: "data:image/png;base64,iVBORw0KGgo=", Detail: "low"}}}},
			{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "call_1", Name: "describe", Arguments: `{"q":"img"}`}}},
			{Role: providers.RoleTool, ToolCallID: "call_1", Content: []providers.Part{providers.TextPart("a cat")}},
			{Role: providers.RoleUser, Name: "bob", Content: []providers.Part{providers.TextPart("thanks")}},
		},
		Tools:             []providers.Tool{{Name: "describe", Description: "d", Parameters: json.RawMessage(`{"type": "object"}`), Strict: true}},
		ToolChoice:        &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: "describe"},
		ParallelToolCalls: ptr(false),
		ResponseFormat:    &providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "out", Schema: json.RawMessage(`{"type": "object"}`), Strict: true},
		N:                 ptr(2), Stop: []string{"END", "STOP"}, Seed: ptr[int64](7), User: "u-1",
		MaxTokens: ptr(20), Temperature: ptr(0.5), TopP: ptr(0.9), PresencePenalty: ptr(0.1), FrequencyPenalty: ptr(-0.1),
		Reasoning:    &providers.ReasoningConfig{Effort: "high"},
		ExtraDialect: Dialect,
		Extra: map[string]json.RawMessage{
			"logprobs": json.RawMessage(`true`), "top_logprobs": json.RawMessage(`3`), "metadata": json.RawMessage(`{"team": "search"}`),
			"reasoning_effort": json.RawMessage(`"high"`), "service_tier": json.RawMessage(`"flex"`),
			"prediction": json.RawMessage(`{"type": "content", "content": "x,\"}]{"}`),
		},
	}
	legacy := providers.ChatRequest{
		Model: "gpt-4o-mini",
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart("sys")}},
			{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("weather?")}},
			{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "call_legacy_weather", Name: "weather", Arguments: "{}"}}},
			{Role: providers.RoleTool, ToolCallID: "call_legacy_weather", Content: []providers.Part{providers.TextPart("sunny")}},
		},
		Tools:      []providers.Tool{{Name: "weather", Parameters: json.RawMessage(`{"type": "object"}`)}},
		ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: "weather"},
		Stop:       []string{"\n\n"},
	}
	tests := []struct {
		name                    string
		fixture                 string
		want                    providers.ChatRequest
		stream, usage, isLegacy bool
		metadata                map[string]string
	}{
		{name: "every field", fixture: "chat_full.json", want: full, stream: true, usage: true, metadata: map[string]string{"team": "search"}},
		{name: "legacy functions", fixture: "chat_legacy_functions.json", want: legacy, isLegacy: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d decoded
			if err := decodeChat(readFixture(t, tt.fixture), &d); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.req, tt.want) {
				g, _ := json.MarshalIndent(d.req, "", " ")
				w, _ := json.MarshalIndent(tt.want, "", " ")
				t.Errorf("decoded\n%s\nwant\n%s", g, w)
			}
			if d.stream != tt.stream || d.includeUsage != tt.usage || d.legacy != tt.isLegacy || !reflect.DeepEqual(d.metadata, tt.metadata) {
				t.Errorf("stream %v usage %v legacy %v metadata %v", d.stream, d.includeUsage, d.legacy, d.metadata)
			}
		})
	}
}

func TestDecodeChatErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		wantParam string
		wantMsg   string
	}{
		{"not json", `{"model":`, "", "could not parse"},
		{"not an object", `[1]`, "", "JSON object"},
		{"wrong field type", `{"model":"m","n":"two"}`, "n", "expected int"},
		{"nested field type", `{"model":"m","messages":[{"role":"user","tool_calls":[{"id":1}]}]}`, "messages.tool_calls.id", "expected string"},
		{"bad role", `{"model":"m","messages":[{"role":"robot","content":"x"}]}`, "messages[0].role", "robot"},
		{"missing role", `{"model":"m","messages":[{"content":"x"}]}`, "messages[0].role", "required"},
		{"content number", `{"model":"m","messages":[{"role":"user","content":5}]}`, "messages[0].content", "string or an array"},
		{"audio part", `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio"}]}]}`, "messages[0].content[0].type", "input_audio"},
		{"image without url", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}`, "messages[0].content[0].image_url.url", "required"},
		{"stop number", `{"model":"m","stop":5}`, "stop", "string or an array"},
		{"custom tool", `{"model":"m","tools":[{"type":"custom","custom":{"name":"x"}}]}`, "tools[0].type", "custom"},
		{"tool choice mode", `{"model":"m","tool_choice":"sometimes"}`, "tool_choice", "sometimes"},
		{"tool choice type", `{"model":"m","tool_choice":{"type":"allowed_tools"}}`, "tool_choice.type", "allowed_tools"},
		{"tool choice without name", `{"model":"m","tool_choice":{"type":"function","function":{}}}`, "tool_choice", "name"},
		{"response format", `{"model":"m","response_format":{"type":"xml"}}`, "response_format.type", "xml"},
		{"json schema missing", `{"model":"m","response_format":{"type":"json_schema"}}`, "response_format.json_schema", "required"},
		{"metadata values", `{"model":"m","metadata":{"a":1}}`, "metadata", "expected string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d decoded
			err := decodeChat([]byte(tt.body), &d)
			e := toAPIError("req_x", err)
			if e.Status != http.StatusBadRequest || e.Param != tt.wantParam || !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("got %d param %q message %q; want 400 %q containing %q", e.Status, e.Param, e.Message, tt.wantParam, tt.wantMsg)
			}
		})
	}
}

func TestScanExtra(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want map[string]json.RawMessage
	}{
		{"none", `{"model":"m","messages":[]}`, nil},
		{"whitespace and nesting", " {\n \"model\" : \"m\",\t\"x\" : {\"a\":[1,{\"b\":\"}]\"}]} , \"y\":null }", map[string]json.RawMessage{
			"x": json.RawMessage(`{"a":[1,{"b":"}]"}]}`), "y": json.RawMessage(`null`)}},
		{"scalars", `{"a":-1.5e3,"b":true,"c":"s\"q"}`, map[string]json.RawMessage{
			"a": json.RawMessage(`-1.5e3`), "b": json.RawMessage(`true`), "c": json.RawMessage(`"s\"q"`)}},
		{"escaped key", `{"mod\u0065l":"m","k\u0065y":1}`, map[string]json.RawMessage{"key": json.RawMessage(`1`)}},
		{"empty object", `{}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := scanExtra([]byte(tt.body), knownChatField)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEncodeCompletion(t *testing.T) {
	t.Parallel()
	resp := &providers.ChatResponse{ID: "up", Model: "upstream-model", Created: time.Unix(1700000000, 0),
		Choices: []providers.Choice{{Index: 0, FinishReason: providers.FinishToolCalls, Message: providers.Message{
			Role: providers.RoleAssistant, Content: []providers.Part{{Type: providers.PartReasoning, Text: "hmm"}},
			ToolCalls: []providers.ToolCall{{ID: "call_1", Name: "f", Arguments: `{"a":1}`}}}}},
		Usage: providers.Usage{InputTokens: 10, OutputTokens: 4, CachedInputTokens: 2, ReasoningTokens: 1}}
	tests := []struct {
		name   string
		legacy bool
		want   string
	}{
		{"tool calls", false, `{"id":"chatcmpl-x","object":"chat.completion","created":1700000000,"model":"alias","choices":[{"index":0,"message":{"role":"assistant","content":null,"reasoning_content":"hmm","refusal":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}],"annotations":[]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}},"system_fingerprint":null}`},
		{"legacy function call", true, `{"id":"chatcmpl-x","object":"chat.completion","created":1700000000,"model":"alias","choices":[{"index":0,"message":{"role":"assistant","content":null,"reasoning_content":"hmm","refusal":null,"function_call":{"name":"f","arguments":"{\"a\":1}"},"annotations":[]},"logprobs":null,"finish_reason":"function_call"}],"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}},"system_fingerprint":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(encodeCompletion(resp, "chatcmpl-x", "alias", 1, tt.legacy))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b, tt.want)
			}
		})
	}
}

func TestChunkEncoderGolden(t *testing.T) {
	t.Parallel()
	chunks := []providers.Chunk{
		{Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{ID: "call_9", Name: "lookup"}}}}},
		{Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{Arguments: `{"a":1}`}}}}},
		{Choices: []providers.ChoiceDelta{{FinishReason: providers.FinishToolCalls}}},
		{Usage: &providers.Usage{InputTokens: 99}}, // usage-only: not sent, the final usage is
	}
	e := newChunkEncoder("chatcmpl-x", "alias", 1700000000, false)
	var out bytes.Buffer
	for i := range chunks {
		b, err := e.encode(&chunks[i])
		if err != nil {
			t.Fatal(err)
		}
		out.Write(b)
	}
	b, err := e.usageEvent(providers.Usage{InputTokens: 5, OutputTokens: 3, CachedInputTokens: 1, ReasoningTokens: 2})
	if err != nil {
		t.Fatal(err)
	}
	out.Write(b)
	if want := readFixture(t, "stream_tool_call.golden"); !bytes.Equal(out.Bytes(), want) {
		t.Errorf("got\n%s\nwant\n%s", out.Bytes(), want)
	}
}

func TestEncodeVector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    []float32
		b64  bool
		want string
	}{
		{"float", []float32{0.5, -1.25, 1e-7}, false, `[0.5,-1.25,1e-07]`},
		{"empty float", nil, false, `[]`},
		{"base64 little endian", []float32{1, -2}, true, `"AACAPwAAAMA="`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(encodeVector(nil, tt.v, tt.b64)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// lockedRecorder is a ResponseRecorder safe to read while a keep-alive
// goroutine writes (sseWriter serialises the writes themselves).
type lockedRecorder struct {
	mu sync.Mutex
	*httptest.ResponseRecorder
}

func (l *lockedRecorder) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ResponseRecorder.Write(b)
}

func (l *lockedRecorder) body() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.Body.String()
}

func TestKeepAlive(t *testing.T) {
	t.Parallel()
	rec := &lockedRecorder{ResponseRecorder: httptest.NewRecorder()}
	sw := &sseWriter{w: rec, rc: http.NewResponseController(rec.ResponseRecorder), last: time.Now()}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); sw.keepAlive(20*time.Millisecond, stop) }()
	testutil.Eventually(t, func() error {
		if strings.Count(rec.body(), ": keep-alive\n\n") < 2 {
			return fmt.Errorf("no keep-alives: %q", rec.body())
		}
		return nil
	})
	close(stop)
	<-done
	if err := sw.send(doneEvent); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(rec.body(), ": keep-alive\n\ndata: [DONE]\n\n") {
		t.Errorf("body %q", rec.body())
	}
}
