// Package cache_test runs the response cache end to end: the real server
// (service/server/servertest) in front of the fake upstream, driven over raw
// HTTP, the Connect API and the official OpenAI and Anthropic Go SDKs.
package cache_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/protobuf/types/known/durationpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// dims is the dimension of the fake's embeddings.
const dims = 8

// Questions whose embeddings the tests control: paraphrase is 0.96
// similar to question, unrelated 0.6.
const (
	question   = "What is the capital of France?"
	paraphrase = "Tell me the capital city of France"
	unrelated  = "What is the capital of Spain?"
)

// embed returns the fake's embedding of an input: fixed vectors for the
// questions above, otherwise a unit vector in the dimensions those do not
// use, derived from a hash of the input.
func embed(input string) []float32 {
	v := make([]float32, dims)
	switch input {
	case question:
		v[0] = 1
	case paraphrase:
		v[0], v[1] = 0.96, 0.28
	case unrelated:
		v[0], v[1] = 0.6, 0.8
	default:
		h := fnv.New64a()
		_, _ = h.Write([]byte(input))
		s := h.Sum64()
		var n float64
		for i := 4; i < dims; i++ {
			x := float64(s>>(16*(i-4))&0xffff) + 1
			v[i] = float32(x)
			n += x * x
		}
		for i := 4; i < dims; i++ {
			v[i] /= float32(math.Sqrt(n))
		}
	}
	return v
}

// fixture is a gateway whose default cache mode is exact, with semantic
// lookups embedding through servertest.EmbeddingModel on the fake.
type fixture struct {
	g     *servertest.Gateway
	fake  *fakeupstream.OpenAI
	key   string          // a key of team-a
	clock *testutil.Clock // the gateway's clock
}

func start(t testing.TB) *fixture {
	t.Helper()
	fake, url := fakeupstream.StartOpenAI(t, fakeupstream.WithEmbedDimensions(dims), fakeupstream.WithEmbedFunc(embed))
	clock := &testutil.Clock{}
	g := servertest.Start(t, servertest.Options{Clock: clock.Now, Config: func(c *server.Config) {
		c.Cache.Mode = "exact"
		c.Cache.EmbeddingModel = servertest.EmbeddingModel
		c.Cache.EmbeddingDims = dims
		// A loaded test machine can take longer than the defaults (50 ms,
		// 300 ms), which would turn hits into misses.
		c.Cache.LookupTimeout, c.Cache.EmbedTimeout = 10*time.Second, 10*time.Second
		c.LogLevel = "info"
	}})
	return &fixture{g: g, fake: fake, key: g.Setup(t, url), clock: clock}
}

// teamKey creates a team and returns a key of it.
func (f *fixture) teamKey(t testing.TB, team string) string {
	t.Helper()
	if _, err := f.g.Admin.CreateTeam(context.Background(), connect.NewRequest(&tollgatev1.CreateTeamRequest{
		Team: &tollgatev1.Team{Id: team, DisplayName: team}})); err != nil {
		t.Fatal(err)
	}
	_, secret := f.g.CreateKey(t, team)
	return secret
}

// route creates a route to servertest.ChatModel with a cache policy.
func (f *fixture) route(t testing.TB, name string, p *tollgatev1.CachePolicy) {
	t.Helper()
	if _, err := f.g.Admin.CreateRoute(context.Background(), connect.NewRequest(&tollgatev1.CreateRouteRequest{Route: &tollgatev1.Route{
		Name: name, Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
		Targets: []*tollgatev1.RouteTarget{{Model: servertest.ChatModel}}, Cache: p,
	}})); err != nil {
		t.Fatal(err)
	}
}

// chatCalls counts the chat requests the fake received.
func (f *fixture) chatCalls() int {
	n := 0
	for _, r := range f.fake.Requests() {
		if strings.HasPrefix(r.Path, "/v1/chat/completions") {
			n++
		}
	}
	return n
}

// response is an answer of the gateway.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) cache() string { return r.header.Get("X-Tollgate-Cache") }

