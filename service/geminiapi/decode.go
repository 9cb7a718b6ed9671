package geminiapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// dialect is the dialect of this surface's requests (providers.Source):
// Gemini upstreams receive them as they were sent.
const dialect = providers.DialectGemini

func invalid(param, format string, args ...any) error {
	return &gateway.InvalidRequestError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// partsMember is the member every content has (apischema.Presized; the
// role is optional).
var partsMember = []byte(`"parts"`)

// decodeGenerate decodes a generateContent body and translates it for
// model. The body becomes the request's Source.
func decodeGenerate(body []byte, model string) (*schema.GenerateContentRequest, *providers.ChatRequest, error) {
	in := &schema.GenerateContentRequest{Contents: apischema.Presized[schema.Content](body, partsMember)}
	if err := schema.Unmarshal(body, in); err != nil {
		d := apischema.Describe(err)
		return nil, nil, invalid(d.Field, "%s", d.Message)
	}
	req, err := toCanonical(in, model, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Source = &providers.Source{Dialect: dialect, Body: body, Wire: &wire{in: in, model: model}}
	return in, req, nil
}

// translator builds the canonical request; with texts set it records
// where each canonical text part came from (for Rewrite).
type translator struct {
	out   *providers.ChatRequest
	texts *[]providers.TextSlot
	// calls are the tool calls made so far whose result has not come
	// back, by id, for function responses that carry only a name.
	open []providers.ToolCall
}

// add appends m; slots are the texts of its parts, in part order.
func (t *translator) add(m providers.Message, slots []*string) {
	if t.texts != nil {
		n := len(t.out.Messages)
		k := 0
		for j, p := range m.Content {
			if p.Type == providers.PartText && k < len(slots) {
				*t.texts = append(*t.texts, providers.TextSlot{Msg: n, Part: j, Text: slots[k]})
				k++
			}
		}
	}
	t.out.Messages = append(t.out.Messages, m)
}

// toCanonical translates a decoded generateContent request.
func toCanonical(in *schema.GenerateContentRequest, model string, texts *[]providers.TextSlot) (*providers.ChatRequest, error) {
	t := &translator{out: &providers.ChatRequest{Model: model}, texts: texts}
	if si := in.SystemInstruction; si != nil {
		m := providers.Message{Role: providers.RoleSystem}
		var slots []*string
		for j := range si.Parts {
			p := &si.Parts[j]
			if p.Text == "" {
				if !isEmptyPart(p) {
					return nil, invalid("systemInstruction.parts["+strconv.Itoa(j)+"]", "a system instruction takes text parts only")
				}
				continue
			}
			m.Content = append(m.Content, providers.TextPart(p.Text))
			slots = append(slots, &p.Text)
		}
		if len(m.Content) > 0 {
			t.add(m, slots)
		}
	}
	if len(in.Contents) == 0 {
		return nil, invalid("contents", "must contain at least one content")
	}
	for i := range in.Contents {
		if err := t.content(&in.Contents[i], "contents["+strconv.Itoa(i)+"]"); err != nil {
			return nil, err
		}
	}
	if err := tools(t.out, in); err != nil {
		return nil, err
	}
	if err := generationConfig(t.out, in.GenerationConfig); err != nil {
		return nil, err
	}
	return t.out, nil
}

// isEmptyPart reports a part that carries nothing the canonical model
// reads (a bare thought signature, video metadata of no media).
func isEmptyPart(p *schema.Part) bool {
	return p.Text == "" && p.InlineData == nil && p.FileData == nil && p.FunctionCall == nil &&
		p.FunctionResponse == nil && len(p.ExecutableCode) == 0 && len(p.CodeExecutionResult) == 0
}

// content translates one turn. A user turn becomes a user message, with
// each function response a tool message of its own; a model turn an
// assistant message with its function calls as tool calls.
func (t *translator) content(c *schema.Content, q string) error {
	switch c.Role {
	case schema.RoleUser, "":
		return t.userTurn(c, q)
	case schema.RoleModel:
		return t.modelTurn(c, q)
	}
	return invalid(q+".role", "must be %q or %q, not %q", schema.RoleUser, schema.RoleModel, c.Role)
}

func (t *translator) userTurn(c *schema.Content, q string) error {
	m := providers.Message{Role: providers.RoleUser}
	var slots []*string
	flush := func() {
		if len(m.Content) > 0 {
			t.add(m, slots)
		}
		m, slots = providers.Message{Role: providers.RoleUser}, nil
	}
	for j := range c.Parts {
		p := &c.Parts[j]
		pq := q + ".parts[" + strconv.Itoa(j) + "]"
		switch {
		case p.FunctionResponse != nil:
			flush()
			if err := t.functionResponse(p.FunctionResponse, pq); err != nil {
				return err
			}
		case p.Text != "":
			m.Content = append(m.Content, providers.TextPart(p.Text))
			slots = append(slots, &p.Text)
		case p.InlineData != nil, p.FileData != nil:
			part, err := media(p, pq)
			if err != nil {
				return err
			}
			m.Content = append(m.Content, part)
		case p.FunctionCall != nil:
			return invalid(pq+".functionCall", "function calls belong in turns of role %q", schema.RoleModel)
		}
		// Parts without a canonical form (code execution) are listed by
		// Unmapped: passed through to Gemini, refused elsewhere.
	}
	flush()
	return nil
}

func (t *translator) functionResponse(fr *schema.FunctionResponse, q string) error {
	if fr.Name == "" {
		return invalid(q+".functionResponse.name", "is required")
	}
	id := fr.ID
	for i, c := range t.open {
		if id == "" && c.Name == fr.Name || id != "" && c.ID == id {
			id = c.ID
			t.open = append(t.open[:i], t.open[i+1:]...)
			break
		}
	}
	if id == "" {
		return invalid(q+".functionResponse", "answers no earlier function call of %q", fr.Name)
	}
	resp := "{}"
	if len(fr.Response) > 0 {
		resp = string(fr.Response)
	}
	t.add(providers.Message{Role: providers.RoleTool, ToolCallID: id, Name: fr.Name,
		Content: []providers.Part{providers.TextPart(resp)}}, nil)
	return nil
}

func (t *translator) modelTurn(c *schema.Content, q string) error {
	m := providers.Message{Role: providers.RoleAssistant}
	var slots []*string
	for j := range c.Parts {
		p := &c.Parts[j]
		pq := q + ".parts[" + strconv.Itoa(j) + "]"
		switch {
		case p.FunctionCall != nil:
			fc := p.FunctionCall
			if fc.Name == "" {
				return invalid(pq+".functionCall.name", "is required")
			}
			id := fc.ID
			if id == "" {
				id = "call_" + strconv.Itoa(len(t.out.Messages)) + "_" + strconv.Itoa(j)
			}
			args := "{}"
			if len(fc.Args) > 0 {
				args = string(fc.Args)
			}
			tc := providers.ToolCall{ID: id, Name: fc.Name, Arguments: args}
			m.ToolCalls = append(m.ToolCalls, tc)
			t.open = append(t.open, tc)
		case p.Thought:
			m.Content = append(m.Content, providers.Part{Type: providers.PartReasoning, Text: p.Text, Signature: p.ThoughtSignature})
		case p.Text != "":
			m.Content = append(m.Content, providers.TextPart(p.Text))
			slots = append(slots, &p.Text)
		case p.FunctionResponse != nil:
			return invalid(pq+".functionResponse", "function responses belong in turns of role %q", schema.RoleUser)
		case p.InlineData != nil, p.FileData != nil:
			return invalid(pq, "media parts are only taken in turns of role %q", schema.RoleUser)
		}
	}
	t.add(m, slots)
	return nil
}

// media translates an inlineData or fileData part: images become image
// parts, other media types documents.
func media(p *schema.Part, q string) (providers.Part, error) {
	if b := p.InlineData; b != nil {
		if b.MIMEType == "" {
			return providers.Part{}, invalid(q+".inlineData.mimeType", "is required")
		}
		if strings.HasPrefix(b.MIMEType, "image/") {
			data, err := decodeBase64(b.Data)
			if err != nil {
				return providers.Part{}, invalid(q+".inlineData.data", "is not base64: %v", err)
			}
			return providers.Part{Type: providers.PartImage, Image: &providers.Image{MIMEType: b.MIMEType, Data: data}}, nil
		}
		if b.MIMEType == "text/plain" {
			data, err := decodeBase64(b.Data)
			if err != nil {
				return providers.Part{}, invalid(q+".inlineData.data", "is not base64: %v", err)
			}
			return providers.Part{Type: providers.PartFile, File: &providers.File{MIMEType: b.MIMEType, Text: string(data)}}, nil
		}
		return providers.Part{Type: providers.PartFile, File: &providers.File{MIMEType: b.MIMEType,
			Base64: strings.NewReplacer("-", "+", "_", "/").Replace(b.Data)}}, nil
	}
	f := p.FileData
	if f.FileURI == "" {
		return providers.Part{}, invalid(q+".fileData.fileUri", "is required")
	}
	if strings.HasPrefix(f.MIMEType, "image/") {
		return providers.Part{Type: providers.PartImage, Image: &providers.Image{URL: f.FileURI, MIMEType: f.MIMEType}}, nil
	}
	if !strings.HasPrefix(f.FileURI, "http://") && !strings.HasPrefix(f.FileURI, "https://") {
		// A Files API or Cloud Storage URI means something to Gemini only.
		return providers.Part{Type: providers.PartFile, File: &providers.File{MIMEType: f.MIMEType, FileID: f.FileURI, FileDialect: dialect}}, nil
	}
	return providers.Part{Type: providers.PartFile, File: &providers.File{MIMEType: f.MIMEType, URL: f.FileURI}}, nil
}

// decodeBase64 decodes standard or URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// tools translates function declarations and the function-calling mode.
// Built-in tools (search, code execution) are listed by Unmapped.
func tools(out *providers.ChatRequest, in *schema.GenerateContentRequest) error {
	for i := range in.Tools {
		for j := range in.Tools[i].FunctionDeclarations {
			fd := &in.Tools[i].FunctionDeclarations[j]
			q := "tools[" + strconv.Itoa(i) + "].functionDeclarations[" + strconv.Itoa(j) + "]"
			params := json.RawMessage(fd.ParametersJSONSchema)
			if len(params) == 0 && len(fd.Parameters) > 0 {
				s, err := jsonSchema(fd.Parameters)
				if err != nil {
					return invalid(q+".parameters", "%v", err)
				}
				params = s
			}
			out.Tools = append(out.Tools, providers.Tool{Name: fd.Name, Description: fd.Description, Parameters: params})
		}
	}
	tc := in.ToolConfig
	if tc == nil || tc.FunctionCallingConfig == nil {
		return nil
	}
	fc := tc.FunctionCallingConfig
	switch strings.ToUpper(fc.Mode) {
	case "", "MODE_UNSPECIFIED", schema.ModeAuto:
		out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceAuto}
	case schema.ModeNone:
		out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceNone}
	case schema.ModeAny, "VALIDATED":
		switch len(fc.AllowedFunctionNames) {
		case 0:
			out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceRequired}
		case 1:
			out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: fc.AllowedFunctionNames[0]}
		default:
			// Several allowed names are listed by Unmapped.
			out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceRequired}
		}
	default:
		return invalid("toolConfig.functionCallingConfig.mode", "unknown mode %q", fc.Mode)
	}
	return nil
}

