package semcache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
)

// writeItem is one entry waiting for the background writer.
type writeItem struct {
	ns       string
	model    string
	keys     Keys
	body     []byte
	cost     int64
	created  time.Time
	expires  time.Time
	question string    // to embed when vec is nil
	vec      []float32 // nil for exact-only entries
}

// Put stores the response to the request of res, unless res is a hit, a
// bypass with no-store, or the response is not cacheable (a choice that
// ended in error or content_filter). costNanos is what the request cost;
// hits report it as savings. The write is asynchronous: it is visible to
// this replica at once and to others once the background writer (see
// [Cache.Run]) has written it; when the writer's queue is full it is
// dropped and counted. The error only says why nothing was stored.
func (c *Cache) Put(res *Result, resp *providers.ChatResponse, costNanos int64) error {
	if !res.Storable() {
		return nil
	}
	if err := checkResponse(resp); err != nil {
		return err
	}
	b, err := encodeBody(resp, nil)
	if err != nil {
		return err
	}
	return c.enqueue(res, b, costNanos)
}

// PutStream stores a streamed response: chunks are every chunk received,
// in order, and the stream must have ended cleanly (io.EOF) with every
// choice finished, else nothing is stored (ErrIncomplete). Hits replay the
// chunks as they were. See Put for the rest.
func (c *Cache) PutStream(res *Result, chunks []providers.Chunk, costNanos int64) error {
	if !res.Storable() {
		return nil
	}
	resp := assemble(chunks)
	if err := checkResponse(resp); err != nil {
		return err
	}
	b, err := encodeBody(resp, chunks)
	if err != nil {
		return err
	}
	return c.enqueue(res, b, costNanos)
}

// Recorder collects the chunks of a live stream for PutStream. It is not
// safe for concurrent use (a stream is read by one goroutine).
type Recorder struct {
	c      *Cache
	res    *Result
	chunks []providers.Chunk
	size   int // approximate encoded size of chunks
	over   bool
}

// NewRecorder returns a recorder for the stream answering res. It records
// nothing when res is not storable.
func (c *Cache) NewRecorder(res *Result) *Recorder {
	return &Recorder{c: c, res: res, over: !res.Storable()}
}

// Add records a copy of ch.
func (r *Recorder) Add(ch *providers.Chunk) {
	if r.over || ch == nil {
		return
	}
	r.chunks = append(r.chunks, copyChunk(ch))
	r.size += 64
	for _, d := range ch.Choices {
		r.size += len(d.Text) + len(d.Reasoning) + len(d.ReasoningSignature)
		for _, tc := range d.ToolCalls {
			r.size += len(tc.ID) + len(tc.Name) + len(tc.Arguments)
		}
	}
	if r.size > r.c.o.maxEntryBytes {
		r.over, r.chunks = true, nil
	}
}

// Commit stores the recorded stream; call it only after the stream ended
// with io.EOF. A stream that failed or was cut off is simply not
// committed.
func (r *Recorder) Commit(costNanos int64) error {
	if r.over {
		if r.res.Storable() {
			return ErrTooLarge
		}
		return nil
	}
	return r.c.PutStream(r.res, r.chunks, costNanos)
}

// enqueue puts the entry into the in-process cache and the write queue.
func (c *Cache) enqueue(res *Result, body []byte, cost int64) error {
	if len(body) > c.o.maxEntryBytes {
		return fmt.Errorf("%d bytes: %w", len(body), ErrTooLarge)
	}
	now := c.o.now()
	it := &writeItem{
		ns: res.ns, model: res.model, keys: res.keys, body: body, cost: cost,
		created: now, expires: now.Add(res.ttl), question: res.question, vec: res.vec,
	}
	c.remember(&lruEntry{
		id: lruID(res.ns, res.keys.Exact), namespace: res.ns, model: res.model,
		body: body, cost: cost, created: now, expires: it.expires,
	}, now)
	if c.mem {
		c.ctr.writes.Add(1) // the LRU is the store
		return nil
	}
	c.pendMu.Lock()
	select {
	case c.queue <- it:
		if c.pending == 0 {
			c.idle = make(chan struct{})
		}
		c.pending++
	default:
		c.ctr.dropped.Add(1)
	}
	c.pendMu.Unlock()
	return nil
}