// post sends body to path with key and the given headers ("Name: value").
func (f *fixture) post(t testing.TB, key, path, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.g.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Set(name, strings.TrimSpace(value))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// chatBody is an OpenAI chat request; extra is spliced into the object.
func chatBody(model, text, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}]%s}`, model, text, extra)
}

func TestExact(t *testing.T) {
	t.Parallel()
	f := start(t)
	const chat = "/v1/chat/completions"
	// Equal JSON, different bytes: key order, whitespace, number spelling.
	first := `{"model":"gpt-4o-mini","temperature":0.5,"messages":[{"role":"user","content":"exact one"}]}`
	second := "{\n  \"messages\" : [ {\"content\": \"exact one\", \"role\": \"user\"} ],\n  \"temperature\": 5e-1, \"model\": \"gpt-4o-mini\"\n}"

	f.fake.Apply(fakeupstream.WithReply("the first answer"))
	r1 := f.post(t, f.key, chat, first)
	if got := r1.cache(); got != "miss" {
		t.Fatalf("first request: x-tollgate-cache = %q, want miss", got)
	}
	f.fake.Apply(fakeupstream.WithReply("a different answer"))
	r2 := f.post(t, f.key, chat, second)
	if got := r2.cache(); got != "hit-exact" {
		t.Fatalf("equal request: x-tollgate-cache = %q, want hit-exact", got)
	}
	if n := f.chatCalls(); n != 1 {
		t.Fatalf("upstream saw %d chat requests, want 1", n)
	}
	if !strings.Contains(r2.body, "the first answer") || r2.header.Get("X-Tollgate-Cache-Score") != "" ||
		r2.header.Get("X-Tollgate-Provider") != "cache" {
		t.Fatalf("hit: provider %q score %q body %s", r2.header.Get("X-Tollgate-Provider"), r2.header.Get("X-Tollgate-Cache-Score"), r2.body)
	}

	// Every change that alters the output is a miss.
	tool := `"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}]`
	tests := []struct {
		name string
		body string
	}{
		{"temperature", `{"model":"gpt-4o-mini","temperature":0.7,"messages":[{"role":"user","content":"exact one"}]}`},
		{"tools", `{"model":"gpt-4o-mini","temperature":0.5,"messages":[{"role":"user","content":"exact one"}],` + tool + `}`},
		{"system prompt", `{"model":"gpt-4o-mini","temperature":0.5,"messages":[{"role":"system","content":"be terse"},{"role":"user","content":"exact one"}]}`},
	}
	for _, tt := range tests {
		before := f.chatCalls()
		if got := f.post(t, f.key, chat, tt.body).cache(); got != "miss" {
			t.Errorf("%s changed: x-tollgate-cache = %q, want miss", tt.name, got)
		}
		if f.chatCalls() != before+1 {
			t.Errorf("%s changed: the upstream was not called", tt.name)
		}
	}

	t.Run("other team", func(t *testing.T) {
		keyB := f.teamKey(t, "team-b")
		before := f.chatCalls()
		r := f.post(t, keyB, chat, first)
		if r.cache() != "miss" || strings.Contains(r.body, "the first answer") || f.chatCalls() != before+1 {
			t.Fatalf("team-b got team-a's answer: %q %s", r.cache(), r.body)
		}
	})

	t.Run("no-store", func(t *testing.T) {
		body := chatBody(servertest.ChatModel, "do not keep this", "")
		before := f.chatCalls()
		for i := range 2 {
			if got := f.post(t, f.key, chat, body, "Cache-Control: no-store").cache(); got != "miss" {
				t.Fatalf("no-store request %d: x-tollgate-cache = %q, want miss", i, got)
			}
		}
		if got := f.post(t, f.key, chat, body).cache(); got != "miss" {
			t.Fatalf("after no-store: x-tollgate-cache = %q, want miss (nothing stored)", got)
		}
		if n := f.chatCalls() - before; n != 3 {
			t.Fatalf("upstream saw %d requests, want 3", n)
		}
	})

	t.Run("no-cache", func(t *testing.T) {
		body := chatBody(servertest.ChatModel, "look me up later", "")
		f.post(t, f.key, chat, body)
		before := f.chatCalls()
		if got := f.post(t, f.key, chat, body, "Cache-Control: no-cache").cache(); got != "bypass" {
			t.Fatalf("no-cache: x-tollgate-cache = %q, want bypass", got)
		}
		if f.chatCalls() != before+1 {
			t.Fatal("no-cache did not reach the upstream")
		}
		if got := f.post(t, f.key, chat, body).cache(); got != "hit-exact" {
			t.Fatalf("after no-cache: x-tollgate-cache = %q, want hit-exact", got)
		}
	})

	t.Run("ttl", func(t *testing.T) {
		body := chatBody(servertest.ChatModel, "short-lived", "")
		f.post(t, f.key, chat, body, "X-Tollgate-Cache-Ttl: 1")
		if got := f.post(t, f.key, chat, body).cache(); got != "hit-exact" {
			t.Fatalf("within the ttl: x-tollgate-cache = %q, want hit-exact", got)
		}
		f.clock.Advance(1500 * time.Millisecond)
		if got := f.post(t, f.key, chat, body).cache(); got != "miss" {
			t.Fatalf("after the ttl: x-tollgate-cache = %q, want miss", got)
		}
	})

	t.Run("bad directive", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, f.g.URL+chat, strings.NewReader(chatBody(servertest.ChatModel, "x", "")))
		req.Header.Set("Authorization", "Bearer "+f.key)
		req.Header.Set("X-Tollgate-Cache-Ttl", "soon")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", resp.StatusCode)
		}
	})

	t.Run("rpc", func(t *testing.T) {
		c := tollgatev1connect.NewInferenceServiceClient(http.DefaultClient, f.g.URL, connect.WithInterceptors(servertest.BearerInterceptor(f.key)))
		msg := &tollgatev1.ChatRequest{Model: servertest.ChatModel, Messages: []*tollgatev1.Message{{
			Role: tollgatev1.Role_ROLE_USER, Content: []*tollgatev1.ContentPart{{Part: &tollgatev1.ContentPart_Text{Text: "via connect"}}},
		}}}
		r1, err := c.Chat(context.Background(), connect.NewRequest(msg))
		if err != nil {
			t.Fatal(err)
		}
		r2, err := c.Chat(context.Background(), connect.NewRequest(msg))
		if err != nil {
			t.Fatal(err)
		}
		if r1.Msg.GetCacheStatus() != "miss" || r2.Msg.GetCacheStatus() != "hit-exact" || r2.Msg.GetCacheScore() != 1 ||
			r2.Header().Get("X-Tollgate-Cache") != "hit-exact" || r2.Msg.GetCost().GetNanos() != 0 || r2.Msg.GetCost().GetUnits() != 0 {
			t.Fatalf("rpc: first %q, second %q score %v header %q cost %v", r1.Msg.GetCacheStatus(), r2.Msg.GetCacheStatus(),
				r2.Msg.GetCacheScore(), r2.Header().Get("X-Tollgate-Cache"), r2.Msg.GetCost())
		}
		req := connect.NewRequest(msg)
		req.Header().Set("Cache-Control", "no-cache")
		r3, err := c.Chat(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if r3.Msg.GetCacheStatus() != "bypass" {
			t.Fatalf("rpc no-cache: %q, want bypass", r3.Msg.GetCacheStatus())
		}
	})

	t.Run("admin", func(t *testing.T) {
		ctx := context.Background()
		st, err := f.g.Admin.GetCacheStats(ctx, connect.NewRequest(&tollgatev1.GetCacheStatsRequest{Scope: &tollgatev1.CacheScope{TeamId: servertest.TeamID}}))
		if err != nil {
			t.Fatal(err)
		}
		if st.Msg.GetHitsExact() == 0 || st.Msg.GetDefaultMode() != tollgatev1.CacheMode_CACHE_MODE_EXACT ||
			st.Msg.GetEmbeddingModel() != servertest.EmbeddingModel {
			t.Fatalf("stats %v", st.Msg)
		}
		body := chatBody(servertest.ChatModel, "purge me", "")
		f.post(t, f.key, chat, body)
		if got := f.post(t, f.key, chat, body).cache(); got != "hit-exact" {
			t.Fatalf("before purge: %q", got)
		}
		// Writes are asynchronous: purge until the entry, once written to
		// Postgres, is gone (no-store lookups do not store it again).
		var deleted int64
		err = waitFor(func() bool {
			p, err := f.g.Admin.PurgeCache(ctx, connect.NewRequest(&tollgatev1.PurgeCacheRequest{
				Scope: &tollgatev1.CacheScope{TeamId: servertest.TeamID}, Model: servertest.ChatModel}))
			if err != nil {
				t.Fatal(err)
			}
			deleted += p.Msg.GetDeleted()
			return deleted > 0 && f.post(t, f.key, chat, body, "Cache-Control: no-store").cache() == "miss"
		})
		if err != nil {
			t.Fatalf("after purge: %v (deleted %d)", err, deleted)
		}
		// Another team's purge does not touch team-a's entries.
		f.post(t, f.key, chat, body)
		if _, err := f.g.Admin.PurgeCache(ctx, connect.NewRequest(&tollgatev1.PurgeCacheRequest{
			Scope: &tollgatev1.CacheScope{TeamId: "team-b"}})); err != nil {
			t.Fatal(err)
		}
		if got := f.post(t, f.key, chat, body).cache(); got != "hit-exact" {
			t.Fatalf("after purging another team: %q, want hit-exact", got)
		}
		if _, err := f.g.Admin.PurgeCache(ctx, connect.NewRequest(&tollgatev1.PurgeCacheRequest{
			Scope: &tollgatev1.CacheScope{TeamId: "a", KeyId: "b"}})); connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Fatalf("two scopes: %v, want InvalidArgument", err)
		}
	})
}

