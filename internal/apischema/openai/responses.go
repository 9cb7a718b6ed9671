package openai

import (
	"errors"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
)

// The Responses API (POST /v1/responses): the request, the response
// object, its input and output items and the typed stream events, as
// OpenAI's API reference and the openai-go/v3 responses package define
// them.

// ResponsesRequest is the body of POST /v1/responses.
type ResponsesRequest struct {
	Model string `json:"model"`
	// Input is a string or a list of items.
	Input        ResponsesInput `json:"input,omitzero"`
	Instructions string         `json:"instructions,omitzero"`

	Tools             []ResponsesTool `json:"tools,omitzero"`
	ToolChoice        *ToolChoice     `json:"tool_choice,omitzero"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls,omitzero"`
	MaxToolCalls      *int            `json:"max_tool_calls,omitzero"`

	Text            *ResponsesText      `json:"text,omitzero"`
	Reasoning       *ResponsesReasoning `json:"reasoning,omitzero"`
	MaxOutputTokens *int                `json:"max_output_tokens,omitzero"`
	Temperature     *float64            `json:"temperature,omitzero"`
	TopP            *float64            `json:"top_p,omitzero"`
	TopLogprobs     *int                `json:"top_logprobs,omitzero"`
	Truncation      string              `json:"truncation,omitzero"`

	// Store keeps the response for previous_response_id and GET (default true).
	Store              *bool  `json:"store,omitzero"`
	PreviousResponseID string `json:"previous_response_id,omitzero"`
	// Conversation and Prompt name OpenAI-side objects.
	Conversation jsontext.Value `json:"conversation,omitzero"`
	Prompt       jsontext.Value `json:"prompt,omitzero"`
	Include      []string       `json:"include,omitzero"`
	Background   *bool          `json:"background,omitzero"`

	Stream        bool           `json:"stream,omitzero"`
	StreamOptions jsontext.Value `json:"stream_options,omitzero"`

	Metadata             map[string]string `json:"metadata,omitzero"`
	User                 string            `json:"user,omitzero"`
	SafetyIdentifier     string            `json:"safety_identifier,omitzero"`
	ServiceTier          string            `json:"service_tier,omitzero"`
	PromptCacheKey       string            `json:"prompt_cache_key,omitzero"`
	PromptCacheRetention string            `json:"prompt_cache_retention,omitzero"`

	Unknown jsontext.Value `json:",embed"`
}

// ResponsesInput is "input": a string, or a list of items. The zero value
// is absent.
type ResponsesInput struct {
	Text  *string     `json:"-"`
	Items []InputItem `json:"-"`
}

var errResponsesInput = errors.New("must be a string or an array of input items")

// IsZero reports absent input.
func (in *ResponsesInput) IsZero() bool { return in.Text == nil && in.Items == nil }

// MarshalJSONTo implements json.MarshalerTo.
func (in *ResponsesInput) MarshalJSONTo(enc *jsontext.Encoder) error {
	switch {
	case in.Items != nil:
		return json.MarshalEncode(enc, &in.Items)
	case in.Text != nil:
		return enc.WriteToken(jsontext.String(*in.Text))
	}
	return enc.WriteToken(jsontext.Null)
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (in *ResponsesInput) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*in = ResponsesInput{}
	switch dec.PeekKind() {
	case 'n':
		return dec.SkipValue()
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		s := tok.String()
		in.Text = &s
		return nil
	case '[':
		in.Items = []InputItem{}
		return json.UnmarshalDecode(dec, &in.Items)
	}
	return errResponsesInput
}

// Item types of input and output lists.
const (
	ItemMessage            = "message"
	ItemFunctionCall       = "function_call"
	ItemFunctionCallOutput = "function_call_output"
	ItemReasoning          = "reasoning"
	ItemReference          = "item_reference"
)

// Content part types of the Responses API.
const (
	PartInputText   = "input_text"
	PartInputImage  = "input_image"
	PartInputFile   = "input_file"
	PartOutputText  = "output_text"
	PartSummaryText = "summary_text"
)

