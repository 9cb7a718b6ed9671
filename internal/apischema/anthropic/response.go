package anthropic

import (
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
)

// Stop reasons.
const (
	StopEndTurn      = "end_turn"
	StopMaxTokens    = "max_tokens"
	StopSequence     = "stop_sequence"
	StopToolUse      = "tool_use"
	StopPauseTurn    = "pause_turn"
	StopRefusal      = "refusal"
	StopContextLimit = "model_context_window_exceeded"
)

// Message is a Message object: the body of a unary answer and the
// "message" of a message_start event.
type Message struct {
	ID           string                     `json:"id"`
	Type         string                     `json:"type"`
	Role         string                     `json:"role"`
	Model        string                     `json:"model"`
	Content      []ContentBlock             `json:"content"`
	StopReason   apischema.Nullable[string] `json:"stop_reason"`
	StopSequence apischema.Nullable[string] `json:"stop_sequence"`
	Usage        Usage                      `json:"usage"`
	Container    jsontext.Value             `json:"container,omitzero"`
	// Error is set when a proxy answers 200 with an error object.
	Error   *ErrorObject   `json:"error,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// Usage is the token report. Input tokens exclude cache reads and
// writes. In message_delta events every count is cumulative and the input
// counts may be absent, hence the pointers.
type Usage struct {
	InputTokens              *int64         `json:"input_tokens,omitzero"`
	CacheCreationInputTokens *int64         `json:"cache_creation_input_tokens,omitzero"`
	CacheReadInputTokens     *int64         `json:"cache_read_input_tokens,omitzero"`
	OutputTokens             *int64         `json:"output_tokens,omitzero"`
	CacheCreation            jsontext.Value `json:"cache_creation,omitzero"`
	ServerToolUse            jsontext.Value `json:"server_tool_use,omitzero"`
	ServiceTier              string         `json:"service_tier,omitzero"`
	Unknown                  jsontext.Value `json:",embed"`
}

// Count returns a pointer to n, for Usage fields.
func Count(n int64) *int64 { return &n }

// Stream event types.
const (
	EventMessageStart      = "message_start"
	EventContentBlockStart = "content_block_start"
	EventContentBlockDelta = "content_block_delta"
	EventContentBlockStop  = "content_block_stop"
	EventMessageDelta      = "message_delta"
	EventMessageStop       = "message_stop"
	EventPing              = "ping"
	EventError             = "error"
)

// StreamEvent is the data of one server-sent event of a stream; its SSE
// event name equals Type.
type StreamEvent struct {
	Type string `json:"type"`
	// Message is message_start's.
	Message *Message `json:"message,omitzero"`
	// Index is the content block of content_block_* events.
	Index *int `json:"index,omitzero"`
	// ContentBlock is content_block_start's.
	ContentBlock *ContentBlock `json:"content_block,omitzero"`
	// Delta is content_block_delta's or message_delta's.
	Delta *Delta `json:"delta,omitzero"`
	// Usage is message_delta's.
	Usage *Usage `json:"usage,omitzero"`
	// Error is an error event's.
	Error   *ErrorObject   `json:"error,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// Index returns a pointer to i, for StreamEvent.Index.
func Index(i int) *int { return &i }

// Delta types.
const (
	DeltaText      = "text_delta"
	DeltaInputJSON = "input_json_delta"
	DeltaThinking  = "thinking_delta"
	DeltaSignature = "signature_delta"
	DeltaCitations = "citations_delta"
)

// Delta is a content_block_delta's delta (Type set) or a message_delta's
// (StopReason, StopSequence).
type Delta struct {
	Type         string                     `json:"type,omitzero"`
	Text         string                     `json:"text,omitzero"`
	PartialJSON  string                     `json:"partial_json,omitzero"`
	Thinking     string                     `json:"thinking,omitzero"`
	Signature    string                     `json:"signature,omitzero"`
	Citation     jsontext.Value             `json:"citation,omitzero"`
	StopReason   apischema.Nullable[string] `json:"stop_reason,omitzero"`
	StopSequence apischema.Nullable[string] `json:"stop_sequence,omitzero"`
	Unknown      jsontext.Value             `json:",embed"`
}

// Value returns the payload of a content_block_delta: its text,
// partial_json, thinking or signature.
func (d *Delta) Value() string {
	switch d.Type {
	case DeltaText:
		return d.Text
	case DeltaInputJSON:
		return d.PartialJSON
	case DeltaThinking:
		return d.Thinking
	case DeltaSignature:
		return d.Signature
	}
	return ""
}

// MarshalJSONTo implements json.MarshalerTo: a delta's payload member is
// written even when empty.
func (d *Delta) MarshalJSONTo(enc *jsontext.Encoder) error {
	type rest Delta
	r := (*rest)(d)
	switch d.Type {
	case DeltaText:
		return json.MarshalEncode(enc, &struct {
			Type string `json:"type"`
			Text string `json:"text"`
			*rest
		}{d.Type, d.Text, r})
	case DeltaInputJSON:
		return json.MarshalEncode(enc, &struct {
			Type        string `json:"type"`
			PartialJSON string `json:"partial_json"`
			*rest
		}{d.Type, d.PartialJSON, r})
	case DeltaThinking:
		return json.MarshalEncode(enc, &struct {
			Type     string `json:"type"`
			Thinking string `json:"thinking"`
			*rest
		}{d.Type, d.Thinking, r})
	case DeltaSignature:
		return json.MarshalEncode(enc, &struct {
			Type      string `json:"type"`
			Signature string `json:"signature"`
			*rest
		}{d.Type, d.Signature, r})
	}
	return json.MarshalEncode(enc, r)
}

// ErrorBody is an error response: {"type":"error","error":{...},"request_id"}.
type ErrorBody struct {
	Type      string         `json:"type"`
	Error     *ErrorObject   `json:"error,omitzero"`
	RequestID string         `json:"request_id,omitzero"`
	Unknown   jsontext.Value `json:",embed"`
}

// ErrorObject is the "error" of an error body or event.
type ErrorObject struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	// Details carries a machine-readable code on some errors, e.g. a 429
	// with {"error_code":"enforced_spend_limit_reached"}.
	Details *ErrorDetails  `json:"details,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// ErrorDetails is an error's details.
type ErrorDetails struct {
	ErrorCode string         `json:"error_code,omitzero"`
	Unknown   jsontext.Value `json:",embed"`
}

// ModelList is the answer of GET /v1/models.
type ModelList struct {
	Data    []ModelInfo                `json:"data"`
	HasMore bool                       `json:"has_more"`
	FirstID apischema.Nullable[string] `json:"first_id"`
	LastID  apischema.Nullable[string] `json:"last_id"`
	Unknown jsontext.Value             `json:",embed"`
}

// ModelInfo is a model of a ModelList.
type ModelInfo struct {
	Type        string         `json:"type"`
	ID          string         `json:"id"`
	DisplayName string         `json:"display_name"`
	CreatedAt   string         `json:"created_at"`
	Unknown     jsontext.Value `json:",embed"`
}
