package server_test

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

// TestStreamsFlushWhenTheUpstreamPauses: on every streaming surface,
// events that arrive together may leave in one write, but nothing is held
// while the upstream has nothing more to send. The upstream (OpenAI chat
// completions) sends two chunks in one write, then waits until the client
// has read what the gateway made of both before it sends the rest: a
// gateway that held them back would stall the test.
func TestStreamsFlushWhenTheUpstreamPauses(t *testing.T) {
	t.Parallel()
	const chunk = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}` + "\n\n"
	const last = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n"
	releases := make(chan chan struct{}, 8)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		release := make(chan struct{})
		releases <- release
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, strings.Replace(chunk, "%s", "one ", 1)+strings.Replace(chunk, "%s", "two ", 1))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, strings.Replace(chunk, "%s", "three", 1)+last+"data: [DONE]\n\n")
	}))
	t.Cleanup(up.Close)
	g := servertest.Start(t, servertest.Options{})
	key := g.Setup(t, up.URL+"/v1")
	model := servertest.ChatModel

	for _, tc := range []struct {
		name, path, body string
		header           map[string]string
		// end is in the stream's last event.
		end string
	}{
		{"openai", "/v1/chat/completions", `{"model":"` + model + `","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{"Authorization": "Bearer " + key}, "data: [DONE]"},
		{"responses", "/v1/responses", `{"model":"` + model + `","stream":true,"input":"hi","store":false}`,
			map[string]string{"Authorization": "Bearer " + key}, "response.completed"},
		{"gemini", "/v1beta/models/" + model + ":streamGenerateContent?alt=sse", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`,
			map[string]string{"X-Goog-Api-Key": key}, `"finishReason":"STOP"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The deadline only turns a stall into a failure instead of a
			// hang (an idle keep-alive would flush held events after 15 s;
			// the check below catches that).
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			release := <-releases
			rd := bufio.NewReader(resp.Body)
			var got strings.Builder
			for !strings.Contains(got.String(), "two ") {
				line, err := rd.ReadString('\n')
				if err != nil {
					close(release)
					t.Fatalf("after %q: %v (what arrived before the upstream paused was not flushed)", got.String(), err)
				}
				got.WriteString(line)
			}
			close(release)
			rest, err := io.ReadAll(rd)
			if err != nil {
				t.Fatal(err)
			}
			if before, _, _ := strings.Cut(string(rest), "three"); strings.Contains(before, ": keep-alive") {
				// Only the idle keep-alive's flush (15 s) let the events out.
				t.Errorf("the events sent before the upstream paused were held until a keep-alive: %q", rest)
			}
			if !strings.Contains(got.String(), "one ") || !strings.Contains(string(rest), "three") || !strings.Contains(string(rest), tc.end) {
				t.Errorf("stream: %q then %q", got.String(), rest)
			}
		})
	}
}
