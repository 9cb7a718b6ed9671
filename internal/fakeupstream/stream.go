package fakeupstream

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
)

// events builds the stream events of an answer for n choices: a role
// delta, reasoning deltas, content (or tool-call argument) deltas and a
// finish delta per choice, then the usage chunk when asked for.
func (x *exchange) events(req *chatRequest, a *answer, id string, n int) []chunkOut {
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	var nullUsage json.RawMessage
	if includeUsage {
		nullUsage = json.RawMessage("null")
	}
	base := chunkOut{ID: id, Object: "chat.completion.chunk", Created: time.Now().Unix(), Model: req.Model,
		SystemFingerprint: "fp_fake", Usage: nullUsage}
	var out []chunkOut
	add := func(i int, d deltaOut, finish string) {
		c := base
		ch := chunkChoiceOut{Index: i, Delta: d}
		if finish != "" {
			ch.FinishReason = &finish
		}
		c.Choices = []chunkChoiceOut{ch}
		out = append(out, c)
	}
	empty := ""
	for i := range n {
		first := deltaOut{Role: "assistant", Content: &empty}
		if a.call != nil {
			first.Content = nil
			tc := toolCallDeltaOut{ID: a.call.ID, Type: "function"}
			tc.Function.Name = a.call.Function.Name
			first.ToolCalls = []toolCallDeltaOut{tc}
		}
		add(i, first, "")
		for _, piece := range split(a.reasoning, x.s.chunks) {
			add(i, deltaOut{ReasoningContent: piece}, "")
		}
		if a.call != nil {
			for _, piece := range split(a.call.Function.Arguments, x.s.chunks) {
				var tc toolCallDeltaOut
				tc.Function.Arguments = piece
				add(i, deltaOut{ToolCalls: []toolCallDeltaOut{tc}}, "")
			}
		}
		for _, piece := range split(a.text, x.s.chunks) {
			add(i, deltaOut{Content: &piece}, "")
		}
		add(i, deltaOut{}, a.finish)
	}
	if includeUsage && x.s.streamUsage {
		c := base
		c.Choices = []chunkChoiceOut{}
		c.Usage, _ = json.Marshal(a.usage(n))
		out = append(out, c)
	}
	return out
}

// stream writes the answer as server-sent events, applying the chunk delay
// and any mid-stream fault.
func (x *exchange) stream(req *chatRequest, a *answer, id string, n int) {
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
		b, err := json.Marshal(&events[i])
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
		b, _ := json.Marshal(errorEnvelope{Error: x.fault.errorObject()})
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
