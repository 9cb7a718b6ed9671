package responsesapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/tidwall/gjson"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// events synthesises the typed event sequence of a Responses stream from
// canonical chunks: response.created and .in_progress, then per output
// item .output_item.added, its parts and deltas, .output_item.done, and
// at the end response.completed (or .incomplete) with the usage. Every
// event carries the next sequence_number.
type events struct {
	seq  int64
	resp *schema.Response
	ids  ids
	buf  bytes.Buffer
	enc  *jsontext.Encoder
	emit func([]byte) error

	// open is the output index of the item being streamed, -1 when none.
	open int
	kind string
	text strings.Builder
	// calls maps a canonical tool-call index to its output index.
	calls  map[int]int
	reason providers.FinishReason
}

func newEvents(resp *schema.Response, x ids, emit func([]byte) error) *events {
	e := &events{resp: resp, ids: x, emit: emit, open: -1, calls: map[int]int{}}
	e.enc = jsontext.NewEncoder(&e.buf)
	return e
}

func ptr[T any](v T) *T { return &v }

// send writes ev as "event: <type>" and "data: <json>".
func (e *events) send(ev *schema.StreamEvent) error {
	ev.SequenceNumber = e.seq
	e.seq++
	e.buf.Reset()
	e.buf.WriteString("event: ")
	e.buf.WriteString(ev.Type)
	e.buf.WriteString("\ndata: ")
	e.enc.Reset(&e.buf)
	if err := json.MarshalEncode(e.enc, ev, json.Deterministic(true)); err != nil { // appends "\n"
		return err
	}
	e.buf.WriteByte('\n')
	return e.emit(e.buf.Bytes())
}

// start sends response.created and response.in_progress.
func (e *events) start() error {
	if err := e.send(&schema.StreamEvent{Type: schema.EventCreated, Response: e.resp}); err != nil {
		return err
	}
	return e.send(&schema.StreamEvent{Type: schema.EventInProgress, Response: e.resp})
}

// add opens a new output item.
func (e *events) add(it schema.OutputItem, kind string) error {
	if err := e.close(); err != nil {
		return err
	}
	e.resp.Output = append(e.resp.Output, it)
	e.open, e.kind = len(e.resp.Output)-1, kind
	e.text.Reset()
	added := it
	return e.send(&schema.StreamEvent{Type: schema.EventOutputItemAdded, OutputIndex: ptr(e.open), Item: &added})
}

// chunk turns one canonical chunk into events.
func (e *events) chunk(c *providers.Chunk) error {
	for i := range c.Choices {
		d := &c.Choices[i]
		if d.Index != 0 {
			continue // the Responses API has one answer
		}
		if d.Reasoning != "" {
			if e.kind != schema.ItemReasoning {
				if err := e.add(schema.OutputItem{Type: schema.ItemReasoning, ID: e.ids.reasoning(), Summary: []schema.SummaryPart{}}, schema.ItemReasoning); err != nil {
					return err
				}
				if err := e.send(&schema.StreamEvent{Type: schema.EventReasoningSummaryAdded, ItemID: e.item().ID, OutputIndex: ptr(e.open),
					SummaryIndex: ptr(0), Part: &schema.ResponsesContentPart{Type: schema.PartSummaryText, Text: ptr("")}}); err != nil {
					return err
				}
			}
			e.text.WriteString(d.Reasoning)
			if err := e.send(&schema.StreamEvent{Type: schema.EventReasoningSummaryDelta, ItemID: e.item().ID, OutputIndex: ptr(e.open),
				SummaryIndex: ptr(0), Delta: ptr(d.Reasoning)}); err != nil {
				return err
			}
		}
		if d.ReasoningSignature != "" && e.kind == schema.ItemReasoning {
			e.item().EncryptedContent += d.ReasoningSignature
		}
		if d.Text != "" {
			if e.kind != schema.ItemMessage {
				if err := e.add(messageItem(e.ids.message(), "", schema.StatusInProgress), schema.ItemMessage); err != nil {
					return err
				}
				part := schema.OutputText("")
				if err := e.send(&schema.StreamEvent{Type: schema.EventContentPartAdded, ItemID: e.item().ID, OutputIndex: ptr(e.open),
					ContentIndex: ptr(0), Part: &part}); err != nil {
					return err
				}
			}
			e.text.WriteString(d.Text)
			if err := e.send(&schema.StreamEvent{Type: schema.EventOutputTextDelta, ItemID: e.item().ID, OutputIndex: ptr(e.open),
				ContentIndex: ptr(0), Delta: ptr(d.Text), Logprobs: jsontext.Value("[]")}); err != nil {
				return err
			}
		}
		for _, tc := range d.ToolCalls {
			idx, ok := e.calls[tc.Index]
			if !ok {
				n := len(e.calls)
				if err := e.add(callItem(e.ids.call(n), tc.ID, tc.Name, "", schema.StatusInProgress), schema.ItemFunctionCall); err != nil {
					return err
				}
				idx = e.open
				e.calls[tc.Index] = idx
			}
			if idx != e.open { // interleaved calls: not produced by any adapter
				continue
			}
			if tc.Arguments == "" {
				continue
			}
			e.text.WriteString(tc.Arguments)
			if err := e.send(&schema.StreamEvent{Type: schema.EventFunctionArgsDelta, ItemID: e.item().ID, OutputIndex: ptr(e.open),
				Delta: ptr(tc.Arguments)}); err != nil {
				return err
			}
		}
		if d.FinishReason != "" {
			e.reason = d.FinishReason
		}
	}
	return nil
}

