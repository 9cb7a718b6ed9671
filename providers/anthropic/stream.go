package anthropic

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream/sse"
)

// maxBlocks bounds the content block index a stream may use.
const maxBlocks = 1 << 14

// ChatStream sends a streaming Messages request. The returned stream
// yields each chunk as soon as the upstream sends it; cancelling ctx aborts
// the upstream request.
func (p *Provider) ChatStream(ctx context.Context, req *providers.ChatRequest) (providers.Stream, error) {
	body, err := p.chatBody(req, true)
	if err != nil {
		return nil, err
	}
	resp, err := p.sendMessages(ctx, req.Model, true, body, "text/event-stream", p.requestHeader(req.Source))
	if err != nil {
		return nil, err
	}
	s := &stream{p: p, body: resp.Body, header: resp.Header, raw: req.Source.Passthrough(Dialect), rt: p.responseToolOf(req)}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" {
		// A proxy ignored "stream" and answered with one Message.
		if err := s.loadUnary(ctx, resp); err != nil {
			return nil, err
		}
		return s, nil
	}
	s.sse = sse.NewReader(resp.Body)
	s.sse.KeepRaw(s.raw)
	return s, nil
}

// Kinds of content blocks, as far as the stream cares.
const (
	blockOther uint8 = iota
	blockText
	blockToolUse
	blockThinking
	// blockAnswer is the structured-output tool's call, streamed as text.
	blockAnswer
)

// blockState tracks one content block of the stream.
type blockState struct {
	kind uint8
	// tool is the tool-call index of a tool_use block.
	tool int
	// args reports that argument fragments were sent.
	args bool
}

// stream is a providers.Stream over a Messages event stream. Recv must not
// be called concurrently; Close may be called at any time.
type stream struct {
	p      *Provider
	body   io.ReadCloser
	header http.Header
	sse    *sse.Reader
	// pending holds chunks made from a non-streamed answer.
	pending []*providers.Chunk

	id, model  string
	startUsage schema.Usage
	endUsage   *schema.Usage
	stopReason string
	blocks     []blockState
	tools      int
	// raw makes Recv return every event with its bytes (passthrough).
	raw bool
	// relay is the chunk that relays an event without content (raw only).
	relay providers.Chunk
	// rt is the request's structured-output tool, nil if none.
	rt *responseTool
	// answer buffers a wrapped structured answer until its block ends.
	answer   []byte
	finished bool // message_stop was read and the final chunk returned

	// err is returned by every Recv after the stream ended.
	err error
	// state is done once message_stop was read.
	state upstream.StreamState
}

// chunkBox allocates a chunk and its single choice together.
type chunkBox struct {
	c providers.Chunk
	d [1]providers.ChoiceDelta
}

// newChunk returns a chunk with one choice (index 0) to fill.
func (s *stream) newChunk() (*providers.Chunk, *providers.ChoiceDelta) {
	b := &chunkBox{}
	b.c.ID, b.c.Model = s.id, s.model
	b.c.Choices = b.d[:]
	return &b.c, &b.d[0]
}

var _ providers.ReadyStream = (*stream)(nil)

// Ready implements providers.ReadyStream. Only a relayed stream (raw)
// can tell: each of its events makes a chunk, so a whole event in the
// read buffer means the next Recv does not wait. A translated stream
// skips events without content and could wait after one.
func (s *stream) Ready() bool {
	return s.err != nil || s.sse == nil || s.finished || s.raw && s.sse.EventReady()
}

// Recv returns the next chunk, io.EOF after message_stop, or the failure.
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
	if s.finished {
		s.err = io.EOF
		return nil, s.err
	}
	for {
		e, err := s.sse.Next()
		if err != nil {
			s.err = s.readError(err)
			return nil, s.err
		}
		c, err := s.handle(e.Event, e.Data)
		if err != nil {
			s.err = err
			return nil, s.err
		}
		if s.raw {
			if c == nil {
				// An event without content (ping, block start and stop,
				// message_delta) is relayed in a chunk of its own, reused
				// from one such event to the next (Stream.Recv).
				s.relay = providers.Chunk{ID: s.id, Model: s.model}
				c = &s.relay
			}
			c.Raw = e.Raw
		}
		if c != nil {
			return c, nil
		}
	}
}