func TestSemantic(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.route(t, "faq", &tollgatev1.CachePolicy{Mode: tollgatev1.CacheMode_CACHE_MODE_SEMANTIC, Threshold: 0.9})
	const chat = "/v1/chat/completions"
	greedy := `"temperature":0`

	f.fake.Apply(fakeupstream.WithReply("Paris."))
	if got := f.post(t, f.key, chat, chatBody("faq", question, greedy)).cache(); got != "miss" {
		t.Fatalf("first question: %q, want miss", got)
	}
	f.fake.Apply(fakeupstream.WithReply("something else"))
	// The background writer stores the embedding: wait for it.
	if err := waitFor(func() bool {
		return f.post(t, f.key, chat, chatBody("faq", paraphrase, greedy), "Cache-Control: no-store").cache() == "hit-semantic"
	}); err != nil {
		t.Fatalf("paraphrase: %v", err)
	}
	r := f.post(t, f.key, chat, chatBody("faq", paraphrase, greedy))
	score, _ := strconv.ParseFloat(r.header.Get("X-Tollgate-Cache-Score"), 64)
	if r.cache() != "hit-semantic" || math.Abs(score-0.96) > 0.001 || !strings.Contains(r.body, "Paris.") {
		t.Fatalf("paraphrase: %q score %v body %s", r.cache(), score, r.body)
	}
	calls := f.chatCalls()
	if got := f.post(t, f.key, chat, chatBody("faq", unrelated, greedy)).cache(); got != "miss" {
		t.Fatalf("question below the threshold: %q, want miss", got)
	}
	if f.chatCalls() != calls+1 {
		t.Fatal("a miss did not reach the upstream")
	}
	// Team B gets team A's answer neither for the question itself (exact)
	// nor for the paraphrase (semantic). no-store keeps team B's own
	// answers out of its namespace, so each lookup can only find team A's.
	keyB := f.teamKey(t, "team-b")
	for _, q := range []string{question, paraphrase} {
		if r := f.post(t, keyB, chat, chatBody("faq", q, greedy), "Cache-Control: no-store"); r.cache() != "miss" || strings.Contains(r.body, "Paris.") {
			t.Fatalf("team-b asking %q: %q %s", q, r.cache(), r.body)
		}
	}
}

