package semcache_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// testDims is the embedding dimension of the tests' fake embedder.
const testDims = 4

// fakeEmbedder returns the vectors a test chose for each text.
type fakeEmbedder struct {
	mu      sync.Mutex
	vectors map[string][]float32
	calls   int
}

var _ providers.Embedder = (*fakeEmbedder)(nil)

var errUnknownText = errors.New("fake embedder: unknown text")

func (f *fakeEmbedder) Embed(_ context.Context, req *providers.EmbedRequest) (*providers.EmbedResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	resp := &providers.EmbedResponse{Model: req.Model}
	for _, in := range req.Inputs {
		v, ok := f.vectors[in]
		if !ok {
			return nil, errUnknownText
		}
		resp.Vectors = append(resp.Vectors, v)
	}
	return resp, nil
}

// newPool returns a pool on a fresh, migrated database.
func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return poolOn(t, pgtest.NewMigratedDatabase(t))
}

// poolOn returns a pool on the migrated database dsn.
func poolOn(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	st, err := pgstore.Open(context.Background(), dsn, pgstore.WithMaxConns(4))
	if err != nil {
		t.Fatalf("pgstore.Open: %v", err)
	}
	t.Cleanup(st.Close)
	return st.Pool()
}

// startCache returns a running cache on pool; Run stops when the test ends.
func startCache(t testing.TB, pool *pgxpool.Pool, opts ...semcache.Option) *semcache.Cache {
	t.Helper()
	// A lookup that times out is a miss; on a loaded test machine a query
	// can take longer than the production default (50 ms), which would turn
	// expected hits into misses. Tests may still pass their own timeout.
	opts = append([]semcache.Option{semcache.WithLookupTimeout(10 * time.Second)}, opts...)
	c, err := semcache.New(pool, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return c
}

func flush(t testing.TB, c *semcache.Cache) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// chatReq returns a single-turn request with a system prompt.
func chatReq(question string) *providers.ChatRequest {
	return &providers.ChatRequest{
		Model: "gpt-test",
		Messages: []providers.Message{
			{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart("You are terse.")}},
			{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(question)}},
		},
		Temperature: ptr(0.0),
	}
}

func answer(text string) *providers.ChatResponse {
	return &providers.ChatResponse{
		ID:      "resp-1",
		Model:   "gpt-test-0613",
		Created: time.Unix(1700000000, 0).UTC(),
		Choices: []providers.Choice{{
			Message:      providers.Message{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart(text)}},
			FinishReason: providers.FinishStop,
		}},
		Usage: providers.Usage{InputTokens: 12, OutputTokens: 5},
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
