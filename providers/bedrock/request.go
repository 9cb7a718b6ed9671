package bedrock

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/bedrock"
	"github.com/tollgate-dev/tollgate/providers"
)

// Unsupported lists what of req the Converse API cannot take.
func (p *Provider) Unsupported(req *providers.ChatRequest) []providers.Unsupported {
	out := providers.UnmappedUnsupported(req, Dialect, "Bedrock Converse")
	add := func(field, reason string) {
		out = append(out, providers.Unsupported{Field: field, Reason: reason, Droppable: true})
	}
	if req.Seed != nil {
		add("seed", "Bedrock Converse has no seed")
	}
	if req.PresencePenalty != nil {
		add("presence_penalty", "Bedrock Converse has no presence penalty")
	}
	if req.FrequencyPenalty != nil {
		add("frequency_penalty", "Bedrock Converse has no frequency penalty")
	}
	if req.N != nil && *req.N > 1 {
		add("n", "Bedrock Converse returns one choice per request")
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type != providers.FormatText {
		add("response_format", "Bedrock Converse has no structured output mode")
	}
	if tc := req.ToolChoice; tc != nil && tc.Mode == providers.ToolChoiceNone && len(req.Tools) > 0 {
		add("tool_choice", "Bedrock Converse cannot forbid tool calls while tools are given")
	}
	if req.Reasoning != nil && !isAnthropic(req.Model) {
		add("reasoning_effort", "reasoning is configurable on Bedrock only for Claude models")
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		for j := range m.Content {
			if r := partRefusal(&m.Content[j]); r != "" {
				out = append(out, providers.Unsupported{Field: "messages[" + strconv.Itoa(i) + "].content[" + strconv.Itoa(j) + "]", Reason: r})
			}
		}
	}
	return out
}

// partRefusal says why a content part cannot be sent, "" when it can.
func partRefusal(pt *providers.Part) string {
	switch pt.Type {
	case providers.PartImage:
		if pt.Image == nil || len(pt.Image.Data) == 0 && !strings.HasPrefix(pt.Image.URL, "data:") {
			return "Bedrock takes images as inline bytes only, not by URL"
		}
		if _, ok := imageFormat(pt.Image); !ok {
			return "Bedrock takes png, jpeg, gif and webp images"
		}
	case providers.PartFile:
		f := pt.File
		switch {
		case f == nil:
			return "empty document"
		case f.Text != "":
		case f.Base64 == "":
			return "Bedrock takes documents as inline bytes only, not by URL or file id"
		default:
			if _, ok := documentFormat(f.MIMEType); !ok {
				return "Bedrock takes pdf, csv, doc, docx, xls, xlsx, html, txt and md documents"
			}
		}
	}
	return ""
}

// isAnthropic reports whether model is a Claude model id or inference
// profile ("anthropic.claude-…", "us.anthropic.claude-…", an ARN naming one).
func isAnthropic(model string) bool { return strings.Contains(model, "anthropic.") }

// encode translates a canonical request into a Converse body.
func (p *Provider) encode(req *providers.ChatRequest) ([]byte, error) {
	if req == nil {
		return nil, p.invalid("nil chat request")
	}
	if err := providers.Refusal(p.id, req, p.Unsupported(req)); err != nil {
		return nil, err
	}
	var w schema.ConverseRequest
	for i := range req.Messages {
		if err := p.addMessage(&w, &req.Messages[i]); err != nil {
			return nil, err
		}
	}
	if len(w.Messages) == 0 {
		return nil, p.invalid("the conversation has no user or assistant message")
	}
	if req.MaxTokens != nil || req.Temperature != nil || req.TopP != nil || len(req.Stop) > 0 {
		w.InferenceConfig = &schema.InferenceConfig{MaxTokens: req.MaxTokens, Temperature: req.Temperature,
			TopP: req.TopP, StopSequences: req.Stop}
	}
	if len(req.Tools) > 0 && !(req.ToolChoice != nil && req.ToolChoice.Mode == providers.ToolChoiceNone) {
		tc := &schema.ToolConfig{}
		for _, t := range req.Tools {
			params := jsontext.Value(t.Parameters)
			if len(bytes.TrimSpace(params)) == 0 || apischema.IsNull(params) {
				params = jsontext.Value(`{"type":"object","properties":{}}`)
			}
			tc.Tools = append(tc.Tools, schema.Tool{ToolSpec: &schema.ToolSpec{Name: t.Name, Description: t.Description,
				InputSchema: schema.InputSchema{JSON: params}}})
		}
		if c := req.ToolChoice; c != nil {
			switch c.Mode {
			case providers.ToolChoiceAuto:
				tc.ToolChoice = &schema.ToolChoice{Auto: &struct{}{}}
			case providers.ToolChoiceRequired:
				tc.ToolChoice = &schema.ToolChoice{Any: &struct{}{}}
			case providers.ToolChoiceFunction:
				tc.ToolChoice = &schema.ToolChoice{Tool: &schema.NamedTool{Name: c.Name}}
			}
		}
		w.ToolConfig = tc
	}
	extra := map[string]any{}
	if req.TopK != nil {
		extra["top_k"] = *req.TopK
	}
	if rc := req.Reasoning; rc != nil && isAnthropic(req.Model) {
		budget := rc.BudgetTokens
		if budget == 0 {
			switch rc.Effort {
			case "low":
				budget = 1024
			case "high":
				budget = 16384
			default:
				budget = 4096
			}
		}
		extra["thinking"] = map[string]any{"type": "enabled", "budget_tokens": budget}
	}
	if len(extra) > 0 {
		b, err := json.Marshal(extra)
		if err != nil {
			return nil, p.invalid("encode model fields: %v", err)
		}
		w.AdditionalModelRequestFields = b
	}
	if req.User != "" {
		w.RequestMetadata = map[string]string{"user": req.User}
	}
	body, err := apischema.Marshal(&w)
	if err != nil {
		return nil, p.invalid("encode request: %v", err)
	}
	return body, nil
}

// addMessage appends m: system text to the system blocks, tool results to
// a user turn, and consecutive turns of one role merged (Converse wants
// alternating roles).
func (p *Provider) addMessage(w *schema.ConverseRequest, m *providers.Message) error {
	switch m.Role {
	case providers.RoleSystem:
		for _, pt := range m.Content {
			if pt.Type == providers.PartText {
				w.System = append(w.System, schema.SystemBlock{Text: pt.Text})
			}
			if pt.CacheBreakpoint {
				w.System = append(w.System, schema.SystemBlock{CachePoint: &schema.CachePoint{Type: "default"}})
			}
		}
		return nil
	case providers.RoleTool:
		text := m.Text()
		content := []schema.ToolResultContent{{Text: &text}}
		appendTurn(w, "user", schema.ContentBlock{ToolResult: &schema.ToolResult{ToolUseID: m.ToolCallID, Content: content}})
		return nil
	case providers.RoleUser, providers.RoleAssistant:
	default:
		return p.invalid("unknown role %q", m.Role)
	}
	var blocks []schema.ContentBlock
	for i := range m.Content {
		b, ok, err := p.block(&m.Content[i], m.Role)
		if err != nil {
			return err
		}
		if ok {
			blocks = append(blocks, b)
		}
		if m.Content[i].CacheBreakpoint {
			blocks = append(blocks, schema.ContentBlock{CachePoint: &schema.CachePoint{Type: "default"}})
		}
	}
	for _, tc := range m.ToolCalls {
		args := strings.TrimSpace(tc.Arguments)
		if args == "" {
			args = "{}"
		}
		if !json.Valid([]byte(args)) {
			return p.invalid("tool call %s: arguments are not JSON", tc.ID)
		}
		blocks = append(blocks, schema.ContentBlock{ToolUse: &schema.ToolUse{ToolUseID: tc.ID, Name: tc.Name, Input: jsontext.Value(args)}})
	}
	if len(blocks) == 0 {
		return nil
	}
	appendTurn(w, string(m.Role), blocks...)
	return nil
}

// appendTurn adds blocks to the last message when it has role, else as a
// new message.
func appendTurn(w *schema.ConverseRequest, role string, blocks ...schema.ContentBlock) {
	if n := len(w.Messages); n > 0 && w.Messages[n-1].Role == role {
		w.Messages[n-1].Content = append(w.Messages[n-1].Content, blocks...)
		return
	}
	w.Messages = append(w.Messages, schema.Message{Role: role, Content: blocks})
}

// block converts one part; false for parts Converse does not take back
// (unsigned reasoning).
func (p *Provider) block(pt *providers.Part, role providers.Role) (schema.ContentBlock, bool, error) {
	switch pt.Type {
	case providers.PartText:
		if pt.Text == "" {
			return schema.ContentBlock{}, false, nil
		}
		return schema.TextBlock(pt.Text), true, nil
	case providers.PartImage:
		format, _ := imageFormat(pt.Image)
		data := pt.Image.Data
		if len(data) == 0 {
			_, enc, _ := strings.Cut(pt.Image.URL, ";base64,")
			var err error
			if data, err = base64.StdEncoding.DecodeString(enc); err != nil {
				return schema.ContentBlock{}, false, p.invalid("image data URL: %v", err)
			}
		}
		return schema.ContentBlock{Image: &schema.Image{Format: format, Source: schema.Source{Bytes: data}}}, true, nil
	case providers.PartFile:
		f := pt.File
		if f.Text != "" {
			return schema.ContentBlock{Document: &schema.Document{Format: "txt", Name: docName(f), Source: schema.Source{Bytes: []byte(f.Text)}}}, true, nil
		}
		format, _ := documentFormat(f.MIMEType)
		data, err := base64.StdEncoding.DecodeString(f.Base64)
		if err != nil {
			return schema.ContentBlock{}, false, p.invalid("document %s: %v", f.Name(), err)
		}
		return schema.ContentBlock{Document: &schema.Document{Format: format, Name: docName(f), Source: schema.Source{Bytes: data}}}, true, nil
	case providers.PartReasoning:
		if role != providers.RoleAssistant {
			return schema.ContentBlock{}, false, nil
		}
		switch {
		case pt.RedactedData != "":
			data, err := base64.StdEncoding.DecodeString(pt.RedactedData)
			if err != nil {
				return schema.ContentBlock{}, false, nil
			}
			return schema.ContentBlock{ReasoningContent: &schema.ReasoningContent{RedactedContent: data}}, true, nil
		case pt.Signature != "":
			return schema.ContentBlock{ReasoningContent: &schema.ReasoningContent{
				ReasoningText: &schema.ReasoningText{Text: pt.Text, Signature: pt.Signature}}}, true, nil
		}
		return schema.ContentBlock{}, false, nil
	}
	return schema.ContentBlock{}, false, p.invalid("unsupported content part type %d", pt.Type)
}

// docName returns a document name Bedrock accepts: letters, digits,
// spaces, hyphens, parentheses and brackets, without the extension.
func docName(f *providers.File) string {
	n := f.Name()
	if i := strings.LastIndexByte(n, '.'); i > 0 {
		n = n[:i]
	}
	var b strings.Builder
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == ' ', r == '-', r == '(', r == ')', r == '[', r == ']':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "document"
	}
	return b.String()
}

// imageFormat returns Bedrock's format name of an image.
func imageFormat(img *providers.Image) (string, bool) {
	mt := img.MIMEType
	if mt == "" && strings.HasPrefix(img.URL, "data:") {
		mt, _, _ = strings.Cut(strings.TrimPrefix(img.URL, "data:"), ";")
	}
	switch mt {
	case "image/png":
		return "png", true
	case "image/jpeg", "image/jpg":
		return "jpeg", true
	case "image/gif":
		return "gif", true
	case "image/webp":
		return "webp", true
	}
	return "", false
}

// documentFormat returns Bedrock's format name of a document media type.
func documentFormat(mt string) (string, bool) {
	switch mt {
	case "application/pdf":
		return "pdf", true
	case "text/csv":
		return "csv", true
	case "application/msword":
		return "doc", true
	case "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return "docx", true
	case "application/vnd.ms-excel":
		return "xls", true
	case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		return "xlsx", true
	case "text/html":
		return "html", true
	case "text/plain":
		return "txt", true
	case "text/markdown":
		return "md", true
	}
	return "", false
}
