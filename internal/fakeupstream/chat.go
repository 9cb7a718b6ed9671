package fakeupstream

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
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
	call      *toolCallOut
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
		b, err := json.Marshal(v)
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

func (x *exchange) badRequest(param, format string, args ...any) {
	e := errorBody{Type: "invalid_request_error", Message: fmt.Sprintf(format, args...)}
	if param != "" {
		e.Param = &param
	}
	writeError(x.w, http.StatusBadRequest, e, nil)
}

func (x *exchange) chat() {
	var req chatRequest
	if err := json.Unmarshal(x.body, &req); err != nil {
		x.badRequest("", "We could not parse the JSON body of your request: %v", err)
		return
	}
	switch {
	case req.Model == "":
		x.badRequest("model", "you must provide a model parameter")
		return
	case len(req.Messages) == 0:
		x.badRequest("messages", "[] is too short - 'messages'")
		return
	case req.StreamOptions != nil && !req.Stream:
		x.badRequest("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
		return
	case req.MaxTokens != nil && req.MaxCompletionTokens != nil:
		x.badRequest("max_tokens", "max_tokens and max_completion_tokens cannot both be set")
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
	out := completionOut{ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: req.Model,
		Choices: make([]choiceOut, n), Usage: a.usage(n), ServiceTier: "default", SystemFingerprint: "fp_fake"}
	for i := range out.Choices {
		c := &out.Choices[i]
		c.Index, c.FinishReason = i, a.finish
		c.Message = messageOut{Role: "assistant", ReasoningContent: a.reasoning, Annotations: []struct{}{}}
		if a.call != nil {
			c.Message.ToolCalls = []toolCallOut{*a.call}
		} else {
			c.Message.Content = &a.text
		}
	}
	x.respond(out)
}

// plan decides the answer from the conversation.
func (x *exchange) plan(req *chatRequest) (answer, error) {
	var a answer
	texts := make([]string, len(req.Messages))
	for i := range req.Messages {
		m := &req.Messages[i]
		switch m.Role {
		case "system", "developer", "user", "assistant":
		case "tool":
			if m.ToolCallID == "" {
				return a, fmt.Errorf("messages[%d]: tool messages need tool_call_id", i)
			}
		default:
			return a, fmt.Errorf("messages[%d]: invalid role %q", i, m.Role)
		}
		t, err := m.text()
		if err != nil {
			return a, fmt.Errorf("messages[%d].content: %w", i, err)
		}
		texts[i] = t
		a.prompt += 3 + tokens(t)
		for _, c := range m.ToolCalls {
			a.prompt += tokens(c.Function.Name) + tokens(c.Function.Arguments)
		}
	}
	last := len(req.Messages) - 1
	lastMsg := &req.Messages[last]
	switch {
	case lastMsg.Role == "user" && len(req.Tools) > 0:
		if name := chooseTool(req, texts[last]); name != "" {
			args, _ := json.Marshal(struct {
				Text string `json:"text"`
			}{texts[last]})
			h := fnv.New64a()
			_, _ = h.Write([]byte(name + "\x00" + texts[last]))
			a.call = &toolCallOut{ID: fmt.Sprintf("call_%016x", h.Sum64()), Type: "function"}
			a.call.Function.Name, a.call.Function.Arguments = name, string(args)
			a.finish = "tool_calls"
			a.output = tokens(name) + tokens(string(args))
			return a, nil
		}
		a.text = x.replyTo(texts[last])
	case lastMsg.Role == "tool":
		a.text = fmt.Sprintf("The tool %s returned: %s", toolName(req.Messages, lastMsg.ToolCallID), texts[last])
	default:
		a.text = x.replyTo(texts[last])
	}
	a.reasoning = x.s.reasoning
	a.finish = "stop"
	limit := req.MaxCompletionTokens
	if limit == nil {
		limit = req.MaxTokens
	}
	if limit != nil && tokens(a.text) > *limit {
		cut := max(*limit, 0) * 4
		for cut > 0 && !utf8.RuneStart(a.text[cut]) {
			cut--
		}
		a.text, a.finish = a.text[:cut], "length"
	}
	a.output = tokens(a.reasoning) + tokens(a.text)
	return a, nil
}

func (x *exchange) replyTo(text string) string {
	if x.s.reply != "" {
		return x.s.reply
	}
	return "echo: " + text
}

// chooseTool returns the tool to call: the one tool_choice forces, the first
// one for "required", or the one the text names as "call <name>".
func chooseTool(req *chatRequest, text string) string {
	var mode string
	var forced struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if len(req.ToolChoice) > 0 && req.ToolChoice[0] == '"' {
		_ = json.Unmarshal(req.ToolChoice, &mode)
	} else if len(req.ToolChoice) > 0 && json.Unmarshal(req.ToolChoice, &forced) == nil && forced.Function.Name != "" {
		return forced.Function.Name
	}
	switch mode {
	case "none":
		return ""
	case "required":
		return req.Tools[0].Function.Name
	}
	for _, t := range req.Tools {
		if name := t.Function.Name; name != "" && strings.Contains(text, "call "+name) {
			return name
		}
	}
	return ""
}

// toolName finds the name of the call id among earlier assistant messages.
func toolName(msgs []chatMessage, id string) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, c := range msgs[i].ToolCalls {
			if c.ID == id {
				return c.Function.Name
			}
		}
	}
	return "unknown"
}

// tokens is the fake's token count: one token per 4 bytes, rounded up.
func tokens(s string) int { return (len(s) + 3) / 4 }

func (a *answer) usage(n int) usageOut {
	u := usageOut{PromptTokens: a.prompt, CompletionTokens: n * a.output}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	u.CompletionTokensDetails.ReasoningTokens = n * tokens(a.reasoning)
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
