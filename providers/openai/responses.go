package openai

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream/sse"
)

// OpResponses is the Responses API endpoint.
const OpResponses Operation = "responses"

// Responses API passthrough.
//
// A provider with the setting responses_api: true serves /v1/responses
// itself. A request of the gateway's Responses surface (a Source of
// dialect providers.DialectOpenAIResponses with a body) is then sent to
// its /responses as the client wrote it, with "model" set to the upstream
// model and "user" to the end user when the body names none; the answer
// and every stream event come back as the upstream sent them, with the
// canonical view (text, function calls, usage, finish reason) read from
// them. Without the setting, such requests are translated to Chat
// Completions like any other.

// servesResponses reports whether req goes to the Responses API.
func (p *Provider) servesResponses(req *providers.ChatRequest) bool {
	return p.responsesAPI && req.Source.Passthrough(providers.DialectOpenAIResponses)
}

// responsesBody patches the client's body for the upstream.
func (p *Provider) responsesBody(req *providers.ChatRequest) ([]byte, error) {
	body := req.Source.Body
	var err error
	if gjson.GetBytes(body, "model").String() != req.Model {
		if body, err = sjson.SetBytes(body, "model", req.Model); err != nil {
			return nil, p.invalid("set model: %v", err)
		}
	}
	if req.User != "" && !gjson.GetBytes(body, "user").Exists() && !gjson.GetBytes(body, "safety_identifier").Exists() {
		if body, err = sjson.SetBytes(body, "user", req.User); err != nil {
			return nil, p.invalid("set user: %v", err)
		}
	}
	return body, nil
}

// responsesHeader returns the client's allow-listed OpenAI headers.
func (p *Provider) responsesHeader(src *providers.Source) http.Header {
	in := src.Headers(providers.DialectOpenAIResponses)
	if len(in) == 0 {
		return nil
	}
	return p.requestHeader(&providers.Source{Dialect: Dialect, Header: in})
}

// responses sends a unary Responses request.
func (p *Provider) responses(ctx context.Context, req *providers.ChatRequest) (*providers.ChatResponse, error) {
	body, err := p.responsesBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, OpResponses, req.Model, body, "application/json", p.responsesHeader(req.Source))
	if err != nil {
		return nil, err
	}
	b, err := p.up.ReadBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	var w schema.Response
	if err := apischema.UnmarshalLenient(b, &w); err != nil {
		return nil, p.up.BadResponse(resp.StatusCode, "response", err)
	}
	if w.Status == schema.StatusFailed {
		return nil, p.responseFailed(w.Error)
	}
	out := &providers.ChatResponse{Raw: b, ID: w.ID, Model: w.Model,
		Choices: []providers.Choice{{Message: messageOf(w.Output), FinishReason: finishOf(&w)}}}
	if w.Usage != nil {
		out.Usage = usageOf(w.Usage)
	}
	return out, nil
}

func (p *Provider) responseFailed(e *schema.ResponseError) error {
	msg := "the upstream response failed"
	if e != nil {
		msg += ": " + e.Code + ": " + e.Message
	}
	return &providers.Error{Provider: p.id, Kind: providers.KindServer, Message: msg}
}

// messageOf reads output items as the canonical assistant message.
func messageOf(items []schema.OutputItem) providers.Message {
	m := providers.Message{Role: providers.RoleAssistant}
	for _, it := range items {
		switch it.Type {
		case schema.ItemMessage:
			for i := range it.Content {
				if c := &it.Content[i]; c.Type == schema.PartOutputText {
					m.Content = append(m.Content, providers.TextPart(c.TextValue()))
				}
			}
		case schema.ItemFunctionCall:
			tc := providers.ToolCall{ID: it.CallID, Name: it.Name}
			if it.Arguments != nil {
				tc.Arguments = *it.Arguments
			}
			m.ToolCalls = append(m.ToolCalls, tc)
		case schema.ItemReasoning:
			for _, s := range it.Summary {
				m.Content = append(m.Content, providers.Part{Type: providers.PartReasoning, Text: s.Text})
			}
		}
	}
	return m
}

func finishOf(w *schema.Response) providers.FinishReason {
	switch {
	case w.IncompleteDetails != nil && w.IncompleteDetails.Reason == "content_filter":
		return providers.FinishContentFilter
	case w.Status == schema.StatusIncomplete:
		return providers.FinishLength
	}
	for _, it := range w.Output {
		if it.Type == schema.ItemFunctionCall {
			return providers.FinishToolCalls
		}
	}
	return providers.FinishStop
}

