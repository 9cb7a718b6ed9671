package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
)

func ptr[T any](v T) *T { return &v }

const testKey = "AIzaSy-test-secret-key"

func newTestProvider(t testing.TB, settings map[string]string) *Provider {
	t.Helper()
	p, err := New(providers.Config{ID: "gm", Type: "gemini", APIKey: testKey, Settings: settings})
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

func user(s string) providers.Message {
	return providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(s)}}
}

func TestEncodeChat(t *testing.T) {
	t.Parallel()
	sig := "CiQBVKhc7xSigOne+/=="
	tests := []struct {
		name     string
		settings map[string]string
		req      providers.ChatRequest
		want     string
	}{
		{
			name: "system, text and sampling",
			req: providers.ChatRequest{Model: "gemini-2.5-flash", Messages: []providers.Message{
				{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart("Be brief.")}},
				user("Hi <b>&</b>"),
			}, Temperature: ptr(0.2), TopP: ptr(0.9), TopK: ptr(40), MaxTokens: ptr(100), Stop: []string{"END"},
				N: ptr(2), Seed: ptr(int64(7)), PresencePenalty: ptr(0.1), FrequencyPenalty: ptr(0.3),
				ParallelToolCalls: ptr(false), User: "u1"},
			want: `{"contents":[{"role":"user","parts":[{"text":"Hi <b>&</b>"}]}],
				"systemInstruction":{"parts":[{"text":"Be brief."}]},
				"generationConfig":{"stopSequences":["END"],"candidateCount":2,"maxOutputTokens":100,"temperature":0.2,
				"topP":0.9,"topK":40,"seed":7,"presencePenalty":0.1,"frequencyPenalty":0.3}}`,
		},
		{
			name: "images: inline, data URL, remote URL",
			req: providers.ChatRequest{Model: "gemini-2.5-flash", Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{
				providers.TextPart("What is this?"),
				{Type: providers.PartImage, Image: &providers.Image{Data: []byte("\x89PNG\r\n\x1a\nrest"), MIMEType: "image/png"}},
				{Type: providers.PartImage, Image: &providers.Image{URL: "data:image/jpeg;base64,/9j/4AAQ"}},
				{Type: providers.PartImage, Image: &providers.Image{URL: "https://example.com/cat.webp?size=2"}},
				{Type: providers.PartImage, Image: &providers.Image{URL: "https://example.com/photo"}},
			}}}},
			want: `{"contents":[{"role":"user","parts":[{"text":"What is this?"},
				{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgpyZXN0"}},
				{"inlineData":{"mimeType":"image/jpeg","data":"/9j/4AAQ"}},
				{"fileData":{"mimeType":"image/webp","fileUri":"https://example.com/cat.webp?size=2"}},
				{"fileData":{"mimeType":"image/*","fileUri":"https://example.com/photo"}}]}]}`,
		},
		{
			name: "tool round trip: calls, parallel results merged, name recovered",
			req: providers.ChatRequest{Model: "gemini-2.5-flash", Messages: []providers.Message{
				user("Weather and time in Paris?"),
				{Role: providers.RoleAssistant, Content: []providers.Part{{Type: providers.PartReasoning, Text: "thinking"}, providers.TextPart("Let me check.")},
					ToolCalls: []providers.ToolCall{
						{ID: "call_0", Name: "get_weather", Arguments: `{"location":"Paris"}`},
						{ID: "fc-abc", Name: "get_time", Arguments: ""},
					}},
				{Role: providers.RoleTool, ToolCallID: "call_0", Content: []providers.Part{providers.TextPart(`{"temp":21}`)}},
				{Role: providers.RoleTool, ToolCallID: "fc-abc", Content: []providers.Part{providers.TextPart("12:00")}},
				user("Thanks"),
			}},
			want: `{"contents":[
				{"role":"user","parts":[{"text":"Weather and time in Paris?"}]},
				{"role":"model","parts":[{"text":"Let me check."},
					{"functionCall":{"name":"get_weather","args":{"location":"Paris"}}},
					{"functionCall":{"id":"fc-abc","name":"get_time","args":{}}}]},
				{"role":"user","parts":[
					{"functionResponse":{"name":"get_weather","response":{"temp":21}}},
					{"functionResponse":{"id":"fc-abc","name":"get_time","response":{"result":"12:00"}}},
					{"text":"Thanks"}]}]}`,
		},
		{
			name: "gemini 3: signature from id, fallback for unsigned first call",
			req: providers.ChatRequest{Model: "gemini-3-pro-preview", Messages: []providers.Message{
				user("a"),
				{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: joinCallID("call_0", sig), Name: "f", Arguments: "{}"}}},
				{Role: providers.RoleTool, ToolCallID: joinCallID("call_0", sig), Content: []providers.Part{providers.TextPart("ok")}},
				{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "call_abc", Name: "g", Arguments: "{}"}, {ID: "call_def", Name: "g", Arguments: "{}"}}},
				{Role: providers.RoleTool, ToolCallID: "call_abc", Content: []providers.Part{providers.TextPart("1")}},
				{Role: providers.RoleTool, ToolCallID: "call_def", Content: []providers.Part{providers.TextPart("2")}},
			}},
			want: `{"contents":[
				{"role":"user","parts":[{"text":"a"}]},
				{"role":"model","parts":[{"functionCall":{"name":"f","args":{}},"thoughtSignature":"CiQBVKhc7xSigOne+/=="}]},
				{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"result":"ok"}}}]},
				{"role":"model","parts":[{"functionCall":{"id":"call_abc","name":"g","args":{}},"thoughtSignature":"skip_thought_signature_validator"},
					{"functionCall":{"id":"call_def","name":"g","args":{}}}]},
				{"role":"user","parts":[{"functionResponse":{"id":"call_abc","name":"g","response":{"result":"1"}}},
					{"functionResponse":{"id":"call_def","name":"g","response":{"result":"2"}}}]}]}`,
		},
		{
			name:     "signature fallback off",
			settings: map[string]string{"thought_signature_fallback": "false"},
			req: providers.ChatRequest{Model: "gemini-3-flash", Messages: []providers.Message{
				user("a"), {Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "x", Name: "f"}}}}},
			want: `{"contents":[{"role":"user","parts":[{"text":"a"}]},{"role":"model","parts":[{"functionCall":{"id":"x","name":"f","args":{}}}]}]}`,
		},
		{
			name: "tools sanitized, forced function",
			req: providers.ChatRequest{Model: "gemini-2.5-flash", Messages: []providers.Message{user("x")},
				Tools: []providers.Tool{
					{Name: "get_weather", Description: "Weather", Strict: true, Parameters: json.RawMessage(
						`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","additionalProperties":false,
						"properties":{"location":{"type":"string","format":"uri"},"unit":{"type":["string","null"],"enum":["c","f"]}},
						"required":["location","missing"]}`)},
					{Name: "now", Parameters: json.RawMessage(`{"type":"object","properties":{}}`)},
				},
				ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: "get_weather"}},
			want: `{"contents":[{"role":"user","parts":[{"text":"x"}]}],
				"tools":[{"functionDeclarations":[
					{"name":"get_weather","description":"Weather","parameters":{"type":"object",
						"properties":{"location":{"type":"string"},"unit":{"type":"string","nullable":true,"enum":["c","f"]}},
						"required":["location"]}},
					{"name":"now"}]}],
				"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}}}`,
		},
		{
			name:     "json_schema mode keeps schemas verbatim",
			settings: map[string]string{"schema": "json_schema"},
			req: providers.ChatRequest{Model: "gemini-2.5-flash", Messages: []providers.Message{user("x")},
				Tools:      []providers.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":"object","additionalProperties":false}`)}},
				ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceNone},
				ResponseFormat: &providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "out",
					Schema: json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":false}`)}},
			want: `{"contents":[{"role":"user","parts":[{"text":"x"}]}],
				"tools":[{"functionDeclarations":[{"name":"f","parametersJsonSchema":{"type":"object","additionalProperties":false}}]}],
				"toolConfig":{"functionCallingConfig":{"mode":"NONE"}},
				"generationConfig":{"responseMimeType":"application/json",
					"responseJsonSchema":{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":false}}}`,
		},
		{
			name: "json schema response format sanitized, required tool choice",
			req: providers.ChatRequest{Model: "gemini-2.5-flash", Messages: []providers.Message{user("x")},
				Tools:      []providers.Tool{{Name: "f"}},
				ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceRequired},
				ResponseFormat: &providers.ResponseFormat{Type: providers.FormatJSONSchema,
					Schema: json.RawMessage(`{"type":"object","properties":{"a":{"$ref":"#/$defs/A"}},"$defs":{"A":{"type":"integer","description":"n"}}}`)}},
			want: `{"contents":[{"role":"user","parts":[{"text":"x"}]}],
				"tools":[{"functionDeclarations":[{"name":"f"}]}],
				"toolConfig":{"functionCallingConfig":{"mode":"ANY"}},
				"generationConfig":{"responseMimeType":"application/json",
					"responseSchema":{"type":"object","properties":{"a":{"type":"integer","description":"n"}}}}}`,
		},
		{
			name: "json object and thinking budget",
			req: providers.ChatRequest{Model: "gemini-2.5-pro", Messages: []providers.Message{user("x")},
				ResponseFormat: &providers.ResponseFormat{Type: providers.FormatJSONObject},
				Reasoning:      &providers.ReasoningConfig{BudgetTokens: 2048}},
			want: `{"contents":[{"role":"user","parts":[{"text":"x"}]}],
				"generationConfig":{"responseMimeType":"application/json","thinkingConfig":{"includeThoughts":true,"thinkingBudget":2048}}}`,
		},
		{
			name: "effort on gemini 2.5 becomes a budget",
			req: providers.ChatRequest{Model: "models/gemini-2.5-flash", Messages: []providers.Message{user("x")},
				Reasoning: &providers.ReasoningConfig{Effort: "medium"}},
			want: `{"contents":[{"role":"user","parts":[{"text":"x"}]}],
				"generationConfig":{"thinkingConfig":{"includeThoughts":true,"thinkingBudget":8192}}}`,
		},
		{
			name: "effort on gemini 3 becomes a level",
			req: providers.ChatRequest{Model: "gemini-3-pro-preview", Messages: []providers.Message{user("x")},
				Reasoning: &providers.ReasoningConfig{Effort: "low"}},
			want: `{"contents":[{"role":"user","parts":[{"text":"x"}]}],
				"generationConfig":{"thinkingConfig":{"includeThoughts":true,"thinkingLevel":"LOW"}}}`,
		},
		{
			name:     "thinking=budget forces budgets, effort none disables",
			settings: map[string]string{"thinking": "budget"},
			req: providers.ChatRequest{Model: "gemini-3-pro-preview", Messages: []providers.Message{user("x")},
				Reasoning: &providers.ReasoningConfig{Effort: "none"}},
			want: `{"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"thinkingConfig":{"thinkingBudget":0}}}`,
		},
		{
			name: "documents and a tool result with an image",
			req: providers.ChatRequest{Model: "gemini-2.5-flash", Messages: []providers.Message{
				{Role: providers.RoleUser, Content: []providers.Part{
					{Type: providers.PartFile, File: &providers.File{MIMEType: "application/pdf", Base64: "JVBERi0="}},
					{Type: providers.PartFile, File: &providers.File{URL: "https://x/a.pdf"}},
					{Type: providers.PartFile, File: &providers.File{Text: "notes", Title: "N"}},
					providers.TextPart("sum up")}},
				{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "call_1", Name: "shot"}}},
				{Role: providers.RoleTool, ToolCallID: "call_1", Content: []providers.Part{providers.TextPart("done"),
					{Type: providers.PartImage, Image: &providers.Image{Data: []byte("\x89PNG"), MIMEType: "image/png"}}}},
			}},
			want: `{"contents":[{"role":"user","parts":[
				{"inlineData":{"mimeType":"application/pdf","data":"JVBERi0="}},
				{"fileData":{"mimeType":"application/pdf","fileUri":"https://x/a.pdf"}},
				{"text":"N\n\nnotes"},{"text":"sum up"}]},
				{"role":"model","parts":[{"functionCall":{"name":"shot","args":{}}}]},
				{"role":"user","parts":[{"functionResponse":{"name":"shot","response":{"result":"done"}}},
					{"inlineData":{"mimeType":"image/png","data":"iVBORw=="}}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newTestProvider(t, tt.settings)
			got, err := p.chatBody(&tt.req)
			if err != nil {
				t.Fatalf("chatBody: %v", err)
			}
			assertJSONEqual(t, got, tt.want)
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
		{name: "nil", req: nil, want: "nil chat request"},
		{name: "no model", req: &providers.ChatRequest{Messages: []providers.Message{user("x")}}, want: "without model"},
		{name: "unknown role", req: &providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: "developer"}}}, want: "unknown role"},
		{name: "orphan tool result", req: &providers.ChatRequest{Model: "m", Messages: []providers.Message{
			user("x"), {Role: providers.RoleTool, ToolCallID: "call_9", Content: []providers.Part{providers.TextPart("r")}}}},
			want: "function name is unknown"},
		{name: "non-object arguments", req: &providers.ChatRequest{Model: "m", Messages: []providers.Message{
			{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "a", Name: "f", Arguments: "[1]"}}}}},
			want: "not a JSON object"},
		{name: "bad effort", req: &providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
			Reasoning: &providers.ReasoningConfig{Effort: "extreme"}}, want: "unknown reasoning effort"},
		{name: "bad tool choice", req: &providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
			ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceFunction}}, want: "needs a function name"},
		{name: "bad schema", req: &providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
			Tools: []providers.Tool{{Name: "f", Parameters: json.RawMessage(`[1]`)}}}, want: "not a JSON object"},
		{name: "bad data url", req: &providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser,
			Content: []providers.Part{{Type: providers.PartImage, Image: &providers.Image{URL: "data:image/png;base64,@@@"}}}}}},
			want: "not base64"},
		{name: "image without source", req: &providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser,
			Content: []providers.Part{{Type: providers.PartImage, Image: &providers.Image{}}}}}}, want: "neither URL nor data"},
		{name: "logit_bias from an OpenAI client", req: &providers.ChatRequest{Model: "m", Messages: []providers.Message{user("x")},
			Source: &providers.Source{Dialect: "openai", Wire: fakeWire{{Name: "logit_bias", Value: []byte(`{"1":2}`)}}}},
			want: "logit_bias is not supported by model"},
		{name: "an OpenAI file id", req: &providers.ChatRequest{Model: "m", Messages: []providers.Message{{Role: providers.RoleUser,
			Content: []providers.Part{{Type: providers.PartFile, File: &providers.File{FileID: "file-1", FileDialect: "openai"}}}}}},
			want: "another provider's Files API"},
	}
	p := newTestProvider(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := p.chatBody(tt.req)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != providers.KindInvalidRequest {
				t.Fatalf("err = %v, want KindInvalidRequest", err)
			}
			if !strings.Contains(pe.Message, tt.want) {
				t.Errorf("message %q does not contain %q", pe.Message, tt.want)
			}
		})
	}
}

func TestNewSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		baseURL  string
		settings map[string]string
		wantErr  string
	}{
		{name: "defaults"},
		{name: "all valid", settings: map[string]string{"api_version": "v1", "schema": "json_schema", "thinking": "level",
			"thought_signature_fallback": "false", "embed_task_type": "RETRIEVAL_QUERY"}},
		{name: "relative base", baseURL: "localhost:1234", wantErr: "absolute"},
		{name: "key in base url", baseURL: "https://h.example/?key=abc", wantErr: "must not have a query"},
		{name: "bad schema", settings: map[string]string{"schema": "yaml"}, wantErr: "setting schema"},
		{name: "bad thinking", settings: map[string]string{"thinking": "deep"}, wantErr: "setting thinking"},
		{name: "bad fallback", settings: map[string]string{"thought_signature_fallback": "maybe"}, wantErr: "thought_signature_fallback"},
		{name: "bad version", settings: map[string]string{"api_version": "v1/../x"}, wantErr: "api_version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(providers.Config{ID: "gm", BaseURL: tt.baseURL, APIKey: testKey, Settings: tt.settings})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "abc") {
				t.Errorf("error leaks the URL query: %v", err)
			}
		})
	}
}

func TestCallIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, id, sig string
		generated     bool
	}{
		{name: "generated", id: "call_3", generated: true},
		{name: "generated other candidate", id: "call_1_0", generated: true},
		{name: "upstream id with signature", id: "fc-9x2", sig: "CiQB+/x=="},
		{name: "sentinel signature", id: "call_0", sig: skipSignatureValidator, generated: true},
		{name: "openai id", id: "call_DdmO9pD3xa9XTPNJ32zg2hcA"},
		{name: "empty", id: "", generated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			joined := joinCallID(tt.id, tt.sig)
			if strings.Trim(joined, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
				t.Errorf("joined id %q has characters outside [A-Za-z0-9_-]", joined)
			}
			base, sig := splitCallID(joined)
			if base != tt.id || sig != tt.sig {
				t.Errorf("split(%q) = %q, %q; want %q, %q", joined, base, sig, tt.id, tt.sig)
			}
			if got := isGeneratedID(base); got != tt.generated {
				t.Errorf("isGeneratedID(%q) = %v", base, got)
			}
		})
	}
	if base, sig := splitCallID("x__ts_!!!"); base != "x__ts_!!!" || sig != "" {
		t.Errorf("undecodable suffix split to %q, %q", base, sig)
	}
}

func TestIsModernModel(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"gemini-3-pro-preview": true, "models/gemini-3.5-flash": true, "gemini-10-ultra": true,
		"gemini-2.5-flash": false, "gemini-1.5-pro": false, "gemini-flash-latest": false, "gemma-3-27b-it": false,
		"tunedModels/gemini-3-x": true, "": false,
	}
	for model, want := range tests {
		t.Run(model, func(t *testing.T) {
			t.Parallel()
			if got := isModernModel(model); got != want {
				t.Errorf("isModernModel(%q) = %v, want %v", model, got, want)
			}
		})
	}
}

func TestParseDataURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url, mime, data, err string
	}{
		{name: "base64", url: "data:image/png;base64,aGVsbG8=", mime: "image/png", data: "hello"},
		{name: "base64 unpadded url-safe", url: "data:image/png;base64,_-8", mime: "image/png", data: "\xff\xef"},
		{name: "params", url: "data:text/plain;charset=utf-8,a%20b", mime: "text/plain", data: "a b"},
		{name: "no type", url: "data:,x", data: "x"},
		{name: "no comma", url: "data:image/png;base64", err: "without comma"},
		{name: "bad base64", url: "data:image/png;base64,***", err: "not base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt, data, err := parseDataURL(tt.url)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || mt != tt.mime || string(data) != tt.data {
				t.Errorf("parseDataURL = %q, %q, %v; want %q, %q", mt, data, err, tt.mime, tt.data)
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

// TestPassthrough checks that a Gemini request is sent as it is: the
// model travels in the URL.
func TestPassthrough(t *testing.T) {
	t.Parallel()
	body := []byte(`{"contents":[{"role":"user","parts":[{"text":"x"}]}],"safety_settings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}],"x_new":1}`)
	p := newTestProvider(t, nil)
	req := &providers.ChatRequest{Model: "gemini-2.5-flash", Seed: ptr(int64(1)), Source: &providers.Source{Dialect: "gemini", Body: body}}
	got, err := p.chatBody(req)
	if err != nil || string(got) != string(body) {
		t.Fatalf("sent %s, %v", got, err)
	}
}