func (e *events) item() *schema.OutputItem { return &e.resp.Output[e.open] }

// close finishes the open item, if any.
func (e *events) close() error {
	if e.open < 0 {
		return nil
	}
	it, idx, text := e.item(), e.open, e.text.String()
	e.open, e.kind = -1, ""
	switch it.Type {
	case schema.ItemMessage:
		part := schema.OutputText(text)
		it.Content = []schema.ResponsesContentPart{part}
		it.Status = schema.StatusCompleted
		if err := e.send(&schema.StreamEvent{Type: schema.EventOutputTextDone, ItemID: it.ID, OutputIndex: ptr(idx),
			ContentIndex: ptr(0), Text: ptr(text), Logprobs: jsontext.Value("[]")}); err != nil {
			return err
		}
		if err := e.send(&schema.StreamEvent{Type: schema.EventContentPartDone, ItemID: it.ID, OutputIndex: ptr(idx),
			ContentIndex: ptr(0), Part: &part}); err != nil {
			return err
		}
	case schema.ItemFunctionCall:
		it.Arguments, it.Status = ptr(text), schema.StatusCompleted
		if err := e.send(&schema.StreamEvent{Type: schema.EventFunctionArgsDone, ItemID: it.ID, OutputIndex: ptr(idx),
			Name: it.Name, Arguments: ptr(text)}); err != nil {
			return err
		}
	case schema.ItemReasoning:
		part := schema.SummaryPart{Type: schema.PartSummaryText, Text: text}
		it.Summary = []schema.SummaryPart{part}
		if err := e.send(&schema.StreamEvent{Type: schema.EventReasoningSummaryTextOK, ItemID: it.ID, OutputIndex: ptr(idx),
			SummaryIndex: ptr(0), Text: ptr(text)}); err != nil {
			return err
		}
		if err := e.send(&schema.StreamEvent{Type: schema.EventReasoningSummaryDone, ItemID: it.ID, OutputIndex: ptr(idx),
			SummaryIndex: ptr(0), Part: &schema.ResponsesContentPart{Type: schema.PartSummaryText, Text: ptr(text)}}); err != nil {
			return err
		}
	}
	done := *it
	return e.send(&schema.StreamEvent{Type: schema.EventOutputItemDone, OutputIndex: ptr(idx), Item: &done})
}

// end closes the open item and completes the response with the usage;
// done sends it.
func (e *events) end(u providers.Usage) error {
	if err := e.close(); err != nil {
		return err
	}
	if len(e.resp.Output) == 0 { // nothing was said: an empty message, as unary answers have
		e.resp.Output = append(e.resp.Output, messageItem(e.ids.message(), "", schema.StatusCompleted))
	}
	finish(e.resp, e.reason, u)
	return nil
}

