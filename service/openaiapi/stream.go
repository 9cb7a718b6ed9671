package openaiapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// chunkOut is the chat.completion.chunk object.
type chunkOut struct {
	ID      string           `json:"id"`
	Object  string           `json:"object"`
	Created int64            `json:"created"`
	Model   string           `json:"model"`
	Choices []chunkChoiceOut `json:"choices"`
	Usage   *usageOut        `json:"usage,omitempty"`
}

type chunkChoiceOut struct {
	Index        int       `json:"index"`
	Delta        deltaOut  `json:"delta"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type deltaOut struct {
	Role             string             `json:"role,omitempty"`
	Content          *string            `json:"content,omitempty"`
	ReasoningContent string             `json:"reasoning_content,omitempty"`
	ToolCalls        []toolCallDeltaOut `json:"tool_calls,omitempty"`
	FunctionCall     *functionDeltaOut  `json:"function_call,omitempty"`
}

type toolCallDeltaOut struct {
	Index    int              `json:"index"`
	ID       string           `json:"id,omitempty"`
	Type     string           `json:"type,omitempty"`
	Function functionDeltaOut `json:"function"`
}

type functionDeltaOut struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// chunkEncoder renders canonical chunks as SSE events into one reused
// buffer; the chunk object and its slices are reused too.
type chunkEncoder struct {
	out      chunkOut
	legacy   bool
	buf      bytes.Buffer
	enc      *json.Encoder
	sentRole []bool
	finish   []string
	empty    string
	usage    usageOut
}

func newChunkEncoder(id, model string, created int64, legacy bool) *chunkEncoder {
	e := &chunkEncoder{legacy: legacy}
	e.out = chunkOut{ID: id, Object: "chat.completion.chunk", Created: created, Model: model}
	e.buf.Grow(512)
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
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
		o := chunkChoiceOut{Index: d.Index}
		if !e.sentRole[d.Index] {
			e.sentRole[d.Index] = true
			o.Delta.Role = "assistant"
			if d.Text == "" && len(d.ToolCalls) == 0 {
				o.Delta.Content = &e.empty
			}
		}
		if d.Text != "" {
			o.Delta.Content = &d.Text
		}
		o.Delta.ReasoningContent = d.Reasoning
		e.toolCalls(&o.Delta, d.ToolCalls)
		if d.FinishReason != "" {
			e.finish[d.Index] = finishReason(d.FinishReason, e.legacy)
			o.FinishReason = &e.finish[d.Index]
		}
		if o.Delta.Role == "" && o.Delta.Content == nil && o.Delta.ReasoningContent == "" &&
			len(o.Delta.ToolCalls) == 0 && o.Delta.FunctionCall == nil && o.FinishReason == nil {
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

func (e *chunkEncoder) toolCalls(o *deltaOut, tcs []providers.ToolCallDelta) {
	if len(tcs) == 0 {
		return
	}
	if e.legacy {
		tc := tcs[0]
		o.FunctionCall = &functionDeltaOut{Name: tc.Name, Arguments: tc.Arguments}
		return
	}
	o.ToolCalls = make([]toolCallDeltaOut, len(tcs))
	for i, tc := range tcs {
		t := toolCallDeltaOut{Index: tc.Index, ID: tc.ID, Function: functionDeltaOut{Name: tc.Name, Arguments: tc.Arguments}}
		if tc.ID != "" || tc.Name != "" {
			t.Type = "function"
		}
		o.ToolCalls[i] = t
	}
}

// usageEvent renders the include_usage chunk: no choices, the usage.
func (e *chunkEncoder) usageEvent(u providers.Usage) ([]byte, error) {
	e.usage = toUsage(u)
	e.out.Choices = e.out.Choices[:0]
	e.out.Usage = &e.usage
	return e.event(&e.out)
}

func (e *chunkEncoder) event(v any) ([]byte, error) {
	e.buf.Reset()
	e.buf.WriteString("data: ")
	if err := e.enc.Encode(v); err != nil { // appends "\n"
		return nil, err
	}
	e.buf.WriteByte('\n')
	return e.buf.Bytes(), nil
}

var (
	doneEvent      = []byte("data: [DONE]\n\n")
	keepAliveEvent = []byte(": keep-alive\n\n")
)

// sseWriter writes and flushes events; a keep-alive goroutine shares it.
type sseWriter struct {
	mu   sync.Mutex
	w    http.ResponseWriter
	rc   *http.ResponseController
	last time.Time
	err  error
}

// send writes b and flushes it; it reports the first write failure.
func (s *sseWriter) send(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = err
		return err
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
	}
	s.last = time.Now()
	return s.err
}

// keepAlive sends a comment whenever nothing was sent for interval, until stop closes.
func (s *sseWriter) keepAlive(interval time.Duration, stop <-chan struct{}) {
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		idle := time.Since(s.last)
		s.mu.Unlock()
		if idle >= interval {
			if s.send(keepAliveEvent) != nil {
				return
			}
			idle = 0
		}
		t.Reset(interval - idle)
	}
}

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

	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	edge.SetServedHeaders(hd, st.Provider, st.Model, st.Route, st.Attempts)
	edge.SetCacheHeaders(hd, st.CacheStatus, st.CacheScore)
	edge.SetGuardrailHeader(hd, st.Guardrails())
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{w: w, rc: http.NewResponseController(w), last: time.Now()}
	if err := sw.rc.Flush(); err != nil {
		return
	}
	if h.keepAlive > 0 {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { sw.keepAlive(h.keepAlive, stop) })
		defer wg.Wait()
		defer close(stop)
	}

	enc := newChunkEncoder(completionID(call.RequestID), requested, h.now().Unix(), d.legacy)
	for {
		c, err := st.Recv(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() == nil {
				h.streamError(r, sw, call.RequestID, err)
			}
			return
		}
		b, err := enc.encode(c)
		if err != nil {
			h.streamError(r, sw, call.RequestID, err)
			return
		}
		if b != nil && sw.send(b) != nil {
			return
		}
	}
	if d.includeUsage {
		b, err := enc.usageEvent(st.Usage())
		if err != nil {
			h.streamError(r, sw, call.RequestID, err)
			return
		}
		if sw.send(b) != nil {
			return
		}
	}
	_ = sw.send(doneEvent)
}

// streamError sends err as an {"error":{...}} event.
func (h *Handler) streamError(r *http.Request, sw *sseWriter, requestID string, err error) {
	e := toAPIError(requestID, err)
	if e.Status == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "internal error in stream", "request_id", requestID, "err", err)
	}
	b, merr := json.Marshal(e.body())
	if merr != nil {
		return
	}
	ev := make([]byte, 0, len(b)+8)
	ev = append(ev, "data: "...)
	ev = append(ev, b...)
	ev = append(ev, "\n\n"...)
	_ = sw.send(ev)
}
