package openai

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
)

// Chat sends a unary chat completion.
func (p *Provider) Chat(ctx context.Context, req *providers.ChatRequest) (*providers.ChatResponse, error) {
	body, err := p.encodeChat(req, false)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, http.MethodPost, OpChatCompletions, req.Model, body, "application/json")
	if err != nil {
		return nil, err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	return p.decodeChat(resp.StatusCode, b)
}

// invalid reports a canonical request this adapter cannot express.
func (p *Provider) invalid(format string, args ...any) error {
	return &providers.Error{Provider: p.id, Kind: providers.KindInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// encodeChat renders req as a Chat Completions body.
func (p *Provider) encodeChat(req *providers.ChatRequest, stream bool) ([]byte, error) {
	if req == nil {
		return nil, p.invalid("nil chat request")
	}
	w := chatRequest{
		Model:             req.Model,
		Messages:          make([]message, len(req.Messages)),
		ParallelToolCalls: req.ParallelToolCalls,
		Temperature:       req.Temperature,
		TopP:              req.TopP,
		Stop:              req.Stop,
		Seed:              req.Seed,
		PresencePenalty:   req.PresencePenalty,
		FrequencyPenalty:  req.FrequencyPenalty,
		N:                 req.N,
		User:              req.User,
		Stream:            stream,
	}
	for i := range req.Messages {
		if err := p.encodeMessage(&w.Messages[i], &req.Messages[i]); err != nil {
			return nil, err
		}
	}
	if len(req.Tools) > 0 {
		w.Tools = make([]tool, len(req.Tools))
		for i, t := range req.Tools {
			w.Tools[i] = tool{Type: "function", Function: functionDef{
				Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict}}
		}
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Mode {
		case providers.ToolChoiceAuto, providers.ToolChoiceNone, providers.ToolChoiceRequired:
			w.ToolChoice = string(tc.Mode)
		case providers.ToolChoiceFunction:
			if tc.Name == "" {
				return nil, p.invalid("tool choice %q needs a function name", tc.Mode)
			}
			w.ToolChoice = &namedToolChoice{Type: "function", Function: functionName{Name: tc.Name}}
		default:
			return nil, p.invalid("unknown tool choice mode %q", tc.Mode)
		}
	}
	if p.legacyMaxTokens {
		w.MaxTokens = req.MaxTokens
	} else {
		w.MaxCompletion = req.MaxTokens
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case providers.FormatText, providers.FormatJSONObject:
			w.ResponseFormat = &responseFormat{Type: string(rf.Type)}
		case providers.FormatJSONSchema:
			name := rf.Name
			if name == "" {
				name = "response" // OpenAI requires a name
			}
			w.ResponseFormat = &responseFormat{Type: string(rf.Type), JSONSchema: &jsonSchema{
				Name: name, Description: rf.Description, Schema: rf.Schema, Strict: rf.Strict}}
		default:
			return nil, p.invalid("unknown response format %q", rf.Type)
		}
	}
	if stream && p.streamUsage {
		w.StreamOptions = &streamOptions{IncludeUsage: true}
	}

	var buf bytes.Buffer
	buf.Grow(512 + 64*len(req.Messages))
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		return nil, p.invalid("encode request: %v", err)
	}
	body := bytes.TrimRight(buf.Bytes(), "\n")
	if req.ExtraDialect == Dialect && len(req.Extra) > 0 {
		return p.spliceExtra(body, &w, req.Extra)
	}
	return body, nil
}

func (p *Provider) encodeMessage(out *message, m *providers.Message) error {
	out.Role = string(m.Role)
	switch m.Role {
	case providers.RoleTool:
		out.ToolCallID = m.ToolCallID
		out.Content = m.Text()
		return nil
	case providers.RoleSystem, providers.RoleUser, providers.RoleAssistant:
	default:
		return p.invalid("unknown message role %q", m.Role)
	}
	out.Name = m.Name
	if len(m.ToolCalls) > 0 {
		out.ToolCalls = make([]toolCall, len(m.ToolCalls))
		for i, c := range m.ToolCalls {
			args := c.Arguments
			if args == "" {
				args = "{}"
			}
			out.ToolCalls[i] = toolCall{ID: c.ID, Type: "function", Function: functionCall{Name: c.Name, Arguments: args}}
		}
	}
	content, err := p.encodeContent(m.Content)
	if err != nil {
		return err
	}
	if content == nil && len(m.ToolCalls) == 0 {
		content = ""
	}
	out.Content = content
	return nil
}

