package providers

import (
	"encoding/json"
	"time"
)

// Role is the author of a message.
type Role string

// The roles.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// PartType is the kind of a content part.
type PartType uint8

// The part types.
const (
	PartText PartType = iota + 1
	PartImage
	PartReasoning
	// PartFile is a document or file input (a PDF, a plain-text document).
	PartFile
)

// Part is one piece of message content.
type Part struct {
	// Type says which of the fields below is set.
	Type PartType
	// Text is the text of a PartText, or visible reasoning of a PartReasoning.
	Text string
	// Image is the image of a PartImage.
	Image *Image
	// File is the document of a PartFile.
	File *File
	// Signature is the provider's signature of a PartReasoning.
	Signature string
	// RedactedData is opaque hidden reasoning of a PartReasoning.
	RedactedData string
	// CacheBreakpoint asks providers with prompt caching (Anthropic
	// cache_control) to cache the prompt up to and including this part.
	CacheBreakpoint bool
}

// TextPart returns a text part.
func TextPart(s string) Part { return Part{Type: PartText, Text: s} }

// TextContents hands out the one-part text contents of a request's
// messages from one array: a decoder makes it with the number of such
// messages, and a conversation of any length then costs one allocation
// for them instead of one each. Each content is capped at its one part,
// so an append to it reallocates instead of reaching the next.
type TextContents []Part

// Next returns the content of text s, from the array while it has room.
func (t *TextContents) Next(s string) []Part {
	if len(*t) == 0 {
		return []Part{TextPart(s)}
	}
	c := (*t)[:1:1]
	*t = (*t)[1:]
	c[0] = TextPart(s)
	return c
}

// Image is an image by URL or inline bytes.
type Image struct {
	// URL is an https or data: URL; empty when Data is set.
	URL string
	// MIMEType is the media type of Data.
	MIMEType string
	// Data holds inline bytes.
	Data []byte
	// Detail is a resolution hint: "auto", "low" or "high".
	Detail string
}

// File is a document given to the model: a PDF (or another file type the
// upstream reads) as inline base64 data, by URL or by an upstream file id,
// or a plain-text document. Exactly one of Base64, URL, FileID and Text is
// set.
type File struct {
	// MIMEType is the media type, e.g. "application/pdf" or "text/plain".
	MIMEType string
	// Base64 is the inline content, base64-encoded (kept encoded: every
	// dialect sends it that way).
	Base64 string
	// URL is an http(s) URL of the file.
	URL string
	// FileID is an id of an upstream's Files API; it means something only
	// to upstreams of FileDialect.
	FileID      string
	FileDialect string
	// Text is a plain-text document's text.
	Text string
	// Filename is the file's name; Title and Context describe the
	// document (Anthropic's title and context).
	Filename string
	Title    string
	Context  string
	// Citations asks for citations of the document, where supported.
	Citations bool
}

// Name returns the file's name, else its title, else "document".
func (f *File) Name() string {
	switch {
	case f.Filename != "":
		return f.Filename
	case f.Title != "":
		return f.Title
	}
	return "document"
}

// Message is one turn of a conversation.
type Message struct {
	Role       Role
	Content    []Part
	ToolCalls  []ToolCall
	ToolCallID string
	Name       string
}

// Text returns the concatenated text parts of the message.
func (m *Message) Text() string {
	if len(m.Content) == 1 && m.Content[0].Type == PartText {
		return m.Content[0].Text
	}
	var n int
	for _, p := range m.Content {
		if p.Type == PartText {
			n += len(p.Text)
		}
	}
	b := make([]byte, 0, n)
	for _, p := range m.Content {
		if p.Type == PartText {
			b = append(b, p.Text...)
		}
	}
	return string(b)
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments; nil means none.
	Parameters json.RawMessage
	Strict     bool
}

// ValidToolName reports whether s is a tool name every upstream accepts:
// 1 to 64 characters of a-z, A-Z, 0-9, '_' and '-'.
func ValidToolName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ToolChoiceMode is the general tool-calling policy.
type ToolChoiceMode string

// The tool choice modes.
const (
	ToolChoiceAuto     ToolChoiceMode = "auto"
	ToolChoiceNone     ToolChoiceMode = "none"
	ToolChoiceRequired ToolChoiceMode = "required"
	// ToolChoiceFunction forces a call of ToolChoice.Name.
	ToolChoiceFunction ToolChoiceMode = "function"
)

// ToolChoice controls tool calling.
type ToolChoice struct {
	Mode ToolChoiceMode
	// Name is the function for ToolChoiceFunction.
	Name string
}

// ToolCall is a call of a tool made by the model.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is JSON text as produced by the model.
	Arguments string
}

// ResponseFormatType is the output format.
type ResponseFormatType string

// The response formats.
const (
	FormatText       ResponseFormatType = "text"
	FormatJSONObject ResponseFormatType = "json_object"
	FormatJSONSchema ResponseFormatType = "json_schema"
)

// ResponseFormat constrains the output.
type ResponseFormat struct {
	Type        ResponseFormatType
	Name        string
	Description string
	Schema      json.RawMessage
	Strict      bool
}

