package fakeupstream

import (
	"net/http"
	"time"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
)

// events builds the stream events of an answer for n choices: a role
// delta, reasoning deltas, content (or tool-call argument) deltas and a
// finish delta per choice, then the usage chunk when asked for.
func (x *exchange) events(req *schema.ChatCompletionRequest, a *answer, id string, n int) []schema.Chunk {
	q := &x.s.quirks
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage != nil && *req.StreamOptions.IncludeUsage ||
		q.UsageAlways || q.GroqUsage
	if q.NoStreamUsage || q.UsageEveryChunk {
		includeUsage = false
	}
	base := schema.Chunk{ID: id, Object: "chat.completion.chunk", Created: time.Now().Unix(), Model: req.Model,
		SystemFingerprint: "fp_fake"}
	if includeUsage {
		base.Usage = apischema.NullOf[schema.Usage]()
	}
	var out []schema.Chunk
	add := func(i int, d schema.Delta, finish string) {
		c := base
		ch := schema.ChunkChoice{Index: i, Delta: d}
		if finish != "" {
			ch.FinishReason = apischema.ValueOf(&finish)
		}
		c.Choices = []schema.ChunkChoice{ch}
		out = append(out, c)
	}
	empty := ""
	for i := range n {
		first := schema.Delta{Role: "assistant", Content: apischema.ValueOf(&empty)}
		if a.call != nil {
			first.Content = apischema.Nullable[string]{}
			first.ToolCalls = []schema.ToolCallDelta{{ID: a.call.ID, Type: "function", Function: schema.FunctionDelta{Name: a.call.Function.Name}}}
		}
		add(i, first, "")
		for _, piece := range split(a.reasoning, x.s.chunks) {
			add(i, schema.Delta{ReasoningContent: piece}, "")
		}
		if a.call != nil {
			for _, piece := range split(a.call.Function.Arguments, x.s.chunks) {
				add(i, schema.Delta{ToolCalls: []schema.ToolCallDelta{{Function: schema.FunctionDelta{Arguments: piece}}}}, "")
			}
		}
		for _, piece := range split(a.text, x.s.chunks) {
			add(i, schema.Delta{Content: apischema.ValueOf(&piece)}, "")
		}
		add(i, schema.Delta{}, a.finish)
	}
	switch {
	case includeUsage && x.s.streamUsage && q.GroqUsage:
		// Groq: the last content chunk carries x_groq.usage.
		last := &out[len(out)-1]
		last.XGroq = &schema.XGroq{ID: "req_fake", Usage: a.usage(n)}
	case includeUsage && x.s.streamUsage:
		c := base
		c.Choices = []schema.ChunkChoice{}
		c.Usage = apischema.ValueOf(a.usage(n))
		out = append(out, c)
	case q.UsageEveryChunk && x.s.streamUsage:
		// Perplexity: every chunk has the usage so far; the last the total.
		final := a.usage(n)
		for i := range out {
			u := *final
			u.CompletionTokens = final.CompletionTokens * int64(i+1) / int64(len(out))
			u.TotalTokens = u.PromptTokens + u.CompletionTokens
			out[i].Usage = apischema.ValueOf(&u)
		}
	}
	return out
}

// stream writes the answer as server-sent events, applying the chunk delay
// and any mid-stream fault.
func (x *exchange) stream(req *schema.ChatCompletionRequest, a *answer, id string, n int) {
	events := x.events(req, a, id, n)
	h := x.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	x.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(x.w)
	_ = rc.Flush()

	limit := len(events)
	if x.fault != nil && (x.fault.Kind == FaultDieMidStream || x.fault.Kind == FaultStreamError) {
		limit = min(max(x.fault.AfterChunks, 0), len(events))
	}
	for i := range limit {
		if i > 0 && !x.o.life.Sleep(x.r.Context(), x.s.chunkDelay) {
			x.o.abandon(x.w, x.r)
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
			x.die()
		}
		return
	case x.fault != nil && x.fault.Kind == FaultStreamError:
		e := x.fault.errorObject()
		b, _ := apischema.Marshal(&schema.ErrorBody{Error: &e})
		x.event(rc, b)
		return
	}
	x.event(rc, []byte("[DONE]"))
}

// event writes one "data:" event and flushes it; false when the client is gone.
func (x *exchange) event(rc *http.ResponseController, data []byte) bool {
	buf := make([]byte, 0, len(data)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, "\n\n"...)
	if _, err := x.w.Write(buf); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// die cuts the connection after a partial answer.
func (x *exchange) die() { fakehttp.Reset(x.w) }
