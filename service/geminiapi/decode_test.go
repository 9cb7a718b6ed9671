package geminiapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"github.com/tollgate-dev/tollgate/providers"
)

func TestDecodeGenerate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		check      func(t *testing.T, req *providers.ChatRequest)
		unmapped   []string
		err        string
	}{
		{name: "text, system, config", body: `{"systemInstruction":{"parts":[{"text":"be brief"}]},
			"contents":[{"role":"user","parts":[{"text":"hi"}]}],
			"generationConfig":{"temperature":0.5,"maxOutputTokens":64,"stopSequences":["x"],"candidateCount":2,"responseMimeType":"application/json"}}`,
			check: func(t *testing.T, req *providers.ChatRequest) {
				if len(req.Messages) != 2 || req.Messages[0].Role != providers.RoleSystem || req.Messages[1].Text() != "hi" ||
					*req.Temperature != 0.5 || *req.MaxTokens != 64 || req.Stop[0] != "x" || *req.N != 2 ||
					req.ResponseFormat.Type != providers.FormatJSONObject {
					t.Errorf("%+v", req)
				}
			}},
		{name: "function call round trip without ids", body: `{"contents":[
			{"role":"user","parts":[{"text":"weather?"}]},
			{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},
			{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"t":"21C"}}}]}],
			"tools":[{"functionDeclarations":[{"name":"get_weather","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING","nullable":true}}}}]}],
			"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}}}`,
			check: func(t *testing.T, req *providers.ChatRequest) {
				call := req.Messages[1].ToolCalls[0]
				if call.Name != "get_weather" || call.Arguments != `{"city":"Paris"}` || req.Messages[2].ToolCallID != call.ID ||
					req.Messages[2].Role != providers.RoleTool || req.ToolChoice.Mode != providers.ToolChoiceFunction {
					t.Errorf("%+v", req)
				}
				if got := string(req.Tools[0].Parameters); got != `{"properties":{"city":{"type":["string","null"]}},"type":"object"}` {
					t.Errorf("parameters %s", got)
				}
			}},
		{name: "inline image and pdf", body: `{"contents":[{"parts":[{"inlineData":{"mimeType":"image/png","data":"iVBORw0K"}},
			{"inlineData":{"mimeType":"application/pdf","data":"JVBERi0x"}},{"text":"what?"}]}]}`,
			check: func(t *testing.T, req *providers.ChatRequest) {
				c := req.Messages[0].Content
				if c[0].Type != providers.PartImage || c[1].Type != providers.PartFile || c[1].File.Base64 != "JVBERi0x" {
					t.Errorf("%+v", c)
				}
			}},
		{name: "what has no canonical form", body: `{"contents":[{"parts":[{"text":"hi","newPartField":1}]}],
			"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}],
			"tools":[{"googleSearch":{}}],"cachedContent":"cachedContents/x","generationConfig":{"responseLogprobs":true}}`,
			unmapped: []string{"safetySettings", "cachedContent", "tools[0].googleSearch", "generationConfig.responseLogprobs", "contents[0].parts[0].newPartField"}},
		{name: "bad role", body: `{"contents":[{"role":"assistant","parts":[{"text":"hi"}]}]}`, err: "contents[0].role"},
		{name: "no contents", body: `{"contents":[]}`, err: "contents"},
		{name: "orphan function response", body: `{"contents":[{"parts":[{"functionResponse":{"name":"f","response":{}}}]}]}`, err: "answers no earlier function call"},
		{name: "duplicate member", body: `{"contents":[],"contents":[]}`, err: "duplicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, req, err := decodeGenerate([]byte(tc.body), "m")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, req)
			}
			var got []string
			for _, f := range req.Source.Unmapped() {
				got = append(got, f.Name)
			}
			if strings.Join(got, ",") != strings.Join(tc.unmapped, ",") {
				t.Errorf("unmapped %v, want %v", got, tc.unmapped)
			}
		})
	}
}

func TestRewriteKeepsEverythingButTexts(t *testing.T) {
	t.Parallel()
	body := `{"contents":[{"role":"user","parts":[{"text":"mail a@b.c"}],"x":1}],"safetySettings":[{"category":"C","threshold":"T"}]}`
	_, req, err := decodeGenerate([]byte(body), "m")
	if err != nil {
		t.Fatal(err)
	}
	r := *req
	r.Messages = []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("mail <EMAIL_1>")}}}
	b, err := req.Source.Wire.Rewrite(&r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"contents":[{"role":"user","parts":[{"text":"mail <EMAIL_1>"}],"x":1}],"safetySettings":[{"category":"C","threshold":"T"}]}`
	if string(b) != want {
		t.Errorf("rewritten\n%s\nwant\n%s", b, want)
	}
}

func TestStreamFraming(t *testing.T) {
	t.Parallel()
	ev := &schema.GenerateContentResponse{ResponseID: "r"}
	for _, tc := range []struct {
		name string
		sse  bool
		want string
	}{
		{"sse", true, "data: {\"responseId\":\"r\"}\r\n\r\ndata: {\"a\":1}\r\n\r\n"},
		{"json array", false, "[{\"responseId\":\"r\"},\r\n{\"a\":1}]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			o := &eventWriter{w: rec, rc: http.NewResponseController(rec), sse: tc.sse}
			o.event(ev)
			o.raw([]byte("data: {\"a\":1}\r\n\r\n"))
			o.close()
			if got := rec.Body.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if got := ssePayload([]byte(": comment\ndata: {\"x\":\n")); !bytes.Equal(got, []byte(`{"x":`)) {
		t.Errorf("payload %q", got)
	}
}

func TestStreamState(t *testing.T) {
	t.Parallel()
	s := newStreamState("m", "id")
	if ev := s.chunk(&providers.Chunk{Choices: []providers.ChoiceDelta{{Text: "he"}}}); ev == nil || ev.Candidates[0].Content.Parts[0].Text != "he" {
		t.Fatalf("text event %+v", ev)
	}
	for _, tc := range []providers.ToolCallDelta{{ID: "c1", Name: "f"}, {Arguments: `{"a"`}, {Arguments: `:1}`}} {
		if ev := s.chunk(&providers.Chunk{Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{tc}}}}); ev != nil {
			t.Errorf("a partial call was sent: %+v", ev)
		}
	}
	s.chunk(&providers.Chunk{Choices: []providers.ChoiceDelta{{FinishReason: providers.FinishToolCalls}}})
	end := s.end(providers.Usage{InputTokens: 3, OutputTokens: 5, ReasoningTokens: 2})
	c := end.Candidates[0]
	if fc := c.Content.Parts[0].FunctionCall; fc == nil || fc.ID != "c1" || string(fc.Args) != `{"a":1}` || c.FinishReason != schema.FinishStop {
		t.Errorf("last event %+v", c)
	}
	if u := end.UsageMetadata; u.CandidatesTokenCount != 3 || u.ThoughtsTokenCount != 2 || u.TotalTokenCount != 8 {
		t.Errorf("usage %+v", u)
	}
}