// ChatRequest is the canonical chat request.
type ChatRequest struct {
	// Model is the upstream model name.
	Model             string
	Messages          []Message
	Tools             []Tool
	ToolChoice        *ToolChoice
	ParallelToolCalls *bool
	Temperature       *float64
	TopP              *float64
	// MaxTokens is the output token limit; nil means the provider default.
	MaxTokens        *int
	Stop             []string
	Seed             *int64
	ResponseFormat   *ResponseFormat
	PresencePenalty  *float64
	FrequencyPenalty *float64
	// N is the number of choices; nil means one.
	N *int
	// TopK limits sampling to the K most likely tokens, where supported.
	TopK *int
	// Reasoning configures hidden reasoning ("thinking"), where supported.
	Reasoning *ReasoningConfig
	// User is the end-user id forwarded to the upstream, if any.
	User string
	// Source is the request as the client sent it through a drop-in HTTP
	// surface, nil from the RPC API. Adapters of Source.Dialect send its
	// body (with the model and what they must set patched) instead of
	// translating this request: see [Source].
	Source *Source
	// Drop lists fields an adapter may leave out although it cannot
	// honour them (the operator allowed dropping, see [Unsupported]); it
	// refuses every other unsupported field.
	Drop []string
}

// ReasoningConfig asks for model reasoning. Adapters map it to their
// dialect: OpenAI reasoning_effort, Anthropic thinking.budget_tokens,
// Gemini thinkingConfig.
type ReasoningConfig struct {
	// Effort is "low", "medium" or "high"; empty when BudgetTokens is set.
	Effort string
	// BudgetTokens is the token budget for reasoning, 0 for the default.
	BudgetTokens int
}

// FinishReason says why generation stopped.
type FinishReason string

// The finish reasons.
const (
	FinishStop          FinishReason = "stop"
	FinishLength        FinishReason = "length"
	FinishToolCalls     FinishReason = "tool_calls"
	FinishContentFilter FinishReason = "content_filter"
	FinishError         FinishReason = "error"
)

// Usage counts tokens.
type Usage struct {
	// InputTokens includes cached and cache-write tokens.
	InputTokens       int64
	OutputTokens      int64
	CachedInputTokens int64
	CacheWriteTokens  int64
	ReasoningTokens   int64
	// Estimated is true when the upstream reported nothing and the gateway counted.
	Estimated bool
}

// Total returns input plus output tokens.
func (u Usage) Total() int64 { return u.InputTokens + u.OutputTokens }

// Choice is one generated answer.
type Choice struct {
	Index        int
	Message      Message
	FinishReason FinishReason
}

// ChatResponse is the canonical chat response.
type ChatResponse struct {
	// Raw is the upstream's body as it sent it, when the request was
	// passed through (see Chunk); nil when it was translated.
	Raw []byte
	// ID is the upstream's response id.
	ID string
	// Model is the upstream model that answered.
	Model   string
	Created time.Time
	Choices []Choice
	Usage   Usage
}

// Chunk is one event of a streamed response.
//
// When the request was passed through (its Source has the adapter's
// dialect), the adapter returns one chunk for every event of the
// upstream's stream, with Raw set to the event's bytes as the upstream
// sent them, and the canonical fields read from those bytes; a chunk may
// then carry nothing canonical (a ping, a block boundary).
type Chunk struct {
	// Raw is the upstream's event, framing included; valid until the next
	// Recv. Nil when the stream was translated.
	Raw []byte
	// ID is the upstream's response id.
	ID string
	// Model is the upstream model.
	Model   string
	Choices []ChoiceDelta
	// Usage is set on the chunk that reports it (usually the last).
	Usage *Usage
}

// ChoiceDelta is new content for one choice.
type ChoiceDelta struct {
	Index int
	// Role is set on the first delta of a choice.
	Role Role
	Text string
	// Reasoning is reasoning text to append.
	Reasoning string
	// ReasoningSignature completes a reasoning block.
	ReasoningSignature string
	ToolCalls          []ToolCallDelta
	// FinishReason is set on the last delta of a choice.
	FinishReason FinishReason
}

// ToolCallDelta is a fragment of a tool call: the first carries ID and Name,
// the following ones append to Arguments.
type ToolCallDelta struct {
	Index     int
	ID        string
	Name      string
	Arguments string
}

// EmbedRequest asks for embeddings of Inputs, or of Tokens (arrays of
// token ids, which only OpenAI-dialect upstreams take).
type EmbedRequest struct {
	Model      string
	Inputs     []string
	Tokens     [][]int64
	Dimensions *int
	User       string
	// Source is the request as the client sent it (see ChatRequest).
	Source *Source
}

// Count returns the number of inputs.
func (r *EmbedRequest) Count() int { return len(r.Inputs) + len(r.Tokens) }

// EmbedResponse holds one vector per input.
type EmbedResponse struct {
	// Raw is the upstream's body as it sent it, when the request was
	// passed through; nil when it was translated.
	Raw     []byte
	Model   string
	Vectors [][]float32
	Usage   Usage
}
