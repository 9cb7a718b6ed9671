package anthropicapi

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

func ptr[T any](v T) *T { return &v }

// Translating a conversation of string messages allocates as much for 150
// turns as for 2: the parts come from one array, and the paths of errors
// are built only for an error.
func TestToCanonicalAllocs(t *testing.T) {
	allocs := func(turns int) float64 {
		in := &schema.MessagesRequest{Model: "claude-haiku-4-5", MaxTokens: ptr(256)}
		for i := range turns {
			role := []string{schema.RoleUser, schema.RoleAssistant}[i%2]
			in.Messages = append(in.Messages, schema.MessageParam{Role: role, Content: schema.Blocks{Text: ptr("turn")}})
		}
		return testing.AllocsPerRun(20, func() {
			if _, err := toCanonical(in, true, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	if short, long := allocs(2), allocs(150); long != short {
		t.Errorf("toCanonical: %v allocations for 150 turns, %v for 2; want the same", long, short)
	}
}

func TestToCanonical(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want *providers.ChatRequest
	}{
		{
			name: "string content and system",
			body: `{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"Be brief.",
				"messages":[{"role":"user","content":"Hello, Claude"}],
				"temperature":0.5,"top_p":0.9,"top_k":40,"stop_sequences":["\n\nHuman:"],
				"metadata":{"user_id":"user-42"}}`,
			want: &providers.ChatRequest{
				Model: "claude-sonnet-4-5", MaxTokens: ptr(1024), Temperature: ptr(0.5), TopP: ptr(0.9), TopK: ptr(40),
				Stop: []string{"\n\nHuman:"}, User: "user-42",
				Messages: []providers.Message{
					{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart("Be brief.")}},
					{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("Hello, Claude")}},
				},
			},
		},
		{
			name: "system blocks with cache_control and image blocks",
			body: `{"model":"m","max_tokens":10,
				"system":[{"type":"text","text":"You are a poet."},{"type":"text","text":"Long context","cache_control":{"type":"ephemeral"}}],
				"messages":[{"role":"user","content":[
					{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
					{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}},
					{"type":"text","text":"What is this?","cache_control":{"type":"ephemeral","ttl":"5m"}}]}]}`,
			want: &providers.ChatRequest{
				Model: "m", MaxTokens: ptr(10),
				Messages: []providers.Message{
					{Role: providers.RoleSystem, Content: []providers.Part{
						providers.TextPart("You are a poet."),
						{Type: providers.PartText, Text: "Long context", CacheBreakpoint: true},
					}},
					{Role: providers.RoleUser, Content: []providers.Part{
						{Type: providers.PartImage, Image: &providers.Image{MIMEType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n")}},
						{Type: providers.PartImage, Image: &providers.Image{URL: "https://example.com/cat.jpg"}},
						{Type: providers.PartText, Text: "What is this?", CacheBreakpoint: true},
					}},
				},
			},
		},
		{
			name: "tool round trip with mixed tool results and text",
			body: `{"model":"m","max_tokens":100,
				"tools":[{"name":"get_weather","description":"Get the weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},
					{"type":"custom","name":"get_time","input_schema":{"type":"object"}}],
				"tool_choice":{"type":"any","disable_parallel_tool_use":true},
				"messages":[
					{"role":"user","content":"Weather and time in Paris?"},
					{"role":"assistant","content":[
						{"type":"thinking","thinking":"Need tools.","signature":"sig-1"},
						{"type":"redacted_thinking","data":"opaque"},
						{"type":"text","text":"Let me check."},
						{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{ "city" : "Paris" }},
						{"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}]},
					{"role":"user","content":[
						{"type":"tool_result","tool_use_id":"toolu_01","content":"15 degrees"},
						{"type":"tool_result","tool_use_id":"toolu_02","is_error":true,"content":[{"type":"text","text":"clock broken"}]},
						{"type":"text","text":"Thanks!"}]}]}`,
			want: &providers.ChatRequest{
				Model: "m", MaxTokens: ptr(100), ParallelToolCalls: ptr(false),
				Tools: []providers.Tool{
					{Name: "get_weather", Description: "Get the weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)},
					{Name: "get_time", Parameters: json.RawMessage(`{"type":"object"}`)},
				},
				ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceRequired},
				Messages: []providers.Message{
					{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("Weather and time in Paris?")}},
					{Role: providers.RoleAssistant,
						Content: []providers.Part{
							{Type: providers.PartReasoning, Text: "Need tools.", Signature: "sig-1"},
							{Type: providers.PartReasoning, RedactedData: "opaque"},
							providers.TextPart("Let me check."),
						},
						ToolCalls: []providers.ToolCall{
							{ID: "toolu_01", Name: "get_weather", Arguments: `{"city":"Paris"}`},
							{ID: "toolu_02", Name: "get_time", Arguments: `{}`},
						}},
					{Role: providers.RoleTool, ToolCallID: "toolu_01", Content: []providers.Part{providers.TextPart("15 degrees")}},
					{Role: providers.RoleTool, ToolCallID: "toolu_02", Content: []providers.Part{providers.TextPart("error: clock broken")}},
					{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("Thanks!")}},
				},
			},
		},
		{
			name: "tool choice tool, thinking and service tier",
			body: `{"model":"m","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},"service_tier":"auto",
				"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f"},
				"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1"}]}]}`,
			want: &providers.ChatRequest{
				Model: "m", MaxTokens: ptr(2048), Reasoning: &providers.ReasoningConfig{BudgetTokens: 1024},
				Tools:      []providers.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":"object"}`)}},
				ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: "f"},
				Messages: []providers.Message{
					{Role: providers.RoleTool, ToolCallID: "t1", Content: []providers.Part{providers.TextPart("")}},
				},
			},
		},
		{
			name: "tool choice none and auto-free request",
			body: `{"model":"m","max_tokens":5,"tool_choice":{"type":"none"},"thinking":{"type":"disabled"},
				"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hel"}]}`,
			want: &providers.ChatRequest{
				Model: "m", MaxTokens: ptr(5), ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceNone},
				Messages: []providers.Message{
					{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("hi")}},
					{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart("Hel")}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var in schema.MessagesRequest
			if err := apischema.Unmarshal([]byte(tt.body), &in); err != nil {
				t.Fatal(err)
			}
			got, err := toCanonical(&in, true, nil)
			if err != nil {
				t.Fatalf("toCanonical: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(tt.want, "", " ")
				t.Errorf("got\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestToCanonicalErrors(t *testing.T) {
	t.Parallel()
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name      string
		body      string
		param     string
		msgSubstr string
	}{
		{"missing max_tokens", `{"model":"m",` + msgs + `}`, "max_tokens", "Field required"},
		{"zero max_tokens", `{"model":"m","max_tokens":0,` + msgs + `}`, "max_tokens", "at least 1"},
		{"missing model", `{"max_tokens":1,` + msgs + `}`, "model", "Field required"},
		{"document in an assistant message", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}}]}]}`,
			"messages[0].content[0]", "only allowed in user messages"},
		{"document without source", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document"}]}]}`,
			"messages[0].content[0].source", "Field required"},
		{"document source type", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"zip"}}]}]}`,
			"messages[0].content[0].source.type", `got "zip"`},
		{"bad role", `{"model":"m","max_tokens":1,"messages":[{"role":"system","content":"x"}]}`, "messages[0].role", `got "system"`},
		{"missing content", `{"model":"m","max_tokens":1,"messages":[{"role":"user"}]}`, "messages[0].content", "Field required"},
		{"bad image base64", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"!!"}}]}]}`,
			"messages[0].content[0].source.data", "base64"},
		{"file source without id", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file"}}]}]}`,
			"messages[0].content[0].source.file_id", "Field required"},
		{"tool_use in user message", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_use","id":"a","name":"b","input":{}}]}]}`,
			"messages[0].content[0]", "only allowed in assistant"},
		{"tool_result without id", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`,
			"messages[0].content[0].tool_use_id", "Field required"},
		{"bad image in tool_result", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":[{"type":"image","source":{"type":"gopher"}}]}]}]}`,
			"messages[0].content[0].content[0].source.type", `got "gopher"`},
		{"bad tool choice", `{"model":"m","max_tokens":1,"tool_choice":{"type":"required"},` + msgs + `}`, "tool_choice.type", `got "required"`},
		{"tool choice without name", `{"model":"m","max_tokens":1,"tool_choice":{"type":"tool"},` + msgs + `}`, "tool_choice.name", "Field required"},
		{"thinking without budget", `{"model":"m","max_tokens":1,"thinking":{"type":"enabled"},` + msgs + `}`, "thinking.budget_tokens", "Field required"},
		{"temperature above 1", `{"model":"m","max_tokens":1,"temperature":1.5,` + msgs + `}`, "temperature", "between 0 and 1"},
		{"system not text", `{"model":"m","max_tokens":1,"system":[{"type":"image"}],` + msgs + `}`, "system[0].type", "text blocks"},
		{"tool without schema", `{"model":"m","max_tokens":1,"tools":[{"name":"f"}],` + msgs + `}`, "tools[0].input_schema", "Field required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var in schema.MessagesRequest
			if err := apischema.Unmarshal([]byte(tt.body), &in); err != nil {
				t.Fatal(err)
			}
			_, err := toCanonical(&in, true, nil)
			var inv *gateway.InvalidRequestError
			if !errors.As(err, &inv) {
				t.Fatalf("err = %v, want *gateway.InvalidRequestError", err)
			}
			if inv.Param != tt.param || !strings.Contains(inv.Message, tt.msgSubstr) {
				t.Errorf("got param %q message %q, want param %q message containing %q", inv.Param, inv.Message, tt.param, tt.msgSubstr)
			}
		})
	}
}

func TestToCanonicalCountTokensWithoutMaxTokens(t *testing.T) {
	t.Parallel()
	var in schema.MessagesRequest
	if err := apischema.Unmarshal([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`), &in); err != nil {
		t.Fatal(err)
	}
	got, err := toCanonical(&in, false, nil)
	if err != nil {
		t.Fatalf("toCanonical: %v", err)
	}
	if got.MaxTokens != nil || len(got.Messages) != 1 {
		t.Errorf("got %+v", got)
	}
}
