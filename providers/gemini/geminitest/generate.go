package geminitest

import (
	"encoding/base64"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/tollgate-dev/tollgate/internal/apischema"

	"bytes"
	"encoding/json"
	"fmt"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
)

// exchange is one request being answered.
type exchange struct {
	g     *Gemini
	s     *settings
	w     http.ResponseWriter
	r     *http.Request
	rt    route
	body  []byte
	fault *Fault
}

// answer is what the fake replies to a generate request.
type answer struct {
	text         string
	thoughts     string
	sendThoughts bool
	call         *schema.FunctionCall
	finish       string
	prompt       int
	output       int
}

func (x *exchange) badRequest(format string, args ...any) {
	writeError(x.w, schema.Status{Code: http.StatusBadRequest, Status: "INVALID_ARGUMENT", Message: fmt.Sprintf(format, args...)}, nil)
}

// decodeStrict decodes body into v rejecting unknown fields, as upstream.
func decodeStrict(body []byte, v any) error {
	if err := schema.Unmarshal(body, v); err != nil {
		//lint:ignore ST1005 the message is Gemini's own error text, sent back verbatim in the error body.
		return fmt.Errorf("Invalid JSON payload received. %v", err)
	}
	if name := apischema.FirstUnknown(v); name != "" {
		//lint:ignore ST1005 the message is Gemini's own error text, sent back verbatim in the error body.
		return fmt.Errorf("Invalid JSON payload received. Unknown name %q: Cannot find field.", name)
	}
	return nil
}

func (x *exchange) generate(stream bool) {
	var req schema.GenerateContentRequest
	if err := decodeStrict(x.body, &req); err != nil {
		x.badRequest("%v", err)
		return
	}
	if msg := x.validate(&req); msg != "" {
		x.badRequest("%s", msg)
		return
	}
	n := 1
	if gc := req.GenerationConfig; gc != nil && gc.CandidateCount != nil {
		n = *gc.CandidateCount
	}
	a := x.plan(&req)
	if x.fault != nil && x.fault.Kind == FaultFinish {
		a.finish = x.fault.FinishReason
	}
	id := x.g.nextID("fake-resp-")
	if x.fault != nil && x.fault.Kind == FaultBlockPrompt {
		reason := x.fault.BlockReason
		if reason == "" {
			reason = "SAFETY"
		}
		out := schema.GenerateContentResponse{PromptFeedback: &schema.PromptFeedback{BlockReason: reason}, ModelVersion: x.rt.model, ResponseID: id,
			UsageMetadata: &schema.UsageMetadata{PromptTokenCount: int64(a.prompt), TotalTokenCount: int64(a.prompt)}}
		if stream {
			x.stream([]schema.GenerateContentResponse{out})
			return
		}
		x.respond(out)
		return
	}
	if stream {
		x.stream(x.events(&a, id, n))
		return
	}
	out := schema.GenerateContentResponse{ModelVersion: x.rt.model, ResponseID: id, UsageMetadata: a.usage(n), Candidates: make([]schema.Candidate, n)}
	for i := range out.Candidates {
		c := &out.Candidates[i]
		c.Index, c.FinishReason = i, a.finish
		c.Content = &schema.Content{Role: "model", Parts: a.parts(x.g)}
	}
	x.respond(out)
}

// parts renders the answer's parts; calls get a fresh signature.
func (a *answer) parts(g *Gemini) []schema.Part {
	var out []schema.Part
	if a.sendThoughts {
		out = append(out, schema.Part{Text: a.thoughts, Thought: true})
	}
	if a.call != nil {
		out = append(out, schema.Part{FunctionCall: a.call, ThoughtSignature: a.signature(g)})
		return out
	}
	return append(out, schema.Part{Text: a.text})
}

func (a *answer) signature(g *Gemini) string {
	if !g.settingsSignatures() {
		return ""
	}
	return g.issueSignature()
}

func (g *Gemini) settingsSignatures() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.set.signatures
}

