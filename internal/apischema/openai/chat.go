package openai

import (
	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
)

// ChatCompletionRequest is the body of POST /v1/chat/completions.
//
// Every documented request member is declared, so that a translator to
// another dialect decides about each one; undocumented members are kept
// in Unknown.
type ChatCompletionRequest struct {
	Model    string    `json:"model"`
	Messages []Message `json:"messages"`

	Tools             []Tool      `json:"tools,omitzero"`
	ToolChoice        *ToolChoice `json:"tool_choice,omitzero"`
	ParallelToolCalls *bool       `json:"parallel_tool_calls,omitzero"`
	// Functions and FunctionCall are the deprecated forms of Tools and
	// ToolChoice.
	Functions    []FunctionDefinition `json:"functions,omitzero"`
	FunctionCall *ToolChoice          `json:"function_call,omitzero"`

	MaxCompletionTokens *int     `json:"max_completion_tokens,omitzero"`
	MaxTokens           *int     `json:"max_tokens,omitzero"`
	Temperature         *float64 `json:"temperature,omitzero"`
	TopP                *float64 `json:"top_p,omitzero"`
	N                   *int     `json:"n,omitzero"`
	Stop                *Stop    `json:"stop,omitzero"`
	Seed                *int64   `json:"seed,omitzero"`
	PresencePenalty     *float64 `json:"presence_penalty,omitzero"`
	FrequencyPenalty    *float64 `json:"frequency_penalty,omitzero"`
	// LogitBias maps token ids to a bias from -100 to 100.
	LogitBias       jsontext.Value  `json:"logit_bias,omitzero"`
	Logprobs        *bool           `json:"logprobs,omitzero"`
	TopLogprobs     *int            `json:"top_logprobs,omitzero"`
	ResponseFormat  *ResponseFormat `json:"response_format,omitzero"`
	ReasoningEffort string          `json:"reasoning_effort,omitzero"`
	Verbosity       string          `json:"verbosity,omitzero"`

	Stream        bool           `json:"stream,omitzero"`
	StreamOptions *StreamOptions `json:"stream_options,omitzero"`

	// Modalities, Audio and Prediction ask for audio output and predicted
	// outputs; WebSearchOptions for the search models' web search.
	Modalities       []string       `json:"modalities,omitzero"`
	Audio            jsontext.Value `json:"audio,omitzero"`
	Prediction       jsontext.Value `json:"prediction,omitzero"`
	WebSearchOptions jsontext.Value `json:"web_search_options,omitzero"`
	// Moderation asks for moderation of the output.
	Moderation jsontext.Value `json:"moderation,omitzero"`

	// Store and Metadata keep the completion at OpenAI (for evals and
	// distillation); ServiceTier picks the processing tier.
	Store       *bool             `json:"store,omitzero"`
	Metadata    map[string]string `json:"metadata,omitzero"`
	ServiceTier string            `json:"service_tier,omitzero"`
	// User, SafetyIdentifier and PromptCacheKey identify the end user for
	// abuse monitoring and prompt-cache routing.
	User                 string         `json:"user,omitzero"`
	SafetyIdentifier     string         `json:"safety_identifier,omitzero"`
	PromptCacheKey       string         `json:"prompt_cache_key,omitzero"`
	PromptCacheRetention string         `json:"prompt_cache_retention,omitzero"`
	PromptCacheOptions   jsontext.Value `json:"prompt_cache_options,omitzero"`

	Unknown jsontext.Value `json:",embed"`
}

// Message roles.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
	// RoleFunction is the deprecated role of a function result.
	RoleFunction = "function"
)

// Message is one entry of "messages", of any role.
type Message struct {
	Role    string  `json:"role"`
	Content Content `json:"content,omitzero"`
	// Name names the participant, or the function of a "function" message.
	Name string `json:"name,omitzero"`
	// Refusal, Audio, ToolCalls and FunctionCall are an assistant
	// message's; ToolCallID a tool message's.
	Refusal      apischema.Nullable[string] `json:"refusal,omitzero"`
	Audio        jsontext.Value             `json:"audio,omitzero"`
	ToolCalls    []ToolCall                 `json:"tool_calls,omitzero"`
	FunctionCall *FunctionCall              `json:"function_call,omitzero"`
	ToolCallID   string                     `json:"tool_call_id,omitzero"`

	Unknown jsontext.Value `json:",embed"`
}

