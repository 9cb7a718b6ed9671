package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// stallingUpstream speaks OpenAI's chat completions and then stops: a
// stream sends one chunk and nothing more, a unary answer its headers and
// half its body. It holds the connection open until the client goes away.
func stallingUpstream(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Stream bool `json:"stream"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req.Stream {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"first"},"finish_reason":null}]}`+"\n\n")
		} else {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hal`)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv.URL + "/v1"
}

// post sends a JSON request to a surface of the gateway and returns the
// status and the body (an SSE stream read to its end).
func post(t *testing.T, url, path, key, body string, anthropic bool) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if anthropic {
		req.Header.Set("X-Api-Key", key)
		req.Header.Set("Anthropic-Version", "2023-06-01")
	} else {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v (read %q)", path, err, b)
	}
	return resp.StatusCode, string(b)
}

const (
	oaiUnary  = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	oaiStream = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	antUnary  = `{"model":"gpt-4o-mini","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	antStream = `{"model":"gpt-4o-mini","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
)

// TestHangingUpstreamTimesOut: an upstream that never answers, one that
// stops mid-stream and one that never finishes a unary body are cut at the
// server's default timeouts, and the caller gets a timeout in its dialect:
// OpenAI 504 "timeout" (or an error event once streaming), Anthropic 504
// timeout_error, Connect deadline_exceeded.
func TestHangingUpstreamTimesOut(t *testing.T) {
	t.Parallel()
	short := func(c *server.Config) {
		c.UpstreamTimeout, c.UpstreamFirstChunkTimeout, c.UpstreamChunkTimeout = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	}

	t.Run("no answer", func(t *testing.T) {
		t.Parallel()
		up, url := fakeupstream.StartOpenAI(t)
		gw := servertest.Start(t, servertest.Options{Config: short})
		key := gw.Setup(t, url)
		hang := func() {
			// Plain models are retried once: hang both attempts.
			up.Enqueue(fakeupstream.HangFault())
			up.Enqueue(fakeupstream.HangFault())
		}
		for _, tc := range []struct {
			name, path, body string
			anthropic        bool
			want             string
		}{
			{"openai unary", "/v1/chat/completions", oaiUnary, false, `"code":"timeout"`},
			{"openai stream", "/v1/chat/completions", oaiStream, false, `"code":"timeout"`},
			{"anthropic unary", "/v1/messages", antUnary, true, `"type":"timeout_error"`},
			{"anthropic stream", "/v1/messages", antStream, true, `"type":"timeout_error"`},
		} {
			hang()
			status, body := post(t, gw.URL, tc.path, key, tc.body, tc.anthropic)
			if status != http.StatusGatewayTimeout || !strings.Contains(body, tc.want) {
				t.Errorf("%s: %d %s, want 504 with %s", tc.name, status, body, tc.want)
			}
		}
		hang()
		c := tollgateInference(gw, key)
		if _, err := c.Chat(context.Background(), connect.NewRequest(chatReq("x"))); connect.CodeOf(err) != connect.CodeDeadlineExceeded {
			t.Errorf("connect unary: %v, want deadline_exceeded", err)
		}
	})

	t.Run("stalls", func(t *testing.T) {
		t.Parallel()
		gw := servertest.Start(t, servertest.Options{Config: short})
		key := gw.Setup(t, stallingUpstream(t))
		status, body := post(t, gw.URL, "/v1/chat/completions", key, oaiStream, false)
		if status != http.StatusOK || !strings.Contains(body, `"content":"first"`) || !strings.Contains(body, "chunk timeout") {
			t.Errorf("openai stream stalled after a chunk: %d %s, want the chunk then an error event", status, body)
		}
		status, body = post(t, gw.URL, "/v1/messages", key, antStream, true)
		if status != http.StatusOK || !strings.Contains(body, "event: error") || !strings.Contains(body, "timeout_error") {
			t.Errorf("anthropic stream stalled after a chunk: %d %s, want an error event", status, body)
		}
		status, body = post(t, gw.URL, "/v1/chat/completions", key, oaiUnary, false)
		if status != http.StatusGatewayTimeout || !strings.Contains(body, `"code":"timeout"`) {
			t.Errorf("openai unary body that never ends: %d %s, want 504", status, body)
		}
		s, err := tollgateInference(gw, key).ChatStream(context.Background(), connect.NewRequest(&tollgatev1.ChatStreamRequest{Request: chatReq("x")}))
		if err != nil {
			t.Fatal(err)
		}
		for s.Receive() {
		}
		if connect.CodeOf(s.Err()) != connect.CodeDeadlineExceeded {
			t.Errorf("connect stream stalled after a chunk: %v, want deadline_exceeded", s.Err())
		}
	})

	t.Run("route override", func(t *testing.T) {
		t.Parallel()
		// Long server defaults; the route's own chunk timeout cuts the stall.
		gw := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.UpstreamChunkTimeout = time.Hour }})
		key := gw.Setup(t, stallingUpstream(t))
		_, err := gw.Admin.CreateRoute(context.Background(), connect.NewRequest(&tollgatev1.CreateRouteRequest{Route: &tollgatev1.Route{
			Name: "short", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK, ChunkTimeout: durationpb.New(200 * time.Millisecond),
			Targets: []*tollgatev1.RouteTarget{{Model: servertest.ChatModel}},
		}}))
		if err != nil {
			t.Fatal(err)
		}
		got, err := gw.Admin.GetRoute(context.Background(), connect.NewRequest(&tollgatev1.GetRouteRequest{Name: "short"}))
		if err != nil || got.Msg.GetRoute().GetChunkTimeout().AsDuration() != 200*time.Millisecond {
			t.Fatalf("GetRoute = %v, %v; want chunk_timeout 200ms", got, err)
		}
		status, body := post(t, gw.URL, "/v1/chat/completions", key, strings.Replace(oaiStream, "gpt-4o-mini", "short", 1), false)
		if status != http.StatusOK || !strings.Contains(body, "chunk timeout") {
			t.Errorf("stream through the route: %d %s, want an error event", status, body)
		}
	})
}

func tollgateInference(gw *servertest.Gateway, key string) interface {
	Chat(context.Context, *connect.Request[tollgatev1.ChatRequest]) (*connect.Response[tollgatev1.ChatResponse], error)
	ChatStream(context.Context, *connect.Request[tollgatev1.ChatStreamRequest]) (*connect.ServerStreamForClient[tollgatev1.ChatStreamResponse], error)
} {
	e := &env{gw: gw}
	return e.inference(key)
}
