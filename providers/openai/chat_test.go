package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
)

func ptr[T any](v T) *T { return &v }

func newTestProvider(t testing.TB, settings map[string]string) *Provider {
	t.Helper()
	p, err := New(providers.Config{ID: "oa", Type: "openai", APIKey: "sk-test-secret", Settings: settings})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// assertJSONEqual compares two JSON documents semantically.
func assertJSONEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		var wb bytes.Buffer
		_ = json.Compact(&wb, []byte(want))
		t.Errorf("body mismatch\n got: %s\nwant: %s", got, wb.Bytes())
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodeChat(t *testing.T) {
	t.Parallel()
	user := func(s string) providers.Message {
		return providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(s)}}
	}
	tests := []struct {
		name     string
		settings map[string]string
		stream   bool
		req      providers.ChatRequest
		want     string
	}{
		{
			name: "simple text with max tokens",
			req:  providers.ChatRequest{Model: "gpt-4o-mini", Messages: []providers.Message{user("Hi <b>&</b>")}, MaxTokens: ptr(100)},
			want: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi <b>&</b>"}],"max_completion_tokens":100}`,
		},
		{
			name:     "legacy max_tokens field",
			settings: map[string]string{"max_tokens_field": "max_tokens"},
			req:      providers.ChatRequest{Model: "llama", Messages: []providers.Message{user("x")}, MaxTokens: ptr(7)},
			want:     `{"model":"llama","messages":[{"role":"user","content":"x"}],"max_tokens":7}`,
		},
		{
			name: "system and multimodal user",
			req: providers.ChatRequest{Model: "gpt-4o", Messages: []providers.Message{
				{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart("Be brief.")}},
				{Role: providers.RoleUser, Name: "ann", Content: []providers.Part{
					providers.TextPart("What is in these?"),
					{Type: providers.PartImage, Image: &providers.Image{URL: "https://example.com/a.png", Detail: "low"}},
					{Type: providers.PartImage, Image: &providers.Image{Data: []byte("\x89PNG"), MIMEType: "image/png"}},
				}},
			}},
			want: `{"model":"gpt-4o","messages":[
				{"role":"system","content":"Be brief."},
				{"role":"user","name":"ann","content":[
					{"type":"text","text":"What is in these?"},
					{"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"low"}},
					{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw=="}}]}]}`,
		},
		{
			name: "tool round trip with reasoning dropped",
			req: providers.ChatRequest{Model: "gpt-4o", Messages: []providers.Message{
				user("weather?"),
				{Role: providers.RoleAssistant,
					Content:   []providers.Part{{Type: providers.PartReasoning, Text: "think"}},
					ToolCalls: []providers.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}, {ID: "call_2", Name: "now"}}},
				{Role: providers.RoleTool, ToolCallID: "call_1", Content: []providers.Part{providers.TextPart("sunny")}},
				{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart("It is "), providers.TextPart("sunny.")}},
			}},
			want: `{"model":"gpt-4o","messages":[
				{"role":"user","content":"weather?"},
				{"role":"assistant","content":null,"tool_calls":[
					{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
					{"id":"call_2","type":"function","function":{"name":"now","arguments":"{}"}}]},
				{"role":"tool","content":"sunny","tool_call_id":"call_1"},
				{"role":"assistant","content":[{"type":"text","text":"It is "},{"type":"text","text":"sunny."}]}]}`,
		},
		{
			name: "tools, forced function and json schema",
			req: providers.ChatRequest{Model: "gpt-4o", Messages: []providers.Message{user("go")},
				Tools: []providers.Tool{
					{Name: "get_weather", Description: "Weather now", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`), Strict: true},
					{Name: "noop"},
				},
				ToolChoice:        &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: "get_weather"},
				ParallelToolCalls: ptr(false),
				ResponseFormat: &providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "answer", Description: "d",
					Schema: json.RawMessage(`{"type":"object"}`), Strict: true},
			},
			want: `{"model":"gpt-4o","messages":[{"role":"user","content":"go"}],
				"tools":[
					{"type":"function","function":{"name":"get_weather","description":"Weather now","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}},
					{"type":"function","function":{"name":"noop"}}],
				"tool_choice":{"type":"function","function":{"name":"get_weather"}},
				"parallel_tool_calls":false,
				"response_format":{"type":"json_schema","json_schema":{"name":"answer","description":"d","schema":{"type":"object"},"strict":true}}}`,
		},
		{
			name: "tool choice mode and json object",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
				Tools: []providers.Tool{{Name: "f"}}, ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceRequired},
				ResponseFormat: &providers.ResponseFormat{Type: providers.FormatJSONObject}},
			want: `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],
				"tool_choice":"required","response_format":{"type":"json_object"}}`,
		},
		{
			name: "schema without name gets one",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
				ResponseFormat: &providers.ResponseFormat{Type: providers.FormatJSONSchema, Schema: json.RawMessage(`{}`)}},
			want: `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"response","schema":{}}}}`,
		},
		{
			name: "sampling parameters",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
				Temperature: ptr(0.0), TopP: ptr(0.9), Stop: []string{"\n\n", "END"}, Seed: ptr(int64(42)),
				PresencePenalty: ptr(0.5), FrequencyPenalty: ptr(-0.5), N: ptr(2), User: "u-1"},
			want: `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0,"top_p":0.9,"stop":["\n\n","END"],
				"seed":42,"presence_penalty":0.5,"frequency_penalty":-0.5,"n":2,"user":"u-1"}`,
		},
		{
			name:   "stream asks for usage",
			stream: true,
			req:    providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")}},
			want:   `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}}`,
		},
		{
			name:     "stream without usage option",
			settings: map[string]string{"stream_usage": "false"},
			stream:   true,
			req:      providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")}},
			want:     `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true}`,
		},
		{
			name: "empty user content is an empty string",
			req:  providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser}}},
			want: `{"model":"m","messages":[{"role":"user","content":""}]}`,
		},
		{
			name: "documents: inline PDF, OpenAI file id, plain text",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{
				{Type: providers.PartFile, File: &providers.File{MIMEType: "application/pdf", Base64: "JVBERi0=", Title: "Q3"}},
				{Type: providers.PartFile, File: &providers.File{FileID: "file-1", FileDialect: "openai"}},
				{Type: providers.PartFile, File: &providers.File{MIMEType: "text/plain", Text: "plain", Title: "Notes"}},
				providers.TextPart("summarise"),
			}}}},
			want: `{"model":"m","messages":[{"role":"user","content":[
				{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0=","filename":"Q3"}},
				{"type":"file","file":{"file_id":"file-1"}},
				{"type":"text","text":"Notes\n\nplain"},
				{"type":"text","text":"summarise"}]}]}`,
		},
		{
			name: "thinking budget becomes reasoning effort",
			req:  providers.ChatRequest{Model: "o3", Messages: []providers.Message{user("x")}, Reasoning: &providers.ReasoningConfig{BudgetTokens: 4096}},
			want: `{"model":"o3","messages":[{"role":"user","content":"x"}],"reasoning_effort":"medium"}`,
		},
		{
			name:     "compatible servers get top_k",
			settings: nil,
			req:      providers.ChatRequest{Model: "llama", Messages: []providers.Message{user("x")}, TopK: ptr(5)},
			want:     `{"model":"llama","messages":[{"role":"user","content":"x"}],"top_k":5}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newTestProvider(t, tt.settings)
			if tt.req.TopK != nil {
				p.compat = true
			}
			got, err := p.encodeChat(&tt.req, tt.stream)
			if err != nil {
				t.Fatalf("encodeChat: %v", err)
			}
			assertJSONEqual(t, got, tt.want)
		})
	}
}

