// Package bedrock is the wire schema of the Amazon Bedrock Runtime API as
// the gateway uses it: Converse and ConverseStream (the bodies and the
// JSON payloads of the stream's event-stream messages), the error body,
// and the InvokeModel bodies of the Titan and Cohere embedding models.
// It is written from the Bedrock API reference and shared by the adapter
// (providers/bedrock) and its fake (providers/bedrock/bedrocktest).
//
// Every object type keeps members it does not declare in Unknown, as in
// the other dialects' schemas (see package apischema).
package bedrock

import "github.com/go-json-experiment/json/jsontext"

// ConverseRequest is the body of POST /model/{modelId}/converse and
// /model/{modelId}/converse-stream. The model id is in the path.
type ConverseRequest struct {
	Messages        []Message        `json:"messages"`
	System          []SystemBlock    `json:"system,omitzero"`
	InferenceConfig *InferenceConfig `json:"inferenceConfig,omitzero"`
	ToolConfig      *ToolConfig      `json:"toolConfig,omitzero"`
	// AdditionalModelRequestFields are model-specific parameters (top_k,
	// Claude's thinking).
	AdditionalModelRequestFields jsontext.Value `json:"additionalModelRequestFields,omitzero"`
	// RequestMetadata are key-value pairs for invocation logs.
	RequestMetadata map[string]string `json:"requestMetadata,omitzero"`
	Unknown         jsontext.Value    `json:",embed"`
}

// Message is one turn: role "user" or "assistant".
type Message struct {
	Role    string         `json:"role"`
	Content []ContentBlock `json:"content"`
	Unknown jsontext.Value `json:",embed"`
}

// SystemBlock is a system prompt block: text or a cache point.
type SystemBlock struct {
	Text       string         `json:"text,omitzero"`
	CachePoint *CachePoint    `json:"cachePoint,omitzero"`
	Unknown    jsontext.Value `json:",embed"`
}

// CachePoint marks the end of a cacheable prefix; Type is "default".
type CachePoint struct {
	Type    string         `json:"type"`
	Unknown jsontext.Value `json:",embed"`
}

// ContentBlock is a union: exactly one member is set.
type ContentBlock struct {
	Text             *string           `json:"text,omitzero"`
	Image            *Image            `json:"image,omitzero"`
	Document         *Document         `json:"document,omitzero"`
	ToolUse          *ToolUse          `json:"toolUse,omitzero"`
	ToolResult       *ToolResult       `json:"toolResult,omitzero"`
	ReasoningContent *ReasoningContent `json:"reasoningContent,omitzero"`
	CachePoint       *CachePoint       `json:"cachePoint,omitzero"`
	Unknown          jsontext.Value    `json:",embed"`
}

// TextBlock returns a text content block.
func TextBlock(s string) ContentBlock { return ContentBlock{Text: &s} }

// Image is an image block; Format is png, jpeg, gif or webp.
type Image struct {
	Format  string         `json:"format"`
	Source  Source         `json:"source"`
	Unknown jsontext.Value `json:",embed"`
}

// Document is a document block; Format is pdf, csv, doc, docx, xls,
// xlsx, html, txt or md, and Name is required.
type Document struct {
	Format  string         `json:"format"`
	Name    string         `json:"name"`
	Source  Source         `json:"source"`
	Unknown jsontext.Value `json:",embed"`
}

// Source holds inline bytes (base64 in JSON) or an S3 location.
type Source struct {
	Bytes      []byte         `json:"bytes,omitzero"`
	S3Location *S3Location    `json:"s3Location,omitzero"`
	Unknown    jsontext.Value `json:",embed"`
}

// S3Location names an object in S3.
type S3Location struct {
	URI         string         `json:"uri"`
	BucketOwner string         `json:"bucketOwner,omitzero"`
	Unknown     jsontext.Value `json:",embed"`
}

// ToolUse is a call of a tool by the model.
type ToolUse struct {
	ToolUseID string         `json:"toolUseId"`
	Name      string         `json:"name"`
	Input     jsontext.Value `json:"input"`
	Unknown   jsontext.Value `json:",embed"`
}

// ToolResult is the answer to a ToolUse; Status is "success" or "error".
type ToolResult struct {
	ToolUseID string              `json:"toolUseId"`
	Content   []ToolResultContent `json:"content"`
	Status    string              `json:"status,omitzero"`
	Unknown   jsontext.Value      `json:",embed"`
}

// ToolResultContent is a union of text, JSON, image and document.
type ToolResultContent struct {
	Text     *string        `json:"text,omitzero"`
	JSON     jsontext.Value `json:"json,omitzero"`
	Image    *Image         `json:"image,omitzero"`
	Document *Document      `json:"document,omitzero"`
	Unknown  jsontext.Value `json:",embed"`
}

