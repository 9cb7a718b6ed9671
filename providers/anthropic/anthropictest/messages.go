package anthropictest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
)

// minThinkingBudget is the smallest budget_tokens the API accepts.
const minThinkingBudget = 1024

// imageTokens is the fake's token count of one image.
const imageTokens = 100

// conversation is a validated request with its content decoded.
type conversation struct {
	req    messagesRequest
	system []inBlock
	msgs   [][]inBlock
}

// answer is what the fake replies to a Messages request.
type answer struct {
	thinking     string
	signature    string
	text         string
	call         *blockOut
	stopReason   string
	stopSequence *string
	usage        usageOut
}

// parse decodes and validates a Messages or count_tokens body, writing a
// 400 and returning false when it is invalid.
func (x *exchange) parse(countOnly bool) (*conversation, bool) {
	var c conversation
	if err := json.Unmarshal(x.body, &c.req); err != nil {
		x.invalid("There was an error parsing the body of your request: %v", err)
		return nil, false
	}
	if msg := x.validate(&c, countOnly); msg != "" {
		x.invalid("%s", msg)
		return nil, false
	}
	return &c, true
}

// validate checks the rules of the API reference that clients get wrong
// most easily and returns the error message, "" when the request is valid.
func (x *exchange) validate(c *conversation, countOnly bool) string {
	req := &c.req
	if countOnly {
		var fields map[string]json.RawMessage
		_ = json.Unmarshal(x.body, &fields)
		for _, k := range []string{"max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences", "metadata"} {
			if _, ok := fields[k]; ok {
				return k + ": Extra inputs are not permitted"
			}
		}
	}
	switch {
	case req.Model == "":
		return "model: Field required"
	case !countOnly && req.MaxTokens == nil:
		return "max_tokens: Field required"
	case !countOnly && *req.MaxTokens < 1:
		return "max_tokens: Input should be greater than or equal to 1"
	case len(req.Messages) == 0:
		return "messages: at least one message is required"
	}
	if len(req.System) > 0 && string(req.System) != "null" {
		sys, err := blocks(req.System)
		if err != nil {
			return "system: " + err.Error()
		}
		for i := range sys {
			if sys[i].Type != "text" || sys[i].Text == "" {
				return fmt.Sprintf("system.%d: system blocks must be non-empty text blocks", i)
			}
		}
		c.system = sys
	}
	for i := range req.Tools {
		if req.Tools[i].Name == "" {
			return fmt.Sprintf("tools.%d.name: Field required", i)
		}
		if len(req.Tools[i].InputSchema) == 0 {
			return fmt.Sprintf("tools.%d.input_schema: Field required", i)
		}
	}
	if tc := req.ToolChoice; tc != nil {
		switch {
		case len(req.Tools) == 0 && tc.Type != "none":
			return "tool_choice: tool_choice may only be specified while providing tools"
		case tc.Type == "tool" && !slices.ContainsFunc(req.Tools, func(t inTool) bool { return t.Name == tc.Name }):
			return fmt.Sprintf("tool_choice.name: tool %q not found in tools", tc.Name)
		case tc.Type != "auto" && tc.Type != "any" && tc.Type != "tool" && tc.Type != "none":
			return "tool_choice.type: Input tag '" + tc.Type + "' is not one of 'auto', 'any', 'tool', 'none'"
		}
	}
	if th := req.Thinking; th != nil && th.Type == "enabled" {
		switch {
		case th.BudgetTokens < minThinkingBudget:
			return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
		case !countOnly && th.BudgetTokens >= *req.MaxTokens:
			return "`max_tokens` must be greater than `thinking.budget_tokens`"
		}
	}
	c.msgs = make([][]inBlock, len(req.Messages))
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role != "user" && m.Role != "assistant" {
			return fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		bs, err := blocks(m.Content)
		if err != nil {
			return fmt.Sprintf("messages.%d.content: %v", i, err)
		}
		if len(bs) == 0 {
			return fmt.Sprintf("messages.%d: all messages must have non-empty content", i)
		}
		for j := range bs {
			if msg := validateBlock(c, i, m.Role, &bs[j]); msg != "" {
				return fmt.Sprintf("messages.%d.content.%d: %s", i, j, msg)
			}
		}
		c.msgs[i] = bs
	}
	return ""
}

