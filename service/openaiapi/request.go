package openaiapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
)

// Dialect is the dialect of this surface's requests (providers.Source):
// OpenAI-dialect upstreams receive them as they were sent.
const Dialect = providers.DialectOpenAI

// decoded is a decoded chat request with what the surface needs besides
// the canonical request.
type decoded struct {
	req          providers.ChatRequest
	stream       bool
	includeUsage bool
	// legacy is true when the caller used functions/function_call, so the
	// answer uses function_call instead of tool_calls.
	legacy   bool
	metadata map[string]string
}

// badParam is a request the surface cannot decode, blaming a parameter.
type badParam struct {
	param string
	msg   string
}

func (e *badParam) Error() string {
	if e.param == "" {
		return e.msg
	}
	return e.param + ": " + e.msg
}

func bad(param, format string, args ...any) error {
	return &badParam{param: param, msg: fmt.Sprintf(format, args...)}
}

// jsonError turns a decoding failure into a badParam naming the field.
func jsonError(err error) error {
	d := apischema.Describe(err)
	return &badParam{param: d.Field, msg: d.Message}
}

// roleMember is the member every message has (apischema.Presized).
var roleMember = []byte(`"role"`)

// fullChat decodes body with the full decoder: what fastChat does not
// read, and every error.
func fullChat(body []byte) (*schema.ChatCompletionRequest, error) {
	w := &schema.ChatCompletionRequest{Messages: apischema.Presized[schema.Message](body, roleMember)}
	return w, apischema.Unmarshal(body, w)
}

// decodeChat decodes a chat completions body into d in one typed pass.
// The body and the allow-listed headers of h become the request's Source,
// so that OpenAI-dialect upstreams receive them as they are.
func decodeChat(body []byte, h http.Header, d *decoded) error {
	w := new(schema.ChatCompletionRequest)
	if !fastChat(body, w) {
		var err error
		if w, err = fullChat(body); err != nil {
			return jsonError(err)
		}
	}
	r := &d.req
	r.Model = w.Model
	r.ParallelToolCalls = w.ParallelToolCalls
	r.Temperature, r.TopP = w.Temperature, w.TopP
	r.PresencePenalty, r.FrequencyPenalty = w.PresencePenalty, w.FrequencyPenalty
	r.Seed, r.N, r.User = w.Seed, w.N, w.User
	if r.User == "" {
		r.User = w.SafetyIdentifier
	}
	if w.Stop != nil {
		r.Stop = w.Stop.Values
	}
	r.MaxTokens = w.MaxCompletionTokens
	if r.MaxTokens == nil {
		r.MaxTokens = w.MaxTokens
	}
	d.stream = w.Stream
	d.includeUsage = w.Stream && w.StreamOptions != nil && w.StreamOptions.IncludeUsage != nil && *w.StreamOptions.IncludeUsage
	d.metadata = w.Metadata
	if w.ReasoningEffort != "" {
		r.Reasoning = &providers.ReasoningConfig{Effort: w.ReasoningEffort}
	}
	var err error
	if r.Messages, err = decodeMessages(w.Messages, nil); err != nil {
		return err
	}
	if err := decodeTools(w, d); err != nil {
		return err
	}
	if r.ResponseFormat, err = decodeResponseFormat(w.ResponseFormat); err != nil {
		return err
	}
	r.Source = &providers.Source{Dialect: Dialect, Body: body, Header: apischema.PassHeaders(h, schema.RequestHeaders),
		Wire: &wire{w: w}}
	return nil
}

// wire is a decoded request body (providers.Wire).
type wire struct {
	w        *schema.ChatCompletionRequest
	once     sync.Once
	unmapped []providers.Field
}

// Unmapped implements providers.Wire: the fields the canonical request
// does not carry.
func (x *wire) Unmapped() []providers.Field {
	x.once.Do(func() { x.unmapped = unmapped(x.w) })
	return x.unmapped
}