// waitFor polls cond (testutil.Poll).
func waitFor(cond func() bool) error {
	return testutil.Poll(context.Background(), testutil.DefaultTimeout, func() error {
		if !cond() {
			return errors.New("condition not met")
		}
		return nil
	})
}

func TestUsage(t *testing.T) {
	t.Parallel()
	f := start(t)
	key := f.teamKey(t, "team-usage")
	body := chatBody(servertest.ChatModel, "count my savings", "")
	if got := f.post(t, key, "/v1/chat/completions", body).cache(); got != "miss" {
		t.Fatalf("first: %q", got)
	}
	if got := f.post(t, key, "/v1/chat/completions", body).cache(); got != "hit-exact" {
		t.Fatalf("second: %q", got)
	}
	usage := tollgatev1connect.NewUsageServiceClient(http.DefaultClient, f.g.URL, connect.WithInterceptors(servertest.BearerInterceptor(f.g.AdminToken)))
	var g *tollgatev1.UsageGroup
	err := waitFor(func() bool {
		resp, err := usage.GetUsageSummary(context.Background(), connect.NewRequest(&tollgatev1.GetUsageSummaryRequest{
			TeamId: "team-usage", GroupBy: []tollgatev1.UsageDimension{tollgatev1.UsageDimension_USAGE_DIMENSION_TEAM, tollgatev1.UsageDimension_USAGE_DIMENSION_MODEL},
		}))
		if err != nil {
			t.Fatal(err)
		}
		g = resp.Msg.GetTotal()
		return g.GetRequests() == 2
	})
	if err != nil {
		t.Fatalf("usage: %v (total %v)", err, g)
	}
	nanos := func(m *money.Money) int64 { return m.GetUnits()*1_000_000_000 + int64(m.GetNanos()) }
	if g.GetCacheHits() != 1 || nanos(g.GetCost()) <= 0 || nanos(g.GetSaved()) != nanos(g.GetCost()) {
		t.Fatalf("usage total: hits %d cost %d saved %d; want 1 hit saving exactly the miss's cost",
			g.GetCacheHits(), nanos(g.GetCost()), nanos(g.GetSaved()))
	}
	recs, err := usage.ListRequestRecords(context.Background(), connect.NewRequest(&tollgatev1.ListRequestRecordsRequest{TeamId: "team-usage"}))
	if err != nil {
		t.Fatal(err)
	}
	var hit *tollgatev1.RequestRecord
	for _, r := range recs.Msg.GetRecords() {
		if r.GetCacheStatus() == "hit-exact" {
			hit = r
		}
	}
	if hit == nil || nanos(hit.GetCost()) != 0 || nanos(hit.GetSaved()) <= 0 || hit.GetUsage().GetTotalTokens() != 0 || hit.GetProvider() != "cache" {
		t.Fatalf("hit record %v", hit)
	}
}

