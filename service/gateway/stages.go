package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/guardrails"
)

// Stream stages.
//
// A streamed answer travels from the upstream to the surface through a
// chain of small stages. Each stage is a chunkStream that wraps the one
// below it; ChatStream composes them (see composeStream) in this order,
// from the upstream up:
//
//	upstream   providers.Stream of the target that won failover, or a cache hit's replay
//	  peeked   hands out the chunk failover already read, then reads on; Close releases
//	           the upstream and ends the attempt's context
//	  guard    the output guardrails (guardrails.OutputFilter): holds back, rewrites or
//	           blocks text; present only when a policy checks output or restores placeholders
//	  cacheRec records the chunks the caller receives; stores them in the response cache
//	           when the stream ends cleanly (never a cut-off, failed or blocked one);
//	           present only on a cache miss whose answer may be stored
//	  meter    time to first token, usage (reported, or estimated from the text), cost,
//	           Partial; tops up the budget reservation as the output grows and ends
//	           the stream with the refusal when it cannot (limits.go); writes the
//	           request record exactly once: at the end, on the first error, or on Close
//	Stream     what the surface reads
//
// The order follows what each stage must see: the guardrails see the
// upstream's text; the cache stores only what passed the guardrails
// (what the caller was allowed to receive); the meter sees the end of
// the stream last, so the record reflects every stage's outcome (a
// guardrail block ends the stream as an error and is recorded as one).
//
// Rules every stage keeps:
//   - Recv takes the request's context and passes it down; no stage
//     keeps a context (the upstream's lives in the attempt that opened it,
//     which peeked ends through a cancel func).
//   - Recv is called by one goroutine at a time, and never again after it
//     returned an error (io.EOF included) except by Close.
//   - Close is idempotent, closes the stage below, and is what the surface
//     calls when the caller goes away.
//   - Only guard changes chunks. The observers (cacheRec, meter) pass each
//     chunk on as received, so a bottom stage that relays the upstream's
//     raw bytes alongside the canonical chunks (a same-dialect passthrough)
//     stays byte-exact whenever no guard stage is in the chain.
type chunkStream interface {
	// Recv returns the next chunk, io.EOF after the last, or the error
	// that ended the stream.
	Recv(ctx context.Context) (*providers.Chunk, error)
	// Close releases the stream and the stages below it.
	Close() error
	// ready reports whether the next Recv returns without waiting for
	// the upstream (see providers.ReadyStream); false when unsure.
	ready() bool
}

// peeked is the bottom stage: an upstream stream whose first chunk (or
// immediate end) failover has already read.
type peeked struct {
	up    providers.Stream
	first *providers.Chunk // read during failover, not handed out yet
	eof   bool             // the upstream ended before a first chunk
	// cancel ends the context the upstream call runs under; nil for a
	// cache replay.
	cancel context.CancelFunc
}

var _ chunkStream = (*peeked)(nil)

// Recv implements chunkStream. The upstream's own Recv takes no context:
// the attempt's context (ended by Close) governs it.
func (p *peeked) Recv(context.Context) (*providers.Chunk, error) {
	if c := p.first; c != nil {
		p.first = nil
		return c, nil
	}
	if p.eof {
		return nil, io.EOF
	}
	return p.up.Recv()
}

// ready implements chunkStream.
func (p *peeked) ready() bool {
	if p.first != nil || p.eof {
		return true
	}
	r, ok := p.up.(providers.ReadyStream)
	return ok && r.Ready()
}

// Close implements chunkStream.
func (p *peeked) Close() error {
	err := p.up.Close()
	if p.cancel != nil {
		p.cancel()
	}
	return err
}

// guard runs chunks through the output guardrails. It closes the filter
// at the end of the answer, before the usage chunk, so held-back text is
// released before the stream ends; a block ends the stream with the
// *guardrails.BlockedError.
type guard struct {
	below  chunkStream
	f      *guardrails.OutputFilter
	run    *guardRun // receives the filter's verdicts
	queue  []*providers.Chunk
	eof    bool // below ended
	closed bool // the filter was closed
}

var _ chunkStream = (*guard)(nil)

