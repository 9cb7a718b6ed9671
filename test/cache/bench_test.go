package cache_test

import (
	"strconv"
	"testing"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// BenchmarkChat measures a unary OpenAI-surface request through the real
// server with the cache off (a route whose policy is off), as a miss
// (every prompt new: lookup, upstream call, asynchronous write) and as an
// exact hit (served from the in-process cache). The fake upstream answers
// at once, so the figures are the gateway's own cost.
func BenchmarkChat(b *testing.B) {
	f := start(b)
	f.route(b, "uncached", &tollgatev1.CachePolicy{Mode: tollgatev1.CacheMode_CACHE_MODE_OFF})
	const chat = "/v1/chat/completions"
	i := 0 // numbers the miss prompts over every run of the sub-benchmark
	b.Run("off", func(b *testing.B) {
		body := chatBody("uncached", "never cached", "")
		for b.Loop() {
			if got := f.post(b, f.key, chat, body).cache(); got != "bypass" {
				b.Fatalf("status %q", got)
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		for b.Loop() {
			i++
			if got := f.post(b, f.key, chat, chatBody(servertest.ChatModel, "new prompt "+strconv.Itoa(i), "")).cache(); got != "miss" {
				b.Fatalf("status %q", got)
			}
		}
	})
	b.Run("hit", func(b *testing.B) {
		body := chatBody(servertest.ChatModel, "always the same", "")
		f.post(b, f.key, chat, body)
		for b.Loop() {
			if got := f.post(b, f.key, chat, body).cache(); got != "hit-exact" {
				b.Fatalf("status %q", got)
			}
		}
	})
}
