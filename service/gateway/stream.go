package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/pricing"
	"github.com/tollgate-dev/tollgate/service/registry"
	"github.com/tollgate-dev/tollgate/service/routing"
)

// Stream is a streamed chat completion in progress. The surface calls Recv
// until io.EOF or an error, writing and flushing each chunk, and must call
// Close when done (also when the client went away), from the goroutine
// that calls Recv. The request record is written exactly once, when the
// stream ends, fails or is closed.
//
// ChatStream fails over to other targets only until the first chunk has
// arrived: it returns a Stream holding that chunk. An upstream failure
// after it ends the stream with the error and marks the record Partial.
// The chunks pass through the stages described in stages.go.
type Stream struct {
	top    *meter
	header http.Header
	guard  *guardRun // the request's guardrails, nil if none (guardrails.go)

	// Provider and Model say what serves the stream; Model follows the
	// model the upstream reports in its chunks.
	Provider string
	Model    string
	// Route is the route the requested name resolved to, "" for a plain model.
	Route string
	// Attempts is the number of upstream attempts made before the stream started.
	Attempts int
	// CacheStatus and CacheScore are the response cache's outcome, as in
	// ChatResult. A hit replays the cached chunks and records no cost.
	CacheStatus semcache.Status
	CacheScore  float64
	// Dropped lists the parameters left out (the X-Tollgate-Dropped-Params header).
	Dropped []string
	// raw is true when the chunks carry the upstream's bytes in the
	// caller's dialect for the surface to relay (see Passthrough).
	raw bool
}

// Passthrough reports whether the surface should relay each chunk's Raw
// bytes, as the upstream sent them, instead of rendering the canonical
// chunk: the request was passed through to an upstream of its own
// dialect and no output stage may change the answer. It is fixed when
// the stream starts; the stages still read the canonical chunks.
func (s *Stream) Passthrough() bool { return s.raw }

// ChatStream starts a streamed chat request. req.Model is the name the caller asked for.
func (e *Engine) ChatStream(ctx context.Context, call *Call, req *providers.ChatRequest) (*Stream, error) {
	p, err := e.planChat(ctx, call, req, true)
	if err != nil {
		return nil, err
	}
	if p.hit() {
		src := &peeked{up: p.cache.Hit.Stream(p.cache.Status)}
		return e.composeStream(p, src, 0, nil, true), nil
	}
	req = p.req
	var src *peeked
	drop := dropsParams(p.key, p.route)
	out, err := e.run(ctx, p.route, facts(call, &p.rec, req), true, func(ctx context.Context, sv *registry.Serving, _ *routing.Target) (func(), error) {
		up := *req
		up.Model = sv.UpstreamModel
		if up.User == "" {
			up.User = call.EndUser
		}
		if err := checkUnsupported(&p.rec, sv, &up, drop, req.Model); err != nil {
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
		src = &peeked{up: st, first: c, eof: err != nil}
		return func() { _ = st.Close() }, nil
	})
	p.rec.served(p.route, out)
	if err != nil {
		return nil, e.finish(&p.rec, err)
	}
	src.cancel = out.cancel
	price := out.serving.Pricing
	return e.composeStream(p, src, out.attempts, func(u providers.Usage) int64 { return pricing.Cost(price, u) }, false), nil
}

// composeStream stacks a stream's stages over src in the documented order
// (stages.go): peeked → guard → cacheRec → meter. price is nil for a
// cache replay, which costs nothing.
func (e *Engine) composeStream(p *chatPlan, src *peeked, attempts int, price func(providers.Usage) int64, replay bool) *Stream {
	var below chunkStream = src
	if g := p.guard; g.checksOutput() {
		below = &guard{below: below, f: g.eng.NewOutputFilter(g.set, g.state), run: g}
	}
	if price == nil {
		price = func(providers.Usage) int64 { return 0 }
	}
	m := &meter{e: e, rec: p.rec, guard: p.guard, price: price, replay: replay, model: p.rec.Model}
	if !replay {
		m.promptEst = p.rec.prompt(p.req)
		if p.cache != nil && p.guard.cacheable() {
			below = &cacheRec{below: below, rec: e.cache.NewRecorder(p.cache), cost: m.cost, log: e.log}
		}
	}
	m.below = below
	return &Stream{
		top: m, header: src.up.Header(), guard: p.guard,
		Provider: p.rec.Provider, Model: p.rec.Model, Route: routeName(p.route), Attempts: attempts,
		CacheStatus: p.cacheStatus, CacheScore: p.cacheScore, Dropped: p.rec.DroppedParams,
		raw: !replay && src.first != nil && src.first.Raw != nil && !p.guard.checksOutput(),
	}
}

// Ready reports whether the next Recv returns without waiting for the
// upstream: the next chunk (or the end) arrived with the last one. A
// surface may hold its flush while it is true, so that chunks that
// arrived together reach the caller in one write; false when unsure.
func (s *Stream) Ready() bool { return s.top.ready() }

// Header returns the upstream's response headers.
func (s *Stream) Header() http.Header { return s.header }

// Recv returns the next chunk, io.EOF at the end, or the error that ended
// the stream. ctx is the request's: the output guardrails' external
// checks run under it.
func (s *Stream) Recv(ctx context.Context) (*providers.Chunk, error) {
	c, err := s.top.Recv(ctx)
	if s.top.model != "" {
		s.Model = s.top.model
	}
	return c, err
}

// Usage returns the stream's usage; final once Recv returned io.EOF.
func (s *Stream) Usage() providers.Usage { return s.top.currentUsage() }

// CostNanos returns the stream's cost; final once Recv returned io.EOF.
func (s *Stream) CostNanos() int64 { return s.top.cost() }

// Guardrails returns what the guardrails did to the stream so far: the
// input stage's verdicts when it starts, the output stage's once it ended.
func (s *Stream) Guardrails() []guardrails.Verdict { return s.guard.verdicts() }

// Close releases the upstream. Closing before the end records the request
// as cancelled with the usage seen or estimated so far.
func (s *Stream) Close() error { return s.top.Close() }

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
