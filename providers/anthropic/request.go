package anthropic

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tollgate-dev/tollgate/providers"
)

// MinThinkingBudget is the smallest thinking budget Anthropic accepts;
// smaller ReasoningConfig.BudgetTokens are raised to it.
const MinThinkingBudget = 1024

// Thinking budgets for ReasoningConfig.Effort, in tokens.
const (
	thinkingBudgetLow    = 1024
	thinkingBudgetMedium = 4096
	thinkingBudgetHigh   = 16384
)

// defaultInputSchema is sent for tools without parameters: Anthropic
// requires an object schema.
const defaultInputSchema = `{"type":"object"}`

// emptyInput is the input of a tool call without arguments.
const emptyInput = `{}`

// Instructions appended to the system prompt to emulate response formats.
const (
	jsonObjectInstruction = "Respond only with a single valid JSON object. Do not add any text before or after it and do not wrap it in a code block."
	jsonSchemaInstruction = "Respond only with a JSON value that conforms to the following JSON Schema. Do not add any text before or after it and do not wrap it in a code block.\n\nJSON Schema"
)

// encodeChat renders req as a Messages API body.
func (p *Provider) encodeChat(req *providers.ChatRequest, stream bool) ([]byte, error) {
	w, err := p.buildRequest(req)
	if err != nil {
		return nil, err
	}
	w.Stream = stream
	body, err := p.marshal(w, 512+96*len(req.Messages))
	if err != nil {
		return nil, err
	}
	if req.ExtraDialect == Dialect && len(req.Extra) > 0 {
		return p.spliceExtra(body, w, req.Extra)
	}
	return body, nil
}

// encodeCountTokens renders the prompt-shaping part of req as a
// count_tokens body.
func (p *Provider) encodeCountTokens(req *providers.ChatRequest) ([]byte, error) {
	w, err := p.buildRequest(req)
	if err != nil {
		return nil, err
	}
	c := countTokensRequest{Model: w.Model, System: w.System, Messages: w.Messages, Tools: w.Tools,
		ToolChoice: w.ToolChoice, Thinking: w.Thinking, OutputConfig: w.OutputConfig}
	return p.marshal(&c, 256+96*len(req.Messages))
}

// marshal encodes v without HTML escaping and without a trailing newline.
func (p *Provider) marshal(v any, sizeHint int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(sizeHint)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, p.invalidCause(err, "encode request")
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// buildRequest translates the canonical request.
func (p *Provider) buildRequest(req *providers.ChatRequest) (*messagesRequest, error) {
	if req == nil {
		return nil, p.invalid("nil chat request")
	}
	if req.N != nil && *req.N > 1 {
		return nil, p.invalid("n > 1 is not supported by Anthropic")
	}
	w := &messagesRequest{
		Model:         req.Model,
		Temperature:   req.Temperature,
		TopP:          req.TopP,
		TopK:          req.TopK,
		StopSequences: req.Stop,
	}
	if req.User != "" {
		w.Metadata = &metadata{UserID: req.User}
	}
	var err error
	if w.System, w.Messages, err = p.convertMessages(req.Messages); err != nil {
		return nil, err
	}
	if err := p.convertTools(w, req); err != nil {
		return nil, err
	}
	budget, err := p.thinkingBudget(req.Reasoning)
	if err != nil {
		return nil, err
	}
	if budget > 0 {
		w.Thinking = &thinkingConfig{Type: "enabled", BudgetTokens: budget}
	}
	switch {
	case req.MaxTokens == nil:
		// The budget counts against max_tokens and must be below it.
		w.MaxTokens = p.defaultMaxTokens + budget
	case *req.MaxTokens < 1:
		return nil, p.invalid("max tokens must be at least 1")
	default:
		w.MaxTokens = *req.MaxTokens
	}
	if err := p.convertResponseFormat(w, req.ResponseFormat); err != nil {
		return nil, err
	}
	return w, nil
}

// convertMessages splits off the system prompt and converts the
// conversation. Tool messages become user messages of tool_result blocks,
// and consecutive messages of one role are merged because the Messages API
// expects user and assistant turns to alternate. Messages that end up
// without content blocks are dropped.
func (p *Provider) convertMessages(msgs []providers.Message) ([]block, []message, error) {
	var system []block
	out := make([]message, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		var (
			role   string
			blocks []block
			err    error
		)
		switch m.Role {
		case providers.RoleSystem:
			if system, err = p.appendSystem(system, m); err != nil {
				return nil, nil, p.invalidCause(err, "messages[%d]", i)
			}
			continue
		case providers.RoleUser:
			role = "user"
			blocks, err = p.contentBlocks(make([]block, 0, len(m.Content)), m.Content, false)
		case providers.RoleAssistant:
			role = "assistant"
			blocks, err = p.assistantBlocks(m)
		case providers.RoleTool:
			role = "user"
			blocks, err = p.toolResultBlocks(m)
		default:
			return nil, nil, p.invalid("messages[%d]: unknown role %q", i, m.Role)
		}
		if err != nil {
			return nil, nil, p.invalidCause(err, "messages[%d]", i)
		}
		if len(blocks) == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Content = append(out[n-1].Content, blocks...)
			continue
		}
		out = append(out, message{Role: role, Content: blocks})
	}
	return system, out, nil
}

