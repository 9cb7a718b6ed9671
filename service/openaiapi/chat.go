package openaiapi

import (
	"net/http"
	"strings"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/edge"
)

// chatCompletion is the chat.completion object.
type chatCompletion struct {
	ID                string      `json:"id"`
	Object            string      `json:"object"`
	Created           int64       `json:"created"`
	Model             string      `json:"model"`
	Choices           []choiceOut `json:"choices"`
	Usage             usageOut    `json:"usage"`
	SystemFingerprint *string     `json:"system_fingerprint"`
	ServiceTier       *string     `json:"service_tier,omitempty"`
}

type choiceOut struct {
	Index        int        `json:"index"`
	Message      messageOut `json:"message"`
	Logprobs     *struct{}  `json:"logprobs"`
	FinishReason string     `json:"finish_reason"`
}

type messageOut struct {
	Role    string  `json:"role"`
	Content *string `json:"content"`
	// ReasoningContent carries visible reasoning the way OpenAI-compatible
	// servers (vLLM, DeepSeek) do; absent when there is none.
	ReasoningContent string        `json:"reasoning_content,omitempty"`
	Refusal          *string       `json:"refusal"`
	ToolCalls        []toolCallOut `json:"tool_calls,omitempty"`
	FunctionCall     *functionCall `json:"function_call,omitempty"`
	Annotations      []struct{}    `json:"annotations"`
}

type toolCallOut struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function functionCall `json:"function"`
}

type usageOut struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func toUsage(u providers.Usage) usageOut {
	var o usageOut
	o.PromptTokens, o.CompletionTokens, o.TotalTokens = u.InputTokens, u.OutputTokens, u.Total()
	o.PromptTokensDetails.CachedTokens = u.CachedInputTokens
	o.CompletionTokensDetails.ReasoningTokens = u.ReasoningTokens
	return o
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
			return "function_call"
		}
		return string(f)
	}
	return string(providers.FinishStop)
}

func (h *Handler) chatCompletions(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var d decoded
	if err := decodeChat(body, &d); err != nil {
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
	edge.SetServedHeaders(w.Header(), res.Provider, res.Model, res.Route, res.Attempts)
	edge.SetCacheHeaders(w.Header(), res.CacheStatus, res.CacheScore)
	edge.SetGuardrailHeader(w.Header(), res.Guardrails)
	out := encodeCompletion(res.Response, completionID(call.RequestID), requested, h.now().Unix(), d.legacy)
	h.writeJSON(w, r, out)
}

// encodeCompletion renders a canonical response as chat.completion. model
// is the name the caller asked for; created is used when the upstream gave
// no time.
func encodeCompletion(resp *providers.ChatResponse, id, model string, created int64, legacy bool) *chatCompletion {
	if !resp.Created.IsZero() {
		created = resp.Created.Unix()
	}
	out := &chatCompletion{ID: id, Object: "chat.completion", Created: created, Model: model,
		Choices: make([]choiceOut, len(resp.Choices)), Usage: toUsage(resp.Usage)}
	for i := range resp.Choices {
		c := &resp.Choices[i]
		o := &out.Choices[i]
		o.Index = c.Index
		o.FinishReason = finishReason(c.FinishReason, legacy)
		o.Message = encodeMessage(&c.Message, legacy)
	}
	return out
}

func encodeMessage(m *providers.Message, legacy bool) messageOut {
	o := messageOut{Role: "assistant", Annotations: []struct{}{}}
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
		o.Content = &s
	}
	o.ReasoningContent = reasoning.String()
	if len(m.ToolCalls) > 0 {
		if legacy {
			tc := m.ToolCalls[0]
			o.FunctionCall = &functionCall{Name: tc.Name, Arguments: tc.Arguments}
			return o
		}
		o.ToolCalls = make([]toolCallOut, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			o.ToolCalls[i] = toolCallOut{ID: tc.ID, Type: "function", Function: functionCall{Name: tc.Name, Arguments: tc.Arguments}}
		}
	}
	return o
}