// InputItem is one item of "input", and of a stored response's input
// items: a message (Type "message" or empty, with Role and Content), a
// function_call, a function_call_output or a reasoning item. Output
// items given back as input (an assistant message, a function call) have
// the same shape.
type InputItem struct {
	Type   string `json:"type,omitzero"`
	ID     string `json:"id,omitzero"`
	Status string `json:"status,omitzero"`
	// Role and Content are a message's.
	Role    string           `json:"role,omitzero"`
	Content ResponsesContent `json:"content,omitzero"`
	// CallID, Name and Arguments are a function_call's; CallID and Output
	// a function_call_output's.
	CallID    string         `json:"call_id,omitzero"`
	Name      string         `json:"name,omitzero"`
	Arguments string         `json:"arguments,omitzero"`
	Output    jsontext.Value `json:"output,omitzero"`
	// Summary and EncryptedContent are a reasoning item's.
	Summary          []SummaryPart  `json:"summary,omitzero"`
	EncryptedContent string         `json:"encrypted_content,omitzero"`
	Unknown          jsontext.Value `json:",embed"`
}

// ResponsesContent is a message item's content: a string or a list of
// parts. The zero value is absent.
type ResponsesContent struct {
	Text  *string                `json:"-"`
	Parts []ResponsesContentPart `json:"-"`
}

var errResponsesContent = errors.New("must be a string or an array of content parts")

// IsZero reports absent content.
func (c *ResponsesContent) IsZero() bool { return c.Text == nil && c.Parts == nil }

// MarshalJSONTo implements json.MarshalerTo.
func (c *ResponsesContent) MarshalJSONTo(enc *jsontext.Encoder) error {
	switch {
	case c.Parts != nil:
		return json.MarshalEncode(enc, &c.Parts)
	case c.Text != nil:
		return enc.WriteToken(jsontext.String(*c.Text))
	}
	return enc.WriteToken(jsontext.Null)
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (c *ResponsesContent) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*c = ResponsesContent{}
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		s := tok.String()
		c.Text = &s
		return nil
	case '[':
		c.Parts = []ResponsesContentPart{}
		return json.UnmarshalDecode(dec, &c.Parts)
	}
	return errResponsesContent
}

// ResponsesContentPart is a part of a message's content: input_text,
// input_image, input_file, and the output_text and refusal parts of
// assistant messages (output and input alike).
type ResponsesContentPart struct {
	Type string `json:"type"`
	// Text is an input_text's or output_text's (present even when empty).
	Text *string `json:"text,omitzero"`
	// Refusal is a refusal part's.
	Refusal string `json:"refusal,omitzero"`
	// ImageURL, FileID and Detail are an input_image's.
	ImageURL string `json:"image_url,omitzero"`
	Detail   string `json:"detail,omitzero"`
	FileID   string `json:"file_id,omitzero"`
	// FileData, Filename and FileURL are an input_file's.
	FileData string `json:"file_data,omitzero"`
	Filename string `json:"filename,omitzero"`
	FileURL  string `json:"file_url,omitzero"`
	// Annotations and Logprobs are an output_text's (arrays, possibly empty).
	Annotations jsontext.Value `json:"annotations,omitzero"`
	Logprobs    jsontext.Value `json:"logprobs,omitzero"`
	Unknown     jsontext.Value `json:",embed"`
}

// OutputText returns an output_text part of text, as the API writes it.
func OutputText(text string) ResponsesContentPart {
	return ResponsesContentPart{Type: PartOutputText, Text: &text, Annotations: emptyArray, Logprobs: emptyArray}
}

// InputText returns an input_text part of text.
func InputText(text string) ResponsesContentPart {
	return ResponsesContentPart{Type: PartInputText, Text: &text}
}

// TextValue returns the part's text, "" when it has none.
func (p *ResponsesContentPart) TextValue() string {
	if p.Text == nil {
		return ""
	}
	return *p.Text
}

var emptyArray = jsontext.Value("[]")

// SummaryPart is a part of a reasoning item's summary.
type SummaryPart struct {
	Type    string         `json:"type"`
	Text    string         `json:"text"`
	Unknown jsontext.Value `json:",embed"`
}