// handle decodes one event and returns the chunk it makes, if any.
func (s *stream) handle(event, data []byte) (*providers.Chunk, error) {
	if index, typ, value, ok := fastDelta(data); ok {
		return s.blockDelta(index, typ, value)
	}
	var ev schema.StreamEvent
	if err := apischema.UnmarshalLenient(data, &ev); err != nil {
		if string(event) == "error" {
			return nil, s.p.streamError(&schema.ErrorObject{Type: "api_error", Message: plainMessage(0, data)})
		}
		return nil, s.p.up.BadResponse(0, "stream event", err)
	}
	typ := ev.Type
	if typ == "" {
		typ = string(event)
	}
	index := 0
	if ev.Index != nil {
		index = *ev.Index
	}
	switch typ {
	case schema.EventMessageStart:
		if ev.Message == nil {
			return nil, s.p.up.BadResponse(0, "message_start", errors.New("no message"))
		}
		s.id, s.model, s.startUsage = ev.Message.ID, ev.Message.Model, ev.Message.Usage
		c, d := s.newChunk()
		d.Role = providers.RoleAssistant
		return c, nil
	case schema.EventContentBlockStart:
		return s.blockStart(index, ev.ContentBlock)
	case schema.EventContentBlockDelta:
		if ev.Delta == nil || ev.Delta.Type == "" {
			return nil, s.p.up.BadResponse(0, "content_block_delta", errors.New("no delta"))
		}
		return s.blockDelta(index, ev.Delta.Type, ev.Delta.Value())
	case schema.EventContentBlockStop:
		return s.blockStop(index), nil
	case schema.EventMessageDelta:
		if ev.Delta != nil && ev.Delta.StopReason.V != nil {
			s.stopReason = *ev.Delta.StopReason.V
		}
		if ev.Usage != nil {
			s.endUsage = ev.Usage
		}
		return nil, nil
	case schema.EventMessageStop:
		s.state.SetDone()
		s.finished = true
		return s.finalChunk(), nil
	case schema.EventError:
		if ev.Error == nil {
			return nil, s.p.streamError(&schema.ErrorObject{Type: "api_error", Message: "error event without error object"})
		}
		return nil, s.p.streamError(ev.Error)
	}
	return nil, nil // ping and event types added later
}

// block returns the state of content block i, growing the table.
func (s *stream) block(i int) (*blockState, error) {
	if i < 0 || i >= maxBlocks {
		return nil, s.p.up.BadResponse(0, "stream event", errors.New("content block index out of range"))
	}
	for len(s.blocks) <= i {
		s.blocks = append(s.blocks, blockState{})
	}
	return &s.blocks[i], nil
}

func (s *stream) blockStart(index int, cb *schema.ContentBlock) (*providers.Chunk, error) {
	st, err := s.block(index)
	if err != nil {
		return nil, err
	}
	if cb == nil || cb.Type == "" {
		return nil, s.p.up.BadResponse(0, "content_block_start", errors.New("no content block"))
	}
	*st = blockState{}
	switch cb.Type {
	case schema.BlockText:
		st.kind = blockText
		if cb.Text == "" {
			return nil, nil
		}
		c, d := s.newChunk()
		d.Text = cb.Text
		return c, nil
	case schema.BlockThinking:
		st.kind = blockThinking
		if cb.Thinking == "" && cb.Signature == "" {
			return nil, nil
		}
		c, d := s.newChunk()
		d.Reasoning, d.ReasoningSignature = cb.Thinking, cb.Signature
		return c, nil
	case schema.BlockToolUse:
		if s.rt != nil && cb.Name == s.rt.Name {
			st.kind = blockAnswer
			return nil, nil
		}
		st.kind, st.tool = blockToolUse, s.tools
		s.tools++
		c, d := s.newChunk()
		d.ToolCalls = []providers.ToolCallDelta{{Index: st.tool, ID: cb.ID, Name: cb.Name}}
		if args := compactJSON(cb.Input); args != "{}" {
			d.ToolCalls[0].Arguments = args
			st.args = true
		}
		return c, nil
	}
	return nil, nil // redacted_thinking, server tools: nothing canonical to stream
}

