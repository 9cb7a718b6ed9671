package anthropicapi

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// dialect is the dialect of this surface's requests (providers.Source):
// Anthropic upstreams receive them as they were sent.
const dialect = providers.DialectAnthropic

// errorPrefix marks the text of a tool_result with is_error set, as the
// canonical model has no error flag for tool messages.
const errorPrefix = "error: "

func invalid(param, format string, args ...any) error {
	return &gateway.InvalidRequestError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// roleMember is the member every message has (apischema.Presized).
var roleMember = []byte(`"role"`)

// fullMessages decodes body with the full decoder: what fastMessages does
// not read, and every error.
func fullMessages(body []byte) (*schema.MessagesRequest, error) {
	in := &schema.MessagesRequest{Messages: apischema.Presized[schema.MessageParam](body, roleMember)}
	return in, apischema.Unmarshal(body, in)
}

// decodeBody decodes a Messages (or count_tokens) body and translates it.
// The body and the allow-listed headers of h become the request's Source.
func decodeBody(body []byte, h http.Header, needMaxTokens bool) (*schema.MessagesRequest, *providers.ChatRequest, error) {
	in := new(schema.MessagesRequest)
	if !fastMessages(body, in) {
		var err error
		if in, err = fullMessages(body); err != nil {
			d := apischema.Describe(err)
			return nil, nil, &gateway.InvalidRequestError{Param: d.Field, Message: d.Message}
		}
	}
	req, err := toCanonical(in, needMaxTokens, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Source = &providers.Source{Dialect: dialect, Body: body, Header: apischema.PassHeaders(h, schema.RequestHeaders),
		Wire: &wire{in: in, needMaxTokens: needMaxTokens}}
	return in, req, nil
}

// translator builds the canonical request, and with texts set records
// where each canonical text part came from (for Rewrite).
type translator struct {
	out   *providers.ChatRequest
	texts *[]providers.TextSlot
	// pending are the text locations of the message being built.
	pending []providers.TextSlot
	// textContents are the contents of messages that are a string.
	textContents providers.TextContents
}

func (t *translator) text(part int, s *string) {
	if t.texts != nil {
		t.pending = append(t.pending, providers.TextSlot{Msg: -1, Part: part, Text: s})
	}
}

// flush assigns the pending text locations to the message at msg.
func (t *translator) flush(msg int) {
	if t.texts == nil {
		return
	}
	for _, p := range t.pending {
		p.Msg = msg
		*t.texts = append(*t.texts, p)
	}
	t.pending = t.pending[:0]
}

// appendMessage adds m, with the pending text locations.
func (t *translator) appendMessage(m providers.Message) {
	t.flush(len(t.out.Messages))
	t.out.Messages = append(t.out.Messages, m)
}

// toCanonical translates a decoded Messages request. needMaxTokens is false
// for count_tokens, where max_tokens is not part of the request.
func toCanonical(in *schema.MessagesRequest, needMaxTokens bool, texts *[]providers.TextSlot) (*providers.ChatRequest, error) {
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
	if err := setThinking(out, in.Thinking, in.OutputConfig); err != nil {
		return nil, err
	}
	if oc := in.OutputConfig; oc != nil && oc.Format != nil {
		if oc.Format.Type != "json_schema" || apischema.IsNull(oc.Format.Schema) {
			return nil, invalid("output_config.format", `must be {"type":"json_schema","schema":{...}}`)
		}
		out.ResponseFormat = &providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "response", Schema: []byte(oc.Format.Schema)}
	}
	t := &translator{out: out, texts: texts}
	n := 0
	for i := range in.Messages {
		if in.Messages[i].Content.Text != nil {
			n++
		}
	}
	t.textContents = make(providers.TextContents, n)
	out.Messages = make([]providers.Message, 0, len(in.Messages)+1)
	if err := t.appendSystem(in.System); err != nil {
		return nil, err
	}
	for i := range in.Messages {
		if err := t.message(&in.Messages[i], i); err != nil {
			return nil, err
		}
	}
	if err := setTools(out, in.Tools, in.ToolChoice); err != nil {
		return nil, err
	}
	return out, nil
}

// setThinking maps thinking, and output_config.effort when thinking does
// not say, to the canonical reasoning configuration.
func setThinking(out *providers.ChatRequest, t *schema.Thinking, oc *schema.OutputConfig) error {
	effort := ""
	if oc != nil {
		effort = oc.Effort
		if effort == "max" {
			effort = "xhigh" // the highest effort other dialects know
		}
	}
	if t == nil {
		if effort != "" {
			out.Reasoning = &providers.ReasoningConfig{Effort: effort}
		}
		return nil
	}
	switch t.Type {
	case schema.ThinkingEnabled:
		if t.BudgetTokens == nil || *t.BudgetTokens < 1 {
			return invalid("thinking.budget_tokens", "Field required: must be at least 1")
		}
		out.Reasoning = &providers.ReasoningConfig{BudgetTokens: *t.BudgetTokens}
	case schema.ThinkingAdaptive:
		out.Reasoning = &providers.ReasoningConfig{Effort: effort}
	case schema.ThinkingDisabled:
	default:
		return invalid("thinking.type", "must be one of \"enabled\", \"adaptive\" or \"disabled\", got %q", t.Type)
	}
	return nil
}

func (t *translator) appendSystem(sys *schema.Blocks) error {
	switch {
	case sys == nil || sys.IsZero():
		return nil
	case sys.Text != nil:
		t.text(0, sys.Text)
		t.appendMessage(providers.Message{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart(*sys.Text)}})
		return nil
	case len(sys.Raw) > 0:
		return invalid("system", "must be a string or an array of text blocks")
	}
	parts := make([]providers.Part, 0, len(sys.List))
	for i := range sys.List {
		b := &sys.List[i]
		if b.Type != schema.BlockText {
			return invalid("system["+strconv.Itoa(i)+"].type", "system blocks must be text blocks, got %q", b.Type)
		}
		t.text(len(parts), &b.Text)
		parts = append(parts, providers.Part{Type: providers.PartText, Text: b.Text, CacheBreakpoint: b.CacheControl != nil})
	}
	if len(parts) > 0 {
		t.appendMessage(providers.Message{Role: providers.RoleSystem, Content: parts})
	}
	return nil
}

