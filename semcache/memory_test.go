package semcache_test

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/semcache"
)

// TestMemory covers the cache without Postgres: exact hits from the LRU,
// entries living for their own TTL (beyond the LRU TTL), directives,
// purge and stats, and semantic mode falling back to exact.
func TestMemory(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	emb := &fakeEmbedder{vectors: map[string][]float32{"q": {1, 0, 0, 0}, "q?": {1, 0.01, 0, 0}}}
	c := semcache.NewMemory(semcache.WithClock(clock.Now), semcache.WithLRU(100, 1<<20, time.Minute),
		semcache.WithEmbedder(emb, semcache.EmbedConfig{Model: "e", Dims: testDims}))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	policy := semcache.Policy{Mode: semcache.ModeSemantic, Threshold: 0.5, TTL: time.Hour}
	lookup := func(ns, q string, d semcache.Directives) *semcache.Result {
		return c.Lookup(t.Context(), semcache.Request{Namespace: ns, Req: chatReq(q), Policy: policy, Directives: d})
	}

	res := lookup("team:a", "q", semcache.Directives{})
	if res.Status != semcache.StatusMiss || !res.Storable() {
		t.Fatalf("first lookup: %s storable %v, want a storable miss", res.Status, res.Storable())
	}
	if err := c.Put(res, answer("a"), 42); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatalf("Flush of a memory cache: %v", err)
	}
	clock.Advance(30 * time.Minute) // past the LRU TTL, within the entry's
	if res := lookup("team:a", "q", semcache.Directives{}); res.Status != semcache.StatusHitExact || res.Hit.CostNanos != 42 {
		t.Fatalf("same question: %s, want an exact hit costing 42", res.Status)
	}
	for _, tt := range []struct {
		name, ns, q string
		d           semcache.Directives
		want        semcache.Status
	}{
		{"paraphrase (no semantic lookups in memory)", "team:a", "q?", semcache.Directives{}, semcache.StatusMiss},
		{"other namespace", "team:b", "q", semcache.Directives{}, semcache.StatusMiss},
		{"no-cache", "team:a", "q", semcache.Directives{NoCache: true}, semcache.StatusBypass},
	} {
		if got := lookup(tt.ns, tt.q, tt.d).Status; got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
	if emb.calls != 0 {
		t.Errorf("the embedder was called %d times", emb.calls)
	}

	st, err := c.Stats(t.Context(), "")
	if err != nil || st.Entries != 1 || st.Writes != 1 || st.HitsExact != 1 {
		t.Errorf("Stats = %+v, %v; want 1 entry, 1 write, 1 exact hit", st, err)
	}
	if n, err := c.Maintain(t.Context()); n != 0 || err != nil {
		t.Errorf("Maintain = %d, %v", n, err)
	}
	if n, err := c.Purge(t.Context(), semcache.Filter{Namespace: "team:a"}); n != 1 || err != nil {
		t.Errorf("Purge = %d, %v; want 1 entry", n, err)
	}
	if res := lookup("team:a", "q", semcache.Directives{}); res.Status != semcache.StatusMiss {
		t.Errorf("after purge: %s", res.Status)
	}

	// An entry expires at its own TTL.
	res = lookup("team:a", "q", semcache.Directives{})
	if err := c.Put(res, answer("b"), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if res := lookup("team:a", "q", semcache.Directives{}); res.Status != semcache.StatusMiss {
		t.Errorf("after its TTL: %s", res.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
