package openai

import (
	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
)

// Finish reasons.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool_calls"
	FinishContentFilter = "content_filter"
	// FinishFunctionCall is the deprecated form of FinishToolCalls.
	FinishFunctionCall = "function_call"
)

// ChatCompletion is the chat.completion object.
type ChatCompletion struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []Choice `json:"choices"`
	Usage   *Usage   `json:"usage,omitzero"`
	// SystemFingerprint is null on some models.
	SystemFingerprint apischema.Nullable[string] `json:"system_fingerprint,omitzero"`
	ServiceTier       string                     `json:"service_tier,omitzero"`
	// Error is set by some OpenAI-compatible servers that answer 200 with
	// an error object.
	Error   *ErrorObject   `json:"error,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// Choice is one answer of a chat.completion.
type Choice struct {
	Index   int             `json:"index"`
	Message ResponseMessage `json:"message"`
	// Logprobs is null unless the request asked for log probabilities.
	Logprobs     jsontext.Value `json:"logprobs"`
	FinishReason string         `json:"finish_reason"`
	Unknown      jsontext.Value `json:",embed"`
}

// ResponseMessage is choices[].message. ReasoningContent (vLLM, DeepSeek)
// and Reasoning (OpenRouter, newer vLLM) carry the visible reasoning of
// OpenAI-compatible servers.
type ResponseMessage struct {
	Role             string                     `json:"role"`
	Content          apischema.Nullable[string] `json:"content"`
	ReasoningContent string                     `json:"reasoning_content,omitzero"`
	Reasoning        string                     `json:"reasoning,omitzero"`
	Refusal          apischema.Nullable[string] `json:"refusal"`
	ToolCalls        []ToolCall                 `json:"tool_calls,omitzero"`
	FunctionCall     *FunctionCall              `json:"function_call,omitzero"`
	// Annotations are URL citations of the search models; always an array.
	Annotations jsontext.Value `json:"annotations,omitzero"`
	Audio       jsontext.Value `json:"audio,omitzero"`
	Unknown     jsontext.Value `json:",embed"`
}

// Usage counts the tokens of chat completions and embeddings.
type Usage struct {
	PromptTokens            int64                    `json:"prompt_tokens"`
	CompletionTokens        int64                    `json:"completion_tokens"`
	TotalTokens             int64                    `json:"total_tokens"`
	PromptTokensDetails     *PromptTokensDetails     `json:"prompt_tokens_details,omitzero"`
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitzero"`
	// PromptCacheHitTokens is DeepSeek's name for cached prompt tokens.
	PromptCacheHitTokens int64          `json:"prompt_cache_hit_tokens,omitzero"`
	Unknown              jsontext.Value `json:",embed"`
}

// PromptTokensDetails breaks prompt tokens down.
type PromptTokensDetails struct {
	CachedTokens int64          `json:"cached_tokens"`
	AudioTokens  *int64         `json:"audio_tokens,omitzero"`
	Unknown      jsontext.Value `json:",embed"`
}

// CompletionTokensDetails breaks completion tokens down.
type CompletionTokensDetails struct {
	ReasoningTokens          int64          `json:"reasoning_tokens"`
	AudioTokens              *int64         `json:"audio_tokens,omitzero"`
	AcceptedPredictionTokens *int64         `json:"accepted_prediction_tokens,omitzero"`
	RejectedPredictionTokens *int64         `json:"rejected_prediction_tokens,omitzero"`
	Unknown                  jsontext.Value `json:",embed"`
}

// Chunk is the chat.completion.chunk object of a stream.
type Chunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint,omitzero"`
	ServiceTier       string        `json:"service_tier,omitzero"`
	Choices           []ChunkChoice `json:"choices"`
	// Usage is null on every chunk but the last of a stream that asked for
	// usage, and absent from streams that did not.
	Usage apischema.Nullable[Usage] `json:"usage,omitzero"`
	// Obfuscation pads chunks of streams with include_obfuscation.
	Obfuscation string `json:"obfuscation,omitzero"`
	// Error reports a failure inside the stream.
	Error *ErrorObject `json:"error,omitzero"`
	// XGroq is Groq's extension member: Groq reports a stream's usage in
	// the final chunk's x_groq.usage rather than in usage.
	XGroq   *XGroq         `json:"x_groq,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// XGroq is the x_groq member of Groq's stream chunks.
type XGroq struct {
	ID      string         `json:"id,omitzero"`
	Usage   *Usage         `json:"usage,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// ChunkChoice is new content for one choice.
type ChunkChoice struct {
	Index        int                        `json:"index"`
	Delta        Delta                      `json:"delta"`
	Logprobs     jsontext.Value             `json:"logprobs"`
	FinishReason apischema.Nullable[string] `json:"finish_reason"`
	Unknown      jsontext.Value             `json:",embed"`
}

// Delta is the new content of a chunk choice.
type Delta struct {
	Role             string                     `json:"role,omitzero"`
	Content          apischema.Nullable[string] `json:"content,omitzero"`
	Refusal          apischema.Nullable[string] `json:"refusal,omitzero"`
	ReasoningContent string                     `json:"reasoning_content,omitzero"`
	Reasoning        string                     `json:"reasoning,omitzero"`
	ToolCalls        []ToolCallDelta            `json:"tool_calls,omitzero"`
	FunctionCall     *FunctionDelta             `json:"function_call,omitzero"`
	Unknown          jsontext.Value             `json:",embed"`
}

// ToolCallDelta is a fragment of a tool call: the first carries ID, Type
// and the name, the following ones append to the arguments.
type ToolCallDelta struct {
	Index    int            `json:"index"`
	ID       string         `json:"id,omitzero"`
	Type     string         `json:"type,omitzero"`
	Function FunctionDelta  `json:"function"`
	Unknown  jsontext.Value `json:",embed"`
}

// FunctionDelta is a fragment of a function call.
type FunctionDelta struct {
	Name      string         `json:"name,omitzero"`
	Arguments string         `json:"arguments"`
	Unknown   jsontext.Value `json:",embed"`
}
