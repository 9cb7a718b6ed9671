package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"github.com/tollgate-dev/tollgate/providers"
)

// Chat sends a unary generateContent request.
func (p *Provider) Chat(ctx context.Context, req *providers.ChatRequest) (*providers.ChatResponse, error) {
	body, err := p.chatBody(req)
	if err != nil {
		return nil, err
	}
	status, b, err := p.post(ctx, req.Model, methodGenerate, body)
	if err != nil {
		return nil, err
	}
	out, err := p.decodeChat(status, b)
	if err != nil {
		return nil, err
	}
	if req.Source.Passthrough(Dialect) {
		out.Raw = b
	}
	return out, nil
}

// chatBody returns the body to send. A request whose Source is of the
// Gemini dialect is sent as the client wrote it, byte for byte: the model
// is in the URL. Others are translations of the canonical request.
func (p *Provider) chatBody(req *providers.ChatRequest) ([]byte, error) {
	if req == nil {
		return nil, p.invalid("nil chat request")
	}
	if req.Source.Passthrough(Dialect) {
		return req.Source.Body, nil
	}
	if err := providers.Refusal(p.id, req, p.Unsupported(req)); err != nil {
		return nil, err
	}
	w, err := p.buildRequest(req)
	if err != nil {
		return nil, err
	}
	body, err := marshalCompact(w)
	if err != nil {
		return nil, p.invalid("encode request: %v", err)
	}
	return body, nil
}

// Unsupported lists what of req the Gemini API cannot take. A request
// passed through is sent as it is and has nothing unsupported.
func (p *Provider) Unsupported(req *providers.ChatRequest) []providers.Unsupported {
	if req.Source.Passthrough(Dialect) {
		return nil
	}
	out := providers.UnmappedUnsupported(req, Dialect, "Gemini generateContent")
	if req.ParallelToolCalls != nil && !*req.ParallelToolCalls && len(req.Tools) > 0 {
		out = append(out, providers.Unsupported{Field: "parallel_tool_calls", Droppable: true,
			Reason: "Gemini cannot be limited to one function call per turn"})
	}
	for i := range req.Messages {
		m := &req.Messages[i]
		for j := range m.Content {
			pt := &m.Content[j]
			if pt.Type != providers.PartFile {
				continue
			}
			field := "messages[" + strconv.Itoa(i) + "].content[" + strconv.Itoa(j) + "]"
			switch f := pt.File; {
			case f == nil:
				out = append(out, providers.Unsupported{Field: field, Reason: "the file part has no file"})
			case m.Role != providers.RoleUser && m.Role != providers.RoleTool:
				out = append(out, providers.Unsupported{Field: field, Reason: "Gemini takes documents in user turns only"})
			case f.FileID != "" && f.FileDialect != Dialect:
				out = append(out, providers.Unsupported{Field: field, Reason: "the file id belongs to another provider's Files API"})
			}
		}
	}
	return out
}

// marshalCompact encodes v.
func marshalCompact(v any) ([]byte, error) { return apischema.Marshal(v) }

// buildRequest translates the canonical request.
func (p *Provider) buildRequest(req *providers.ChatRequest) (*schema.GenerateContentRequest, error) {
	if req == nil {
		return nil, p.invalid("nil chat request")
	}
	if req.Model == "" {
		return nil, p.invalid("chat request without model")
	}
	w := &schema.GenerateContentRequest{}
	if err := p.encodeMessages(w, req); err != nil {
		return nil, err
	}
	if err := p.encodeTools(w, req); err != nil {
		return nil, err
	}
	gc, err := p.encodeGenerationConfig(req)
	if err != nil {
		return nil, err
	}
	w.GenerationConfig = gc
	return w, nil
}

