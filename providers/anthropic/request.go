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
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/tidwall/gjson"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
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

// Structured output through a forced tool call (see responseTool).
const (
	// structuredToolName names the tool when the response format has no
	// usable name of its own.
	structuredToolName = "json_response"
	// structuredWrapKey holds a value whose schema is not an object: tool
	// inputs must be objects.
	structuredWrapKey = "value"
	// structuredInstruction asks for the tool when thinking forbids
	// forcing it.
	structuredInstruction = "Give your final answer by calling the %s tool, whose input is the answer's JSON."
)

// chatBody returns the body to send: the client's own for a request of
// this dialect (see passthrough.go), else the translation of the
// canonical request.
func (p *Provider) chatBody(req *providers.ChatRequest, stream bool) ([]byte, error) {
	if req == nil {
		return nil, p.invalid("nil chat request")
	}
	if req.Source.Passthrough(Dialect) {
		return p.patch(req)
	}
	if err := providers.Refusal(p.id, req, p.Unsupported(req)); err != nil {
		return nil, err
	}
	w, err := p.buildRequest(req)
	if err != nil {
		return nil, err
	}
	if stream {
		w.Stream = &stream
	}
	return p.marshal(w)
}

// Unsupported lists what of req the Messages API cannot take. A request
// passed through is sent as it is and has nothing unsupported.
func (p *Provider) Unsupported(req *providers.ChatRequest) []providers.Unsupported {
	if req.Source.Passthrough(Dialect) {
		return nil
	}
	out := providers.UnmappedUnsupported(req, Dialect, "Anthropic Messages")
	for i := range out {
		switch out[i].Field {
		case "logprobs", "top_logprobs":
			out[i].Reason = "Anthropic returns no log probabilities"
		case "logit_bias":
			out[i].Reason = "Anthropic has no logit bias"
		}
	}
	add := func(field, reason string) {
		out = append(out, providers.Unsupported{Field: field, Reason: reason, Droppable: true})
	}
	if req.Seed != nil {
		add("seed", "Anthropic has no seed for deterministic sampling")
	}
	if req.PresencePenalty != nil {
		add("presence_penalty", "Anthropic has no presence penalty")
	}
	if req.FrequencyPenalty != nil {
		add("frequency_penalty", "Anthropic has no frequency penalty")
	}
	if req.N != nil && *req.N > 1 {
		add("n", "Anthropic returns one choice per request")
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		for j := range m.Content {
			pt := &m.Content[j]
			if pt.Type != providers.PartFile {
				continue
			}
			if r := p.documentRefusal(pt.File, m.Role); r != "" {
				out = append(out, providers.Unsupported{Field: "messages[" + strconv.Itoa(i) + "].content[" + strconv.Itoa(j) + "]", Reason: r})
			}
		}
	}
	return out
}

// documentRefusal says why a document cannot be sent, "" when it can.
func (p *Provider) documentRefusal(f *providers.File, role providers.Role) string {
	switch {
	case f == nil:
		return "the file part has no file"
	case role != providers.RoleUser && role != providers.RoleTool:
		return "Anthropic takes documents in user messages and tool results only"
	case f.Text != "":
		return ""
	case f.FileID != "":
		if f.FileDialect != Dialect {
			return "the file id belongs to another provider's Files API"
		}
		return ""
	case f.MIMEType != "" && f.MIMEType != "application/pdf":
		return fmt.Sprintf("Anthropic reads PDF and plain-text documents, not %s", f.MIMEType)
	}
	return ""
}

// encodeCountTokens renders the prompt-shaping part of req as a
// count_tokens body.
func (p *Provider) encodeCountTokens(req *providers.ChatRequest) ([]byte, error) {
	if err := providers.Refusal(p.id, req, p.Unsupported(req)); err != nil {
		return nil, err
	}
	w, err := p.buildRequest(req)
	if err != nil {
		return nil, err
	}
	c := schema.MessagesRequest{Model: w.Model, System: w.System, Messages: w.Messages, Tools: w.Tools,
		ToolChoice: w.ToolChoice, Thinking: w.Thinking, OutputConfig: w.OutputConfig}
	return p.marshal(&c)
}

// marshal encodes v.
func (p *Provider) marshal(v any) ([]byte, error) {
	b, err := apischema.Marshal(v)
	if err != nil {
		return nil, p.invalidCause(err, "encode request")
	}
	return b, nil
}

