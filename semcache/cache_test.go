package semcache_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/store/pgstore"
	"github.com/tollgate-dev/tollgate/service/store/sqlitestore"
)

var (
	exactPolicy    = semcache.Policy{Mode: semcache.ModeExact}
	semanticPolicy = semcache.Policy{Mode: semcache.ModeSemantic, Threshold: 0.9}
)

func toolReq(schema string) *providers.ChatRequest {
	r := chatReq("weather in Paris?")
	r.Tools = []providers.Tool{{Name: "weather", Parameters: json.RawMessage(schema)}}
	return r
}

// TestExact stores one request and looks up variants, through the
// in-process cache of the writing replica and through Postgres from a
// second replica.
func TestExact(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st semcache.Store) {
		writer := startCache(t, st)
		reader := startCache(t, st, semcache.WithLRU(0, 0, 0)) // the store only
		const ns = "team:a"
		stored := toolReq(`{"type":"object","properties":{"city":{"type":"string"}}}`)
		res := writer.Lookup(t.Context(), semcache.Request{Namespace: ns, Req: stored, Policy: exactPolicy})
		if res.Status != semcache.StatusMiss {
			t.Fatalf("first lookup: %s, want miss", res.Status)
		}
		if err := writer.Put(res, answer("Sunny."), 1234); err != nil {
			t.Fatal(err)
		}
		flush(t, writer)

		tests := []struct {
			name   string
			req    *providers.ChatRequest
			status semcache.Status
		}{
			{name: "same", req: toolReq(`{"type":"object","properties":{"city":{"type":"string"}}}`), status: semcache.StatusHitExact},
			{name: "byte-different equal JSON", req: toolReq("{ \"properties\" : { \"city\" : {\"type\":\"string\"} },\n \"type\":\"object\" }"), status: semcache.StatusHitExact},
			{name: "other end user", req: func() *providers.ChatRequest {
				r := toolReq(`{"type":"object","properties":{"city":{"type":"string"}}}`)
				r.User = "u2"
				return r
			}(), status: semcache.StatusHitExact},
			{name: "changed temperature", req: func() *providers.ChatRequest {
				r := toolReq(`{"type":"object","properties":{"city":{"type":"string"}}}`)
				r.Temperature = ptr(0.7)
				return r
			}(), status: semcache.StatusMiss},
			{name: "changed tools", req: toolReq(`{"type":"object","properties":{"town":{"type":"string"}}}`), status: semcache.StatusMiss},
			{name: "changed system prompt", req: func() *providers.ChatRequest {
				r := toolReq(`{"type":"object","properties":{"city":{"type":"string"}}}`)
				r.Messages[0].Content[0].Text = "You are verbose."
				return r
			}(), status: semcache.StatusMiss},
		}
		for _, tt := range tests {
			for _, c := range []struct {
				name  string
				cache *semcache.Cache
			}{{"lru", writer}, {"store", reader}} {
				t.Run(tt.name+"/"+c.name, func(t *testing.T) {
					t.Parallel()
					res := c.cache.Lookup(t.Context(), semcache.Request{Namespace: ns, Req: tt.req, Policy: exactPolicy})
					if res.Status != tt.status {
						t.Fatalf("status %s, want %s", res.Status, tt.status)
					}
					if !tt.status.Hit() {
						if res.Hit != nil || !res.Storable() {
							t.Errorf("miss has hit %v, storable %v", res.Hit, res.Storable())
						}
						return
					}
					if res.Score != 1 || res.Hit.CostNanos != 1234 || res.Hit.SavedNanos() != 1234 {
						t.Errorf("score %v cost %d, want 1 and 1234", res.Score, res.Hit.CostNanos)
					}
					if !reflect.DeepEqual(res.Hit.Response, answer("Sunny.")) {
						t.Errorf("response %+v, want %+v", res.Hit.Response, answer("Sunny."))
					}
					if res.Storable() {
						t.Error("a hit is storable")
					}
				})
			}
		}
	})
}

