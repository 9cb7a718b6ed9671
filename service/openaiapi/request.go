package openaiapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/tollgate-dev/tollgate/providers"
)

// Dialect is the providers.ChatRequest.ExtraDialect of passthrough fields
// this surface captures; OpenAI-dialect adapters forward them unchanged.
const Dialect = "openai"

// chatRequest is the body of POST /v1/chat/completions as the official
// SDKs send it. Unions (content, stop, tool_choice, function_call) are kept
// raw and resolved by decodeChat.
type chatRequest struct {
	Model               string            `json:"model"`
	Messages            []message         `json:"messages"`
	Tools               []tool            `json:"tools"`
	ToolChoice          json.RawMessage   `json:"tool_choice"`
	Functions           []functionDef     `json:"functions"`
	FunctionCall        json.RawMessage   `json:"function_call"`
	ParallelToolCalls   *bool             `json:"parallel_tool_calls"`
	ResponseFormat      *responseFormat   `json:"response_format"`
	N                   *int              `json:"n"`
	Stop                json.RawMessage   `json:"stop"`
	Seed                *int64            `json:"seed"`
	User                string            `json:"user"`
	Metadata            map[string]string `json:"metadata"`
	MaxTokens           *int              `json:"max_tokens"`
	MaxCompletionTokens *int              `json:"max_completion_tokens"`
	Temperature         *float64          `json:"temperature"`
	TopP                *float64          `json:"top_p"`
	PresencePenalty     *float64          `json:"presence_penalty"`
	FrequencyPenalty    *float64          `json:"frequency_penalty"`
	ReasoningEffort     string            `json:"reasoning_effort"`
	Stream              bool              `json:"stream"`
	StreamOptions       *streamOptions    `json:"stream_options"`
}

// knownChatField reports whether k is a field of chatRequest that the
// canonical model covers. Everything else is passed through as Extra.
// reasoning_effort is both mapped and passed through: the canonical
// ReasoningConfig knows fewer levels than OpenAI, and OpenAI-dialect
// adapters let a field they set themselves win over the passthrough copy.
func knownChatField(k []byte) bool {
	_, ok := knownChatFields[string(k)] // a map index by string(k) does not allocate
	return ok
}

// knownChatFields is a read-only set; it is never written after init.
var knownChatFields = map[string]struct{}{
	"model": {}, "messages": {}, "tools": {}, "tool_choice": {}, "functions": {}, "function_call": {},
	"parallel_tool_calls": {}, "response_format": {}, "n": {}, "stop": {}, "seed": {}, "user": {},
	"max_tokens": {}, "max_completion_tokens": {}, "temperature": {}, "top_p": {}, "presence_penalty": {},
	"frequency_penalty": {}, "stream": {}, "stream_options": {},
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// message is one entry of "messages". Content is a string, an array of
// parts or null.
type message struct {
	Role         string          `json:"role"`
	Content      json.RawMessage `json:"content"`
	Name         string          `json:"name"`
	ToolCalls    []toolCall      `json:"tool_calls"`
	ToolCallID   string          `json:"tool_call_id"`
	FunctionCall *functionCall   `json:"function_call"`
}

// contentPart is one element of an array content.
type contentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text"`
	Refusal  string    `json:"refusal"`
	ImageURL *imageURL `json:"image_url"`
}

type imageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail"`
}

type toolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type tool struct {
	Type     string      `json:"type"`
	Function functionDef `json:"function"`
}

type functionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
}

type namedChoice struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
	// Name is the legacy function_call object's field.
	Name string `json:"name"`
}

type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		Strict      *bool           `json:"strict"`
	} `json:"json_schema"`
}

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

// decodeChat decodes a chat completions body into d. It takes a single
// typed decoding pass over body plus a light scan of the top-level keys
// that captures unknown fields as raw slices of body (no second decode).
func decodeChat(body []byte, d *decoded) error {
	var w chatRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return jsonError(err)
	}
	r := &d.req
	r.Model = w.Model
	r.ParallelToolCalls = w.ParallelToolCalls
	r.Temperature, r.TopP = w.Temperature, w.TopP
	r.PresencePenalty, r.FrequencyPenalty = w.PresencePenalty, w.FrequencyPenalty
	r.Seed, r.N, r.User = w.Seed, w.N, w.User
	r.MaxTokens = w.MaxCompletionTokens
	if r.MaxTokens == nil {
		r.MaxTokens = w.MaxTokens
	}
	d.stream = w.Stream
	d.includeUsage = w.Stream && w.StreamOptions != nil && w.StreamOptions.IncludeUsage
	d.metadata = w.Metadata
	switch w.ReasoningEffort {
	case "", "none":
	default:
		r.Reasoning = &providers.ReasoningConfig{Effort: w.ReasoningEffort}
	}

	var err error
	if r.Stop, err = decodeStop(w.Stop); err != nil {
		return err
	}
	if r.Messages, err = decodeMessages(w.Messages); err != nil {
		return err
	}
	if err := decodeTools(&w, d); err != nil {
		return err
	}
	if r.ResponseFormat, err = decodeResponseFormat(w.ResponseFormat); err != nil {
		return err
	}
	r.Extra, err = scanExtra(body, knownChatField)
	if err != nil {
		return err
	}
	if len(r.Extra) > 0 {
		r.ExtraDialect = Dialect
	}
	return nil
}

// jsonError turns a decoding failure into a badParam naming the field.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return bad("", "the request body must be a JSON object")
		}
		return bad(te.Field, "expected %s, got JSON %s", te.Type.String(), te.Value)
	}
	return bad("", "could not parse the JSON body of the request: %v", err)
}

