package semcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"
)

// PostgresStore keeps entries in the semcache_entries table of a Postgres
// database (created by pgstore's migrations), shared by every replica;
// semantic lookups use one partial pgvector HNSW index per embedding model
// and dimension.
type PostgresStore struct {
	pool *pgxpool.Pool
	sql  sync.Map // EmbedConfig{Model, Dims} → semanticSQL
	// vector is whether semcache_entries has its embedding column, which
	// exists only where pgvector is (migration 0080): 0 not known yet, 1
	// yes, 2 no.
	vector atomic.Int32
}

var _ Store = (*PostgresStore)(nil)

// Postgres returns the Store on pool's database.
func Postgres(pool *pgxpool.Pool) *PostgresStore { return &PostgresStore{pool: pool} }

// semanticSQL is the similarity query and the partial HNSW index of one
// embedding model and dimension.
type semanticSQL struct{ query, index, indexName string }

// semantic returns the SQL of emb. Both statements spell the model and
// dimension as literals so that the planner can match the query to the
// partial index.
func (p *PostgresStore) semantic(emb EmbedConfig) semanticSQL {
	k := EmbedConfig{Model: emb.Model, Dims: emb.Dims}
	if s, ok := p.sql.Load(k); ok {
		return s.(semanticSQL)
	}
	lit := "'" + emb.Model + "'" // embedModelRE admits no quote
	cast := "embedding::vector(" + strconv.Itoa(emb.Dims) + ")"
	sum := sha256.Sum256([]byte(emb.Model + "\x00" + strconv.Itoa(emb.Dims)))
	name := "semcache_hnsw_" + hex.EncodeToString(sum[:8])
	where := "embed_model = " + lit + " AND embed_dims = " + strconv.Itoa(emb.Dims)
	s := semanticSQL{
		query: "SELECT body, cost_nanos, 1 - (" + cast + " <=> $1) AS score FROM semcache_entries" +
			" WHERE " + where + " AND namespace = $2 AND params_hash = $3 AND history_hash = $4 AND expires_at > $5" +
			" ORDER BY " + cast + " <=> $1 LIMIT 1",
		index: "CREATE INDEX IF NOT EXISTS " + name + " ON semcache_entries USING hnsw ((" + cast +
			") vector_cosine_ops) WHERE " + where,
		indexName: name,
	}
	p.sql.Store(k, s)
	return s
}

func (p *PostgresStore) getExact(ctx context.Context, ns string, key Key, now time.Time) (*lruEntry, error) {
	e := &lruEntry{}
	err := p.pool.QueryRow(ctx,
		`SELECT model, body, cost_nanos, created_at, expires_at FROM semcache_entries
		 WHERE namespace = $1 AND key = $2 AND expires_at > $3`,
		ns, key[:], now).Scan(&e.model, &e.body, &e.cost, &e.created, &e.expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// getSimilar runs the HNSW scan iteratively (pgvector 0.8) so that the
// namespace and hash filters do not starve it of candidates.
func (p *PostgresStore) getSimilar(ctx context.Context, q similarQuery) (body []byte, cost int64, score float64, err error) {
	sql := p.semantic(q.emb).query
	err = pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue("SET LOCAL hnsw.iterative_scan = relaxed_order")
		b.Queue(sql, pgvector.NewVector(q.vec), q.ns, q.keys.Params[:], q.keys.History[:], q.now).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&body, &cost, &score)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		})
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, 0, 0, err
	}
	return body, cost, score, nil
}

