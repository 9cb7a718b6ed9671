package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"io"
	"mime"
	"net/http"

	json2 "github.com/go-json-experiment/json"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream/sse"
)

// maxStreamCandidates bounds the candidate indexes a stream tracks.
const maxStreamCandidates = 64

// ChatStream sends a streamGenerateContent?alt=sse request. Every event
// becomes a chunk as soon as it arrives; cancelling ctx aborts the
// upstream request.
func (p *Provider) ChatStream(ctx context.Context, req *providers.ChatRequest) (providers.Stream, error) {
	body, err := p.chatBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, http.MethodPost, p.methodURL(req.Model, methodStream, "alt=sse"), body, contentTypeSSE)
	if err != nil {
		return nil, err
	}
	s := &stream{p: p, body: resp.Body, header: resp.Header, expected: 1, raw: req.Source.Passthrough(Dialect)}
	if req.N != nil && *req.N > 1 {
		s.expected = *req.N
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == contentTypeJSON {
		// The upstream ignored alt=sse and answered with a JSON array of
		// responses (or one response).
		if err := s.loadJSON(ctx, resp); err != nil {
			return nil, err
		}
		return s, nil
	}
	s.sse = sse.NewReader(resp.Body)
	s.sse.KeepRaw(s.raw)
	return s, nil
}

// candidateState tracks one candidate across events.
type candidateState struct {
	roleSent bool
	calls    int
	finished bool
}

// stream is a providers.Stream over Gemini server-sent events. Each event
// is a complete GenerateContentResponse holding the new parts only. There
// is no end marker: the body ends after the event carrying the finish
// reasons. Recv must not be called concurrently; Close may be called at
// any time.
type stream struct {
	p      *Provider
	body   io.ReadCloser
	header http.Header
	sse    *sse.Reader
	// events holds the responses of a JSON (non-SSE) answer.
	events []json.RawMessage
	// raw makes Recv return every event with its bytes (passthrough).
	raw bool
	// wire is the event decoded last, reused for the next.
	wire    schema.GenerateContentResponse
	lastRaw []byte

	cands []candidateState
	// expected is the number of candidates requested; usage is attached
	// once that many have finished.
	expected  int
	blocked   bool
	usage     *providers.Usage
	usageSent bool
	lastID    string
	lastModel string

	// err is returned by every Recv after the stream ended.
	err error
	// state is done once the body was read to its end.
	state upstream.StreamState
}

// Recv returns the next chunk, io.EOF after the last one, or the failure.
// A body that ends before every candidate has a finish reason fails with
// KindConnection. Usage rides on the chunk that finishes the last
// candidate, or on a final usage-only chunk.
func (s *stream) Recv() (*providers.Chunk, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.state.Closed() {
		s.err = ErrStreamClosed
		return nil, s.err
	}
	for {
		data, err := s.nextEvent()
		if err == io.EOF {
			s.state.SetDone()
			return s.finish()
		}
		if err != nil {
			s.err = s.readError(err)
			return nil, s.err
		}
		c, err := s.decode(data)
		if err != nil {
			s.err = err
			return nil, s.err
		}
		if s.raw && s.sse != nil {
			if c == nil {
				c = &providers.Chunk{ID: s.lastID, Model: s.lastModel}
			}
			c.Raw = s.lastRaw
		}
		if c != nil {
			return c, nil
		}
	}
}

func (s *stream) nextEvent() ([]byte, error) {
	if s.sse != nil {
		e, err := s.sse.Next()
		s.lastRaw = e.Raw
		if errors.Is(err, sse.ErrIncompleteEvent) {
			// Gemini sends no event names, so a cut-off name alone is no
			// event; data without its final blank line is used when it is
			// complete JSON (servers may omit the last blank line).
			switch {
			case e.Data == nil:
				return nil, io.EOF
			case json.Valid(e.Data):
				return e.Data, nil
			}
		}
		return e.Data, err
	}
	if len(s.events) == 0 {
		return nil, io.EOF
	}
	e := s.events[0]
	s.events = s.events[1:]
	return e, nil
}

// finish ends a stream whose body is complete.
func (s *stream) finish() (*providers.Chunk, error) {
	if !s.blocked && !s.allFinished() {
		s.err = &providers.Error{Provider: s.p.id, Kind: providers.KindConnection, Message: "stream ended before a finish reason"}
		return nil, s.err
	}
	s.err = io.EOF
	if s.usage != nil && !s.usageSent {
		s.usageSent = true
		return &providers.Chunk{ID: s.lastID, Model: s.lastModel, Usage: s.usage}, nil
	}
	return nil, s.err
}

func (s *stream) allFinished() bool {
	if len(s.cands) == 0 {
		return false
	}
	for i := range s.cands {
		if s.cands[i].roleSent && !s.cands[i].finished {
			return false
		}
	}
	return true
}