func usageOf(u *schema.ResponseUsage) providers.Usage {
	return providers.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
		CachedInputTokens: u.InputTokensDetails.CachedTokens, ReasoningTokens: u.OutputTokensDetails.ReasoningTokens}
}

// responsesStream sends a streamed Responses request; every event comes
// back as a chunk with its bytes in Raw.
func (p *Provider) responsesStream(ctx context.Context, req *providers.ChatRequest) (providers.Stream, error) {
	body, err := p.responsesBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := p.send(ctx, OpResponses, req.Model, body, "text/event-stream", p.responsesHeader(req.Source))
	if err != nil {
		return nil, err
	}
	s := &eventStream{p: p, body: resp.Body, header: resp.Header, sse: sse.NewReader(resp.Body), calls: map[int]int{}}
	s.sse.KeepRaw(true)
	return s, nil
}

// eventStream is a providers.Stream over a Responses event stream.
type eventStream struct {
	p      *Provider
	body   io.ReadCloser
	header http.Header
	sse    *sse.Reader
	// calls maps an output index to its function call's index.
	calls map[int]int
	err   error
	ended bool
	state upstream.StreamState
}

// Recv returns the next event as a chunk, io.EOF after the terminal
// response event.
func (s *eventStream) Recv() (*providers.Chunk, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.state.Closed() {
		s.err = ErrStreamClosed
		return nil, s.err
	}
	if s.ended {
		s.err = io.EOF
		return nil, s.err
	}
	e, err := s.sse.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = s.p.up.BadResponse(0, "stream", errors.New("the stream ended before response.completed"))
		}
		s.err = err
		return nil, s.err
	}
	var ev schema.StreamEvent
	if err := apischema.UnmarshalLenient(e.Data, &ev); err != nil {
		s.err = s.p.up.BadResponse(0, "stream event", err)
		return nil, s.err
	}
	c := &providers.Chunk{Raw: e.Raw}
	switch ev.Type {
	case schema.EventOutputTextDelta:
		if ev.Delta != nil {
			c.Choices = []providers.ChoiceDelta{{Text: *ev.Delta}}
		}
	case schema.EventReasoningSummaryDelta:
		if ev.Delta != nil {
			c.Choices = []providers.ChoiceDelta{{Reasoning: *ev.Delta}}
		}
	case schema.EventOutputItemAdded:
		if ev.Item != nil && ev.Item.Type == schema.ItemFunctionCall && ev.OutputIndex != nil {
			n := len(s.calls)
			s.calls[*ev.OutputIndex] = n
			c.Choices = []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{Index: n, ID: ev.Item.CallID, Name: ev.Item.Name}}}}
		}
	case schema.EventFunctionArgsDelta:
		if ev.OutputIndex != nil && ev.Delta != nil {
			if n, ok := s.calls[*ev.OutputIndex]; ok {
				c.Choices = []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{Index: n, Arguments: *ev.Delta}}}}
			}
		}
	case schema.EventCompleted, schema.EventIncomplete:
		s.state.SetDone()
		s.ended = true
		if ev.Response != nil {
			c.ID, c.Model = ev.Response.ID, ev.Response.Model
			c.Choices = []providers.ChoiceDelta{{FinishReason: finishOf(ev.Response)}}
			if ev.Response.Usage != nil {
				u := usageOf(ev.Response.Usage)
				c.Usage = &u
			}
		}
	case schema.EventFailed:
		var re *schema.ResponseError
		if ev.Response != nil {
			re = ev.Response.Error
		}
		s.err = s.p.responseFailed(re)
		return nil, s.err
	case schema.EventError:
		msg := ev.Message
		if ev.Code.V != nil {
			msg = *ev.Code.V + ": " + msg
		}
		s.err = &providers.Error{Provider: s.p.id, Kind: providers.KindServer, Message: "upstream stream error: " + msg}
		return nil, s.err
	}
	return c, nil
}

// Header returns the upstream's response headers.
func (s *eventStream) Header() http.Header { return s.header }

// Close releases the upstream connection.
func (s *eventStream) Close() error { return s.state.Release(s.body) }
