package bedrock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/bedrock"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
)

// ChatStream sends a ConverseStream request. The answer's event-stream
// messages are decoded as they arrive and each becomes a chunk;
// cancelling ctx aborts the upstream request.
func (p *Provider) ChatStream(ctx context.Context, req *providers.ChatRequest) (providers.Stream, error) {
	body, err := p.encode(req)
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, p.modelURL(req.Model, "converse-stream"), body, schema.ContentTypeEventStream)
	if err != nil {
		return nil, err
	}
	return &stream{p: p, body: resp.Body, header: resp.Header, model: req.Model,
		id: resp.Header.Get(schema.HeaderRequestID), events: NewEventReader(resp.Body)}, nil
}

// EventReader reads the messages of an application/vnd.amazon.eventstream
// body with the AWS SDK's decoder (prelude and message CRCs checked,
// lengths bounded by the decoder: 128 KiB of headers, 16 MiB of payload).
type EventReader struct {
	r   *bufio.Reader
	dec *eventstream.Decoder
	buf []byte
}

// NewEventReader returns a reader of r's messages.
func NewEventReader(r io.Reader) *EventReader {
	return &EventReader{r: bufio.NewReaderSize(r, 16<<10), dec: eventstream.NewDecoder(), buf: make([]byte, 0, 4<<10)}
}

// Event is one decoded message: its kind (the :message-type header), its
// type (:event-type or :exception-type) and its payload, valid until the
// next Next.
type Event struct {
	MessageType string
	Type        string
	Payload     []byte
}

// ErrMalformedEvent is a message the SDK's decoder cannot read (it
// panics on an unknown header value type, which it decodes before the
// message CRC could reveal the corruption).
var ErrMalformedEvent = errors.New("malformed event-stream message")

// Next returns the next message, io.EOF at the end of the body between
// messages, or the decoder's error (a checksum or length error,
// ErrMalformedEvent, or io.ErrUnexpectedEOF / io.EOF for a body cut
// inside a message).
func (er *EventReader) Next() (ev Event, err error) {
	defer func() {
		if r := recover(); r != nil {
			ev, err = Event{}, fmt.Errorf("%w: %v", ErrMalformedEvent, r)
		}
	}()
	m, err := er.dec.Decode(er.r, er.buf)
	if err != nil {
		return Event{}, err
	}
	er.buf = m.Payload[:0]
	ev = Event{Payload: m.Payload}
	for _, h := range m.Headers {
		v, ok := h.Value.(eventstream.StringValue)
		if !ok {
			continue
		}
		switch h.Name {
		case schema.HeaderMessageType:
			ev.MessageType = string(v)
		case schema.HeaderEventType, schema.HeaderExceptionType:
			ev.Type = string(v)
		}
	}
	return ev, nil
}

// stream is a providers.Stream over a ConverseStream answer. Recv must not
// be called concurrently; Close may be called at any time.
type stream struct {
	p      *Provider
	body   io.ReadCloser
	header http.Header
	events *EventReader
	id     string
	model  string
	wire   schema.StreamEvent
	// tools maps content block indexes to tool-call indexes.
	tools   map[int]int
	stopped bool // messageStop was read
	err     error
	state   upstream.StreamState
}

// Recv returns the next chunk, or io.EOF after the metadata event.
func (s *stream) Recv() (*providers.Chunk, error) {
	if s.err != nil {
		return nil, s.err
	}
	for {
		ev, err := s.events.Next()
		if err != nil {
			s.err = s.readError(err)
			return nil, s.err
		}
		c, err := s.handle(&ev)
		if err != nil {
			s.err = err
			return nil, err
		}
		if c != nil {
			return c, nil
		}
	}
}

// readError classifies the end of the body.
func (s *stream) readError(err error) error {
	if s.state.Closed() {
		return errors.New("bedrock: stream closed")
	}
	if errors.Is(err, io.EOF) && s.stopped {
		s.state.SetDone()
		return io.EOF
	}
	var ce eventstream.ChecksumError
	var le eventstream.LengthError
	switch {
	case errors.As(err, &ce), errors.As(err, &le), errors.Is(err, ErrMalformedEvent):
		return &providers.Error{Provider: s.p.id, Kind: providers.KindBadResponse, Message: "event stream: " + err.Error(), Err: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &providers.Error{Provider: s.p.id, Kind: providers.KindConnection, Message: "event stream ended before messageStop", Err: err}
	}
	return upstream.ReadError(s.p.id, s.p.up.Secret, err)
}

func (s *stream) chunk() (*providers.Chunk, *providers.ChoiceDelta) {
	c := &providers.Chunk{ID: s.id, Model: s.model, Choices: make([]providers.ChoiceDelta, 1)}
	return c, &c.Choices[0]
}

// handle turns one message into a chunk; nil for messages without content.
func (s *stream) handle(ev *Event) (*providers.Chunk, error) {
	switch ev.MessageType {
	case schema.MessageTypeException, "error":
		return nil, s.p.streamError(ev.Type, ev.Payload)
	case schema.MessageTypeEvent:
	default:
		return nil, nil
	}
	w := &s.wire
	*w = schema.StreamEvent{}
	if err := apischema.UnmarshalLenient(ev.Payload, w); err != nil {
		return nil, s.p.up.BadResponse(http.StatusOK, ev.Type+" event", err)
	}
	switch ev.Type {
	case schema.EventMessageStart:
		c, d := s.chunk()
		d.Role = providers.RoleAssistant
		return c, nil
	case schema.EventContentBlockStart:
		if w.Start == nil || w.Start.ToolUse == nil {
			return nil, nil
		}
		if s.tools == nil {
			s.tools = map[int]int{}
		}
		idx := len(s.tools)
		s.tools[w.ContentBlockIndex] = idx
		c, d := s.chunk()
		d.ToolCalls = []providers.ToolCallDelta{{Index: idx, ID: w.Start.ToolUse.ToolUseID, Name: w.Start.ToolUse.Name}}
		return c, nil
	case schema.EventContentBlockDelta:
		if w.Delta == nil {
			return nil, nil
		}
		c, d := s.chunk()
		switch {
		case w.Delta.Text != nil:
			d.Text = *w.Delta.Text
		case w.Delta.ToolUse != nil:
			idx, ok := s.tools[w.ContentBlockIndex]
			if !ok {
				return nil, s.p.up.BadResponse(http.StatusOK, "stream", errors.New("tool input for a block that started no tool call"))
			}
			d.ToolCalls = []providers.ToolCallDelta{{Index: idx, Arguments: w.Delta.ToolUse.Input}}
		case w.Delta.ReasoningContent != nil:
			rc := w.Delta.ReasoningContent
			// Redacted reasoning has no place in a chunk; it is left out.
			d.Reasoning, d.ReasoningSignature = rc.Text, rc.Signature
			if d.Reasoning == "" && d.ReasoningSignature == "" {
				return nil, nil
			}
		default:
			return nil, nil
		}
		return c, nil
	case schema.EventMessageStop:
		s.stopped = true
		c, d := s.chunk()
		d.FinishReason = finishReason(w.StopReason)
		return c, nil
	case schema.EventMetadata:
		if w.Usage == nil {
			return nil, nil
		}
		u := convertUsage(w.Usage)
		return &providers.Chunk{ID: s.id, Model: s.model, Usage: &u}, nil
	}
	return nil, nil
}

// Header returns the upstream's response headers.
func (s *stream) Header() http.Header { return s.header }

// Close releases the upstream connection.
func (s *stream) Close() error { return s.state.Release(s.body) }
