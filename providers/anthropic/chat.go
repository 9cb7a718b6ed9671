package anthropic

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/tidwall/gjson"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/providers"
)

// Chat sends a unary Messages request.
func (p *Provider) Chat(ctx context.Context, req *providers.ChatRequest) (*providers.ChatResponse, error) {
	body, err := p.chatBody(req, false)
	if err != nil {
		return nil, err
	}
	resp, err := p.sendMessages(ctx, req.Model, false, body, "application/json", p.requestHeader(req.Source))
	if err != nil {
		return nil, err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	out, err := p.decodeMessage(resp.StatusCode, b, p.responseToolOf(req))
	if err != nil {
		return nil, err
	}
	if req.Source.Passthrough(Dialect) {
		out.Raw = b
	}
	return out, nil
}

// decodeMessage converts a Message object into a one-choice response.
// Anthropic sends no creation time; Created is the time of decoding. rt is
// the request's structured-output tool, whose call becomes the text.
func (p *Provider) decodeMessage(status int, body []byte, rt *responseTool) (*providers.ChatResponse, error) {
	var w schema.Message
	if err := apischema.UnmarshalLenient(body, &w); err != nil {
		return nil, p.up.BadResponse(status, "message", err)
	}
	if w.Error != nil && w.Type == "error" {
		return nil, p.streamError(w.Error)
	}
	msg := convertContent(w.Content, rt)
	finish := finishReason(deref(w.StopReason))
	if finish == providers.FinishToolCalls && len(msg.ToolCalls) == 0 {
		finish = providers.FinishStop // the structured answer's call
	}
	return &providers.ChatResponse{
		ID:      w.ID,
		Model:   w.Model,
		Created: p.now().UTC(),
		Choices: []providers.Choice{{Message: msg, FinishReason: finish}},
		Usage:   convertUsage(&w.Usage, nil),
	}, nil
}

func deref(n apischema.Nullable[string]) string {
	if n.V == nil {
		return ""
	}
	return *n.V
}

// convertContent converts response content blocks: text, thinking and
// redacted_thinking become parts in order, tool_use blocks become tool
// calls with compact JSON arguments, and the call of the structured-output
// tool rt becomes text. Blocks of server tools and other types the
// canonical model lacks are skipped.
func convertContent(blocks []schema.ContentBlock, rt *responseTool) providers.Message {
	m := providers.Message{Role: providers.RoleAssistant}
	var calls int
	for i := range blocks {
		if blocks[i].Type == schema.BlockToolUse {
			calls++
		}
	}
	if calls > 0 {
		m.ToolCalls = make([]providers.ToolCall, 0, calls)
	}
	for i := range blocks {
		b := &blocks[i]
		switch b.Type {
		case schema.BlockText:
			m.Content = append(m.Content, providers.TextPart(b.Text))
		case schema.BlockThinking:
			m.Content = append(m.Content, providers.Part{Type: providers.PartReasoning, Text: b.Thinking, Signature: b.Signature})
		case schema.BlockRedactedThinking:
			m.Content = append(m.Content, providers.Part{Type: providers.PartReasoning, RedactedData: b.Data})
		case schema.BlockToolUse:
			if rt != nil && b.Name == rt.Name {
				m.Content = append(m.Content, providers.TextPart(rt.answer(b.Input)))
				continue
			}
			m.ToolCalls = append(m.ToolCalls, providers.ToolCall{ID: b.ID, Name: b.Name, Arguments: compactJSON(b.Input)})
		}
	}
	if len(m.ToolCalls) == 0 {
		m.ToolCalls = nil
	}
	return m
}

// answer returns the JSON text of the structured answer from the tool's
// input.
func (rt *responseTool) answer(input []byte) string {
	if rt.Wrapped {
		if v := gjson.GetBytes(input, structuredWrapKey); v.Exists() {
			return compactJSON([]byte(v.Raw))
		}
	}
	return compactJSON(input)
}

// compactJSON returns raw (already validated by the decoder) without
// insignificant space; "{}" when absent.
func compactJSON(raw []byte) string {
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
	case schema.StopEndTurn, schema.StopSequence, schema.StopPauseTurn:
		return providers.FinishStop
	case schema.StopMaxTokens, schema.StopContextLimit:
		return providers.FinishLength
	case schema.StopToolUse:
		return providers.FinishToolCalls
	case schema.StopRefusal:
		return providers.FinishContentFilter
	}
	return providers.FinishStop
}

// convertUsage converts a usage report. Anthropic's input_tokens excludes
// cached and cache-write tokens; the canonical InputTokens counts all
// prompt tokens. Fields missing from u are taken from base (the
// message_start report of a stream), if any.
func convertUsage(u, base *schema.Usage) providers.Usage {
	get := func(f func(*schema.Usage) *int64) int64 {
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
	in := get(func(x *schema.Usage) *int64 { return x.InputTokens })
	read := get(func(x *schema.Usage) *int64 { return x.CacheReadInputTokens })
	write := get(func(x *schema.Usage) *int64 { return x.CacheCreationInputTokens })
	return providers.Usage{
		InputTokens:       in + read + write,
		OutputTokens:      get(func(x *schema.Usage) *int64 { return x.OutputTokens }),
		CachedInputTokens: read,
		CacheWriteTokens:  write,
	}
}
