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

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
)

// minThinkingBudget is the smallest budget_tokens the API accepts.
const minThinkingBudget = 1024

// imageTokens is the fake's token count of one image; documentTokens of
// one document that is not plain text.
const (
	imageTokens    = 100
	documentTokens = 1500
)

// conversation is a validated request with its content decoded.
type conversation struct {
	req    schema.MessagesRequest
	system []schema.ContentBlock
	msgs   [][]schema.ContentBlock
}

// answer is what the fake replies to a Messages request.
type answer struct {
	thinking     string
	signature    string
	text         string
	call         *schema.ContentBlock
	stopReason   string
	stopSequence *string
	usage        schema.Usage
	inputTokens  int64
	outputTokens int64
}

// parse decodes and validates a Messages or count_tokens body, writing a
// 400 and returning false when it is invalid.
func (x *exchange) parse(countOnly bool) (*conversation, bool) {
	var c conversation
	if err := apischema.Unmarshal(x.body, &c.req); err != nil {
		x.invalid("There was an error parsing the body of your request: %v", err)
		return nil, false
	}
	if msg := x.validate(&c, countOnly); msg != "" {
		x.invalid("%s", msg)
		return nil, false
	}
	return &c, true
}

// blocksOf returns string or array content as blocks; a string becomes
// one text block.
func blocksOf(b *schema.Blocks) []schema.ContentBlock {
	if b.Text != nil {
		return []schema.ContentBlock{schema.TextBlock(*b.Text)}
	}
	return b.List
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
	if req.System != nil {
		if len(req.System.Raw) > 0 {
			return "system: Input should be a valid string or list"
		}
		sys := blocksOf(req.System)
		for i := range sys {
			if sys[i].Type != schema.BlockText || sys[i].Text == "" {
				return fmt.Sprintf("system.%d: system blocks must be non-empty text blocks", i)
			}
		}
		c.system = sys
	}
	for i := range req.Tools {
		t := &req.Tools[i]
		if t.Name == "" {
			return fmt.Sprintf("tools.%d.name: Field required", i)
		}
		if t.IsClient() && len(t.InputSchema) == 0 {
			return fmt.Sprintf("tools.%d.input_schema: Field required", i)
		}
	}
	if tc := req.ToolChoice; tc != nil {
		switch {
		case len(req.Tools) == 0 && tc.Type != schema.ChoiceNone:
			return "tool_choice: tool_choice may only be specified while providing tools"
		case tc.Type == schema.ChoiceTool && !slices.ContainsFunc(req.Tools, func(t schema.Tool) bool { return t.Name == tc.Name }):
			return fmt.Sprintf("tool_choice.name: tool %q not found in tools", tc.Name)
		case tc.Type != schema.ChoiceAuto && tc.Type != schema.ChoiceAny && tc.Type != schema.ChoiceTool && tc.Type != schema.ChoiceNone:
			return "tool_choice.type: Input tag '" + tc.Type + "' is not one of 'auto', 'any', 'tool', 'none'"
		}
	}
	if th := req.Thinking; th != nil && th.Type == schema.ThinkingEnabled {
		budget := 0
		if th.BudgetTokens != nil {
			budget = *th.BudgetTokens
		}
		switch {
		case budget < minThinkingBudget:
			return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
		case !countOnly && budget >= *req.MaxTokens:
			return "`max_tokens` must be greater than `thinking.budget_tokens`"
		}
		if tc := req.ToolChoice; tc != nil && (tc.Type == schema.ChoiceAny || tc.Type == schema.ChoiceTool) {
			return "Thinking may not be enabled when tool_choice forces tool use."
		}
	}
	c.msgs = make([][]schema.ContentBlock, len(req.Messages))
	for i := range req.Messages {
		m := &req.Messages[i]
		if m.Role != schema.RoleUser && m.Role != schema.RoleAssistant {
			return fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		if len(m.Content.Raw) > 0 || m.Content.IsZero() {
			return fmt.Sprintf("messages.%d.content: Input should be a valid string or list", i)
		}
		bs := blocksOf(&m.Content)
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
func validateBlock(c *conversation, i int, role string, b *schema.ContentBlock) string {
	switch b.Type {
	case schema.BlockText:
		if b.Text == "" {
			return "text content blocks must be non-empty"
		}
	case schema.BlockImage:
		if role != schema.RoleUser {
			return "image blocks are only allowed in user messages"
		}
		return validateSource(b.Source, []string{schema.SourceBase64, schema.SourceURL, schema.SourceFile},
			[]string{"image/jpeg", "image/png", "image/gif", "image/webp"})
	case schema.BlockDocument:
		if role != schema.RoleUser {
			return "document blocks are only allowed in user messages"
		}
		if b.Source != nil && b.Source.Type == schema.SourceText {
			if b.Source.MediaType != "text/plain" {
				return "source.media_type: Input should be 'text/plain'"
			}
			return ""
		}
		if b.Source != nil && b.Source.Type == schema.SourceContent {
			if b.Source.Content == nil || b.Source.Content.IsZero() {
				return "source.content: Field required"
			}
			return ""
		}
		return validateSource(b.Source, []string{schema.SourceBase64, schema.SourceURL, schema.SourceFile}, []string{"application/pdf"})
	case schema.BlockSearchResult:
		if b.Source == nil || b.Source.String == nil || b.Title == "" || b.Content == nil {
			return "search_result blocks need source, title and content"
		}
	case schema.BlockToolUse, schema.BlockServerToolUse:
		if role != schema.RoleAssistant {
			return b.Type + " blocks are only allowed in assistant messages"
		}
		if b.ID == "" || b.Name == "" {
			return b.Type + " blocks need an id and a name"
		}
		if in := strings.TrimSpace(string(b.Input)); in == "" || in[0] != '{' {
			return "input: Input should be a valid dictionary"
		}
	case schema.BlockToolResult:
		if role != schema.RoleUser {
			return "tool_result blocks are only allowed in user messages"
		}
		if i == 0 || !slices.ContainsFunc(c.msgs[i-1], func(p schema.ContentBlock) bool { return p.Type == schema.BlockToolUse && p.ID == b.ToolUseID }) {
			return fmt.Sprintf("unexpected `tool_use_id` found in `tool_result` blocks: %s. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", b.ToolUseID)
		}
		if b.Content != nil {
			for k := range b.Content.List {
				switch b.Content.List[k].Type {
				case schema.BlockText, schema.BlockImage, schema.BlockDocument, schema.BlockSearchResult:
				default:
					return fmt.Sprintf("content.%d: Input tag '%s' is not allowed in a tool_result", k, b.Content.List[k].Type)
				}
			}
		}
	case schema.BlockThinking:
		if role != schema.RoleAssistant {
			return "thinking blocks are only allowed in assistant messages"
		}
		if b.Signature != signature(b.Thinking) {
			return "Invalid `signature` in `thinking` block"
		}
	case schema.BlockRedactedThinking:
		if role != schema.RoleAssistant || b.Data == "" {
			return "redacted_thinking blocks need data and are only allowed in assistant messages"
		}
	default:
		if strings.HasSuffix(b.Type, "_tool_result") && role == schema.RoleAssistant {
			return "" // results of server tools, replayed
		}
		return "Input tag '" + b.Type + "' is not a known content block type"
	}
	return ""
}

// validateSource checks an image's or a document's source.
func validateSource(src *schema.Source, types, mediaTypes []string) string {
	if src == nil {
		return "source: Field required"
	}
	if !slices.Contains(types, src.Type) {
		return "source.type: Input tag '" + src.Type + "' is not one of " + strings.Join(types, ", ")
	}
	switch src.Type {
	case schema.SourceBase64:
		if _, err := base64.StdEncoding.DecodeString(src.Data); err != nil || src.Data == "" {
			return "source.data: invalid base64 data"
		}
		if !slices.Contains(mediaTypes, src.MediaType) {
			return "source.media_type: Input should be " + strings.Join(mediaTypes, ", ")
		}
	case schema.SourceURL:
		if !strings.HasPrefix(src.URL, "https://") && !strings.HasPrefix(src.URL, "http://") {
			return "source.url: must be an http(s) URL"
		}
	case schema.SourceFile:
		if src.FileID == "" {
			return "source.file_id: Field required"
		}
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
func textOf(bs []schema.ContentBlock) string {
	var b strings.Builder
	for i := range bs {
		switch bs[i].Type {
		case schema.BlockText:
			b.WriteString(bs[i].Text)
		case schema.BlockToolResult:
			b.WriteString(resultText(bs[i].Content))
		}
	}
	return b.String()
}

// documents returns how the fake names the documents of bs: their title,
// else their source.
func documents(bs []schema.ContentBlock) []string {
	var out []string
	for i := range bs {
		b := &bs[i]
		if b.Type != schema.BlockDocument || b.Source == nil {
			continue
		}
		name := b.Title
		if name == "" {
			switch b.Source.Type {
			case schema.SourceURL:
				name = b.Source.URL
			case schema.SourceFile:
				name = b.Source.FileID
			default:
				name = b.Source.Type + " " + b.Source.MediaType
			}
		}
		out = append(out, name)
	}
	return out
}

// resultText returns the text of a tool_result's content.
func resultText(c *schema.Blocks) string {
	if c == nil {
		return ""
	}
	return textOf(blocksOf(c))
}

// plan decides the answer from the conversation.
func (x *exchange) plan(c *conversation) answer {
	var a answer
	last := len(c.msgs) - 1
	for last > 0 && c.req.Messages[last].Role != schema.RoleUser {
		last--
	}
	lastText := textOf(c.msgs[last])
	a.usage, a.inputTokens = x.f.promptUsage(c)

	if th := c.req.Thinking; th != nil && th.Type == schema.ThinkingEnabled {
		a.thinking = x.s.thinking
		if a.thinking == "" {
			a.thinking = "Thinking about: " + lastText
		}
		a.signature = signature(a.thinking)
	}
	var results []string
	for _, b := range c.msgs[last] {
		if b.Type == schema.BlockToolResult {
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
			a.call = &schema.ContentBlock{Type: schema.BlockToolUse, ID: fmt.Sprintf("toolu_fake%016x", h.Sum64()), Name: name, Input: input}
			a.stopReason = schema.StopToolUse
			a.outputTokens = int64(tokens(a.thinking) + tokens(name) + tokens(string(input)))
			a.usage.OutputTokens = &a.outputTokens
			return a
		}
		if x.s.reply != "" {
			a.text = x.s.reply
		} else {
			a.text = "echo: " + lastText
		}
	}
	for _, d := range documents(c.msgs[last]) {
		a.text += " [document: " + d + "]"
	}
	a.stopReason = schema.StopEndTurn
	if cut, seq := firstStop(a.text, c.req.StopSequences); seq != "" {
		a.text, a.stopReason, a.stopSequence = a.text[:cut], schema.StopSequence, &seq
	}
	if limit := *c.req.MaxTokens - tokens(a.thinking); tokens(a.text) > limit {
		cut := max(limit, 0) * 4
		for cut > 0 && !utf8.RuneStart(a.text[cut]) {
			cut--
		}
		a.text, a.stopReason, a.stopSequence = a.text[:cut], schema.StopMaxTokens, nil
	}
	a.outputTokens = int64(tokens(a.thinking) + tokens(a.text))
	a.usage.OutputTokens = &a.outputTokens
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

// chooseTool returns the client tool to call: the one tool_choice names,
// the first one for "any", or the one the text asks for as "call <name>".
func chooseTool(req *schema.MessagesRequest, text string) string {
	var tools []string
	for i := range req.Tools {
		if req.Tools[i].IsClient() {
			tools = append(tools, req.Tools[i].Name)
		}
	}
	if len(tools) == 0 {
		return ""
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Type {
		case schema.ChoiceNone:
			return ""
		case schema.ChoiceTool:
			return tc.Name
		case schema.ChoiceAny:
			for _, t := range tools {
				if strings.Contains(text, "call "+t) {
					return t
				}
			}
			return tools[0]
		}
	}
	for _, t := range tools {
		if strings.Contains(text, "call "+t) {
			return t
		}
	}
	return ""
}

// toolName finds the name of tool_use id in the message before msg.
func toolName(c *conversation, msg int, id string) string {
	if msg > 0 {
		for _, b := range c.msgs[msg-1] {
			if b.Type == schema.BlockToolUse && b.ID == id {
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
		add(tokens(t.Name)+tokens(t.Description)+tokens(string(t.InputSchema)), t.Name+string(t.InputSchema), t.CacheControl != nil)
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
			case schema.BlockText:
				n, content = tokens(b.Text), b.Text
			case schema.BlockImage:
				n, content = imageTokens, b.Source.Data+b.Source.URL+b.Source.FileID
			case schema.BlockDocument:
				n, content = documentTokens, b.Source.Data+b.Source.URL+b.Source.FileID
				if b.Source.Type == schema.SourceText {
					n = tokens(b.Source.Data)
				}
			case schema.BlockToolUse:
				n, content = tokens(b.Name)+tokens(string(b.Input)), b.ID+string(b.Input)
			case schema.BlockToolResult:
				content = b.ToolUseID + resultText(b.Content)
				n = tokens(content)
			case schema.BlockThinking:
				n, content = tokens(b.Thinking), b.Thinking
			}
			add(n, content, b.CacheControl != nil)
		}
	}
	return total, prefix, hash
}

// promptUsage reports the prompt's tokens and simulates the prompt cache:
// the prefix up to the last cache_control breakpoint is written on first
// sight (cache_creation_input_tokens) and read afterwards
// (cache_read_input_tokens); input_tokens counts the rest. It also
// returns the input tokens.
func (f *Server) promptUsage(c *conversation) (schema.Usage, int64) {
	total, prefix, hash := promptTokens(c)
	in := int64(total - prefix)
	var read, write int64
	if prefix > 0 {
		f.mu.Lock()
		hit := f.cached[hash]
		f.cached[hash] = true
		f.mu.Unlock()
		if hit {
			read = int64(prefix)
		} else {
			write = int64(prefix)
		}
	}
	return schema.Usage{InputTokens: &in, CacheCreationInputTokens: &write, CacheReadInputTokens: &read, ServiceTier: "standard"}, in
}

// messages answers POST /v1/messages.
func (x *exchange) messages() {
	c, ok := x.parse(false)
	if !ok {
		return
	}
	a := x.plan(c)
	id := x.f.nextID("msg_fake")
	if c.req.Stream != nil && *c.req.Stream {
		x.stream(c, &a, id)
		return
	}
	out := &schema.Message{ID: id, Type: "message", Role: schema.RoleAssistant, Model: c.req.Model, Content: a.blocks(),
		StopReason: apischema.ValueOf(&a.stopReason), StopSequence: apischema.Nullable[string]{V: a.stopSequence, Null: a.stopSequence == nil},
		Usage: a.usage}
	switch {
	case x.fault != nil && x.fault.Kind == FaultStreamError:
		x.writeError(x.fault.Status, x.fault)
	case x.fault != nil && x.fault.Kind == FaultDieMidStream:
		b, err := apischema.Marshal(out)
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
func (a *answer) blocks() []schema.ContentBlock {
	out := make([]schema.ContentBlock, 0, 2)
	if a.thinking != "" {
		out = append(out, schema.ContentBlock{Type: schema.BlockThinking, Thinking: a.thinking, Signature: a.signature})
	}
	if a.call != nil {
		return append(out, *a.call)
	}
	return append(out, schema.TextBlock(a.text))
}

// countTokens answers POST /v1/messages/count_tokens.
func (x *exchange) countTokens() {
	c, ok := x.parse(true)
	if !ok {
		return
	}
	total, _, _ := promptTokens(c) // counting does not touch the cache
	x.writeJSON(http.StatusOK, &schema.CountTokensResponse{InputTokens: int64(total)}, nil)
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
	out := &schema.ModelList{Data: []schema.ModelInfo{}, HasMore: len(ids) > limit, FirstID: apischema.NullOf[string](), LastID: apischema.NullOf[string]()}
	ids = ids[:min(limit, len(ids))]
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range ids {
		out.Data = append(out.Data, schema.ModelInfo{Type: "model", ID: id, DisplayName: id,
			CreatedAt: created.Add(-time.Duration(i) * 24 * time.Hour).Format(time.RFC3339)})
	}
	if len(ids) > 0 {
		out.FirstID, out.LastID = apischema.ValueOf(&ids[0]), apischema.ValueOf(&ids[len(ids)-1])
	}
	x.writeJSON(http.StatusOK, out, nil)
}