func TestSemantic(t *testing.T) {
	t.Parallel()
	emb := &fakeEmbedder{vectors: map[string][]float32{
		"How do I reset my password?":     {1, 0, 0, 0},
		"How can I reset my password?":    {0.99, 0.1, 0, 0}, // cos ≈ 0.995
		"How do I delete my account?":     {0.6, 0.8, 0, 0},  // cos = 0.6
		"Tell me about password resets.":  {0.95, 0.3, 0, 0}, // cos ≈ 0.954
		"Totally unrelated question here": {0, 0, 0, 1},
	}}
	eachStore(t, func(t *testing.T, st semcache.Store) {
		cfg := semcache.EmbedConfig{Model: "embed-test", Dims: testDims}
		writer := startCache(t, st, semcache.WithEmbedder(emb, cfg))
		reader := startCache(t, st, semcache.WithEmbedder(emb, cfg), semcache.WithLRU(0, 0, 0))
		otherModel := startCache(t, st, semcache.WithEmbedder(emb, semcache.EmbedConfig{Model: "embed-other", Dims: testDims}))

		const ns = "team:a"
		res := writer.Lookup(t.Context(), semcache.Request{Namespace: ns, Req: chatReq("How do I reset my password?"), Policy: semanticPolicy})
		if res.Status != semcache.StatusMiss {
			t.Fatalf("first lookup: %s", res.Status)
		}
		if err := writer.Put(res, answer("Click 'forgot password'."), 999); err != nil {
			t.Fatal(err)
		}
		flush(t, writer)

		withHistory := func(q, earlier string) *providers.ChatRequest {
			r := chatReq(q)
			r.Messages = append(r.Messages[:1],
				providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(earlier)}},
				providers.Message{Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart("ok")}},
				r.Messages[1])
			return r
		}
		tests := []struct {
			name      string
			cache     *semcache.Cache
			ns        string
			req       *providers.ChatRequest
			policy    semcache.Policy
			status    semcache.Status
			wantScore float64 // checked to 3 decimals when non-zero
		}{
			{name: "paraphrase above threshold", cache: reader, req: chatReq("How can I reset my password?"), status: semcache.StatusHitSemantic, wantScore: 0.995},
			{name: "paraphrase, stricter threshold", cache: reader, req: chatReq("Tell me about password resets."), policy: semcache.Policy{Mode: semcache.ModeSemantic, Threshold: 0.99}, status: semcache.StatusMiss},
			{name: "paraphrase, looser threshold", cache: reader, req: chatReq("Tell me about password resets."), status: semcache.StatusHitSemantic, wantScore: 0.954},
			{name: "different question below threshold", cache: reader, req: chatReq("How do I delete my account?"), status: semcache.StatusMiss},
			{name: "exact mode never semantic", cache: reader, req: chatReq("How can I reset my password?"), policy: exactPolicy, status: semcache.StatusMiss},
			{name: "other namespace", cache: reader, ns: "team:b", req: chatReq("How can I reset my password?"), status: semcache.StatusMiss},
			{name: "other embedding model", cache: otherModel, req: chatReq("How can I reset my password?"), status: semcache.StatusMiss},
			{name: "different system prompt", cache: reader, req: func() *providers.ChatRequest {
				r := chatReq("How can I reset my password?")
				r.Messages[0].Content[0].Text = "You are a pirate."
				return r
			}(), status: semcache.StatusMiss},
			{name: "different params", cache: reader, req: func() *providers.ChatRequest {
				r := chatReq("How can I reset my password?")
				r.MaxTokens = ptr(5)
				return r
			}(), status: semcache.StatusMiss},
			{name: "different history not eligible", cache: reader, req: withHistory("How can I reset my password?", "hi"), status: semcache.StatusMiss},
			{name: "temperature above policy maximum", cache: reader, req: func() *providers.ChatRequest {
				r := chatReq("How can I reset my password?")
				r.Temperature = ptr(0.7)
				return r
			}(), status: semcache.StatusMiss},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ns := ns
				if tt.ns != "" {
					ns = tt.ns
				}
				p := tt.policy
				if p.Mode == semcache.ModeOff {
					p = semanticPolicy
				}
				res := tt.cache.Lookup(t.Context(), semcache.Request{Namespace: ns, Req: tt.req, Policy: p})
				if res.Status != tt.status {
					t.Fatalf("status %s (score %.4f), want %s", res.Status, res.Score, tt.status)
				}
				if tt.wantScore != 0 && (res.Score < tt.wantScore-0.001 || res.Score > tt.wantScore+0.001) {
					t.Errorf("score %.4f, want %.3f", res.Score, tt.wantScore)
				}
				if res.Status == semcache.StatusHitSemantic {
					if res.Hit.CostNanos != 999 || res.Hit.Response.Choices[0].Message.Text() != "Click 'forgot password'." {
						t.Errorf("hit %+v", res.Hit)
					}
				}
			})
		}
	})
}

