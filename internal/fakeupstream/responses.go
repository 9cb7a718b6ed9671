package fakeupstream

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
)

// responses answers POST /v1/responses like the chat route: the
// conversation (instructions and input items) decides the answer as for
// a chat request, rendered as a response object or its typed event
// stream. The fake keeps no responses: a previous_response_id is not
// found (404), as OpenAI answers an id it never issued.
func (x *exchange) responses() {
	var req schema.ResponsesRequest
	if !x.decode(&req, "") {
		return
	}
	switch {
	case req.Model == "":
		x.badRequest("model", "you must provide a model parameter")
		return
	case req.PreviousResponseID != "":
		writeError(x.w, http.StatusNotFound, errorObject("invalid_request_error", "previous_response_id", "previous_response_not_found",
			fmt.Sprintf("Previous response with id '%s' not found.", req.PreviousResponseID)), nil)
		return
	}
	chat, err := chatOf(&req)
	if err != nil {
		x.badRequest("input", "%v", err)
		return
	}
	a, err := x.plan(chat)
	if err != nil {
		x.badRequest("input", "%v", err)
		return
	}
	id := x.o.nextID("resp_fake")
	out := &schema.Response{ID: id, Object: "response", CreatedAt: time.Now().Unix(), Status: schema.StatusCompleted,
		Model: req.Model, ParallelToolCalls: true, Store: req.Store == nil || *req.Store, Temperature: 1, TopP: 1,
		Tools: req.Tools, Truncation: "disabled", Metadata: map[string]string{}, Text: req.Text,
		Instructions: apischema.NullOf[string](), MaxOutputTokens: apischema.NullOf[int](), PreviousResponseID: apischema.NullOf[string]()}
	if out.Tools == nil {
		out.Tools = []schema.ResponsesTool{}
	}
	var item schema.OutputItem
	if a.call != nil {
		args := a.call.Function.Arguments
		item = schema.OutputItem{Type: schema.ItemFunctionCall, ID: "fc_" + id, Status: schema.StatusCompleted,
			CallID: a.call.ID, Name: a.call.Function.Name, Arguments: &args}
	} else {
		item = schema.OutputItem{Type: schema.ItemMessage, ID: "msg_" + id, Status: schema.StatusCompleted, Role: "assistant",
			Content: []schema.ResponsesContentPart{schema.OutputText(a.text)}}
	}
	out.Output = []schema.OutputItem{item}
	if a.finish == schema.FinishLength {
		out.Status, out.IncompleteDetails = schema.StatusIncomplete, &schema.IncompleteDetails{Reason: "max_output_tokens"}
	}
	u := a.usage(1)
	out.Usage = &schema.ResponseUsage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
	if !req.Stream {
		x.respond(out)
		return
	}
	x.responseEvents(out, &a)
}

// chatOf reads a Responses request as the chat request the fake plans
// answers for.
func chatOf(req *schema.ResponsesRequest) (*schema.ChatCompletionRequest, error) {
	c := &schema.ChatCompletionRequest{Model: req.Model, MaxCompletionTokens: req.MaxOutputTokens}
	if req.Instructions != "" {
		c.Messages = append(c.Messages, schema.Message{Role: schema.RoleSystem, Content: schema.TextContent(req.Instructions)})
	}
	if req.Input.Text != nil {
		c.Messages = append(c.Messages, schema.Message{Role: schema.RoleUser, Content: schema.TextContent(*req.Input.Text)})
	}
	for i, it := range req.Input.Items {
		switch it.Type {
		case "", schema.ItemMessage:
			text := ""
			if it.Content.Text != nil {
				text = *it.Content.Text
			}
			for _, p := range it.Content.Parts {
				text += p.TextValue()
			}
			c.Messages = append(c.Messages, schema.Message{Role: it.Role, Content: schema.TextContent(text)})
		case schema.ItemFunctionCall:
			c.Messages = append(c.Messages, schema.Message{Role: schema.RoleAssistant, ToolCalls: []schema.ToolCall{{ID: it.CallID, Type: "function",
				Function: &schema.FunctionCall{Name: it.Name, Arguments: it.Arguments}}}})
		case schema.ItemFunctionCallOutput:
			var out string
			if err := apischema.Unmarshal(it.Output, &out); err != nil {
				return nil, fmt.Errorf("input[%d].output: %v", i, err)
			}
			c.Messages = append(c.Messages, schema.Message{Role: schema.RoleTool, ToolCallID: it.CallID, Content: schema.TextContent(out)})
		case schema.ItemReasoning:
		default:
			return nil, fmt.Errorf("input[%d].type: unsupported item type %q", i, it.Type)
		}
	}
	if len(c.Messages) == 0 {
		return nil, fmt.Errorf("input is empty")
	}
	for _, t := range req.Tools {
		if t.Type == "function" {
			c.Tools = append(c.Tools, schema.Tool{Type: "function", Function: &schema.FunctionDefinition{Name: t.Name, Parameters: t.Parameters}})
		}
	}
	if tc := req.ToolChoice; tc != nil {
		c.ToolChoice = &schema.ToolChoice{Mode: tc.Mode}
		if tc.Name != "" {
			c.ToolChoice = &schema.ToolChoice{Type: "function", Function: &schema.Name{Name: tc.Name}}
		}
	}
	if req.Text != nil && req.Text.Format != nil && req.Text.Format.Type != "text" {
		c.ResponseFormat = &schema.ResponseFormat{Type: req.Text.Format.Type}
	}
	return c, nil
}