// blockDelta applies a content_block_delta of type typ to block index;
// value is its text, partial_json, thinking or signature.
func (s *stream) blockDelta(index int, typ, value string) (*providers.Chunk, error) {
	st, err := s.block(index)
	if err != nil {
		return nil, err
	}
	switch {
	case typ == "text_delta" && st.kind == blockText && value != "":
		c, d := s.newChunk()
		d.Text = value
		return c, nil
	case typ == "input_json_delta" && st.kind == blockToolUse && value != "":
		st.args = true
		c, d := s.newChunk()
		d.ToolCalls = []providers.ToolCallDelta{{Index: st.tool, Arguments: value}}
		return c, nil
	case typ == "input_json_delta" && st.kind == blockAnswer && value != "":
		if s.rt.Wrapped {
			s.answer = append(s.answer, value...)
			return nil, nil
		}
		c, d := s.newChunk()
		d.Text = value
		return c, nil
	case typ == "thinking_delta" && st.kind == blockThinking && value != "":
		c, d := s.newChunk()
		d.Reasoning = value
		return c, nil
	case typ == "signature_delta" && st.kind == blockThinking:
		c, d := s.newChunk()
		d.ReasoningSignature = value
		return c, nil
	}
	return nil, nil // empty fragments, citations, deltas of blocks the canonical model lacks
}

// blockStop completes a tool call that received no argument fragments
// with "{}", so that every streamed call has JSON arguments.
func (s *stream) blockStop(i int) *providers.Chunk {
	if i < 0 || i >= len(s.blocks) {
		return nil
	}
	st := &s.blocks[i]
	if st.kind == blockAnswer && s.rt.Wrapped {
		c, d := s.newChunk()
		d.Text = s.rt.answer(s.answer)
		s.answer = nil
		return c
	}
	if st.kind != blockToolUse || st.args {
		return nil
	}
	st.args = true
	c, d := s.newChunk()
	d.ToolCalls = []providers.ToolCallDelta{{Index: st.tool, Arguments: "{}"}}
	return c
}

// finalChunk carries the finish reason and the usage: input counts from
// message_start, output (and any updated input) counts from message_delta.
func (s *stream) finalChunk() *providers.Chunk {
	c, d := s.newChunk()
	d.FinishReason = finishReason(s.stopReason)
	if d.FinishReason == "" || d.FinishReason == providers.FinishToolCalls && s.tools == 0 {
		d.FinishReason = providers.FinishStop
	}
	var u providers.Usage
	if s.endUsage != nil {
		u = convertUsage(s.endUsage, &s.startUsage)
	} else {
		u = convertUsage(&s.startUsage, nil)
	}
	c.Usage = &u
	return c
}

// readError classifies a failure to read the event stream.
func (s *stream) readError(err error) error {
	switch {
	case s.state.Closed():
		return ErrStreamClosed
	case err == io.EOF, errors.Is(err, sse.ErrIncompleteEvent), errors.Is(err, io.ErrUnexpectedEOF):
		return &providers.Error{Provider: s.p.id, Kind: providers.KindConnection, Message: "stream ended before message_stop", Err: err}
	}
	return upstream.ReadError(s.p.id, s.p.apiKey, err)
}

// loadUnary turns a Message answer to a stream request into chunks: the
// role with the content, then the finish reason and usage.
func (s *stream) loadUnary(ctx context.Context, resp *http.Response) error {
	b, err := s.p.up.ReadBody(ctx, resp)
	if err != nil {
		return err
	}
	r, err := s.p.decodeMessage(resp.StatusCode, b, s.rt)
	if err != nil {
		return err
	}
	s.raw = false // the surface renders these chunks itself
	s.id, s.model = r.ID, r.Model
	ch := &r.Choices[0]
	c, d := s.newChunk()
	d.Role = providers.RoleAssistant
	for _, part := range ch.Message.Content {
		switch part.Type {
		case providers.PartText:
			d.Text += part.Text
		case providers.PartReasoning:
			d.Reasoning += part.Text
			if part.Signature != "" {
				d.ReasoningSignature = part.Signature
			}
		}
	}
	for j, tc := range ch.Message.ToolCalls {
		d.ToolCalls = append(d.ToolCalls, providers.ToolCallDelta{Index: j, ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
	}
	last, ld := s.newChunk()
	ld.FinishReason = ch.FinishReason
	if ld.FinishReason == "" {
		ld.FinishReason = providers.FinishStop
	}
	u := r.Usage
	last.Usage = &u
	s.pending = []*providers.Chunk{c, last}
	return nil
}

// Header returns the upstream's response headers.
func (s *stream) Header() http.Header { return s.header }

// Close releases the connection. After a complete stream the rest of the
// body is drained so the connection can be reused. It is idempotent.
func (s *stream) Close() error { return s.state.Release(s.body) }