// TestSemanticPolicy checks which requests are eligible for semantic hits
// with a policy that allows sampled requests and tool results.
func TestSemanticPolicy(t *testing.T) {
	t.Parallel()
	emb := &fakeEmbedder{vectors: map[string][]float32{"q": {1, 0, 0, 0}, "q?": {1, 0.01, 0, 0}}}
	eachStore(t, func(t *testing.T, st semcache.Store) {
		c := startCache(t, st, semcache.WithEmbedder(emb, semcache.EmbedConfig{Model: "e", Dims: testDims}))
		withTool := func(q string) *providers.ChatRequest {
			r := chatReq(q)
			r.Messages = append(r.Messages[:1],
				providers.Message{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "1", Name: "f", Arguments: "{}"}}},
				providers.Message{Role: providers.RoleTool, ToolCallID: "1", Content: []providers.Part{providers.TextPart("r")}},
				r.Messages[1])
			r.Temperature = ptr(0.8)
			return r
		}
		tests := []struct {
			name   string
			policy semcache.Policy
			status semcache.Status
		}{
			{name: "default excludes tool results and sampling", policy: semcache.Policy{Mode: semcache.ModeSemantic}, status: semcache.StatusMiss},
			{name: "allowed", policy: semcache.Policy{Mode: semcache.ModeSemantic, AllowToolResults: true, MaxTemperature: 1}, status: semcache.StatusHitSemantic},
			{name: "sampling allowed only", policy: semcache.Policy{Mode: semcache.ModeSemantic, MaxTemperature: 1}, status: semcache.StatusMiss},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ns := semcache.TeamNamespace(string(rune('a' + i)))
				res := c.Lookup(t.Context(), semcache.Request{Namespace: ns, Req: withTool("q"), Policy: tt.policy})
				if err := c.Put(res, answer("a"), 1); err != nil {
					t.Fatal(err)
				}
				flush(t, c)
				res = c.Lookup(t.Context(), semcache.Request{Namespace: ns, Req: withTool("q?"), Policy: tt.policy})
				if res.Status != tt.status {
					t.Errorf("status %s, want %s", res.Status, tt.status)
				}
			})
		}
	})
}

func TestIsolation(t *testing.T) {
	t.Parallel()
	emb := &fakeEmbedder{vectors: map[string][]float32{"secret plan?": {1, 0, 0, 0}, "the secret plan?": {1, 0.001, 0, 0}}}
	eachStore(t, func(t *testing.T, st semcache.Store) {
		cfg := semcache.EmbedConfig{Model: "e", Dims: testDims}
		a := startCache(t, st, semcache.WithEmbedder(emb, cfg))
		b := startCache(t, st, semcache.WithEmbedder(emb, cfg), semcache.WithLRU(0, 0, 0))
		nsA := semcache.TeamNamespace("a")
		res := a.Lookup(t.Context(), semcache.Request{Namespace: nsA, Req: chatReq("secret plan?"), Policy: semanticPolicy})
		if err := a.Put(res, answer("A's plan"), 1); err != nil {
			t.Fatal(err)
		}
		flush(t, a)
		tests := []struct {
			name   string
			ns     string
			q      string
			status semcache.Status
		}{
			{name: "owner exact", ns: nsA, q: "secret plan?", status: semcache.StatusHitExact},
			{name: "owner semantic", ns: nsA, q: "the secret plan?", status: semcache.StatusHitSemantic},
			{name: "team b exact", ns: semcache.TeamNamespace("b"), q: "secret plan?", status: semcache.StatusMiss},
			{name: "team b semantic", ns: semcache.TeamNamespace("b"), q: "the secret plan?", status: semcache.StatusMiss},
			{name: "key with team's id", ns: semcache.KeyNamespace("a"), q: "secret plan?", status: semcache.StatusMiss},
			{name: "shared scope", ns: semcache.SharedNamespace("a"), q: "the secret plan?", status: semcache.StatusMiss},
		}
		for _, tt := range tests {
			for _, c := range []struct {
				name  string
				cache *semcache.Cache
			}{{"lru", a}, {"store", b}} {
				t.Run(tt.name+"/"+c.name, func(t *testing.T) {
					t.Parallel()
					res := c.cache.Lookup(t.Context(), semcache.Request{Namespace: tt.ns, Req: chatReq(tt.q), Policy: semanticPolicy})
					if res.Status != tt.status {
						t.Errorf("status %s, want %s", res.Status, tt.status)
					}
				})
			}
		}
	})
}