// unmapped lists the members of w that the canonical request does not
// carry: the documented ones an upstream of another dialect cannot
// honour, content parts and tools without a canonical form, and every
// member the schema does not declare, at any level. Members the gateway
// consumes (metadata, stream_options, safety_identifier) or that are
// hints without effect on the answer (prompt_cache_key, store: false)
// are not listed.
func unmapped(w *schema.ChatCompletionRequest) []providers.Field {
	var out []providers.Field
	add := func(name string, v any) {
		b, err := apischema.Marshal(v)
		if err == nil {
			out = append(out, providers.Field{Name: name, Value: b})
		}
	}
	content := func(name string, v any) {
		if b, err := apischema.Marshal(v); err == nil {
			out = append(out, providers.Field{Name: name, Value: b, Content: true})
		}
	}
	raw := func(name string, v jsontext.Value) {
		if len(v) > 0 {
			out = append(out, providers.Field{Name: name, Value: v})
		}
	}
	if w.Logprobs != nil {
		add("logprobs", *w.Logprobs)
	}
	if w.TopLogprobs != nil {
		add("top_logprobs", *w.TopLogprobs)
	}
	raw("logit_bias", w.LogitBias)
	if w.Verbosity != "" {
		add("verbosity", w.Verbosity)
	}
	if len(w.Modalities) > 0 && !(len(w.Modalities) == 1 && w.Modalities[0] == "text") {
		add("modalities", w.Modalities)
	}
	raw("audio", w.Audio)
	raw("prediction", w.Prediction)
	raw("web_search_options", w.WebSearchOptions)
	raw("moderation", w.Moderation)
	if w.Store != nil && *w.Store {
		add("store", true)
	}
	if t := w.ServiceTier; t != "" && t != "auto" && t != "default" {
		add("service_tier", t)
	}
	if w.PromptCacheRetention != "" {
		add("prompt_cache_retention", w.PromptCacheRetention)
	}
	raw("prompt_cache_options", w.PromptCacheOptions)
	for i := range w.Messages {
		m := &w.Messages[i]
		p := "messages[" + strconv.Itoa(i) + "]"
		raw(p+".audio", m.Audio)
		for j := range m.Content.Parts {
			if cp := &m.Content.Parts[j]; cp.Type == schema.PartInputAudio {
				content(p+".content["+strconv.Itoa(j)+"]", cp)
			}
		}
		for j := range m.ToolCalls {
			if tc := &m.ToolCalls[j]; tc.Type == "custom" {
				content(p+".tool_calls["+strconv.Itoa(j)+"]", tc)
			}
		}
	}
	for i := range w.Tools {
		if t := &w.Tools[i]; t.Type != "function" {
			add("tools["+strconv.Itoa(i)+"]", t)
		}
	}
	if tc := w.ToolChoice; tc != nil && tc.Mode == "" && tc.Type != "function" {
		add("tool_choice", tc)
	}
	for _, m := range apischema.Unknowns(w) {
		out = append(out, providers.Field{Name: m.Path, Value: m.Value})
	}
	return out
}

// Rewrite implements providers.Wire: the body with the texts of req, a
// rewrite of the canonical request decoded from it.
func (x *wire) Rewrite(req *providers.ChatRequest) ([]byte, error) {
	if len(req.Messages) != len(x.w.Messages) {
		return nil, providers.ErrRewriteShape
	}
	var set []providers.TextSlot
	if _, err := decodeMessages(x.w.Messages, &set); err != nil {
		return nil, err
	}
	if err := providers.WriteTexts(req, set); err != nil {
		return nil, err
	}
	return apischema.Marshal(x.w)
}

