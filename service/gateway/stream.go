package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/pricing"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/routing"
)

// Stream is a streamed chat completion in progress. The surface calls Recv
// until io.EOF or an error, writing and flushing each chunk, and must call
// Close when done (also when the client went away). The request record is
// written exactly once, when the stream ends or is closed.
//
// ChatStream fails over to other targets only until the first chunk has
// arrived: it returns a Stream holding that chunk. An upstream failure
// after it ends the stream with the error and marks the record Partial.
type Stream struct {
	e      *Engine
	up     providers.Stream
	price  func(providers.Usage) int64
	cancel context.CancelFunc

	// Provider and Model say what serves the stream.
	Provider string
	Model    string
	// Route is the route the requested name resolved to, "" for a plain model.
	Route string
	// Attempts is the number of upstream attempts made before the stream started.
	Attempts int

	first     *providers.Chunk // received during failover, not yet handed out
	firstEOF  bool             // the upstream ended without a chunk
	delivered bool             // a chunk reached the caller

	rec        record
	usage      providers.Usage
	gotUsage   bool
	promptEst  int64
	outputLen  int64
	firstToken bool
	once       sync.Once
	costNanos  int64

	// CacheStatus and CacheScore are the response cache's outcome, as in
	// ChatResult. A hit replays the cached chunks and records no cost.
	CacheStatus semcache.Status
	CacheScore  float64
	hit         bool
	recorder    *semcache.Recorder // a miss's chunks, stored on a clean end

	guard *guardRun // the request's guardrails, nil if none (guardrails.go)

	// Dropped lists the parameters left out (see HeaderDroppedParams).
	Dropped []string
	// raw is true when the chunks carry the upstream's bytes in the
	// caller's dialect for the surface to relay (see Passthrough).
	raw bool
}

// Passthrough reports whether the surface should relay each chunk's Raw
// bytes, as the upstream sent them, instead of rendering the canonical
// chunk: the request was passed through to an upstream of its own
// dialect and no output stage may change the answer. It is fixed when
// the stream starts.
func (s *Stream) Passthrough() bool { return s.raw }

// ChatStream starts a streamed chat request. req.Model is the name the caller asked for.
func (e *Engine) ChatStream(ctx context.Context, call *Call, req *providers.ChatRequest) (*Stream, error) {
	p, err := e.planChat(ctx, call, req, true)
	if err != nil {
		return nil, err
	}
	rec, rt, gr, cres, status, score := p.rec, p.route, p.guard, p.cache, p.cacheStatus, p.cacheScore
	req = p.req
	if p.hit() {
		s := &Stream{
			e: e, up: cres.Hit.Stream(cres.Status), rec: rec, Provider: rec.Provider, Model: rec.Model,
			Route: routeName(rt), price: func(providers.Usage) int64 { return 0 },
			CacheStatus: status, CacheScore: score, hit: true,
		}
		e.guardStream(ctx, s, gr)
		return s, nil
	}
	var (
		us       providers.Stream
		first    *providers.Chunk
		firstEOF bool
	)
	drop := dropsParams(p.key, rt)
	out, err := e.run(ctx, rt, facts(call, &rec, req), true, func(ctx context.Context, sv *registry.Serving, _ *routing.Target) (func(), error) {
		up := *req
		up.Model = sv.UpstreamModel
		if up.User == "" {
			up.User = call.EndUser
		}
		if err := checkUnsupported(&rec, sv, &up, drop, req.Model); err != nil {
			return nil, err
		}
		st, err := sv.Provider.ChatStream(ctx, &up)
		if err != nil {
			return nil, err
		}
		// Wait for the first chunk: until it arrives, failing over is
		// invisible to the caller.
		c, err := st.Recv()
		if err != nil && !errors.Is(err, io.EOF) {
			_ = st.Close()
			return nil, err
		}
		us, first, firstEOF = st, c, err != nil
		return func() { _ = st.Close() }, nil
	})
	rec.served(rt, out)
	if err != nil {
		return nil, e.finish(&rec, err)
	}
	pricingOf := out.serving.Pricing
	s := &Stream{
		e: e, up: us, rec: rec, Provider: rec.Provider, Model: rec.Model, cancel: out.cancel,
		Route: routeName(rt), Attempts: out.attempts, first: first, firstEOF: firstEOF,
		price:       func(u providers.Usage) int64 { return pricing.Cost(pricingOf, u) },
		promptEst:   rec.prompt(req),
		CacheStatus: status, CacheScore: score, Dropped: rec.DroppedParams,
	}
	if cres != nil {
		s.recorder = e.cache.NewRecorder(cres)
	}
	s.raw = first != nil && first.Raw != nil && !gr.checksOutput()
	e.guardStream(ctx, s, gr)
	return s, nil
}

// Header returns the upstream's response headers.
func (s *Stream) Header() http.Header { return s.up.Header() }

// Recv returns the next chunk, io.EOF at the end, or the error that ended
// the stream.
func (s *Stream) Recv() (*providers.Chunk, error) {
	var c *providers.Chunk
	var err error
	switch {
	case s.first != nil:
		c, s.first = s.first, nil
	case s.firstEOF:
		err = io.EOF
	default:
		c, err = s.up.Recv()
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			s.end(nil)
			if s.recorder != nil {
				// Only a stream that ended cleanly is stored.
				if err := s.recorder.Commit(s.costNanos); err != nil {
					s.e.log.Debug("gateway: stream not cached", "request_id", s.rec.RequestID, "err", err)
				}
				s.recorder = nil
			}
			return nil, io.EOF
		}
		s.end(err)
		return nil, err
	}
	if s.recorder != nil {
		s.recorder.Add(c)
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
	s.delivered = true
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
	s.recorder = nil // never store what was cut off
	err := s.up.Close()
	if s.cancel != nil {
		s.cancel()
	}
	return err
}

func (s *Stream) estimate() providers.Usage {
	return providers.Usage{InputTokens: s.promptEst, OutputTokens: (s.outputLen + 3) / 4, Estimated: true}
}

func (s *Stream) end(err error) {
	s.once.Do(func() {
		u := s.Usage()
		s.costNanos = s.price(u)
		if s.hit {
			u = providers.Usage{} // a replay uses no upstream tokens
		}
		s.rec.setUsage(u, s.costNanos)
		s.rec.Model = s.Model
		s.rec.Partial = err != nil && s.delivered
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
			case providers.PartFile:
				n += fileTokens(p.File)
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

// fileTokens estimates a document's prompt tokens: four bytes a token for
// text; a token per 32 bytes of a binary file (a PDF page of 50-100 KB is
// read as a few thousand tokens of text and image).
func fileTokens(f *providers.File) int64 {
	switch {
	case f == nil:
		return 0
	case f.Text != "":
		return int64(len(f.Text)+3) / 4
	case f.Base64 != "":
		return int64(len(f.Base64)*3/4+31) / 32
	}
	return 1500 // by URL or file id: about a page
}