func TestTTL(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st semcache.Store) {
		// One clock per store: the stores' subtests run in parallel, and a
		// shared clock would be advanced by both.
		clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
		emb := &fakeEmbedder{vectors: map[string][]float32{"q": {1, 0, 0, 0}, "q?": {1, 0.01, 0, 0}}}
		cfg := semcache.EmbedConfig{Model: "e", Dims: testDims}
		c := startCache(t, st, semcache.WithClock(clock.Now), semcache.WithEmbedder(emb, cfg))
		storeOnly := startCache(t, st, semcache.WithClock(clock.Now), semcache.WithEmbedder(emb, cfg), semcache.WithLRU(0, 0, 0))
		policy := semcache.Policy{Mode: semcache.ModeSemantic, TTL: time.Hour, MaxTTL: 2 * time.Hour}
		put := func(ns string, d semcache.Directives) {
			res := c.Lookup(t.Context(), semcache.Request{Namespace: ns, Req: chatReq("q"), Policy: policy, Directives: d})
			if err := c.Put(res, answer("a"), 1); err != nil {
				t.Fatal(err)
			}
		}
		put("team:policy-ttl", semcache.Directives{})
		put("team:short-ttl", semcache.Directives{TTL: 10 * time.Minute})
		put("team:capped-ttl", semcache.Directives{TTL: 10 * time.Hour})
		flush(t, c)

		tests := []struct {
			ns        string
			liveUntil time.Duration
		}{
			{ns: "team:policy-ttl", liveUntil: time.Hour},
			{ns: "team:short-ttl", liveUntil: 10 * time.Minute},
			{ns: "team:capped-ttl", liveUntil: 2 * time.Hour},
		}
		var elapsed time.Duration
		for _, step := range []time.Duration{9 * time.Minute, 2 * time.Minute, 50 * time.Minute, 58 * time.Minute, 2 * time.Minute} {
			clock.Advance(step)
			elapsed += step
			for _, tt := range tests {
				for _, q := range []string{"q", "q?"} {
					for _, cache := range []*semcache.Cache{c, storeOnly} {
						res := cache.Lookup(t.Context(), semcache.Request{Namespace: tt.ns, Req: chatReq(q), Policy: policy})
						if got, want := res.Status.Hit(), elapsed < tt.liveUntil; got != want {
							t.Errorf("%s %q after %v: status %s, want hit %v", tt.ns, q, elapsed, res.Status, want)
						}
					}
				}
			}
		}
		n, err := c.Maintain(t.Context())
		if err != nil || n != 3 {
			t.Errorf("Maintain = %d, %v; want 3 expired rows deleted", n, err)
		}
	})
}

// TestDirectiveBehaviour runs each directive against a stored entry.
func TestDirectiveBehaviour(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st semcache.Store) {
		c := startCache(t, st)
		tests := []struct {
			name       string
			d          semcache.Directives
			policy     semcache.Policy
			status     semcache.Status // of the lookup with d, an entry being stored
			storedNext string          // what a plain lookup serves after Put("new") with d; "" for a miss
		}{
			{name: "none", status: semcache.StatusHitExact, storedNext: "old"},
			{name: "no-cache", d: semcache.Directives{NoCache: true}, status: semcache.StatusBypass, storedNext: "new"},
			{name: "refresh", d: semcache.Directives{Refresh: true}, status: semcache.StatusBypass, storedNext: "new"},
			{name: "no-store and no-cache", d: semcache.Directives{NoStore: true, NoCache: true}, status: semcache.StatusBypass, storedNext: "old"},
			{name: "policy off", policy: semcache.Policy{}, status: semcache.StatusBypass, storedNext: "old"},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ns := semcache.KeyNamespace(string(rune('a' + i)))
				plain := semcache.Request{Namespace: ns, Req: chatReq("q"), Policy: exactPolicy}
				if err := c.Put(c.Lookup(t.Context(), plain), answer("old"), 1); err != nil {
					t.Fatal(err)
				}
				flush(t, c)
				r := plain
				r.Directives = tt.d
				if tt.name == "policy off" {
					r.Policy = tt.policy
				}
				res := c.Lookup(t.Context(), r)
				if res.Status != tt.status {
					t.Fatalf("status %s, want %s", res.Status, tt.status)
				}
				if err := c.Put(res, answer("new"), 2); err != nil {
					t.Fatal(err)
				}
				flush(t, c)
				got := c.Lookup(t.Context(), plain)
				if text := got.Hit.Response.Choices[0].Message.Text(); text != tt.storedNext {
					t.Errorf("then served %q, want %q", text, tt.storedNext)
				}
			})
		}
	})
}

