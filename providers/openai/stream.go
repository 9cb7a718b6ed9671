package openai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream/sse"
)

// ChatStream sends a streaming chat completion. The returned stream yields
// each chunk as soon as the upstream sends it; cancelling ctx aborts the
// upstream request. A request passed through yields a chunk for every
// event, with the event's bytes in Chunk.Raw.
func (p *Provider) ChatStream(ctx context.Context, req *providers.ChatRequest) (providers.Stream, error) {
	if p.servesResponses(req) {
		return p.responsesStream(ctx, req)
	}
	body, err := p.chatBody(req, true)
	if err != nil {
		return nil, err
	}
	legacy := p.completes(req)
	op := OpChatCompletions
	if legacy {
		op = OpCompletions
	}
	resp, err := p.send(ctx, op, req.Model, body, "text/event-stream", p.requestHeader(req.Source))
	if err != nil {
		return nil, err
	}
	s := &stream{p: p, body: resp.Body, header: resp.Header, raw: legacy || req.Source.Passthrough(Dialect), legacy: legacy}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" {
		// The upstream ignored "stream" and answered with one object.
		if err := s.loadUnary(ctx, resp); err != nil {
			return nil, err
		}
		return s, nil
	}
	s.sse = sse.NewReader(resp.Body)
	s.sse.KeepRaw(s.raw)
	return s, nil
}

// stream is a providers.Stream over a Chat Completions event stream.
// Recv must not be called concurrently; Close may be called at any time.
type stream struct {
	p      *Provider
	body   io.ReadCloser
	header http.Header
	sse    *sse.Reader
	// raw makes Recv return every event with its bytes (passthrough).
	raw bool
	// legacy is a stream of the completions API (text_completion events).
	legacy bool
	// legacyWire is the completions event decoded last.
	legacyWire schema.Completion
	// wire is the chunk decoded last, reused for the next.
	wire schema.Chunk
	// strs holds the strings of wire's nullable members (fastChunk).
	strs []string
	// pending holds chunks made from a non-streamed answer.
	pending []*providers.Chunk
	// err is returned by every Recv after the stream ended.
	err error
	// state is done once "[DONE]" was read.
	state upstream.StreamState
}

var _ providers.ReadyStream = (*stream)(nil)

// Ready implements providers.ReadyStream. Only a relayed stream (raw)
// can tell: each of its events makes a chunk, so a whole event in the
// read buffer means the next Recv does not wait. A translated stream
// skips events without content and could wait after one.
func (s *stream) Ready() bool {
	return s.err != nil || s.sse == nil || s.raw && s.sse.EventReady()
}

// Recv returns the next chunk, io.EOF after "[DONE]", or the failure.
func (s *stream) Recv() (*providers.Chunk, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.state.Closed() {
		s.err = ErrStreamClosed
		return nil, s.err
	}
	if s.sse == nil {
		if len(s.pending) == 0 {
			s.err = io.EOF
			return nil, s.err
		}
		c := s.pending[0]
		s.pending = s.pending[1:]
		return c, nil
	}
	for {
		e, err := s.sse.Next()
		if errors.Is(err, sse.ErrIncompleteEvent) && isDone(e.Data) {
			err = nil // some servers omit the blank line after "[DONE]"
		}
		if err != nil {
			s.err = s.readError(err)
			return nil, s.err
		}
		if isDone(e.Data) {
			s.state.SetDone()
			s.err = io.EOF
			return nil, s.err
		}
		c, err := s.decode(e.Event, e.Data)
		if err != nil {
			s.err = err
			return nil, s.err
		}
		if s.raw {
			if c == nil {
				c = &providers.Chunk{}
			}
			c.Raw = e.Raw
		}
		if c != nil {
			return c, nil
		}
	}
}

// decode converts one event's data; nil, nil for chunks without content
// (e.g. Azure's leading prompt_filter_results chunk).
func (s *stream) decode(event, data []byte) (*providers.Chunk, error) {
	if s.legacy {
		return s.decodeLegacy(event, data)
	}
	// Reuse the wire chunk: its choices array and the strings every chunk
	// repeats. Everything else is reset so that nothing leaks into the next
	// chunk.
	w := &s.wire
	prev := schema.Chunk{ID: w.ID, Object: w.Object, Model: w.Model, SystemFingerprint: w.SystemFingerprint, Choices: w.Choices[:0]}
	*w = prev
	if fastChunk(data, w, &s.strs) {
		return chunkOf(w), nil
	}
	prev.Choices = w.Choices[:0]
	*w = prev
	if err := apischema.UnmarshalReuse(data, w); err != nil {
		if string(event) == "error" {
			return nil, s.p.streamError(&schema.ErrorObject{Message: "upstream stream error: " + oneLine(data)})
		}
		return nil, s.p.up.BadResponse(0, "stream chunk", err)
	}
	if w.Error != nil {
		return nil, s.p.streamError(w.Error)
	}
	return chunkOf(w), nil
}

