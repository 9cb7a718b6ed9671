package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/tollgate-dev/tollgate/providers"
)

// Chat sends a unary generateContent request.
func (p *Provider) Chat(ctx context.Context, req *providers.ChatRequest) (*providers.ChatResponse, error) {
	body, err := p.encodeChat(req)
	if err != nil {
		return nil, err
	}
	status, b, err := p.post(ctx, req.Model, methodGenerate, body)
	if err != nil {
		return nil, err
	}
	return p.decodeChat(status, b)
}

// encodeChat renders req as a GenerateContentRequest body, with
// passthrough fields of the gemini dialect spliced in.
func (p *Provider) encodeChat(req *providers.ChatRequest) ([]byte, error) {
	w, err := p.buildRequest(req)
	if err != nil {
		return nil, err
	}
	body, err := marshalCompact(w)
	if err != nil {
		return nil, p.invalid("encode request: %v", err)
	}
	if req.ExtraDialect == Dialect && len(req.Extra) > 0 {
		return p.spliceExtra(body, req.Extra)
	}
	return body, nil
}

// marshalCompact encodes v without HTML escaping and without the trailing
// newline of json.Encoder.
func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(1024)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// buildRequest translates the canonical request.
func (p *Provider) buildRequest(req *providers.ChatRequest) (*generateRequest, error) {
	if req == nil {
		return nil, p.invalid("nil chat request")
	}
	if req.Model == "" {
		return nil, p.invalid("chat request without model")
	}
	w := &generateRequest{}
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
func (p *Provider) encodeMessages(w *generateRequest, req *providers.ChatRequest) error {
	w.Contents = make([]content, 0, len(req.Messages))
	modern := isModernModel(req.Model)
	for i := range req.Messages {
		m := &req.Messages[i]
		switch m.Role {
		case providers.RoleSystem:
			for _, pt := range m.Content {
				if pt.Type == providers.PartText && pt.Text != "" {
					if w.SystemInstruction == nil {
						w.SystemInstruction = &content{}
					}
					w.SystemInstruction.Parts = append(w.SystemInstruction.Parts, part{Text: pt.Text})
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
			appendContent(w, "user", []part{pt})
		default:
			return p.invalid("message %d: unknown role %q", i, m.Role)
		}
	}
	return nil
}

// appendContent adds parts as a turn of role, merged into the previous
// turn when it has the same role. Empty turns are skipped.
func appendContent(w *generateRequest, role string, parts []part) {
	if len(parts) == 0 {
		return
	}
	if n := len(w.Contents); n > 0 && w.Contents[n-1].Role == role {
		w.Contents[n-1].Parts = append(w.Contents[n-1].Parts, parts...)
		return
	}
	w.Contents = append(w.Contents, content{Role: role, Parts: parts})
}

func (p *Provider) userParts(in []providers.Part) ([]part, error) {
	out := make([]part, 0, len(in))
	for i := range in {
		switch pt := &in[i]; pt.Type {
		case providers.PartText:
			if pt.Text != "" {
				out = append(out, part{Text: pt.Text})
			}
		case providers.PartImage:
			ip, err := p.imagePart(pt.Image)
			if err != nil {
				return nil, err
			}
			out = append(out, ip)
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
func (p *Provider) modelParts(m *providers.Message, idx int, modern bool) ([]part, error) {
	out := make([]part, 0, len(m.Content)+len(m.ToolCalls))
	for i := range m.Content {
		switch pt := &m.Content[i]; pt.Type {
		case providers.PartText:
			if pt.Text != "" {
				out = append(out, part{Text: pt.Text})
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
		fc := &functionCall{Name: tc.Name, Args: args}
		if !isGeneratedID(base) {
			fc.ID = base
		}
		out = append(out, part{FunctionCall: fc, ThoughtSignature: sig})
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
func (p *Provider) toolResultPart(msgs []providers.Message, idx int) (part, error) {
	m := &msgs[idx]
	name := toolName(msgs, idx)
	if name == "" {
		return part{}, p.invalid("message %d: no preceding assistant tool call has id %q, so the function name is unknown", idx, m.ToolCallID)
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
			return part{}, p.invalid("message %d: encode tool result: %v", idx, err)
		}
		resp = b
	}
	fr := &functionResponse{Name: name, Response: resp}
	if base, _ := splitCallID(m.ToolCallID); !isGeneratedID(base) {
		fr.ID = base
	}
	return part{FunctionResponse: fr}, nil
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
func (p *Provider) encodeTools(w *generateRequest, req *providers.ChatRequest) error {
	if len(req.Tools) > 0 {
		decls := make([]functionDeclaration, len(req.Tools))
		for i, t := range req.Tools {
			if t.Name == "" {
				return p.invalid("tool %d has no name", i)
			}
			d := functionDeclaration{Name: t.Name, Description: t.Description}
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
				d.Parameters = s
			}
			decls[i] = d
		}
		w.Tools = []tool{{FunctionDeclarations: decls}}
	}
	tc := req.ToolChoice
	if tc == nil {
		return nil
	}
	cfg := &functionCallingConfig{}
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
	w.ToolConfig = &toolConfig{FunctionCallingConfig: cfg}
	return nil
}

// encodeGenerationConfig maps sampling, output and reasoning settings; nil
// when none is set.
func (p *Provider) encodeGenerationConfig(req *providers.ChatRequest) (*generationConfig, error) {
	gc := generationConfig{
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
				gc.ResponseSchema = s
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
	if gc.isZero() {
		return nil, nil
	}
	return &gc, nil
}

func (gc *generationConfig) isZero() bool {
	return len(gc.StopSequences) == 0 && gc.ResponseMIMEType == "" && gc.CandidateCount == nil &&
		gc.MaxOutputTokens == nil && gc.Temperature == nil && gc.TopP == nil && gc.TopK == nil &&
		gc.Seed == nil && gc.PresencePenalty == nil && gc.FrequencyPenalty == nil && gc.ThinkingConfig == nil
}

// effortBudgets maps reasoning effort to a Gemini 2.5 thinking budget, the
// same steps Google's OpenAI-compatible endpoint uses.
var effortBudgets = map[string]int{"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}

// thinkingConfig maps ReasoningConfig. BudgetTokens becomes thinkingBudget.
// Effort "none" disables thinking (thinkingBudget 0); other efforts become
// thinkingLevel for Gemini 3+ models (or always with thinking=level) and a
// thinkingBudget from effortBudgets otherwise (or always with
// thinking=budget). Thoughts are requested whenever thinking is on.
func (p *Provider) thinkingConfig(r *providers.ReasoningConfig, model string) (*thinkingConfig, error) {
	if r.BudgetTokens > 0 {
		n := r.BudgetTokens
		return &thinkingConfig{IncludeThoughts: true, ThinkingBudget: &n}, nil
	}
	effort := strings.ToLower(r.Effort)
	switch effort {
	case "":
		return &thinkingConfig{IncludeThoughts: true}, nil
	case "none":
		zero := 0
		return &thinkingConfig{ThinkingBudget: &zero}, nil
	}
	budget, ok := effortBudgets[effort]
	if !ok {
		return nil, p.invalid("unknown reasoning effort %q", r.Effort)
	}
	useLevel := p.thinking == thinkingModeLevel || p.thinking == thinkingModeAuto && isModernModel(model)
	if useLevel {
		return &thinkingConfig{IncludeThoughts: true, ThinkingLevel: strings.ToUpper(effort)}, nil
	}
	return &thinkingConfig{IncludeThoughts: true, ThinkingBudget: &budget}, nil
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

// spliceExtra adds passthrough fields to the encoded body. Fields the
// adapter set itself win, except that an object-valued generationConfig is
// merged key by key (adapter keys win); contents is never taken from Extra.
func (p *Provider) spliceExtra(body []byte, extra map[string]json.RawMessage) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, p.invalid("passthrough: %v", err)
	}
	for k, v := range extra {
		v = bytes.TrimSpace(v)
		if !json.Valid(v) {
			return nil, p.invalid("passthrough field %q is not valid JSON", k)
		}
		switch _, set := top[k]; {
		case k == "contents":
		case k == "generationConfig" && set:
			merged, err := mergeObjects(top[k], v)
			if err != nil {
				return nil, p.invalid("passthrough field %q: %v", k, err)
			}
			top[k] = merged
		case !set:
			top[k] = v
		}
	}
	out, err := marshalCompact(top)
	if err != nil {
		return nil, p.invalid("passthrough: %v", err)
	}
	return out, nil
}

// mergeObjects returns base with the keys of extra it lacks.
func mergeObjects(base, extra json.RawMessage) (json.RawMessage, error) {
	var b, e map[string]json.RawMessage
	if err := json.Unmarshal(base, &b); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(extra, &e); err != nil {
		return nil, err
	}
	for k, v := range e {
		if _, ok := b[k]; !ok {
			b[k] = v
		}
	}
	return marshalCompact(b)
}