// ResponsesTool is a tool of a Responses request: a function tool
// (Type "function", with the function's fields at the top level, unlike
// Chat Completions) or a built-in tool (web_search, file_search, ...),
// whose members are kept in Unknown.
type ResponsesTool struct {
	Type        string         `json:"type"`
	Name        string         `json:"name,omitzero"`
	Description string         `json:"description,omitzero"`
	Parameters  jsontext.Value `json:"parameters,omitzero"`
	Strict      *bool          `json:"strict,omitzero"`
	Unknown     jsontext.Value `json:",embed"`
}

// ResponsesText is "text": the output format and verbosity.
type ResponsesText struct {
	Format    *TextFormat    `json:"format,omitzero"`
	Verbosity string         `json:"verbosity,omitzero"`
	Unknown   jsontext.Value `json:",embed"`
}

// TextFormat is text.format: {"type":"text"}, {"type":"json_object"} or a
// json_schema with its name and schema at the top level.
type TextFormat struct {
	Type        string         `json:"type"`
	Name        string         `json:"name,omitzero"`
	Description string         `json:"description,omitzero"`
	Schema      jsontext.Value `json:"schema,omitzero"`
	Strict      *bool          `json:"strict,omitzero"`
	Unknown     jsontext.Value `json:",embed"`
}