func (a *answer) usage(n int) *schema.UsageMetadata {
	u := &schema.UsageMetadata{PromptTokenCount: int64(a.prompt), CandidatesTokenCount: int64(n * a.output), ThoughtsTokenCount: int64(n * tokens(a.thoughts))}
	u.TotalTokenCount = u.PromptTokenCount + u.CandidatesTokenCount + u.ThoughtsTokenCount
	return u
}

// respond writes a unary 200 answer, unless the fault turns it into an
// error status or a body cut off midway.
func (x *exchange) respond(v any) {
	switch {
	case x.fault != nil && x.fault.Kind == FaultStreamError:
		writeError(x.w, x.fault.errorOut(), x.fault.Header)
	case x.fault != nil && x.fault.Kind == FaultDieMidStream:
		b, err := apischema.Marshal(v)
		if err != nil {
			http.Error(x.w, err.Error(), http.StatusInternalServerError)
			return
		}
		x.w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		x.w.WriteHeader(http.StatusOK)
		_, _ = x.w.Write(b[:len(b)/2])
		_ = http.NewResponseController(x.w).Flush()
		fakehttp.Reset(x.w)
	default:
		writeJSON(x.w, http.StatusOK, v, nil)
	}
}

var functionName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$`)

// validate applies the checks upstream makes; it returns the error message
// of the first failure, "" when the request is valid.
func (x *exchange) validate(req *schema.GenerateContentRequest) string {
	if len(req.Contents) == 0 {
		return "* GenerateContentRequest.contents: contents is not specified\n"
	}
	for i := range req.Contents {
		c := &req.Contents[i]
		if c.Role != "" && c.Role != "user" && c.Role != "model" {
			return "Please use a valid role: user, model."
		}
		if len(c.Parts) == 0 {
			return fmt.Sprintf("* GenerateContentRequest.contents[%d].parts: contents.parts must not be empty.\n", i)
		}
		if msg := x.validateParts(req.Contents, i); msg != "" {
			return msg
		}
	}
	for i := range req.Tools {
		for j, d := range req.Tools[i].FunctionDeclarations {
			at := fmt.Sprintf("GenerateContentRequest.tools[%d].function_declarations[%d]", i, j)
			switch {
			case !functionName.MatchString(d.Name):
				return fmt.Sprintf("* %s.name: Invalid function name. Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain underscores, dots, colons and dashes, with a maximum length of 64.\n", at)
			case len(d.Parameters) > 0 && len(d.ParametersJSONSchema) > 0:
				return fmt.Sprintf("* %s: parameters and parameters_json_schema cannot both be set.\n", at)
			}
			if len(d.Parameters) > 0 {
				var ps schema.Schema
				if err := decodeStrict(d.Parameters, &ps); err != nil {
					return fmt.Sprintf("* %s.parameters: %v\n", at, err)
				}
				if strings.EqualFold(ps.Type, "object") && len(ps.Properties) == 0 {
					return fmt.Sprintf("* %s.parameters.properties: should be non-empty for OBJECT type\n", at)
				}
			}
		}
	}
	if tc := req.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		switch m := tc.FunctionCallingConfig.Mode; m {
		case "AUTO", "NONE", "VALIDATED", "":
			if len(tc.FunctionCallingConfig.AllowedFunctionNames) > 0 {
				return "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: only allowed when mode is ANY.\n"
			}
		case "ANY":
		default:
			return fmt.Sprintf("Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), %q", m)
		}
	}
	if gc := req.GenerationConfig; gc != nil {
		switch {
		case gc.CandidateCount != nil && (*gc.CandidateCount < 1 || *gc.CandidateCount > 8):
			return "* GenerateContentRequest.generation_config.candidate_count: must be between 1 and 8.\n"
		case len(gc.ResponseSchema) > 0 && len(gc.ResponseJSONSchema) > 0:
			return "* GenerateContentRequest.generation_config: response_schema and response_json_schema cannot both be set.\n"
		case (len(gc.ResponseSchema) > 0 || len(gc.ResponseJSONSchema) > 0) && gc.ResponseMIMEType != "application/json":
			return "* GenerateContentRequest.generation_config.response_mime_type: must be application/json when a response schema is set.\n"
		case gc.ThinkingConfig != nil && gc.ThinkingConfig.ThinkingBudget != nil && gc.ThinkingConfig.ThinkingLevel != "":
			return "You can only set either thinking budget or thinking level."
		}
	}
	return ""
}

// validateParts checks the parts of contents[i]: exactly one data field,
// object args and responses, named responses matching the preceding calls,
// and (Gemini 3 mode) thought signatures on replayed calls.
func (x *exchange) validateParts(contents []schema.Content, i int) string {
	c := &contents[i]
	calls, responses := 0, 0
	for j := range c.Parts {
		pt := &c.Parts[j]
		set := 0
		for _, ok := range []bool{pt.Text != "" || pt.Thought, pt.InlineData != nil, pt.FileData != nil, pt.FunctionCall != nil,
			pt.FunctionResponse != nil, len(pt.ExecutableCode) > 0, len(pt.CodeExecutionResult) > 0} {
			if ok {
				set++
			}
		}
		at := fmt.Sprintf("GenerateContentRequest.contents[%d].parts[%d]", i, j)
		switch {
		case set != 1:
			return fmt.Sprintf("* %s.data: required oneof field 'data' must have one initialized field\n", at)
		case pt.FunctionCall != nil:
			if pt.FunctionCall.Name == "" {
				return fmt.Sprintf("* %s.function_call.name: Name cannot be empty.\n", at)
			}
			if a := bytes.TrimSpace(pt.FunctionCall.Args); len(a) > 0 && a[0] != '{' {
				return fmt.Sprintf("Invalid value at 'contents[%d].parts[%d].function_call.args' (type.googleapis.com/google.protobuf.Struct)", i, j)
			}
			if calls == 0 && x.s.signatures && pt.ThoughtSignature == "" {
				return fmt.Sprintf("Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:%s` , position %d. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.", pt.FunctionCall.Name, j+1)
			}
			if x.s.signatures && pt.ThoughtSignature != "" && pt.ThoughtSignature != SkipSignatureValidator && !x.g.knownSignature(pt.ThoughtSignature) {
				return "Corrupted thought signature."
			}
			calls++
		case pt.FunctionResponse != nil:
			if pt.FunctionResponse.Name == "" {
				return fmt.Sprintf("* %s.function_response.name: Name cannot be empty.\n", at)
			}
			if r := bytes.TrimSpace(pt.FunctionResponse.Response); len(r) == 0 || r[0] != '{' {
				return fmt.Sprintf("Invalid value at 'contents[%d].parts[%d].function_response.response' (type.googleapis.com/google.protobuf.Struct)", i, j)
			}
			responses++
		case pt.InlineData != nil && pt.InlineData.MIMEType == "":
			return fmt.Sprintf("* %s.inline_data.mime_type: required field is not set.\n", at)
		case pt.InlineData != nil && !isBase64(pt.InlineData.Data):
			return fmt.Sprintf("Invalid value at 'contents[%d].parts[%d].inline_data.data' (TYPE_BYTES), Base64 decoding failed", i, j)
		case pt.FileData != nil && pt.FileData.FileURI == "":
			return fmt.Sprintf("* %s.file_data.file_uri: required field is not set.\n", at)
		}
	}
	if responses > 0 {
		prev := 0
		if i > 0 && contents[i-1].Role == "model" {
			for _, pt := range contents[i-1].Parts {
				if pt.FunctionCall != nil {
					prev++
				}
			}
		}
		if prev != responses {
			return "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."
		}
	}
	return ""
}

