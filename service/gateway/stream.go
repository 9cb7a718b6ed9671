package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/pricing"
)

// Stream is a streamed chat completion in progress. The surface calls Recv
// until io.EOF or an error, writing and flushing each chunk, and must call
// Close when done (also when the client went away). The request record is
// written exactly once, when the stream ends or is closed.
type Stream struct {
	e     *Engine
	up    providers.Stream
	model string
	price func(providers.Usage) int64

	// Provider and Model say what serves the stream.
	Provider string
	Model    string

	rec        record
	usage      providers.Usage
	gotUsage   bool
	promptEst  int64
	outputLen  int64
	firstToken bool
	once       sync.Once
	costNanos  int64
}

// ChatStream starts a streamed chat request. req.Model is the name the caller asked for.
func (e *Engine) ChatStream(ctx context.Context, call *Call, req *providers.ChatRequest) (*Stream, error) {
	rec := e.newRecord(call, "chat", req.Model, true)
	k, err := e.Authenticate(call)
	if err != nil {
		return nil, e.finish(&rec, err)
	}
	rec.setKey(k)
	if err := ValidateChat(req); err != nil {
		return nil, e.finish(&rec, err)
	}
	m, err := e.resolve(k, req.Model, false)
	if err != nil {
		return nil, e.finish(&rec, err)
	}
	up := *req
	up.Model = m.UpstreamModel
	if up.User == "" {
		up.User = call.EndUser
	}
	rec.Provider, rec.Model, rec.Attempts = m.ProviderID, m.UpstreamModel, 1
	us, err := m.Provider.ChatStream(ctx, &up)
	if err != nil {
		return nil, e.finish(&rec, err)
	}
	pricingOf := m.Pricing
	return &Stream{
		e: e, up: us, rec: rec, Provider: m.ProviderID, Model: m.UpstreamModel,
		price:     func(u providers.Usage) int64 { return pricing.Cost(pricingOf, u) },
		promptEst: EstimatePromptTokens(req),
	}, nil
}

// Header returns the upstream's response headers.
func (s *Stream) Header() http.Header { return s.up.Header() }

// Recv returns the next chunk, io.EOF at the end, or the error that ended
// the stream.
func (s *Stream) Recv() (*providers.Chunk, error) {
	c, err := s.up.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			s.end(nil)
			return nil, io.EOF
		}
		s.end(err)
		return nil, err
	}
	if c.Model != "" && c.Model != s.Model {
		s.Model = c.Model
	}
	for i := range c.Choices {
		d := &c.Choices[i]
		n := len(d.Text) + len(d.Reasoning)
		for _, tc := range d.ToolCalls {
			n += len(tc.Name) + len(tc.Arguments)
		}
		if n > 0 && !s.firstToken {
			s.firstToken = true
			s.rec.TTFT = s.e.now().Sub(s.rec.start)
		}
		s.outputLen += int64(n)
	}
	if c.Usage != nil {
		s.usage, s.gotUsage = *c.Usage, true
	}
	return c, nil
}

// Usage returns the stream's usage; final once Recv returned io.EOF.
func (s *Stream) Usage() providers.Usage {
	if s.gotUsage {
		return s.usage
	}
	return s.estimate()
}

// CostNanos returns the stream's cost; final once Recv returned io.EOF.
func (s *Stream) CostNanos() int64 { return s.price(s.Usage()) }

// Close releases the upstream. Closing before the end records the request
// as cancelled with the usage seen or estimated so far.
func (s *Stream) Close() error {
	s.end(fmt.Errorf("stream closed before the end: %w", context.Canceled))
	return s.up.Close()
}

func (s *Stream) estimate() providers.Usage {
	return providers.Usage{InputTokens: s.promptEst, OutputTokens: (s.outputLen + 3) / 4, Estimated: true}
}

func (s *Stream) end(err error) {
	s.once.Do(func() {
		u := s.Usage()
		s.costNanos = s.price(u)
		s.rec.setUsage(u, s.costNanos)
		s.rec.Model = s.Model
		_ = s.e.finish(&s.rec, err)
	})
}

// EstimatePromptTokens roughly counts a request's prompt tokens (four bytes
// a token), for upstreams that report no usage.
func EstimatePromptTokens(req *providers.ChatRequest) int64 {
	var n int64
	for i := range req.Messages {
		m := &req.Messages[i]
		n += 4 // per-message overhead
		for _, p := range m.Content {
			switch p.Type {
			case providers.PartText, providers.PartReasoning:
				n += int64(len(p.Text)+3) / 4
			case providers.PartImage:
				n += 85
			}
		}
		for _, tc := range m.ToolCalls {
			n += int64(len(tc.Name)+len(tc.Arguments)+3) / 4
		}
	}
	for _, t := range req.Tools {
		n += int64(len(t.Name)+len(t.Description)+len(t.Parameters)+3) / 4
	}
	return n
}
