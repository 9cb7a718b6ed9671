package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
)

func ptr[T any](v T) *T { return &v }

func user(text string) providers.Message {
	return providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(text)}}
}

func system(text string) providers.Message {
	return providers.Message{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart(text)}}
}

func assistant(text string) providers.Message {
	return providers.Message{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart(text)}}
}

func newTestProvider(t testing.TB, settings map[string]string) *Provider {
	t.Helper()
	p, err := New(providers.Config{ID: "anthropic-test", APIKey: "sk-ant-test-key", Settings: settings})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// jsonEqual compares two JSON texts structurally.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		var gi, wi bytes.Buffer
		_ = json.Indent(&gi, got, "", "  ")
		_ = json.Indent(&wi, []byte(want), "", "  ")
		t.Errorf("body mismatch\n got: %s\nwant: %s", gi.String(), wi.String())
	}
}

func TestEncodeChat(t *testing.T) {
	t.Parallel()
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	tests := []struct {
		name     string
		settings map[string]string
		req      providers.ChatRequest
		stream   bool
		want     string
	}{
		{
			name: "minimal uses the default max_tokens",
			req:  providers.ChatRequest{Model: "claude-sonnet-4-5", Messages: []providers.Message{user("Hello, world")}},
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hello, world"}]}]}`,
		},
		{
			name:     "default_max_tokens setting and stream",
			settings: map[string]string{"default_max_tokens": "1000"},
			req:      providers.ChatRequest{Model: "m", Messages: []providers.Message{user("hi")}},
			stream:   true,
			want:     `{"model":"m","max_tokens":1000,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
		},
		{
			name: "system messages become top-level blocks with cache_control",
			req: providers.ChatRequest{Model: "m", MaxTokens: ptr(256), Messages: []providers.Message{
				{Role: providers.RoleSystem, Content: []providers.Part{
					{Type: providers.PartText, Text: "You are a librarian.", CacheBreakpoint: true},
					{Type: providers.PartText, Text: ""},
				}},
				user("Which book?"),
				system("Answer briefly."),
			}},
			want: `{"model":"m","max_tokens":256,
				"system":[{"type":"text","text":"You are a librarian.","cache_control":{"type":"ephemeral"}},{"type":"text","text":"Answer briefly."}],
				"messages":[{"role":"user","content":[{"type":"text","text":"Which book?"}]}]}`,
		},
		{
			name: "consecutive same-role messages are merged and empty ones dropped",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{
				user("one"), user("two"),
				{Role: providers.RoleAssistant},
				assistant("three"), assistant("four"),
				user("five"),
			}},
			want: `{"model":"m","max_tokens":4096,"messages":[
				{"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]},
				{"role":"assistant","content":[{"type":"text","text":"three"},{"type":"text","text":"four"}]},
				{"role":"user","content":[{"type":"text","text":"five"}]}]}`,
		},
		{
			name: "images by URL, data URL and inline bytes",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{
				{Type: providers.PartImage, Image: &providers.Image{URL: "https://example.com/cat.jpg", Detail: "high"}},
				{Type: providers.PartImage, Image: &providers.Image{URL: "data:image/png;base64,iVBORw0KGgo="}},
				{Type: providers.PartImage, Image: &providers.Image{Data: png}, CacheBreakpoint: true},
				{Type: providers.PartImage, Image: &providers.Image{Data: []byte("GIF89a"), MIMEType: "image/gif"}},
				providers.TextPart("Describe them."),
			}}}},
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[
				{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}},
				{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
				{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgoAAAANSUhEUg=="},"cache_control":{"type":"ephemeral"}},
				{"type":"image","source":{"type":"base64","media_type":"image/gif","data":"R0lGODlh"}},
				{"type":"text","text":"Describe them."}]}]}`,
		},
		{
			name: "tools, forced tool choice and disabled parallel calls",
			req: providers.ChatRequest{
				Model:    "m",
				Messages: []providers.Message{user("Weather in Paris?")},
				Tools: []providers.Tool{
					{Name: "get_weather", Description: "Get the current weather", Parameters: json.RawMessage(`{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}`)},
					{Name: "get_time"},
				},
				ToolChoice:        &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: "get_weather"},
				ParallelToolCalls: ptr(false),
			},
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Weather in Paris?"}]}],
				"tools":[{"name":"get_weather","description":"Get the current weather","input_schema":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}},
				         {"name":"get_time","input_schema":{"type":"object"}}],
				"tool_choice":{"type":"tool","name":"get_weather","disable_parallel_tool_use":true}}`,
		},
		{
			name: "required tool choice is any",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
				Tools: []providers.Tool{{Name: "t"}}, ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceRequired}},
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
				"tools":[{"name":"t","input_schema":{"type":"object"}}],"tool_choice":{"type":"any"}}`,
		},
		{
			name: "parallel calls off without a choice is auto",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
				Tools: []providers.Tool{{Name: "t"}}, ParallelToolCalls: ptr(false)},
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
				"tools":[{"name":"t","input_schema":{"type":"object"}}],"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}`,
		},
		{
			name: "tool choice none without tools is dropped",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
				ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceNone}},
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`,
		},
		{
			name: "tool calls and merged tool results",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{
				user("Weather in Paris and Rome?"),
				{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart("Checking.")}, ToolCalls: []providers.ToolCall{
					{ID: "toolu_01A", Name: "get_weather", Arguments: `{"location": "Paris"}`},
					{ID: "toolu_01B", Name: "get_weather", Arguments: ``},
				}},
				{Role: providers.RoleTool, ToolCallID: "toolu_01A", Content: []providers.Part{providers.TextPart("15 degrees")}},
				{Role: providers.RoleTool, ToolCallID: "toolu_01B", Content: []providers.Part{providers.TextPart("22 degrees")}, Name: "get_weather"},
				user("Thanks!"),
			}},
			want: `{"model":"m","max_tokens":4096,"messages":[
				{"role":"user","content":[{"type":"text","text":"Weather in Paris and Rome?"}]},
				{"role":"assistant","content":[{"type":"text","text":"Checking."},
					{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"location":"Paris"}},
					{"type":"tool_use","id":"toolu_01B","name":"get_weather","input":{}}]},
				{"role":"user","content":[
					{"type":"tool_result","tool_use_id":"toolu_01A","content":"15 degrees"},
					{"type":"tool_result","tool_use_id":"toolu_01B","content":"22 degrees"},
					{"type":"text","text":"Thanks!"}]}]}`,
		},
		{
			name: "tool result with an image",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{
				{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "toolu_1", Name: "shot", Arguments: "{}"}}},
				{Role: providers.RoleTool, ToolCallID: "toolu_1", Content: []providers.Part{
					providers.TextPart("screenshot:"),
					{Type: providers.PartImage, Image: &providers.Image{URL: "https://example.com/s.png"}, CacheBreakpoint: true},
				}},
			}},
			want: `{"model":"m","max_tokens":4096,"messages":[
				{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"shot","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","cache_control":{"type":"ephemeral"},"content":[
					{"type":"text","text":"screenshot:"},{"type":"image","source":{"type":"url","url":"https://example.com/s.png"}}]}]}]}`,
		},
		{
			name: "thinking blocks come first and unsigned reasoning is dropped",
			req: providers.ChatRequest{Model: "m", Reasoning: &providers.ReasoningConfig{Effort: "high"}, Messages: []providers.Message{
				user("2+2?"),
				{Role: providers.RoleAssistant, Content: []providers.Part{
					providers.TextPart("4"),
					{Type: providers.PartReasoning, Text: "Simple sum.", Signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
					{Type: providers.PartReasoning, RedactedData: "EmwKAhgBEgy3va3pzix"},
					{Type: providers.PartReasoning, Text: "foreign reasoning without signature"},
				}},
				user("And 3+3?"),
			}},
			want: `{"model":"m","max_tokens":20480,"thinking":{"type":"enabled","budget_tokens":16384},"messages":[
				{"role":"user","content":[{"type":"text","text":"2+2?"}]},
				{"role":"assistant","content":[
					{"type":"thinking","thinking":"Simple sum.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
					{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"},
					{"type":"text","text":"4"}]},
				{"role":"user","content":[{"type":"text","text":"And 3+3?"}]}]}`,
		},
		{
			name: "explicit budget and max tokens",
			req: providers.ChatRequest{Model: "m", MaxTokens: ptr(8000), Reasoning: &providers.ReasoningConfig{BudgetTokens: 500},
				Messages: []providers.Message{user("x")}},
			want: `{"model":"m","max_tokens":8000,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`,
		},
		{
			name: "reasoning effort none disables thinking",
			req:  providers.ChatRequest{Model: "m", Reasoning: &providers.ReasoningConfig{Effort: "none"}, Messages: []providers.Message{user("x")}},
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`,
		},
		{
			name: "sampling, stop sequences and user",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
				Temperature: ptr(0.2), TopP: ptr(0.9), TopK: ptr(40), Stop: []string{"\n\nHuman:", "END"}, User: "user-42",
				Seed: ptr(int64(7)), PresencePenalty: ptr(0.5), N: ptr(1), Drop: []string{"seed", "presence_penalty"}},
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
				"temperature":0.2,"top_p":0.9,"top_k":40,"stop_sequences":["\n\nHuman:","END"],"metadata":{"user_id":"user-42"}}`,
		},
		{
			name: "json schema becomes a forced tool",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{system("Be terse."), user("x")},
				ResponseFormat: &providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "answer", Schema: json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"}}}`)}},
			want: `{"model":"m","max_tokens":4096,"system":[{"type":"text","text":"Be terse."}],
				"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
				"tools":[{"name":"answer","description":"Respond with the answer as this tool's input.","input_schema":{"type":"object","properties":{"a":{"type":"integer"}}}}],
				"tool_choice":{"type":"tool","name":"answer"}}`,
		},
		{
			name: "a schema that is not an object is wrapped",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
				ResponseFormat: &providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "bad name!", Schema: json.RawMessage(`{"type":"array"}`)}},
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
				"tools":[{"name":"json_response","description":"Respond with the answer as this tool's input.","input_schema":{"type":"object","properties":{"value":{"type":"array"}},"required":["value"]}}],
				"tool_choice":{"type":"tool","name":"json_response"}}`,
		},
		{
			name: "json object with other tools lets the model pick any",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")}, Tools: []providers.Tool{{Name: "f"}},
				ResponseFormat: &providers.ResponseFormat{Type: providers.FormatJSONObject}},
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
				"tools":[{"name":"f","input_schema":{"type":"object"}},{"name":"json_response","description":"Respond with the answer as this tool's input.","input_schema":{"type":"object"}}],
				"tool_choice":{"type":"any"}}`,
		},
		{
			name: "with thinking the answer's tool is asked for, not forced",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")}, Reasoning: &providers.ReasoningConfig{BudgetTokens: 2000},
				ResponseFormat: &providers.ResponseFormat{Type: providers.FormatJSONObject}},
			want: `{"model":"m","max_tokens":6096,"thinking":{"type":"enabled","budget_tokens":2000},
				"system":[{"type":"text","text":"Give your final answer by calling the json_response tool, whose input is the answer's JSON."}],
				"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
				"tools":[{"name":"json_response","description":"Respond with the answer as this tool's input.","input_schema":{"type":"object"}}]}`,
		},
		{
			name: "documents: PDF, URL, text, file id",
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{
				{Type: providers.PartFile, File: &providers.File{MIMEType: "application/pdf", Base64: "JVBERi0=", Filename: "q3.pdf", Citations: true}, CacheBreakpoint: true},
				{Type: providers.PartFile, File: &providers.File{URL: "https://x/a.pdf", Title: "A", Context: "c"}},
				{Type: providers.PartFile, File: &providers.File{MIMEType: "text/plain", Text: "hello"}},
				{Type: providers.PartFile, File: &providers.File{FileID: "file_01", FileDialect: "anthropic"}},
			}}}},
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[
				{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="},"title":"q3.pdf","citations":{"enabled":true},"cache_control":{"type":"ephemeral"}},
				{"type":"document","source":{"type":"url","url":"https://x/a.pdf"},"title":"A","context":"c"},
				{"type":"document","source":{"type":"text","media_type":"text/plain","data":"hello"}},
				{"type":"document","source":{"type":"file","file_id":"file_01"}}]}]}`,
		},
		{
			name:     "native structured outputs and strict tools",
			settings: map[string]string{"structured_outputs": "native"},
			req: providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
				Tools:          []providers.Tool{{Name: "t", Strict: true, Parameters: json.RawMessage(`{"type":"object","additionalProperties":false}`)}},
				ResponseFormat: &providers.ResponseFormat{Type: providers.FormatJSONSchema, Schema: json.RawMessage(`{"type":"object","additionalProperties":false}`)}},
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
				"tools":[{"name":"t","input_schema":{"type":"object","additionalProperties":false},"strict":true}],
				"output_config":{"format":{"type":"json_schema","schema":{"type":"object","additionalProperties":false}}}}`,
		},
		{
			name: "html characters are not escaped",
			req:  providers.ChatRequest{Model: "m", Messages: []providers.Message{user("<b>a & b</b>")}},
			want: `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"<b>a & b</b>"}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newTestProvider(t, tt.settings)
			body, err := p.chatBody(&tt.req, tt.stream)
			if err != nil {
				t.Fatalf("chatBody: %v", err)
			}
			jsonEqual(t, body, tt.want)
			if tt.name == "html characters are not escaped" && !bytes.Contains(body, []byte("<b>a & b</b>")) {
				t.Errorf("body escapes HTML: %s", body)
			}
		})
	}
}

func TestEncodeChatInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  *providers.ChatRequest
		want string
	}{
		{"nil request", nil, "nil chat request"},
		{"zero max tokens", &providers.ChatRequest{Model: "m", MaxTokens: ptr(0), Messages: []providers.Message{user("x")}}, "max tokens must be at least 1"},
		{"n greater than one", &providers.ChatRequest{Model: "m", N: ptr(2), Messages: []providers.Message{user("x")}}, "n is not supported by model"},
		{"seed", &providers.ChatRequest{Model: "m", Seed: ptr(int64(1)), Messages: []providers.Message{user("x")}}, "seed is not supported by model \"m\": Anthropic has no seed"},
		{"logprobs from an OpenAI client", &providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
			Source: &providers.Source{Dialect: "openai", Wire: fakeWire{{Name: "logprobs", Value: []byte("true")}}}}, "Anthropic returns no log probabilities"},
		{"OpenAI file id", &providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser,
			Content: []providers.Part{{Type: providers.PartFile, File: &providers.File{FileID: "file-1", FileDialect: "openai"}}}}}}, "another provider's Files API"},
		{"a Word document", &providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser,
			Content: []providers.Part{{Type: providers.PartFile, File: &providers.File{MIMEType: "application/msword", Base64: "AA=="}}}}}}, "not application/msword"},
		{"invalid tool arguments", &providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x"),
			{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "t1", Name: "f", Arguments: `{"a":`}}}}}, "arguments are not a JSON object"},
		{"non-object tool arguments", &providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x"),
			{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "t1", Name: "f", Arguments: `[1,2]`}}}}}, "not an object"},
		{"tool call without id", &providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x"),
			{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{Name: "f", Arguments: `{}`}}}}}, "needs an id and a name"},
		{"tool message without call id", &providers.ChatRequest{Model: "m", Messages: []providers.Message{
			{Role: providers.RoleTool, Content: []providers.Part{providers.TextPart("r")}}}}, "without tool call id"},
		{"unknown role", &providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: "developer"}}}, `unknown role "developer"`},
		{"image in system", &providers.ChatRequest{Model: "m", Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: []providers.Part{{Type: providers.PartImage, Image: &providers.Image{URL: "https://x/y.png"}}}}}}, "system messages cannot contain images"},
		{"image without source", &providers.ChatRequest{Model: "m", Messages: []providers.Message{
			{Role: providers.RoleUser, Content: []providers.Part{{Type: providers.PartImage, Image: &providers.Image{}}}}}}, "neither URL nor data"},
		{"ftp image", &providers.ChatRequest{Model: "m", Messages: []providers.Message{
			{Role: providers.RoleUser, Content: []providers.Part{{Type: providers.PartImage, Image: &providers.Image{URL: "ftp://x/y.png"}}}}}}, "must use http(s) or a data URL"},
		{"required choice without tools", &providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
			ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceRequired}}, "needs tools"},
		{"unknown tool choice", &providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")}, Tools: []providers.Tool{{Name: "t"}},
			ToolChoice: &providers.ToolChoice{Mode: "sometimes"}}, "unknown tool choice mode"},
		{"unknown effort", &providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
			Reasoning: &providers.ReasoningConfig{Effort: "extreme"}}, "unknown reasoning effort"},
		{"schema missing", &providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
			ResponseFormat: &providers.ResponseFormat{Type: providers.FormatJSONSchema}}, "needs a valid schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newTestProvider(t, nil)
			_, err := p.chatBody(tt.req, false)
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error = %v, want *providers.Error", err)
			}
			if pe.Kind != providers.KindInvalidRequest || providers.IsRetryable(err) {
				t.Errorf("kind = %v retryable = %v, want invalid_request, not retryable", pe.Kind, providers.IsRetryable(err))
			}
			if !strings.Contains(pe.Message, tt.want) {
				t.Errorf("message = %q, want it to contain %q", pe.Message, tt.want)
			}
		})
	}
}

func TestEncodeCountTokens(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t, nil)
	req := &providers.ChatRequest{Model: "m", MaxTokens: ptr(10), Temperature: ptr(0.5), Stop: []string{"x"}, User: "u",
		Messages:  []providers.Message{system("sys"), user("hi")},
		Tools:     []providers.Tool{{Name: "t"}},
		Reasoning: &providers.ReasoningConfig{Effort: "low"}}
	body, err := p.encodeCountTokens(req)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, body, `{"model":"m","system":[{"type":"text","text":"sys"}],"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],
		"tools":[{"name":"t","input_schema":{"type":"object"}}],"thinking":{"type":"enabled","budget_tokens":1024}}`)
}

func TestNewSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      providers.Config
		wantErr  string
		wantHdrs map[string]string
	}{
		{name: "defaults", cfg: providers.Config{ID: "a"}, wantHdrs: map[string]string{"Anthropic-Version": "2023-06-01"}},
		{name: "version and beta", cfg: providers.Config{ID: "a", Settings: map[string]string{"anthropic_version": "2024-01-01", "beta": "a-1,b-2"}},
			wantHdrs: map[string]string{"Anthropic-Version": "2024-01-01", "Anthropic-Beta": "a-1,b-2"}},
		{name: "bad max tokens", cfg: providers.Config{ID: "a", Settings: map[string]string{"default_max_tokens": "lots"}}, wantErr: "default_max_tokens"},
		{name: "zero max tokens", cfg: providers.Config{ID: "a", Settings: map[string]string{"default_max_tokens": "0"}}, wantErr: "not positive"},
		{name: "bad structured outputs", cfg: providers.Config{ID: "a", Settings: map[string]string{"structured_outputs": "magic"}}, wantErr: "structured_outputs"},
		{name: "relative base url", cfg: providers.Config{ID: "a", BaseURL: "/v1"}, wantErr: "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.wantHdrs {
				if got := p.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if p.baseURL != DefaultBaseURL {
				t.Errorf("base url = %q", p.baseURL)
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

// TestPassthrough checks that a request of this dialect reaches the
// upstream byte for byte but for its model, whatever the canonical
// request says, and that the client's headers pass as documented.
func TestPassthrough(t *testing.T) {
	t.Parallel()
	const body = `{"model":"claude","max_tokens":10,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="},"citations":{"enabled":true}}]}],"container":"c","x_new":{"a":[1,2]}}`
	p := newTestProvider(t, map[string]string{"beta": "files-api-2025-04-14"})
	src := &providers.Source{Dialect: "anthropic", Body: []byte(body), Header: http.Header{
		"Anthropic-Beta":    {"context-1m-2025-08-07, files-api-2025-04-14", "interleaved-thinking-2025-05-14"},
		"Anthropic-Version": {"2023-06-01"}, "Idempotency-Key": {"k1"}}}
	for _, tt := range []struct{ model, want string }{
		{"claude", body},
		{"claude-sonnet-4-5", strings.Replace(body, `"model":"claude"`, `"model":"claude-sonnet-4-5"`, 1)},
	} {
		req := &providers.ChatRequest{Model: tt.model, Seed: ptr(int64(1)), Source: src}
		if u := p.Unsupported(req); len(u) != 0 {
			t.Fatalf("unsupported %v", u)
		}
		got, err := p.chatBody(req, true)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("sent\n%s\nwant\n%s", got, tt.want)
		}
	}
	h := p.requestHeader(src)
	if got := h.Get("Anthropic-Beta"); got != "files-api-2025-04-14,context-1m-2025-08-07,interleaved-thinking-2025-05-14" {
		t.Errorf("anthropic-beta = %q", got)
	}
	if h.Get("Anthropic-Version") != "2023-06-01" || h.Get("Idempotency-Key") != "k1" {
		t.Errorf("headers = %v", h)
	}
	if h := p.requestHeader(&providers.Source{Dialect: "openai", Header: http.Header{"Anthropic-Beta": {"x"}}}); h != nil {
		t.Errorf("headers of another dialect passed: %v", h)
	}
}