// buildRequest translates the canonical request.
func (p *Provider) buildRequest(req *providers.ChatRequest) (*schema.MessagesRequest, error) {
	w := &schema.MessagesRequest{
		Model:         req.Model,
		Temperature:   req.Temperature,
		TopP:          req.TopP,
		TopK:          req.TopK,
		StopSequences: req.Stop,
	}
	if req.User != "" {
		w.Metadata = &schema.Metadata{UserID: req.User}
	}
	system, msgs, err := p.convertMessages(req.Messages)
	if err != nil {
		return nil, err
	}
	w.Messages = msgs
	if err := p.convertTools(w, req); err != nil {
		return nil, err
	}
	budget, err := p.thinkingBudget(req.Reasoning)
	if err != nil {
		return nil, err
	}
	if budget > 0 {
		w.Thinking = &schema.Thinking{Type: schema.ThinkingEnabled, BudgetTokens: &budget}
	}
	maxTokens := 0
	switch {
	case req.MaxTokens == nil:
		// The budget counts against max_tokens and must be below it.
		maxTokens = p.defaultMaxTokens + budget
	case *req.MaxTokens < 1:
		return nil, p.invalid("max tokens must be at least 1")
	default:
		maxTokens = *req.MaxTokens
	}
	w.MaxTokens = &maxTokens
	if system, err = p.convertResponseFormat(w, req, system); err != nil {
		return nil, err
	}
	if len(system) > 0 {
		sys := schema.ListBlocks(system...)
		w.System = &sys
	}
	return w, nil
}

// convertMessages splits off the system prompt and converts the
// conversation. Tool messages become user messages of tool_result blocks,
// and consecutive messages of one role are merged because the Messages API
// expects user and assistant turns to alternate. Messages that end up
// without content blocks are dropped.
func (p *Provider) convertMessages(msgs []providers.Message) ([]schema.ContentBlock, []schema.MessageParam, error) {
	var system []schema.ContentBlock
	out := make([]schema.MessageParam, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		var (
			role   string
			blocks []schema.ContentBlock
			err    error
		)
		switch m.Role {
		case providers.RoleSystem:
			if system, err = p.appendSystem(system, m); err != nil {
				return nil, nil, p.invalidCause(err, "messages[%d]", i)
			}
			continue
		case providers.RoleUser:
			role = schema.RoleUser
			blocks, err = p.contentBlocks(make([]schema.ContentBlock, 0, len(m.Content)), m.Content, false)
		case providers.RoleAssistant:
			role = schema.RoleAssistant
			blocks, err = p.assistantBlocks(m)
		case providers.RoleTool:
			role = schema.RoleUser
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
			out[n-1].Content.List = append(out[n-1].Content.List, blocks...)
			continue
		}
		out = append(out, schema.MessageParam{Role: role, Content: schema.ListBlocks(blocks...)})
	}
	return system, out, nil
}

// appendSystem adds the text parts of a system message as system blocks.
func (p *Provider) appendSystem(system []schema.ContentBlock, m *providers.Message) ([]schema.ContentBlock, error) {
	for i := range m.Content {
		pt := &m.Content[i]
		switch pt.Type {
		case providers.PartText:
			if pt.Text == "" {
				continue
			}
			b := schema.TextBlock(pt.Text)
			if pt.CacheBreakpoint {
				b.CacheControl = schema.Ephemeral()
			}
			system = append(system, b)
		case providers.PartImage, providers.PartFile:
			return nil, errors.New("system messages cannot contain images or documents")
		}
	}
	return system, nil
}

// contentBlocks appends text, image and document blocks for parts. Empty
// text parts are skipped because the API rejects empty text blocks.
// Reasoning parts are handled by assistantBlocks; elsewhere they are
// ignored.
func (p *Provider) contentBlocks(dst []schema.ContentBlock, parts []providers.Part, assistant bool) ([]schema.ContentBlock, error) {
	for i := range parts {
		pt := &parts[i]
		var b schema.ContentBlock
		switch pt.Type {
		case providers.PartText:
			if pt.Text == "" {
				continue
			}
			b = schema.TextBlock(pt.Text)
		case providers.PartImage:
			if assistant {
				return nil, errors.New("assistant messages cannot contain images")
			}
			var err error
			if b, err = p.imageBlock(pt.Image); err != nil {
				return nil, err
			}
		case providers.PartFile:
			if assistant {
				return nil, errors.New("assistant messages cannot contain documents")
			}
			var err error
			if b, err = p.documentBlock(pt.File); err != nil {
				return nil, err
			}
		default:
			continue
		}
		if pt.CacheBreakpoint {
			b.CacheControl = schema.Ephemeral()
		}
		dst = append(dst, b)
	}
	return dst, nil
}

