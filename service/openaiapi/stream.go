package openaiapi

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// chunkEncoder renders canonical chunks as SSE events into one reused
// buffer; the chunk object and its slices are reused too.
type chunkEncoder struct {
	out      schema.Chunk
	legacy   bool
	buf      bytes.Buffer
	enc      *jsontext.Encoder
	fast     []byte
	sentRole []bool
	finish   []string
	empty    string
	usage    schema.Usage
}

func newChunkEncoder(id, model string, created int64, legacy bool) *chunkEncoder {
	e := &chunkEncoder{legacy: legacy}
	e.out = schema.Chunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model}
	e.buf.Grow(512)
	e.enc = jsontext.NewEncoder(&e.buf)
	return e
}

// encode renders c as a "data:" event and returns it, or nil when c holds
// nothing for the client (a usage-only chunk: usage is sent at the end).
// The result is valid until the next call.
func (e *chunkEncoder) encode(c *providers.Chunk) ([]byte, error) {
	choices := e.out.Choices[:0]
	for i := range c.Choices {
		d := &c.Choices[i]
		for len(e.sentRole) <= d.Index {
			e.sentRole = append(e.sentRole, false)
			e.finish = append(e.finish, "")
		}
		o := schema.ChunkChoice{Index: d.Index, Logprobs: apischema.Null}
		if !e.sentRole[d.Index] {
			e.sentRole[d.Index] = true
			o.Delta.Role = "assistant"
			if d.Text == "" && len(d.ToolCalls) == 0 {
				o.Delta.Content = apischema.ValueOf(&e.empty)
			}
		}
		if d.Text != "" {
			o.Delta.Content = apischema.ValueOf(&d.Text)
		}
		o.Delta.ReasoningContent = d.Reasoning
		e.toolCalls(&o.Delta, d.ToolCalls)
		if d.FinishReason != "" {
			e.finish[d.Index] = finishReason(d.FinishReason, e.legacy)
			o.FinishReason = apischema.ValueOf(&e.finish[d.Index])
		}
		if o.Delta.Role == "" && o.Delta.Content.V == nil && o.Delta.ReasoningContent == "" &&
			len(o.Delta.ToolCalls) == 0 && o.Delta.FunctionCall == nil && o.FinishReason.V == nil {
			continue
		}
		choices = append(choices, o)
	}
	e.out.Choices = choices
	if len(choices) == 0 {
		return nil, nil
	}
	return e.event(&e.out)
}

func (e *chunkEncoder) toolCalls(o *schema.Delta, tcs []providers.ToolCallDelta) {
	if len(tcs) == 0 {
		return
	}
	if e.legacy {
		tc := tcs[0]
		o.FunctionCall = &schema.FunctionDelta{Name: tc.Name, Arguments: tc.Arguments}
		return
	}
	o.ToolCalls = make([]schema.ToolCallDelta, len(tcs))
	for i, tc := range tcs {
		t := schema.ToolCallDelta{Index: tc.Index, ID: tc.ID, Function: schema.FunctionDelta{Name: tc.Name, Arguments: tc.Arguments}}
		if tc.ID != "" || tc.Name != "" {
			t.Type = "function"
		}
		o.ToolCalls[i] = t
	}
}

// usageEvent renders the include_usage chunk: no choices, the usage.
func (e *chunkEncoder) usageEvent(u providers.Usage) ([]byte, error) {
	e.usage = *toUsage(u)
	e.out.Choices = e.out.Choices[:0]
	e.out.Usage = apischema.ValueOf(&e.usage)
	return e.event(&e.out)
}

func (e *chunkEncoder) event(v *schema.Chunk) ([]byte, error) {
	if b, ok := appendChunk(append(e.fast[:0], "data: "...), v); ok {
		e.fast = append(b, "\n\n"...)
		return e.fast, nil
	}
	e.buf.Reset()
	e.buf.WriteString("data: ")
	e.enc.Reset(&e.buf)
	if err := json.MarshalEncode(e.enc, v); err != nil { // appends "\n"
		return nil, err
	}
	e.buf.WriteByte('\n')
	return e.buf.Bytes(), nil
}

// appendChunk is the fast path of the chunks encode makes for text,
// reasoning and finish deltas: it appends the bytes json.MarshalEncode
// writes for c (TestChunkFastPath compares them), in about half the time
// (BenchmarkChunkEncode), on every streamed chunk. It reports false, having
// appended garbage, for a chunk it does not cover (tool calls, usage).
func appendChunk(b []byte, c *schema.Chunk) ([]byte, bool) {
	if c.SystemFingerprint != "" || c.ServiceTier != "" || !c.Usage.IsZero() || c.Obfuscation != "" ||
		c.Error != nil || len(c.Unknown) > 0 {
		return b, false
	}
	var err error
	b = append(b, `{"id":`...)
	if b, err = jsontext.AppendQuote(b, c.ID); err != nil {
		return b, false
	}
	b = append(b, `,"object":`...)
	if b, err = jsontext.AppendQuote(b, c.Object); err != nil {
		return b, false
	}
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, c.Created, 10)
	b = append(b, `,"model":`...)
	if b, err = jsontext.AppendQuote(b, c.Model); err != nil {
		return b, false
	}
	b = append(b, `,"choices":[`...)
	for i := range c.Choices {
		ch := &c.Choices[i]
		d := &ch.Delta
		if len(ch.Unknown) > 0 || len(d.Unknown) > 0 || !d.Refusal.IsZero() || d.Reasoning != "" ||
			d.ToolCalls != nil || d.FunctionCall != nil || !(len(ch.Logprobs) == 0 || string(ch.Logprobs) == "null") {
			return b, false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(ch.Index), 10)
		b = append(b, `,"delta":{`...)
		sep := false
		member := func(name string) {
			if sep {
				b = append(b, ',')
			}
			sep = true
			b = append(b, name...)
		}
		if d.Role != "" {
			member(`"role":`)
			if b, err = jsontext.AppendQuote(b, d.Role); err != nil {
				return b, false
			}
		}
		if !d.Content.IsZero() {
			member(`"content":`)
			if d.Content.V == nil {
				b = append(b, "null"...)
			} else if b, err = jsontext.AppendQuote(b, *d.Content.V); err != nil {
				return b, false
			}
		}
		if d.ReasoningContent != "" {
			member(`"reasoning_content":`)
			if b, err = jsontext.AppendQuote(b, d.ReasoningContent); err != nil {
				return b, false
			}
		}
		b = append(b, `},"logprobs":null,"finish_reason":`...)
		if ch.FinishReason.V == nil {
			b = append(b, "null"...)
		} else if b, err = jsontext.AppendQuote(b, *ch.FinishReason.V); err != nil {
			return b, false
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), true
}

