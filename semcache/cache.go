package semcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate-dev/tollgate/providers"
)

// Cache is the exact and semantic response cache. Create it with [New] and
// start its background work with [Cache.Run]. It is safe for concurrent
// use.
type Cache struct {
	pool *pgxpool.Pool
	mem  bool // no pool: the LRU is the whole cache (NewMemory)
	o    options
	lru  *lru

	// SQL that depends on the embedding configuration.
	similarSQL string
	indexSQL   string

	queue   chan *writeItem
	running atomic.Bool

	pendMu  sync.Mutex
	pending int
	idle    chan struct{} // closed while pending == 0

	ctr counters
}

// counters are the process-local statistics.
type counters struct {
	hitsExact, hitsSemantic, lruHits, misses, bypasses atomic.Int64
	lookupErrors, writes, writeErrors, dropped         atomic.Int64
	savedNanos                                         atomic.Int64
}

// embedModelRE limits embedding model names, which appear as literals in
// the partial index and its queries.
var embedModelRE = regexp.MustCompile(`^[A-Za-z0-9._:/@+-]{1,200}$`)

// maxIndexDims is the largest dimension an HNSW index on vector supports.
const maxIndexDims = 2000

// New returns a cache keeping its entries in the semcache_entries table of
// pool's database (created by pgstore's migrations). It does no I/O.
func New(pool *pgxpool.Pool, opts ...Option) (*Cache, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if pool == nil {
		return nil, errors.New("semcache: nil pool (see NewMemory)")
	}
	return newCache(pool, o)
}

// NewMemory returns a cache that keeps its entries in this process only,
// in the LRU that otherwise fronts Postgres (sized by [WithLRU]; entries
// live until their own TTL, not the LRU TTL): exact hits only (semantic
// lookups need pgvector, so [WithEmbedder] is ignored), nothing shared
// with other replicas, nothing kept across restarts. It suits tests of
// the request path and single-replica gateways without a database. Run
// only waits for its context.
func NewMemory(opts ...Option) *Cache {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	o.embedder = nil
	c, _ := newCache(nil, o) // without an embedder or a pool nothing can fail
	return c
}

func newCache(pool *pgxpool.Pool, o options) (*Cache, error) {
	if o.queueSize < 1 {
		o.queueSize = 1
	}
	if o.writers < 1 {
		o.writers = 1
	}
	c := &Cache{
		pool:  pool,
		mem:   pool == nil,
		o:     o,
		lru:   newLRU(o.lruEntries, o.lruBytes),
		queue: make(chan *writeItem, o.queueSize),
		idle:  make(chan struct{}),
	}
	close(c.idle)
	if o.embedder != nil {
		e := o.embed
		if !embedModelRE.MatchString(e.Model) {
			return nil, fmt.Errorf("semcache: embedding model %q: must match %s", e.Model, embedModelRE)
		}
		if e.Dims < 1 || e.Dims > maxIndexDims {
			return nil, fmt.Errorf("semcache: embedding dimension %d: must be in [1, %d]", e.Dims, maxIndexDims)
		}
		c.similarSQL, c.indexSQL = semanticSQL(e.Model, e.Dims)
	}
	return c, nil
}

// semanticSQL returns the similarity query and the partial HNSW index for
// one embedding model and dimension. Both spell the model and dimension as
// literals so that the planner can match the query to the partial index.
func semanticSQL(model string, dims int) (query, index string) {
	lit := "'" + model + "'" // embedModelRE admits no quote
	cast := "embedding::vector(" + strconv.Itoa(dims) + ")"
	sum := sha256.Sum256([]byte(model + "\x00" + strconv.Itoa(dims)))
	name := "semcache_hnsw_" + hex.EncodeToString(sum[:8])
	where := "embed_model = " + lit + " AND embed_dims = " + strconv.Itoa(dims)
	query = "SELECT body, cost_nanos, 1 - (" + cast + " <=> $1) AS score FROM semcache_entries" +
		" WHERE " + where + " AND namespace = $2 AND params_hash = $3 AND history_hash = $4 AND expires_at > $5" +
		" ORDER BY " + cast + " <=> $1 LIMIT 1"
	index = "CREATE INDEX IF NOT EXISTS " + name + " ON semcache_entries USING hnsw ((" + cast +
		") vector_cosine_ops) WHERE " + where
	return query, index
}