// appendSystem adds the text parts of a system message as system blocks.
func (p *Provider) appendSystem(system []block, m *providers.Message) ([]block, error) {
	for i := range m.Content {
		pt := &m.Content[i]
		switch pt.Type {
		case providers.PartText:
			if pt.Text == "" {
				continue
			}
			b := block{Type: "text", Text: pt.Text}
			if pt.CacheBreakpoint {
				b.CacheControl = ephemeral()
			}
			system = append(system, b)
		case providers.PartImage:
			return nil, errors.New("system messages cannot contain images")
		}
	}
	return system, nil
}

// contentBlocks appends text and image blocks for parts. Empty text parts
// are skipped because the API rejects empty text blocks. Reasoning parts
// are handled by assistantBlocks; elsewhere they are ignored.
func (p *Provider) contentBlocks(dst []block, parts []providers.Part, assistant bool) ([]block, error) {
	for i := range parts {
		pt := &parts[i]
		var b block
		switch pt.Type {
		case providers.PartText:
			if pt.Text == "" {
				continue
			}
			b = block{Type: "text", Text: pt.Text}
		case providers.PartImage:
			if assistant {
				return nil, errors.New("assistant messages cannot contain images")
			}
			var err error
			if b, err = p.imageBlock(pt.Image); err != nil {
				return nil, err
			}
		default:
			continue
		}
		if pt.CacheBreakpoint {
			b.CacheControl = ephemeral()
		}
		dst = append(dst, b)
	}
	return dst, nil
}

// assistantBlocks converts an assistant message: thinking blocks first (as
// the API requires), then text, then tool_use blocks. Reasoning without a
// signature or redacted data (e.g. from another provider) cannot be
// replayed to Anthropic and is dropped.
func (p *Provider) assistantBlocks(m *providers.Message) ([]block, error) {
	blocks := make([]block, 0, len(m.Content)+len(m.ToolCalls))
	for i := range m.Content {
		pt := &m.Content[i]
		if pt.Type != providers.PartReasoning {
			continue
		}
		switch {
		case pt.RedactedData != "":
			blocks = append(blocks, block{Type: "redacted_thinking", Data: pt.RedactedData})
		case pt.Signature != "":
			text := pt.Text
			blocks = append(blocks, block{Type: "thinking", Thinking: &text, Signature: pt.Signature})
		}
	}
	blocks, err := p.contentBlocks(blocks, m.Content, true)
	if err != nil {
		return nil, err
	}
	for i := range m.ToolCalls {
		c := &m.ToolCalls[i]
		if c.ID == "" || c.Name == "" {
			return nil, fmt.Errorf("tool call %d needs an id and a name", i)
		}
		input, err := toolInput(c.Arguments)
		if err != nil {
			return nil, fmt.Errorf("tool call %s: arguments are not a JSON object: %w", c.ID, err)
		}
		blocks = append(blocks, block{Type: "tool_use", ID: c.ID, Name: c.Name, Input: input})
	}
	return blocks, nil
}

// toolInput returns the arguments as a JSON object; empty arguments are {}.
func toolInput(args string) (json.RawMessage, error) {
	s := strings.TrimSpace(args)
	if s == "" {
		return json.RawMessage(emptyInput), nil
	}
	if !json.Valid([]byte(s)) {
		return nil, errors.New("invalid JSON")
	}
	if s[0] != '{' {
		return nil, errors.New("not an object")
	}
	return json.RawMessage(s), nil
}

