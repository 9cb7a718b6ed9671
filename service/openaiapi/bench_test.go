package openaiapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// benchHandler returns the server's whole HTTP handler (middleware, mux,
// this surface, the engine and the OpenAI adapter) in process, over a
// database prepared by a gateway, in front of a fake upstream, and a key.
func benchHandler(b *testing.B) (http.Handler, string) {
	b.Helper()
	_, url := fakeupstream.StartOpenAI(b, fakeupstream.WithReply("The quick brown fox jumps over the lazy dog."), fakeupstream.WithChunks(8))
	g := servertest.Start(b, servertest.Options{})
	key := g.Setup(b, url)
	cfg := server.DefaultConfig()
	cfg.DatabaseURL, cfg.MasterKey, cfg.AdminToken = g.DatabaseURL, g.MasterKey, g.AdminToken
	cfg.SpillDir = b.TempDir()
	s, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return s.Handler(), key
}

func benchChat(b *testing.B, body string) {
	h, key := benchHandler(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		_, _ = io.Copy(io.Discard, w.Body)
	}
}

// BenchmarkChatCompletions is a unary request through the whole handler,
// upstream round trip included.
func BenchmarkChatCompletions(b *testing.B) {
	benchChat(b, chatBody(`"temperature":0.2,"max_tokens":64,"logprobs":false,"metadata":{"k":"v"}`))
}

// BenchmarkChatCompletionsStream is a streamed request (8 content chunks,
// include_usage) through the whole handler, upstream round trip included.
func BenchmarkChatCompletionsStream(b *testing.B) {
	benchChat(b, chatBody(`"stream":true,"stream_options":{"include_usage":true},"temperature":0.2`))
}