// Recv implements chunkStream.
func (g *guard) Recv(ctx context.Context) (*providers.Chunk, error) {
	for {
		if len(g.queue) > 0 {
			c := g.queue[0]
			g.queue = g.queue[1:]
			return c, nil
		}
		if g.eof {
			return nil, io.EOF
		}
		c, err := g.below.Recv(ctx)
		if errors.Is(err, io.EOF) {
			g.eof = true
			if err := g.closeFilter(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		usage := c.Usage
		if usage != nil {
			cp := *c
			cp.Usage = nil
			c = &cp
		}
		fc, err := g.f.Filter(ctx, c)
		g.run.output = g.f.Verdicts()
		if err != nil {
			return nil, err
		}
		if carries(fc) {
			g.queue = append(g.queue, fc)
		}
		if usage != nil {
			// The usage chunk ends the answer: release what is held first.
			if err := g.closeFilter(ctx); err != nil {
				return nil, err
			}
			g.queue = append(g.queue, &providers.Chunk{ID: c.ID, Model: c.Model, Usage: usage})
		}
	}
}

// closeFilter closes the filter once, queueing the text it still held.
func (g *guard) closeFilter(ctx context.Context) error {
	if g.closed {
		return nil
	}
	g.closed = true
	tail, err := g.f.Close(ctx)
	g.run.output = g.f.Verdicts()
	if err != nil {
		return err
	}
	if carries(tail) {
		g.queue = append(g.queue, tail)
	}
	return nil
}

// Close implements chunkStream.
func (g *guard) Close() error { return g.below.Close() }

// ready implements chunkStream: only a chunk already queued is sure, as
// the filter may hold back what comes from below.
func (g *guard) ready() bool { return len(g.queue) > 0 }

// carries reports whether a filtered chunk still has something to send.
func carries(c *providers.Chunk) bool {
	if c == nil {
		return false
	}
	if c.Usage != nil {
		return true
	}
	for i := range c.Choices {
		d := &c.Choices[i]
		if d.Text != "" || d.Role != "" || d.Reasoning != "" || d.ReasoningSignature != "" || len(d.ToolCalls) > 0 || d.FinishReason != "" {
			return true
		}
	}
	return false
}

// cacheRec records the chunks passing through it and stores them in the
// response cache when the stream ends cleanly; an error or Close drops
// them.
type cacheRec struct {
	below chunkStream
	rec   *semcache.Recorder // nil once committed or dropped
	// cost returns the stream's cost so far (the meter's): at the clean
	// end it is the answer's cost, which a hit reports as saved.
	cost func() int64
	log  *slog.Logger
}

var _ chunkStream = (*cacheRec)(nil)

// Recv implements chunkStream.
func (r *cacheRec) Recv(ctx context.Context) (*providers.Chunk, error) {
	c, err := r.below.Recv(ctx)
	switch {
	case r.rec == nil:
	case err == nil:
		r.rec.Add(c)
	case errors.Is(err, io.EOF):
		if cerr := r.rec.Commit(r.cost()); cerr != nil {
			r.log.DebugContext(ctx, "gateway: stream not cached", "err", cerr)
		}
		r.rec = nil
	default:
		r.rec = nil // never store a failed answer
	}
	return c, err
}

// ready implements chunkStream.
func (r *cacheRec) ready() bool { return r.below.ready() }

// Close implements chunkStream: what was cut off is never stored.
func (r *cacheRec) Close() error {
	r.rec = nil
	return r.below.Close()
}

// meter is the top stage: it measures the stream and writes its record
// exactly once.
type meter struct {
	below chunkStream
	e     *Engine
	rec   record
	guard *guardRun // its verdicts go into the record; nil when none ran
	price func(providers.Usage) int64
	// replay marks a cache hit: it costs nothing and used no upstream
	// tokens.
	replay bool

	promptEst  int64 // estimated prompt tokens, for upstreams that report none
	model      string
	usage      providers.Usage
	gotUsage   bool
	outputLen  int64 // bytes of generated text, for estimates
	firstToken bool
	delivered  bool // a chunk reached the caller
	closed     bool
	ended      bool
	costNanos  int64  // final once ended
	finish     string // the last finish reason seen, for the span
}

var _ chunkStream = (*meter)(nil)

// Recv implements chunkStream.
func (m *meter) Recv(ctx context.Context) (*providers.Chunk, error) {
	if m.closed {
		return nil, errStreamClosed
	}
	c, err := m.below.Recv(ctx)
	if err != nil {
		if errors.Is(err, io.EOF) {
			m.end(nil)
			return nil, io.EOF
		}
		m.end(err)
		return nil, err
	}
	m.observe(c)
	if err := m.topUp(ctx); err != nil {
		// The budget cannot cover more output: end the stream with the refusal.
		m.end(err)
		return nil, err
	}
	return c, nil
}

// observe counts a chunk the caller receives.
func (m *meter) observe(c *providers.Chunk) {
	if c.Model != "" {
		m.model = c.Model
	}
	for i := range c.Choices {
		d := &c.Choices[i]
		n := len(d.Text) + len(d.Reasoning)
		for _, tc := range d.ToolCalls {
			n += len(tc.Name) + len(tc.Arguments)
		}
		if n > 0 && !m.firstToken {
			m.firstToken = true
			m.rec.TTFT = m.e.now().Sub(m.rec.start)
		}
		m.outputLen += int64(n)
		if d.FinishReason != "" {
			m.finish = string(d.FinishReason)
		}
	}
	if c.Usage != nil {
		m.usage, m.gotUsage = *c.Usage, true
	}
	m.delivered = true
}

// ready implements chunkStream.
func (m *meter) ready() bool { return m.closed || m.below.ready() }

// Close implements chunkStream: a stream closed before its end is
// recorded as cancelled, with the usage seen or estimated so far.
func (m *meter) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	m.end(fmt.Errorf("stream closed before the end: %w", context.Canceled))
	return m.below.Close()
}

// errStreamClosed is what Recv returns after Close.
var errStreamClosed = fmt.Errorf("gateway: stream closed: %w", context.Canceled)

// currentUsage returns the usage reported, or estimated from what was seen.
func (m *meter) currentUsage() providers.Usage {
	if m.gotUsage {
		return m.usage
	}
	return providers.Usage{InputTokens: m.promptEst, OutputTokens: (m.outputLen + 3) / 4, Estimated: true}
}

// cost returns the cost of the usage so far; final once ended.
func (m *meter) cost() int64 {
	if m.ended {
		return m.costNanos
	}
	return m.price(m.currentUsage())
}

// end writes the record, once.
func (m *meter) end(err error) {
	if m.ended {
		return
	}
	m.ended = true
	u := m.currentUsage()
	m.costNanos = m.price(u)
	if m.replay {
		u = providers.Usage{} // a replay uses no upstream tokens
	}
	m.rec.setUsage(u, m.costNanos)
	m.rec.Model = m.model
	m.rec.Partial = err != nil && m.delivered
	if m.guard != nil {
		m.rec.Guardrails = m.guard.record()
	}
	finishReasons(m.rec.span, m.finish)
	_ = m.e.finish(&m.rec, err)
}