func TestRouteTTLPolicy(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.route(t, "brief", &tollgatev1.CachePolicy{Mode: tollgatev1.CacheMode_CACHE_MODE_EXACT, Ttl: durationpb.New(time.Second)})
	f.route(t, "never", &tollgatev1.CachePolicy{Mode: tollgatev1.CacheMode_CACHE_MODE_OFF})
	got, err := f.g.Admin.GetRoute(context.Background(), connect.NewRequest(&tollgatev1.GetRouteRequest{Name: "brief"}))
	if err != nil {
		t.Fatal(err)
	}
	if c := got.Msg.GetRoute().GetCache(); c.GetMode() != tollgatev1.CacheMode_CACHE_MODE_EXACT || c.GetTtl().AsDuration() != time.Second {
		t.Fatalf("route cache policy read back as %v", c)
	}
	body := chatBody("brief", "policy ttl", "")
	f.post(t, f.key, "/v1/chat/completions", body)
	if got := f.post(t, f.key, "/v1/chat/completions", body).cache(); got != "hit-exact" {
		t.Fatalf("within the route's ttl: %q", got)
	}
	f.clock.Advance(1500 * time.Millisecond)
	if got := f.post(t, f.key, "/v1/chat/completions", body).cache(); got != "miss" {
		t.Fatalf("after the route's ttl: %q, want miss", got)
	}
	for range 2 {
		if got := f.post(t, f.key, "/v1/chat/completions", chatBody("never", "policy off", "")).cache(); got != "bypass" {
			t.Fatalf("route with the cache off: %q, want bypass", got)
		}
	}
	if _, err := f.g.Admin.CreateRoute(context.Background(), connect.NewRequest(&tollgatev1.CreateRouteRequest{Route: &tollgatev1.Route{
		Name: "bad", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
		Targets: []*tollgatev1.RouteTarget{{Model: servertest.ChatModel}}, Cache: &tollgatev1.CachePolicy{Namespace: "org"},
	}})); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("route with a bad cache namespace: %v, want InvalidArgument", err)
	}
}

// TestCutStreamNotStored checks that a stream the upstream cut off is not
// stored, and that a complete one is.
func TestCutStreamNotStored(t *testing.T) {
	t.Parallel()
	f := start(t)
	body := chatBody(servertest.ChatModel, "cut me off", `"stream":true`)
	f.fake.Enqueue(fakeupstream.DieAfterFault(2))
	if got := f.post(t, f.key, "/v1/chat/completions", body).cache(); got != "miss" {
		t.Fatalf("cut stream: %q, want miss", got)
	}
	tests := []struct{ name, want string }{
		{"after a cut stream", "miss"},
		{"after a complete stream", "hit-exact"},
	}
	for _, tt := range tests {
		r := f.post(t, f.key, "/v1/chat/completions", body)
		if r.cache() != tt.want {
			t.Fatalf("%s: %q, want %q", tt.name, r.cache(), tt.want)
		}
		if !strings.Contains(r.body, "data: [DONE]") {
			t.Fatalf("%s: incomplete stream %s", tt.name, r.body)
		}
	}
	if n := f.chatCalls(); n != 2 {
		t.Fatalf("upstream saw %d chat requests, want 2", n)
	}
}
