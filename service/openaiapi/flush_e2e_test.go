package openaiapi_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestStreamFlushesWhenTheUpstreamPauses: chunks that arrive together may
// leave in one write, but a chunk is never held while the upstream has
// nothing more to send. The upstream sends two chunks in one write, then
// waits until the client has read both through the gateway before it
// sends the rest: a gateway that held them back would stall the test.
func TestStreamFlushesWhenTheUpstreamPauses(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	const chunk = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}` + "\n\n"
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, strings.Replace(chunk, "%s", "one ", 1)+strings.Replace(chunk, "%s", "two ", 1))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, strings.Replace(chunk, "%s", "three", 1)+"data: [DONE]\n\n")
	}))
	t.Cleanup(up.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	g := servertest.Start(t, servertest.Options{})
	key := g.Setup(t, up.URL+"/v1")

	// The deadline only turns a stall into a failure instead of a hang
	// (the idle keep-alive would flush held chunks after 15 s; the check
	// below catches that).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"`+servertest.ChatModel+`","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	var got []string
	for len(got) < 2 {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v (the chunks that arrived before the upstream paused were not flushed)", got, err)
		}
		if strings.HasPrefix(line, "data: ") {
			got = append(got, line)
		}
	}
	close(release)
	rest, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	if before, _, _ := strings.Cut(string(rest), "three"); strings.Contains(before, ": keep-alive") {
		// Only the idle keep-alive's flush (15 s) let the chunks out.
		t.Errorf("the chunks sent before the upstream paused were held until a keep-alive: %q", rest)
	}
	if !strings.Contains(got[0], `"one "`) || !strings.Contains(got[1], `"two "`) ||
		!strings.Contains(string(rest), `"three"`) || !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Errorf("stream: %q then %q", got, rest)
	}
}