// ReasoningContent is a reasoning block: visible text with its signature,
// or redacted (encrypted) content.
type ReasoningContent struct {
	ReasoningText   *ReasoningText `json:"reasoningText,omitzero"`
	RedactedContent []byte         `json:"redactedContent,omitzero"`
	Unknown         jsontext.Value `json:",embed"`
}

// ReasoningText is visible reasoning.
type ReasoningText struct {
	Text      string         `json:"text"`
	Signature string         `json:"signature,omitzero"`
	Unknown   jsontext.Value `json:",embed"`
}

// InferenceConfig holds the sampling parameters every model takes.
type InferenceConfig struct {
	MaxTokens     *int           `json:"maxTokens,omitzero"`
	Temperature   *float64       `json:"temperature,omitzero"`
	TopP          *float64       `json:"topP,omitzero"`
	StopSequences []string       `json:"stopSequences,omitzero"`
	Unknown       jsontext.Value `json:",embed"`
}

// ToolConfig lists the tools and the tool choice.
type ToolConfig struct {
	Tools      []Tool         `json:"tools"`
	ToolChoice *ToolChoice    `json:"toolChoice,omitzero"`
	Unknown    jsontext.Value `json:",embed"`
}

// Tool is a union of a tool specification and a cache point.
type Tool struct {
	ToolSpec   *ToolSpec      `json:"toolSpec,omitzero"`
	CachePoint *CachePoint    `json:"cachePoint,omitzero"`
	Unknown    jsontext.Value `json:",embed"`
}

// ToolSpec describes a function.
type ToolSpec struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitzero"`
	InputSchema InputSchema    `json:"inputSchema"`
	Unknown     jsontext.Value `json:",embed"`
}

// InputSchema holds the JSON Schema of a tool's input.
type InputSchema struct {
	JSON    jsontext.Value `json:"json"`
	Unknown jsontext.Value `json:",embed"`
}

// ToolChoice is a union: auto, any (some tool) or a named tool.
type ToolChoice struct {
	Auto    *struct{}      `json:"auto,omitzero"`
	Any     *struct{}      `json:"any,omitzero"`
	Tool    *NamedTool     `json:"tool,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// NamedTool names the tool to call.
type NamedTool struct {
	Name    string         `json:"name"`
	Unknown jsontext.Value `json:",embed"`
}

// ConverseResponse is the body of a Converse answer.
type ConverseResponse struct {
	Output     Output `json:"output"`
	StopReason string `json:"stopReason"`
	Usage      *Usage `json:"usage,omitzero"`
	Metrics    *struct {
		LatencyMs int64 `json:"latencyMs"`
	} `json:"metrics,omitzero"`
	AdditionalModelResponseFields jsontext.Value `json:"additionalModelResponseFields,omitzero"`
	Unknown                       jsontext.Value `json:",embed"`
}

// Output holds the answer message.
type Output struct {
	Message *Message       `json:"message,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// Usage counts tokens. InputTokens excludes the tokens read from and
// written to the prompt cache, which are counted apart.
type Usage struct {
	InputTokens           int64          `json:"inputTokens"`
	OutputTokens          int64          `json:"outputTokens"`
	TotalTokens           int64          `json:"totalTokens"`
	CacheReadInputTokens  int64          `json:"cacheReadInputTokens,omitzero"`
	CacheWriteInputTokens int64          `json:"cacheWriteInputTokens,omitzero"`
	Unknown               jsontext.Value `json:",embed"`
}

// The stop reasons.
const (
	StopEndTurn             = "end_turn"
	StopToolUse             = "tool_use"
	StopMaxTokens           = "max_tokens"
	StopSequence            = "stop_sequence"
	StopGuardrailIntervened = "guardrail_intervened"
	StopContentFiltered     = "content_filtered"
)

// ErrorBody is the body of an error answer; its type is in the
// x-amzn-ErrorType header (and in __type from some front ends).
type ErrorBody struct {
	Message string `json:"message,omitzero"`
	// MessageUpper is the capitalised member some services send.
	MessageUpper string         `json:"Message,omitzero"`
	Type         string         `json:"__type,omitzero"`
	Unknown      jsontext.Value `json:",embed"`
}

// Text returns the error's message, whichever member holds it.
func (e *ErrorBody) Text() string {
	if e.Message != "" {
		return e.Message
	}
	return e.MessageUpper
}

// HeaderErrorType is the response header naming the error type, e.g.
// "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/".
const HeaderErrorType = "X-Amzn-Errortype"

// HeaderRequestID is the request id header.
const HeaderRequestID = "X-Amzn-Requestid"