// encodeMessages fills contents and systemInstruction. System messages, at
// any position, become parts of systemInstruction; consecutive turns of the
// same Gemini role are merged, so tool results that follow each other form
// one "user" turn as Gemini expects for parallel calls.
func (p *Provider) encodeMessages(w *schema.GenerateContentRequest, req *providers.ChatRequest) error {
	w.Contents = make([]schema.Content, 0, len(req.Messages))
	modern := isModernModel(req.Model)
	for i := range req.Messages {
		m := &req.Messages[i]
		switch m.Role {
		case providers.RoleSystem:
			for _, pt := range m.Content {
				if pt.Type == providers.PartText && pt.Text != "" {
					if w.SystemInstruction == nil {
						w.SystemInstruction = &schema.Content{}
					}
					w.SystemInstruction.Parts = append(w.SystemInstruction.Parts, schema.Part{Text: pt.Text})
				}
			}
		case providers.RoleUser:
			parts, err := p.userParts(m.Content)
			if err != nil {
				return err
			}
			appendContent(w, "user", parts)
		case providers.RoleAssistant:
			parts, err := p.modelParts(m, i, modern)
			if err != nil {
				return err
			}
			appendContent(w, "model", parts)
		case providers.RoleTool:
			pt, err := p.toolResultPart(req.Messages, i)
			if err != nil {
				return err
			}
			// Images and documents of the result follow it in the turn.
			media, err := p.userParts(mediaOf(req.Messages[i].Content))
			if err != nil {
				return err
			}
			appendContent(w, "user", append([]schema.Part{pt}, media...))
		default:
			return p.invalid("message %d: unknown role %q", i, m.Role)
		}
	}
	return nil
}

// appendContent adds parts as a turn of role, merged into the previous
// turn when it has the same role. Empty turns are skipped.
func appendContent(w *schema.GenerateContentRequest, role string, parts []schema.Part) {
	if len(parts) == 0 {
		return
	}
	if n := len(w.Contents); n > 0 && w.Contents[n-1].Role == role {
		w.Contents[n-1].Parts = append(w.Contents[n-1].Parts, parts...)
		return
	}
	w.Contents = append(w.Contents, schema.Content{Role: role, Parts: parts})
}

func (p *Provider) userParts(in []providers.Part) ([]schema.Part, error) {
	out := make([]schema.Part, 0, len(in))
	for i := range in {
		switch pt := &in[i]; pt.Type {
		case providers.PartText:
			if pt.Text != "" {
				out = append(out, schema.Part{Text: pt.Text})
			}
		case providers.PartImage:
			ip, err := p.imagePart(pt.Image)
			if err != nil {
				return nil, err
			}
			out = append(out, ip)
		case providers.PartFile:
			fp, err := p.filePart(pt.File)
			if err != nil {
				return nil, err
			}
			out = append(out, fp)
		}
	}
	return out, nil
}

// modelParts translates an assistant message: text and images as parts,
// tool calls as functionCall parts carrying their thought signature.
// Reasoning parts are not replayed (Gemini does not read thought summaries
// back). For Gemini 3+ models the first call of a turn that has no
// signature gets Google's validator-skipping signature when the
// thought_signature_fallback setting allows it, so that conversations begun
// elsewhere (another provider, a client that dropped ids) still validate.
func (p *Provider) modelParts(m *providers.Message, idx int, modern bool) ([]schema.Part, error) {
	out := make([]schema.Part, 0, len(m.Content)+len(m.ToolCalls))
	for i := range m.Content {
		switch pt := &m.Content[i]; pt.Type {
		case providers.PartText:
			if pt.Text != "" {
				out = append(out, schema.Part{Text: pt.Text})
			}
		case providers.PartImage:
			ip, err := p.imagePart(pt.Image)
			if err != nil {
				return nil, err
			}
			out = append(out, ip)
		}
	}
	for j, tc := range m.ToolCalls {
		if tc.Name == "" {
			return nil, p.invalid("message %d: tool call %d has no name", idx, j)
		}
		args, err := callArgs(tc.Arguments)
		if err != nil {
			return nil, p.invalid("message %d: tool call %q: %v", idx, tc.Name, err)
		}
		base, sig := splitCallID(tc.ID)
		if sig == "" && j == 0 && modern && p.signatureFallback {
			sig = skipSignatureValidator
		}
		fc := &schema.FunctionCall{Name: tc.Name, Args: jsontext.Value(args)}
		if !isGeneratedID(base) {
			fc.ID = base
		}
		out = append(out, schema.Part{FunctionCall: fc, ThoughtSignature: sig})
	}
	return out, nil
}

// callArgs returns the arguments of a call as a JSON object.
func callArgs(s string) (json.RawMessage, error) {
	b := bytes.TrimSpace([]byte(s))
	if len(b) == 0 {
		return json.RawMessage("{}"), nil
	}
	if b[0] != '{' || !json.Valid(b) {
		return nil, errArgsNotObject
	}
	return b, nil
}