// decode converts one event; nil, nil for events without content.
func (s *stream) decode(data []byte) (*providers.Chunk, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	// Reuse the strings every event repeats; nothing else carries over.
	w := &s.wire
	*w = schema.GenerateContentResponse{ModelVersion: w.ModelVersion, ResponseID: w.ResponseID}
	if err := apischema.UnmarshalReuse(data, w, json2.MatchCaseInsensitiveNames(true)); err != nil {
		return nil, s.p.up.BadResponse(0, "stream event", err)
	}
	if w.Error != nil {
		return nil, s.p.streamError(w.Error)
	}
	return s.convert(w)
}

func (s *stream) convert(w *schema.GenerateContentResponse) (*providers.Chunk, error) {
	if w.ResponseID != "" {
		s.lastID = w.ResponseID
	}
	if w.ModelVersion != "" {
		s.lastModel = w.ModelVersion
	}
	c := &providers.Chunk{ID: w.ResponseID, Model: w.ModelVersion}
	if len(w.Candidates) == 0 && w.PromptFeedback != nil && w.PromptFeedback.BlockReason != "" {
		s.blocked = true
		c.Choices = []providers.ChoiceDelta{{Role: providers.RoleAssistant, FinishReason: providers.FinishContentFilter}}
	}
	for i := range w.Candidates {
		cand := &w.Candidates[i]
		if cand.Index < 0 || cand.Index >= maxStreamCandidates {
			return nil, s.p.up.BadResponse(0, "stream event", errors.New("candidate index out of range"))
		}
		for len(s.cands) <= cand.Index {
			s.cands = append(s.cands, candidateState{})
		}
		st := &s.cands[cand.Index]
		d := providers.ChoiceDelta{Index: cand.Index}
		if !st.roleSent {
			d.Role = providers.RoleAssistant
			st.roleSent = true
		}
		if cand.Content != nil {
			for j := range cand.Content.Parts {
				addDelta(&d, &cand.Content.Parts[j], cand.Index, st)
			}
		}
		if cand.FinishReason != "" {
			d.FinishReason = finishReason(cand.FinishReason, st.calls > 0)
			st.finished = true
		}
		c.Choices = append(c.Choices, d)
	}
	if w.UsageMetadata != nil && !s.usageSent {
		u := convertUsage(w.UsageMetadata)
		s.usage = &u
	}
	if s.usage != nil && !s.usageSent && (s.blocked || len(s.cands) >= s.expected && s.allFinished()) {
		c.Usage = s.usage
		s.usageSent = true
	}
	if len(c.Choices) == 0 && c.Usage == nil {
		return nil, nil
	}
	return c, nil
}

// addDelta appends one part of an event to d. Function calls arrive whole,
// so each becomes one complete ToolCallDelta.
func addDelta(d *providers.ChoiceDelta, pt *schema.Part, cand int, st *candidateState) {
	switch {
	case pt.FunctionCall != nil:
		id := pt.FunctionCall.ID
		if id == "" {
			id = generatedID(cand, st.calls)
		}
		d.ToolCalls = append(d.ToolCalls, providers.ToolCallDelta{
			Index:     st.calls,
			ID:        joinCallID(id, pt.ThoughtSignature),
			Name:      pt.FunctionCall.Name,
			Arguments: argsText([]byte(pt.FunctionCall.Args)),
		})
		st.calls++
	case pt.Thought:
		d.Reasoning += pt.Text
		if pt.ThoughtSignature != "" {
			d.ReasoningSignature = pt.ThoughtSignature
		}
	default:
		d.Text += pt.Text
	}
}

// readError classifies a failure to read the event stream.
func (s *stream) readError(err error) error {
	switch {
	case s.state.Closed():
		return ErrStreamClosed
	case errors.Is(err, sse.ErrIncompleteEvent), errors.Is(err, io.ErrUnexpectedEOF):
		return &providers.Error{Provider: s.p.id, Kind: providers.KindConnection, Message: "stream ended inside an event", Err: err}
	}
	return upstream.ReadError(s.p.id, s.p.apiKey, err)
}

// loadJSON reads a JSON answer to a stream request: an array of responses
// or a single one.
func (s *stream) loadJSON(ctx context.Context, resp *http.Response) error {
	b, err := s.p.up.ReadBody(ctx, resp)
	if err != nil {
		return err
	}
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &s.events); err != nil {
			return s.p.up.BadResponse(resp.StatusCode, "stream response array", err)
		}
		return nil
	}
	s.events = []json.RawMessage{b}
	return nil
}

// Header returns the upstream's response headers.
func (s *stream) Header() http.Header { return s.header }

// Close releases the connection. After a complete stream the rest of the
// body is drained so the connection can be reused. It is idempotent.
func (s *stream) Close() error { return s.state.Release(s.body) }
