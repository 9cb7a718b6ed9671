package responsesapi

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
)

func decodeBase64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// ids names a response's output items after the response id.
type ids struct{ suffix string }

func newIDs(respID string) ids { return ids{suffix: strings.TrimPrefix(respID, "resp_")} }

func (x ids) message() string   { return "msg_" + x.suffix }
func (x ids) reasoning() string { return "rs_" + x.suffix }
func (x ids) call(i int) string { return "fc_" + x.suffix + "_" + strconv.Itoa(i) }
func (x ids) input(i int) string {
	return "in_" + x.suffix + "_" + strconv.Itoa(i)
}

// skeleton returns the response object of req before any output: what
// response.created carries, and what the final object fills in.
func skeleton(req *schema.ResponsesRequest, id string, created int64, stored bool) *schema.Response {
	r := &schema.Response{ID: id, Object: "response", CreatedAt: created, Status: schema.StatusInProgress,
		Model: req.Model, Output: []schema.OutputItem{}, ParallelToolCalls: req.ParallelToolCalls == nil || *req.ParallelToolCalls,
		Store: stored, Temperature: 1, TopP: 1, Tools: req.Tools, Truncation: "disabled", Metadata: req.Metadata,
		Text: req.Text, Reasoning: req.Reasoning, ToolChoice: req.ToolChoice}
	if r.Tools == nil {
		r.Tools = []schema.ResponsesTool{}
	}
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	if r.Text == nil {
		r.Text = &schema.ResponsesText{Format: &schema.TextFormat{Type: "text"}}
	}
	if r.ToolChoice == nil {
		r.ToolChoice = &schema.ToolChoice{Mode: schema.ChoiceAuto}
	}
	if req.Temperature != nil {
		r.Temperature = *req.Temperature
	}
	if req.TopP != nil {
		r.TopP = *req.TopP
	}
	if req.Truncation != "" {
		r.Truncation = req.Truncation
	}
	r.Instructions = apischema.NullOf[string]()
	if req.Instructions != "" {
		s := req.Instructions
		r.Instructions = apischema.ValueOf(&s)
	}
	r.MaxOutputTokens = apischema.NullOf[int]()
	if req.MaxOutputTokens != nil {
		n := *req.MaxOutputTokens
		r.MaxOutputTokens = apischema.ValueOf(&n)
	}
	r.PreviousResponseID = apischema.NullOf[string]()
	if req.PreviousResponseID != "" {
		s := req.PreviousResponseID
		r.PreviousResponseID = apischema.ValueOf(&s)
	}
	if req.User != "" {
		s := req.User
		r.User = apischema.ValueOf(&s)
	}
	return r
}

// finish sets the status, the usage and (for a truncated or filtered
// answer) the incomplete details of r.
func finish(r *schema.Response, reason providers.FinishReason, u providers.Usage) {
	r.Status = schema.StatusCompleted
	switch reason {
	case providers.FinishLength:
		r.Status, r.IncompleteDetails = schema.StatusIncomplete, &schema.IncompleteDetails{Reason: "max_output_tokens"}
	case providers.FinishContentFilter:
		r.Status, r.IncompleteDetails = schema.StatusIncomplete, &schema.IncompleteDetails{Reason: "content_filter"}
	}
	r.Usage = usage(u)
}

func usage(u providers.Usage) *schema.ResponseUsage {
	return &schema.ResponseUsage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TotalTokens: u.Total(),
		InputTokensDetails:  schema.InputTokensDetails{CachedTokens: u.CachedInputTokens},
		OutputTokensDetails: schema.OutputTokensDetails{ReasoningTokens: u.ReasoningTokens}}
}

// outputItems renders a canonical answer as output items: the reasoning,
// the message (when it has text or no tool calls), the function calls.
func outputItems(m *providers.Message, x ids) []schema.OutputItem {
	var out []schema.OutputItem
	var text, reasoning strings.Builder
	var signature string
	hasText, hasReasoning := false, false
	for _, p := range m.Content {
		switch p.Type {
		case providers.PartText:
			text.WriteString(p.Text)
			hasText = true
		case providers.PartReasoning:
			reasoning.WriteString(p.Text)
			signature += p.Signature
			hasReasoning = true
		}
	}
	if hasReasoning {
		out = append(out, reasoningItem(x.reasoning(), reasoning.String(), signature))
	}
	if hasText || len(m.ToolCalls) == 0 {
		out = append(out, messageItem(x.message(), text.String(), schema.StatusCompleted))
	}
	for i, tc := range m.ToolCalls {
		out = append(out, callItem(x.call(i), tc.ID, tc.Name, tc.Arguments, schema.StatusCompleted))
	}
	return out
}

func reasoningItem(id, text, signature string) schema.OutputItem {
	it := schema.OutputItem{Type: schema.ItemReasoning, ID: id, Summary: []schema.SummaryPart{}, EncryptedContent: signature}
	if text != "" {
		it.Summary = append(it.Summary, schema.SummaryPart{Type: schema.PartSummaryText, Text: text})
	}
	return it
}

func messageItem(id, text, status string) schema.OutputItem {
	it := schema.OutputItem{Type: schema.ItemMessage, ID: id, Status: status, Role: "assistant", Content: []schema.ResponsesContentPart{}}
	if status == schema.StatusCompleted {
		it.Content = append(it.Content, schema.OutputText(text))
	}
	return it
}

func callItem(id, callID, name, args, status string) schema.OutputItem {
	return schema.OutputItem{Type: schema.ItemFunctionCall, ID: id, Status: status, CallID: callID, Name: name, Arguments: &args}
}

// asInput turns output items into the input items that continue a
// conversation after them.
func asInput(items []schema.OutputItem) []schema.InputItem {
	out := make([]schema.InputItem, 0, len(items))
	for i := range items {
		o := &items[i]
		// Unknown keeps the members of items the schema does not model
		// (built-in tools' calls), for an upstream that takes them back.
		it := schema.InputItem{Type: o.Type, ID: o.ID, Status: o.Status, Role: o.Role, CallID: o.CallID, Name: o.Name,
			Summary: o.Summary, EncryptedContent: o.EncryptedContent, Unknown: o.Unknown}
		if o.Content != nil {
			it.Content = schema.ResponsesContent{Parts: o.Content}
		}
		if o.Arguments != nil {
			it.Arguments = *o.Arguments
		}
		out = append(out, it)
	}
	return out
}