var (
	doneEvent      = []byte("data: [DONE]\n\n")
	keepAliveEvent = []byte(": keep-alive\n\n")
)

// stream runs a streamed chat completion. Errors before the first byte
// are ordinary error answers; later ones an in-stream error event, after
// which the stream ends without [DONE].
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, call *gateway.Call, d *decoded) {
	ctx := r.Context()
	requested := d.req.Model
	st, err := h.engine.ChatStream(ctx, call, &d.req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer st.Close()
	sw, stop := h.openStream(w, st)
	defer stop()

	enc := newChunkEncoder(completionID(call.RequestID), requested, h.now().Unix(), d.legacy)
	if h.relay(r, sw, st, call.RequestID, d.includeUsage, enc.encode) {
		h.endStream(r, sw, call.RequestID, d.includeUsage && !st.Passthrough(), func() ([]byte, error) { return enc.usageEvent(st.Usage()) })
	}
}

// relay sends the events of st: the upstream's own when it was passed
// through (but for the usage event the gateway asked for on its own, sent
// only with includeUsage), else those encode makes of the canonical chunks
// (nil for none). It reports whether the stream ended cleanly; after a
// failure it has sent an error event, unless the caller went away.
func (h *Handler) relay(r *http.Request, sw *edge.SSE, st *gateway.Stream, requestID string, includeUsage bool,
	encode func(*providers.Chunk) ([]byte, error)) bool {
	ctx := r.Context()
	raw := st.Passthrough()
	for {
		c, err := st.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			if ctx.Err() == nil {
				h.streamError(r, sw, requestID, err)
			}
			return false
		}
		// Chunks that arrived together go out in one write: the flush
		// waits while the next chunk is already here (every exit below
		// flushes or ends with the caller gone).
		flush := !st.Ready()
		if raw {
			if len(c.Raw) > 0 && (includeUsage || c.Usage == nil || len(c.Choices) > 0) && sw.Write(c.Raw, flush) != nil {
				return false
			}
			continue
		}
		b, err := encode(c)
		if err != nil {
			h.streamError(r, sw, requestID, err)
			return false
		}
		if b != nil && sw.Write(b, flush) != nil {
			return false
		}
	}
}

// endStream sends the usage event (when sendUsage) and [DONE].
func (h *Handler) endStream(r *http.Request, sw *edge.SSE, requestID string, sendUsage bool, usage func() ([]byte, error)) {
	if sendUsage {
		b, err := usage()
		if err != nil {
			h.streamError(r, sw, requestID, err)
			return
		}
		if sw.Send(b) != nil {
			return
		}
	}
	_ = sw.Send(doneEvent)
}

// openStream answers 200 with the event-stream and served headers of st
// and starts the keep-alives; stop ends them. The headers go out with the
// first event (or keep-alive): the engine returns a stream once its first
// chunk is here, so holding them back delays nothing and saves a write.
func (h *Handler) openStream(w http.ResponseWriter, st *gateway.Stream) (sw *edge.SSE, stop func()) {
	edge.SetStreamHeaders(w.Header(), "text/event-stream; charset=utf-8", st)
	w.WriteHeader(http.StatusOK)
	sw = edge.NewSSE(w)
	sw.KeepAlive(h.keepAlive, keepAliveEvent)
	return sw, sw.Close
}

// setResultHeaders sets the served, cache, guardrail and dropped-params
// headers of a unary chat result.
func setResultHeaders(hd http.Header, res *gateway.ChatResult) {
	edge.SetServedHeaders(hd, res.Provider, res.Model, res.Route, res.Attempts)
	edge.SetCacheHeaders(hd, res.CacheStatus, res.CacheScore)
	edge.SetGuardrailHeader(hd, res.Guardrails)
	edge.SetDroppedHeader(hd, res.Dropped)
}

// streamError sends err as an {"error":{...}} event.
func (h *Handler) streamError(r *http.Request, sw *edge.SSE, requestID string, err error) {
	e := toAPIError(requestID, err)
	if e.Status == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "internal error in stream", "request_id", requestID, "err", err)
	}
	b, merr := stdjson.Marshal(e.body())
	if merr != nil {
		return
	}
	ev := make([]byte, 0, len(b)+8)
	ev = append(ev, "data: "...)
	ev = append(ev, b...)
	ev = append(ev, "\n\n"...)
	_ = sw.Send(ev)
}
