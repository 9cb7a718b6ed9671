package geminitest

import (
	"github.com/tollgate-dev/tollgate/internal/apischema"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"net/http"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
)

// events builds the stream events of an answer for n candidates, one
// candidate after the other: a thought event when thoughts are sent, then
// the function call (with the finish reason) or the text split into
// s.chunks events, the last carrying the finish reason. Every event has
// usageMetadata with the prompt count; the final one has the full usage.
func (x *exchange) events(a *answer, id string, n int) []schema.GenerateContentResponse {
	partial := &schema.UsageMetadata{PromptTokenCount: int64(a.prompt), TotalTokenCount: int64(a.prompt)}
	var out []schema.GenerateContentResponse
	add := func(i int, pt schema.Part, finish string) {
		out = append(out, schema.GenerateContentResponse{
			Candidates:    []schema.Candidate{{Content: &schema.Content{Role: "model", Parts: []schema.Part{pt}}, FinishReason: finish, Index: i}},
			UsageMetadata: partial, ModelVersion: x.rt.model, ResponseID: id,
		})
	}
	for i := range n {
		if a.sendThoughts {
			add(i, schema.Part{Text: a.thoughts, Thought: true}, "")
		}
		if a.call != nil {
			add(i, schema.Part{FunctionCall: a.call, ThoughtSignature: a.signature(x.g)}, a.finish)
			continue
		}
		pieces := split(a.text, x.s.chunks)
		if len(pieces) == 0 {
			pieces = []string{""}
		}
		for j, piece := range pieces {
			finish := ""
			if j == len(pieces)-1 {
				finish = a.finish
			}
			add(i, schema.Part{Text: piece}, finish)
		}
	}
	out[len(out)-1].UsageMetadata = a.usage(n)
	return out
}

// stream writes events as server-sent events ("data: ...\r\n\r\n", as
// Google does) with ?alt=sse, or as one JSON array without it, applying
// the event delay and any mid-stream fault.
func (x *exchange) stream(events []schema.GenerateContentResponse) {
	sse := x.r.URL.Query().Get("alt") == "sse"
	if !sse {
		x.respond(events)
		return
	}
	h := x.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	x.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(x.w)
	_ = rc.Flush()

	limit := len(events)
	if x.fault != nil && (x.fault.Kind == FaultDieMidStream || x.fault.Kind == FaultStreamError) {
		limit = min(max(x.fault.AfterEvents, 0), len(events))
	}
	for i := range limit {
		if i > 0 && !x.g.life.Sleep(x.r.Context(), x.s.eventDelay) {
			return
		}
		b, err := apischema.Marshal(&events[i])
		if err != nil {
			return
		}
		if !x.event(rc, b) {
			return
		}
	}
	switch {
	case x.fault != nil && x.fault.Kind == FaultDieMidStream:
		if !x.fault.Graceful {
			fakehttp.Reset(x.w)
		}
	case x.fault != nil && x.fault.Kind == FaultStreamError:
		e := x.fault.errorOut()
		b, _ := apischema.Marshal(&schema.ErrorBody{Error: &e})
		x.event(rc, b)
	}
}

// event writes one "data:" event and flushes it; false when the client is gone.
func (x *exchange) event(rc *http.ResponseController, data []byte) bool {
	buf := make([]byte, 0, len(data)+10)
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, "\r\n\r\n"...)
	if _, err := x.w.Write(buf); err != nil {
		return false
	}
	return rc.Flush() == nil
}