func TestEncodeChatRejects(t *testing.T) {
	t.Parallel()
	msgs := []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("x")}}}
	tests := []struct {
		name string
		req  *providers.ChatRequest
	}{
		{"nil request", nil},
		{"unknown role", &providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: "robot"}}}},
		{"unknown tool choice", &providers.ChatRequest{Model: "m", Messages: msgs, ToolChoice: &providers.ToolChoice{Mode: "any"}}},
		{"function choice without name", &providers.ChatRequest{Model: "m", Messages: msgs, ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceFunction}}},
		{"unknown response format", &providers.ChatRequest{Model: "m", Messages: msgs, ResponseFormat: &providers.ResponseFormat{Type: "yaml"}}},
		{"image without source", &providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser,
			Content: []providers.Part{{Type: providers.PartImage, Image: &providers.Image{}}}}}}},
		{"image part without image", &providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser,
			Content: []providers.Part{{Type: providers.PartImage}}}}}},
		{"top_k to OpenAI", &providers.ChatRequest{Model: "m", Messages: msgs, TopK: ptr(3)}},
		{"another dialect's field", &providers.ChatRequest{Model: "m", Messages: msgs,
			Source: &providers.Source{Dialect: "anthropic", Wire: fakeWire{{Name: "container", Value: []byte(`"c1"`)}}}}},
		{"document by URL", &providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser,
			Content: []providers.Part{{Type: providers.PartFile, File: &providers.File{URL: "https://x/a.pdf"}}}}}}},
		{"another provider's file id", &providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser,
			Content: []providers.Part{{Type: providers.PartFile, File: &providers.File{FileID: "file_01", FileDialect: "anthropic"}}}}}}},
		{"image in a tool result", &providers.ChatRequest{Model: "m", Messages: []providers.Message{
			{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "c", Name: "f"}}},
			{Role: providers.RoleTool, ToolCallID: "c", Content: []providers.Part{{Type: providers.PartImage, Image: &providers.Image{URL: "https://x/a.png"}}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newTestProvider(t, nil).chatBody(tt.req, false)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != providers.KindInvalidRequest || providers.IsRetryable(err) {
				t.Fatalf("err = %v, want non-retryable KindInvalidRequest", err)
			}
		})
	}
}