// decodeMessages maps the messages, developer → system and the legacy
// function role → tool. With texts non-nil it also records where each
// canonical text part came from in the wire messages (for Rewrite).
func decodeMessages(in []schema.Message, texts *[]providers.TextSlot) ([]providers.Message, error) {
	out := make([]providers.Message, len(in))
	// The contents of messages that are a string come from one array.
	n := 0
	for i := range in {
		if t := in[i].Content.Text; t != nil && *t != "" {
			n++
		}
	}
	textContents := make(providers.TextContents, n)
	for i := range in {
		m, o := &in[i], &out[i]
		// The paths of errors are built only for an error.
		p := func() string { return "messages[" + strconv.Itoa(i) + "]" }
		o.Name = m.Name
		switch m.Role {
		case schema.RoleSystem, schema.RoleDeveloper:
			o.Role = providers.RoleSystem
		case schema.RoleUser:
			o.Role = providers.RoleUser
		case schema.RoleAssistant:
			o.Role = providers.RoleAssistant
		case schema.RoleTool:
			o.Role, o.ToolCallID = providers.RoleTool, m.ToolCallID
		case schema.RoleFunction:
			o.Role, o.ToolCallID, o.Name = providers.RoleTool, legacyCallID(m.Name), ""
		case "":
			return nil, bad(p()+".role", "is required")
		default:
			return nil, bad(p()+".role", "must be one of system, developer, user, assistant, tool or function; got %q", m.Role)
		}
		var err error
		if o.Content, err = decodeContent(&m.Content, p, i, texts, &textContents); err != nil {
			return nil, err
		}
		if m.Refusal.V != nil && *m.Refusal.V != "" && len(o.Content) == 0 {
			o.Content = []providers.Part{providers.TextPart(*m.Refusal.V)}
			if texts != nil {
				*texts = append(*texts, providers.TextSlot{Msg: i, Part: 0, Text: m.Refusal.V})
			}
		}
		for j := range m.ToolCalls {
			tc := &m.ToolCalls[j]
			switch {
			case tc.Function != nil && (tc.Type == "" || tc.Type == "function"):
				o.ToolCalls = append(o.ToolCalls, providers.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
			case tc.Type == "custom":
				// no canonical form: listed by unmapped
			default:
				return nil, bad(p()+".tool_calls["+strconv.Itoa(j)+"]", "must be a function or custom tool call")
			}
		}
		if fc := m.FunctionCall; fc != nil && len(m.ToolCalls) == 0 {
			o.ToolCalls = []providers.ToolCall{{ID: legacyCallID(fc.Name), Name: fc.Name, Arguments: fc.Arguments}}
		}
	}
	return out, nil
}

// legacyCallID names the call of a legacy function_call, which has no id,
// so that the following function message can refer to it.
func legacyCallID(name string) string { return "call_legacy_" + name }

// decodeContent reads the content of message msg, whose path is p; a
// string's comes from textContents.
func decodeContent(c *schema.Content, p func() string, msg int, texts *[]providers.TextSlot, textContents *providers.TextContents) ([]providers.Part, error) {
	switch {
	case c.Text != nil:
		if *c.Text == "" {
			return nil, nil
		}
		if texts != nil {
			*texts = append(*texts, providers.TextSlot{Msg: msg, Part: 0, Text: c.Text})
		}
		return textContents.Next(*c.Text), nil
	case c.Parts == nil:
		return nil, nil
	}
	out := make([]providers.Part, 0, len(c.Parts))
	for j := range c.Parts {
		cp := &c.Parts[j]
		q := func() string { return p() + ".content[" + strconv.Itoa(j) + "]" }
		var part providers.Part
		switch cp.Type {
		case schema.PartText:
			if texts != nil {
				*texts = append(*texts, providers.TextSlot{Msg: msg, Part: len(out), Text: &cp.Text})
			}
			part = providers.TextPart(cp.Text)
		case schema.PartRefusal:
			if texts != nil {
				*texts = append(*texts, providers.TextSlot{Msg: msg, Part: len(out), Text: &cp.Refusal})
			}
			part = providers.TextPart(cp.Refusal)
		case schema.PartImageURL:
			if cp.ImageURL == nil || cp.ImageURL.URL == "" {
				return nil, bad(q()+".image_url.url", "is required")
			}
			part = providers.Part{Type: providers.PartImage, Image: &providers.Image{URL: cp.ImageURL.URL, Detail: cp.ImageURL.Detail}}
		case schema.PartFile:
			f, err := decodeFile(cp.File, q()+".file")
			if err != nil {
				return nil, err
			}
			part = providers.Part{Type: providers.PartFile, File: f}
		case schema.PartInputAudio:
			continue // no canonical form: listed by unmapped
		case "":
			return nil, bad(q()+".type", "is required")
		default:
			return nil, bad(q()+".type", "content parts of type %q are not supported; use text, image_url, input_audio or file", cp.Type)
		}
		part.CacheBreakpoint = len(cp.PromptCacheBreakpoint) > 0 && !apischema.IsNull(cp.PromptCacheBreakpoint)
		out = append(out, part)
	}
	return out, nil
}

// decodeFile reads a file part: inline data (a data: URL of base64
// content, or bare base64 of a PDF) or an uploaded file's id.
func decodeFile(f *schema.File, q string) (*providers.File, error) {
	switch {
	case f == nil:
		return nil, bad(q, "is required")
	case f.FileData != "":
		out := &providers.File{Filename: f.Filename, MIMEType: "application/pdf", Base64: f.FileData}
		if rest, ok := strings.CutPrefix(f.FileData, "data:"); ok {
			header, data, ok := strings.Cut(rest, ",")
			mt, params, _ := strings.Cut(header, ";")
			if !ok || !strings.Contains(";"+params+";", ";base64;") {
				return nil, bad(q+".file_data", "must be a base64 data: URL (data:<media type>;base64,<data>)")
			}
			if mt != "" {
				out.MIMEType = mt
			}
			out.Base64 = data
		}
		return out, nil
	case f.FileID != "":
		return &providers.File{FileID: f.FileID, FileDialect: Dialect, Filename: f.Filename}, nil
	}
	return nil, bad(q, "needs file_data or file_id")
}

// decodeTools maps tools and tool_choice, or the legacy functions and
// function_call.
func decodeTools(w *schema.ChatCompletionRequest, d *decoded) error {
	r := &d.req
	if len(w.Tools) > 0 {
		r.Tools = make([]providers.Tool, 0, len(w.Tools))
		for i := range w.Tools {
			t := &w.Tools[i]
			switch {
			case t.Type == "function" && t.Function != nil:
				r.Tools = append(r.Tools, canonicalTool(t.Function))
			case t.Type == "function":
				return bad("tools["+strconv.Itoa(i)+"].function", "is required")
			case t.Type == "":
				return bad("tools["+strconv.Itoa(i)+"].type", "is required")
			}
			// other tool types (custom) have no canonical form: listed by unmapped
		}
	} else if len(w.Functions) > 0 {
		d.legacy = true
		r.Tools = make([]providers.Tool, len(w.Functions))
		for i := range w.Functions {
			r.Tools[i] = canonicalTool(&w.Functions[i])
		}
	}
	var err error
	switch {
	case w.ToolChoice != nil:
		r.ToolChoice, err = decodeChoice(w.ToolChoice, "tool_choice")
	case w.FunctionCall != nil:
		r.ToolChoice, err = decodeChoice(w.FunctionCall, "function_call")
	}
	return err
}

func canonicalTool(f *schema.FunctionDefinition) providers.Tool {
	t := providers.Tool{Name: f.Name, Description: f.Description}
	if !apischema.IsNull(f.Parameters) {
		t.Parameters = []byte(f.Parameters)
	}
	if f.Strict != nil {
		t.Strict = *f.Strict
	}
	return t
}

// decodeChoice reads "auto", "none", "required" or a named function, in
// the tool_choice or the legacy function_call form. Other forms (custom
// tools, allowed_tools) have no canonical form: nil.
func decodeChoice(c *schema.ToolChoice, param string) (*providers.ToolChoice, error) {
	if c.Mode != "" {
		switch mode := providers.ToolChoiceMode(c.Mode); mode {
		case providers.ToolChoiceAuto, providers.ToolChoiceNone, providers.ToolChoiceRequired:
			return &providers.ToolChoice{Mode: mode}, nil
		}
		return nil, bad(param, "must be auto, none, required or a function; got %q", c.Mode)
	}
	var name string
	switch {
	case param == "function_call":
		name = c.Name
	case c.Type == "function":
		if c.Function != nil {
			name = c.Function.Name
		}
	case c.Type == "":
		return nil, bad(param+".type", "is required")
	default:
		return nil, nil
	}
	if name == "" {
		return nil, bad(param, "needs a function name")
	}
	return &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: name}, nil
}

func decodeResponseFormat(rf *schema.ResponseFormat) (*providers.ResponseFormat, error) {
	if rf == nil {
		return nil, nil
	}
	switch t := providers.ResponseFormatType(rf.Type); t {
	case providers.FormatText, providers.FormatJSONObject:
		return &providers.ResponseFormat{Type: t}, nil
	case providers.FormatJSONSchema:
		s := rf.JSONSchema
		if s == nil {
			return nil, bad("response_format.json_schema", "is required for type json_schema")
		}
		out := &providers.ResponseFormat{Type: t, Name: s.Name, Description: s.Description, Schema: []byte(s.Schema)}
		if s.Strict != nil {
			out.Strict = *s.Strict
		}
		return out, nil
	}
	return nil, bad("response_format.type", "must be text, json_object or json_schema; got %q", rf.Type)
}