// hasVector reports whether semcache_entries has its embedding column.
func (p *PostgresStore) hasVector(ctx context.Context) (bool, error) {
	switch p.vector.Load() {
	case 1:
		return true, nil
	case 2:
		return false, nil
	}
	var has bool
	err := p.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'semcache_entries' AND column_name = 'embedding')`).Scan(&has)
	if err != nil {
		return false, err
	}
	p.vector.Store(map[bool]int32{true: 1, false: 2}[has])
	return has, nil
}

func (p *PostgresStore) upsert(ctx context.Context, it *writeItem, emb EmbedConfig) error {
	has, err := p.hasVector(ctx)
	if err != nil {
		return err
	}
	if !has {
		if it.vec != nil {
			return errors.New("no embedding column: the semantic cache needs pgvector (migration 0080)")
		}
		_, err := p.pool.Exec(ctx,
			`INSERT INTO semcache_entries (namespace, key, model, params_hash, history_hash, body, size_bytes,
			     cost_nanos, created_at, expires_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			 ON CONFLICT (namespace, key) DO UPDATE SET
			     model = excluded.model, params_hash = excluded.params_hash, history_hash = excluded.history_hash,
			     body = excluded.body, size_bytes = excluded.size_bytes, cost_nanos = excluded.cost_nanos,
			     created_at = excluded.created_at, expires_at = excluded.expires_at,
			     embed_model = NULL, embed_dims = NULL`,
			it.ns, it.keys.Exact[:], it.model, it.keys.Params[:], it.keys.History[:], it.body, len(it.body),
			it.cost, it.created, it.expires)
		if err != nil {
			p.vector.Store(0) // the column may have appeared since
		}
		return err
	}
	var embModel, embDims, vec any
	if it.vec != nil {
		embModel, embDims, vec = emb.Model, emb.Dims, pgvector.NewVector(it.vec)
	}
	_, err = p.pool.Exec(ctx,
		`INSERT INTO semcache_entries (namespace, key, model, params_hash, history_hash, body, size_bytes,
		     cost_nanos, created_at, expires_at, embed_model, embed_dims, embedding)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		 ON CONFLICT (namespace, key) DO UPDATE SET
		     model = excluded.model, params_hash = excluded.params_hash, history_hash = excluded.history_hash,
		     body = excluded.body, size_bytes = excluded.size_bytes, cost_nanos = excluded.cost_nanos,
		     created_at = excluded.created_at, expires_at = excluded.expires_at,
		     embed_model = excluded.embed_model, embed_dims = excluded.embed_dims, embedding = excluded.embedding`,
		it.ns, it.keys.Exact[:], it.model, it.keys.Params[:], it.keys.History[:], it.body, len(it.body),
		it.cost, it.created, it.expires, embModel, embDims, vec)
	if err != nil {
		p.vector.Store(0)
	}
	return err
}

// ensureIndex creates the HNSW index of emb unless it exists. CREATE INDEX
// IF NOT EXISTS is not safe against itself: of two sessions creating the
// same index at once (replicas starting together, or Run and a caller on
// one replica), one fails on the catalog's unique key. So the creation
// holds a transaction-scoped advisory lock named after the index, and the
// second session finds the index there.
func (p *PostgresStore) ensureIndex(ctx context.Context, emb EmbedConfig) error {
	s := p.semantic(emb)
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, s.indexName); err != nil {
			return fmt.Errorf("lock the index's creation: %w", err)
		}
		_, err := tx.Exec(ctx, s.index)
		return err
	})
}

func (p *PostgresStore) purge(ctx context.Context, f Filter) (int64, error) {
	var older *time.Time
	if !f.OlderThan.IsZero() {
		older = &f.OlderThan
	}
	tag, err := p.pool.Exec(ctx,
		`DELETE FROM semcache_entries
		 WHERE ($1 = '' OR namespace = $1) AND ($2 = '' OR model = $2) AND ($3::timestamptz IS NULL OR created_at < $3)`,
		f.Namespace, f.Model, older)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (p *PostgresStore) maintain(ctx context.Context, now time.Time, maxPerNamespace int) (int64, error) {
	expired, err := p.pool.Exec(ctx, `DELETE FROM semcache_entries WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, err
	}
	surplus, err := p.pool.Exec(ctx,
		`DELETE FROM semcache_entries e USING (
		     SELECT namespace, key FROM (
		         SELECT namespace, key, row_number() OVER (PARTITION BY namespace ORDER BY created_at DESC) AS n
		         FROM semcache_entries) r
		     WHERE n > $1) d
		 WHERE e.namespace = d.namespace AND e.key = d.key`, maxPerNamespace)
	if err != nil {
		return expired.RowsAffected(), err
	}
	return expired.RowsAffected() + surplus.RowsAffected(), nil
}

func (p *PostgresStore) stats(ctx context.Context, ns string, now time.Time) (entries, bytes int64, err error) {
	err = p.pool.QueryRow(ctx,
		`SELECT count(*), coalesce(sum(size_bytes), 0) FROM semcache_entries
		 WHERE ($1 = '' OR namespace = $1) AND expires_at > $2`, ns, now).Scan(&entries, &bytes)
	return entries, bytes, err
}

func (p *PostgresStore) each(ctx context.Context, now time.Time, fn func(it *writeItem, emb EmbedConfig) error) error {
	has, err := p.hasVector(ctx)
	if err != nil {
		return err
	}
	cols := "namespace, key, model, params_hash, history_hash, body, cost_nanos, created_at, expires_at, embed_model, embed_dims"
	if has {
		cols += ", embedding::real[]"
	} else {
		cols += ", NULL::real[]"
	}
	rows, err := p.pool.Query(ctx, "SELECT "+cols+" FROM semcache_entries WHERE expires_at > $1 ORDER BY namespace, key", now)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		it := &writeItem{}
		var key, params, history []byte
		var embModel *string
		var embDims *int
		var vec []float32
		if err := rows.Scan(&it.ns, &key, &it.model, &params, &history, &it.body, &it.cost, &it.created, &it.expires,
			&embModel, &embDims, &vec); err != nil {
			return err
		}
		if len(key) != len(Key{}) || len(params) != len(Key{}) || len(history) != len(Key{}) {
			continue
		}
		it.keys = Keys{Exact: Key(key), Params: Key(params), History: Key(history)}
		var emb EmbedConfig
		if embModel != nil && embDims != nil && vec != nil {
			it.vec, emb = vec, EmbedConfig{Model: *embModel, Dims: *embDims}
		}
		if err := fn(it, emb); err != nil {
			return err
		}
	}
	return rows.Err()
}
