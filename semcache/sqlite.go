package semcache

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// SQLiteStore keeps entries in the semcache_entries table of the embedded
// store's SQLite database (created by sqlitestore's migrations), for one
// gateway process. Semantic lookups search an in-process index of the
// live entries' embeddings (an exact scan of the lookup's bucket: same
// namespace, embedding model, parameters and history), which
// [Cache.EnsureIndex] fills from the table once per embedding model: the
// vectors are persisted with the entries and the index is rebuilt at
// start. Every lookup candidate is checked against its row (expiry,
// model), so the index can only propose, never serve, a stale entry.
type SQLiteStore struct {
	w, r *sql.DB
	idx  *vectorIndex

	loadMu sync.Mutex
	loaded map[EmbedConfig]bool // by model and dimension
}

var _ Store = (*SQLiteStore)(nil)

// SQLite returns the Store on the embedded store's database: w is its one
// writer connection, r its readers (sqlitestore.Store.DB).
func SQLite(w, r *sql.DB) *SQLiteStore {
	return &SQLiteStore{w: w, r: r, idx: newVectorIndex(), loaded: map[EmbedConfig]bool{}}
}

// IndexedEntries returns the number of entries in the in-process vector
// index.
func (s *SQLiteStore) IndexedEntries() int { return s.idx.size() }