// jsonSchema turns Gemini's OpenAPI-subset Schema into JSON Schema: type
// names in lower case ("OBJECT" → "object"), nullable as a type union,
// propertyOrdering left out.
func jsonSchema(raw jsontext.Value) (json.RawMessage, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return json.Marshal(convertSchema(v))
}

func convertSchema(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			switch k {
			case "type":
				if s, ok := e.(string); ok {
					out[k] = strings.ToLower(s)
					continue
				}
			case "propertyOrdering", "nullable":
				continue
			case "properties":
				if m, ok := e.(map[string]any); ok {
					props := make(map[string]any, len(m))
					for name, s := range m {
						props[name] = convertSchema(s)
					}
					out[k] = props
					continue
				}
			}
			out[k] = convertSchema(e)
		}
		if n, ok := x["nullable"].(bool); ok && n {
			if s, ok := out["type"].(string); ok {
				out["type"] = []any{s, "null"}
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = convertSchema(e)
		}
		return out
	}
	return v
}

// generationConfig translates sampling, output and thinking settings.
// Those without a canonical form are listed by Unmapped.
func generationConfig(out *providers.ChatRequest, gc *schema.GenerationConfig) error {
	if gc == nil {
		return nil
	}
	out.Temperature, out.TopP, out.TopK = gc.Temperature, gc.TopP, gc.TopK
	out.MaxTokens, out.Seed, out.N = gc.MaxOutputTokens, gc.Seed, gc.CandidateCount
	out.PresencePenalty, out.FrequencyPenalty = gc.PresencePenalty, gc.FrequencyPenalty
	out.Stop = gc.StopSequences
	switch {
	case len(gc.ResponseJSONSchema) > 0:
		out.ResponseFormat = &providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "response", Schema: json.RawMessage(gc.ResponseJSONSchema)}
	case len(gc.ResponseSchema) > 0:
		s, err := jsonSchema(gc.ResponseSchema)
		if err != nil {
			return invalid("generationConfig.responseSchema", "%v", err)
		}
		out.ResponseFormat = &providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: "response", Schema: s}
	case gc.ResponseMIMEType == "application/json":
		out.ResponseFormat = &providers.ResponseFormat{Type: providers.FormatJSONObject}
	}
	if tc := gc.ThinkingConfig; tc != nil {
		switch {
		case tc.ThinkingBudget != nil && *tc.ThinkingBudget == 0:
			out.Reasoning = &providers.ReasoningConfig{Effort: "none"}
		case tc.ThinkingBudget != nil && *tc.ThinkingBudget > 0:
			out.Reasoning = &providers.ReasoningConfig{BudgetTokens: *tc.ThinkingBudget}
		case tc.ThinkingLevel != "":
			effort := strings.ToLower(tc.ThinkingLevel)
			if effort == "minimal" {
				effort = "low"
			}
			out.Reasoning = &providers.ReasoningConfig{Effort: effort}
		}
	}
	return nil
}

