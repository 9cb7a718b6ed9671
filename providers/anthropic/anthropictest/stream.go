package anthropictest

import (
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
)

// event is one server-sent event: its name and its data object.
type event struct {
	name string
	data any
}

// events builds the event sequence of an answer as the Messages API sends
// it: message_start, then per content block content_block_start (followed
// by one ping after the first), its deltas and content_block_stop, then
// message_delta and message_stop.
func (x *exchange) events(c *conversation, a *answer, id string) []event {
	start := messageOut{ID: id, Type: "message", Role: "assistant", Model: c.req.Model, Content: []blockOut{}, Usage: a.usage}
	start.Usage.OutputTokens = 1
	evs := []event{{"message_start", messageStartOut{Type: "message_start", Message: start}}}
	index := 0
	addBlock := func(b blockOut, deltas []deltaOut) {
		evs = append(evs, event{"content_block_start", blockStartOut{Type: "content_block_start", Index: index, ContentBlock: b}})
		if index == 0 {
			evs = append(evs, event{"ping", typeOnly{Type: "ping"}})
		}
		for _, d := range deltas {
			evs = append(evs, event{"content_block_delta", blockDeltaOut{Type: "content_block_delta", Index: index, Delta: d}})
		}
		evs = append(evs, event{"content_block_stop", blockStopOut{Type: "content_block_stop", Index: index}})
		index++
	}
	empty := ""
	if a.thinking != "" {
		var deltas []deltaOut
		for _, piece := range split(a.thinking, x.s.chunks) {
			deltas = append(deltas, deltaOut{Type: "thinking_delta", Thinking: &piece})
		}
		deltas = append(deltas, deltaOut{Type: "signature_delta", Signature: &a.signature})
		addBlock(blockOut{Type: "thinking", Thinking: &empty, Signature: &empty}, deltas)
	}
	if a.call != nil {
		// The API starts tool input with an empty fragment.
		deltas := []deltaOut{{Type: "input_json_delta", PartialJSON: &empty}}
		for _, piece := range split(string(a.call.Input), x.s.chunks) {
			deltas = append(deltas, deltaOut{Type: "input_json_delta", PartialJSON: &piece})
		}
		addBlock(blockOut{Type: "tool_use", ID: a.call.ID, Name: a.call.Name, Input: json.RawMessage("{}")}, deltas)
	} else {
		var deltas []deltaOut
		for _, piece := range split(a.text, x.s.chunks) {
			deltas = append(deltas, deltaOut{Type: "text_delta", Text: &piece})
		}
		addBlock(blockOut{Type: "text", Text: &empty}, deltas)
	}
	md := messageDeltaOut{Type: "message_delta"}
	md.Delta.StopReason, md.Delta.StopSequence = &a.stopReason, a.stopSequence
	md.Usage.OutputTokens = a.usage.OutputTokens
	evs = append(evs, event{"message_delta", md}, event{"message_stop", typeOnly{Type: "message_stop"}})
	return evs
}

// stream writes the answer as server-sent events, applying the chunk delay
// and any mid-stream fault.
func (x *exchange) stream(c *conversation, a *answer, id string) {
	evs := x.events(c, a, id)
	h := x.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	x.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(x.w)
	_ = rc.Flush()

	limit := len(evs)
	if x.fault != nil && (x.fault.Kind == FaultDieMidStream || x.fault.Kind == FaultStreamError) {
		limit = min(max(x.fault.AfterEvents, 0), len(evs))
	}
	for i := range limit {
		if i > 0 && !x.f.life.Sleep(x.r.Context(), x.s.chunkDelay) {
			return
		}
		if !x.event(rc, evs[i].name, evs[i].data) {
			return
		}
	}
	switch {
	case x.fault != nil && x.fault.Kind == FaultDieMidStream:
		if !x.fault.Graceful {
			fakehttp.Reset(x.w)
		}
	case x.fault != nil && x.fault.Kind == FaultStreamError:
		x.event(rc, "error", x.fault.body(x.requestID))
	}
}

// event writes one event and flushes it; false when the client is gone.
func (x *exchange) event(rc *http.ResponseController, name string, data any) bool {
	b, err := json.Marshal(data)
	if err != nil {
		return false
	}
	buf := make([]byte, 0, len(name)+len(b)+16)
	buf = append(buf, "event: "...)
	buf = append(buf, name...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	if _, err := x.w.Write(buf); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// split cuts s into at most n pieces of similar size on rune boundaries.
func split(s string, n int) []string {
	if s == "" {
		return nil
	}
	n = min(max(n, 1), utf8.RuneCountInString(s))
	out := make([]string, 0, n)
	for i := n; i > 0 && s != ""; i-- {
		cut := len(s) / i
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++
		}
		if cut == 0 {
			_, cut = utf8.DecodeRuneInString(s)
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return out
}
