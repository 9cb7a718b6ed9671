-- 0005: the response cache of package semcache (exact and semantic hits),
-- shared by every replica. Rows are written asynchronously by the cache and
-- evicted by its maintenance (expired rows, rows beyond the per-namespace
-- cap) and by admin purges.
--
-- The embedding column (pgvector) is added by 0080, which runs only when
-- the semantic cache is on, so that exact caching needs no extension;
-- databases that applied this migration before 0080 existed got it here.
--
-- embedding has no fixed dimension so that caches with different embedding
-- models share the table; entries are only ever compared within one
-- (embed_model, embed_dims). The HNSW index that such a comparison needs
-- has a fixed dimension, so semcache creates one partial expression index
-- per (embed_model, embed_dims) on demand:
--   CREATE INDEX ... USING hnsw ((embedding::vector(D)) vector_cosine_ops)
--   WHERE embed_model = '<model>' AND embed_dims = D

CREATE TABLE semcache_entries (
    namespace    text        NOT NULL,
    key          bytea       NOT NULL,
    model        text        NOT NULL,
    params_hash  bytea       NOT NULL,
    history_hash bytea       NOT NULL,
    body         bytea       NOT NULL,
    size_bytes   integer     NOT NULL,
    cost_nanos   bigint      NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    embed_model  text,
    embed_dims   integer,
    PRIMARY KEY (namespace, key),
    CHECK ((embed_model IS NULL) = (embed_dims IS NULL))
);
COMMENT ON COLUMN semcache_entries.key IS 'SHA-256 of the canonical request and namespace';
COMMENT ON COLUMN semcache_entries.body IS 'versioned JSON of the response and its stream chunks';
COMMENT ON COLUMN semcache_entries.cost_nanos IS 'nano-USD the original request cost: what a hit saves';

-- Expiry sweeps.
CREATE INDEX semcache_entries_expires_idx ON semcache_entries (expires_at);
-- Per-namespace size cap (newest first) and purges by age.
CREATE INDEX semcache_entries_ns_created_idx ON semcache_entries (namespace, created_at DESC);