// encodeVector returns v as little-endian float32s.
func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// decodeVector reads a vector written by encodeVector.
func decodeVector(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("vector of %d bytes", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

func (s *SQLiteStore) getExact(ctx context.Context, ns string, key Key, now time.Time) (*lruEntry, error) {
	e := &lruEntry{}
	var created, expires int64
	err := s.r.QueryRowContext(ctx,
		`SELECT model, body, cost_nanos, created_at, expires_at FROM semcache_entries
		 WHERE namespace = ? AND key = ? AND expires_at > ?`,
		ns, key[:], now.UnixMicro()).Scan(&e.model, &e.body, &e.cost, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e.created, e.expires = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	return e, nil
}

func (s *SQLiteStore) getSimilar(ctx context.Context, q similarQuery) (body []byte, cost int64, score float64, err error) {
	b := bucketID{model: q.emb.Model, dims: q.emb.Dims, ns: q.ns, params: q.keys.Params, history: q.keys.History}
	for _, c := range s.idx.search(b, q.vec, searchCandidates) {
		ns, key := splitID(c.id)
		err := s.r.QueryRowContext(ctx,
			`SELECT body, cost_nanos FROM semcache_entries
			 WHERE namespace = ? AND key = ? AND expires_at > ? AND embed_model = ? AND embed_dims = ?`,
			ns, key, q.now.UnixMicro(), q.emb.Model, q.emb.Dims).Scan(&body, &cost)
		if errors.Is(err, sql.ErrNoRows) {
			continue // expired or replaced meanwhile: the next candidate
		}
		if err != nil {
			return nil, 0, 0, err
		}
		return body, cost, c.score, nil
	}
	return nil, 0, 0, nil
}

// splitID returns the namespace and key of an lruID.
func splitID(id string) (ns string, key []byte) {
	n := len(id) - len(Key{}) - 1
	return id[:n], []byte(id[n+1:])
}

func (s *SQLiteStore) upsert(ctx context.Context, it *writeItem, emb EmbedConfig) error {
	var embModel, embDims, vec any
	if it.vec != nil {
		embModel, embDims, vec = emb.Model, emb.Dims, encodeVector(it.vec)
	}
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO semcache_entries (namespace, key, model, params_hash, history_hash, body, size_bytes,
		     cost_nanos, created_at, expires_at, embed_model, embed_dims, embedding)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (namespace, key) DO UPDATE SET
		     model = excluded.model, params_hash = excluded.params_hash, history_hash = excluded.history_hash,
		     body = excluded.body, size_bytes = excluded.size_bytes, cost_nanos = excluded.cost_nanos,
		     created_at = excluded.created_at, expires_at = excluded.expires_at,
		     embed_model = excluded.embed_model, embed_dims = excluded.embed_dims, embedding = excluded.embedding`,
		it.ns, it.keys.Exact[:], it.model, it.keys.Params[:], it.keys.History[:], it.body, len(it.body),
		it.cost, it.created.UnixMicro(), it.expires.UnixMicro(), embModel, embDims, vec)
	if err != nil {
		return err
	}
	id := lruID(it.ns, it.keys.Exact)
	if it.vec == nil {
		s.idx.remove(id)
		return nil
	}
	s.idx.add(bucketID{model: emb.Model, dims: emb.Dims, ns: it.ns, params: it.keys.Params, history: it.keys.History}, id, it.vec)
	return nil
}

// ensureIndex loads the live vectors of emb into the index, once per
// store and embedding model; entries written meanwhile are indexed by
// their writes.
func (s *SQLiteStore) ensureIndex(ctx context.Context, emb EmbedConfig) error {
	k := EmbedConfig{Model: emb.Model, Dims: emb.Dims}
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if s.loaded[k] {
		return nil
	}
	rows, err := s.r.QueryContext(ctx,
		`SELECT namespace, key, params_hash, history_hash, embedding FROM semcache_entries
		 WHERE embed_model = ? AND embed_dims = ? AND embedding IS NOT NULL AND expires_at > ?`,
		emb.Model, emb.Dims, time.Now().UnixMicro())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var ns string
		var key, params, history, blob []byte
		if err := rows.Scan(&ns, &key, &params, &history, &blob); err != nil {
			return err
		}
		vec, err := decodeVector(blob)
		if err != nil || len(key) != len(Key{}) || len(params) != len(Key{}) || len(history) != len(Key{}) {
			continue // not a row this package wrote
		}
		b := bucketID{model: emb.Model, dims: emb.Dims, ns: ns, params: Key(params), history: Key(history)}
		s.idx.add(b, lruID(ns, Key(key)), vec)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.loaded[k] = true
	return nil
}

// deleteReturning runs a DELETE ... RETURNING namespace, key and drops the
// deleted entries from the index.
func (s *SQLiteStore) deleteReturning(ctx context.Context, query string, args ...any) (int64, error) {
	rows, err := s.w.QueryContext(ctx, query+" RETURNING namespace, key", args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var ns string
		var key []byte
		if err := rows.Scan(&ns, &key); err != nil {
			return n, err
		}
		n++
		if len(key) == len(Key{}) {
			s.idx.remove(lruID(ns, Key(key)))
		}
	}
	return n, rows.Err()
}

func (s *SQLiteStore) purge(ctx context.Context, f Filter) (int64, error) {
	var older any
	if !f.OlderThan.IsZero() {
		older = f.OlderThan.UnixMicro()
	}
	return s.deleteReturning(ctx,
		`DELETE FROM semcache_entries
		 WHERE (?1 = '' OR namespace = ?1) AND (?2 = '' OR model = ?2) AND (?3 IS NULL OR created_at < ?3)`,
		f.Namespace, f.Model, older)
}

func (s *SQLiteStore) maintain(ctx context.Context, now time.Time, maxPerNamespace int) (int64, error) {
	expired, err := s.deleteReturning(ctx, `DELETE FROM semcache_entries WHERE expires_at <= ?`, now.UnixMicro())
	if err != nil {
		return expired, err
	}
	surplus, err := s.deleteReturning(ctx,
		`DELETE FROM semcache_entries WHERE rowid IN (
		     SELECT rowid FROM (
		         SELECT rowid, row_number() OVER (PARTITION BY namespace ORDER BY created_at DESC) AS n
		         FROM semcache_entries)
		     WHERE n > ?)`, maxPerNamespace)
	return expired + surplus, err
}

func (s *SQLiteStore) stats(ctx context.Context, ns string, now time.Time) (entries, bytes int64, err error) {
	err = s.r.QueryRowContext(ctx,
		`SELECT count(*), coalesce(sum(size_bytes), 0) FROM semcache_entries
		 WHERE (?1 = '' OR namespace = ?1) AND expires_at > ?2`, ns, now.UnixMicro()).Scan(&entries, &bytes)
	return entries, bytes, err
}

func (s *SQLiteStore) each(ctx context.Context, now time.Time, fn func(it *writeItem, emb EmbedConfig) error) error {
	rows, err := s.r.QueryContext(ctx,
		`SELECT namespace, key, model, params_hash, history_hash, body, cost_nanos, created_at, expires_at,
		     embed_model, embed_dims, embedding
		 FROM semcache_entries WHERE expires_at > ? ORDER BY namespace, key`, now.UnixMicro())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		it := &writeItem{}
		var key, params, history, blob []byte
		var created, expires int64
		var embModel sql.NullString
		var embDims sql.NullInt64
		if err := rows.Scan(&it.ns, &key, &it.model, &params, &history, &it.body, &it.cost, &created, &expires,
			&embModel, &embDims, &blob); err != nil {
			return err
		}
		if len(key) != len(Key{}) || len(params) != len(Key{}) || len(history) != len(Key{}) {
			continue // not a row this package wrote
		}
		it.keys = Keys{Exact: Key(key), Params: Key(params), History: Key(history)}
		it.created, it.expires = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
		var emb EmbedConfig
		if embModel.Valid && blob != nil {
			if it.vec, err = decodeVector(blob); err != nil {
				return err
			}
			emb = EmbedConfig{Model: embModel.String, Dims: int(embDims.Int64)}
		}
		if err := fn(it, emb); err != nil {
			return err
		}
	}
	return rows.Err()
}
