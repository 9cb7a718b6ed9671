package openaiapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	json2 "github.com/go-json-experiment/json"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
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
		Reasoning: &providers.ReasoningConfig{Effort: "high"},
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
		unmapped                []string
		stream, usage, isLegacy bool
		metadata                map[string]string
	}{
		{name: "every field", fixture: "chat_full.json", want: full, stream: true, usage: true, metadata: map[string]string{"team": "search"},
			unmapped: []string{`logprobs=true`, `top_logprobs=3`, `prediction={"type": "content", "content": "x,\"}]{"}`, `service_tier="flex"`}},
		{name: "legacy functions", fixture: "chat_legacy_functions.json", want: legacy, isLegacy: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d decoded
			body := readFixture(t, tt.fixture)
			if err := decodeChat(body, http.Header{"Openai-Beta": {"assistants=v2"}, "X-Other": {"x"}}, &d); err != nil {
				t.Fatal(err)
			}
			src := d.req.Source
			if src == nil || src.Dialect != Dialect || !bytes.Equal(src.Body, body) || len(src.Header) != 1 || src.Header.Get("OpenAI-Beta") != "assistants=v2" {
				t.Fatalf("source = %+v", src)
			}
			var unmapped []string
			for _, f := range src.Unmapped() {
				unmapped = append(unmapped, f.Name+"="+string(f.Value))
			}
			if !reflect.DeepEqual(unmapped, tt.unmapped) {
				t.Errorf("unmapped = %q, want %q", unmapped, tt.unmapped)
			}
			d.req.Source = nil
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
		{"not json", `{"model":`, "", "not valid JSON"},
		{"not an object", `[1]`, "", "JSON object"},
		{"duplicate member", `{"model":"a","model":"b"}`, "", "duplicate"},
		{"invalid UTF-8", "{\"model\":\"\xff\"}", "", "UTF-8"},
		{"wrong field type", `{"model":"m","n":"two"}`, "n", "expected"},
		{"nested field type", `{"model":"m","messages":[{"role":"user","tool_calls":[{"id":1}]}]}`, "messages[0].tool_calls[0].id", "expected"},
		{"bad role", `{"model":"m","messages":[{"role":"robot","content":"x"}]}`, "messages[0].role", "robot"},
		{"missing role", `{"model":"m","messages":[{"content":"x"}]}`, "messages[0].role", "required"},
		{"content number", `{"model":"m","messages":[{"role":"user","content":5}]}`, "messages[0].content", "string, an array of content parts"},
		{"unknown part", `{"model":"m","messages":[{"role":"user","content":[{"type":"video"}]}]}`, "messages[0].content[0].type", "video"},
		{"file without data", `{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf"}}]}]}`, "messages[0].content[0].file", "file_data or file_id"},
		{"file data not a data URL", `{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"data:application/pdf,abc"}}]}]}`, "messages[0].content[0].file.file_data", "base64"},
		{"image without url", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}`, "messages[0].content[0].image_url.url", "required"},
		{"stop number", `{"model":"m","stop":5}`, "stop", "string or an array"},
		{"tool without function", `{"model":"m","tools":[{"type":"function"}]}`, "tools[0].function", "required"},
		{"tool choice mode", `{"model":"m","tool_choice":"sometimes"}`, "tool_choice", "sometimes"},
		{"tool choice without name", `{"model":"m","tool_choice":{"type":"function","function":{}}}`, "tool_choice", "name"},
		{"response format", `{"model":"m","response_format":{"type":"xml"}}`, "response_format.type", "xml"},
		{"json schema missing", `{"model":"m","response_format":{"type":"json_schema"}}`, "response_format.json_schema", "required"},
		{"metadata values", `{"model":"m","metadata":{"a":1}}`, "metadata.a", "expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d decoded
			err := decodeChat([]byte(tt.body), nil, &d)
			e := toAPIError("req_x", err)
			if e.Status != http.StatusBadRequest || e.Param != tt.wantParam || !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("got %d param %q message %q; want 400 %q containing %q", e.Status, e.Param, e.Message, tt.wantParam, tt.wantMsg)
			}
		})
	}
}

// TestUnmapped checks what an OpenAI request carries that the canonical
// request does not: documented fields other dialects cannot take, content
// without a canonical form, and unknown members at any level, while
// defaults (logprobs false, store false) and hints are left out.
func TestUnmapped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"none", `{"model":"m","messages":[{"role":"user","content":"x"}],"store":false,"prompt_cache_key":"k","safety_identifier":"u","metadata":{"a":"b"},"service_tier":"auto"}`, nil},
		{"logprobs false still listed, dropped later as asking nothing", `{"model":"m","messages":[],"logprobs":false}`, []string{"logprobs=false"}},
		{"content without a canonical form", `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}]}],
			"tools":[{"type":"custom","custom":{"name":"g"}}],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}}}`,
			[]string{`messages[0].content[0]={"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}`,
				`tools[0]={"type":"custom","custom":{"name":"g"}}`, `tool_choice={"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}}`}},
		{"unknown members at every level", `{"model":"m","x_top":1,"messages":[{"role":"user","x_msg":2,"content":[{"type":"text","text":"a","x_part":3}]}],
			"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{},"x_deep":4}}}`,
			[]string{"messages[0].content[0].x_part=3", "messages[0].x_msg=2", "response_format.json_schema.x_deep=4", "x_top=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d decoded
			if err := decodeChat([]byte(tt.body), nil, &d); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range d.req.Source.Unmapped() {
				got = append(got, f.Name+"="+string(f.Value))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("unmapped = %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestRewrite checks that a guardrail's rewrite of the canonical request
// reaches the client's body, and only its texts change.
func TestRewrite(t *testing.T) {
	t.Parallel()
	body := []byte(`{"model":"m","messages":[{"role":"system","content":"sys a@b.c"},{"role":"user","x":1,"content":[{"type":"text","text":"hi a@b.c"},{"type":"image_url","image_url":{"url":"https://x/i.png"}},{"type":"text","text":"more"}]},{"role":"assistant","content":null,"refusal":"no a@b.c"}],"x_top":{"k":[1,2]}}`)
	var d decoded
	if err := decodeChat(body, nil, &d); err != nil {
		t.Fatal(err)
	}
	cp := d.req
	cp.Messages = slices.Clone(d.req.Messages)
	for i := range cp.Messages {
		cp.Messages[i].Content = slices.Clone(cp.Messages[i].Content)
		for j := range cp.Messages[i].Content {
			if p := &cp.Messages[i].Content[j]; p.Type == providers.PartText {
				p.Text = strings.ReplaceAll(p.Text, "a@b.c", "[EMAIL_1]")
			}
		}
	}
	src := d.req.Source.Rewritten(&cp)
	want := strings.ReplaceAll(`{"model":"m","messages":[{"role":"system","content":"sys [EMAIL_1]"},{"role":"user","content":[{"type":"text","text":"hi [EMAIL_1]"},{"type":"image_url","image_url":{"url":"https://x/i.png"}},{"type":"text","text":"more"}],"x":1},{"role":"assistant","content":null,"refusal":"no [EMAIL_1]"}],"x_top":{"k":[1,2]}}`, " ", " ")
	if string(src.Body) != want {
		t.Fatalf("rewritten body\n%s\nwant\n%s", src.Body, want)
	}
	// A rewrite that changes the structure cannot reach the body: the
	// adapter translates the canonical request instead.
	cp.Messages = append(cp.Messages, providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("x")}})
	if src := d.req.Source.Rewritten(&cp); src.Body != nil {
		t.Fatalf("structural rewrite rendered %s", src.Body)
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
			b, err := apischema.Marshal(encodeCompletion(resp, "chatcmpl-x", "alias", 1, tt.legacy))
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
			if got := string(schema.Vector{Values: tt.v, Base64: tt.b64}.AppendJSON(nil)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// BenchmarkDecodeChat is the cost of decoding a chat request with every
// field set into the schema and the canonical request.
func BenchmarkDecodeChat(b *testing.B) {
	body := readFixture(b, "chat_full.json")
	b.ReportAllocs()
	for b.Loop() {
		var d decoded
		if err := decodeChat(body, nil, &d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChunkEncode is the per-chunk cost of a streamed text delta.
func BenchmarkChunkEncode(b *testing.B) {
	e := newChunkEncoder("chatcmpl-x", "gpt-4o-mini", 1700000000, false)
	c := &providers.Chunk{Choices: []providers.ChoiceDelta{{Text: "hello there"}}}
	if _, err := e.encode(c); err != nil { // the role chunk
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.encode(c); err != nil {
			b.Fatal(err)
		}
	}
}

// The fast path writes exactly what the schema's encoding writes, and
// leaves to it what it does not cover.
func TestChunkFastPath(t *testing.T) {
	stop := "stop"
	tests := []struct {
		name   string
		chunks []providers.Chunk
	}{
		{"role then text", []providers.Chunk{{Choices: []providers.ChoiceDelta{{Text: "hi"}}}, {Choices: []providers.ChoiceDelta{{Text: "there"}}}}},
		{"role without text", []providers.Chunk{{Choices: []providers.ChoiceDelta{{Role: providers.RoleAssistant}}}}},
		{"escapes", []providers.Chunk{{Choices: []providers.ChoiceDelta{{Text: "a\"b\\c\n\t\x01<&>\u2028é😀"}}}}},
		{"reasoning and finish", []providers.Chunk{{Choices: []providers.ChoiceDelta{{Reasoning: "think"}}}, {Choices: []providers.ChoiceDelta{{FinishReason: providers.FinishReason(stop)}}}}},
		{"two choices", []providers.Chunk{{Choices: []providers.ChoiceDelta{{Index: 0, Text: "a"}, {Index: 1, Text: "b", FinishReason: providers.FinishLength}}}}},
		{"tool call (slow path)", []providers.Chunk{{Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{ID: "c", Name: "f", Arguments: "{}"}}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, legacy := range []bool{false, true} {
				e := newChunkEncoder("chatcmpl-\"x\"", "gpt-4o-mini", 1700000000, legacy)
				for i := range tt.chunks {
					got, err := e.encode(&tt.chunks[i])
					if err != nil {
						t.Fatal(err)
					}
					got = slices.Clone(got)
					// What the schema's encoding writes for the same chunk.
					var want bytes.Buffer
					want.WriteString("data: ")
					if err := json2.MarshalWrite(&want, &e.out); err != nil {
						t.Fatal(err)
					}
					want.WriteString("\n\n")
					if string(got) != want.String() {
						t.Errorf("chunk %d (legacy %v):\n got %s\nwant %s", i, legacy, got, want.String())
					}
				}
			}
		})
	}
	// Invalid UTF-8 fails on both paths.
	e := newChunkEncoder("id", "m", 1, false)
	if _, err := e.encode(&providers.Chunk{Choices: []providers.ChoiceDelta{{Text: "bad \xff"}}}); err == nil {
		t.Error("invalid UTF-8 encoded")
	}
}

// Decoding a conversation of text messages allocates the messages and
// their text parts, one array each: the paths of errors are built only for
// an error.
func TestDecodeMessagesAllocs(t *testing.T) {
	var turns []string
	for i := range 150 {
		turns = append(turns, fmt.Sprintf(`{"role":%q,"content":"turn %d"}`, []string{"user", "assistant"}[i%2], i))
	}
	var w schema.ChatCompletionRequest
	if err := apischema.Unmarshal([]byte(`{"model":"m","messages":[`+strings.Join(turns, ",")+`]}`), &w); err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(20, func() {
		if _, err := decodeMessages(w.Messages, nil); err != nil {
			t.Fatal(err)
		}
	})
	if want := 2.0; n > want {
		t.Errorf("decodeMessages of %d text messages: %v allocations, want at most %v", len(turns), n, want)
	}
}
