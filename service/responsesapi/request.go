package responsesapi

import (
	"fmt"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

func bad(param, format string, args ...any) error {
	return &gateway.InvalidRequestError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// decodeRequest parses a POST /v1/responses body.
func decodeRequest(body []byte) (*schema.ResponsesRequest, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, bad("", "the request body is empty; send a JSON object")
	}
	var req schema.ResponsesRequest
	if err := apischema.Unmarshal(body, &req); err != nil {
		return nil, bad("", "the request body is not a valid Responses request: %v", err)
	}
	if req.Model == "" {
		return nil, bad("model", "model is required")
	}
	if req.Input.IsZero() && req.PreviousResponseID == "" {
		return nil, bad("input", "input is required")
	}
	// Unknown parameters are refused, so that nothing is silently
	// dropped; unknown members of input items are not parameters but what
	// SDKs keep on output items given back as input (the Node SDK's
	// parsed_arguments), and do not change the conversation. Built-in
	// tools keep their members: they go to OpenAI upstreams serving the
	// Responses API only, and every other upstream refuses them.
	for _, m := range apischema.Unknowns(&req) {
		if !strings.HasPrefix(m.Path, "input[") && !builtinToolMember(&req, m.Path) {
			return nil, bad(m.Path, "unknown parameter %q (the gateway translates Responses requests for every provider and does not guess at parameters it does not know)", m.Path)
		}
	}
	switch {
	case !apischema.IsNull(req.Conversation):
		return nil, bad("conversation", "conversation objects are not supported by this gateway; continue a conversation with previous_response_id")
	case !apischema.IsNull(req.Prompt):
		return nil, bad("prompt", "prompt templates are OpenAI-side objects this gateway cannot expand; send the input instead")
	case req.Background != nil && *req.Background:
		return nil, bad("background", "background responses are not supported by this gateway")
	case req.Truncation != "" && req.Truncation != "auto" && req.Truncation != "disabled":
		return nil, bad("truncation", "truncation must be \"auto\" or \"disabled\"")
	}
	return &req, nil
}

// canonical translates req, after the conversation history, into the
// canonical chat request.
func canonical(req *schema.ResponsesRequest, history []schema.InputItem) (*providers.ChatRequest, error) {
	out := &providers.ChatRequest{Model: req.Model, Temperature: req.Temperature, TopP: req.TopP,
		MaxTokens: req.MaxOutputTokens, ParallelToolCalls: req.ParallelToolCalls, User: req.User}
	if req.Instructions != "" {
		out.Messages = append(out.Messages, providers.Message{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart(req.Instructions)}})
	}
	for i := range history {
		if err := appendItem(out, &history[i], fmt.Sprintf("previous_response_id(input[%d])", i)); err != nil {
			return nil, err
		}
	}
	if req.Input.Text != nil {
		out.Messages = append(out.Messages, providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(*req.Input.Text)}})
	}
	for i := range req.Input.Items {
		if err := appendItem(out, &req.Input.Items[i], fmt.Sprintf("input[%d]", i)); err != nil {
			return nil, err
		}
	}
	for i := range req.Tools {
		t := &req.Tools[i]
		if t.Type != "function" {
			continue // a built-in tool: see wire.Unmapped
		}
		tool := providers.Tool{Name: t.Name, Description: t.Description}
		if !apischema.IsNull(t.Parameters) {
			tool.Parameters = []byte(t.Parameters)
		}
		// The Responses API makes function tools strict unless told otherwise.
		tool.Strict = t.Strict == nil || *t.Strict
		out.Tools = append(out.Tools, tool)
	}
	if tc := req.ToolChoice; tc != nil {
		switch {
		case tc.Mode != "":
			out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceMode(tc.Mode)}
		case tc.Type == "function" && tc.Name != "":
			out.ToolChoice = &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: tc.Name}
		default:
			return nil, bad("tool_choice", "tool_choice must be \"auto\", \"none\", \"required\" or {\"type\":\"function\",\"name\":...}")
		}
	}
	if req.Text != nil && req.Text.Format != nil {
		f := req.Text.Format
		switch f.Type {
		case "text":
		case "json_object":
			out.ResponseFormat = &providers.ResponseFormat{Type: providers.FormatJSONObject}
		case "json_schema":
			if apischema.IsNull(f.Schema) {
				return nil, bad("text.format.schema", "a json_schema format needs a schema")
			}
			out.ResponseFormat = &providers.ResponseFormat{Type: providers.FormatJSONSchema, Name: f.Name,
				Description: f.Description, Schema: []byte(f.Schema), Strict: f.Strict != nil && *f.Strict}
		default:
			return nil, bad("text.format.type", "unknown text format %q", f.Type)
		}
	}
	if r := req.Reasoning; r != nil && r.Effort != "" && r.Effort != "none" {
		effort := r.Effort
		if effort == "minimal" {
			effort = "low"
		}
		out.Reasoning = &providers.ReasoningConfig{Effort: effort}
	}
	return out, nil
}