// fakeWire is a Source's decoded body with the given unmapped fields.
type fakeWire []providers.Field

func (w fakeWire) Unmapped() []providers.Field { return w }

func (w fakeWire) Rewrite(*providers.ChatRequest) ([]byte, error) {
	return nil, errors.New("not supported")
}

func TestDropAllowedFields(t *testing.T) {
	t.Parallel()
	req := &providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("x")}}},
		TopK: ptr(3), Source: &providers.Source{Dialect: "anthropic", Wire: fakeWire{{Name: "container", Value: []byte(`"c1"`)}, {Name: "x", Value: []byte("null")}}}}
	p := newTestProvider(t, nil)
	var fields []string
	for _, u := range p.Unsupported(req) {
		fields = append(fields, u.Field)
	}
	if !reflect.DeepEqual(fields, []string{"container", "top_k"}) {
		t.Fatalf("unsupported = %q", fields)
	}
	req.Drop = fields
	got, err := p.chatBody(req, false)
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, got, `{"model":"m","messages":[{"role":"user","content":"x"}]}`)
}

// TestPassthrough checks that a request of this dialect reaches the
// upstream byte for byte, except for the documented changes.
func TestPassthrough(t *testing.T) {
	t.Parallel()
	const body = `{"messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_hint":{"x":1}}]}],` +
		`"model":"alias","logprobs":true,"max_completion_tokens":5,"x_new":[1, 2 ,3]}`
	tests := []struct {
		name     string
		settings map[string]string
		stream   bool
		model    string
		want     string
	}{
		{name: "same model: the very bytes", model: "alias", want: body},
		{name: "model set", model: "gpt-4o", want: strings.Replace(body, `"model":"alias"`, `"model":"gpt-4o"`, 1)},
		{name: "stream asks for usage", model: "alias", stream: true, want: body[:len(body)-1] + `,"stream_options":{"include_usage":true}}`},
		{name: "stream without usage setting", model: "alias", stream: true, settings: map[string]string{"stream_usage": "false"}, want: body},
		{name: "legacy max tokens field", model: "alias", settings: map[string]string{"max_tokens_field": "max_tokens"},
			want: strings.Replace(body, `,"max_completion_tokens":5`, ``, 1)[:len(body)-len(`,"max_completion_tokens":5`)-1] + `,"max_tokens":5}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := []byte(body)
			req := &providers.ChatRequest{Model: tt.model, Source: &providers.Source{Dialect: "openai", Body: src}}
			p := newTestProvider(t, tt.settings)
			if u := p.Unsupported(req); len(u) != 0 {
				t.Fatalf("unsupported %v", u)
			}
			got, err := p.chatBody(req, tt.stream)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("sent\n%s\nwant\n%s", got, tt.want)
			}
			if string(src) != body {
				t.Error("the client's body was modified")
			}
		})
	}
}

func TestDecodeChat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		want    *providers.ChatResponse
	}{
		{
			fixture: "chat_text.json",
			want: &providers.ChatResponse{ID: "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", Model: "gpt-4o-2024-08-06",
				Created: time.Unix(1741570283, 0).UTC(),
				Choices: []providers.Choice{{Index: 0, FinishReason: providers.FinishStop, Message: providers.Message{
					Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart("The image shows a wooden boardwalk path running through a lush green field.")}}}},
				Usage: providers.Usage{InputTokens: 1117, OutputTokens: 46, CachedInputTokens: 1024}},
		},
		{
			fixture: "chat_tool_calls.json",
			want: &providers.ChatResponse{ID: "chatcmpl-abc123", Model: "gpt-4o-mini", Created: time.Unix(1699896916, 0).UTC(),
				Choices: []providers.Choice{{FinishReason: providers.FinishToolCalls, Message: providers.Message{
					Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{
						{ID: "call_abc123", Name: "get_current_weather", Arguments: "{\n\"location\": \"Boston, MA\"\n}"},
						{ID: "call_def456", Name: "get_time", Arguments: `{"tz":"America/New_York"}`}}}}},
				Usage: providers.Usage{InputTokens: 82, OutputTokens: 17}},
		},
		{
			fixture: "chat_reasoning_deepseek.json",
			want: &providers.ChatResponse{ID: "930c60df-bf64-41c9-a88e-3ec75f81e00e", Model: "deepseek-reasoner", Created: time.Unix(1737521379, 0).UTC(),
				Choices: []providers.Choice{{FinishReason: providers.FinishStop, Message: providers.Message{Role: providers.RoleAssistant,
					Content: []providers.Part{{Type: providers.PartReasoning, Text: "Compare the tenths digit: 8 > 1."}, providers.TextPart("9.8 is greater than 9.11.")}}}},
				Usage: providers.Usage{InputTokens: 19, OutputTokens: 180, CachedInputTokens: 16, ReasoningTokens: 160}},
		},
		{
			fixture: "chat_refusal_legacy.json",
			want: &providers.ChatResponse{ID: "chatcmpl-refusal", Model: "gpt-4o-2024-08-06", Created: time.Unix(1723000000, 0).UTC(),
				Choices: []providers.Choice{
					{Index: 0, FinishReason: providers.FinishStop, Message: providers.Message{Role: providers.RoleAssistant,
						Content: []providers.Part{providers.TextPart("I'm sorry, I can't help with that.")}}},
					{Index: 1, FinishReason: providers.FinishToolCalls, Message: providers.Message{Role: providers.RoleAssistant,
						ToolCalls: []providers.ToolCall{{Name: "lookup", Arguments: `{"q":"x"}`}}}},
				},
				Usage: providers.Usage{InputTokens: 10, OutputTokens: 5}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			got, err := newTestProvider(t, nil).decodeChat(200, readFixture(t, tt.fixture))
			if err != nil {
				t.Fatalf("decodeChat: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeChatFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		kind providers.ErrorKind
	}{
		{"not JSON", `<html>oops</html>`, providers.KindBadResponse},
		{"truncated", `{"id":"x","choices":[{"index":0,`, providers.KindBadResponse},
		{"error object with 200", `{"error":{"message":"Upstream overloaded","type":"server_error","code":null}}`, providers.KindServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newTestProvider(t, nil).decodeChat(200, []byte(tt.body))
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != tt.kind {
				t.Fatalf("err = %v, want kind %v", err, tt.kind)
			}
		})
	}
}

func TestFinishReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want providers.FinishReason
	}{
		{"", ""},
		{"stop", providers.FinishStop},
		{"length", providers.FinishLength},
		{"tool_calls", providers.FinishToolCalls},
		{"function_call", providers.FinishToolCalls},
		{"content_filter", providers.FinishContentFilter},
		{"error", providers.FinishError},
		{"eos", providers.FinishStop},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := finishReason(tt.in); got != tt.want {
				t.Errorf("finishReason(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