// documentBlock converts a document: inline base64 (a PDF), a URL, an
// Anthropic file id, or plain text.
func (p *Provider) documentBlock(f *providers.File) (schema.ContentBlock, error) {
	if r := p.documentRefusal(f, providers.RoleUser); r != "" {
		return schema.ContentBlock{}, errors.New(r)
	}
	b := schema.ContentBlock{Type: schema.BlockDocument, Title: f.Title, Context: f.Context}
	if b.Title == "" {
		b.Title = f.Filename
	}
	if f.Citations {
		b.Citations = jsontext.Value(`{"enabled":true}`)
	}
	switch {
	case f.Text != "":
		b.Source = &schema.Source{Type: schema.SourceText, MediaType: "text/plain", Data: f.Text}
	case f.Base64 != "":
		b.Source = &schema.Source{Type: schema.SourceBase64, MediaType: "application/pdf", Data: f.Base64}
	case f.URL != "":
		b.Source = &schema.Source{Type: schema.SourceURL, URL: f.URL}
	case f.FileID != "":
		b.Source = &schema.Source{Type: schema.SourceFile, FileID: f.FileID}
	default:
		return schema.ContentBlock{}, errors.New("document has no content")
	}
	return b, nil
}

// assistantBlocks converts an assistant message: thinking blocks first (as
// the API requires), then text, then tool_use blocks. Reasoning without a
// signature or redacted data (e.g. from another provider) cannot be
// replayed to Anthropic and is dropped.
func (p *Provider) assistantBlocks(m *providers.Message) ([]schema.ContentBlock, error) {
	blocks := make([]schema.ContentBlock, 0, len(m.Content)+len(m.ToolCalls))
	for i := range m.Content {
		pt := &m.Content[i]
		if pt.Type != providers.PartReasoning {
			continue
		}
		switch {
		case pt.RedactedData != "":
			blocks = append(blocks, schema.ContentBlock{Type: schema.BlockRedactedThinking, Data: pt.RedactedData})
		case pt.Signature != "":
			blocks = append(blocks, schema.ContentBlock{Type: schema.BlockThinking, Thinking: pt.Text, Signature: pt.Signature})
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
		blocks = append(blocks, schema.ContentBlock{Type: schema.BlockToolUse, ID: c.ID, Name: c.Name, Input: input})
	}
	return blocks, nil
}

// toolInput returns the arguments as a JSON object; empty arguments are {}.
func toolInput(args string) (jsontext.Value, error) {
	s := strings.TrimSpace(args)
	if s == "" {
		return jsontext.Value(emptyInput), nil
	}
	if !json.Valid([]byte(s)) {
		return nil, errors.New("invalid JSON")
	}
	if s[0] != '{' {
		return nil, errors.New("not an object")
	}
	return jsontext.Value(s), nil
}

// toolResultBlocks converts a tool message into one tool_result block. Its
// content is the message text, or an array of text, image and document
// blocks when the result has more than text.
func (p *Provider) toolResultBlocks(m *providers.Message) ([]schema.ContentBlock, error) {
	if m.ToolCallID == "" {
		return nil, errors.New("tool message without tool call id")
	}
	b := schema.ContentBlock{Type: schema.BlockToolResult, ToolUseID: m.ToolCallID}
	rich := false
	for i := range m.Content {
		if t := m.Content[i].Type; t == providers.PartImage || t == providers.PartFile {
			rich = true
		}
		if m.Content[i].CacheBreakpoint {
			b.CacheControl = schema.Ephemeral()
		}
	}
	if rich {
		inner, err := p.contentBlocks(make([]schema.ContentBlock, 0, len(m.Content)), m.Content, false)
		if err != nil {
			return nil, err
		}
		for i := range inner {
			inner[i].CacheControl = nil
		}
		c := schema.ListBlocks(inner...)
		b.Content = &c
	} else if text := m.Text(); text != "" {
		c := schema.TextBlocks(text)
		b.Content = &c
	}
	return []schema.ContentBlock{b}, nil
}

// imageBlock converts an image: https URLs are sent as URL sources, data:
// URLs and inline bytes as base64 sources.
func (p *Provider) imageBlock(img *providers.Image) (schema.ContentBlock, error) {
	var src schema.Source
	switch {
	case img == nil:
		return schema.ContentBlock{}, errors.New("image part without image")
	case len(img.Data) > 0:
		mt := img.MIMEType
		if mt == "" {
			mt = http.DetectContentType(img.Data)
		}
		src = schema.Source{Type: schema.SourceBase64, MediaType: mt, Data: base64.StdEncoding.EncodeToString(img.Data)}
	case strings.HasPrefix(img.URL, "data:"):
		var err error
		if src, err = parseDataURL(img.URL, img.MIMEType); err != nil {
			return schema.ContentBlock{}, fmt.Errorf("image data URL: %w", err)
		}
	case strings.HasPrefix(img.URL, "https://"), strings.HasPrefix(img.URL, "http://"):
		src = schema.Source{Type: schema.SourceURL, URL: img.URL}
	case img.URL == "":
		return schema.ContentBlock{}, errors.New("image has neither URL nor data")
	default:
		return schema.ContentBlock{}, errors.New("image URL must use http(s) or a data URL")
	}
	return schema.ContentBlock{Type: schema.BlockImage, Source: &src}, nil
}

// parseDataURL converts "data:<media type>[;base64],<data>" into a base64
// source. Percent-encoded payloads are decoded and re-encoded.
func parseDataURL(s, fallbackType string) (schema.Source, error) {
	header, payload, ok := strings.Cut(strings.TrimPrefix(s, "data:"), ",")
	if !ok {
		return schema.Source{}, errors.New("missing comma")
	}
	params := strings.Split(header, ";")
	mt := strings.TrimSpace(params[0])
	isBase64 := slices.ContainsFunc(params[1:], func(p string) bool { return strings.EqualFold(strings.TrimSpace(p), "base64") })
	if !isBase64 {
		raw, err := url.PathUnescape(payload)
		if err != nil {
			return schema.Source{}, err
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
		return schema.Source{}, errors.New("no media type")
	}
	return schema.Source{Type: schema.SourceBase64, MediaType: mt, Data: payload}, nil
}

// convertTools sets tools and tool_choice. tool_choice is only sent with
// tools; "none" and "auto" without tools are dropped, while "required" or a
// named function without tools cannot be honoured and are rejected.
func (p *Provider) convertTools(w *schema.MessagesRequest, req *providers.ChatRequest) error {
	if len(req.Tools) > 0 {
		w.Tools = make([]schema.Tool, len(req.Tools))
		for i := range req.Tools {
			t := &req.Tools[i]
			if t.Name == "" {
				return p.invalid("tools[%d]: name is required", i)
			}
			schemaJSON := jsontext.Value(bytes.TrimSpace(t.Parameters))
			if apischema.IsNull(schemaJSON) {
				schemaJSON = jsontext.Value(defaultInputSchema)
			}
			w.Tools[i] = schema.Tool{Name: t.Name, Description: t.Description, InputSchema: schemaJSON}
			if t.Strict && p.structured == structuredNative {
				strict := true
				w.Tools[i].Strict = &strict
			}
		}
	}
	tc := req.ToolChoice
	noParallel := req.ParallelToolCalls != nil && !*req.ParallelToolCalls
	var disable *bool
	if noParallel {
		disable = &noParallel
	}
	if len(req.Tools) == 0 {
		if tc != nil && (tc.Mode == providers.ToolChoiceRequired || tc.Mode == providers.ToolChoiceFunction) {
			return p.invalid("tool choice %q needs tools", tc.Mode)
		}
		return nil
	}
	switch {
	case tc == nil:
		if noParallel {
			w.ToolChoice = &schema.ToolChoice{Type: schema.ChoiceAuto, DisableParallelToolUse: disable}
		}
	case tc.Mode == providers.ToolChoiceAuto || tc.Mode == "":
		w.ToolChoice = &schema.ToolChoice{Type: schema.ChoiceAuto, DisableParallelToolUse: disable}
	case tc.Mode == providers.ToolChoiceRequired:
		w.ToolChoice = &schema.ToolChoice{Type: schema.ChoiceAny, DisableParallelToolUse: disable}
	case tc.Mode == providers.ToolChoiceNone:
		w.ToolChoice = &schema.ToolChoice{Type: schema.ChoiceNone}
	case tc.Mode == providers.ToolChoiceFunction:
		if tc.Name == "" {
			return p.invalid("tool choice %q needs a function name", tc.Mode)
		}
		w.ToolChoice = &schema.ToolChoice{Type: schema.ChoiceTool, Name: tc.Name, DisableParallelToolUse: disable}
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
	case "high", "xhigh":
		return thinkingBudgetHigh, nil
	}
	return 0, p.invalid("unknown reasoning effort %q", rc.Effort)
}

// responseTool is how a JSON response format travels to Anthropic: as a
// tool whose input is the answer, which the model is made to call. Name
// is the tool's; Wrapped says the schema is not an object, so the answer
// is the input's "value".
type responseTool struct {
	Name    string
	Wrapped bool
}

// responseToolOf returns the structured-output tool of req, nil when the
// answer is free text or the structured_outputs setting is "native".
func (p *Provider) responseToolOf(req *providers.ChatRequest) *responseTool {
	rf := req.ResponseFormat
	if rf == nil || p.structured == structuredNative || req.Source.Passthrough(Dialect) ||
		(rf.Type != providers.FormatJSONObject && rf.Type != providers.FormatJSONSchema) {
		return nil
	}
	name := rf.Name
	if !providers.ValidToolName(name) || slices.ContainsFunc(req.Tools, func(t providers.Tool) bool { return t.Name == name }) {
		name = structuredToolName
	}
	rt := &responseTool{Name: name}
	if rf.Type == providers.FormatJSONSchema {
		rt.Wrapped = gjson.GetBytes(rf.Schema, "type").String() != "object"
	}
	return rt
}

// convertResponseFormat makes the model answer in JSON. By default
// (structured_outputs "prompt") a JSON response format becomes a tool
// whose input schema is the format's schema ({"type":"object"} for
// json_object), and the model is forced to call it: Anthropic then
// enforces the schema, and the call's input is returned as the message's
// text (see responseTool). Other tools stay callable (tool_choice "any"
// over them all) unless the caller forced one. With thinking, which
// forbids forcing a tool, the tool is offered and asked for in the system
// prompt. With structured_outputs "native" the schema is sent as
// output_config.format.
func (p *Provider) convertResponseFormat(w *schema.MessagesRequest, req *providers.ChatRequest, system []schema.ContentBlock) ([]schema.ContentBlock, error) {
	rf := req.ResponseFormat
	if rf == nil {
		return system, nil
	}
	switch rf.Type {
	case "", providers.FormatText:
		return system, nil
	case providers.FormatJSONObject, providers.FormatJSONSchema:
	default:
		return nil, p.invalid("unknown response format %q", rf.Type)
	}
	var sch jsontext.Value
	if rf.Type == providers.FormatJSONSchema {
		sch = jsontext.Value(bytes.TrimSpace(rf.Schema))
		if len(sch) == 0 || !json.Valid(sch) {
			return nil, p.invalid("response format json_schema needs a valid schema")
		}
	}
	if p.structured == structuredNative {
		if sch == nil {
			sch = jsontext.Value(defaultInputSchema)
		}
		w.OutputConfig = &schema.OutputConfig{Format: &schema.OutputFormat{Type: "json_schema", Schema: sch}}
		return system, nil
	}
	rt := p.responseToolOf(req)
	input := jsontext.Value(defaultInputSchema)
	if sch != nil {
		input = sch
		if rt.Wrapped {
			input = jsontext.Value(`{"type":"object","properties":{"` + structuredWrapKey + `":` + string(sch) + `},"required":["` + structuredWrapKey + `"]}`)
		}
	}
	desc := rf.Description
	if desc == "" {
		desc = "Respond with the answer as this tool's input."
	}
	w.Tools = append(w.Tools, schema.Tool{Name: rt.Name, Description: desc, InputSchema: input})
	tc := w.ToolChoice
	switch {
	case w.Thinking != nil:
		if tc != nil && tc.Type == schema.ChoiceNone {
			w.ToolChoice = nil // "none" would hide the answer's tool too
		}
		system = append(system, schema.TextBlock(fmt.Sprintf(structuredInstruction, rt.Name)))
	case tc != nil && tc.Type == schema.ChoiceTool:
		// the caller forced another tool: this turn is that call
	case len(req.Tools) > 0 && (tc == nil || tc.Type != schema.ChoiceNone):
		w.ToolChoice = &schema.ToolChoice{Type: schema.ChoiceAny}
		if tc != nil {
			w.ToolChoice.DisableParallelToolUse = tc.DisableParallelToolUse
		}
	default:
		w.ToolChoice = &schema.ToolChoice{Type: schema.ChoiceTool, Name: rt.Name}
	}
	return system, nil
}
