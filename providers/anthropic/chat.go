package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/tollgate-dev/tollgate/providers"
)

// Chat sends a unary Messages request.
func (p *Provider) Chat(ctx context.Context, req *providers.ChatRequest) (*providers.ChatResponse, error) {
	body, err := p.encodeChat(req, false)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, http.MethodPost, pathMessages, body, "application/json")
	if err != nil {
		return nil, err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	return p.decodeMessage(resp.StatusCode, b)
}

// decodeMessage converts a Message object into a one-choice response.
// Anthropic sends no creation time; Created is the time of decoding.
func (p *Provider) decodeMessage(status int, body []byte) (*providers.ChatResponse, error) {
	var w messageResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, p.up.BadResponse(status, "message", err)
	}
	if w.Error != nil && w.Type == "error" {
		return nil, p.streamError(w.Error)
	}
	msg := convertContent(w.Content)
	return &providers.ChatResponse{
		ID:      w.ID,
		Model:   w.Model,
		Created: p.now().UTC(),
		Choices: []providers.Choice{{Message: msg, FinishReason: finishReason(w.StopReason)}},
		Usage:   convertUsage(&w.Usage, nil),
	}, nil
}

// convertContent converts response content blocks: text, thinking and
// redacted_thinking become parts in order, tool_use blocks become tool
// calls with compact JSON arguments. Blocks of server tools and other
// types the canonical model lacks are skipped.
func convertContent(blocks []responseBlock) providers.Message {
	m := providers.Message{Role: providers.RoleAssistant}
	var parts, calls int
	for i := range blocks {
		switch blocks[i].Type {
		case "text", "thinking", "redacted_thinking":
			parts++
		case "tool_use":
			calls++
		}
	}
	if parts > 0 {
		m.Content = make([]providers.Part, 0, parts)
	}
	if calls > 0 {
		m.ToolCalls = make([]providers.ToolCall, 0, calls)
	}
	for i := range blocks {
		b := &blocks[i]
		switch b.Type {
		case "text":
			m.Content = append(m.Content, providers.TextPart(b.Text))
		case "thinking":
			m.Content = append(m.Content, providers.Part{Type: providers.PartReasoning, Text: b.Thinking, Signature: b.Signature})
		case "redacted_thinking":
			m.Content = append(m.Content, providers.Part{Type: providers.PartReasoning, RedactedData: b.Data})
		case "tool_use":
			m.ToolCalls = append(m.ToolCalls, providers.ToolCall{ID: b.ID, Name: b.Name, Arguments: compactJSON(b.Input)})
		}
	}
	return m
}

// compactJSON returns raw (already validated by the decoder) without
// insignificant space; "{}" when absent.
func compactJSON(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "{}"
	}
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
}

// finishReason maps Anthropic's stop_reason. pause_turn (a server tool
// loop paused) ends the turn like end_turn; model_context_window_exceeded
// is a length stop; unknown reasons become stop.
func finishReason(s string) providers.FinishReason {
	switch s {
	case "":
		return ""
	case "end_turn", "stop_sequence", "pause_turn":
		return providers.FinishStop
	case "max_tokens", "model_context_window_exceeded":
		return providers.FinishLength
	case "tool_use":
		return providers.FinishToolCalls
	case "refusal":
		return providers.FinishContentFilter
	}
	return providers.FinishStop
}

// convertUsage converts a usage report. Anthropic's input_tokens excludes
// cached and cache-write tokens; the canonical InputTokens counts all
// prompt tokens. Fields missing from u are taken from base (the
// message_start report of a stream), if any.
func convertUsage(u, base *usage) providers.Usage {
	get := func(f func(*usage) *int64) int64 {
		if v := f(u); v != nil {
			return *v
		}
		if base != nil {
			if v := f(base); v != nil {
				return *v
			}
		}
		return 0
	}
	in := get(func(x *usage) *int64 { return x.InputTokens })
	read := get(func(x *usage) *int64 { return x.CacheReadInputTokens })
	write := get(func(x *usage) *int64 { return x.CacheCreationInputTokens })
	return providers.Usage{
		InputTokens:       in + read + write,
		OutputTokens:      get(func(x *usage) *int64 { return x.OutputTokens }),
		CachedInputTokens: read,
		CacheWriteTokens:  write,
	}
}
