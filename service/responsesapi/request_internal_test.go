package responsesapi

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// summary renders a canonical request compactly: role:text per part,
// tool calls as >name(args), tool results as <id=text.
func summary(r *providers.ChatRequest) string {
	var parts []string
	for _, m := range r.Messages {
		s := string(m.Role) + ":"
		if m.ToolCallID != "" {
			s += "<" + m.ToolCallID + "="
		}
		for _, p := range m.Content {
			switch p.Type {
			case providers.PartText:
				s += p.Text
			case providers.PartImage:
				s += "[image " + p.Image.URL + p.Image.MIMEType + "]"
			case providers.PartFile:
				s += "[file " + p.File.Filename + " " + p.File.MIMEType + "]"
			case providers.PartReasoning:
				s += "[thinking " + p.Text + "]"
			}
		}
		for _, tc := range m.ToolCalls {
			s += ">" + tc.Name + "(" + tc.Arguments + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " | ")
}

func TestCanonical(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       string
		check      func(t *testing.T, r *providers.ChatRequest)
	}{
		{name: "string input with instructions", body: `{"model":"m","instructions":"be brief","input":"hi"}`,
			want: "system:be brief | user:hi"},
		{name: "items", body: `{"model":"m","input":[
			{"role":"developer","content":"french"},
			{"type":"message","role":"user","content":[{"type":"input_text","text":"look"},{"type":"input_image","image_url":"data:image/png;base64,iVBO"},{"type":"input_file","filename":"a.pdf","file_data":"data:application/pdf;base64,JVBE"}]},
			{"type":"reasoning","summary":[{"type":"summary_text","text":"hm"}]},
			{"type":"function_call","call_id":"c1","name":"lookup","arguments":"{}","parsed_arguments":{}},
			{"type":"function_call","call_id":"c2","name":"lookup","arguments":"{\"a\":1}"},
			{"type":"function_call_output","call_id":"c1","output":"one"},
			{"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"two"}]},
			{"role":"assistant","content":[{"type":"output_text","text":"done"}]}]}`,
			want: "system:french | user:look[image image/png][file a.pdf application/pdf] | assistant:[thinking hm]>lookup({})>lookup({\"a\":1}) | tool:<c1=one | tool:<c2=two | assistant:done"},
		{name: "history first", body: `{"model":"m","previous_response_id":"resp_1","input":"again"}`,
			want: "user:before | assistant:echo | user:again"},
		{name: "tools, choice, format, reasoning", body: `{"model":"m","input":"x","tools":[{"type":"function","name":"f","parameters":{"type":"object"}},{"type":"function","name":"g","strict":false},{"type":"web_search"}],
			"tool_choice":{"type":"function","name":"f"},"text":{"format":{"type":"json_schema","name":"a","schema":{"type":"object"},"strict":true}},"reasoning":{"effort":"minimal"},"max_output_tokens":9,"parallel_tool_calls":false}`,
			want: "user:x", check: func(t *testing.T, r *providers.ChatRequest) {
				if len(r.Tools) != 2 || r.Tools[0].Name != "f" || !r.Tools[0].Strict || r.Tools[1].Strict {
					t.Errorf("tools %+v (built-in tools are not canonical; function tools strict unless told)", r.Tools)
				}
				if r.ToolChoice == nil || r.ToolChoice.Mode != providers.ToolChoiceFunction || r.ToolChoice.Name != "f" {
					t.Errorf("tool choice %+v", r.ToolChoice)
				}
				if f := r.ResponseFormat; f == nil || f.Type != providers.FormatJSONSchema || f.Name != "a" || !f.Strict || string(f.Schema) != `{"type":"object"}` {
					t.Errorf("format %+v", r.ResponseFormat)
				}
				if r.Reasoning == nil || r.Reasoning.Effort != "low" || *r.MaxTokens != 9 || *r.ParallelToolCalls {
					t.Errorf("reasoning %+v max %v parallel %v", r.Reasoning, r.MaxTokens, r.ParallelToolCalls)
				}
			}},
	}
	history := []schema.InputItem{{Role: "user", Content: schema.ResponsesContent{Parts: []schema.ResponsesContentPart{schema.InputText("before")}}},
		{Type: schema.ItemMessage, Role: "assistant", Content: schema.ResponsesContent{Parts: []schema.ResponsesContentPart{schema.OutputText("echo")}}}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := decodeRequest([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			var h []schema.InputItem
			if req.PreviousResponseID != "" {
				h = history
			}
			c, err := canonical(req, h)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(c); got != tt.want {
				t.Errorf("canonical\n got %s\nwant %s", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, param string }{
		{"empty", ``, ""},
		{"no model", `{"input":"x"}`, "model"},
		{"no input", `{"model":"m"}`, "input"},
		{"unknown parameter", `{"model":"m","input":"x","x_new":1}`, "x_new"},
		{"unknown nested parameter", `{"model":"m","input":"x","text":{"format":{"type":"text","x":1}}}`, "text.format.x"},
		{"conversation", `{"model":"m","input":"x","conversation":"conv_1"}`, "conversation"},
		{"background", `{"model":"m","input":"x","background":true}`, "background"},
		{"truncation", `{"model":"m","input":"x","truncation":"sometimes"}`, "truncation"},
		{"item reference", `{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0]"},
		{"bad role", `{"model":"m","input":[{"role":"robot","content":"x"}]}`, "input[0].role"},
		{"image by file id", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file_1"}]}]}`, "input[0].content[0].image_url"},
		{"call without id", `{"model":"m","input":[{"type":"function_call","name":"f"}]}`, "input[0]"},
		{"bad tool choice", `{"model":"m","input":"x","tool_choice":{"type":"mcp"}}`, "tool_choice"},
		{"schema missing", `{"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"a"}}}`, "text.format.schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := decodeRequest([]byte(tt.body))
			if err == nil {
				_, err = canonical(req, nil)
			}
			var inv *gateway.InvalidRequestError
			if !errors.As(err, &inv) || inv.Param != tt.param {
				t.Fatalf("error %v, want an invalid request of param %q", err, tt.param)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	history := []schema.InputItem{{Role: "user", Content: schema.ResponsesContent{Text: ptr("a")}}}
	for body, want := range map[string]string{
		`{"model":"m","previous_response_id":"resp_1","input":"b","x":1}`:                       `{"model":"m","input":[{"role":"user","content":"a"},{"role":"user","content":"b"}],"x":1}`,
		`{"model":"m","previous_response_id":"resp_1","input":[{"role":"user","content":"b"}]}`: `{"model":"m","input":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}`,
	} {
		got, err := expand([]byte(body), history)
		if err != nil || !bytes.Equal(got, []byte(want)) {
			t.Errorf("expand(%s)\n got %s, %v\nwant %s", body, got, err, want)
		}
	}
}

// TestEventSequence feeds canonical chunks (reasoning, text, two tool
// calls) through the synthesiser and checks the typed events.
func TestEventSequence(t *testing.T) {
	t.Parallel()
	req := &schema.ResponsesRequest{Model: "m"}
	resp := skeleton(req, "resp_x", 1, true)
	var types []string
	var seqs []int64
	ev := newEvents(resp, newIDs("resp_x"), func(b []byte) error {
		var e schema.StreamEvent
		_, data, _ := bytes.Cut(b, []byte("data: "))
		if err := apischema.Unmarshal(bytes.TrimSpace(data), &e); err != nil {
			t.Fatalf("event %s: %v", b, err)
		}
		if !bytes.HasPrefix(b, []byte("event: "+e.Type+"\n")) {
			t.Errorf("event line of %s", b)
		}
		types, seqs = append(types, e.Type), append(seqs, e.SequenceNumber)
		return nil
	})
	chunks := []providers.ChoiceDelta{
		{Reasoning: "hm"}, {Text: "Hel"}, {Text: "lo"},
		{ToolCalls: []providers.ToolCallDelta{{Index: 0, ID: "c1", Name: "f"}}},
		{ToolCalls: []providers.ToolCallDelta{{Index: 0, Arguments: "{}"}}},
		{ToolCalls: []providers.ToolCallDelta{{Index: 1, ID: "c2", Name: "g", Arguments: "{\"a\":1}"}}},
		{FinishReason: providers.FinishToolCalls},
	}
	if err := ev.start(); err != nil {
		t.Fatal(err)
	}
	for _, d := range chunks {
		if err := ev.chunk(&providers.Chunk{Choices: []providers.ChoiceDelta{d}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ev.end(providers.Usage{InputTokens: 3, OutputTokens: 4}); err != nil {
		t.Fatal(err)
	}
	if err := ev.done(); err != nil {
		t.Fatal(err)
	}
	want := "response.created response.in_progress " +
		"response.output_item.added response.reasoning_summary_part.added response.reasoning_summary_text.delta " +
		"response.reasoning_summary_text.done response.reasoning_summary_part.done response.output_item.done " +
		"response.output_item.added response.content_part.added response.output_text.delta response.output_text.delta " +
		"response.output_text.done response.content_part.done response.output_item.done " +
		"response.output_item.added response.function_call_arguments.delta response.function_call_arguments.done response.output_item.done " +
		"response.output_item.added response.function_call_arguments.delta response.function_call_arguments.done response.output_item.done " +
		"response.completed"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("events\n got %s\nwant %s", got, want)
	}
	for i, s := range seqs {
		if s != int64(i) {
			t.Fatalf("sequence numbers %v", seqs)
		}
	}
	if len(resp.Output) != 4 || resp.Output[1].Content[0].TextValue() != "Hello" || *resp.Output[2].Arguments != "{}" ||
		resp.Output[3].CallID != "c2" || resp.Status != schema.StatusCompleted || resp.Usage.TotalTokens != 7 {
		t.Errorf("final response %+v", resp)
	}
}

// TestAsInputKeepsUnknownMembers: an output item the schema does not
// model (a built-in tool's call) goes back upstream with its members.
func TestAsInputKeepsUnknownMembers(t *testing.T) {
	t.Parallel()
	var out []schema.OutputItem
	if err := apischema.Unmarshal([]byte(`[{"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"q"}}]`), &out); err != nil {
		t.Fatal(err)
	}
	b, err := apischema.Marshal(asInput(out))
	if err != nil || string(b) != `[{"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"q"}}]` {
		t.Errorf("asInput = %s, %v", b, err)
	}
}
