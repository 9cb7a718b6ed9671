package gateway_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

func ptr[T any](v T) *T { return &v }

func TestValidateChat(t *testing.T) {
	t.Parallel()
	user := providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("hi")}}
	ok := func() *providers.ChatRequest {
		return &providers.ChatRequest{Model: "m", Messages: []providers.Message{user}}
	}
	tests := []struct {
		name   string
		mutate func(r *providers.ChatRequest)
		param  string // "" means valid
	}{
		{"valid", func(*providers.ChatRequest) {}, ""},
		{"no model", func(r *providers.ChatRequest) { r.Model = "" }, "model"},
		{"no messages", func(r *providers.ChatRequest) { r.Messages = nil }, "messages"},
		{"bad role", func(r *providers.ChatRequest) { r.Messages[0].Role = "robot" }, "messages[0].role"},
		{"empty user content", func(r *providers.ChatRequest) { r.Messages[0].Content = nil }, "messages[0].content"},
		{"tool without id", func(r *providers.ChatRequest) {
			r.Messages = append(r.Messages, providers.Message{Role: providers.RoleTool, Content: []providers.Part{providers.TextPart("r")}})
		}, "messages[1].tool_call_id"},
		{"assistant tool call without id", func(r *providers.ChatRequest) {
			r.Messages = append(r.Messages, providers.Message{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{Name: "f"}}})
		}, "messages[1].tool_calls[0].id"},
		{"assistant with tool call only is valid", func(r *providers.ChatRequest) {
			r.Messages = append(r.Messages, providers.Message{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "c1", Name: "f", Arguments: "{}"}}})
		}, ""},
		{"assistant tool call without name", func(r *providers.ChatRequest) {
			r.Messages = append(r.Messages, providers.Message{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "c1", Name: "f"}, {ID: "c2"}}})
		}, "messages[1].tool_calls[1].name"},
		{"no role, twelfth message", func(r *providers.ChatRequest) {
			for range 11 {
				r.Messages = append(r.Messages, user)
			}
			r.Messages[11].Role = ""
		}, "messages[11].role"},
		{"file without source", func(r *providers.ChatRequest) {
			r.Messages[0].Content = append(r.Messages[0].Content, providers.Part{Type: providers.PartFile, File: &providers.File{}})
		}, "messages[0].content[1]"},
		{"unknown part", func(r *providers.ChatRequest) { r.Messages[0].Content = []providers.Part{{Type: 200}} }, "messages[0].content[0]"},
		{"user tool calls", func(r *providers.ChatRequest) { r.Messages[0].ToolCalls = []providers.ToolCall{{ID: "x", Name: "f"}} }, "messages[0].tool_calls"},
		{"image without source", func(r *providers.ChatRequest) {
			r.Messages[0].Content = append(r.Messages[0].Content, providers.Part{Type: providers.PartImage, Image: &providers.Image{}})
		}, "messages[0].content[1].image"},
		{"image in system", func(r *providers.ChatRequest) {
			r.Messages = []providers.Message{{Role: providers.RoleSystem, Content: []providers.Part{{Type: providers.PartImage, Image: &providers.Image{URL: "https://x/y.png"}}}}, user}
		}, "messages[0].content[0]"},
		{"temperature high", func(r *providers.ChatRequest) { r.Temperature = ptr(2.5) }, "temperature"},
		{"temperature edge", func(r *providers.ChatRequest) { r.Temperature = ptr(2.0) }, ""},
		{"top_p zero", func(r *providers.ChatRequest) { r.TopP = ptr(0.0) }, "top_p"},
		{"max tokens zero", func(r *providers.ChatRequest) { r.MaxTokens = ptr(0) }, "max_tokens"},
		{"n too big", func(r *providers.ChatRequest) { r.N = ptr(17) }, "n"},
		{"penalty", func(r *providers.ChatRequest) { r.PresencePenalty = ptr(-3.0) }, "presence_penalty"},
		{"too many stops", func(r *providers.ChatRequest) { r.Stop = make([]string, 17) }, "stop"},
		{"tool name", func(r *providers.ChatRequest) { r.Tools = []providers.Tool{{Name: "a b"}} }, "tools[0].name"},
		{"duplicate tool", func(r *providers.ChatRequest) { r.Tools = []providers.Tool{{Name: "f"}, {Name: "f"}} }, "tools[1].name"},
		{"bad schema", func(r *providers.ChatRequest) { r.Tools = []providers.Tool{{Name: "f", Parameters: []byte("{")}} }, "tools[0].parameters"},
		{"tool choice unknown", func(r *providers.ChatRequest) {
			r.Tools = []providers.Tool{{Name: "f"}}
			r.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: "g"}
		}, "tool_choice"},
		{"json schema missing", func(r *providers.ChatRequest) {
			r.ResponseFormat = &providers.ResponseFormat{Type: providers.FormatJSONSchema}
		}, "response_format.json_schema.schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := ok()
			tt.mutate(r)
			err := gateway.ValidateChat(r)
			if tt.param == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var inv *gateway.InvalidRequestError
			if !errors.As(err, &inv) || !errors.Is(err, gateway.ErrInvalidRequest) {
				t.Fatalf("err = %v, want InvalidRequestError", err)
			}
			if inv.Param != tt.param {
				t.Fatalf("param = %q, want %q (%v)", inv.Param, tt.param, err)
			}
		})
	}
}

