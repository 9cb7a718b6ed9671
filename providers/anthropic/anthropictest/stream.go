package anthropictest

import (
	"net/http"
	"unicode/utf8"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
)

// events builds the event sequence of an answer as the Messages API sends
// it: message_start, then per content block content_block_start (followed
// by one ping after the first), its deltas and content_block_stop, then
// message_delta and message_stop.
func (x *exchange) events(c *conversation, a *answer, id string) []schema.StreamEvent {
	start := &schema.Message{ID: id, Type: "message", Role: schema.RoleAssistant, Model: c.req.Model, Content: []schema.ContentBlock{},
		StopReason: apischema.NullOf[string](), StopSequence: apischema.NullOf[string](), Usage: a.usage}
	start.Usage.OutputTokens = schema.Count(1)
	evs := []schema.StreamEvent{{Type: schema.EventMessageStart, Message: start}}
	index := 0
	addBlock := func(b schema.ContentBlock, deltas []schema.Delta) {
		evs = append(evs, schema.StreamEvent{Type: schema.EventContentBlockStart, Index: schema.Index(index), ContentBlock: &b})
		if index == 0 {
			evs = append(evs, schema.StreamEvent{Type: schema.EventPing})
		}
		for i := range deltas {
			evs = append(evs, schema.StreamEvent{Type: schema.EventContentBlockDelta, Index: schema.Index(index), Delta: &deltas[i]})
		}
		evs = append(evs, schema.StreamEvent{Type: schema.EventContentBlockStop, Index: schema.Index(index)})
		index++
	}
	if a.thinking != "" {
		var deltas []schema.Delta
		for _, piece := range split(a.thinking, x.s.chunks) {
			deltas = append(deltas, schema.Delta{Type: schema.DeltaThinking, Thinking: piece})
		}
		deltas = append(deltas, schema.Delta{Type: schema.DeltaSignature, Signature: a.signature})
		addBlock(schema.ContentBlock{Type: schema.BlockThinking}, deltas)
	}
	if a.call != nil {
		// The API starts tool input with an empty fragment.
		deltas := []schema.Delta{{Type: schema.DeltaInputJSON}}
		for _, piece := range split(string(a.call.Input), x.s.chunks) {
			deltas = append(deltas, schema.Delta{Type: schema.DeltaInputJSON, PartialJSON: piece})
		}
		addBlock(schema.ContentBlock{Type: schema.BlockToolUse, ID: a.call.ID, Name: a.call.Name}, deltas)
	} else {
		var deltas []schema.Delta
		for _, piece := range split(a.text, x.s.chunks) {
			deltas = append(deltas, schema.Delta{Type: schema.DeltaText, Text: piece})
		}
		addBlock(schema.TextBlock(""), deltas)
	}
	md := &schema.Delta{StopReason: apischema.ValueOf(&a.stopReason), StopSequence: apischema.Nullable[string]{V: a.stopSequence, Null: a.stopSequence == nil}}
	evs = append(evs, schema.StreamEvent{Type: schema.EventMessageDelta, Delta: md, Usage: &schema.Usage{OutputTokens: &a.outputTokens}},
		schema.StreamEvent{Type: schema.EventMessageStop})
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
		if !x.event(rc, evs[i].Type, &evs[i]) {
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
	b, err := apischema.Marshal(data)
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