// done sends response.completed, or response.incomplete.
func (e *events) done() error {
	typ := schema.EventCompleted
	if e.resp.Status == schema.StatusIncomplete {
		typ = schema.EventIncomplete
	}
	return e.send(&schema.StreamEvent{Type: typ, Response: e.resp})
}

// fail sends an error event for err.
func (e *events) fail(requestID string, err error) error {
	p := problem(requestID, err)
	ev := &schema.StreamEvent{Type: schema.EventError, Message: p.Message, Code: apischema.ValueOf(ptr(p.Code)),
		Param: apischema.NullOf[string]()}
	if p.Code == "" {
		ev.Code = apischema.ValueOf(ptr(p.Type))
	}
	if p.Param != "" {
		ev.Param = apischema.ValueOf(ptr(p.Param))
	}
	return e.send(ev)
}

// keepAliveEvent is the SSE comment sent on an idle stream.
var keepAliveEvent = []byte(": keep-alive\n\n")

// stream serves a streamed response. Errors before the first byte are
// ordinary error answers; later ones an "error" event that ends the
// stream.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, t *turn) {
	ctx := r.Context()
	st, err := h.engine.ChatStream(ctx, t.call, t.chat)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer st.Close()
	edge.SetStreamHeaders(w.Header(), "text/event-stream; charset=utf-8", st)
	w.WriteHeader(http.StatusOK)
	sw := edge.NewSSE(w)
	sw.KeepAlive(h.keepAlive, keepAliveEvent)
	defer sw.Close()
	if st.Passthrough() {
		h.relay(r, st, sw, t)
		return
	}
	out := skeleton(t.req, t.id, t.call.Start.Unix(), t.stored)
	// The events of one step (the start, a chunk, the end) go out in one
	// write, and those of chunks that arrived together too: a step's
	// events are held, then flushed unless the next chunk is already here.
	// A keep-alive flushes whatever is held.
	ev := newEvents(out, t.ids, sw.Hold)
	if ev.start() != nil {
		return
	}
	for {
		c, err := st.Recv(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() == nil {
				if p := problem(t.call.RequestID, err); p.Status == http.StatusInternalServerError {
					h.log.ErrorContext(ctx, "internal error in stream", "request_id", t.call.RequestID, "err", err)
				}
				_ = ev.fail(t.call.RequestID, err)
				_ = sw.Flush()
			}
			return
		}
		if ev.chunk(c) != nil {
			return
		}
		if !st.Ready() && sw.Flush() != nil {
			return
		}
	}
	if ev.end(st.Usage()) != nil {
		return
	}
	// Stored before the last events are sent, so that a client
	// continuing the conversation at once finds it.
	if b, err := apischema.Marshal(out); err == nil {
		h.save(ctx, t, b)
	}
	if ev.done() == nil {
		_ = sw.Flush()
	}
}

// relay sends a passed-through stream's events as the upstream sent them,
// storing the final response (under the upstream's id) before its event.
func (h *Handler) relay(r *http.Request, st *gateway.Stream, sw *edge.SSE, t *turn) {
	ctx := r.Context()
	var seq int64
	for {
		c, err := st.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				ev := newEvents(nil, t.ids, sw.Send)
				ev.seq = seq
				_ = ev.fail(t.call.RequestID, err)
			}
			return
		}
		if len(c.Raw) == 0 {
			continue
		}
		ev := eventOf(c.Raw)
		seq = ev.seq + 1
		out := c.Raw
		if ev.resp != nil && t.req.PreviousResponseID != "" {
			out = frame(ev.typ, withPrevious(ev.data, "response", t.req.PreviousResponseID))
			ev.resp = withPrevious(ev.resp, "", t.req.PreviousResponseID)
		}
		if ev.typ == schema.EventCompleted || ev.typ == schema.EventIncomplete {
			if id := gjson.GetBytes(ev.resp, "id").String(); id != "" {
				t.id = id
				h.save(ctx, t, ev.resp)
			}
		}
		if sw.Write(out, !st.Ready()) != nil {
			return
		}
	}
}