// validateBlock checks one content block of message i.
func validateBlock(c *conversation, i int, role string, b *inBlock) string {
	switch b.Type {
	case "text":
		if b.Text == "" {
			return "text content blocks must be non-empty"
		}
	case "image":
		if role != "user" {
			return "image blocks are only allowed in user messages"
		}
		if b.Source == nil {
			return "source: Field required"
		}
		switch b.Source.Type {
		case "base64":
			if _, err := base64.StdEncoding.DecodeString(b.Source.Data); err != nil {
				return "source.data: invalid base64 data"
			}
			switch b.Source.MediaType {
			case "image/jpeg", "image/png", "image/gif", "image/webp":
			default:
				return "source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
			}
		case "url":
			if !strings.HasPrefix(b.Source.URL, "https://") && !strings.HasPrefix(b.Source.URL, "http://") {
				return "source.url: must be an http(s) URL"
			}
		default:
			return "source.type: Input tag '" + b.Source.Type + "' is not one of 'base64', 'url'"
		}
	case "tool_use":
		if role != "assistant" {
			return "tool_use blocks are only allowed in assistant messages"
		}
		if b.ID == "" || b.Name == "" {
			return "tool_use blocks need an id and a name"
		}
		if in := strings.TrimSpace(string(b.Input)); in == "" || in[0] != '{' {
			return "input: Input should be a valid dictionary"
		}
	case "tool_result":
		if role != "user" {
			return "tool_result blocks are only allowed in user messages"
		}
		if i == 0 || !slices.ContainsFunc(c.msgs[i-1], func(p inBlock) bool { return p.Type == "tool_use" && p.ID == b.ToolUseID }) {
			return fmt.Sprintf("unexpected `tool_use_id` found in `tool_result` blocks: %s. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", b.ToolUseID)
		}
	case "thinking":
		if role != "assistant" {
			return "thinking blocks are only allowed in assistant messages"
		}
		if b.Thinking == nil {
			return "thinking: Field required"
		}
		if b.Signature != signature(*b.Thinking) {
			return "Invalid `signature` in `thinking` block"
		}
	case "redacted_thinking":
		if role != "assistant" || b.Data == "" {
			return "redacted_thinking blocks need data and are only allowed in assistant messages"
		}
	default:
		return "Input tag '" + b.Type + "' is not a known content block type"
	}
	return ""
}

// signature is the fake's signature of thinking text. Thinking blocks sent
// back must carry the signature the fake gave them.
func signature(thinking string) string {
	sum := sha256.Sum256([]byte("anthropictest\x00" + thinking))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// textOf returns the text of text blocks, and of tool_result contents.
func textOf(bs []inBlock) string {
	var b strings.Builder
	for i := range bs {
		switch bs[i].Type {
		case "text":
			b.WriteString(bs[i].Text)
		case "tool_result":
			b.WriteString(resultText(bs[i].Content))
		}
	}
	return b.String()
}

// resultText returns the text of a tool_result's content.
func resultText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	bs, err := blocks(raw)
	if err != nil {
		return ""
	}
	return textOf(bs)
}

