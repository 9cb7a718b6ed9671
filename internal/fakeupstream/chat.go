package fakeupstream

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
)

// exchange is one request being answered.
type exchange struct {
	o     *OpenAI
	s     *settings
	w     http.ResponseWriter
	r     *http.Request
	body  []byte
	fault *Fault
}

// answer is what the fake replies to a chat request.
type answer struct {
	text      string
	reasoning string
	call      *schema.ToolCall
	finish    string
	prompt    int
	output    int
}

// respond writes a unary 200 answer, unless the request's fault turns it
// into an error status or a body cut off midway.
func (x *exchange) respond(v any) {
	switch {
	case x.fault != nil && x.fault.Kind == FaultStreamError:
		writeError(x.w, x.fault.Status, x.fault.errorObject(), x.fault.Header)
	case x.fault != nil && x.fault.Kind == FaultDieMidStream:
		b, err := apischema.Marshal(v)
		if err != nil {
			http.Error(x.w, err.Error(), http.StatusInternalServerError)
			return
		}
		x.w.Header().Set("Content-Type", "application/json")
		x.w.WriteHeader(http.StatusOK)
		_, _ = x.w.Write(b[:len(b)/2])
		_ = http.NewResponseController(x.w).Flush()
		x.die()
	default:
		writeJSON(x.w, http.StatusOK, v, nil)
	}
}

// decode reads the request body into v; false after answering, as
// OpenAI does, a body it cannot parse with a 400 naming param.
func (x *exchange) decode(v any, param string) bool {
	if err := apischema.Unmarshal(x.body, v); err != nil {
		x.badRequest(param, "We could not parse the JSON body of your request: %v", err)
		return false
	}
	return true
}

func (x *exchange) badRequest(param, format string, args ...any) {
	writeError(x.w, http.StatusBadRequest, errorObject("invalid_request_error", param, "", fmt.Sprintf(format, args...)), nil)
}

