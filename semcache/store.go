package semcache

import (
	"context"
	"fmt"
	"time"
)

// Store is where caches keep their entries: [Postgres] (shared by every
// replica; semantic lookups through pgvector's HNSW index) or [SQLite]
// (the embedded store of a single gateway process; semantic lookups
// through an in-process vector index). Every Cache opened on one Store
// sees the same entries. Its methods are unexported: Stores come from
// this package only.
type Store interface {
	// getExact returns the live entry (ns, key), or nil.
	getExact(ctx context.Context, ns string, key Key, now time.Time) (*lruEntry, error)
	// getSimilar returns the live entry of namespace ns, embedding model
	// and dimension emb and ks's parameters and history whose embedding
	// is most similar to vec, with its cosine similarity; a nil body when
	// there is none.
	getSimilar(ctx context.Context, q similarQuery) (body []byte, cost int64, score float64, err error)
	// upsert writes an entry, replacing any entry with the same key; emb
	// describes it.vec (nil for exact-only entries).
	upsert(ctx context.Context, it *writeItem, emb EmbedConfig) error
	// ensureIndex prepares semantic lookups of one embedding model and
	// dimension.
	ensureIndex(ctx context.Context, emb EmbedConfig) error
	// purge deletes the entries f selects and returns how many.
	purge(ctx context.Context, f Filter) (int64, error)
	// maintain deletes entries expired by now and, per namespace, the
	// oldest beyond maxPerNamespace, and returns how many.
	maintain(ctx context.Context, now time.Time, maxPerNamespace int) (int64, error)
	// stats returns the live entries (of namespace ns, or all) and their
	// encoded size.
	stats(ctx context.Context, ns string, now time.Time) (entries, bytes int64, err error)
	// each calls fn with every entry live at now and the embedding
	// configuration of its vector (zero for exact-only entries).
	each(ctx context.Context, now time.Time, fn func(it *writeItem, emb EmbedConfig) error) error
}

// CopyEntries copies every entry live at now from one store to another
// (e.g. from the embedded store to Postgres when a gateway outgrows one
// machine), with its expiry, cost and embedding, replacing entries with
// the same key. Vectors go only where the target can keep them: into a
// Postgres without pgvector (migration 0080 pending) entries are copied
// for exact hits only. It returns the entries copied and how many of them
// kept their vector.
func CopyEntries(ctx context.Context, from, to Store, now time.Time) (copied, withVectors int64, err error) {
	keepVectors := true
	if pg, ok := to.(*PostgresStore); ok {
		if keepVectors, err = pg.hasVector(ctx); err != nil {
			return 0, 0, fmt.Errorf("semcache: copy entries: %w", err)
		}
	}
	err = from.each(ctx, now, func(it *writeItem, emb EmbedConfig) error {
		if !keepVectors {
			it.vec = nil
		}
		if err := to.upsert(ctx, it, emb); err != nil {
			return err
		}
		copied++
		if it.vec != nil {
			withVectors++
		}
		return nil
	})
	if err != nil {
		return copied, withVectors, fmt.Errorf("semcache: copy entries: %w", err)
	}
	return copied, withVectors, nil
}

// similarQuery is a semantic lookup.
type similarQuery struct {
	ns   string
	keys Keys
	emb  EmbedConfig
	vec  []float32
	now  time.Time
}

// getExact looks up (ns, key) in the store within the lookup timeout.
func (c *Cache) getExact(ctx context.Context, ns string, key Key, now time.Time) (*lruEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.lookupTimeout)
	defer cancel()
	e, err := c.st.getExact(ctx, ns, key, now)
	if err != nil {
		return nil, fmt.Errorf("semcache: exact lookup: %w", err)
	}
	return e, nil
}

// getSimilar runs a semantic lookup in the store within the lookup timeout.
func (c *Cache) getSimilar(ctx context.Context, ns string, ks Keys, vec []float32, now time.Time) (body []byte, cost int64, score float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.lookupTimeout)
	defer cancel()
	body, cost, score, err = c.st.getSimilar(ctx, similarQuery{ns: ns, keys: ks, emb: c.o.embed, vec: vec, now: now})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("semcache: semantic lookup: %w", err)
	}
	return body, cost, score, nil
}

// upsert writes one entry, replacing any entry with the same key.
func (c *Cache) upsert(ctx context.Context, it *writeItem) error {
	if err := c.st.upsert(ctx, it, c.o.embed); err != nil {
		return fmt.Errorf("semcache: store entry: %w", err)
	}
	return nil
}

