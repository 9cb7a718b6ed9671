package bedrock

import "github.com/go-json-experiment/json/jsontext"

// ConverseStream answers with application/vnd.amazon.eventstream: binary
// messages whose headers say what they carry and whose payload is JSON.
//
// An event has ":message-type" "event", ":event-type" one of the Event*
// names and ":content-type" "application/json"; an error has
// ":message-type" "exception" and ":exception-type" (e.g.
// "throttlingException"), with an ErrorBody payload.
const (
	ContentTypeEventStream = "application/vnd.amazon.eventstream"

	HeaderMessageType   = ":message-type"
	HeaderEventType     = ":event-type"
	HeaderExceptionType = ":exception-type"
	HeaderContentType   = ":content-type"

	MessageTypeEvent     = "event"
	MessageTypeException = "exception"

	EventMessageStart      = "messageStart"
	EventContentBlockStart = "contentBlockStart"
	EventContentBlockDelta = "contentBlockDelta"
	EventContentBlockStop  = "contentBlockStop"
	EventMessageStop       = "messageStop"
	EventMetadata          = "metadata"
)

// StreamEvent is the payload of every event type; the members of the
// event's type are set. P is padding Bedrock adds to hide the length of
// the content.
type StreamEvent struct {
	// messageStart
	Role string `json:"role,omitzero"`
	// contentBlockStart, contentBlockDelta, contentBlockStop
	ContentBlockIndex int         `json:"contentBlockIndex"`
	Start             *BlockStart `json:"start,omitzero"`
	Delta             *BlockDelta `json:"delta,omitzero"`
	// messageStop
	StopReason                    string         `json:"stopReason,omitzero"`
	AdditionalModelResponseFields jsontext.Value `json:"additionalModelResponseFields,omitzero"`
	// metadata
	Usage   *Usage `json:"usage,omitzero"`
	Metrics *struct {
		LatencyMs int64 `json:"latencyMs"`
	} `json:"metrics,omitzero"`
	P       string         `json:"p,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// BlockStart starts a tool-use block (text blocks start with their first
// delta).
type BlockStart struct {
	ToolUse *ToolUseStart  `json:"toolUse,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// ToolUseStart names the tool call of a block.
type ToolUseStart struct {
	ToolUseID string         `json:"toolUseId"`
	Name      string         `json:"name"`
	Unknown   jsontext.Value `json:",embed"`
}

// BlockDelta is new content: text, a fragment of a tool call's input
// JSON, or reasoning.
type BlockDelta struct {
	Text             *string         `json:"text,omitzero"`
	ToolUse          *ToolUseDelta   `json:"toolUse,omitzero"`
	ReasoningContent *ReasoningDelta `json:"reasoningContent,omitzero"`
	Unknown          jsontext.Value  `json:",embed"`
}

// ToolUseDelta is a fragment of a tool call's input JSON text.
type ToolUseDelta struct {
	Input   string         `json:"input"`
	Unknown jsontext.Value `json:",embed"`
}

// ReasoningDelta is reasoning text, its signature or redacted content.
type ReasoningDelta struct {
	Text            string         `json:"text,omitzero"`
	Signature       string         `json:"signature,omitzero"`
	RedactedContent []byte         `json:"redactedContent,omitzero"`
	Unknown         jsontext.Value `json:",embed"`
}
