package azure

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
)

// fixtureTransport answers every request in memory with one body, so
// benchmarks measure the adapter (URL, auth, encode, decode), not a socket.
type fixtureTransport struct {
	contentType string
	body        []byte
}

func (f fixtureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {f.contentType}},
		Body: io.NopCloser(bytes.NewReader(f.body)), ContentLength: int64(len(f.body)), Request: r}, nil
}

func benchProvider(b *testing.B, contentType, fixture string) *Provider {
	b.Helper()
	client := &http.Client{Transport: fixtureTransport{contentType: contentType, body: readFixture(b, fixture)}}
	p, err := New(providers.Config{ID: "az", BaseURL: "https://r.example", APIKey: testKey, HTTPClient: client})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkChatRoundTrip(b *testing.B) {
	p := benchProvider(b, "application/json", "chat_content_filter.json")
	req := &providers.ChatRequest{Model: "gpt-4o-prod", Messages: []providers.Message{
		{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart("You are terse.")}},
		{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("Describe a battle scene in one line.")}},
	}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Chat(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamRoundTrip(b *testing.B) {
	p := benchProvider(b, "text/event-stream", "stream_azure.sse")
	req := &providers.ChatRequest{Model: "gpt-4o-prod", Messages: []providers.Message{
		{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("hi")}}}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, err := p.ChatStream(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		_ = s.Close()
	}
}