// Request is what a lookup needs to know about a chat request.
type Request struct {
	// Namespace is the isolation scope; see [TeamNamespace], [KeyNamespace]
	// and [SharedNamespace]. Lookups never cross namespaces.
	Namespace string
	// Req is the request as sent upstream: its Model is the resolved
	// upstream model.
	Req *providers.ChatRequest
	// Policy is the route's or key's cache policy.
	Policy Policy
	// Directives are the request's own instructions.
	Directives Directives
}

// Result is the outcome of a lookup. Pass it back to Put, PutStream or
// NewRecorder to store the response of a miss.
type Result struct {
	// Status is hit-exact, hit-semantic, miss or bypass.
	Status Status
	// Score is the cosine similarity of a semantic hit (1 for an exact hit).
	Score float64
	// Hit is the cached answer when Status is a hit.
	Hit *Hit

	store    bool // the response may be stored
	ns       string
	model    string
	keys     Keys
	ttl      time.Duration
	question string    // embedded text; "" when not semantic-eligible
	vec      []float32 // the question's embedding, when the lookup made it
}

// Storable reports whether a response to this request would be stored.
func (r *Result) Storable() bool { return r != nil && r.store }

// Lookup looks r up: exact (in-process, then Postgres), then semantic when
// the policy and request allow it. It never fails: any cache failure
// (Postgres slow or down, embedding error) is a miss, counted in Stats and
// logged. The returned Result is never nil.
func (c *Cache) Lookup(ctx context.Context, r Request) *Result {
	res := &Result{Status: StatusBypass}
	if r.Req == nil || r.Policy.Mode == ModeOff {
		c.ctr.bypasses.Add(1)
		return res
	}
	res.store = !r.Directives.NoStore
	res.ns, res.model = r.Namespace, r.Req.Model
	res.keys = ComputeKeys(r.Namespace, r.Req)
	res.ttl = r.Policy.ttl(r.Directives)
	if r.Policy.Mode == ModeSemantic && c.o.embedder != nil {
		res.question, _ = question(r.Req, r.Policy)
	}
	id := lruID(res.ns, res.keys.Exact)
	if r.Directives.NoCache || r.Directives.Refresh {
		if r.Directives.Refresh {
			c.lru.remove(id)
		}
		c.ctr.bypasses.Add(1)
		return res
	}

	now := c.o.now()
	if e, ok := c.lru.get(id, now); ok {
		if hit, err := decodeHit(e.body, e.cost); err == nil {
			c.ctr.lruHits.Add(1)
			return c.hit(res, StatusHitExact, 1, hit)
		}
	}

	if c.mem {
		return c.miss(res)
	}
	e, err := c.getExact(ctx, res.ns, res.keys.Exact, now)
	switch {
	case err != nil:
		c.lookupFailed(ctx, "exact", err)
		return c.miss(res)
	case e != nil:
		if hit, err := decodeHit(e.body, e.cost); err == nil {
			e.id, e.namespace = id, res.ns
			c.remember(e, now)
			return c.hit(res, StatusHitExact, 1, hit)
		}
	}

	if res.question == "" {
		return c.miss(res)
	}
	vec, err := c.embed(ctx, res.question, c.o.embedTimeout)
	if err != nil {
		c.lookupFailed(ctx, "embed", err)
		return c.miss(res)
	}
	res.vec = vec
	body, cost, score, err := c.getSimilar(ctx, res.ns, res.keys, vec, now)
	switch {
	case err != nil:
		c.lookupFailed(ctx, "semantic", err)
	case body != nil && score >= r.Policy.threshold():
		if hit, err := decodeHit(body, cost); err == nil {
			return c.hit(res, StatusHitSemantic, score, hit)
		}
	case body != nil:
		res.Score = score // the best candidate, below the threshold
	}
	return c.miss(res)
}