// plan decides the answer from the conversation.
func (x *exchange) plan(c *conversation) answer {
	var a answer
	last := len(c.msgs) - 1
	for last > 0 && c.req.Messages[last].Role != "user" {
		last--
	}
	lastText := textOf(c.msgs[last])
	a.usage = x.f.promptUsage(c)

	if th := c.req.Thinking; th != nil && th.Type == "enabled" {
		a.thinking = x.s.thinking
		if a.thinking == "" {
			a.thinking = "Thinking about: " + lastText
		}
		a.signature = signature(a.thinking)
	}
	var results []string
	for _, b := range c.msgs[last] {
		if b.Type == "tool_result" {
			results = append(results, fmt.Sprintf("The tool %s returned: %s", toolName(c, last, b.ToolUseID), resultText(b.Content)))
		}
	}
	switch {
	case len(results) > 0:
		a.text = strings.Join(results, " ")
	default:
		if name := chooseTool(&c.req, lastText); name != "" {
			input, _ := json.Marshal(struct {
				Text string `json:"text"`
			}{lastText})
			h := fnv.New64a()
			_, _ = h.Write([]byte(name + "\x00" + lastText))
			a.call = &blockOut{Type: "tool_use", ID: fmt.Sprintf("toolu_fake%016x", h.Sum64()), Name: name, Input: input}
			a.stopReason = "tool_use"
			a.usage.OutputTokens = tokens(a.thinking) + tokens(name) + tokens(string(input))
			return a
		}
		if x.s.reply != "" {
			a.text = x.s.reply
		} else {
			a.text = "echo: " + lastText
		}
	}
	a.stopReason = "end_turn"
	if cut, seq := firstStop(a.text, c.req.StopSequences); seq != "" {
		a.text, a.stopReason, a.stopSequence = a.text[:cut], "stop_sequence", &seq
	}
	if limit := *c.req.MaxTokens - tokens(a.thinking); tokens(a.text) > limit {
		cut := max(limit, 0) * 4
		for cut > 0 && !utf8.RuneStart(a.text[cut]) {
			cut--
		}
		a.text, a.stopReason, a.stopSequence = a.text[:cut], "max_tokens", nil
	}
	a.usage.OutputTokens = tokens(a.thinking) + tokens(a.text)
	return a
}

// firstStop returns where the earliest stop sequence starts in text.
func firstStop(text string, stops []string) (int, string) {
	cut, seq := len(text)+1, ""
	for _, s := range stops {
		if i := strings.Index(text, s); s != "" && i >= 0 && i < cut {
			cut, seq = i, s
		}
	}
	return cut, seq
}

// chooseTool returns the tool to call: the one tool_choice names, the
// first one for "any", or the one the text asks for as "call <name>".
func chooseTool(req *messagesRequest, text string) string {
	if len(req.Tools) == 0 {
		return ""
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Type {
		case "none":
			return ""
		case "tool":
			return tc.Name
		case "any":
			for _, t := range req.Tools {
				if strings.Contains(text, "call "+t.Name) {
					return t.Name
				}
			}
			return req.Tools[0].Name
		}
	}
	for _, t := range req.Tools {
		if strings.Contains(text, "call "+t.Name) {
			return t.Name
		}
	}
	return ""
}

// toolName finds the name of tool_use id in the message before msg.
func toolName(c *conversation, msg int, id string) string {
	if msg > 0 {
		for _, b := range c.msgs[msg-1] {
			if b.Type == "tool_use" && b.ID == id {
				return b.Name
			}
		}
	}
	return "unknown"
}

// tokens is the fake's token count: one token per 4 bytes, rounded up.
func tokens(s string) int { return (len(s) + 3) / 4 }

// promptTokens counts the prompt's tokens in the order the API caches
// them (tools, system, messages). prefix is the count up to and including
// the last block with cache_control, hash identifies that prefix.
func promptTokens(c *conversation) (total, prefix int, hash uint64) {
	h := fnv.New64a()
	add := func(n int, content string, breakpoint bool) {
		total += n
		_, _ = h.Write([]byte(content))
		if breakpoint {
			prefix, hash = total, h.Sum64()
		}
	}
	for _, t := range c.req.Tools {
		add(tokens(t.Name)+tokens(t.Description)+tokens(string(t.InputSchema)), t.Name+string(t.InputSchema), false)
	}
	for _, b := range c.system {
		add(tokens(b.Text), b.Text, b.CacheControl != nil)
	}
	for i, bs := range c.msgs {
		add(3, c.req.Messages[i].Role, false)
		for j := range bs {
			b := &bs[j]
			n, content := 0, ""
			switch b.Type {
			case "text":
				n, content = tokens(b.Text), b.Text
			case "image":
				n, content = imageTokens, b.Source.Data+b.Source.URL
			case "tool_use":
				n, content = tokens(b.Name)+tokens(string(b.Input)), b.ID+string(b.Input)
			case "tool_result":
				content = b.ToolUseID + resultText(b.Content)
				n = tokens(content)
			case "thinking":
				n, content = tokens(*b.Thinking), *b.Thinking
			}
			add(n, content, b.CacheControl != nil)
		}
	}
	return total, prefix, hash
}

