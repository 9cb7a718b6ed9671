package semcache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"
)

// getExact returns the live entry of (ns, key), or nil.
func (c *Cache) getExact(ctx context.Context, ns string, key Key, now time.Time) (*lruEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.lookupTimeout)
	defer cancel()
	e := &lruEntry{}
	err := c.pool.QueryRow(ctx,
		`SELECT model, body, cost_nanos, created_at, expires_at FROM semcache_entries
		 WHERE namespace = $1 AND key = $2 AND expires_at > $3`,
		ns, key[:], now).Scan(&e.model, &e.body, &e.cost, &e.created, &e.expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("semcache: exact lookup: %w", err)
	}
	return e, nil
}

// getSimilar returns the most similar live entry of the same namespace,
// embedding model, parameters and history, with its cosine similarity; a
// nil body when there is none. The HNSW scan is iterative (pgvector 0.8) so
// that the namespace and hash filters do not starve it of candidates.
func (c *Cache) getSimilar(ctx context.Context, ns string, ks Keys, vec []float32, now time.Time) (body []byte, cost int64, score float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.lookupTimeout)
	defer cancel()
	err = pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue("SET LOCAL hnsw.iterative_scan = relaxed_order")
		b.Queue(c.similarSQL, pgvector.NewVector(vec), ns, ks.Params[:], ks.History[:], now).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&body, &cost, &score)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		})
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("semcache: semantic lookup: %w", err)
	}
	return body, cost, score, nil
}

// upsert writes one entry, replacing any entry with the same key.
func (c *Cache) upsert(ctx context.Context, it *writeItem) error {
	var embModel, embDims, emb any
	if it.vec != nil {
		embModel, embDims, emb = c.o.embed.Model, c.o.embed.Dims, pgvector.NewVector(it.vec)
	}
	_, err := c.pool.Exec(ctx,
		`INSERT INTO semcache_entries (namespace, key, model, params_hash, history_hash, body, size_bytes,
		     cost_nanos, created_at, expires_at, embed_model, embed_dims, embedding)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		 ON CONFLICT (namespace, key) DO UPDATE SET
		     model = excluded.model, params_hash = excluded.params_hash, history_hash = excluded.history_hash,
		     body = excluded.body, size_bytes = excluded.size_bytes, cost_nanos = excluded.cost_nanos,
		     created_at = excluded.created_at, expires_at = excluded.expires_at,
		     embed_model = excluded.embed_model, embed_dims = excluded.embed_dims, embedding = excluded.embedding`,
		it.ns, it.keys.Exact[:], it.model, it.keys.Params[:], it.keys.History[:], it.body, len(it.body),
		it.cost, it.created, it.expires, embModel, embDims, emb)
	if err != nil {
		return fmt.Errorf("semcache: store entry: %w", err)
	}
	return nil
}

// EnsureIndex creates the HNSW index of the configured embedding model and
// dimension if it does not exist yet. Run calls it; semantic lookups are
// correct without it, only slower. It is a no-op without an embedder.
func (c *Cache) EnsureIndex(ctx context.Context) error {
	if c.indexSQL == "" {
		return nil
	}
	if _, err := c.pool.Exec(ctx, c.indexSQL); err != nil {
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

// Purge deletes the entries that f selects from Postgres and from this
// replica's in-process cache, and returns how many Postgres rows (in a
// memory cache: entries) went.
// Other replicas drop their in-process copies within the LRU TTL.
func (c *Cache) Purge(ctx context.Context, f Filter) (int64, error) {
	var older *time.Time
	if !f.OlderThan.IsZero() {
		older = &f.OlderThan
	}
	match := func(e *lruEntry) bool {
		return (f.Namespace == "" || e.namespace == f.Namespace) &&
			(f.Model == "" || e.model == f.Model) &&
			(older == nil || e.created.Before(*older))
	}
	if c.mem {
		return int64(c.lru.removeIf(match)), nil
	}
	tag, err := c.pool.Exec(ctx,
		`DELETE FROM semcache_entries
		 WHERE ($1 = '' OR namespace = $1) AND ($2 = '' OR model = $2) AND ($3::timestamptz IS NULL OR created_at < $3)`,
		f.Namespace, f.Model, older)
	c.lru.removeIf(match)
	if err != nil {
		return 0, fmt.Errorf("semcache: purge: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Maintain deletes expired entries and, in each namespace, the oldest
// entries beyond the per-namespace cap. Run calls it periodically; it is
// safe to run on every replica at once. It returns the rows deleted.
func (c *Cache) Maintain(ctx context.Context) (int64, error) {
	if c.mem {
		return 0, nil // the LRU drops expired entries as it meets them
	}
	expired, err := c.pool.Exec(ctx, `DELETE FROM semcache_entries WHERE expires_at <= $1`, c.o.now())
	if err != nil {
		return 0, fmt.Errorf("semcache: delete expired: %w", err)
	}
	surplus, err := c.pool.Exec(ctx,
		`DELETE FROM semcache_entries e USING (
		     SELECT namespace, key FROM (
		         SELECT namespace, key, row_number() OVER (PARTITION BY namespace ORDER BY created_at DESC) AS n
		         FROM semcache_entries) r
		     WHERE n > $1) d
		 WHERE e.namespace = d.namespace AND e.key = d.key`, c.o.maxPerNamespace)
	if err != nil {
		return expired.RowsAffected(), fmt.Errorf("semcache: delete surplus: %w", err)
	}
	return expired.RowsAffected() + surplus.RowsAffected(), nil
}

// Stats are the cache's figures. Entries and Bytes come from Postgres and
// cover all replicas (in a memory cache they are the local figures); the
// counters are this process's since New.
type Stats struct {
	// Entries and Bytes are the live Postgres entries (of the namespace
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
	err := c.pool.QueryRow(ctx,
		`SELECT count(*), coalesce(sum(size_bytes), 0) FROM semcache_entries
		 WHERE ($1 = '' OR namespace = $1) AND expires_at > $2`, namespace, c.o.now()).Scan(&s.Entries, &s.Bytes)
	if err != nil {
		return s, fmt.Errorf("semcache: stats: %w", err)
	}
	return s, nil
}
