package anthropictest

import (
	"encoding/json"
	"errors"
	"strings"
)

// Wire types of the fake, written from Anthropic's API reference
// independently of the adapter in providers/anthropic, so that tests of one
// against the other check both.

// messagesRequest is the body of POST /v1/messages and (without the
// generation fields) of POST /v1/messages/count_tokens.
type messagesRequest struct {
	Model         string          `json:"model"`
	MaxTokens     *int            `json:"max_tokens"`
	System        json.RawMessage `json:"system"`
	Messages      []inMessage     `json:"messages"`
	Tools         []inTool        `json:"tools"`
	ToolChoice    *inToolChoice   `json:"tool_choice"`
	Thinking      *inThinking     `json:"thinking"`
	StopSequences []string        `json:"stop_sequences"`
	Stream        bool            `json:"stream"`
}

type inMessage struct {
	Role string `json:"role"`
	// Content is a string or an array of blocks.
	Content json.RawMessage `json:"content"`
}

type inBlock struct {
	Type   string `json:"type"`
	Text   string `json:"text"`
	Source *struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
		URL       string `json:"url"`
	} `json:"source"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	// Content of a tool_result: a string or an array of blocks.
	Content      json.RawMessage `json:"content"`
	Thinking     *string         `json:"thinking"`
	Signature    string          `json:"signature"`
	Data         string          `json:"data"`
	CacheControl *struct {
		Type string `json:"type"`
	} `json:"cache_control"`
}

type inTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type inToolChoice struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type inThinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens"`
}

// blocks decodes string or array content; a string becomes one text block.
func blocks(raw json.RawMessage) ([]inBlock, error) {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "" || s == "null":
		return nil, errors.New("content is required")
	case s[0] == '"':
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, err
		}
		return []inBlock{{Type: "text", Text: text}}, nil
	}
	var out []inBlock
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// messageOut is a Message object.
type messageOut struct {
	ID           string     `json:"id"`
	Type         string     `json:"type"`
	Role         string     `json:"role"`
	Model        string     `json:"model"`
	Content      []blockOut `json:"content"`
	StopReason   *string    `json:"stop_reason"`
	StopSequence *string    `json:"stop_sequence"`
	Usage        usageOut   `json:"usage"`
}

// blockOut is a response content block. Fields are pointers or omitempty
// so that each block type carries exactly its documented fields.
type blockOut struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	Thinking  *string         `json:"thinking,omitempty"`
	Signature *string         `json:"signature,omitempty"`
}

type usageOut struct {
	InputTokens              int    `json:"input_tokens"`
	CacheCreationInputTokens int    `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int    `json:"cache_read_input_tokens"`
	OutputTokens             int    `json:"output_tokens"`
	ServiceTier              string `json:"service_tier,omitempty"`
}

// Stream events.

type messageStartOut struct {
	Type    string     `json:"type"`
	Message messageOut `json:"message"`
}

type blockStartOut struct {
	Type         string   `json:"type"`
	Index        int      `json:"index"`
	ContentBlock blockOut `json:"content_block"`
}

type blockDeltaOut struct {
	Type  string   `json:"type"`
	Index int      `json:"index"`
	Delta deltaOut `json:"delta"`
}

type deltaOut struct {
	Type        string  `json:"type"`
	Text        *string `json:"text,omitempty"`
	PartialJSON *string `json:"partial_json,omitempty"`
	Thinking    *string `json:"thinking,omitempty"`
	Signature   *string `json:"signature,omitempty"`
}

type blockStopOut struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
}

type messageDeltaOut struct {
	Type  string `json:"type"`
	Delta struct {
		StopReason   *string `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	} `json:"delta"`
	Usage struct {
		OutputTokens int `json:"output_tokens"`
	} `json:"usage"`
}

type typeOnly struct {
	Type string `json:"type"`
}

// errorOut is {"type":"error","error":{"type","message"},"request_id"}.
type errorOut struct {
	Type      string     `json:"type"`
	Error     errorInner `json:"error"`
	RequestID string     `json:"request_id,omitempty"`
}

type errorInner struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type countTokensOut struct {
	InputTokens int `json:"input_tokens"`
}

type modelOut struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

type modelListOut struct {
	Data    []modelOut `json:"data"`
	HasMore bool       `json:"has_more"`
	FirstID *string    `json:"first_id"`
	LastID  *string    `json:"last_id"`
}
