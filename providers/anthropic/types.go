package anthropic

import "encoding/json"

// This file holds the Messages, Token Counting and Models wire types as
// documented in Anthropic's API reference. Only the fields the adapter
// reads or writes are declared; unknown response fields are ignored.

// messagesRequest is the body of POST /v1/messages.
type messagesRequest struct {
	Model         string          `json:"model"`
	MaxTokens     int             `json:"max_tokens"`
	System        []block         `json:"system,omitempty"`
	Messages      []message       `json:"messages"`
	Tools         []tool          `json:"tools,omitempty"`
	ToolChoice    *toolChoice     `json:"tool_choice,omitempty"`
	Thinking      *thinkingConfig `json:"thinking,omitempty"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	TopK          *int            `json:"top_k,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Metadata      *metadata       `json:"metadata,omitempty"`
	OutputConfig  *outputConfig   `json:"output_config,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
}

// countTokensRequest is the body of POST /v1/messages/count_tokens. It
// takes the prompt-shaping fields of a Messages request and rejects the
// generation parameters (max_tokens, temperature, ...).
type countTokensRequest struct {
	Model        string          `json:"model"`
	System       []block         `json:"system,omitempty"`
	Messages     []message       `json:"messages"`
	Tools        []tool          `json:"tools,omitempty"`
	ToolChoice   *toolChoice     `json:"tool_choice,omitempty"`
	Thinking     *thinkingConfig `json:"thinking,omitempty"`
	OutputConfig *outputConfig   `json:"output_config,omitempty"`
}

// countTokensResponse is the answer of POST /v1/messages/count_tokens.
type countTokensResponse struct {
	InputTokens int64 `json:"input_tokens"`
}

// message is one entry of "messages"; the role is "user" or "assistant".
type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is a request content block: text, image, tool_use, tool_result,
// thinking or redacted_thinking. Type says which fields are set.
type block struct {
	Type string `json:"type"`
	// Text is the text of a text block.
	Text string `json:"text,omitempty"`
	// Source is the image of an image block.
	Source *imageSource `json:"source,omitempty"`
	// ID, Name and Input describe a tool_use block.
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	// ToolUseID and Content describe a tool_result block; Content is a
	// string or a []block of text and image blocks.
	ToolUseID string `json:"tool_use_id,omitempty"`
	Content   any    `json:"content,omitempty"`
	// Thinking and Signature describe a thinking block. Thinking is a
	// pointer because the field is required even when empty.
	Thinking  *string `json:"thinking,omitempty"`
	Signature string  `json:"signature,omitempty"`
	// Data is the opaque payload of a redacted_thinking block.
	Data         string        `json:"data,omitempty"`
	CacheControl *cacheControl `json:"cache_control,omitempty"`
}

// imageSource is {"type":"base64","media_type","data"} or {"type":"url","url"}.
type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

// cacheControl marks a prompt-cache breakpoint.
type cacheControl struct {
	Type string `json:"type"`
}

// ephemeral returns the only cache_control type.
func ephemeral() *cacheControl { return &cacheControl{Type: "ephemeral"} }

type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
	Strict      bool            `json:"strict,omitempty"`
}

// toolChoice is {"type":"auto"|"any"|"none"} or {"type":"tool","name"}.
type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

type thinkingConfig struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens"`
}

type metadata struct {
	UserID string `json:"user_id"`
}

// outputConfig carries structured outputs: {"format":{"type":"json_schema","schema"}}.
type outputConfig struct {
	Format *outputFormat `json:"format,omitempty"`
}

type outputFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}

// messageResponse is a Message object: the body of a unary answer and the
// "message" of a message_start event.
type messageResponse struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Role         string          `json:"role"`
	Model        string          `json:"model"`
	Content      []responseBlock `json:"content"`
	StopReason   string          `json:"stop_reason"`
	StopSequence string          `json:"stop_sequence"`
	Usage        usage           `json:"usage"`
	// Error is set when a proxy answers 200 with an error object.
	Error *errorObject `json:"error"`
}

// responseBlock is a content block of a Message, or the content_block of a
// content_block_start event.
type responseBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	Thinking  string          `json:"thinking"`
	Signature string          `json:"signature"`
	Data      string          `json:"data"`
}

// usage is the token report. In message_delta events every field is
// cumulative and the input fields may be absent, hence the pointers.
type usage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

// streamEvent is the data of one server-sent event. Type says which of the
// fields are set.
type streamEvent struct {
	Type         string           `json:"type"`
	Index        int              `json:"index"`
	Message      *messageResponse `json:"message"`
	ContentBlock *responseBlock   `json:"content_block"`
	Delta        *streamDelta     `json:"delta"`
	Usage        *usage           `json:"usage"`
	Error        *errorObject     `json:"error"`
}

// streamDelta is the delta of a content_block_delta (text_delta,
// input_json_delta, thinking_delta, signature_delta) or of a message_delta
// (stop_reason).
type streamDelta struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	PartialJSON string `json:"partial_json"`
	Thinking    string `json:"thinking"`
	Signature   string `json:"signature"`
	StopReason  string `json:"stop_reason"`
}

// errorBody is {"type":"error","error":{...},"request_id"}.
type errorBody struct {
	Type      string       `json:"type"`
	Error     *errorObject `json:"error"`
	RequestID string       `json:"request_id"`
}

type errorObject struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	// Details carries a machine-readable code on some errors, e.g. a 429
	// with {"error_code":"enforced_spend_limit_reached"}.
	Details *struct {
		ErrorCode string `json:"error_code"`
	} `json:"details"`
}

// modelList is the answer of GET /v1/models.
type modelList struct {
	Data []struct {
		ID string `json:"id"`
	} `json:"data"`
	HasMore bool   `json:"has_more"`
	LastID  string `json:"last_id"`
}