// EnsureIndex prepares the semantic lookups of the configured embedding
// model and dimension: on Postgres it creates their HNSW index if it does
// not exist yet; on SQLite it loads the stored vectors into the
// in-process index (once per store). Run calls it; semantic lookups are
// correct without it on Postgres, only slower. It is a no-op without an
// embedder.
func (c *Cache) EnsureIndex(ctx context.Context) error {
	if c.mem || c.o.embedder == nil {
		return nil
	}
	if err := c.st.ensureIndex(ctx, c.o.embed); err != nil {
		return fmt.Errorf("semcache: create index: %w", err)
	}
	return nil
}

// Filter selects entries to purge. Zero fields match everything.
type Filter struct {
	// Namespace selects one namespace.
	Namespace string
	// Model selects entries of one upstream model.
	Model string
	// OlderThan selects entries created before it.
	OlderThan time.Time
}

// Purge deletes the entries that f selects from the store and from this
// replica's in-process cache, and returns how many stored entries (in a
// memory cache: entries) went. Other replicas drop their in-process
// copies within the LRU TTL.
func (c *Cache) Purge(ctx context.Context, f Filter) (int64, error) {
	match := func(e *lruEntry) bool {
		return (f.Namespace == "" || e.namespace == f.Namespace) &&
			(f.Model == "" || e.model == f.Model) &&
			(f.OlderThan.IsZero() || e.created.Before(f.OlderThan))
	}
	if c.mem {
		return int64(c.lru.removeIf(match)), nil
	}
	n, err := c.st.purge(ctx, f)
	c.lru.removeIf(match)
	if err != nil {
		return 0, fmt.Errorf("semcache: purge: %w", err)
	}
	return n, nil
}

// Maintain deletes expired entries and, in each namespace, the oldest
// entries beyond the per-namespace cap. Run calls it periodically; it is
// safe to run on every replica at once. It returns the entries deleted.
func (c *Cache) Maintain(ctx context.Context) (int64, error) {
	if c.mem {
		return 0, nil // the LRU drops expired entries as it meets them
	}
	n, err := c.st.maintain(ctx, c.o.now(), c.o.maxPerNamespace)
	if err != nil {
		return n, fmt.Errorf("semcache: maintain: %w", err)
	}
	return n, nil
}

// Stats are the cache's figures. Entries and Bytes come from the store
// and cover all replicas (in a memory cache they are the local figures);
// the counters are this process's since New.
type Stats struct {
	// Entries and Bytes are the live stored entries (of the namespace
	// asked for, or all) and their encoded size.
	Entries, Bytes int64
	// LocalEntries and LocalBytes describe this replica's in-process cache.
	LocalEntries int
	LocalBytes   int64
	// HitsExact counts exact hits, of which LocalHits came from the
	// in-process cache; HitsSemantic counts semantic hits.
	HitsExact, HitsSemantic, LocalHits int64
	// Misses counts lookups that found nothing (including failed ones);
	// Bypasses counts requests not looked up (policy off, no-cache,
	// refresh).
	Misses, Bypasses int64
	// LookupErrors counts lookups that failed and were served as misses.
	LookupErrors int64
	// Writes, WriteErrors and Dropped count background writes that
	// succeeded, failed, or were dropped because the queue was full.
	Writes, WriteErrors, Dropped int64
	// SavedNanos sums the recorded cost of the hits served, in nano-USD.
	SavedNanos int64
}

// Stats returns the cache's figures; namespace "" means all namespaces.
func (c *Cache) Stats(ctx context.Context, namespace string) (Stats, error) {
	s := Stats{
		HitsExact:    c.ctr.hitsExact.Load(),
		HitsSemantic: c.ctr.hitsSemantic.Load(),
		LocalHits:    c.ctr.lruHits.Load(),
		Misses:       c.ctr.misses.Load(),
		Bypasses:     c.ctr.bypasses.Load(),
		LookupErrors: c.ctr.lookupErrors.Load(),
		Writes:       c.ctr.writes.Load(),
		WriteErrors:  c.ctr.writeErrors.Load(),
		Dropped:      c.ctr.dropped.Load(),
		SavedNanos:   c.ctr.savedNanos.Load(),
	}
	s.LocalEntries, s.LocalBytes = c.lru.stats()
	if c.mem {
		s.Entries, s.Bytes = int64(s.LocalEntries), s.LocalBytes
		return s, nil
	}
	var err error
	if s.Entries, s.Bytes, err = c.st.stats(ctx, namespace, c.o.now()); err != nil {
		return s, fmt.Errorf("semcache: stats: %w", err)
	}
	return s, nil
}
