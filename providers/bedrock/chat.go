package bedrock

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/bedrock"
	"github.com/tollgate-dev/tollgate/providers"
)

// Chat sends a Converse request.
func (p *Provider) Chat(ctx context.Context, req *providers.ChatRequest) (*providers.ChatResponse, error) {
	body, err := p.encode(req)
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, p.modelURL(req.Model, "converse"), body, "application/json")
	if err != nil {
		return nil, err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	var w schema.ConverseResponse
	if err := apischema.UnmarshalLenient(b, &w); err != nil {
		return nil, p.up.BadResponse(resp.StatusCode, "converse response", err)
	}
	msg := providers.Message{Role: providers.RoleAssistant}
	if w.Output.Message != nil {
		msg = convertMessage(w.Output.Message.Content)
	}
	out := &providers.ChatResponse{
		ID:      resp.Header.Get(schema.HeaderRequestID),
		Model:   req.Model,
		Created: p.now(),
		Choices: []providers.Choice{{Message: msg, FinishReason: finishReason(w.StopReason)}},
	}
	if w.Usage != nil {
		out.Usage = convertUsage(w.Usage)
	}
	return out, nil
}

// convertMessage turns an answer's content blocks into a message.
func convertMessage(blocks []schema.ContentBlock) providers.Message {
	m := providers.Message{Role: providers.RoleAssistant}
	for _, b := range blocks {
		switch {
		case b.Text != nil:
			if n := len(m.Content); n > 0 && m.Content[n-1].Type == providers.PartText {
				m.Content[n-1].Text += *b.Text
			} else {
				m.Content = append(m.Content, providers.TextPart(*b.Text))
			}
		case b.ToolUse != nil:
			m.ToolCalls = append(m.ToolCalls, providers.ToolCall{ID: b.ToolUse.ToolUseID, Name: b.ToolUse.Name,
				Arguments: compactJSON(b.ToolUse.Input)})
		case b.ReasoningContent != nil:
			rc := b.ReasoningContent
			pt := providers.Part{Type: providers.PartReasoning}
			if rc.ReasoningText != nil {
				pt.Text, pt.Signature = rc.ReasoningText.Text, rc.ReasoningText.Signature
			}
			if len(rc.RedactedContent) > 0 {
				pt.RedactedData = base64.StdEncoding.EncodeToString(rc.RedactedContent)
			}
			m.Content = append(m.Content, pt)
		}
	}
	return m
}

// compactJSON returns raw without insignificant white space ("{}" for none).
func compactJSON(raw []byte) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "{}"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// finishReason maps a stop reason.
func finishReason(s string) providers.FinishReason {
	switch s {
	case schema.StopMaxTokens:
		return providers.FinishLength
	case schema.StopToolUse:
		return providers.FinishToolCalls
	case schema.StopGuardrailIntervened, schema.StopContentFiltered:
		return providers.FinishContentFilter
	case "":
		return ""
	}
	return providers.FinishStop
}

// convertUsage maps usage: Bedrock's inputTokens leaves out cache reads
// and writes, which the canonical InputTokens includes.
func convertUsage(u *schema.Usage) providers.Usage {
	return providers.Usage{
		InputTokens:       u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens,
		OutputTokens:      u.OutputTokens,
		CachedInputTokens: u.CacheReadInputTokens,
		CacheWriteTokens:  u.CacheWriteInputTokens,
	}
}