// chunkOf converts a decoded wire chunk, nil when it has neither a choice
// nor usage (Groq's usage in x_groq counts).
func chunkOf(w *schema.Chunk) *providers.Chunk {
	if w.Usage.V == nil && w.XGroq != nil && w.XGroq.Usage != nil {
		w.Usage = apischema.ValueOf(w.XGroq.Usage)
	}
	if len(w.Choices) == 0 && w.Usage.V == nil {
		return nil
	}
	return convertChunk(w)
}

// chunkAndChoice is a chunk and its choice in one allocation: nearly
// every streamed chunk has one choice.
type chunkAndChoice struct {
	chunk  providers.Chunk
	choice [1]providers.ChoiceDelta
}

func convertChunk(w *schema.Chunk) *providers.Chunk {
	var c *providers.Chunk
	switch len(w.Choices) {
	case 0:
		c = &providers.Chunk{}
	case 1:
		cc := &chunkAndChoice{}
		c = &cc.chunk
		c.Choices = cc.choice[:]
	default:
		c = &providers.Chunk{Choices: make([]providers.ChoiceDelta, len(w.Choices))}
	}
	c.ID, c.Model = w.ID, w.Model
	for i := range w.Choices {
		convertDelta(&c.Choices[i], &w.Choices[i])
	}
	if w.Usage.V != nil {
		u := convertUsage(w.Usage.V)
		c.Usage = &u
	}
	return c
}

func convertDelta(out *providers.ChoiceDelta, in *schema.ChunkChoice) {
	d := &in.Delta
	out.Index = in.Index
	out.Role = providers.Role(d.Role)
	out.Text = deref(d.Content)
	if out.Text == "" {
		out.Text = deref(d.Refusal)
	}
	out.Reasoning = d.ReasoningContent
	if out.Reasoning == "" {
		out.Reasoning = d.Reasoning
	}
	out.FinishReason = finishReason(deref(in.FinishReason))
	switch {
	case len(d.ToolCalls) > 0:
		out.ToolCalls = make([]providers.ToolCallDelta, len(d.ToolCalls))
		for i := range d.ToolCalls {
			tc := &d.ToolCalls[i]
			out.ToolCalls[i] = providers.ToolCallDelta{Index: tc.Index, ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments}
		}
	case d.FunctionCall != nil:
		out.ToolCalls = []providers.ToolCallDelta{{Name: d.FunctionCall.Name, Arguments: d.FunctionCall.Arguments}}
	}
}

// readError classifies a failure to read the event stream.
func (s *stream) readError(err error) error {
	switch {
	case s.state.Closed():
		return ErrStreamClosed
	case err == io.EOF, errors.Is(err, sse.ErrIncompleteEvent):
		return &providers.Error{Provider: s.p.id, Kind: providers.KindConnection, Message: "stream ended early"}
	}
	return upstream.ReadError(s.p.id, s.p.apiKey, err)
}

// isDone reports the "[DONE]" sentinel that ends a chat stream.
func isDone(data []byte) bool { return string(bytes.TrimSpace(data)) == "[DONE]" }

// loadUnary turns a JSON answer to a stream request into chunks: one per
// choice, then usage.
func (s *stream) loadUnary(ctx context.Context, resp *http.Response) error {
	b, err := s.p.up.ReadBody(ctx, resp)
	if err != nil {
		return err
	}
	decode := s.p.decodeChat
	if s.legacy {
		decode = s.p.decodeCompletion
	}
	r, err := decode(resp.StatusCode, b)
	if err != nil {
		return err
	}
	s.raw = false // the surface renders these chunks itself
	for i := range r.Choices {
		ch := &r.Choices[i]
		d := providers.ChoiceDelta{Index: ch.Index, Role: providers.RoleAssistant, FinishReason: ch.FinishReason}
		for _, part := range ch.Message.Content {
			switch part.Type {
			case providers.PartText:
				d.Text += part.Text
			case providers.PartReasoning:
				d.Reasoning += part.Text
			}
		}
		for j, tc := range ch.Message.ToolCalls {
			d.ToolCalls = append(d.ToolCalls, providers.ToolCallDelta{Index: j, ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
		}
		s.pending = append(s.pending, &providers.Chunk{ID: r.ID, Model: r.Model, Choices: []providers.ChoiceDelta{d}})
	}
	if r.Usage != (providers.Usage{}) {
		u := r.Usage
		s.pending = append(s.pending, &providers.Chunk{ID: r.ID, Model: r.Model, Usage: &u})
	}
	return nil
}

// Header returns the upstream's response headers.
func (s *stream) Header() http.Header { return s.header }

// Close releases the connection. After a complete stream the rest of the
// body is drained so the connection can be reused. It is idempotent.
func (s *stream) Close() error { return s.state.Release(s.body) }
