package geminiapi

import (
	"encoding/base64"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"github.com/tollgate-dev/tollgate/providers"
)

// responseID derives the response id from the gateway's request id, so
// that the id a client logs finds the request record.
func responseID(requestID string) string { return strings.TrimPrefix(requestID, "req_") }

// finishReason renders a canonical finish reason as Gemini's.
func finishReason(f providers.FinishReason) string {
	switch f {
	case providers.FinishLength:
		return schema.FinishMaxTokens
	case providers.FinishContentFilter:
		return schema.FinishSafety
	case "":
		return ""
	case providers.FinishError:
		return "OTHER"
	}
	return schema.FinishStop // stop and tool calls
}

// usageMetadata renders canonical usage: candidatesTokenCount excludes the
// thoughts, as Gemini counts them.
func usageMetadata(u providers.Usage) *schema.UsageMetadata {
	return &schema.UsageMetadata{
		PromptTokenCount:        u.InputTokens,
		CandidatesTokenCount:    max(u.OutputTokens-u.ReasoningTokens, 0),
		ThoughtsTokenCount:      u.ReasoningTokens,
		CachedContentTokenCount: u.CachedInputTokens,
		TotalTokenCount:         u.Total(),
	}
}

// args returns a tool call's arguments as a JSON object value.
func args(s string) jsontext.Value {
	v := jsontext.Value(strings.TrimSpace(s))
	if len(v) == 0 || !v.IsValid() || v.Kind() != '{' {
		return jsontext.Value("{}")
	}
	return v
}

// messageParts renders an answer's content: reasoning as thought parts,
// text, images as inline data, then its function calls.
func messageParts(m *providers.Message) []schema.Part {
	parts := make([]schema.Part, 0, len(m.Content)+len(m.ToolCalls))
	for _, p := range m.Content {
		switch p.Type {
		case providers.PartReasoning:
			if p.Text != "" || p.Signature != "" {
				parts = append(parts, schema.Part{Text: p.Text, Thought: true, ThoughtSignature: p.Signature})
			}
		case providers.PartText:
			parts = append(parts, schema.Part{Text: p.Text})
		case providers.PartImage:
			if p.Image != nil && len(p.Image.Data) > 0 {
				parts = append(parts, schema.Part{InlineData: &schema.Blob{MIMEType: p.Image.MIMEType, Data: encodeBase64(p.Image.Data)}})
			}
		}
	}
	for _, tc := range m.ToolCalls {
		parts = append(parts, schema.Part{FunctionCall: &schema.FunctionCall{ID: tc.ID, Name: tc.Name, Args: args(tc.Arguments)}})
	}
	return parts
}

// encodeResponse renders a canonical answer as a GenerateContentResponse.
// model is the name the caller asked for.
func encodeResponse(resp *providers.ChatResponse, model, id string) *schema.GenerateContentResponse {
	out := &schema.GenerateContentResponse{ModelVersion: model, ResponseID: id, UsageMetadata: usageMetadata(resp.Usage),
		Candidates: make([]schema.Candidate, len(resp.Choices))}
	for i := range resp.Choices {
		c := &resp.Choices[i]
		out.Candidates[i] = schema.Candidate{Index: c.Index, FinishReason: finishReason(c.FinishReason),
			Content: &schema.Content{Role: schema.RoleModel, Parts: messageParts(&c.Message)}}
	}
	return out
}

// streamState turns canonical chunks into streamGenerateContent events:
// text and thoughts as they arrive, function calls (which Gemini sends
// whole) once their arguments are complete, finish reasons and usage on
// the last event.
type streamState struct {
	model, id string
	// calls are the function calls being assembled, per candidate.
	calls map[int][]providers.ToolCall
	// finish is each candidate's finish reason, sent at the end.
	finish map[int]providers.FinishReason
	order  []int
}

func newStreamState(model, id string) *streamState {
	return &streamState{model: model, id: id, calls: map[int][]providers.ToolCall{}, finish: map[int]providers.FinishReason{}}
}

func (s *streamState) seen(idx int) {
	for _, i := range s.order {
		if i == idx {
			return
		}
	}
	s.order = append(s.order, idx)
}

// chunk returns the event for c, nil when c carries nothing to send yet.
func (s *streamState) chunk(c *providers.Chunk) *schema.GenerateContentResponse {
	var out *schema.GenerateContentResponse
	for i := range c.Choices {
		d := &c.Choices[i]
		s.seen(d.Index)
		for _, tc := range d.ToolCalls {
			calls := s.calls[d.Index]
			if tc.Index >= len(calls) {
				calls = append(calls, make([]providers.ToolCall, tc.Index+1-len(calls))...)
			}
			if tc.ID != "" {
				calls[tc.Index].ID = tc.ID
			}
			if tc.Name != "" {
				calls[tc.Index].Name = tc.Name
			}
			calls[tc.Index].Arguments += tc.Arguments
			s.calls[d.Index] = calls
		}
		if d.FinishReason != "" {
			s.finish[d.Index] = d.FinishReason
		}
		var parts []schema.Part
		if d.Reasoning != "" || d.ReasoningSignature != "" {
			parts = append(parts, schema.Part{Text: d.Reasoning, Thought: true, ThoughtSignature: d.ReasoningSignature})
		}
		if d.Text != "" {
			parts = append(parts, schema.Part{Text: d.Text})
		}
		if len(parts) == 0 {
			continue
		}
		if out == nil {
			out = &schema.GenerateContentResponse{ModelVersion: s.model, ResponseID: s.id}
		}
		out.Candidates = append(out.Candidates, schema.Candidate{Index: d.Index,
			Content: &schema.Content{Role: schema.RoleModel, Parts: parts}})
	}
	return out
}

// end returns the last event: pending function calls, finish reasons and
// the usage.
func (s *streamState) end(u providers.Usage) *schema.GenerateContentResponse {
	out := &schema.GenerateContentResponse{ModelVersion: s.model, ResponseID: s.id, UsageMetadata: usageMetadata(u)}
	if len(s.order) == 0 {
		s.order = []int{0}
	}
	for _, idx := range s.order {
		var parts []schema.Part
		for _, tc := range s.calls[idx] {
			if tc.Name != "" {
				parts = append(parts, schema.Part{FunctionCall: &schema.FunctionCall{ID: tc.ID, Name: tc.Name, Args: args(tc.Arguments)}})
			}
		}
		f := s.finish[idx]
		if f == "" {
			f = providers.FinishStop
		}
		c := schema.Candidate{Index: idx, FinishReason: finishReason(f)}
		if parts == nil {
			parts = []schema.Part{}
		}
		c.Content = &schema.Content{Role: schema.RoleModel, Parts: parts}
		out.Candidates = append(out.Candidates, c)
	}
	return out
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
