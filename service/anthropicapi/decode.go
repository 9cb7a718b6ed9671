package anthropicapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// dialect is the ExtraDialect of fields passed on to Anthropic upstreams.
const dialect = "anthropic"

// errorPrefix marks the text of a tool_result with is_error set, as the
// canonical model has no error flag for tool messages.
const errorPrefix = "error: "

func invalid(param, format string, args ...any) error {
	return &gateway.InvalidRequestError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// toCanonical translates a decoded Messages request. needMaxTokens is false
// for count_tokens, where max_tokens is not part of the request.
func toCanonical(in *messagesRequest, needMaxTokens bool) (*providers.ChatRequest, error) {
	if in.Model == "" {
		return nil, invalid("model", "Field required")
	}
	if in.MaxTokens == nil && needMaxTokens {
		return nil, invalid("max_tokens", "Field required")
	}
	if in.MaxTokens != nil && *in.MaxTokens < 1 {
		return nil, invalid("max_tokens", "must be at least 1")
	}
	out := &providers.ChatRequest{
		Model:       in.Model,
		Stop:        in.StopSequences,
		Temperature: in.Temperature,
		TopP:        in.TopP,
		TopK:        in.TopK,
	}
	if needMaxTokens {
		out.MaxTokens = in.MaxTokens
	}
	if in.TopK != nil && *in.TopK < 1 {
		return nil, invalid("top_k", "must be at least 1")
	}
	if t := in.Temperature; t != nil && (*t < 0 || *t > 1) {
		return nil, invalid("temperature", "must be between 0 and 1")
	}
	if in.Metadata != nil {
		out.User = in.Metadata.UserID
	}
	if len(in.ServiceTier) > 0 && !isNull(in.ServiceTier) {
		out.Extra = map[string]json.RawMessage{"service_tier": in.ServiceTier}
		out.ExtraDialect = dialect
	}
	if err := setThinking(out, in.Thinking); err != nil {
		return nil, err
	}
	n := len(in.Messages)
	if len(in.System) > 0 && !isNull(in.System) {
		n++
	}
	out.Messages = make([]providers.Message, 0, n)
	if err := appendSystem(out, in.System); err != nil {
		return nil, err
	}
	for i := range in.Messages {
		if err := appendMessage(out, &in.Messages[i], i); err != nil {
			return nil, err
		}
	}
	if err := setTools(out, in.Tools, in.ToolChoice); err != nil {
		return nil, err
	}
	return out, nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

func setThinking(out *providers.ChatRequest, t *inThinking) error {
	if t == nil {
		return nil
	}
	switch t.Type {
	case "enabled":
		if t.BudgetTokens < 1 {
			return invalid("thinking.budget_tokens", "Field required: must be at least 1")
		}
		out.Reasoning = &providers.ReasoningConfig{BudgetTokens: t.BudgetTokens}
	case "adaptive":
		out.Reasoning = &providers.ReasoningConfig{}
	case "disabled":
	default:
		return invalid("thinking.type", "must be one of \"enabled\", \"adaptive\" or \"disabled\", got %q", t.Type)
	}
	return nil
}

func appendSystem(out *providers.ChatRequest, raw json.RawMessage) error {
	if len(raw) == 0 || isNull(raw) {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return invalid("system", "must be a string or an array of text blocks")
		}
		out.Messages = append(out.Messages, providers.Message{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart(s)}})
		return nil
	}
	var blocks []inBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return invalid("system", "must be a string or an array of text blocks")
	}
	parts := make([]providers.Part, 0, len(blocks))
	for i := range blocks {
		b := &blocks[i]
		if b.Type != "text" {
			return invalid("system["+strconv.Itoa(i)+"].type", "system blocks must be text blocks, got %q", b.Type)
		}
		parts = append(parts, providers.Part{Type: providers.PartText, Text: b.Text, CacheBreakpoint: b.CacheControl != nil})
	}
	if len(parts) > 0 {
		out.Messages = append(out.Messages, providers.Message{Role: providers.RoleSystem, Content: parts})
	}
	return nil
}