// appendItem adds one input item to req's messages.
func appendItem(req *providers.ChatRequest, it *schema.InputItem, param string) error {
	switch it.Type {
	case "", schema.ItemMessage:
		return appendMessage(req, it, param)
	case schema.ItemFunctionCall:
		tc := providers.ToolCall{ID: it.CallID, Name: it.Name, Arguments: it.Arguments}
		if tc.ID == "" || tc.Name == "" {
			return bad(param, "a function_call item needs call_id and name")
		}
		last := lastAssistant(req)
		last.ToolCalls = append(last.ToolCalls, tc)
	case schema.ItemFunctionCallOutput:
		if it.CallID == "" {
			return bad(param+".call_id", "a function_call_output item needs call_id")
		}
		text, err := outputText(it.Output, param+".output")
		if err != nil {
			return err
		}
		req.Messages = append(req.Messages, providers.Message{Role: providers.RoleTool, ToolCallID: it.CallID,
			Content: []providers.Part{providers.TextPart(text)}})
	case schema.ItemReasoning:
		var b strings.Builder
		for _, s := range it.Summary {
			b.WriteString(s.Text)
		}
		if b.Len() == 0 && it.EncryptedContent == "" {
			return nil
		}
		last := lastAssistant(req)
		last.Content = append(last.Content, providers.Part{Type: providers.PartReasoning, Text: b.String(), Signature: it.EncryptedContent})
	case schema.ItemReference:
		return bad(param, "item_reference items are not supported by this gateway; send the item itself or use previous_response_id")
	default:
		return bad(param+".type", "input items of type %q are not supported by this gateway", it.Type)
	}
	return nil
}

// lastAssistant returns the last message when it is the assistant's
// (without tool results after it), else a new assistant message.
func lastAssistant(req *providers.ChatRequest) *providers.Message {
	if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == providers.RoleAssistant {
		return &req.Messages[n-1]
	}
	req.Messages = append(req.Messages, providers.Message{Role: providers.RoleAssistant})
	return &req.Messages[len(req.Messages)-1]
}

func appendMessage(req *providers.ChatRequest, it *schema.InputItem, param string) error {
	var role providers.Role
	switch it.Role {
	case "user":
		role = providers.RoleUser
	case "assistant":
		role = providers.RoleAssistant
	case "system", "developer":
		role = providers.RoleSystem
	default:
		return bad(param+".role", "role must be \"user\", \"assistant\", \"system\" or \"developer\"")
	}
	var parts []providers.Part
	if it.Content.Text != nil {
		parts = append(parts, providers.TextPart(*it.Content.Text))
	}
	for j := range it.Content.Parts {
		p := &it.Content.Parts[j]
		pp := fmt.Sprintf("%s.content[%d]", param, j)
		switch p.Type {
		case schema.PartInputText, schema.PartOutputText:
			parts = append(parts, providers.TextPart(p.TextValue()))
		case schema.PartRefusal:
			parts = append(parts, providers.TextPart(p.Refusal))
		case schema.PartInputImage:
			if p.ImageURL == "" {
				return bad(pp+".image_url", "an input_image needs image_url (file ids of OpenAI's Files API cannot be sent to every provider)")
			}
			img, err := image(p.ImageURL, p.Detail, pp)
			if err != nil {
				return err
			}
			parts = append(parts, providers.Part{Type: providers.PartImage, Image: img})
		case schema.PartInputFile:
			f, err := file(p, pp)
			if err != nil {
				return err
			}
			parts = append(parts, providers.Part{Type: providers.PartFile, File: f})
		default:
			return bad(pp+".type", "content parts of type %q are not supported by this gateway", p.Type)
		}
	}
	if role == providers.RoleAssistant {
		last := lastAssistant(req)
		last.Content = append(last.Content, parts...)
		return nil
	}
	req.Messages = append(req.Messages, providers.Message{Role: role, Content: parts})
	return nil
}

// image reads an image URL: https, or a data: URL kept inline.
func image(url, detail, param string) (*providers.Image, error) {
	img := &providers.Image{Detail: detail}
	if mime, data, ok := strings.Cut(strings.TrimPrefix(url, "data:"), ";base64,"); ok && strings.HasPrefix(url, "data:") {
		b, err := decodeBase64(data)
		if err != nil {
			return nil, bad(param+".image_url", "the data URL is not valid base64")
		}
		img.MIMEType, img.Data = mime, b
		return img, nil
	}
	img.URL = url
	return img, nil
}

// file reads an input_file: inline file_data (a data URL or base64) or a
// file_url.
func file(p *schema.ResponsesContentPart, param string) (*providers.File, error) {
	f := &providers.File{Filename: p.Filename}
	switch {
	case p.FileData != "":
		f.MIMEType = "application/pdf"
		data := p.FileData
		if mime, rest, ok := strings.Cut(strings.TrimPrefix(data, "data:"), ";base64,"); ok && strings.HasPrefix(data, "data:") {
			f.MIMEType, data = mime, rest
		}
		f.Base64 = data
	case p.FileURL != "":
		f.URL = p.FileURL
	default:
		return nil, bad(param, "an input_file needs file_data or file_url (file ids of OpenAI's Files API cannot be sent to every provider)")
	}
	return f, nil
}

// outputText reads a function_call_output's output: a string, or a list
// of input_text parts.
func outputText(v jsontext.Value, param string) (string, error) {
	if apischema.IsNull(v) {
		return "", nil
	}
	var s string
	if err := apischema.Unmarshal(v, &s); err == nil {
		return s, nil
	}
	var parts []schema.ResponsesContentPart
	if err := apischema.Unmarshal(v, &parts); err != nil {
		return "", bad(param, "output must be a string or a list of input_text parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != schema.PartInputText {
			return "", bad(param, "only input_text parts are supported in a function_call_output by this gateway")
		}
		b.WriteString(p.TextValue())
	}
	return b.String(), nil
}

// builtinToolMember reports whether path is a member of a built-in tool.
func builtinToolMember(req *schema.ResponsesRequest, path string) bool {
	for i := range req.Tools {
		if req.Tools[i].Type != "function" && strings.HasPrefix(path, fmt.Sprintf("tools[%d].", i)) {
			return true
		}
	}
	return false
}