// Content part types.
const (
	PartText       = "text"
	PartImageURL   = "image_url"
	PartInputAudio = "input_audio"
	PartFile       = "file"
	PartRefusal    = "refusal"
)

// ContentPart is one element of an array content. An empty text is
// omitted when encoding.
type ContentPart struct {
	Type       string      `json:"type"`
	Text       string      `json:"text,omitzero"`
	Refusal    string      `json:"refusal,omitzero"`
	ImageURL   *ImageURL   `json:"image_url,omitzero"`
	InputAudio *InputAudio `json:"input_audio,omitzero"`
	File       *File       `json:"file,omitzero"`
	// PromptCacheBreakpoint marks the end of a reusable prompt prefix.
	PromptCacheBreakpoint jsontext.Value `json:"prompt_cache_breakpoint,omitzero"`

	Unknown jsontext.Value `json:",embed"`
}

// ImageURL is an image by URL or data: URL.
type ImageURL struct {
	URL string `json:"url"`
	// Detail is "auto", "low" or "high".
	Detail  string         `json:"detail,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// InputAudio is base64 audio of Format "wav" or "mp3".
type InputAudio struct {
	Data    string         `json:"data"`
	Format  string         `json:"format"`
	Unknown jsontext.Value `json:",embed"`
}

// File is a file input: inline (FileData, a data: URL of base64 content,
// with Filename) or uploaded (FileID).
type File struct {
	FileData string         `json:"file_data,omitzero"`
	FileID   string         `json:"file_id,omitzero"`
	Filename string         `json:"filename,omitzero"`
	Unknown  jsontext.Value `json:",embed"`
}

// ToolCall is a call in an assistant message (requests and responses).
type ToolCall struct {
	ID string `json:"id"`
	// Type is "function" or "custom".
	Type     string         `json:"type"`
	Function *FunctionCall  `json:"function,omitzero"`
	Custom   *CustomCall    `json:"custom,omitzero"`
	Unknown  jsontext.Value `json:",embed"`
}

// FunctionCall is a function's name and its arguments as JSON text.
type FunctionCall struct {
	Name      string         `json:"name"`
	Arguments string         `json:"arguments"`
	Unknown   jsontext.Value `json:",embed"`
}

// CustomCall is a call of a custom (free-form input) tool.
type CustomCall struct {
	Name    string         `json:"name"`
	Input   string         `json:"input"`
	Unknown jsontext.Value `json:",embed"`
}

// Tool is a tool the model may call: {"type":"function","function":{...}}
// or {"type":"custom","custom":{...}}.
type Tool struct {
	Type     string              `json:"type"`
	Function *FunctionDefinition `json:"function,omitzero"`
	Custom   jsontext.Value      `json:"custom,omitzero"`
	Unknown  jsontext.Value      `json:",embed"`
}

// FunctionDefinition declares a function.
type FunctionDefinition struct {
	Name        string `json:"name"`
	Description string `json:"description,omitzero"`
	// Parameters is the JSON Schema of the arguments.
	Parameters jsontext.Value `json:"parameters,omitzero"`
	Strict     *bool          `json:"strict,omitzero"`
	Unknown    jsontext.Value `json:",embed"`
}

// ResponseFormat is {"type":"text"|"json_object"} or
// {"type":"json_schema","json_schema":{...}}.
type ResponseFormat struct {
	Type       string         `json:"type"`
	JSONSchema *JSONSchema    `json:"json_schema,omitzero"`
	Unknown    jsontext.Value `json:",embed"`
}

// JSONSchema is a response format's schema.
type JSONSchema struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitzero"`
	Schema      jsontext.Value `json:"schema,omitzero"`
	Strict      *bool          `json:"strict,omitzero"`
	Unknown     jsontext.Value `json:",embed"`
}

// StreamOptions are the options of a streamed request.
type StreamOptions struct {
	IncludeUsage       *bool          `json:"include_usage,omitzero"`
	IncludeObfuscation *bool          `json:"include_obfuscation,omitzero"`
	Unknown            jsontext.Value `json:",embed"`
}
