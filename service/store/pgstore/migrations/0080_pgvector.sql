-- requires: pgvector
--
-- 0080: what the semantic cache needs from pgvector: the extension and the
-- embedding column of semcache_entries. A migration whose first line is
-- "-- requires: pgvector" runs only when the gateway starts with the
-- semantic cache on (an embedding model configured); otherwise it stays
-- pending and is applied on the first start that needs it, so a managed
-- PostgreSQL without pgvector serves everything else.
--
-- Databases created before 0080 got both from 0001 and 0005; every
-- statement here is a no-op for them but the named constraint, which
-- repeats their unnamed one.

CREATE EXTENSION IF NOT EXISTS vector;

ALTER TABLE semcache_entries ADD COLUMN IF NOT EXISTS embedding vector;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'semcache_entries_embedding_check') THEN
        ALTER TABLE semcache_entries ADD CONSTRAINT semcache_entries_embedding_check
            CHECK ((embedding IS NULL) = (embed_model IS NULL));
    END IF;
END;
$$;