func (t *translator) message(m *schema.MessageParam, i int) error {
	// The paths of errors are built only for an error, or for a block
	// other than text.
	p := func() string { return "messages[" + strconv.Itoa(i) + "]" }
	var role providers.Role
	switch m.Role {
	case schema.RoleUser:
		role = providers.RoleUser
	case schema.RoleAssistant:
		role = providers.RoleAssistant
	case "":
		return invalid(p()+".role", "Field required")
	default:
		return invalid(p()+".role", "must be \"user\" or \"assistant\", got %q", m.Role)
	}
	switch {
	case m.Content.IsZero() || len(m.Content.Raw) > 0:
		return invalid(p()+".content", "Field required")
	case m.Content.Text != nil:
		t.text(0, m.Content.Text)
		t.appendMessage(providers.Message{Role: role, Content: t.textContents.Next(*m.Content.Text)})
		return nil
	}
	blocks := m.Content.List
	msg := providers.Message{Role: role, Content: make([]providers.Part, 0, len(blocks))}
	for j := range blocks {
		b := &blocks[j]
		q := func() string { return p() + ".content[" + strconv.Itoa(j) + "]" }
		switch b.Type {
		case schema.BlockText:
			t.text(len(msg.Content), &b.Text)
			msg.Content = append(msg.Content, providers.Part{Type: providers.PartText, Text: b.Text, CacheBreakpoint: b.CacheControl != nil})
		case schema.BlockImage:
			img, err := decodeImage(b.Source, q()+".source")
			if err != nil {
				return err
			}
			if img != nil {
				msg.Content = append(msg.Content, providers.Part{Type: providers.PartImage, Image: img, CacheBreakpoint: b.CacheControl != nil})
			}
		case schema.BlockDocument:
			if role != providers.RoleUser {
				return invalid(q(), "document blocks are only allowed in user messages")
			}
			f, err := decodeDocument(b, q())
			if err != nil {
				return err
			}
			if f != nil {
				msg.Content = append(msg.Content, providers.Part{Type: providers.PartFile, File: f, CacheBreakpoint: b.CacheControl != nil})
			}
		case schema.BlockThinking:
			msg.Content = append(msg.Content, providers.Part{Type: providers.PartReasoning, Text: b.Thinking, Signature: b.Signature})
		case schema.BlockRedactedThinking:
			msg.Content = append(msg.Content, providers.Part{Type: providers.PartReasoning, RedactedData: b.Data})
		case schema.BlockToolUse:
			if role != providers.RoleAssistant {
				return invalid(q(), "tool_use blocks are only allowed in assistant messages")
			}
			msg.ToolCalls = append(msg.ToolCalls, providers.ToolCall{ID: b.ID, Name: b.Name, Arguments: compactInput(b.Input)})
		case schema.BlockToolResult:
			if role != providers.RoleUser {
				return invalid(q(), "tool_result blocks are only allowed in user messages")
			}
			if err := t.toolResult(b, q()); err != nil {
				return err
			}
		case "":
			return invalid(q()+".type", "Field required")
		default:
			// search results, server tools and their results: no canonical
			// form (listed by unmapped), passed through to Anthropic.
		}
	}
	if len(msg.Content) > 0 || len(msg.ToolCalls) > 0 {
		t.appendMessage(msg)
	} else if role == providers.RoleUser && len(blocks) == 0 {
		return invalid(p()+".content", "must not be empty")
	}
	return nil
}