func (c *Cache) done() {
	c.pendMu.Lock()
	c.pending--
	if c.pending == 0 {
		close(c.idle)
	}
	c.pendMu.Unlock()
}

// Flush waits until every write queued so far has been written (or has
// failed), or until ctx ends. Writes are only made while Run runs.
func (c *Cache) Flush(ctx context.Context) error {
	c.pendMu.Lock()
	idle := c.idle
	c.pendMu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("semcache: flush: %w", ctx.Err())
	}
}

// ErrRunning is returned by a second concurrent call of Run.
var ErrRunning = errors.New("semcache: already running")

// drainGrace bounds how long Run keeps writing queued entries after ctx
// ends.
const drainGrace = 2 * time.Second

// Run does the cache's background work until ctx ends: it writes queued
// entries, creates the HNSW index, and runs Maintain periodically. After
// ctx ends it writes what is still queued for up to two seconds, then
// returns nil. Start it once, e.g. `go cache.Run(ctx)`.
func (c *Cache) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer c.running.Store(false)
	if c.mem {
		<-ctx.Done()
		return nil
	}

	stop := make(chan struct{})
	finished := make(chan struct{}, c.o.writers)
	for range c.o.writers {
		go func() {
			defer func() { finished <- struct{}{} }()
			c.writeLoop(ctx, stop)
		}()
	}

	indexed := c.ensureIndex(ctx)
	tick := time.NewTicker(c.o.maintenance)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			if !indexed {
				indexed = c.ensureIndex(ctx)
			}
			if _, err := c.Maintain(ctx); err != nil {
				c.o.logger.WarnContext(ctx, "semcache: maintenance failed", "error", err)
			}
		}
	}

	grace := time.AfterFunc(drainGrace, func() { close(stop) })
	defer grace.Stop()
	for range c.o.writers {
		<-finished
	}
	return nil
}

func (c *Cache) ensureIndex(ctx context.Context) bool {
	if err := c.EnsureIndex(ctx); err != nil {
		c.o.logger.WarnContext(ctx, "semcache: cannot create the HNSW index yet", "error", err)
		return false
	}
	return true
}

// writeLoop writes queued entries; once ctx ends it drains the queue and
// returns when it is empty or stop closes.
func (c *Cache) writeLoop(ctx context.Context, stop <-chan struct{}) {
	wctx := context.WithoutCancel(ctx)
	for {
		select {
		case it := <-c.queue:
			c.write(wctx, it)
			continue
		default:
		}
		select {
		case it := <-c.queue:
			c.write(wctx, it)
		case <-ctx.Done():
			for {
				select {
				case it := <-c.queue:
					c.write(wctx, it)
				case <-stop:
					return
				default:
					return
				}
			}
		}
	}
}

// write embeds the entry's question if needed and upserts it.
func (c *Cache) write(ctx context.Context, it *writeItem) {
	defer c.done()
	ctx, cancel := context.WithTimeout(ctx, c.o.writeTimeout)
	defer cancel()
	if it.vec == nil && it.question != "" {
		vec, err := c.embed(ctx, it.question, c.o.writeTimeout)
		if err != nil {
			// Still store it for exact hits.
			c.o.logger.WarnContext(ctx, "semcache: embed for write failed", "error", err)
		}
		it.vec = vec
	}
	if err := c.upsert(ctx, it); err != nil {
		c.ctr.writeErrors.Add(1)
		c.o.logger.WarnContext(ctx, "semcache: write failed; entry dropped", "error", err)
		return
	}
	c.ctr.writes.Add(1)
}