// streamChunks is a live-looking stream: role, text split in deltas, a
// tool call in fragments, finish, usage.
func streamChunks(finished bool) []providers.Chunk {
	chunks := []providers.Chunk{
		{ID: "s1", Model: "m", Choices: []providers.ChoiceDelta{{Role: providers.RoleAssistant}}},
		{ID: "s1", Model: "m", Choices: []providers.ChoiceDelta{{Text: "Hel"}}},
		{ID: "s1", Model: "m", Choices: []providers.ChoiceDelta{{Text: "lo, wor"}}},
		{ID: "s1", Model: "m", Choices: []providers.ChoiceDelta{{Text: "ld."}}},
		{ID: "s1", Model: "m", Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{ID: "c1", Name: "f"}}}}},
		{ID: "s1", Model: "m", Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{Arguments: `{"a":`}}}}},
		{ID: "s1", Model: "m", Choices: []providers.ChoiceDelta{{ToolCalls: []providers.ToolCallDelta{{Arguments: `1}`}}}}},
	}
	if finished {
		chunks = append(chunks,
			providers.Chunk{ID: "s1", Model: "m", Choices: []providers.ChoiceDelta{{FinishReason: providers.FinishToolCalls}}},
			providers.Chunk{ID: "s1", Model: "m", Usage: &providers.Usage{InputTokens: 3, OutputTokens: 9}})
	}
	return chunks
}

func drain(t *testing.T, s providers.Stream) []providers.Chunk {
	t.Helper()
	var out []providers.Chunk
	for {
		ch, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *ch)
	}
}

func TestStream(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st semcache.Store) {
		c := startCache(t, st)
		storeOnly := startCache(t, st, semcache.WithLRU(0, 0, 0))
		lookup := func(cache *semcache.Cache, q string) *semcache.Result {
			return cache.Lookup(t.Context(), semcache.Request{Namespace: "team:s", Req: chatReq(q), Policy: exactPolicy})
		}

		// A complete stream, recorded chunk by chunk and committed at io.EOF.
		res := lookup(c, "complete")
		rec := c.NewRecorder(res)
		for _, ch := range streamChunks(true) {
			rec.Add(&ch)
		}
		if err := rec.Commit(500); err != nil {
			t.Fatal(err)
		}
		// A stream that broke off: never committed by the engine, and refused
		// when it is.
		partial := c.NewRecorder(lookup(c, "partial"))
		for _, ch := range streamChunks(false) {
			partial.Add(&ch)
		}
		if err := partial.Commit(1); !errors.Is(err, semcache.ErrIncomplete) {
			t.Errorf("Commit of a partial stream: %v, want ErrIncomplete", err)
		}
		// A failed response.
		failed := answer("oops")
		failed.Choices[0].FinishReason = providers.FinishError
		if err := c.Put(lookup(c, "failed"), failed, 1); !errors.Is(err, semcache.ErrNotCacheable) {
			t.Errorf("Put of a failed response: %v, want ErrNotCacheable", err)
		}
		flush(t, c)

		for _, cache := range []*semcache.Cache{c, storeOnly} {
			for _, q := range []string{"partial", "failed"} {
				if res := lookup(cache, q); res.Status != semcache.StatusMiss {
					t.Errorf("%q: status %s, want miss", q, res.Status)
				}
			}
			res := lookup(cache, "complete")
			if res.Status != semcache.StatusHitExact {
				t.Fatalf("status %s", res.Status)
			}
			s := res.Hit.Stream(res.Status)
			if got := s.Header().Get("X-Tollgate-Cache"); got != "hit-exact" {
				t.Errorf("stream header %q", got)
			}
			if got := drain(t, s); !reflect.DeepEqual(got, streamChunks(true)) {
				t.Errorf("replayed chunks differ:\n got %+v\nwant %+v", got, streamChunks(true))
			}
			r := res.Hit.Response
			if r.ID != "s1" || r.Choices[0].Message.Text() != "Hello, world." || r.Choices[0].FinishReason != providers.FinishToolCalls ||
				!reflect.DeepEqual(r.Choices[0].Message.ToolCalls, []providers.ToolCall{{ID: "c1", Name: "f", Arguments: `{"a":1}`}}) ||
				r.Usage.OutputTokens != 9 || res.Hit.CostNanos != 500 {
				t.Errorf("assembled response %+v", r)
			}
		}
	})
}