func (x *exchange) chat() {
	var req schema.ChatCompletionRequest
	if !x.decode(&req, "") {
		return
	}
	switch {
	case req.Model == "":
		x.badRequest("model", "you must provide a model parameter")
		return
	case len(req.Messages) == 0:
		x.badRequest("messages", "[] is too short - 'messages'")
		return
	case req.StreamOptions != nil && x.s.quirks.RejectStreamOptions:
		writeError(x.w, http.StatusUnprocessableEntity, errorObject("invalid_request_error", "stream_options", "extra_forbidden",
			"Extra inputs are not permitted: stream_options"), nil)
		return
	case req.MaxCompletionTokens != nil && x.s.quirks.RejectMaxCompletionTokens:
		x.badRequest("max_completion_tokens", "Unrecognized request argument supplied: max_completion_tokens")
		return
	case req.StreamOptions != nil && !req.Stream:
		x.badRequest("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
		return
	case req.MaxTokens != nil && req.MaxCompletionTokens != nil:
		x.badRequest("max_tokens", "max_tokens and max_completion_tokens cannot both be set")
		return
	case req.TopLogprobs != nil && (req.Logprobs == nil || !*req.Logprobs):
		x.badRequest("top_logprobs", "top_logprobs requires logprobs to be true")
		return
	}
	n := 1
	if req.N != nil {
		n = *req.N
	}
	if n < 1 || n > 8 {
		x.badRequest("n", "n must be between 1 and 8")
		return
	}
	a, err := x.plan(&req)
	if err != nil {
		x.badRequest("messages", "%v", err)
		return
	}
	id := x.o.nextID("chatcmpl-fake")
	if req.Stream {
		x.stream(&req, &a, id, n)
		return
	}
	fp := "fp_fake"
	out := schema.ChatCompletion{ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: req.Model,
		Choices: make([]schema.Choice, n), Usage: a.usage(n), ServiceTier: "default", SystemFingerprint: apischema.ValueOf(&fp)}
	for i := range out.Choices {
		c := &out.Choices[i]
		c.Index, c.FinishReason = i, a.finish
		c.Message = schema.ResponseMessage{Role: "assistant", ReasoningContent: a.reasoning, Annotations: []byte("[]")}
		if a.call != nil {
			c.Message.ToolCalls = []schema.ToolCall{*a.call}
		} else {
			text := a.text
			c.Message.Content = apischema.ValueOf(&text)
		}
		if req.Logprobs != nil && *req.Logprobs {
			c.Logprobs = logprobsOf(a.text)
		}
	}
	x.respond(&out)
}

// logprobsOf returns the logprobs object of text: one token per word,
// each with log probability -0.5.
func logprobsOf(text string) []byte {
	type entry struct {
		Token       string  `json:"token"`
		Logprob     float64 `json:"logprob"`
		Bytes       []int   `json:"bytes"`
		TopLogprobs []int   `json:"top_logprobs"`
	}
	var content []entry
	for _, w := range strings.Fields(text) {
		b := make([]int, len(w))
		for i := range len(w) {
			b[i] = int(w[i])
		}
		content = append(content, entry{Token: w, Logprob: -0.5, Bytes: b, TopLogprobs: []int{}})
	}
	out, _ := json.Marshal(map[string]any{"content": content, "refusal": nil})
	return out
}

// messageText returns the message's text, and the names of the files it
// carries: the string content, or the text parts of an array joined.
func messageText(m *schema.Message) (string, []string) {
	c := &m.Content
	if c.Text != nil {
		return *c.Text, nil
	}
	var b strings.Builder
	var files []string
	for _, p := range c.Parts {
		switch p.Type {
		case schema.PartText:
			b.WriteString(p.Text)
		case schema.PartFile:
			if p.File != nil {
				name := p.File.Filename
				if name == "" {
					name = p.File.FileID
				}
				files = append(files, name)
			}
		}
	}
	return b.String(), files
}

// plan decides the answer from the conversation.
func (x *exchange) plan(req *schema.ChatCompletionRequest) (answer, error) {
	var a answer
	texts := make([]string, len(req.Messages))
	var files []string
	for i := range req.Messages {
		m := &req.Messages[i]
		switch m.Role {
		case schema.RoleSystem, schema.RoleDeveloper, schema.RoleUser, schema.RoleAssistant:
		case schema.RoleTool:
			if m.ToolCallID == "" {
				return a, fmt.Errorf("messages[%d]: tool messages need tool_call_id", i)
			}
		default:
			return a, fmt.Errorf("messages[%d]: invalid role %q", i, m.Role)
		}
		for j, p := range m.Content.Parts {
			if p.Type == schema.PartFile && (p.File == nil || p.File.FileData == "" && p.File.FileID == "") {
				return a, fmt.Errorf("messages[%d].content[%d].file: file_data or file_id is required", i, j)
			}
		}
		t, fs := messageText(m)
		texts[i] = t
		files = append(files, fs...)
		a.prompt += 3 + tokens(t)
		for _, c := range m.ToolCalls {
			if c.Function != nil {
				a.prompt += tokens(c.Function.Name) + tokens(c.Function.Arguments)
			}
		}
	}
	last := len(req.Messages) - 1
	lastMsg := &req.Messages[last]
	switch {
	case lastMsg.Role == schema.RoleUser && len(req.Tools) > 0:
		if name := chooseTool(req, texts[last]); name != "" {
			args, _ := json.Marshal(struct {
				Text string `json:"text"`
			}{texts[last]})
			h := fnv.New64a()
			_, _ = h.Write([]byte(name + "\x00" + texts[last]))
			a.call = &schema.ToolCall{ID: fmt.Sprintf("call_%016x", h.Sum64()), Type: "function",
				Function: &schema.FunctionCall{Name: name, Arguments: string(args)}}
			a.finish = schema.FinishToolCalls
			a.output = tokens(name) + tokens(string(args))
			return a, nil
		}
		a.text = x.replyTo(req, texts[last])
	case lastMsg.Role == schema.RoleTool:
		a.text = fmt.Sprintf("The tool %s returned: %s", toolName(req.Messages, lastMsg.ToolCallID), texts[last])
	default:
		a.text = x.replyTo(req, texts[last])
	}
	for _, f := range files {
		a.text += " [file: " + f + "]"
	}
	a.reasoning = x.s.reasoning
	a.finish = schema.FinishStop
	limit := req.MaxCompletionTokens
	if limit == nil {
		limit = req.MaxTokens
	}
	if limit != nil && tokens(a.text) > *limit {
		cut := max(*limit, 0) * 4
		for cut > 0 && !utf8.RuneStart(a.text[cut]) {
			cut--
		}
		a.text, a.finish = a.text[:cut], schema.FinishLength
	}
	a.output = tokens(a.reasoning) + tokens(a.text)
	return a, nil
}

func (x *exchange) replyTo(req *schema.ChatCompletionRequest, text string) string {
	if x.s.reply != "" {
		return x.s.reply
	}
	if rf := req.ResponseFormat; rf != nil && (rf.Type == "json_schema" || rf.Type == "json_object") {
		// Structured output: {"text":"<last user text>"}, as the
		// Anthropic and Gemini fakes answer.
		b, _ := json.Marshal(struct {
			Text string `json:"text"`
		}{text})
		return string(b)
	}
	return "echo: " + text
}

// chooseTool returns the tool to call: the one tool_choice forces, the first
// one for "required", or the one the text names as "call <name>".
func chooseTool(req *schema.ChatCompletionRequest, text string) string {
	var mode string
	if tc := req.ToolChoice; tc != nil {
		if tc.Function != nil && tc.Function.Name != "" {
			return tc.Function.Name
		}
		mode = tc.Mode
	}
	switch mode {
	case schema.ChoiceNone:
		return ""
	case schema.ChoiceRequired:
		if f := req.Tools[0].Function; f != nil {
			return f.Name
		}
	}
	for _, t := range req.Tools {
		if t.Function != nil && t.Function.Name != "" && strings.Contains(text, "call "+t.Function.Name) {
			return t.Function.Name
		}
	}
	return ""
}

// toolName finds the name of the call id among earlier assistant messages.
func toolName(msgs []schema.Message, id string) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, c := range msgs[i].ToolCalls {
			if c.ID == id && c.Function != nil {
				return c.Function.Name
			}
		}
	}
	return "unknown"
}

// tokens is the fake's token count: one token per 4 bytes, rounded up.
func tokens(s string) int { return (len(s) + 3) / 4 }

func (a *answer) usage(n int) *schema.Usage {
	zero := int64(0)
	u := &schema.Usage{PromptTokens: int64(a.prompt), CompletionTokens: int64(n * a.output),
		PromptTokensDetails:     &schema.PromptTokensDetails{AudioTokens: &zero},
		CompletionTokensDetails: &schema.CompletionTokensDetails{ReasoningTokens: int64(n * tokens(a.reasoning)), AudioTokens: &zero, AcceptedPredictionTokens: &zero, RejectedPredictionTokens: &zero}}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

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