// promptUsage reports the prompt's tokens and simulates the prompt cache:
// the prefix up to the last cache_control breakpoint is written on first
// sight (cache_creation_input_tokens) and read afterwards
// (cache_read_input_tokens); input_tokens counts the rest.
func (f *Server) promptUsage(c *conversation) usageOut {
	total, prefix, hash := promptTokens(c)
	u := usageOut{InputTokens: total - prefix, ServiceTier: "standard"}
	if prefix > 0 {
		f.mu.Lock()
		hit := f.cached[hash]
		f.cached[hash] = true
		f.mu.Unlock()
		if hit {
			u.CacheReadInputTokens = prefix
		} else {
			u.CacheCreationInputTokens = prefix
		}
	}
	return u
}

// messages answers POST /v1/messages.
func (x *exchange) messages() {
	c, ok := x.parse(false)
	if !ok {
		return
	}
	a := x.plan(c)
	id := x.f.nextID("msg_fake")
	if c.req.Stream {
		x.stream(c, &a, id)
		return
	}
	out := messageOut{ID: id, Type: "message", Role: "assistant", Model: c.req.Model, Content: a.blocks(),
		StopReason: &a.stopReason, StopSequence: a.stopSequence, Usage: a.usage}
	switch {
	case x.fault != nil && x.fault.Kind == FaultStreamError:
		x.writeError(x.fault.Status, x.fault)
	case x.fault != nil && x.fault.Kind == FaultDieMidStream:
		b, err := json.Marshal(out)
		if err != nil {
			http.Error(x.w, err.Error(), http.StatusInternalServerError)
			return
		}
		x.w.Header().Set("Content-Type", "application/json")
		x.w.WriteHeader(http.StatusOK)
		_, _ = x.w.Write(b[:len(b)/2])
		_ = http.NewResponseController(x.w).Flush()
		fakehttp.Reset(x.w)
	default:
		x.writeJSON(http.StatusOK, out, nil)
	}
}

// blocks returns the complete content blocks of the answer.
func (a *answer) blocks() []blockOut {
	out := make([]blockOut, 0, 2)
	if a.thinking != "" {
		out = append(out, blockOut{Type: "thinking", Thinking: &a.thinking, Signature: &a.signature})
	}
	if a.call != nil {
		return append(out, *a.call)
	}
	return append(out, blockOut{Type: "text", Text: &a.text})
}

// countTokens answers POST /v1/messages/count_tokens.
func (x *exchange) countTokens() {
	c, ok := x.parse(true)
	if !ok {
		return
	}
	total, _, _ := promptTokens(c) // counting does not touch the cache
	x.writeJSON(http.StatusOK, countTokensOut{InputTokens: total}, nil)
}

// models answers GET /v1/models with after_id/limit pagination.
func (x *exchange) models() {
	q := x.r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			x.invalid("limit: Input should be between 1 and 1000")
			return
		}
		limit = n
	}
	ids := x.s.models
	if after := q.Get("after_id"); after != "" {
		i := slices.Index(ids, after)
		if i < 0 {
			x.invalid("after_id: unknown model %q", after)
			return
		}
		ids = ids[i+1:]
	}
	out := modelListOut{Data: []modelOut{}, HasMore: len(ids) > limit}
	ids = ids[:min(limit, len(ids))]
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range ids {
		out.Data = append(out.Data, modelOut{Type: "model", ID: id, DisplayName: id,
			CreatedAt: created.Add(-time.Duration(i) * 24 * time.Hour).Format(time.RFC3339)})
	}
	if len(ids) > 0 {
		out.FirstID, out.LastID = &ids[0], &ids[len(ids)-1]
	}
	x.writeJSON(http.StatusOK, out, nil)
}