// TestStreamFromResponse replays a non-streamed entry as a stream that
// assembles back to the same response.
func TestStreamFromResponse(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st semcache.Store) {
		c := startCache(t, st)
		req := semcache.Request{Namespace: "team:s", Req: chatReq("q"), Policy: exactPolicy}
		want := answer("A longer answer that a live upstream would stream in several deltas.")
		want.Choices[0].Message.ToolCalls = []providers.ToolCall{{ID: "c", Name: "f", Arguments: `{"x":1}`}}
		if err := c.Put(c.Lookup(t.Context(), req), want, 1); err != nil {
			t.Fatal(err)
		}
		res := c.Lookup(t.Context(), req)
		if res.Status != semcache.StatusHitExact {
			t.Fatalf("status %s", res.Status)
		}
		chunks := drain(t, res.Hit.Stream(res.Status))
		var text string
		var deltas int
		for _, ch := range chunks {
			for _, d := range ch.Choices {
				if d.Text != "" {
					text += d.Text
					deltas++
				}
			}
		}
		if text != want.Choices[0].Message.Text() || deltas < 3 {
			t.Errorf("text %q in %d deltas", text, deltas)
		}
		storeOnly := startCache(t, st, semcache.WithLRU(0, 0, 0))
		rec := storeOnly.NewRecorder(storeOnly.Lookup(t.Context(), semcache.Request{Namespace: "team:s2", Req: chatReq("q"), Policy: exactPolicy}))
		for _, ch := range chunks {
			rec.Add(&ch)
		}
		if err := rec.Commit(1); err != nil {
			t.Fatalf("synthesised stream is not complete: %v", err)
		}
		flush(t, storeOnly)
		got := storeOnly.Lookup(t.Context(), semcache.Request{Namespace: "team:s2", Req: chatReq("q"), Policy: exactPolicy})
		if got.Status != semcache.StatusHitExact {
			t.Fatalf("status %s", got.Status)
		}
		g := got.Hit.Response
		g.Created = want.Created // a stream carries no creation time
		if !reflect.DeepEqual(g, want) {
			t.Errorf("reassembled\n%+v\nwant\n%+v", g, want)
		}
	})
}

func TestPurgeStatsMaintain(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st semcache.Store) {
		c := startCache(t, st, semcache.WithMaxEntriesPerNamespace(2))
		put := func(ns, q string) {
			req := chatReq(q)
			if ns == "team:other-model" {
				req.Model = "other"
			}
			if err := c.Put(c.Lookup(t.Context(), semcache.Request{Namespace: ns, Req: req, Policy: exactPolicy}), answer(q), 100); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range []string{"1", "2", "3", "4"} {
			put("team:a", q)
			put("team:b", q)
		}
		put("team:other-model", "1")
		flush(t, c)
		s, err := c.Stats(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		if s.Entries != 9 || s.Bytes <= 0 || s.Misses != 9 || s.Writes != 9 || s.LocalEntries != 9 {
			t.Errorf("stats %+v", s)
		}
		n, err := c.Maintain(t.Context())
		if err != nil || n != 4 {
			t.Errorf("Maintain = %d, %v; want the 2 oldest of a and b", n, err)
		}
		if s, _ := c.Stats(t.Context(), "team:a"); s.Entries != 2 {
			t.Errorf("team:a has %d entries after Maintain, want 2", s.Entries)
		}
		n, err = c.Purge(t.Context(), semcache.Filter{Model: "other"})
		if err != nil || n != 1 {
			t.Errorf("Purge(model) = %d, %v", n, err)
		}
		n, err = c.Purge(t.Context(), semcache.Filter{Namespace: "team:a"})
		if err != nil || n != 2 {
			t.Errorf("Purge(team:a) = %d, %v", n, err)
		}
		lookup := func(ns, q string) semcache.Status {
			return c.Lookup(t.Context(), semcache.Request{Namespace: ns, Req: chatReq(q), Policy: exactPolicy}).Status
		}
		if st := lookup("team:a", "4"); st != semcache.StatusMiss {
			t.Errorf("purged entry served from this replica: %s", st)
		}
		if st := lookup("team:b", "4"); st != semcache.StatusHitExact {
			t.Errorf("team:b entry: %s", st)
		}
		n, err = c.Purge(t.Context(), semcache.Filter{OlderThan: time.Now().Add(time.Hour)})
		if err != nil || n != 2 {
			t.Errorf("Purge(olderThan) = %d, %v", n, err)
		}
		s, _ = c.Stats(t.Context(), "")
		if s.Entries != 0 || s.HitsExact != 1 || s.SavedNanos != 100 {
			t.Errorf("stats after purges %+v", s)
		}
	})
}

func TestQueueFull(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st semcache.Store) {
		c, err := semcache.Open(st, semcache.WithQueue(2, 1)) // Run not started: nothing drains
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"1", "2", "3", "4", "5"} {
			if err := c.Put(c.Lookup(t.Context(), semcache.Request{Namespace: "team:q", Req: chatReq(q), Policy: exactPolicy}), answer(q), 1); err != nil {
				t.Fatal(err)
			}
		}
		s, err := c.Stats(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		if s.Dropped != 3 || s.Entries != 0 {
			t.Errorf("dropped %d, entries %d; want 3 and 0", s.Dropped, s.Entries)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		flush(t, c)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if s, _ := c.Stats(t.Context(), ""); s.Entries != 2 {
			t.Errorf("entries %d after Run, want the 2 queued", s.Entries)
		}
	})
}