func decodeStop(raw json.RawMessage) ([]string, error) {
	switch {
	case isNull(raw):
		return nil, nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, bad("stop", "must be a string or an array of strings")
		}
		return []string{s}, nil
	}
	var ss []string
	if err := json.Unmarshal(raw, &ss); err != nil {
		return nil, bad("stop", "must be a string or an array of strings")
	}
	return ss, nil
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// decodeMessages maps the messages, developer → system and the legacy
// function role → tool.
func decodeMessages(in []message) ([]providers.Message, error) {
	out := make([]providers.Message, len(in))
	for i := range in {
		m, o := &in[i], &out[i]
		p := "messages[" + strconv.Itoa(i) + "]"
		o.Name = m.Name
		switch m.Role {
		case "system", "developer":
			o.Role = providers.RoleSystem
		case "user":
			o.Role = providers.RoleUser
		case "assistant":
			o.Role = providers.RoleAssistant
		case "tool":
			o.Role, o.ToolCallID = providers.RoleTool, m.ToolCallID
		case "function":
			o.Role, o.ToolCallID, o.Name = providers.RoleTool, legacyCallID(m.Name), ""
		case "":
			return nil, bad(p+".role", "is required")
		default:
			return nil, bad(p+".role", "must be one of system, developer, user, assistant, tool or function; got %q", m.Role)
		}
		var err error
		if o.Content, err = decodeContent(m.Content, p+".content"); err != nil {
			return nil, err
		}
		if len(m.ToolCalls) > 0 {
			o.ToolCalls = make([]providers.ToolCall, len(m.ToolCalls))
			for j, tc := range m.ToolCalls {
				if tc.Type != "" && tc.Type != "function" {
					return nil, bad(p+".tool_calls["+strconv.Itoa(j)+"].type", "only function tool calls are supported")
				}
				o.ToolCalls[j] = providers.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments}
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

func decodeContent(raw json.RawMessage, p string) ([]providers.Part, error) {
	switch {
	case isNull(raw):
		return nil, nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, bad(p, "must be a string or an array of content parts")
		}
		if s == "" {
			return nil, nil
		}
		return []providers.Part{providers.TextPart(s)}, nil
	case raw[0] != '[':
		return nil, bad(p, "must be a string or an array of content parts")
	}
	var parts []contentPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, bad(p, "must be a string or an array of content parts: %v", err)
	}
	out := make([]providers.Part, 0, len(parts))
	for j := range parts {
		cp := &parts[j]
		q := p + "[" + strconv.Itoa(j) + "]"
		switch cp.Type {
		case "text":
			out = append(out, providers.TextPart(cp.Text))
		case "refusal":
			out = append(out, providers.TextPart(cp.Refusal))
		case "image_url":
			if cp.ImageURL == nil || cp.ImageURL.URL == "" {
				return nil, bad(q+".image_url.url", "is required")
			}
			out = append(out, providers.Part{Type: providers.PartImage,
				Image: &providers.Image{URL: cp.ImageURL.URL, Detail: cp.ImageURL.Detail}})
		case "":
			return nil, bad(q+".type", "is required")
		default:
			return nil, bad(q+".type", "content parts of type %q are not supported; use text or image_url", cp.Type)
		}
	}
	return out, nil
}

// decodeTools maps tools and tool_choice, or the legacy functions and
// function_call.
func decodeTools(w *chatRequest, d *decoded) error {
	r := &d.req
	if len(w.Tools) > 0 {
		r.Tools = make([]providers.Tool, len(w.Tools))
		for i := range w.Tools {
			t := &w.Tools[i]
			if t.Type != "function" {
				return bad("tools["+strconv.Itoa(i)+"].type", "only function tools are supported; got %q", t.Type)
			}
			r.Tools[i] = canonicalTool(&t.Function)
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
	case !isNull(w.ToolChoice):
		r.ToolChoice, err = decodeChoice(w.ToolChoice, "tool_choice")
	case !isNull(w.FunctionCall):
		r.ToolChoice, err = decodeChoice(w.FunctionCall, "function_call")
	}
	return err
}

func canonicalTool(f *functionDef) providers.Tool {
	t := providers.Tool{Name: f.Name, Description: f.Description, Parameters: f.Parameters}
	if isNull(t.Parameters) {
		t.Parameters = nil
	}
	if f.Strict != nil {
		t.Strict = *f.Strict
	}
	return t
}

// decodeChoice reads "auto", "none", "required" or a named function, in
// the tool_choice or the legacy function_call form.
func decodeChoice(raw json.RawMessage, param string) (*providers.ToolChoice, error) {
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, bad(param, "must be a string or an object")
		}
		switch mode := providers.ToolChoiceMode(s); mode {
		case providers.ToolChoiceAuto, providers.ToolChoiceNone, providers.ToolChoiceRequired:
			return &providers.ToolChoice{Mode: mode}, nil
		}
		return nil, bad(param, "must be auto, none, required or a function; got %q", s)
	}
	var c namedChoice
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, bad(param, "must be a string or an object")
	}
	name := c.Function.Name
	if param == "function_call" {
		name = c.Name
	} else if c.Type != "function" {
		return nil, bad(param+".type", "only function tool choices are supported; got %q", c.Type)
	}
	if name == "" {
		return nil, bad(param, "needs a function name")
	}
	return &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: name}, nil
}

func decodeResponseFormat(rf *responseFormat) (*providers.ResponseFormat, error) {
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
		out := &providers.ResponseFormat{Type: t, Name: s.Name, Description: s.Description, Schema: s.Schema}
		if s.Strict != nil {
			out.Strict = *s.Strict
		}
		return out, nil
	}
	return nil, bad("response_format.type", "must be text, json_object or json_schema; got %q", rf.Type)
}
