package semcache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

const (
	benchModel = "bench-embed"
	benchNS    = "team:bench"
)

// benchDims is the vector size of the fills: SEMCACHE_BENCH_DIMS, default 256.
var benchDims = func() int {
	if n, err := strconv.Atoi(os.Getenv("SEMCACHE_BENCH_DIMS")); err == nil && n > 0 {
		return n
	}
	return 256
}()

// randomEmbedder returns a fresh random vector for every input.
type randomEmbedder struct{ dims int }

func (e randomEmbedder) Embed(_ context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error) {
	resp := &providers.EmbedResponse{}
	for range req.Inputs {
		resp.Vectors = append(resp.Vectors, randomVector(e.dims))
	}
	return resp, nil
}

func randomVector(dims int) []float32 {
	v := make([]float32, dims)
	for i := range v {
		v[i] = rand.Float32()*2 - 1
	}
	return v
}

// benchCache returns a cache on a fresh database filled, by COPY, with n
// entries with random vectors in one namespace, sharing params and history
// hashes (the worst case for the filters: every row qualifies), with the
// HNSW index built and statistics gathered.
func benchCache(tb testing.TB, n int, opts ...Option) (*Cache, Keys) {
	tb.Helper()
	ctx := context.Background()
	dsn := pgtest.NewMigratedDatabase(tb)
	st, err := pgstore.Open(ctx, dsn, pgstore.WithMaxConns(4))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(st.Close)
	pool := st.Pool()
	c, err := New(pool, append([]Option{WithEmbedder(randomEmbedder{benchDims}, EmbedConfig{Model: benchModel, Dims: benchDims})}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	ks := ComputeKeys(benchNS, benchRequest())
	body, err := encodeBody(&providers.ChatResponse{Model: "m", Choices: []providers.Choice{{
		Message: providers.Message{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart("cached")}}, FinishReason: providers.FinishStop}}}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	began := time.Now()
	now := time.Now()
	expires := now.Add(24 * time.Hour)
	rows := make([][]any, 0, n)
	for i := range n {
		key := make([]byte, 32)
		copy(key, fmt.Appendf(nil, "%032d", i))
		rows = append(rows, []any{benchNS, key, "m", ks.Params[:], ks.History[:], body, len(body), int64(1000),
			now, expires, benchModel, benchDims, pgvector.NewVector(randomVector(benchDims))})
	}
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"semcache_entries"},
		[]string{"namespace", "key", "model", "params_hash", "history_hash", "body", "size_bytes", "cost_nanos",
			"created_at", "expires_at", "embed_model", "embed_dims", "embedding"}, pgx.CopyFromRows(rows))
	if err != nil {
		tb.Fatal(err)
	}
	copied := time.Since(began)
	if err := withConn(ctx, pool, "SET maintenance_work_mem = '2GB'", c.indexSQL, "ANALYZE semcache_entries"); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("filled %d entries of %d dims: COPY %v, HNSW build and ANALYZE %v", n, benchDims, copied.Round(time.Millisecond), (time.Since(began) - copied).Round(time.Millisecond))
	return c, ks
}

// withConn runs the statements on one connection (for session settings).
func withConn(ctx context.Context, pool *pgxpool.Pool, stmts ...string) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// TestExplainUsesHNSW checks on 2,000 entries that the similarity query
// of lookups scans the HNSW index (TestLongExplainUsesHNSW does it at
// scale).
func TestExplainUsesHNSW(t *testing.T) {
	t.Parallel()
	explainHNSW(t, 2_000, 0)
}

// TestLongExplainUsesHNSW fills 20,000 entries (SEMCACHE_EXPLAIN_ROWS if
// set; building the index over 100,000 random 256-dim vectors takes over
// two minutes on two cores), checks that the similarity query of lookups
// scans the HNSW index, and logs lookup latency percentiles (informational
// only). A long test: make test-long runs it.
func TestLongExplainUsesHNSW(t *testing.T) {
	testutil.Long(t)
	t.Parallel()
	n := 20_000
	if s := os.Getenv("SEMCACHE_EXPLAIN_ROWS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("SEMCACHE_EXPLAIN_ROWS=%q", s)
		}
	}
	explainHNSW(t, n, 300)
}

