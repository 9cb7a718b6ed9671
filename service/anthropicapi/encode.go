package anthropicapi

import (
	"encoding/json"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/providers"
)

// stopReason maps a canonical finish reason to Anthropic's stop_reason.
// The canonical model cannot tell a natural end from a stop sequence, so
// both are end_turn.
func stopReason(f providers.FinishReason) string {
	switch f {
	case providers.FinishLength:
		return "max_tokens"
	case providers.FinishToolCalls:
		return "tool_use"
	case providers.FinishContentFilter:
		return "refusal"
	}
	return "end_turn"
}

// usageOut is a usage report in Anthropic's terms.
type usageOut struct {
	InputTokens, CacheCreationInputTokens, CacheReadInputTokens, OutputTokens int64
}

// usageOf converts canonical usage, whose InputTokens include cache reads
// and writes, to Anthropic's, whose input_tokens exclude them.
func usageOf(u providers.Usage) usageOut {
	return usageOut{
		InputTokens:              max(u.InputTokens-u.CachedInputTokens-u.CacheWriteTokens, 0),
		CacheCreationInputTokens: u.CacheWriteTokens,
		CacheReadInputTokens:     u.CachedInputTokens,
		OutputTokens:             u.OutputTokens,
	}
}

// wire returns the usage as the schema's.
func (u usageOut) wire() schema.Usage {
	return schema.Usage{InputTokens: &u.InputTokens, CacheCreationInputTokens: &u.CacheCreationInputTokens,
		CacheReadInputTokens: &u.CacheReadInputTokens, OutputTokens: &u.OutputTokens}
}

// messageID returns the Message id: the upstream's when it is already an
// Anthropic id, else one derived from the gateway request id.
func messageID(upstreamID, requestID string) string {
	if strings.HasPrefix(upstreamID, "msg_") {
		return upstreamID
	}
	return "msg_" + strings.TrimPrefix(requestID, "req_")
}

// toolInput renders canonical tool-call arguments as the input object.
// Arguments that are not valid JSON (a model's mistake) are sent as a JSON
// string so that the response stays well-formed.
func toolInput(args string) jsontext.Value {
	if args == "" {
		return jsontext.Value(`{}`)
	}
	if json.Valid([]byte(args)) {
		return jsontext.Value(args)
	}
	b, _ := json.Marshal(args) // a string always marshals
	return b
}

// fromCanonical builds the Message for a unary response. model is the name
// the caller asked for.
func fromCanonical(resp *providers.ChatResponse, model, requestID string) *schema.Message {
	out := &schema.Message{
		ID:           messageID(resp.ID, requestID),
		Type:         "message",
		Role:         schema.RoleAssistant,
		Model:        model,
		Usage:        usageOf(resp.Usage).wire(),
		StopSequence: apischema.NullOf[string](),
		Content:      []schema.ContentBlock{},
	}
	reason := schema.StopEndTurn
	if len(resp.Choices) > 0 {
		ch := &resp.Choices[0]
		reason = stopReason(ch.FinishReason)
		for _, p := range ch.Message.Content {
			switch p.Type {
			case providers.PartText:
				if p.Text != "" {
					out.Content = append(out.Content, schema.TextBlock(p.Text))
				}
			case providers.PartReasoning:
				if p.RedactedData != "" {
					out.Content = append(out.Content, schema.ContentBlock{Type: schema.BlockRedactedThinking, Data: p.RedactedData})
				} else {
					out.Content = append(out.Content, schema.ContentBlock{Type: schema.BlockThinking, Thinking: p.Text, Signature: p.Signature})
				}
			}
		}
		for _, tc := range ch.Message.ToolCalls {
			out.Content = append(out.Content, schema.ContentBlock{Type: schema.BlockToolUse, ID: tc.ID, Name: tc.Name, Input: toolInput(tc.Arguments)})
		}
		if len(ch.Message.ToolCalls) > 0 && ch.FinishReason == providers.FinishStop {
			reason = schema.StopToolUse
		}
	}
	out.StopReason = apischema.ValueOf(&reason)
	return out
}