// wire is a decoded request body (providers.Wire).
type wire struct {
	in       *schema.GenerateContentRequest
	model    string
	once     sync.Once
	unmapped []providers.Field
}

// Unmapped implements providers.Wire.
func (x *wire) Unmapped() []providers.Field {
	x.once.Do(func() { x.unmapped = unmapped(x.in) })
	return x.unmapped
}

// unmapped lists what of in the canonical request does not carry:
// parameters without an equivalent elsewhere, built-in tools, parts
// without a canonical form, and every member the schema does not
// declare, at any level.
func unmapped(in *schema.GenerateContentRequest) []providers.Field {
	var out []providers.Field
	add := func(name string, v any, content bool) {
		if b, err := apischema.Marshal(v); err == nil {
			out = append(out, providers.Field{Name: name, Value: b, Content: content})
		}
	}
	raw := func(name string, v jsontext.Value, content bool) {
		if len(v) > 0 && !apischema.IsNull(v) {
			out = append(out, providers.Field{Name: name, Value: v, Content: content})
		}
	}
	if len(in.SafetySettings) > 0 {
		add("safetySettings", in.SafetySettings, false)
	}
	if in.CachedContent != "" {
		add("cachedContent", in.CachedContent, true)
	}
	if len(in.Labels) > 0 {
		add("labels", in.Labels, false)
	}
	for i := range in.Tools {
		t := &in.Tools[i]
		q := "tools[" + strconv.Itoa(i) + "]"
		raw(q+".googleSearch", t.GoogleSearch, true)
		raw(q+".googleSearchRetrieval", t.GoogleSearchRetrieval, true)
		raw(q+".codeExecution", t.CodeExecution, true)
		raw(q+".urlContext", t.URLContext, true)
	}
	if tc := in.ToolConfig; tc != nil {
		raw("toolConfig.retrievalConfig", tc.RetrievalConfig, false)
		if fc := tc.FunctionCallingConfig; fc != nil && len(fc.AllowedFunctionNames) > 1 {
			add("toolConfig.functionCallingConfig.allowedFunctionNames", fc.AllowedFunctionNames, false)
		}
	}
	if gc := in.GenerationConfig; gc != nil {
		if gc.ResponseLogprobs != nil && *gc.ResponseLogprobs {
			add("generationConfig.responseLogprobs", true, false)
		}
		if gc.Logprobs != nil {
			add("generationConfig.logprobs", *gc.Logprobs, false)
		}
		raw("generationConfig.speechConfig", gc.SpeechConfig, false)
		if len(gc.ResponseModalities) > 0 && !(len(gc.ResponseModalities) == 1 && strings.EqualFold(gc.ResponseModalities[0], "TEXT")) {
			add("generationConfig.responseModalities", gc.ResponseModalities, false)
		}
		if gc.MediaResolution != "" {
			add("generationConfig.mediaResolution", gc.MediaResolution, false)
		}
		if m := gc.ResponseMIMEType; m != "" && m != "text/plain" && m != "application/json" {
			add("generationConfig.responseMimeType", m, false)
		}
	}
	for i := range in.Contents {
		for j := range in.Contents[i].Parts {
			p := &in.Contents[i].Parts[j]
			q := "contents[" + strconv.Itoa(i) + "].parts[" + strconv.Itoa(j) + "]"
			raw(q+".executableCode", p.ExecutableCode, true)
			raw(q+".codeExecutionResult", p.CodeExecutionResult, true)
			raw(q+".videoMetadata", p.VideoMetadata, true)
		}
	}
	for _, m := range apischema.Unknowns(in) {
		out = append(out, providers.Field{Name: m.Path, Value: m.Value})
	}
	return out
}

// Rewrite implements providers.Wire: the body with the texts of req, a
// rewrite of the canonical request decoded from it.
func (x *wire) Rewrite(req *providers.ChatRequest) ([]byte, error) {
	var set []providers.TextSlot
	if _, err := toCanonical(x.in, x.model, &set); err != nil {
		return nil, err
	}
	if err := providers.WriteTexts(req, set); err != nil {
		return nil, err
	}
	return apischema.Marshal(x.in)
}