// TestOutage stops Postgres (a private cluster): lookups must become
// misses, not errors or hangs, and writes must not fail the request.
func TestOutage(t *testing.T) {
	t.Parallel()
	srv := pgtest.PrivateCluster(t)
	emb := &fakeEmbedder{vectors: map[string][]float32{"q": {1, 0, 0, 0}, "q2": {0, 1, 0, 0}}}
	st := semcache.Postgres(poolOn(t, srv.NewMigratedDatabase(t)))
	c := startCache(t, st, semcache.WithEmbedder(emb, semcache.EmbedConfig{Model: "e", Dims: testDims}), semcache.WithWriteTimeout(500*time.Millisecond))
	req := semcache.Request{Namespace: "team:o", Req: chatReq("q"), Policy: semanticPolicy}
	if err := c.Put(c.Lookup(t.Context(), req), answer("a"), 1); err != nil {
		t.Fatal(err)
	}
	flush(t, c)

	if err := srv.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Start(context.Background()); err != nil {
			t.Errorf("restart: %v", err)
		}
	})
	lookup := func(q string) *semcache.Result {
		return c.Lookup(t.Context(), semcache.Request{Namespace: "team:o", Req: chatReq(q), Policy: semanticPolicy})
	}
	res := lookup("q2")
	if res.Status != semcache.StatusMiss {
		t.Errorf("lookup during outage: %s, want miss", res.Status)
	}
	if err := c.Put(res, answer("b"), 1); err != nil {
		t.Errorf("Put during outage: %v", err)
	}
	if res := lookup("q"); res.Status != semcache.StatusHitExact {
		t.Errorf("lookup of this replica's entry: %s, want a hit from memory", res.Status)
	}
	flush(t, c)
	s, err := c.Stats(t.Context(), "")
	if err == nil {
		t.Error("Stats during outage succeeded")
	}
	if s.LookupErrors == 0 || s.WriteErrors == 0 {
		t.Errorf("stats %+v: want lookup and write errors counted", s)
	}
}