// toolResult adds a tool_result block as a canonical tool message. Its
// pending text locations must not mix with those of the user message
// around it, which is added after it.
func (t *translator) toolResult(b *schema.ContentBlock, q string) error {
	if b.ToolUseID == "" {
		return invalid(q+".tool_use_id", "Field required")
	}
	saved := t.pending
	t.pending = nil
	defer func() { t.pending = saved }()
	m := providers.Message{Role: providers.RoleTool, ToolCallID: b.ToolUseID}
	c := b.Content
	switch {
	case c == nil || c.IsZero():
	case c.Text != nil:
		t.text(0, c.Text)
		m.Content = []providers.Part{providers.TextPart(*c.Text)}
	case len(c.Raw) > 0:
		return invalid(q+".content", "must be a string or an array of content blocks")
	default:
		m.Content = make([]providers.Part, 0, len(c.List))
		for k := range c.List {
			in := &c.List[k]
			r := q + ".content[" + strconv.Itoa(k) + "]"
			switch in.Type {
			case schema.BlockText:
				t.text(len(m.Content), &in.Text)
				m.Content = append(m.Content, providers.TextPart(in.Text))
			case schema.BlockImage:
				img, err := decodeImage(in.Source, r+".source")
				if err != nil {
					return err
				}
				if img != nil {
					m.Content = append(m.Content, providers.Part{Type: providers.PartImage, Image: img})
				}
			case schema.BlockDocument:
				f, err := decodeDocument(in, r)
				if err != nil {
					return err
				}
				if f != nil {
					m.Content = append(m.Content, providers.Part{Type: providers.PartFile, File: f})
				}
			default:
				// search results: listed by unmapped
			}
		}
	}
	if len(m.Content) == 0 {
		m.Content = []providers.Part{providers.TextPart("")}
		t.text(0, new(string)) // nothing in the body to rewrite
	}
	if b.IsError != nil && *b.IsError {
		m.Content[0].Text = errorPrefix + m.Content[0].Text
		for i := range t.pending {
			if t.pending[i].Part == 0 {
				t.pending[i].Strip = errorPrefix
			}
		}
	}
	if b.CacheControl != nil {
		m.Content[len(m.Content)-1].CacheBreakpoint = true
	}
	t.appendMessage(m)
	return nil
}

