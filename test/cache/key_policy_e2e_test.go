package cache_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// policyKey creates a key of team with cache policy p and returns its
// secret.
func (f *fixture) policyKey(t testing.TB, team string, p *tollgatev1.CachePolicy) string {
	t.Helper()
	resp, err := f.g.Admin.CreateKey(context.Background(), connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{
		Name: "policy key", TeamId: team, Cache: p,
	}}))
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return resp.Msg.GetSecret()
}

// TestKeyCacheOff checks that a key with the cache off neither reads nor
// writes its team's entries, while another key of the team shares them.
func TestKeyCacheOff(t *testing.T) {
	t.Parallel()
	f := start(t)
	const chat = "/v1/chat/completions"
	off := f.policyKey(t, servertest.TeamID, &tollgatev1.CachePolicy{Mode: tollgatev1.CacheMode_CACHE_MODE_OFF})
	peer := f.policyKey(t, servertest.TeamID, nil)

	f.fake.Apply(fakeupstream.WithReply("cached answer"))
	body := chatBody(servertest.ChatModel, "key policy off", "")
	if got := f.post(t, f.key, chat, body).cache(); got != "miss" {
		t.Fatalf("first request: %q, want miss", got)
	}
	if r := f.post(t, peer, chat, body); r.cache() != "hit-exact" || !strings.Contains(r.body, "cached answer") {
		t.Fatalf("another key of the team: %q %s, want hit-exact", r.cache(), r.body)
	}
	f.fake.Apply(fakeupstream.WithReply("fresh answer"))
	for range 2 {
		calls := f.chatCalls()
		r := f.post(t, off, chat, body)
		if r.cache() != "bypass" || !strings.Contains(r.body, "fresh answer") || f.chatCalls() != calls+1 {
			t.Fatalf("key with the cache off: %q %s (upstream calls %d, want %d)", r.cache(), r.body, f.chatCalls(), calls+1)
		}
	}
	// Nor does it store: its own question stays a miss for the team. (A
	// unary answer is cached before it is returned, and a cached entry is
	// visible to its replica at once, so nothing needs waiting for.)
	own := chatBody(servertest.ChatModel, "asked with the cache off", "")
	f.post(t, off, chat, own)
	if got := f.post(t, peer, chat, own, "Cache-Control: no-store").cache(); got != "miss" {
		t.Fatalf("the team asking what the off key asked: %q, want miss", got)
	}
	// The key's policy beats the route's.
	f.route(t, "always", &tollgatev1.CachePolicy{Mode: tollgatev1.CacheMode_CACHE_MODE_EXACT})
	routed := chatBody("always", "key policy off", "")
	f.post(t, f.key, chat, routed)
	if got := f.post(t, off, chat, routed).cache(); got != "bypass" {
		t.Fatalf("key with the cache off on a caching route: %q, want bypass", got)
	}
}

// TestKeyThreshold checks that a key's threshold overrides its route's: a
// paraphrase (0.96 similar) that the route's 0.9 serves is a miss for a
// key asking for 0.99, while exact hits are still shared with the team.
func TestKeyThreshold(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.route(t, "faq", &tollgatev1.CachePolicy{Mode: tollgatev1.CacheMode_CACHE_MODE_SEMANTIC, Threshold: 0.9})
	strict := f.policyKey(t, servertest.TeamID, &tollgatev1.CachePolicy{Threshold: 0.99})
	const chat = "/v1/chat/completions"
	greedy := `"temperature":0`

	f.fake.Apply(fakeupstream.WithReply("Paris."))
	if got := f.post(t, f.key, chat, chatBody("faq", question, greedy)).cache(); got != "miss" {
		t.Fatalf("first question: %q, want miss", got)
	}
	f.fake.Apply(fakeupstream.WithReply("something else"))
	// The background writer stores the embedding: wait until the route's
	// threshold serves the paraphrase.
	if err := waitFor(func() bool {
		return f.post(t, f.key, chat, chatBody("faq", paraphrase, greedy), "Cache-Control: no-store").cache() == "hit-semantic"
	}); err != nil {
		t.Fatalf("paraphrase at the route's threshold: %v", err)
	}
	if r := f.post(t, strict, chat, chatBody("faq", paraphrase, greedy), "Cache-Control: no-store"); r.cache() != "miss" || strings.Contains(r.body, "Paris.") {
		t.Fatalf("paraphrase at the key's threshold: %q %s, want miss", r.cache(), r.body)
	}
	if r := f.post(t, strict, chat, chatBody("faq", question, greedy)); r.cache() != "hit-exact" || !strings.Contains(r.body, "Paris.") {
		t.Fatalf("the question itself by the strict key: %q %s, want hit-exact", r.cache(), r.body)
	}
}

// TestKeyCachePolicyAdmin checks CreateKey's validation of a key's cache
// policy and that CreateKey and GetKey return it.
func TestKeyCachePolicyAdmin(t *testing.T) {
	t.Parallel()
	f := start(t)
	ctx := context.Background()
	bad := []struct {
		name string
		p    *tollgatev1.CachePolicy
	}{
		{"shared namespace", &tollgatev1.CachePolicy{Namespace: "shared:faq"}},
		{"unknown namespace", &tollgatev1.CachePolicy{Namespace: "org"}},
		{"threshold above 1", &tollgatev1.CachePolicy{Threshold: 1.5}},
		{"negative threshold", &tollgatev1.CachePolicy{Threshold: -0.5}},
		{"negative ttl", &tollgatev1.CachePolicy{Ttl: durationpb.New(-time.Second)}},
		{"unknown mode", &tollgatev1.CachePolicy{Mode: tollgatev1.CacheMode(42)}},
	}
	for _, tt := range bad {
		_, err := f.g.Admin.CreateKey(ctx, connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{
			Name: tt.name, TeamId: servertest.TeamID, Cache: tt.p,
		}}))
		if connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("CreateKey with %s: %v, want InvalidArgument", tt.name, err)
		}
	}
	want := &tollgatev1.CachePolicy{Mode: tollgatev1.CacheMode_CACHE_MODE_SEMANTIC, Threshold: 0.95, Ttl: durationpb.New(time.Minute), Namespace: "key"}
	created, err := f.g.Admin.CreateKey(ctx, connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{
		Name: "valid", TeamId: servertest.TeamID, Cache: want,
	}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := created.Msg.GetKey().GetCache(); !proto.Equal(got, want) {
		t.Errorf("CreateKey returned cache policy %v, want %v", got, want)
	}
	got, err := f.g.Admin.GetKey(ctx, connect.NewRequest(&tollgatev1.GetKeyRequest{Id: created.Msg.GetKey().GetId()}))
	if err != nil {
		t.Fatal(err)
	}
	if c := got.Msg.GetKey().GetCache(); !proto.Equal(c, want) {
		t.Errorf("GetKey returned cache policy %v, want %v", c, want)
	}
	plain, err := f.g.Admin.CreateKey(ctx, connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{
		Name: "plain", TeamId: servertest.TeamID,
	}}))
	if err != nil {
		t.Fatal(err)
	}
	if c := plain.Msg.GetKey().GetCache(); c != nil {
		t.Errorf("key without a policy returned %v", c)
	}
}