// toolResultBlocks converts a tool message into one tool_result block. Its
// content is the message text, or an array of text and image blocks when
// the result has images.
func (p *Provider) toolResultBlocks(m *providers.Message) ([]block, error) {
	if m.ToolCallID == "" {
		return nil, errors.New("tool message without tool call id")
	}
	b := block{Type: "tool_result", ToolUseID: m.ToolCallID}
	hasImage := false
	for i := range m.Content {
		if m.Content[i].Type == providers.PartImage {
			hasImage = true
		}
		if m.Content[i].CacheBreakpoint {
			b.CacheControl = ephemeral()
		}
	}
	if hasImage {
		inner, err := p.contentBlocks(make([]block, 0, len(m.Content)), m.Content, false)
		if err != nil {
			return nil, err
		}
		for i := range inner {
			inner[i].CacheControl = nil
		}
		b.Content = inner
	} else if text := m.Text(); text != "" {
		b.Content = text
	}
	return []block{b}, nil
}

// imageBlock converts an image: https URLs are sent as URL sources, data:
// URLs and inline bytes as base64 sources.
func (p *Provider) imageBlock(img *providers.Image) (block, error) {
	var src imageSource
	switch {
	case img == nil:
		return block{}, errors.New("image part without image")
	case len(img.Data) > 0:
		mt := img.MIMEType
		if mt == "" {
			mt = http.DetectContentType(img.Data)
		}
		src = imageSource{Type: "base64", MediaType: mt, Data: base64.StdEncoding.EncodeToString(img.Data)}
	case strings.HasPrefix(img.URL, "data:"):
		var err error
		if src, err = parseDataURL(img.URL, img.MIMEType); err != nil {
			return block{}, fmt.Errorf("image data URL: %w", err)
		}
	case strings.HasPrefix(img.URL, "https://"), strings.HasPrefix(img.URL, "http://"):
		src = imageSource{Type: "url", URL: img.URL}
	case img.URL == "":
		return block{}, errors.New("image has neither URL nor data")
	default:
		return block{}, errors.New("image URL must use http(s) or a data URL")
	}
	return block{Type: "image", Source: &src}, nil
}

// parseDataURL converts "data:<media type>[;base64],<data>" into a base64
// source. Percent-encoded payloads are decoded and re-encoded.
func parseDataURL(s, fallbackType string) (imageSource, error) {
	header, payload, ok := strings.Cut(strings.TrimPrefix(s, "data:"), ",")
	if !ok {
		return imageSource{}, errors.New("missing comma")
	}
	params := strings.Split(header, ";")
	mt := strings.TrimSpace(params[0])
	isBase64 := slices.ContainsFunc(params[1:], func(p string) bool { return strings.EqualFold(strings.TrimSpace(p), "base64") })
	if !isBase64 {
		raw, err := url.PathUnescape(payload)
		if err != nil {
			return imageSource{}, err
		}
		payload = base64.StdEncoding.EncodeToString([]byte(raw))
		if mt == "" && fallbackType == "" {
			mt = http.DetectContentType([]byte(raw))
		}
	}
	if mt == "" {
		mt = fallbackType
	}
	if mt == "" {
		return imageSource{}, errors.New("no media type")
	}
	return imageSource{Type: "base64", MediaType: mt, Data: payload}, nil
}

// convertTools sets tools and tool_choice. tool_choice is only sent with
// tools; "none" and "auto" without tools are dropped, while "required" or a
// named function without tools cannot be honoured and are rejected.
func (p *Provider) convertTools(w *messagesRequest, req *providers.ChatRequest) error {
	if len(req.Tools) > 0 {
		w.Tools = make([]tool, len(req.Tools))
		for i := range req.Tools {
			t := &req.Tools[i]
			if t.Name == "" {
				return p.invalid("tools[%d]: name is required", i)
			}
			schema := json.RawMessage(bytes.TrimSpace(t.Parameters))
			if len(schema) == 0 || string(schema) == "null" {
				schema = json.RawMessage(defaultInputSchema)
			}
			w.Tools[i] = tool{Name: t.Name, Description: t.Description, InputSchema: schema,
				Strict: t.Strict && p.structured == structuredNative}
		}
	}
	tc := req.ToolChoice
	noParallel := req.ParallelToolCalls != nil && !*req.ParallelToolCalls
	if len(req.Tools) == 0 {
		if tc != nil && (tc.Mode == providers.ToolChoiceRequired || tc.Mode == providers.ToolChoiceFunction) {
			return p.invalid("tool choice %q needs tools", tc.Mode)
		}
		return nil
	}
	switch {
	case tc == nil:
		if noParallel {
			w.ToolChoice = &toolChoice{Type: "auto", DisableParallelToolUse: true}
		}
	case tc.Mode == providers.ToolChoiceAuto || tc.Mode == "":
		w.ToolChoice = &toolChoice{Type: "auto", DisableParallelToolUse: noParallel}
	case tc.Mode == providers.ToolChoiceRequired:
		w.ToolChoice = &toolChoice{Type: "any", DisableParallelToolUse: noParallel}
	case tc.Mode == providers.ToolChoiceNone:
		w.ToolChoice = &toolChoice{Type: "none"}
	case tc.Mode == providers.ToolChoiceFunction:
		if tc.Name == "" {
			return p.invalid("tool choice %q needs a function name", tc.Mode)
		}
		w.ToolChoice = &toolChoice{Type: "tool", Name: tc.Name, DisableParallelToolUse: noParallel}
	default:
		return p.invalid("unknown tool choice mode %q", tc.Mode)
	}
	return nil
}