// responseEvents streams out as the typed events of the Responses API:
// created, in_progress, the item's added, parts and deltas (split into the
// configured number of chunks) and done events, then completed.
func (x *exchange) responseEvents(out *schema.Response, a *answer) {
	h := x.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	x.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(x.w)
	seq := int64(0)
	zero := 0
	send := func(ev schema.StreamEvent) bool {
		ev.SequenceNumber = seq
		seq++
		b, err := apischema.Marshal(&ev)
		if err != nil {
			return false
		}
		var buf strings.Builder
		buf.WriteString("event: " + ev.Type + "\ndata: ")
		buf.Write(b)
		buf.WriteString("\n\n")
		if _, err := x.w.Write([]byte(buf.String())); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	final := *out
	start := *out
	start.Status, start.Output, start.Usage = schema.StatusInProgress, []schema.OutputItem{}, nil
	if !send(schema.StreamEvent{Type: schema.EventCreated, Response: &start}) ||
		!send(schema.StreamEvent{Type: schema.EventInProgress, Response: &start}) {
		return
	}
	item := out.Output[0]
	added := item
	added.Status = schema.StatusInProgress
	if item.Type == schema.ItemMessage {
		added.Content = []schema.ResponsesContentPart{}
	} else {
		empty := ""
		added.Arguments = &empty
	}
	if !send(schema.StreamEvent{Type: schema.EventOutputItemAdded, OutputIndex: &zero, Item: &added}) {
		return
	}
	if item.Type == schema.ItemMessage {
		empty := schema.OutputText("")
		if !send(schema.StreamEvent{Type: schema.EventContentPartAdded, ItemID: item.ID, OutputIndex: &zero, ContentIndex: &zero, Part: &empty}) {
			return
		}
		for i, piece := range split(a.text, x.s.chunks) {
			if i > 0 && !x.o.life.Sleep(x.r.Context(), x.s.chunkDelay) {
				x.o.abandon(x.w, x.r)
				return
			}
			if !send(schema.StreamEvent{Type: schema.EventOutputTextDelta, ItemID: item.ID, OutputIndex: &zero, ContentIndex: &zero,
				Delta: &piece, Logprobs: jsontext.Value("[]")}) {
				return
			}
		}
		text, part := a.text, item.Content[0]
		if !send(schema.StreamEvent{Type: schema.EventOutputTextDone, ItemID: item.ID, OutputIndex: &zero, ContentIndex: &zero,
			Text: &text, Logprobs: jsontext.Value("[]")}) ||
			!send(schema.StreamEvent{Type: schema.EventContentPartDone, ItemID: item.ID, OutputIndex: &zero, ContentIndex: &zero, Part: &part}) {
			return
		}
	} else {
		for _, piece := range split(*item.Arguments, x.s.chunks) {
			if !send(schema.StreamEvent{Type: schema.EventFunctionArgsDelta, ItemID: item.ID, OutputIndex: &zero, Delta: &piece}) {
				return
			}
		}
		if !send(schema.StreamEvent{Type: schema.EventFunctionArgsDone, ItemID: item.ID, OutputIndex: &zero, Name: item.Name,
			Arguments: item.Arguments}) {
			return
		}
	}
	if !send(schema.StreamEvent{Type: schema.EventOutputItemDone, OutputIndex: &zero, Item: &item}) {
		return
	}
	typ := schema.EventCompleted
	if final.Status == schema.StatusIncomplete {
		typ = schema.EventIncomplete
	}
	send(schema.StreamEvent{Type: typ, Response: &final})
}
