package anthropicapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
)

// The benchmarks run the real server (handler, engine, OpenAI adapter)
// against the OpenAI fake over loopback.

func benchPost(b *testing.B, e *env, body string) {
	req, _ := http.NewRequest(http.MethodPost, e.g.URL+"/v1/messages", strings.NewReader(body))
	req.Header.Set("X-Api-Key", e.key)
	req.Header.Set("Anthropic-Version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d", resp.StatusCode)
	}
	b.SetBytes(n)
}

func BenchmarkMessagesUnary(b *testing.B) {
	e := newEnv(b, false)
	const body = `{"model":"gpt-4o-mini","max_tokens":256,"system":"Be brief.","messages":[{"role":"user","content":"Hello there, how are you today?"}]}`
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchPost(b, e, body)
		}
	})
}

func BenchmarkMessagesStream(b *testing.B) {
	e := newEnv(b, false, fakeupstream.WithChunks(32))
	const body = `{"model":"gpt-4o-mini","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Stream a longer reply so that there are many chunks to translate into events."}]}`
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchPost(b, e, body)
		}
	})
}