// thinkingBudget returns the thinking budget for rc, 0 for no thinking.
// BudgetTokens wins over Effort and is raised to MinThinkingBudget; Effort
// "none" turns thinking off.
func (p *Provider) thinkingBudget(rc *providers.ReasoningConfig) (int, error) {
	if rc == nil {
		return 0, nil
	}
	if rc.BudgetTokens > 0 {
		return max(rc.BudgetTokens, MinThinkingBudget), nil
	}
	switch strings.ToLower(rc.Effort) {
	case "none":
		return 0, nil
	case "minimal", "low":
		return thinkingBudgetLow, nil
	case "", "medium":
		return thinkingBudgetMedium, nil
	case "high":
		return thinkingBudgetHigh, nil
	}
	return 0, p.invalid("unknown reasoning effort %q", rc.Effort)
}

// convertResponseFormat emulates JSON output with a system instruction, or
// with the structured_outputs setting "native" sends a JSON schema as
// output_config.format.
func (p *Provider) convertResponseFormat(w *messagesRequest, rf *providers.ResponseFormat) error {
	if rf == nil {
		return nil
	}
	switch rf.Type {
	case "", providers.FormatText:
		return nil
	case providers.FormatJSONObject:
		w.System = append(w.System, block{Type: "text", Text: jsonObjectInstruction})
		return nil
	case providers.FormatJSONSchema:
		schema := bytes.TrimSpace(rf.Schema)
		if len(schema) == 0 || !json.Valid(schema) {
			return p.invalid("response format json_schema needs a valid schema")
		}
		if p.structured == structuredNative {
			w.OutputConfig = &outputConfig{Format: &outputFormat{Type: "json_schema", Schema: json.RawMessage(schema)}}
			return nil
		}
		var sb strings.Builder
		sb.Grow(len(jsonSchemaInstruction) + len(rf.Name) + len(rf.Description) + len(schema) + 16)
		sb.WriteString(jsonSchemaInstruction)
		if rf.Name != "" {
			sb.WriteString(" \"" + rf.Name + "\"")
		}
		if rf.Description != "" {
			sb.WriteString(" (" + rf.Description + ")")
		}
		sb.WriteString(":\n")
		sb.Write(schema)
		w.System = append(w.System, block{Type: "text", Text: sb.String()})
		return nil
	}
	return p.invalid("unknown response format %q", rf.Type)
}

// spliceExtra appends passthrough fields to the encoded body. Fields the
// adapter set itself win; model, messages and stream are never overridden.
func (p *Provider) spliceExtra(body []byte, w *messagesRequest, extra map[string]json.RawMessage) ([]byte, error) {
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
			return nil, p.invalidCause(err, "passthrough field name")
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
func (w *messagesRequest) sets(k string) bool {
	switch k {
	case "model", "messages", "stream", "max_tokens":
		return true
	case "system":
		return len(w.System) > 0
	case "tools":
		return len(w.Tools) > 0
	case "tool_choice":
		return w.ToolChoice != nil
	case "thinking":
		return w.Thinking != nil
	case "temperature":
		return w.Temperature != nil
	case "top_p":
		return w.TopP != nil
	case "top_k":
		return w.TopK != nil
	case "stop_sequences":
		return len(w.StopSequences) > 0
	case "metadata":
		return w.Metadata != nil
	case "output_config":
		return w.OutputConfig != nil
	}
	return false
}