func (c *Cache) hit(res *Result, s Status, score float64, h *Hit) *Result {
	res.Status, res.Score, res.Hit, res.store = s, score, h, false
	if s == StatusHitExact {
		c.ctr.hitsExact.Add(1)
	} else {
		c.ctr.hitsSemantic.Add(1)
	}
	c.ctr.savedNanos.Add(h.CostNanos)
	return res
}

func (c *Cache) miss(res *Result) *Result {
	res.Status = StatusMiss
	c.ctr.misses.Add(1)
	return res
}

func (c *Cache) lookupFailed(ctx context.Context, step string, err error) {
	c.ctr.lookupErrors.Add(1)
	c.o.logger.WarnContext(ctx, "semcache: lookup failed; serving a miss", "step", step, "error", err)
}

// remember puts e, fetched from Postgres or just written, into the LRU for
// at most the LRU TTL (until its own expiry in a memory cache, which no
// other replica can purge).
func (c *Cache) remember(e *lruEntry, now time.Time) {
	if limit := now.Add(c.o.lruTTL); !c.mem && e.expires.After(limit) {
		e.expires = limit
	}
	c.lru.add(e)
}

// decodeHit turns a stored body into a Hit the caller owns.
func decodeHit(b []byte, cost int64) (*Hit, error) {
	d, err := decodeBody(b)
	if err != nil {
		return nil, err
	}
	h := &Hit{Response: d.Response, Chunks: d.Chunks, CostNanos: cost}
	if len(h.Chunks) == 0 {
		h.Chunks = synthesize(d.Response)
	}
	return h, nil
}

// question returns the text that semantic lookups embed, and whether req
// is eligible for them at all.
//
// Only the last user turn is embedded. Everything before it (the system
// prompt included) is matched exactly through Keys.History, and everything
// else through Keys.Params, so the embedding has to tell apart only the
// questions. Embedding the system prompt too would add no safety and would
// dilute the vector: a long shared system prompt pulls unrelated questions
// towards each other and raises false hits.
func question(req *providers.ChatRequest, p Policy) (string, bool) {
	if len(req.Messages) == 0 {
		return "", false
	}
	last := &req.Messages[len(req.Messages)-1]
	if last.Role != providers.RoleUser {
		return "", false
	}
	for _, part := range last.Content {
		if part.Type != providers.PartText {
			return "", false // the embedding would not see an image
		}
	}
	temp := 1.0
	if req.Temperature != nil {
		temp = *req.Temperature
	}
	if temp > p.MaxTemperature {
		return "", false
	}
	if !p.AllowToolResults {
		for i := range req.Messages {
			if req.Messages[i].Role == providers.RoleTool {
				return "", false
			}
		}
	}
	q := last.Text()
	return q, q != ""
}

// embed returns the embedding of text, within timeout.
func (c *Cache) embed(ctx context.Context, text string, timeout time.Duration) ([]float32, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := &providers.EmbedRequest{Model: c.o.embed.Model, Inputs: []string{text}}
	if c.o.embed.SendDimensions {
		d := c.o.embed.Dims
		req.Dimensions = &d
	}
	resp, err := c.o.embedder.Embed(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("semcache: embed: %w", err)
	}
	if len(resp.Vectors) != 1 || len(resp.Vectors[0]) != c.o.embed.Dims {
		return nil, fmt.Errorf("semcache: embed: got %d vectors, want 1 of dimension %d", len(resp.Vectors), c.o.embed.Dims)
	}
	return resp.Vectors[0], nil
}