// plan decides the answer from the conversation.
func (x *exchange) plan(req *schema.GenerateContentRequest) answer {
	var a answer
	if req.SystemInstruction != nil {
		a.prompt += 3 + tokens(textOf(req.SystemInstruction.Parts))
	}
	for i := range req.Contents {
		a.prompt += 3 + contentTokens(&req.Contents[i])
	}
	last := &req.Contents[len(req.Contents)-1]
	text := textOf(last.Parts)
	gc := req.GenerationConfig
	if gc == nil {
		gc = &schema.GenerationConfig{}
	}
	a.finish = "STOP"
	switch results := functionResults(last); {
	case len(results) > 0:
		a.text = strings.Join(results, "; ")
	default:
		if name := chooseTool(req, text); name != "" {
			args, _ := json.Marshal(struct {
				Text string `json:"text"`
			}{text})
			a.call = &schema.FunctionCall{Name: name, Args: jsontext.Value(args)}
			if x.s.callIDs {
				a.call.ID = x.g.nextID("fc-")
			}
			a.output = tokens(name) + tokens(string(args))
			return a
		}
		switch {
		case x.s.reply != "":
			a.text = x.s.reply
		case gc.ResponseMIMEType == "application/json":
			b, _ := json.Marshal(struct {
				Text string `json:"text"`
			}{text})
			a.text = string(b)
		default:
			a.text = "echo: " + text
		}
	}
	if x.s.thoughts != "" {
		a.thoughts = x.s.thoughts
		a.sendThoughts = gc.ThinkingConfig != nil && gc.ThinkingConfig.IncludeThoughts
	}
	if gc.MaxOutputTokens != nil && tokens(a.text) > *gc.MaxOutputTokens {
		cut := max(*gc.MaxOutputTokens, 0) * 4
		for cut > 0 && !utf8.RuneStart(a.text[cut]) {
			cut--
		}
		a.text, a.finish = a.text[:cut], "MAX_TOKENS"
	}
	a.output = tokens(a.text)
	return a
}