// toolResultPart translates the tool message at idx into a functionResponse.
// Gemini needs the function name, which a canonical tool message lacks: it
// is taken from the nearest preceding assistant tool call whose ID equals
// ToolCallID, else from the message's Name. Content that is a JSON object
// is sent as the response; anything else as {"result": "<text>"}.
func (p *Provider) toolResultPart(msgs []providers.Message, idx int) (schema.Part, error) {
	m := &msgs[idx]
	name := toolName(msgs, idx)
	if name == "" {
		return schema.Part{}, p.invalid("message %d: no preceding assistant tool call has id %q, so the function name is unknown", idx, m.ToolCallID)
	}
	text := m.Text()
	var resp json.RawMessage
	if t := bytes.TrimSpace([]byte(text)); len(t) > 0 && t[0] == '{' && json.Valid(t) {
		resp = t
	} else {
		b, err := marshalCompact(struct {
			Result string `json:"result"`
		}{text})
		if err != nil {
			return schema.Part{}, p.invalid("message %d: encode tool result: %v", idx, err)
		}
		resp = b
	}
	fr := &schema.FunctionResponse{Name: name, Response: jsontext.Value(resp)}
	if base, _ := splitCallID(m.ToolCallID); !isGeneratedID(base) {
		fr.ID = base
	}
	return schema.Part{FunctionResponse: fr}, nil
}

// mediaOf returns the image and document parts of parts.
func mediaOf(parts []providers.Part) []providers.Part {
	var out []providers.Part
	for _, pt := range parts {
		if pt.Type == providers.PartImage || pt.Type == providers.PartFile {
			out = append(out, pt)
		}
	}
	return out
}

// toolName finds the name of the call answered by msgs[idx].
func toolName(msgs []providers.Message, idx int) string {
	id := msgs[idx].ToolCallID
	if id != "" {
		for i := idx - 1; i >= 0; i-- {
			if msgs[i].Role != providers.RoleAssistant {
				continue
			}
			for _, tc := range msgs[i].ToolCalls {
				if tc.ID == id {
					return tc.Name
				}
			}
		}
	}
	return msgs[idx].Name
}

// encodeTools fills tools and toolConfig.
func (p *Provider) encodeTools(w *schema.GenerateContentRequest, req *providers.ChatRequest) error {
	if len(req.Tools) > 0 {
		decls := make([]schema.FunctionDeclaration, len(req.Tools))
		for i, t := range req.Tools {
			if t.Name == "" {
				return p.invalid("tool %d has no name", i)
			}
			d := schema.FunctionDeclaration{Name: t.Name, Description: t.Description}
			if p.jsonSchema {
				if s := bytes.TrimSpace(t.Parameters); len(s) > 0 && string(s) != "null" {
					if !json.Valid(s) {
						return p.invalid("tool %q: parameters are not valid JSON", t.Name)
					}
					d.ParametersJSONSchema = s
				}
			} else {
				s, err := p.schemas.get("parameters", t.Parameters, sanitizeParameters)
				if err != nil {
					return p.invalid("tool %q: parameters: %v", t.Name, err)
				}
				d.Parameters = jsontext.Value(s)
			}
			decls[i] = d
		}
		w.Tools = []schema.Tool{{FunctionDeclarations: decls}}
	}
	tc := req.ToolChoice
	if tc == nil {
		return nil
	}
	cfg := &schema.FunctionCallingConfig{}
	switch tc.Mode {
	case providers.ToolChoiceAuto:
		cfg.Mode = "AUTO"
	case providers.ToolChoiceNone:
		cfg.Mode = "NONE"
	case providers.ToolChoiceRequired:
		cfg.Mode = "ANY"
	case providers.ToolChoiceFunction:
		if tc.Name == "" {
			return p.invalid("tool choice %q needs a function name", tc.Mode)
		}
		cfg.Mode = "ANY"
		cfg.AllowedFunctionNames = []string{tc.Name}
	default:
		return p.invalid("unknown tool choice mode %q", tc.Mode)
	}
	w.ToolConfig = &schema.ToolConfig{FunctionCallingConfig: cfg}
	return nil
}

