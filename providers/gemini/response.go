package gemini

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"

	json2 "github.com/go-json-experiment/json"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"

	"github.com/tollgate-dev/tollgate/providers"
)

// decodeChat converts a GenerateContentResponse body.
func (p *Provider) decodeChat(status int, body []byte) (*providers.ChatResponse, error) {
	var w schema.GenerateContentResponse
	if err := unmarshal(body, &w); err != nil {
		return nil, p.up.BadResponse(status, "generate content response", err)
	}
	if w.Error != nil {
		return nil, p.streamError(w.Error)
	}
	return convertResponse(&w), nil
}

// convertResponse maps candidates to choices. A prompt blocked before any
// candidate was generated (promptFeedback.blockReason) becomes a single
// empty choice finished with content_filter.
func convertResponse(w *schema.GenerateContentResponse) *providers.ChatResponse {
	out := &providers.ChatResponse{ID: w.ResponseID, Model: w.ModelVersion}
	if len(w.Candidates) == 0 && w.PromptFeedback != nil && w.PromptFeedback.BlockReason != "" {
		out.Choices = []providers.Choice{{
			Message:      providers.Message{Role: providers.RoleAssistant},
			FinishReason: providers.FinishContentFilter,
		}}
	} else {
		out.Choices = make([]providers.Choice, len(w.Candidates))
		for i := range w.Candidates {
			convertCandidate(&out.Choices[i], &w.Candidates[i])
		}
	}
	if w.UsageMetadata != nil {
		out.Usage = convertUsage(w.UsageMetadata)
	}
	return out
}

func convertCandidate(out *providers.Choice, c *schema.Candidate) {
	out.Index = c.Index
	out.Message.Role = providers.RoleAssistant
	if c.Content != nil {
		for i := range c.Content.Parts {
			addPart(&out.Message, &c.Content.Parts[i], c.Index)
		}
	}
	out.FinishReason = finishReason(c.FinishReason, len(out.Message.ToolCalls) > 0)
}

// addPart appends one response part to msg. Thought parts become reasoning
// (with their signature), text parts text, inline media images and function
// calls tool calls with the signature folded into the id. Consecutive text
// or unsigned reasoning parts are joined. Signatures on plain text parts
// are not kept (Gemini does not require them back).
func addPart(msg *providers.Message, pt *schema.Part, cand int) {
	switch {
	case pt.FunctionCall != nil:
		id := pt.FunctionCall.ID
		if id == "" {
			id = generatedID(cand, len(msg.ToolCalls))
		}
		msg.ToolCalls = append(msg.ToolCalls, providers.ToolCall{
			ID:        joinCallID(id, pt.ThoughtSignature),
			Name:      pt.FunctionCall.Name,
			Arguments: argsText([]byte(pt.FunctionCall.Args)),
		})
	case pt.Thought:
		if n := len(msg.Content); n > 0 && msg.Content[n-1].Type == providers.PartReasoning && msg.Content[n-1].Signature == "" {
			msg.Content[n-1].Text += pt.Text
			msg.Content[n-1].Signature = pt.ThoughtSignature
			return
		}
		msg.Content = append(msg.Content, providers.Part{Type: providers.PartReasoning, Text: pt.Text, Signature: pt.ThoughtSignature})
	case pt.InlineData != nil:
		data, err := decodeBase64(pt.InlineData.Data)
		if err != nil {
			return
		}
		msg.Content = append(msg.Content, providers.Part{Type: providers.PartImage,
			Image: &providers.Image{MIMEType: pt.InlineData.MIMEType, Data: data}})
	case pt.Text != "":
		if n := len(msg.Content); n > 0 && msg.Content[n-1].Type == providers.PartText {
			msg.Content[n-1].Text += pt.Text
			return
		}
		msg.Content = append(msg.Content, providers.TextPart(pt.Text))
	}
}

// unmarshal decodes an upstream's answer: camelCase or snake_case
// members, invalid UTF-8 replaced.
func unmarshal(data []byte, v any) error {
	return apischema.UnmarshalLenient(data, v, json2.MatchCaseInsensitiveNames(true))
}

// decodeBase64 decodes standard or URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawURLEncoding.DecodeString(s)
	}
	return b, err
}

// argsText renders function-call args as compact JSON text ("{}" when
// absent).
func argsText(args json.RawMessage) string {
	a := bytes.TrimSpace(args)
	if len(a) == 0 || string(a) == "null" {
		return "{}"
	}
	var buf bytes.Buffer
	buf.Grow(len(a))
	if json.Compact(&buf, a) != nil {
		return string(a)
	}
	return buf.String()
}

// finishReason maps a Gemini finishReason:
//
//   - STOP → stop, or tool_calls when the candidate called functions;
//   - MAX_TOKENS → length;
//   - SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII, LANGUAGE,
//     IMAGE_SAFETY, IMAGE_PROHIBITED_CONTENT, IMAGE_RECITATION and
//     MODEL_ARMOR → content_filter;
//   - MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS,
//     MISSING_THOUGHT_SIGNATURE, NO_IMAGE, IMAGE_OTHER and OTHER → error;
//   - FINISH_REASON_UNSPECIFIED and reasons unknown to this adapter → stop
//     (tool_calls when the candidate called functions).
func finishReason(s string, calls bool) providers.FinishReason {
	switch s {
	case "":
		return ""
	case "MAX_TOKENS":
		return providers.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "MODEL_ARMOR":
		return providers.FinishContentFilter
	case "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS", "MISSING_THOUGHT_SIGNATURE",
		"NO_IMAGE", "IMAGE_OTHER", "OTHER":
		return providers.FinishError
	}
	if calls {
		return providers.FinishToolCalls
	}
	return providers.FinishStop
}

// convertUsage maps usageMetadata. Thought tokens are output tokens (and
// reasoning tokens); tool-use prompt tokens are input tokens.
func convertUsage(u *schema.UsageMetadata) providers.Usage {
	return providers.Usage{
		InputTokens:       u.PromptTokenCount + u.ToolUsePromptTokenCount,
		OutputTokens:      u.CandidatesTokenCount + u.ThoughtsTokenCount,
		CachedInputTokens: u.CachedContentTokenCount,
		ReasoningTokens:   u.ThoughtsTokenCount,
	}
}
