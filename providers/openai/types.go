package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// This file holds the Chat Completions, Embeddings and Models wire types as
// documented in OpenAI's API reference. Only the fields the adapter reads or
// writes are declared; unknown response fields are ignored.

// chatRequest is the body of POST /chat/completions.
type chatRequest struct {
	Model             string          `json:"model"`
	Messages          []message       `json:"messages"`
	Tools             []tool          `json:"tools,omitempty"`
	ToolChoice        any             `json:"tool_choice,omitempty"` // string or *namedToolChoice
	ParallelToolCalls *bool           `json:"parallel_tool_calls,omitempty"`
	Temperature       *float64        `json:"temperature,omitempty"`
	TopP              *float64        `json:"top_p,omitempty"`
	MaxCompletion     *int            `json:"max_completion_tokens,omitempty"`
	MaxTokens         *int            `json:"max_tokens,omitempty"`
	Stop              []string        `json:"stop,omitempty"`
	Seed              *int64          `json:"seed,omitempty"`
	ResponseFormat    *responseFormat `json:"response_format,omitempty"`
	PresencePenalty   *float64        `json:"presence_penalty,omitempty"`
	FrequencyPenalty  *float64        `json:"frequency_penalty,omitempty"`
	N                 *int            `json:"n,omitempty"`
	User              string          `json:"user,omitempty"`
	Stream            bool            `json:"stream,omitempty"`
	StreamOptions     *streamOptions  `json:"stream_options,omitempty"`
}

// message is one entry of "messages". Content is a string, a []contentPart
// or nil (JSON null: an assistant message that only calls tools).
type message struct {
	Role       string     `json:"role"`
	Content    any        `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []toolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// contentPart is a text or image_url part of a message's content array.
type contentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *imageURL `json:"image_url,omitempty"`
}

type imageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// toolCall is a function call in an assistant message (request and response).
type toolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type tool struct {
	Type     string      `json:"type"`
	Function functionDef `json:"function"`
}

type functionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      bool            `json:"strict,omitempty"`
}

type namedToolChoice struct {
	Type     string       `json:"type"`
	Function functionName `json:"function"`
}

type functionName struct {
	Name string `json:"name"`
}

type responseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *jsonSchema `json:"json_schema,omitempty"`
}

type jsonSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      bool            `json:"strict,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// chatResponse is the chat.completion object.
type chatResponse struct {
	ID      string       `json:"id"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []choice     `json:"choices"`
	Usage   *usage       `json:"usage"`
	Error   *errorObject `json:"error"`
}

type choice struct {
	Index        int             `json:"index"`
	Message      responseMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
}

// responseMessage is choices[].message. ReasoningContent (vLLM, DeepSeek)
// and Reasoning (OpenRouter, newer vLLM) carry visible reasoning of
// OpenAI-compatible servers; FunctionCall is the legacy single call.
type responseMessage struct {
	Role             string        `json:"role"`
	Content          string        `json:"content"`
	Refusal          string        `json:"refusal"`
	ReasoningContent string        `json:"reasoning_content"`
	Reasoning        string        `json:"reasoning"`
	ToolCalls        []toolCall    `json:"tool_calls"`
	FunctionCall     *functionCall `json:"function_call"`
}

// usage is the usage object of chat completions and embeddings.
type usage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
	// PromptCacheHitTokens is DeepSeek's name for cached prompt tokens.
	PromptCacheHitTokens int64 `json:"prompt_cache_hit_tokens"`
}

// chunk is the chat.completion.chunk object of a stream. Error is set when
// the upstream reports a failure inside the stream.
type chunk struct {
	ID      sticky        `json:"id"`
	Model   sticky        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *usage        `json:"usage"`
	Error   *errorObject  `json:"error"`
}

// sticky is a string that keeps its current value when the JSON text
// repeats it, sparing an allocation for the id and model that every chunk
// of a stream carries.
type sticky string

// UnmarshalJSON implements json.Unmarshaler.
func (s *sticky) UnmarshalJSON(b []byte) error {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		if raw := b[1 : len(b)-1]; bytes.IndexByte(raw, '\\') < 0 {
			if string(raw) != string(*s) {
				*s = sticky(raw)
			}
			return nil
		}
	}
	if string(b) == "null" {
		*s = ""
		return nil
	}
	return json.Unmarshal(b, (*string)(s))
}

type chunkChoice struct {
	Index        int    `json:"index"`
	Delta        delta  `json:"delta"`
	FinishReason string `json:"finish_reason"`
}

type delta struct {
	Role             string          `json:"role"`
	Content          string          `json:"content"`
	Refusal          string          `json:"refusal"`
	ReasoningContent string          `json:"reasoning_content"`
	Reasoning        string          `json:"reasoning"`
	ToolCalls        []toolCallDelta `json:"tool_calls"`
	FunctionCall     *functionCall   `json:"function_call"`
}

type toolCallDelta struct {
	Index    int    `json:"index"`
	ID       string `json:"id"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// errorObject is the "error" member of an error body. OpenAI sends code
// and param as strings or null; some compatible servers send a numeric
// code or a bare string instead of an object, which UnmarshalJSON accepts.
type errorObject struct {
	Message string
	Type    string
	Param   string
	Code    string
}

// UnmarshalJSON accepts an object with string or numeric fields, or a string.
func (e *errorObject) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &e.Message)
	}
	var w struct {
		Message json.RawMessage `json:"message"`
		Type    json.RawMessage `json:"type"`
		Param   json.RawMessage `json:"param"`
		Code    json.RawMessage `json:"code"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	e.Message = scalarString(w.Message)
	e.Type = scalarString(w.Type)
	e.Param = scalarString(w.Param)
	e.Code = scalarString(w.Code)
	return nil
}

// scalarString renders a JSON string, number or bool as text; null, absent
// and composite values become "".
func scalarString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	case 'n', '{', '[':
		return ""
	}
	return string(raw)
}

// errorBody is a complete error response. Message, Type and Code at the top
// level cover servers that do not nest the error object.
type errorBody struct {
	Error   *errorObject    `json:"error"`
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
}

// embeddingRequest is the body of POST /embeddings.
type embeddingRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	Dimensions     *int     `json:"dimensions,omitempty"`
	User           string   `json:"user,omitempty"`
	EncodingFormat string   `json:"encoding_format"`
}

type embeddingResponse struct {
	Data []struct {
		Index     int    `json:"index"`
		Embedding vector `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
	Usage *usage `json:"usage"`
}

// vector is an embedding sent as a float array or, with
// encoding_format=base64, as base64 of little-endian float32 values.
type vector []float32

var errBadBase64Vector = errors.New("base64 embedding length is not a multiple of 4")

// UnmarshalJSON accepts both encodings.
func (v *vector) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '"' {
		return json.Unmarshal(b, (*[]float32)(v))
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("decode base64 embedding: %w", err)
	}
	if len(raw)%4 != 0 {
		return errBadBase64Vector
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	*v = out
	return nil
}

type modelList struct {
	Data []struct {
		ID string `json:"id"`
	} `json:"data"`
}