// encodeGenerationConfig maps sampling, output and reasoning settings; nil
// when none is set.
func (p *Provider) encodeGenerationConfig(req *providers.ChatRequest) (*schema.GenerationConfig, error) {
	gc := schema.GenerationConfig{
		StopSequences:    req.Stop,
		CandidateCount:   req.N,
		MaxOutputTokens:  req.MaxTokens,
		Temperature:      req.Temperature,
		TopP:             req.TopP,
		TopK:             req.TopK,
		Seed:             req.Seed,
		PresencePenalty:  req.PresencePenalty,
		FrequencyPenalty: req.FrequencyPenalty,
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case providers.FormatText:
		case providers.FormatJSONObject:
			gc.ResponseMIMEType = contentTypeJSON
		case providers.FormatJSONSchema:
			gc.ResponseMIMEType = contentTypeJSON
			if p.jsonSchema {
				if s := bytes.TrimSpace(rf.Schema); len(s) > 0 && string(s) != "null" {
					if !json.Valid(s) {
						return nil, p.invalid("response format schema is not valid JSON")
					}
					gc.ResponseJSONSchema = s
				}
			} else {
				s, err := p.schemas.get("schema", rf.Schema, sanitizeSchema)
				if err != nil {
					return nil, p.invalid("response format schema: %v", err)
				}
				gc.ResponseSchema = jsontext.Value(s)
			}
		default:
			return nil, p.invalid("unknown response format %q", rf.Type)
		}
	}
	if r := req.Reasoning; r != nil {
		tc, err := p.thinkingConfig(r, req.Model)
		if err != nil {
			return nil, err
		}
		gc.ThinkingConfig = tc
	}
	if isZeroConfig(&gc) {
		return nil, nil
	}
	return &gc, nil
}

func isZeroConfig(gc *schema.GenerationConfig) bool {
	return len(gc.StopSequences) == 0 && gc.ResponseMIMEType == "" && gc.CandidateCount == nil &&
		gc.MaxOutputTokens == nil && gc.Temperature == nil && gc.TopP == nil && gc.TopK == nil &&
		gc.Seed == nil && gc.PresencePenalty == nil && gc.FrequencyPenalty == nil && gc.ThinkingConfig == nil &&
		gc.ResponseSchema == nil && gc.ResponseJSONSchema == nil
}

// effortBudgets maps reasoning effort to a Gemini 2.5 thinking budget, the
// same steps Google's OpenAI-compatible endpoint uses.
var effortBudgets = map[string]int{"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}

// thinkingConfig maps ReasoningConfig. BudgetTokens becomes thinkingBudget.
// Effort "none" disables thinking (thinkingBudget 0); other efforts become
// thinkingLevel for Gemini 3+ models (or always with thinking=level) and a
// thinkingBudget from effortBudgets otherwise (or always with
// thinking=budget). Thoughts are requested whenever thinking is on.
func (p *Provider) thinkingConfig(r *providers.ReasoningConfig, model string) (*schema.ThinkingConfig, error) {
	if r.BudgetTokens > 0 {
		n := r.BudgetTokens
		return &schema.ThinkingConfig{IncludeThoughts: true, ThinkingBudget: &n}, nil
	}
	effort := strings.ToLower(r.Effort)
	if effort == "xhigh" {
		effort = "high" // Gemini's highest
	}
	switch effort {
	case "":
		return &schema.ThinkingConfig{IncludeThoughts: true}, nil
	case "none":
		zero := 0
		return &schema.ThinkingConfig{ThinkingBudget: &zero}, nil
	}
	budget, ok := effortBudgets[effort]
	if !ok {
		return nil, p.invalid("unknown reasoning effort %q", r.Effort)
	}
	useLevel := p.thinking == thinkingModeLevel || p.thinking == thinkingModeAuto && isModernModel(model)
	if useLevel {
		return &schema.ThinkingConfig{IncludeThoughts: true, ThinkingLevel: strings.ToUpper(effort)}, nil
	}
	return &schema.ThinkingConfig{IncludeThoughts: true, ThinkingBudget: &budget}, nil
}

// isModernModel reports Gemini 3 and later model names ("gemini-3-pro",
// "models/gemini-3.5-flash"), which take thinkingLevel and validate
// thought signatures. Aliases without a version are not modern.
func isModernModel(model string) bool {
	name := model[strings.LastIndexByte(model, '/')+1:]
	rest, ok := strings.CutPrefix(strings.ToLower(name), "gemini-")
	if !ok {
		return false
	}
	n := 0
	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' && digits < 4 {
		n = n*10 + int(rest[digits]-'0')
		digits++
	}
	return digits > 0 && n >= 3
}
