package semcache_test

import (
	"encoding/json"
	"math"
	"net/http"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/semcache"
)

// baseKeyReq is a request with every output-affecting field set.
func baseKeyReq() *providers.ChatRequest {
	return &providers.ChatRequest{
		Model: "gpt-4o-2024-08-06",
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart("sys")}},
			{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("look"), {Type: providers.PartImage, Image: &providers.Image{MIMEType: "image/png", Data: []byte{1, 2, 3}}}}},
			{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "c1", Name: "f", Arguments: `{"a":1,"b":[1,2]}`}}},
			{Role: providers.RoleTool, ToolCallID: "c1", Name: "f", Content: []providers.Part{providers.TextPart("42")}},
			{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("and?")}},
		},
		Tools: []providers.Tool{{Name: "f", Description: "does f",
			Parameters: json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer","maximum":10}},"required":["a"]}`)}},
		ToolChoice:        &providers.ToolChoice{Mode: providers.ToolChoiceAuto},
		ParallelToolCalls: ptr(true),
		Temperature:       ptr(0.2),
		TopP:              ptr(0.9),
		TopK:              ptr(40),
		MaxTokens:         ptr(100),
		Stop:              []string{"END"},
		Seed:              ptr(int64(7)),
		ResponseFormat:    &providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "out", Schema: json.RawMessage(`{"type":"object","properties":{"x":{"type":"number"}}}`)},
		PresencePenalty:   ptr(0.1),
		FrequencyPenalty:  ptr(0.2),
		N:                 ptr(1),
		Reasoning:         &providers.ReasoningConfig{Effort: "low"},
		User:              "end-user-1",
		Source:            &providers.Source{Dialect: "openai", Wire: wire{{Name: "logprobs", Value: []byte(`true`)}, {Name: "store", Value: []byte(`false`)}}},
	}
}

func TestComputeKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		ns     string
		modify func(r *providers.ChatRequest)
		same   bool // the exact key must stay the same
	}{
		{name: "identical", same: true},
		{name: "schema key order and whitespace", same: true, modify: func(r *providers.ChatRequest) {
			r.Tools[0].Parameters = json.RawMessage("{ \"required\" : [\"a\"],\n \"properties\": {\"a\": {\"maximum\": 10.0, \"type\": \"integer\"}}, \"type\": \"object\" }")
		}},
		{name: "response schema respelled", same: true, modify: func(r *providers.ChatRequest) {
			r.ResponseFormat.Schema = json.RawMessage(`{"properties": {"x": {"type": "number"}}, "type": "object"}`)
		}},
		{name: "tool call arguments respelled", same: true, modify: func(r *providers.ChatRequest) {
			r.Messages[2].ToolCalls[0].Arguments = `{ "b": [1, 2], "a": 1e0 }`
		}},
		{name: "extra map rebuilt", same: true, modify: func(r *providers.ChatRequest) {
			r.Source = &providers.Source{Dialect: "openai", Body: []byte(`{"other":"bytes"}`),
				Wire: wire{{Name: "store", Value: []byte(` false`)}, {Name: "logprobs", Value: []byte(`true `)}}}
		}},
		{name: "idempotency key ignored", same: true, modify: func(r *providers.ChatRequest) {
			r.Source.Header = http.Header{"Idempotency-Key": {"idem-2"}}
		}},
		{name: "user ignored", same: true, modify: func(r *providers.ChatRequest) { r.User = "someone-else" }},
		{name: "cache breakpoint ignored", same: true, modify: func(r *providers.ChatRequest) { r.Messages[0].Content[0].CacheBreakpoint = true }},
		{name: "namespace", ns: "team:b"},
		{name: "model", modify: func(r *providers.ChatRequest) { r.Model = "gpt-4o-mini" }},
		{name: "system prompt", modify: func(r *providers.ChatRequest) { r.Messages[0].Content[0].Text = "sys!" }},
		{name: "last user turn", modify: func(r *providers.ChatRequest) { r.Messages[4].Content[0].Text = "and? " }},
		{name: "role", modify: func(r *providers.ChatRequest) { r.Messages[0].Role = providers.RoleUser }},
		{name: "image data", modify: func(r *providers.ChatRequest) { r.Messages[1].Content[1].Image.Data = []byte{1, 2, 4} }},
		{name: "image detail", modify: func(r *providers.ChatRequest) { r.Messages[1].Content[1].Image.Detail = "high" }},
		{name: "tool call arguments", modify: func(r *providers.ChatRequest) { r.Messages[2].ToolCalls[0].Arguments = `{"a":2,"b":[1,2]}` }},
		{name: "tool call id", modify: func(r *providers.ChatRequest) { r.Messages[3].ToolCallID = "c2" }},
		{name: "message name", modify: func(r *providers.ChatRequest) { r.Messages[3].Name = "g" }},
		{name: "tool name", modify: func(r *providers.ChatRequest) { r.Tools[0].Name = "g" }},
		{name: "tool description", modify: func(r *providers.ChatRequest) { r.Tools[0].Description = "does g" }},
		{name: "tool schema value", modify: func(r *providers.ChatRequest) {
			r.Tools[0].Parameters = json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer","maximum":11}},"required":["a"]}`)
		}},
		{name: "tool strict", modify: func(r *providers.ChatRequest) { r.Tools[0].Strict = true }},
		{name: "no tools", modify: func(r *providers.ChatRequest) { r.Tools = nil }},
		{name: "tool choice", modify: func(r *providers.ChatRequest) {
			r.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceRequired}
		}},
		{name: "parallel tool calls", modify: func(r *providers.ChatRequest) { r.ParallelToolCalls = ptr(false) }},
		{name: "temperature", modify: func(r *providers.ChatRequest) { r.Temperature = ptr(0.3) }},
		{name: "temperature unset", modify: func(r *providers.ChatRequest) { r.Temperature = nil }},
		{name: "top_p", modify: func(r *providers.ChatRequest) { r.TopP = ptr(0.8) }},
		{name: "top_k", modify: func(r *providers.ChatRequest) { r.TopK = ptr(41) }},
		{name: "max_tokens", modify: func(r *providers.ChatRequest) { r.MaxTokens = ptr(101) }},
		{name: "stop", modify: func(r *providers.ChatRequest) { r.Stop = []string{"END", "STOP"} }},
		{name: "seed", modify: func(r *providers.ChatRequest) { r.Seed = ptr(int64(8)) }},
		{name: "response format type", modify: func(r *providers.ChatRequest) { r.ResponseFormat.Type = providers.FormatJSONObject }},
		{name: "response schema", modify: func(r *providers.ChatRequest) {
			r.ResponseFormat.Schema = json.RawMessage(`{"type":"object","properties":{"x":{"type":"string"}}}`)
		}},
		{name: "presence penalty", modify: func(r *providers.ChatRequest) { r.PresencePenalty = ptr(0.0) }},
		{name: "frequency penalty", modify: func(r *providers.ChatRequest) { r.FrequencyPenalty = nil }},
		{name: "n", modify: func(r *providers.ChatRequest) { r.N = ptr(2) }},
		{name: "reasoning", modify: func(r *providers.ChatRequest) { r.Reasoning = &providers.ReasoningConfig{Effort: "high"} }},
		{name: "reasoning budget", modify: func(r *providers.ChatRequest) { r.Reasoning = &providers.ReasoningConfig{BudgetTokens: 1024} }},
		{name: "unmapped field value", modify: func(r *providers.ChatRequest) {
			r.Source = &providers.Source{Dialect: "openai", Wire: wire{{Name: "logprobs", Value: []byte(`true`)}, {Name: "store", Value: []byte(`true`)}}}
		}},
		{name: "beta header", modify: func(r *providers.ChatRequest) {
			r.Source.Header = http.Header{"Anthropic-Beta": {"context-1m-2025-08-07"}}
		}},
		{name: "source dialect", modify: func(r *providers.ChatRequest) {
			r.Source = &providers.Source{Dialect: "anthropic", Wire: r.Source.Wire}
		}},
		{name: "document", modify: func(r *providers.ChatRequest) {
			r.Messages[0].Content = append(r.Messages[0].Content, providers.Part{Type: providers.PartFile, File: &providers.File{MIMEType: "application/pdf", Base64: "JVBE"}})
		}},
		{name: "message moved between parts", modify: func(r *providers.ChatRequest) {
			r.Messages[4].Content = []providers.Part{providers.TextPart("and"), providers.TextPart("?")}
		}},
	}
	base := semcache.ComputeKeys("team:a", baseKeyReq())
	if base != semcache.ComputeKeys("team:a", baseKeyReq()) {
		t.Fatal("ComputeKeys is not deterministic")
	}
	pos, neg := baseKeyReq(), baseKeyReq()
	pos.Temperature, neg.Temperature = ptr(0.0), ptr(math.Copysign(0, -1))
	if semcache.ComputeKeys("team:a", pos) != semcache.ComputeKeys("team:a", neg) {
		t.Error("temperature -0 and 0 have different keys")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := baseKeyReq()
			if tt.modify != nil {
				tt.modify(r)
			}
			ns := "team:a"
			if tt.ns != "" {
				ns = tt.ns
			}
			got := semcache.ComputeKeys(ns, r)
			if (got.Exact == base.Exact) != tt.same {
				t.Errorf("exact key equal = %v, want %v", got.Exact == base.Exact, tt.same)
			}
		})
	}
}