// functionResults describes the function responses of a content.
func functionResults(c *schema.Content) []string {
	var out []string
	for _, pt := range c.Parts {
		if fr := pt.FunctionResponse; fr != nil {
			var buf bytes.Buffer
			if json.Compact(&buf, fr.Response) != nil {
				buf.Write(fr.Response)
			}
			out = append(out, fmt.Sprintf("The tool %s returned: %s", fr.Name, buf.String()))
		}
	}
	return out
}

// chooseTool returns the function to call: the allowed or first one in
// mode ANY, or the one the text names as "call <name>"; none in mode NONE.
func chooseTool(req *schema.GenerateContentRequest, text string) string {
	var names []string
	for _, t := range req.Tools {
		for _, d := range t.FunctionDeclarations {
			names = append(names, d.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	mode := "AUTO"
	var allowed []string
	if tc := req.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		mode = tc.FunctionCallingConfig.Mode
		allowed = tc.FunctionCallingConfig.AllowedFunctionNames
	}
	switch mode {
	case "NONE":
		return ""
	case "ANY":
		if len(allowed) > 0 {
			return allowed[0]
		}
		for _, n := range names {
			if strings.Contains(text, "call "+n) {
				return n
			}
		}
		return names[0]
	}
	for _, n := range names {
		if strings.Contains(text, "call "+n) {
			return n
		}
	}
	return ""
}

// textOf joins the text of parts.
func textOf(parts []schema.Part) string {
	var b strings.Builder
	for _, pt := range parts {
		if !pt.Thought {
			b.WriteString(pt.Text)
		}
	}
	return b.String()
}

func contentTokens(c *schema.Content) int {
	n := tokens(textOf(c.Parts))
	for _, pt := range c.Parts {
		if fc := pt.FunctionCall; fc != nil {
			n += tokens(fc.Name) + tokens(string(fc.Args))
		}
		if fr := pt.FunctionResponse; fr != nil {
			n += tokens(fr.Name) + tokens(string(fr.Response))
		}
		if pt.InlineData != nil || pt.FileData != nil {
			n += 258 // Gemini's flat image cost
		}
	}
	return n
}

// isBase64 reports standard or URL-safe base64, padded or not.
func isBase64(s string) bool {
	s = strings.TrimRight(s, "=")
	if _, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return true
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// tokens is the fake's token count: one token per 4 bytes, rounded up.
func tokens(s string) int { return (len(s) + 3) / 4 }

// split cuts s into at most n pieces of similar size on rune boundaries.
func split(s string, n int) []string {
	if s == "" {
		return nil
	}
	n = min(max(n, 1), utf8.RuneCountInString(s))
	out := make([]string, 0, n)
	for i := n; i > 0 && s != ""; i-- {
		cut := len(s) / i
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++
		}
		if cut == 0 {
			_, cut = utf8.DecodeRuneInString(s)
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return out
}
