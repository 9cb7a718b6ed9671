package openai

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
)

// Chat sends a unary chat completion.
func (p *Provider) Chat(ctx context.Context, req *providers.ChatRequest) (*providers.ChatResponse, error) {
	if p.servesResponses(req) {
		return p.responses(ctx, req)
	}
	body, err := p.chatBody(req, false)
	if err != nil {
		return nil, err
	}
	legacy := p.completes(req)
	op := OpChatCompletions
	if legacy {
		op = OpCompletions
	}
	resp, err := p.send(ctx, op, req.Model, body, "application/json", p.requestHeader(req.Source))
	if err != nil {
		return nil, err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	var out *providers.ChatResponse
	if legacy {
		out, err = p.decodeCompletion(resp.StatusCode, b)
	} else {
		out, err = p.decodeChat(resp.StatusCode, b)
	}
	if err != nil {
		return nil, err
	}
	if legacy || req.Source.Passthrough(Dialect) {
		out.Raw = b
	}
	return out, nil
}

// invalid reports a canonical request this adapter cannot express.
func (p *Provider) invalid(format string, args ...any) error {
	return &providers.Error{Provider: p.id, Kind: providers.KindInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// chatBody returns the body to send: the client's own, patched, for a
// request of this dialect (see passthrough.go), else the translation of
// the canonical request.
func (p *Provider) chatBody(req *providers.ChatRequest, stream bool) ([]byte, error) {
	if req == nil {
		return nil, p.invalid("nil chat request")
	}
	if req.Source.Passthrough(Dialect) || p.completes(req) {
		return p.patchChat(req, stream)
	}
	if err := providers.Refusal(p.id, req, p.Unsupported(req)); err != nil {
		return nil, err
	}
	return p.encodeChat(req, stream)
}

// Unsupported lists what of req the Chat Completions API cannot take. A
// request passed through is sent as it is and has nothing unsupported.
func (p *Provider) Unsupported(req *providers.ChatRequest) []providers.Unsupported {
	if req.Source.Passthrough(Dialect) || p.completes(req) || p.servesResponses(req) {
		return nil
	}
	out := providers.UnmappedUnsupported(req, Dialect, "OpenAI Chat Completions")
	if req.TopK != nil && !p.compat {
		out = append(out, providers.Unsupported{Field: "top_k", Droppable: true,
			Reason: "OpenAI has no top-k sampling"})
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		for j := range m.Content {
			pt := &m.Content[j]
			field := "messages[" + strconv.Itoa(i) + "].content[" + strconv.Itoa(j) + "]"
			switch {
			case pt.Type == providers.PartImage && m.Role != providers.RoleUser && m.Role != providers.RoleSystem:
				out = append(out, providers.Unsupported{Field: field, Reason: "OpenAI takes images in user messages only"})
			case pt.Type == providers.PartFile:
				if r := fileRefusal(pt.File, m.Role); r != "" {
					out = append(out, providers.Unsupported{Field: field, Reason: r})
				}
			}
		}
	}
	return out
}

// fileRefusal says why a file part cannot be sent, "" when it can.
func fileRefusal(f *providers.File, role providers.Role) string {
	switch {
	case f == nil:
		return "the file part has no file"
	case f.Text != "":
		return "" // sent as text
	case role != providers.RoleUser:
		return "OpenAI takes files in user messages only"
	case f.URL != "":
		return "OpenAI chat completions take files as inline data or an uploaded file id, not by URL"
	case f.FileID != "" && f.FileDialect != Dialect:
		return "the file id belongs to another provider's Files API"
	}
	return ""
}

// encodeChat renders req as a Chat Completions body.
func (p *Provider) encodeChat(req *providers.ChatRequest, stream bool) ([]byte, error) {
	w := schema.ChatCompletionRequest{
		Model:             req.Model,
		Messages:          make([]schema.Message, 0, len(req.Messages)),
		ParallelToolCalls: req.ParallelToolCalls,
		Temperature:       req.Temperature,
		TopP:              req.TopP,
		Seed:              req.Seed,
		PresencePenalty:   req.PresencePenalty,
		FrequencyPenalty:  req.FrequencyPenalty,
		N:                 req.N,
		User:              req.User,
		Stream:            stream,
	}
	if len(req.Stop) > 0 {
		w.Stop = &schema.Stop{Values: req.Stop}
	}
	for i := range req.Messages {
		m, err := p.encodeMessage(&req.Messages[i])
		if err != nil {
			return nil, err
		}
		w.Messages = append(w.Messages, m)
	}
	if len(req.Tools) > 0 {
		w.Tools = make([]schema.Tool, len(req.Tools))
		for i, t := range req.Tools {
			fd := &schema.FunctionDefinition{Name: t.Name, Description: t.Description, Parameters: jsontext.Value(t.Parameters)}
			if t.Strict {
				fd.Strict = &t.Strict
			}
			w.Tools[i] = schema.Tool{Type: "function", Function: fd}
		}
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Mode {
		case providers.ToolChoiceAuto, providers.ToolChoiceNone, providers.ToolChoiceRequired:
			w.ToolChoice = &schema.ToolChoice{Mode: string(tc.Mode)}
		case providers.ToolChoiceFunction:
			if tc.Name == "" {
				return nil, p.invalid("tool choice %q needs a function name", tc.Mode)
			}
			w.ToolChoice = schema.FunctionChoice(tc.Name)
		default:
			return nil, p.invalid("unknown tool choice mode %q", tc.Mode)
		}
	}
	if p.legacyMaxTokens {
		w.MaxTokens = req.MaxTokens
	} else {
		w.MaxCompletionTokens = req.MaxTokens
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case providers.FormatText, providers.FormatJSONObject:
			w.ResponseFormat = &schema.ResponseFormat{Type: string(rf.Type)}
		case providers.FormatJSONSchema:
			name := rf.Name
			if name == "" {
				name = "response" // OpenAI requires a name
			}
			js := &schema.JSONSchema{Name: name, Description: rf.Description, Schema: jsontext.Value(rf.Schema)}
			if rf.Strict {
				js.Strict = &rf.Strict
			}
			w.ResponseFormat = &schema.ResponseFormat{Type: string(rf.Type), JSONSchema: js}
		default:
			return nil, p.invalid("unknown response format %q", rf.Type)
		}
	}
	w.ReasoningEffort = reasoningEffort(req.Reasoning)
	if stream && p.streamOptions {
		yes := true
		w.StreamOptions = &schema.StreamOptions{IncludeUsage: &yes}
	}
	if req.TopK != nil && p.compat {
		// vLLM, llama.cpp, Ollama and TGI read top_k as an extension.
		w.Unknown = jsontext.Value(`{"top_k":` + strconv.Itoa(*req.TopK) + `}`)
	}
	body, err := apischema.Marshal(&w)
	if err != nil {
		return nil, p.invalid("encode request: %v", err)
	}
	return body, nil
}

// reasoningEffort maps a reasoning configuration to reasoning_effort: the
// effort as it is, or a thinking budget in tokens to the nearest effort
// (below 2,048 low, below 8,192 medium, else high); "" for none.
func reasoningEffort(rc *providers.ReasoningConfig) string {
	switch {
	case rc == nil:
		return ""
	case rc.Effort != "":
		return rc.Effort
	case rc.BudgetTokens <= 0:
		return "" // the model's default (adaptive thinking)
	case rc.BudgetTokens < 2048:
		return "low"
	case rc.BudgetTokens < 8192:
		return "medium"
	}
	return "high"
}

func (p *Provider) encodeMessage(m *providers.Message) (schema.Message, error) {
	out := schema.Message{Role: string(m.Role)}
	switch m.Role {
	case providers.RoleTool:
		out.ToolCallID = m.ToolCallID
		out.Content = schema.TextContent(m.Text())
		return out, nil
	case providers.RoleSystem, providers.RoleUser, providers.RoleAssistant:
	default:
		return out, p.invalid("unknown message role %q", m.Role)
	}
	out.Name = m.Name
	if len(m.ToolCalls) > 0 {
		out.ToolCalls = make([]schema.ToolCall, len(m.ToolCalls))
		for i, c := range m.ToolCalls {
			args := c.Arguments
			if args == "" {
				args = "{}"
			}
			out.ToolCalls[i] = schema.ToolCall{ID: c.ID, Type: "function", Function: &schema.FunctionCall{Name: c.Name, Arguments: args}}
		}
	}
	content, err := p.encodeContent(m.Content)
	if err != nil {
		return out, err
	}
	switch {
	case !content.IsZero():
		out.Content = content
	case len(m.ToolCalls) > 0:
		out.Content = schema.Content{Null: true}
	default:
		out.Content = schema.TextContent("")
	}
	return out, nil
}

// encodeContent returns string content for a single text part, an array
// of parts otherwise, or nothing. Reasoning parts are not sent back: Chat
// Completions has no place for them.
func (p *Provider) encodeContent(parts []providers.Part) (schema.Content, error) {
	var n, texts int
	for i := range parts {
		switch parts[i].Type {
		case providers.PartText:
			if parts[i].Text != "" {
				n++
				texts++
			}
		case providers.PartImage, providers.PartFile:
			n++
		}
	}
	if n == 0 {
		return schema.Content{}, nil
	}
	if n == 1 && texts == 1 {
		for i := range parts {
			if parts[i].Type == providers.PartText && parts[i].Text != "" {
				return schema.TextContent(parts[i].Text), nil
			}
		}
	}
	out := make([]schema.ContentPart, 0, n)
	for i := range parts {
		switch pt := &parts[i]; pt.Type {
		case providers.PartText:
			if pt.Text != "" {
				out = append(out, schema.ContentPart{Type: schema.PartText, Text: pt.Text})
			}
		case providers.PartImage:
			u, err := p.imageURL(pt.Image)
			if err != nil {
				return schema.Content{}, err
			}
			out = append(out, schema.ContentPart{Type: schema.PartImageURL, ImageURL: u})
		case providers.PartFile:
			cp, err := p.filePart(pt.File)
			if err != nil {
				return schema.Content{}, err
			}
			out = append(out, cp)
		}
	}
	return schema.PartsContent(out...), nil
}

// filePart renders a document: inline data as a file part with a data:
// URL, an OpenAI file id as file_id, a plain-text document as a text part
// (headed by its title).
func (p *Provider) filePart(f *providers.File) (schema.ContentPart, error) {
	if f == nil {
		return schema.ContentPart{}, p.invalid("file part without file")
	}
	switch {
	case f.Text != "":
		text := f.Text
		if f.Title != "" {
			text = f.Title + "\n\n" + text
		}
		return schema.ContentPart{Type: schema.PartText, Text: text}, nil
	case f.Base64 != "":
		mt := f.MIMEType
		if mt == "" {
			mt = "application/pdf"
		}
		return schema.ContentPart{Type: schema.PartFile, File: &schema.File{
			FileData: "data:" + mt + ";base64," + f.Base64, Filename: f.Name()}}, nil
	case f.FileID != "" && f.FileDialect == Dialect:
		return schema.ContentPart{Type: schema.PartFile, File: &schema.File{FileID: f.FileID}}, nil
	}
	return schema.ContentPart{}, p.invalid("%s", fileRefusal(f, providers.RoleUser))
}

func (p *Provider) imageURL(img *providers.Image) (*schema.ImageURL, error) {
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
		return &schema.ImageURL{URL: string(b), Detail: img.Detail}, nil
	case img.URL != "":
		return &schema.ImageURL{URL: img.URL, Detail: img.Detail}, nil
	}
	return nil, p.invalid("image has neither URL nor data")
}

// decodeChat converts a chat.completion body.
func (p *Provider) decodeChat(status int, body []byte) (*providers.ChatResponse, error) {
	var w schema.ChatCompletion
	if !fastCompletion(body, &w) {
		w = schema.ChatCompletion{}
		if err := apischema.UnmarshalLenient(body, &w); err != nil {
			return nil, p.up.BadResponse(status, "chat completion", err)
		}
	}
	if w.Error != nil && len(w.Choices) == 0 {
		return nil, p.streamError(w.Error)
	}
	return completionOf(&w), nil
}

// completionOf converts a decoded chat answer.
func completionOf(w *schema.ChatCompletion) *providers.ChatResponse {
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
	return out
}

func deref(n apischema.Nullable[string]) string {
	if n.V == nil {
		return ""
	}
	return *n.V
}

func convertChoice(out *providers.Choice, c *schema.Choice) {
	m := &c.Message
	out.Index = c.Index
	out.FinishReason = finishReason(c.FinishReason)
	out.Message.Role = providers.RoleAssistant
	reasoning := m.ReasoningContent
	if reasoning == "" {
		reasoning = m.Reasoning
	}
	text := deref(m.Content)
	if text == "" {
		text = deref(m.Refusal) // the canonical model has no refusal; show it as text
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
		out.Message.ToolCalls = make([]providers.ToolCall, 0, len(m.ToolCalls))
		for _, tc := range m.ToolCalls {
			if tc.Function == nil {
				continue // custom tool calls have no canonical form
			}
			out.Message.ToolCalls = append(out.Message.ToolCalls, providers.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
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
	case schema.FinishStop:
		return providers.FinishStop
	case schema.FinishLength:
		return providers.FinishLength
	case schema.FinishToolCalls, schema.FinishFunctionCall:
		return providers.FinishToolCalls
	case schema.FinishContentFilter:
		return providers.FinishContentFilter
	case "error":
		return providers.FinishError
	}
	return providers.FinishStop
}

func convertUsage(u *schema.Usage) providers.Usage {
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