// TestComputeKeysParts checks which of the partial hashes a change moves:
// semantic hits compare Params and History exactly.
func TestComputeKeysParts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                    string
		modify                  func(r *providers.ChatRequest)
		sameParams, sameHistory bool
	}{
		{name: "last user turn", modify: func(r *providers.ChatRequest) { r.Messages[4].Content[0].Text = "so?" }, sameParams: true, sameHistory: true},
		{name: "earlier turn", modify: func(r *providers.ChatRequest) { r.Messages[3].Content[0].Text = "43" }, sameParams: true},
		{name: "system prompt", modify: func(r *providers.ChatRequest) { r.Messages[0].Content[0].Text = "other" }, sameParams: true},
		{name: "temperature", modify: func(r *providers.ChatRequest) { r.Temperature = ptr(1.0) }, sameHistory: true},
		{name: "tools", modify: func(r *providers.ChatRequest) { r.Tools = nil }, sameHistory: true},
		{name: "namespace only", modify: func(*providers.ChatRequest) {}, sameParams: true, sameHistory: true},
	}
	base := semcache.ComputeKeys("team:a", baseKeyReq())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := baseKeyReq()
			tt.modify(r)
			got := semcache.ComputeKeys("team:b", r)
			if (got.Params == base.Params) != tt.sameParams {
				t.Errorf("params equal = %v, want %v", got.Params == base.Params, tt.sameParams)
			}
			if (got.History == base.History) != tt.sameHistory {
				t.Errorf("history equal = %v, want %v", got.History == base.History, tt.sameHistory)
			}
			if got.Exact == base.Exact {
				t.Error("exact key equal across namespaces")
			}
		})
	}
}

// wire is a Source's decoded body with the given unmapped fields.
type wire []providers.Field

func (w wire) Unmapped() []providers.Field { return w }

func (w wire) Rewrite(*providers.ChatRequest) ([]byte, error) { return nil, nil }
