package gateway

import (
	"encoding/json"
	"strconv"

	"github.com/tollgate-dev/tollgate/providers"
)

// Limits on request shape, independent of any provider.
const (
	maxMessages = 10_000
	maxTools    = 512
	maxStops    = 16
	maxChoices  = 16
	maxInputs   = 4096
)

// ValidateChat checks a canonical chat request for errors every provider
// would reject, so the caller gets a precise message without an upstream
// round trip.
func ValidateChat(req *providers.ChatRequest) error {
	if req.Model == "" {
		return invalid("model", "is required")
	}
	if len(req.Messages) == 0 {
		return invalid("messages", "must contain at least one message")
	}
	if len(req.Messages) > maxMessages {
		return invalid("messages", "has more than "+strconv.Itoa(maxMessages)+" messages")
	}
	for i := range req.Messages {
		if err := validateMessage(&req.Messages[i], i); err != nil {
			return err
		}
	}
	if len(req.Tools) > maxTools {
		return invalid("tools", "has more than "+strconv.Itoa(maxTools)+" tools")
	}
	names := make(map[string]bool, len(req.Tools))
	for i, t := range req.Tools {
		p := "tools[" + strconv.Itoa(i) + "]"
		if !providers.ValidToolName(t.Name) {
			return invalid(p+".name", "must be 1-64 characters of a-z, A-Z, 0-9, '_' or '-'")
		}
		if names[t.Name] {
			return invalid(p+".name", "duplicate tool name "+strconv.Quote(t.Name))
		}
		names[t.Name] = true
		if len(t.Parameters) > 0 && !json.Valid(t.Parameters) {
			return invalid(p+".parameters", "must be a JSON schema object")
		}
	}
	if tc := req.ToolChoice; tc != nil && tc.Mode == providers.ToolChoiceFunction && !names[tc.Name] {
		return invalid("tool_choice", "names a function that is not in tools: "+strconv.Quote(tc.Name))
	}
	if t := req.Temperature; t != nil && (*t < 0 || *t > 2) {
		return invalid("temperature", "must be between 0 and 2")
	}
	if p := req.TopP; p != nil && (*p <= 0 || *p > 1) {
		return invalid("top_p", "must be greater than 0 and at most 1")
	}
	if m := req.MaxTokens; m != nil && *m < 1 {
		return invalid("max_tokens", "must be at least 1")
	}
	if n := req.N; n != nil && (*n < 1 || *n > maxChoices) {
		return invalid("n", "must be between 1 and "+strconv.Itoa(maxChoices))
	}
	if len(req.Stop) > maxStops {
		return invalid("stop", "has more than "+strconv.Itoa(maxStops)+" sequences")
	}
	for _, pen := range []struct {
		name string
		v    *float64
	}{{"presence_penalty", req.PresencePenalty}, {"frequency_penalty", req.FrequencyPenalty}} {
		if pen.v != nil && (*pen.v < -2 || *pen.v > 2) {
			return invalid(pen.name, "must be between -2 and 2")
		}
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type == providers.FormatJSONSchema {
		if len(rf.Schema) == 0 || !json.Valid(rf.Schema) {
			return invalid("response_format.json_schema.schema", "is required and must be a JSON schema")
		}
	}
	return nil
}

// validateMessage checks message i of a chat request. The paths of its
// errors are built only when there is one: a valid request allocates
// nothing here, however long the conversation.
func validateMessage(m *providers.Message, i int) error {
	p := func() string { return "messages[" + strconv.Itoa(i) + "]" }
	switch m.Role {
	case providers.RoleSystem, providers.RoleUser:
		if len(m.ToolCalls) > 0 {
			return invalid(p()+".tool_calls", "only assistant messages may carry tool calls")
		}
	case providers.RoleAssistant:
		for j, tc := range m.ToolCalls {
			q := func() string { return p() + ".tool_calls[" + strconv.Itoa(j) + "]" }
			if tc.ID == "" {
				return invalid(q()+".id", "is required")
			}
			if tc.Name == "" {
				return invalid(q()+".name", "is required")
			}
		}
	case providers.RoleTool:
		if m.ToolCallID == "" {
			return invalid(p()+".tool_call_id", "is required for tool messages")
		}
	case "":
		return invalid(p()+".role", "is required")
	default:
		return invalid(p()+".role", "must be one of system, user, assistant, tool")
	}
	if len(m.Content) == 0 && len(m.ToolCalls) == 0 && m.Role != providers.RoleAssistant {
		return invalid(p()+".content", "must not be empty")
	}
	for j, part := range m.Content {
		q := func() string { return p() + ".content[" + strconv.Itoa(j) + "]" }
		switch part.Type {
		case providers.PartText, providers.PartReasoning:
		case providers.PartImage:
			if part.Image == nil || (part.Image.URL == "" && len(part.Image.Data) == 0) {
				return invalid(q()+".image", "needs a url or inline data")
			}
			if m.Role != providers.RoleUser && m.Role != providers.RoleTool {
				return invalid(q(), "images are only allowed in user messages and tool results")
			}
		case providers.PartFile:
			if f := part.File; f == nil || f.Base64 == "" && f.URL == "" && f.FileID == "" && f.Text == "" {
				return invalid(q(), "a document needs inline data, a URL, a file id or text")
			}
		default:
			return invalid(q(), "unknown content part type")
		}
	}
	return nil
}

// ValidateEmbed checks a canonical embedding request.
func ValidateEmbed(req *providers.EmbedRequest) error {
	if req.Model == "" {
		return invalid("model", "is required")
	}
	if req.Count() == 0 {
		return invalid("inputs", "must contain at least one input")
	}
	if req.Count() > maxInputs {
		return invalid("inputs", "has more than "+strconv.Itoa(maxInputs)+" inputs")
	}
	for i, in := range req.Inputs {
		if in == "" {
			return invalid("inputs["+strconv.Itoa(i)+"]", "must not be empty")
		}
	}
	for i, toks := range req.Tokens {
		if len(toks) == 0 {
			return invalid("inputs["+strconv.Itoa(len(req.Inputs)+i)+"]", "must not be empty")
		}
	}
	if d := req.Dimensions; d != nil && *d < 1 {
		return invalid("dimensions", "must be at least 1")
	}
	return nil
}