// encodeContent returns a string for a single text part, an array of parts
// otherwise, or nil when there is nothing to send. Reasoning parts are not
// sent back: the Chat Completions API has no place for them.
func (p *Provider) encodeContent(parts []providers.Part) (any, error) {
	var n, texts int
	for i := range parts {
		switch parts[i].Type {
		case providers.PartText:
			if parts[i].Text != "" {
				n++
				texts++
			}
		case providers.PartImage:
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	if n == 1 && texts == 1 {
		for i := range parts {
			if parts[i].Type == providers.PartText && parts[i].Text != "" {
				return parts[i].Text, nil
			}
		}
	}
	out := make([]contentPart, 0, n)
	for i := range parts {
		switch pt := &parts[i]; pt.Type {
		case providers.PartText:
			if pt.Text != "" {
				out = append(out, contentPart{Type: "text", Text: pt.Text})
			}
		case providers.PartImage:
			u, err := p.imageURL(pt.Image)
			if err != nil {
				return nil, err
			}
			out = append(out, contentPart{Type: "image_url", ImageURL: u})
		}
	}
	return out, nil
}

func (p *Provider) imageURL(img *providers.Image) (*imageURL, error) {
	switch {
	case img == nil:
		return nil, p.invalid("image part without image")
	case len(img.Data) > 0:
		mime := img.MIMEType
		if mime == "" {
			mime = http.DetectContentType(img.Data)
		}
		b := make([]byte, 0, len("data:;base64,")+len(mime)+base64.StdEncoding.EncodedLen(len(img.Data)))
		b = append(b, "data:"...)
		b = append(b, mime...)
		b = append(b, ";base64,"...)
		b = base64.StdEncoding.AppendEncode(b, img.Data)
		return &imageURL{URL: string(b), Detail: img.Detail}, nil
	case img.URL != "":
		return &imageURL{URL: img.URL, Detail: img.Detail}, nil
	}
	return nil, p.invalid("image has neither URL nor data")
}

// spliceExtra appends passthrough fields to the encoded body. Fields the
// adapter set itself win; model, messages, stream and stream_options are
// never overridden.
func (p *Provider) spliceExtra(body []byte, w *chatRequest, extra map[string]json.RawMessage) ([]byte, error) {
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if !w.sets(k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return body, nil
	}
	slices.Sort(keys) // deterministic bodies
	out := body[:len(body)-1]
	for _, k := range keys {
		v := bytes.TrimSpace(extra[k])
		if !json.Valid(v) {
			return nil, p.invalid("passthrough field %q is not valid JSON", k)
		}
		kq, err := json.Marshal(k)
		if err != nil {
			return nil, p.invalid("passthrough field name: %v", err)
		}
		out = append(out, ',')
		out = append(out, kq...)
		out = append(out, ':')
		out = append(out, v...)
	}
	return append(out, '}'), nil
}

// sets reports whether the encoded request already has field k, or k is a
// field passthrough must never touch.
func (w *chatRequest) sets(k string) bool {
	switch k {
	case "model", "messages", "stream", "stream_options":
		return true
	case "tools":
		return len(w.Tools) > 0
	case "tool_choice":
		return w.ToolChoice != nil
	case "parallel_tool_calls":
		return w.ParallelToolCalls != nil
	case "temperature":
		return w.Temperature != nil
	case "top_p":
		return w.TopP != nil
	case "max_tokens", "max_completion_tokens":
		return w.MaxTokens != nil || w.MaxCompletion != nil
	case "stop":
		return len(w.Stop) > 0
	case "seed":
		return w.Seed != nil
	case "response_format":
		return w.ResponseFormat != nil
	case "presence_penalty":
		return w.PresencePenalty != nil
	case "frequency_penalty":
		return w.FrequencyPenalty != nil
	case "n":
		return w.N != nil
	case "user":
		return w.User != ""
	}
	return false
}

// decodeChat converts a chat.completion body.
func (p *Provider) decodeChat(status int, body []byte) (*providers.ChatResponse, error) {
	var w chatResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, p.up.BadResponse(status, "chat completion", err)
	}
	if w.Error != nil && len(w.Choices) == 0 {
		return nil, p.streamError(w.Error)
	}
	out := &providers.ChatResponse{ID: w.ID, Model: w.Model, Choices: make([]providers.Choice, len(w.Choices))}
	if w.Created != 0 {
		out.Created = time.Unix(w.Created, 0).UTC()
	}
	for i := range w.Choices {
		convertChoice(&out.Choices[i], &w.Choices[i])
	}
	if w.Usage != nil {
		out.Usage = convertUsage(w.Usage)
	}
	return out, nil
}

func convertChoice(out *providers.Choice, c *choice) {
	m := &c.Message
	out.Index = c.Index
	out.FinishReason = finishReason(c.FinishReason)
	out.Message.Role = providers.RoleAssistant
	reasoning := m.ReasoningContent
	if reasoning == "" {
		reasoning = m.Reasoning
	}
	text := m.Content
	if text == "" {
		text = m.Refusal // the canonical model has no refusal; show it as text
	}
	var n int
	if reasoning != "" {
		n++
	}
	if text != "" {
		n++
	}
	if n > 0 {
		out.Message.Content = make([]providers.Part, 0, n)
		if reasoning != "" {
			out.Message.Content = append(out.Message.Content, providers.Part{Type: providers.PartReasoning, Text: reasoning})
		}
		if text != "" {
			out.Message.Content = append(out.Message.Content, providers.TextPart(text))
		}
	}
	switch {
	case len(m.ToolCalls) > 0:
		out.Message.ToolCalls = make([]providers.ToolCall, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			out.Message.ToolCalls[i] = providers.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments}
		}
	case m.FunctionCall != nil:
		out.Message.ToolCalls = []providers.ToolCall{{Name: m.FunctionCall.Name, Arguments: m.FunctionCall.Arguments}}
	}
}

// finishReason maps OpenAI's finish_reason. The legacy function_call
// becomes tool_calls; reasons of compatible servers that the canonical model
// lacks (e.g. "eos", "abort") become stop, except "error".
func finishReason(s string) providers.FinishReason {
	switch s {
	case "":
		return ""
	case "stop":
		return providers.FinishStop
	case "length":
		return providers.FinishLength
	case "tool_calls", "function_call":
		return providers.FinishToolCalls
	case "content_filter":
		return providers.FinishContentFilter
	case "error":
		return providers.FinishError
	}
	return providers.FinishStop
}

func convertUsage(u *usage) providers.Usage {
	out := providers.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil {
		out.CachedInputTokens = d.CachedTokens
	}
	if out.CachedInputTokens == 0 {
		out.CachedInputTokens = u.PromptCacheHitTokens
	}
	if d := u.CompletionTokensDetails; d != nil {
		out.ReasoningTokens = d.ReasoningTokens
	}
	return out
}