func appendMessage(out *providers.ChatRequest, m *inMessage, i int) error {
	p := "messages[" + strconv.Itoa(i) + "]"
	var role providers.Role
	switch m.Role {
	case "user":
		role = providers.RoleUser
	case "assistant":
		role = providers.RoleAssistant
	case "":
		return invalid(p+".role", "Field required")
	default:
		return invalid(p+".role", "must be \"user\" or \"assistant\", got %q", m.Role)
	}
	raw := bytes.TrimLeft(m.Content, " \t\r\n")
	if len(raw) == 0 || isNull(raw) {
		return invalid(p+".content", "Field required")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return invalid(p+".content", "must be a string or an array of content blocks")
		}
		out.Messages = append(out.Messages, providers.Message{Role: role, Content: []providers.Part{providers.TextPart(s)}})
		return nil
	}
	var blocks []inBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return invalid(p+".content", "must be a string or an array of content blocks: %v", err)
	}
	msg := providers.Message{Role: role, Content: make([]providers.Part, 0, len(blocks))}
	for j := range blocks {
		b := &blocks[j]
		q := p + ".content[" + strconv.Itoa(j) + "]"
		switch b.Type {
		case "text":
			msg.Content = append(msg.Content, providers.Part{Type: providers.PartText, Text: b.Text, CacheBreakpoint: b.CacheControl != nil})
		case "image":
			img, err := decodeImage(b.Source, q+".source")
			if err != nil {
				return err
			}
			msg.Content = append(msg.Content, providers.Part{Type: providers.PartImage, Image: img, CacheBreakpoint: b.CacheControl != nil})
		case "thinking":
			msg.Content = append(msg.Content, providers.Part{Type: providers.PartReasoning, Text: b.Thinking, Signature: b.Signature})
		case "redacted_thinking":
			msg.Content = append(msg.Content, providers.Part{Type: providers.PartReasoning, RedactedData: b.Data})
		case "tool_use":
			if role != providers.RoleAssistant {
				return invalid(q, "tool_use blocks are only allowed in assistant messages")
			}
			msg.ToolCalls = append(msg.ToolCalls, providers.ToolCall{ID: b.ID, Name: b.Name, Arguments: compactInput(b.Input)})
		case "tool_result":
			if role != providers.RoleUser {
				return invalid(q, "tool_result blocks are only allowed in user messages")
			}
			tm, err := toolMessage(b, q)
			if err != nil {
				return err
			}
			out.Messages = append(out.Messages, tm)
		case "document":
			return invalid(q, "document blocks are not supported by this gateway yet")
		case "":
			return invalid(q+".type", "Field required")
		default:
			return invalid(q+".type", "content block type %q is not supported by this gateway", b.Type)
		}
	}
	if len(msg.Content) > 0 || len(msg.ToolCalls) > 0 {
		out.Messages = append(out.Messages, msg)
	} else if role == providers.RoleUser && len(blocks) == 0 {
		return invalid(p+".content", "must not be empty")
	}
	return nil
}

// toolMessage turns a tool_result block into a canonical tool message.
func toolMessage(b *inBlock, q string) (providers.Message, error) {
	if b.ToolUseID == "" {
		return providers.Message{}, invalid(q+".tool_use_id", "Field required")
	}
	m := providers.Message{Role: providers.RoleTool, ToolCallID: b.ToolUseID}
	raw := bytes.TrimLeft(b.Content, " \t\r\n")
	switch {
	case len(raw) == 0 || isNull(raw):
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return m, invalid(q+".content", "must be a string or an array of text blocks")
		}
		m.Content = []providers.Part{providers.TextPart(s)}
	default:
		var blocks []inBlock
		if err := json.Unmarshal(raw, &blocks); err != nil {
			return m, invalid(q+".content", "must be a string or an array of text blocks")
		}
		m.Content = make([]providers.Part, 0, len(blocks))
		for k := range blocks {
			switch blocks[k].Type {
			case "text":
				m.Content = append(m.Content, providers.TextPart(blocks[k].Text))
			default:
				return m, invalid(q+".content["+strconv.Itoa(k)+"].type",
					"only text blocks are supported inside tool_result by this gateway, got %q", blocks[k].Type)
			}
		}
	}
	if len(m.Content) == 0 {
		m.Content = []providers.Part{providers.TextPart("")}
	}
	if b.IsError {
		m.Content[0].Text = errorPrefix + m.Content[0].Text
	}
	if b.CacheControl != nil {
		m.Content[len(m.Content)-1].CacheBreakpoint = true
	}
	return m, nil
}

func decodeImage(src *inSource, q string) (*providers.Image, error) {
	if src == nil {
		return nil, invalid(q, "Field required")
	}
	switch src.Type {
	case "base64":
		if src.MediaType == "" {
			return nil, invalid(q+".media_type", "Field required")
		}
		data, err := base64.StdEncoding.DecodeString(src.Data)
		if err != nil || len(data) == 0 {
			return nil, invalid(q+".data", "must be non-empty base64 data")
		}
		return &providers.Image{MIMEType: src.MediaType, Data: data}, nil
	case "url":
		if src.URL == "" {
			return nil, invalid(q+".url", "Field required")
		}
		return &providers.Image{URL: src.URL}, nil
	case "file":
		return nil, invalid(q+".type", "file sources are not supported by this gateway")
	}
	return nil, invalid(q+".type", "must be \"base64\" or \"url\", got %q", src.Type)
}

// compactInput renders a tool_use input as canonical arguments text.
func compactInput(raw json.RawMessage) string {
	if len(raw) == 0 || isNull(raw) {
		return "{}"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

func setTools(out *providers.ChatRequest, tools []inTool, tc *inToolChoice) error {
	if len(tools) > 0 {
		out.Tools = make([]providers.Tool, 0, len(tools))
	}
	for i := range tools {
		t := &tools[i]
		q := "tools[" + strconv.Itoa(i) + "]"
		if t.Type != "" && t.Type != "custom" {
			return invalid(q+".type", "server tool %q of type %q is not supported by this gateway; declare client tools with name, description and input_schema", t.Name, t.Type)
		}
		if len(t.InputSchema) == 0 || isNull(t.InputSchema) {
			return invalid(q+".input_schema", "Field required")
		}
		out.Tools = append(out.Tools, providers.Tool{Name: t.Name, Description: t.Description, Parameters: t.InputSchema})
	}
	if tc == nil {
		return nil
	}
	switch tc.Type {
	case "auto":
		out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceAuto}
	case "any":
		out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceRequired}
	case "tool":
		if tc.Name == "" {
			return invalid("tool_choice.name", "Field required")
		}
		out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: tc.Name}
	case "none":
		out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceNone}
	default:
		return invalid("tool_choice.type", "must be one of \"auto\", \"any\", \"tool\" or \"none\", got %q", tc.Type)
	}
	if tc.DisableParallelToolUse && tc.Type != "none" {
		f := false
		out.ParallelToolCalls = &f
	}
	return nil
}