// decodeImage reads an image source; nil for a source without a canonical
// form (a Files API file id, listed by unmapped).
func decodeImage(src *schema.Source, q string) (*providers.Image, error) {
	if src == nil {
		return nil, invalid(q, "Field required")
	}
	switch src.Type {
	case schema.SourceBase64:
		if src.MediaType == "" {
			return nil, invalid(q+".media_type", "Field required")
		}
		data, err := base64.StdEncoding.DecodeString(src.Data)
		if err != nil || len(data) == 0 {
			return nil, invalid(q+".data", "must be non-empty base64 data")
		}
		return &providers.Image{MIMEType: src.MediaType, Data: data}, nil
	case schema.SourceURL:
		if src.URL == "" {
			return nil, invalid(q+".url", "Field required")
		}
		return &providers.Image{URL: src.URL}, nil
	case schema.SourceFile:
		if src.FileID == "" {
			return nil, invalid(q+".file_id", "Field required")
		}
		return nil, nil
	}
	return nil, invalid(q+".type", "must be \"base64\", \"url\" or \"file\", got %q", src.Type)
}

// decodeDocument reads a document block: a base64 PDF, a PDF by URL,
// plain text, custom content (its text blocks joined) or a Files API file.
func decodeDocument(b *schema.ContentBlock, q string) (*providers.File, error) {
	src := b.Source
	if src == nil {
		return nil, invalid(q+".source", "Field required")
	}
	f := &providers.File{Title: b.Title, Context: b.Context}
	if c := b.Citations; len(c) > 0 {
		var cc struct {
			Enabled bool `json:"enabled"`
		}
		if apischema.Unmarshal(c, &cc) == nil {
			f.Citations = cc.Enabled
		}
	}
	s := q + ".source"
	switch src.Type {
	case schema.SourceBase64:
		if src.Data == "" {
			return nil, invalid(s+".data", "Field required")
		}
		f.MIMEType, f.Base64 = src.MediaType, src.Data
		if f.MIMEType == "" {
			f.MIMEType = "application/pdf"
		}
	case schema.SourceURL:
		if src.URL == "" {
			return nil, invalid(s+".url", "Field required")
		}
		f.MIMEType, f.URL = "application/pdf", src.URL
	case schema.SourceText:
		f.MIMEType, f.Text = "text/plain", src.Data
		if f.Text == "" {
			return nil, invalid(s+".data", "Field required")
		}
	case schema.SourceContent:
		if src.Content == nil || src.Content.IsZero() {
			return nil, invalid(s+".content", "Field required")
		}
		var text strings.Builder
		if src.Content.Text != nil {
			text.WriteString(*src.Content.Text)
		}
		for _, cb := range src.Content.List {
			if cb.Type != schema.BlockText {
				return nil, nil // images in a document: no canonical form (unmapped)
			}
			if text.Len() > 0 {
				text.WriteString("\n\n")
			}
			text.WriteString(cb.Text)
		}
		f.MIMEType, f.Text = "text/plain", text.String()
	case schema.SourceFile:
		if src.FileID == "" {
			return nil, invalid(s+".file_id", "Field required")
		}
		f.FileID, f.FileDialect = src.FileID, dialect
	default:
		return nil, invalid(s+".type", "must be \"base64\", \"url\", \"text\", \"content\" or \"file\", got %q", src.Type)
	}
	return f, nil
}

// compactInput renders a tool_use input as canonical arguments text.
func compactInput(raw jsontext.Value) string {
	if apischema.IsNull(raw) {
		return "{}"
	}
	var b bytes.Buffer
	if err := compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

func compact(b *bytes.Buffer, raw []byte) error {
	v := jsontext.Value(bytes.Clone(raw))
	if err := v.Compact(); err != nil {
		return err
	}
	b.Write(v)
	return nil
}

func setTools(out *providers.ChatRequest, tools []schema.Tool, tc *schema.ToolChoice) error {
	for i := range tools {
		t := &tools[i]
		q := "tools[" + strconv.Itoa(i) + "]"
		if !t.IsClient() {
			continue // a server tool: no canonical form (listed by unmapped)
		}
		if apischema.IsNull(t.InputSchema) {
			return invalid(q+".input_schema", "Field required")
		}
		tool := providers.Tool{Name: t.Name, Description: t.Description, Parameters: []byte(t.InputSchema)}
		if t.Strict != nil {
			tool.Strict = *t.Strict
		}
		out.Tools = append(out.Tools, tool)
	}
	if tc == nil {
		return nil
	}
	switch tc.Type {
	case schema.ChoiceAuto:
		out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceAuto}
	case schema.ChoiceAny:
		out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceRequired}
	case schema.ChoiceTool:
		if tc.Name == "" {
			return invalid("tool_choice.name", "Field required")
		}
		out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: tc.Name}
	case schema.ChoiceNone:
		out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceNone}
	default:
		return invalid("tool_choice.type", "must be one of \"auto\", \"any\", \"tool\" or \"none\", got %q", tc.Type)
	}
	if tc.DisableParallelToolUse != nil && *tc.DisableParallelToolUse && tc.Type != schema.ChoiceNone {
		f := false
		out.ParallelToolCalls = &f
	}
	return nil
}