// explainHNSW fills n entries, checks that the similarity query uses the
// HNSW index and logs the latency of that many lookups.
func explainHNSW(t *testing.T, n, lookups int) {
	t.Helper()
	c, ks := benchCache(t, n, WithLookupTimeout(5*time.Second))
	ctx := t.Context()
	var plan []string
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL hnsw.iterative_scan = relaxed_order"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "EXPLAIN "+c.similarSQL, pgvector.NewVector(randomVector(benchDims)), benchNS, ks.Params[:], ks.History[:], time.Now())
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	t.Logf("EXPLAIN:\n%s", text)
	if !strings.Contains(text, "Index Scan using semcache_hnsw_") {
		t.Errorf("the similarity query does not use the HNSW index")
	}

	if lookups == 0 {
		return
	}
	durs := make([]time.Duration, 0, lookups)
	for range lookups {
		began := time.Now()
		body, _, _, err := c.getSimilar(ctx, benchNS, ks, randomVector(benchDims), time.Now())
		durs = append(durs, time.Since(began))
		if err != nil || body == nil {
			t.Fatalf("getSimilar: body %v, %v", body != nil, err)
		}
	}
	slices.Sort(durs)
	t.Logf("semantic query latency at %d entries over %d lookups: p50 %v, p99 %v",
		n, lookups, durs[lookups/2].Round(time.Microsecond), durs[lookups*99/100].Round(time.Microsecond))
}

// benchRequest is a semantic-eligible request whose params and history
// hashes are those of the filled rows.
func benchRequest() *providers.ChatRequest {
	return &providers.ChatRequest{Model: "m", Temperature: new(float64),
		Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("q")}}}}
}

// benchRows is the fill of the benchmarks: SEMCACHE_BENCH_ROWS, default
// 100,000.
func benchRows(tb testing.TB) int {
	s := os.Getenv("SEMCACHE_BENCH_ROWS")
	if s == "" {
		return 100_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		tb.Fatalf("SEMCACHE_BENCH_ROWS=%q", s)
	}
	return n
}

// BenchmarkLookupSemantic measures a full semantic lookup (exact miss in
// memory and Postgres, embedding by a random-vector embedder, HNSW query)
// at benchRows entries.
func BenchmarkLookupSemantic(b *testing.B) {
	c, _ := benchCache(b, benchRows(b), WithLookupTimeout(5*time.Second))
	req := Request{Namespace: benchNS, Req: benchRequest(), Policy: Policy{Mode: ModeSemantic, Threshold: 0.99}}
	b.ReportAllocs()
	for b.Loop() {
		if res := c.Lookup(b.Context(), req); res.Status != StatusMiss || res.Score == 0 {
			b.Fatalf("status %s score %v: want a miss with a candidate", res.Status, res.Score)
		}
	}
}

// BenchmarkLookupExact measures exact hits from the in-process cache and
// from Postgres.
func BenchmarkLookupExact(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []Option
	}{{"lru", nil}, {"postgres", []Option{WithLRU(0, 0, 0)}}} {
		b.Run(bc.name, func(b *testing.B) {
			c, _ := benchCache(b, 1000, bc.opts...)
			req := Request{Namespace: benchNS, Req: benchRequest(), Policy: Policy{Mode: ModeExact}}
			res := c.Lookup(b.Context(), req)
			if err := c.Put(res, &providers.ChatResponse{Model: "m", Choices: []providers.Choice{{
				Message:      providers.Message{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart("A typical short answer of a few dozen tokens, cached.")}},
				FinishReason: providers.FinishStop}}}, 1); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(b.Context())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			if err := c.Flush(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if res := c.Lookup(b.Context(), req); res.Status != StatusHitExact {
					b.Fatalf("status %s", res.Status)
				}
			}
			b.StopTimer()
			cancel()
			<-done
		})
	}
}