// ResponsesReasoning is "reasoning".
type ResponsesReasoning struct {
	Effort  string         `json:"effort,omitzero"`
	Summary string         `json:"summary,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// Response statuses.
const (
	StatusCompleted  = "completed"
	StatusIncomplete = "incomplete"
	StatusFailed     = "failed"
	StatusInProgress = "in_progress"
)

// Response is the response object.
type Response struct {
	ID                 string                     `json:"id"`
	Object             string                     `json:"object"`
	CreatedAt          int64                      `json:"created_at"`
	Status             string                     `json:"status"`
	Background         bool                       `json:"background"`
	Error              *ResponseError             `json:"error"`
	IncompleteDetails  *IncompleteDetails         `json:"incomplete_details"`
	Instructions       apischema.Nullable[string] `json:"instructions"`
	MaxOutputTokens    apischema.Nullable[int]    `json:"max_output_tokens"`
	Model              string                     `json:"model"`
	Output             []OutputItem               `json:"output"`
	ParallelToolCalls  bool                       `json:"parallel_tool_calls"`
	PreviousResponseID apischema.Nullable[string] `json:"previous_response_id"`
	Reasoning          *ResponsesReasoning        `json:"reasoning,omitzero"`
	Store              bool                       `json:"store"`
	Temperature        float64                    `json:"temperature"`
	Text               *ResponsesText             `json:"text,omitzero"`
	ToolChoice         *ToolChoice                `json:"tool_choice,omitzero"`
	Tools              []ResponsesTool            `json:"tools"`
	TopP               float64                    `json:"top_p"`
	Truncation         string                     `json:"truncation,omitzero"`
	Usage              *ResponseUsage             `json:"usage,omitzero"`
	User               apischema.Nullable[string] `json:"user,omitzero"`
	Metadata           map[string]string          `json:"metadata"`
	Unknown            jsontext.Value             `json:",embed"`
}

// ResponseError is a failed response's error.
type ResponseError struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Unknown jsontext.Value `json:",embed"`
}

// IncompleteDetails says why a response is incomplete:
// "max_output_tokens" or "content_filter".
type IncompleteDetails struct {
	Reason  string         `json:"reason"`
	Unknown jsontext.Value `json:",embed"`
}

// ResponseUsage is a response's token usage.
type ResponseUsage struct {
	InputTokens         int64               `json:"input_tokens"`
	InputTokensDetails  InputTokensDetails  `json:"input_tokens_details"`
	OutputTokens        int64               `json:"output_tokens"`
	OutputTokensDetails OutputTokensDetails `json:"output_tokens_details"`
	TotalTokens         int64               `json:"total_tokens"`
	Unknown             jsontext.Value      `json:",embed"`
}

// InputTokensDetails is usage.input_tokens_details.
type InputTokensDetails struct {
	CachedTokens int64          `json:"cached_tokens"`
	Unknown      jsontext.Value `json:",embed"`
}

// OutputTokensDetails is usage.output_tokens_details.
type OutputTokensDetails struct {
	ReasoningTokens int64          `json:"reasoning_tokens"`
	Unknown         jsontext.Value `json:",embed"`
}

// OutputItem is an item of a response's output: a message (Role
// "assistant", Content of output_text and refusal parts), a
// function_call (CallID, Name, Arguments) or a reasoning item (Summary).
// Items of built-in tools keep their members in Unknown.
type OutputItem struct {
	Type      string                 `json:"type"`
	ID        string                 `json:"id"`
	Status    string                 `json:"status,omitzero"`
	Role      string                 `json:"role,omitzero"`
	Content   []ResponsesContentPart `json:"content,omitzero"`
	CallID    string                 `json:"call_id,omitzero"`
	Name      string                 `json:"name,omitzero"`
	Arguments *string                `json:"arguments,omitzero"`
	Summary   []SummaryPart          `json:"summary,omitzero"`
	// EncryptedContent is a reasoning item's opaque content.
	EncryptedContent string         `json:"encrypted_content,omitzero"`
	Unknown          jsontext.Value `json:",embed"`
}

// InputItemList is the answer of GET /v1/responses/{id}/input_items.
type InputItemList struct {
	Object  string         `json:"object"`
	Data    []InputItem    `json:"data"`
	FirstID string         `json:"first_id"`
	LastID  string         `json:"last_id"`
	HasMore bool           `json:"has_more"`
	Unknown jsontext.Value `json:",embed"`
}

// DeletedResponse is the answer of DELETE /v1/responses/{id}.
type DeletedResponse struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// Stream event types of the Responses API.
const (
	EventCreated                = "response.created"
	EventInProgress             = "response.in_progress"
	EventCompleted              = "response.completed"
	EventIncomplete             = "response.incomplete"
	EventFailed                 = "response.failed"
	EventOutputItemAdded        = "response.output_item.added"
	EventOutputItemDone         = "response.output_item.done"
	EventContentPartAdded       = "response.content_part.added"
	EventContentPartDone        = "response.content_part.done"
	EventOutputTextDelta        = "response.output_text.delta"
	EventOutputTextDone         = "response.output_text.done"
	EventFunctionArgsDelta      = "response.function_call_arguments.delta"
	EventFunctionArgsDone       = "response.function_call_arguments.done"
	EventReasoningSummaryAdded  = "response.reasoning_summary_part.added"
	EventReasoningSummaryDone   = "response.reasoning_summary_part.done"
	EventReasoningSummaryDelta  = "response.reasoning_summary_text.delta"
	EventReasoningSummaryTextOK = "response.reasoning_summary_text.done"
	EventError                  = "error"
)

// StreamEvent is one event of a Responses stream (the "data:" of an SSE
// event whose "event:" is Type). Which members are set depends on Type;
// indexes are pointers because 0 is a valid index that must be written.
type StreamEvent struct {
	Type           string `json:"type"`
	SequenceNumber int64  `json:"sequence_number"`
	// Response is set on response.created, .in_progress, .completed,
	// .incomplete and .failed.
	Response *Response `json:"response,omitzero"`
	// OutputIndex and Item are the output item's.
	OutputIndex *int        `json:"output_index,omitzero"`
	Item        *OutputItem `json:"item,omitzero"`
	ItemID      string      `json:"item_id,omitzero"`
	// ContentIndex and Part are a content part's; SummaryIndex a
	// reasoning summary part's.
	ContentIndex *int                  `json:"content_index,omitzero"`
	SummaryIndex *int                  `json:"summary_index,omitzero"`
	Part         *ResponsesContentPart `json:"part,omitzero"`
	// Delta is the text or arguments added; Text the whole text at .done;
	// Arguments and Name the whole call at function_call_arguments.done.
	Delta     *string        `json:"delta,omitzero"`
	Text      *string        `json:"text,omitzero"`
	Arguments *string        `json:"arguments,omitzero"`
	Name      string         `json:"name,omitzero"`
	Logprobs  jsontext.Value `json:"logprobs,omitzero"`
	// Code, Message and Param are an error event's.
	Code    apischema.Nullable[string] `json:"code,omitzero"`
	Message string                     `json:"message,omitzero"`
	Param   apischema.Nullable[string] `json:"param,omitzero"`
	Unknown jsontext.Value             `json:",embed"`
}