// wire is a decoded request body (providers.Wire).
type wire struct {
	in            *schema.MessagesRequest
	needMaxTokens bool
	once          sync.Once
	unmapped      []providers.Field
}

// Unmapped implements providers.Wire.
func (x *wire) Unmapped() []providers.Field {
	x.once.Do(func() { x.unmapped = unmapped(x.in) })
	return x.unmapped
}

// unmapped lists the members of in that the canonical request does not
// carry: documented parameters an upstream of another dialect cannot
// honour, server tools, content blocks without a canonical form (search
// results, server-tool blocks, Files API images, documents with image
// content), and every member the schema does not declare, at any level.
// Hints without effect on the answer (cache_control, service_tier) are
// not listed.
func unmapped(in *schema.MessagesRequest) []providers.Field {
	var out []providers.Field
	add := func(name string, v any, content bool) {
		if b, err := apischema.Marshal(v); err == nil {
			out = append(out, providers.Field{Name: name, Value: b, Content: content})
		}
	}
	raw := func(name string, v jsontext.Value) {
		if !apischema.IsNull(v) {
			out = append(out, providers.Field{Name: name, Value: v})
		}
	}
	raw("container", in.Container)
	raw("mcp_servers", in.MCPServers)
	raw("context_management", in.ContextManagement)
	if in.InferenceGeo != "" {
		add("inference_geo", in.InferenceGeo, false)
	}
	if in.Speed != "" && in.Speed != "standard" {
		add("speed", in.Speed, false)
	}
	if t := in.Thinking; t != nil && t.Display != "" {
		add("thinking.display", t.Display, false)
	}
	for i := range in.Tools {
		if t := &in.Tools[i]; !t.IsClient() {
			add("tools["+strconv.Itoa(i)+"]", t, true)
		}
	}
	for i := range in.Messages {
		for j, b := range in.Messages[i].Content.List {
			q := "messages[" + strconv.Itoa(i) + "].content[" + strconv.Itoa(j) + "]"
			if !hasCanonicalForm(&b) {
				add(q, &b, true)
			}
			if b.Content != nil {
				for k, c := range b.Content.List {
					if !hasCanonicalForm(&c) {
						add(q+".content["+strconv.Itoa(k)+"]", &c, true)
					}
				}
			}
		}
	}
	for _, m := range apischema.Unknowns(in) {
		out = append(out, providers.Field{Name: m.Path, Value: m.Value})
	}
	return out
}

// hasCanonicalForm reports whether the canonical request carries b.
func hasCanonicalForm(b *schema.ContentBlock) bool {
	switch b.Type {
	case schema.BlockText, schema.BlockThinking, schema.BlockRedactedThinking, schema.BlockToolUse, schema.BlockToolResult:
		return true
	case schema.BlockImage:
		return b.Source == nil || b.Source.Type != schema.SourceFile
	case schema.BlockDocument:
		if b.Source != nil && b.Source.Type == schema.SourceContent && b.Source.Content != nil {
			for _, c := range b.Source.Content.List {
				if c.Type != schema.BlockText {
					return false
				}
			}
		}
		return true
	}
	return false
}

// Rewrite implements providers.Wire: the body with the texts of req, a
// rewrite of the canonical request decoded from it.
func (x *wire) Rewrite(req *providers.ChatRequest) ([]byte, error) {
	var set []providers.TextSlot
	if _, err := toCanonical(x.in, x.needMaxTokens, &set); err != nil {
		return nil, err
	}
	if err := providers.WriteTexts(req, set); err != nil {
		return nil, err
	}
	return apischema.Marshal(x.in)
}
