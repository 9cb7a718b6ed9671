package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestPostgresWithoutPgvector runs a gateway on a PostgreSQL where pgvector
// cannot be created (a managed service without it): with the exact cache
// it starts, serves and caches; configured for semantic caching it does
// not start, and says that pgvector is what it needs.
func TestPostgresWithoutPgvector(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabaseWithoutVector(t)
	_, upstream := fakeupstream.StartOpenAI(t)
	g := servertest.Start(t, servertest.Options{DatabaseURL: dsn, Config: func(c *server.Config) { c.Cache.Mode = "exact" }})
	key := g.Setup(t, upstream)
	chat := func() (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"`+servertest.ChatModel+`","messages":[{"role":"user","content":"cache me"}],"temperature":0}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-Tollgate-Cache")
	}
	if status, cache := chat(); status != http.StatusOK || cache != "miss" {
		t.Fatalf("first request: status %d, cache %q", status, cache)
	}
	// The entry is written in the background; then it is served (from the
	// in-process LRU in front of Postgres), and it is in Postgres.
	testutil.Eventually(t, func() error {
		if status, cache := chat(); status != http.StatusOK || cache != "hit-exact" {
			return fmt.Errorf("status %d, cache %q", status, cache)
		}
		return nil
	})
	testutil.Eventually(t, func() error {
		conn, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM semcache_entries").Scan(&n); err != nil || n != 1 {
			return fmt.Errorf("%d entries stored, %v", n, err)
		}
		return nil
	})

	cfg := servertest.Config(t, dsn)
	cfg.Cache.Mode, cfg.Cache.EmbeddingModel, cfg.Cache.EmbeddingDims = "semantic", servertest.EmbeddingModel, 8
	_, err := server.New(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "pgvector") {
		t.Fatalf("a semantic gateway started without pgvector: %v", err)
	}
}
