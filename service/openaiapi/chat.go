package openaiapi

import (
	"net/http"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/edge"
)

func toUsage(u providers.Usage) *schema.Usage {
	return &schema.Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.Total(),
		PromptTokensDetails:     &schema.PromptTokensDetails{CachedTokens: u.CachedInputTokens},
		CompletionTokensDetails: &schema.CompletionTokensDetails{ReasoningTokens: u.ReasoningTokens}}
}

// completionID derives the response id from the gateway's request id, so
// that the id a client logs finds the request record.
func completionID(requestID string) string {
	return "chatcmpl-" + strings.TrimPrefix(requestID, "req_")
}

// finishReason renders a canonical finish reason; legacy function-calling
// requests get "function_call" instead of "tool_calls".
func finishReason(f providers.FinishReason, legacy bool) string {
	switch f {
	case providers.FinishLength, providers.FinishContentFilter:
		return string(f)
	case providers.FinishToolCalls:
		if legacy {
			return schema.FinishFunctionCall
		}
		return string(f)
	}
	return schema.FinishStop
}

func (h *Handler) chatCompletions(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var d decoded
	if err := decodeChat(body, r.Header, &d); err != nil {
		h.fail(w, r, err)
		return
	}
	call := h.call(r)
	if call.Cache, err = edge.CacheDirectives(r.Header); err != nil {
		h.fail(w, r, err)
		return
	}
	if call.EndUser == "" {
		call.EndUser = d.req.User
	}
	call.Metadata = d.metadata
	requested := d.req.Model
	if d.stream {
		h.stream(w, r, call, &d)
		return
	}
	res, err := h.engine.Chat(r.Context(), call, &d.req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	setResultHeaders(w.Header(), res)
	if raw := res.Response.Raw; raw != nil {
		// Passed through: the upstream's answer as it sent it.
		h.writeBody(w, raw)
		return
	}
	out := encodeCompletion(res.Response, completionID(call.RequestID), requested, h.now().Unix(), d.legacy)
	h.writeJSON(w, r, out)
}

// encodeCompletion renders a canonical response as chat.completion. model
// is the name the caller asked for; created is used when the upstream gave
// no time.
func encodeCompletion(resp *providers.ChatResponse, id, model string, created int64, legacy bool) *schema.ChatCompletion {
	if !resp.Created.IsZero() {
		created = resp.Created.Unix()
	}
	out := &schema.ChatCompletion{ID: id, Object: "chat.completion", Created: created, Model: model,
		Choices: make([]schema.Choice, len(resp.Choices)), Usage: toUsage(resp.Usage),
		SystemFingerprint: apischema.NullOf[string]()}
	for i := range resp.Choices {
		c := &resp.Choices[i]
		o := &out.Choices[i]
		o.Index = c.Index
		o.FinishReason = finishReason(c.FinishReason, legacy)
		o.Message = encodeMessage(&c.Message, legacy)
	}
	return out
}

var emptyArray = []byte("[]")

func encodeMessage(m *providers.Message, legacy bool) schema.ResponseMessage {
	o := schema.ResponseMessage{Role: "assistant", Annotations: emptyArray}
	var text, reasoning strings.Builder
	hasText := false
	for _, p := range m.Content {
		switch p.Type {
		case providers.PartText:
			text.WriteString(p.Text)
			hasText = true
		case providers.PartReasoning:
			reasoning.WriteString(p.Text)
		}
	}
	if hasText || len(m.ToolCalls) == 0 {
		s := text.String()
		o.Content = apischema.ValueOf(&s)
	}
	o.ReasoningContent = reasoning.String()
	if len(m.ToolCalls) > 0 {
		if legacy {
			tc := m.ToolCalls[0]
			o.FunctionCall = &schema.FunctionCall{Name: tc.Name, Arguments: tc.Arguments}
			return o
		}
		o.ToolCalls = make([]schema.ToolCall, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			o.ToolCalls[i] = schema.ToolCall{ID: tc.ID, Type: "function", Function: &schema.FunctionCall{Name: tc.Name, Arguments: tc.Arguments}}
		}
	}
	return o
}