// A valid request costs no allocation to validate, however many turns it
// has: the paths of errors are built only for an error.
func TestValidateChatAllocs(t *testing.T) {
	req := &providers.ChatRequest{Model: "m", Temperature: ptr(0.2)}
	for i := range 150 {
		role := []providers.Role{providers.RoleUser, providers.RoleAssistant}[i%2]
		req.Messages = append(req.Messages, providers.Message{Role: role, Content: []providers.Part{providers.TextPart("turn")}})
	}
	req.Messages = append(req.Messages, providers.Message{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "c1", Name: "f"}}},
		providers.Message{Role: providers.RoleTool, ToolCallID: "c1", Content: []providers.Part{providers.TextPart("42")}})
	req.Tools = []providers.Tool{{Name: "f", Parameters: []byte(`{"type":"object"}`)}}
	if n := testing.AllocsPerRun(100, func() {
		if err := gateway.ValidateChat(req); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("ValidateChat of a valid 152-turn request: %v allocations, want 0", n)
	}
}

func TestValidateEmbed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		req   providers.EmbedRequest
		param string
	}{
		{"valid", providers.EmbedRequest{Model: "e", Inputs: []string{"a"}}, ""},
		{"no model", providers.EmbedRequest{Inputs: []string{"a"}}, "model"},
		{"no inputs", providers.EmbedRequest{Model: "e"}, "inputs"},
		{"empty input", providers.EmbedRequest{Model: "e", Inputs: []string{"a", ""}}, "inputs[1]"},
		{"dimensions", providers.EmbedRequest{Model: "e", Inputs: []string{"a"}, Dimensions: ptr(0)}, "dimensions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := gateway.ValidateEmbed(&tt.req)
			var inv *gateway.InvalidRequestError
			switch {
			case tt.param == "" && err != nil:
				t.Fatal(err)
			case tt.param != "" && (!errors.As(err, &inv) || inv.Param != tt.param):
				t.Fatalf("err = %v, want param %q", err, tt.param)
			}
		})
	}
}

func TestNewRequestID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 10000 {
		id := gateway.NewRequestID()
		if !strings.HasPrefix(id, "req_") || len(id) != 28 || seen[id] {
			t.Fatalf("bad or duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestStatusOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		code string
	}{
		{nil, ""},
		{gateway.ErrUnauthenticated, "unauthenticated"},
		{&gateway.InvalidRequestError{Param: "x"}, "invalid_request"},
		{&providers.Error{Kind: providers.KindRateLimited}, "upstream_rate_limited"},
		{errors.New("boom"), "internal"},
	}
	for _, tt := range tests {
		if _, code := gateway.StatusOf(tt.err); code != tt.code {
			t.Errorf("StatusOf(%v) = %q, want %q", tt.err, code, tt.code)
		}
	}
}

// The status of a success (every request's record) costs no allocation.
func TestStatusOfSuccessAllocs(t *testing.T) {
	if a := testing.AllocsPerRun(100, func() { gateway.StatusOf(nil) }); a != 0 {
		t.Errorf("StatusOf(nil): %v allocations, want 0", a)
	}
}