// TestSQLiteIndexRebuiltAtStart stores a semantic entry, closes the
// embedded store, and checks that a gateway started again on the same
// data directory finds it by similarity: the vectors persist with the
// entries and the in-process index is rebuilt from them.
func TestSQLiteIndexRebuiltAtStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	emb := &fakeEmbedder{vectors: map[string][]float32{"q": {1, 0, 0, 0}, "q?": {0.99, 0.1, 0, 0}}}
	cfg := semcache.EmbedConfig{Model: "e", Dims: testDims}
	run := func(do func(c *semcache.Cache, st *semcache.SQLiteStore)) {
		ss, err := sqlitestore.Open(t.Context(), dir)
		if err != nil {
			t.Fatal(err)
		}
		defer ss.Close()
		st := semcache.SQLite(ss.DB())
		c, err := semcache.Open(st, semcache.WithEmbedder(emb, cfg))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		do(c, st)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	run(func(c *semcache.Cache, _ *semcache.SQLiteStore) {
		res := c.Lookup(t.Context(), semcache.Request{Namespace: "team:a", Req: chatReq("q"), Policy: semanticPolicy})
		if err := c.Put(res, answer("kept"), 7); err != nil {
			t.Fatal(err)
		}
		flush(t, c)
	})
	run(func(c *semcache.Cache, st *semcache.SQLiteStore) {
		if err := c.EnsureIndex(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := st.IndexedEntries(); n != 1 {
			t.Fatalf("index holds %d entries after start, want 1", n)
		}
		res := c.Lookup(t.Context(), semcache.Request{Namespace: "team:a", Req: chatReq("q?"), Policy: semanticPolicy})
		if res.Status != semcache.StatusHitSemantic || res.Hit.CostNanos != 7 {
			t.Fatalf("after restart: %s, want a semantic hit", res.Status)
		}
		if n, err := c.Purge(t.Context(), semcache.Filter{Namespace: "team:a"}); err != nil || n != 1 {
			t.Fatalf("Purge = %d, %v", n, err)
		}
		if n := st.IndexedEntries(); n != 0 {
			t.Errorf("index holds %d entries after the purge, want 0", n)
		}
	})
}

// TestExactWithoutPgvector runs the exact cache on a PostgreSQL where
// pgvector cannot be created (the gateway opens its store WithoutVector
// when no embedding model is configured): entries are stored and served
// from Postgres, and a semantic policy acts as exact.
func TestExactWithoutPgvector(t *testing.T) {
	t.Parallel()
	ps, err := pgstore.Open(t.Context(), pgtest.NewDatabaseWithoutVector(t), pgstore.WithoutVector(), pgstore.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ps.Close)
	st := semcache.Postgres(ps.Pool())
	writer := startCache(t, st)
	reader := startCache(t, st, semcache.WithLRU(0, 0, 0))
	for _, p := range []semcache.Policy{exactPolicy, semanticPolicy} {
		req := semcache.Request{Namespace: "team:" + string(p.Mode), Req: chatReq("q"), Policy: p}
		if err := writer.Put(writer.Lookup(t.Context(), req), answer("a"), 3); err != nil {
			t.Fatal(err)
		}
		flush(t, writer)
		if res := reader.Lookup(t.Context(), req); res.Status != semcache.StatusHitExact || res.Hit.CostNanos != 3 {
			t.Errorf("%s policy: %s from the store, want an exact hit", p.Mode, res.Status)
		}
	}
	if s, err := reader.Stats(t.Context(), ""); err != nil || s.Entries != 2 || s.WriteErrors != 0 {
		t.Errorf("stats %+v, %v", s, err)
	}
}

// TestCopyEntries copies a semantic entry from the embedded store to
// Postgres with pgvector (a semantic hit there) and without it (an exact
// hit only).
func TestCopyEntries(t *testing.T) {
	t.Parallel()
	emb := &fakeEmbedder{vectors: map[string][]float32{"q": {1, 0, 0, 0}, "q?": {0.99, 0.1, 0, 0}}}
	cfg := semcache.EmbedConfig{Model: "e", Dims: testDims}
	src := newSQLite(t)
	c := startCache(t, src, semcache.WithEmbedder(emb, cfg))
	if err := c.Put(c.Lookup(t.Context(), semcache.Request{Namespace: "team:a", Req: chatReq("q"), Policy: semanticPolicy}), answer("a"), 5); err != nil {
		t.Fatal(err)
	}
	flush(t, c)
	noVector, err := pgstore.Open(t.Context(), pgtest.NewDatabaseWithoutVector(t), pgstore.WithoutVector())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(noVector.Close)
	tests := []struct {
		name    string
		to      semcache.Store
		vectors int64
		status  semcache.Status
	}{
		{"postgres with pgvector", newPostgres(t), 1, semcache.StatusHitSemantic},
		{"postgres without pgvector", semcache.Postgres(noVector.Pool()), 0, semcache.StatusMiss},
		{"another embedded store", newSQLite(t), 1, semcache.StatusHitSemantic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, vectors, err := semcache.CopyEntries(t.Context(), src, tt.to, time.Now())
			if err != nil || n != 1 || vectors != tt.vectors {
				t.Fatalf("CopyEntries = %d, %d, %v; want 1 entry, %d with its vector", n, vectors, err, tt.vectors)
			}
			r := startCache(t, tt.to, semcache.WithEmbedder(emb, cfg), semcache.WithLRU(0, 0, 0))
			if tt.vectors > 0 {
				if err := r.EnsureIndex(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			if res := r.Lookup(t.Context(), semcache.Request{Namespace: "team:a", Req: chatReq("q"), Policy: semanticPolicy}); res.Status != semcache.StatusHitExact || res.Hit.CostNanos != 5 {
				t.Errorf("exact lookup: %s", res.Status)
			}
			if res := r.Lookup(t.Context(), semcache.Request{Namespace: "team:a", Req: chatReq("q?"), Policy: semanticPolicy}); res.Status != tt.status {
				t.Errorf("paraphrase: %s, want %s", res.Status, tt.status)
			}
		})
	}
}

// TestEnsureIndexConcurrently: caches on one fresh Postgres (replicas
// starting together) create the vector index at once; every one of them
// succeeds. CREATE INDEX IF NOT EXISTS alone let all but one fail on the
// catalog's unique key.
func TestEnsureIndexConcurrently(t *testing.T) {
	t.Parallel()
	db := pgtest.NewMigratedDatabase(t)
	emb := &fakeEmbedder{vectors: map[string][]float32{}}
	cfg := semcache.EmbedConfig{Model: "e", Dims: testDims}
	const replicas = 8
	caches := make([]*semcache.Cache, replicas)
	for i := range caches {
		c, err := semcache.Open(semcache.Postgres(poolOn(t, db)), semcache.WithEmbedder(emb, cfg))
		if err != nil {
			t.Fatal(err)
		}
		caches[i] = c
	}
	start := make(chan struct{})
	errs := make(chan error, replicas)
	for _, c := range caches {
		go func() {
			<-start
			errs <- c.EnsureIndex(t.Context())
		}()
	}
	close(start)
	for range replicas {
		if err := <-errs; err != nil {
			t.Errorf("EnsureIndex: %v", err)
		}
	}
}
