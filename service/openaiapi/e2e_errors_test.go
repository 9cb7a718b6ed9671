package openaiapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/testutil"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestErrors(t *testing.T) {
	t.Parallel()
	e := start(t)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		hdr        []string
		fault      *fakeupstream.Fault
		wantStatus int
		wantType   string
		wantCode   any
		wantParam  any
		wantHeader map[string]string
	}{
		{name: "no key", method: http.MethodPost, path: "/v1/chat/completions", body: chatBody(""), hdr: []string{"Authorization", ""},
			wantStatus: 401, wantType: "invalid_request_error", wantCode: "invalid_api_key", wantParam: nil},
		{name: "unknown key", method: http.MethodPost, path: "/v1/chat/completions", body: chatBody(""), hdr: []string{"Authorization", "Bearer tg-nope"},
			wantStatus: 401, wantType: "invalid_request_error", wantCode: "invalid_api_key", wantParam: nil},
		{name: "unknown model", method: http.MethodPost, path: "/v1/chat/completions", body: `{"model":"nope","messages":[{"role":"user","content":"x"}]}`,
			wantStatus: 404, wantType: "invalid_request_error", wantCode: "model_not_found", wantParam: "model"},
		{name: "bad json", method: http.MethodPost, path: "/v1/chat/completions", body: `{"model":`,
			wantStatus: 400, wantType: "invalid_request_error", wantCode: nil, wantParam: nil},
		{name: "wrong type", method: http.MethodPost, path: "/v1/chat/completions", body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"temperature":"hot"}`,
			wantStatus: 400, wantType: "invalid_request_error", wantCode: nil, wantParam: "temperature"},
		{name: "validation param", method: http.MethodPost, path: "/v1/chat/completions", body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"temperature":3}`,
			wantStatus: 400, wantType: "invalid_request_error", wantCode: nil, wantParam: "temperature"},
		{name: "bad role", method: http.MethodPost, path: "/v1/chat/completions", body: `{"model":"gpt-4o-mini","messages":[{"role":"robot","content":"x"}]}`,
			wantStatus: 400, wantType: "invalid_request_error", wantCode: nil, wantParam: "messages[0].role"},
		{name: "object input", method: http.MethodPost, path: "/v1/embeddings", body: `{"model":"text-embedding-3-small","input":{"a":1}}`,
			wantStatus: 400, wantType: "invalid_request_error", wantCode: nil, wantParam: "input"},
		{name: "empty input", method: http.MethodPost, path: "/v1/embeddings", body: `{"model":"text-embedding-3-small","input":[""]}`,
			wantStatus: 400, wantType: "invalid_request_error", wantCode: nil, wantParam: "input[0]"},
		{name: "wrong method", method: http.MethodGet, path: "/v1/chat/completions",
			wantStatus: 405, wantType: "invalid_request_error", wantCode: "method_not_allowed", wantParam: nil,
			wantHeader: map[string]string{"Allow": "POST"}},
		{name: "unknown path", method: http.MethodPost, path: "/v1/completions-nope", body: `{}`,
			wantStatus: 404, wantType: "invalid_request_error", wantCode: "unknown_url", wantParam: nil},
		{name: "upstream 429", method: http.MethodPost, path: "/v1/chat/completions", body: chatBody(""),
			fault: ptr(fakeupstream.RateLimitFault(2 * time.Second)), wantStatus: 429, wantType: "rate_limit_exceeded", wantCode: "rate_limit_exceeded", wantParam: nil,
			wantHeader: map[string]string{"Retry-After": "2", "X-Ratelimit-Remaining-Requests": "0", "X-Ratelimit-Limit-Tokens": "30000"}},
		{name: "upstream quota", method: http.MethodPost, path: "/v1/chat/completions", body: chatBody(""),
			fault: ptr(fakeupstream.QuotaFault()), wantStatus: 429, wantType: "insufficient_quota", wantCode: "insufficient_quota", wantParam: nil},
		{name: "upstream 500", method: http.MethodPost, path: "/v1/chat/completions", body: chatBody(""),
			fault: ptr(fakeupstream.StatusFault(500)), wantStatus: 502, wantType: "server_error", wantCode: "upstream_error", wantParam: nil},
		{name: "upstream 503", method: http.MethodPost, path: "/v1/chat/completions", body: chatBody(""),
			fault: ptr(fakeupstream.StatusFault(503)), wantStatus: 503, wantType: "server_error", wantCode: "server_is_overloaded", wantParam: nil},
		{name: "upstream 401 is not the caller's", method: http.MethodPost, path: "/v1/chat/completions", body: chatBody(""),
			fault: ptr(fakeupstream.StatusFault(401)), wantStatus: 502, wantType: "server_error", wantCode: "upstream_auth_failed", wantParam: nil,
			wantHeader: map[string]string{"X-Should-Retry": "false"}},
		{name: "upstream context length", method: http.MethodPost, path: "/v1/chat/completions", body: chatBody(""),
			fault:      &fakeupstream.Fault{Kind: fakeupstream.FaultStatus, Status: 400, Type: "invalid_request_error", Code: "context_length_exceeded", Param: "messages", Message: "too long"},
			wantStatus: 400, wantType: "invalid_request_error", wantCode: "context_length_exceeded", wantParam: "messages"},
		{name: "upstream reset", method: http.MethodPost, path: "/v1/chat/completions", body: chatBody(""),
			fault: ptr(fakeupstream.ResetFault()), wantStatus: 502, wantType: "server_error", wantCode: "upstream_error", wantParam: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: faults are consumed from one queue in order.
			if tt.fault != nil {
				e.fake.Enqueue(*tt.fault)
				if tt.fault.Kind == fakeupstream.FaultReset || tt.fault.Status == http.StatusTooManyRequests || tt.fault.Status >= 500 {
					// Plain models are retried once (package routing): fail both attempts.
					e.fake.Enqueue(*tt.fault)
				}
			}
			status, hdr, m := e.call(t, tt.method, tt.path, tt.body, tt.hdr...)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %v", status, tt.wantStatus, m)
			}
			if got := path(m, "error", "type"); got != tt.wantType {
				t.Errorf("type %v, want %v", got, tt.wantType)
			}
			if got := path(m, "error", "code"); got != tt.wantCode {
				t.Errorf("code %v, want %v", got, tt.wantCode)
			}
			if got := path(m, "error", "param"); got != tt.wantParam {
				t.Errorf("param %v, want %v", got, tt.wantParam)
			}
			if msg, _ := path(m, "error", "message").(string); msg == "" || strings.Contains(msg, servertest.UpstreamKey) {
				t.Errorf("message %q", msg)
			}
			if hdr.Get("X-Request-Id") == "" {
				t.Error("no x-request-id")
			}
			for k, v := range tt.wantHeader {
				if got := hdr.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestAPIKeyHeader(t *testing.T) {
	t.Parallel()
	e := start(t)
	status, _, m := e.call(t, http.MethodGet, "/v1/models", "", "Authorization", "", "api-key", e.key)
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, m)
	}
}

func TestModels(t *testing.T) {
	t.Parallel()
	e := start(t)
	_, limited := e.g.CreateKey(t, servertest.TeamID, servertest.ChatModel)
	tests := []struct {
		name string
		key  string
		want []string
	}{
		{"all models", e.key, []string{servertest.ChatModel, servertest.EmbeddingModel}},
		{"scoped key", limited, []string{servertest.ChatModel}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, m := e.call(t, http.MethodGet, "/v1/models", "", "Authorization", "Bearer "+tt.key)
			if status != http.StatusOK || m["object"] != "list" {
				t.Fatalf("status %d: %v", status, m)
			}
			data := m["data"].([]any)
			var got []string
			for _, d := range data {
				got = append(got, path(d, "id").(string))
				if path(d, "object") != "model" || path(d, "owned_by") != servertest.ProviderID || path(d, "created").(float64) <= 0 {
					t.Errorf("model %v", d)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("models %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("get allowed", func(t *testing.T) {
		t.Parallel()
		status, _, m := e.call(t, http.MethodGet, "/v1/models/"+servertest.ChatModel, "", "Authorization", "Bearer "+limited)
		if status != http.StatusOK || m["id"] != servertest.ChatModel {
			t.Fatalf("status %d: %v", status, m)
		}
	})
	t.Run("get out of scope", func(t *testing.T) {
		t.Parallel()
		status, _, m := e.call(t, http.MethodGet, "/v1/models/"+servertest.EmbeddingModel, "", "Authorization", "Bearer "+limited)
		if status != http.StatusNotFound || path(m, "error", "code") != "model_not_found" {
			t.Fatalf("status %d: %v", status, m)
		}
	})
	t.Run("chat with out-of-scope model", func(t *testing.T) {
		t.Parallel()
		status, _, m := e.call(t, http.MethodPost, "/v1/embeddings", `{"model":"text-embedding-3-small","input":"x"}`, "Authorization", "Bearer "+limited)
		if status != http.StatusForbidden || path(m, "error", "type") != "invalid_request_error" {
			t.Fatalf("status %d: %v", status, m)
		}
	})
}

func TestStreamErrorAfterFirstByte(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.fake.Enqueue(fakeupstream.StreamErrorFault(2))
	resp := e.do(t, context.Background(), http.MethodPost, "/v1/chat/completions", chatBody(`"stream":true`))
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	events, _ := readSSE(t, resp.Body)
	if len(events) < 2 {
		t.Fatalf("events %v", events)
	}
	last := events[len(events)-1].data
	if !strings.HasPrefix(last, `{"error":{`) || !strings.Contains(last, `"type":"server_error"`) {
		t.Errorf("last event %s, want an error event", last)
	}
	for _, ev := range events {
		if ev.data == "[DONE]" {
			t.Error("[DONE] after an error")
		}
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	t.Parallel()
	e := start(t, fakeupstream.WithChunkDelay(200*time.Millisecond), fakeupstream.WithChunks(20),
		fakeupstream.WithReply(strings.Repeat("word ", 40)))
	ctx, cancel := context.WithCancel(context.Background())
	resp := e.do(t, ctx, http.MethodPost, "/v1/chat/completions", chatBody(`"stream":true`))
	buf := make([]byte, 64)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	testutil.Eventually(t, func() error {
		if e.fake.Cancelled() == 0 {
			return fmt.Errorf("upstream not cancelled; in flight %d", e.fake.InFlight())
		}
		return nil
	})
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	fake, url := fakeupstream.StartOpenAI(t)
	_ = fake
	g := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.MaxRequestBytes = 1024 }})
	e := &env{g: g, fake: fake, key: g.Setup(t, url)}
	status, _, m := e.call(t, http.MethodPost, "/v1/chat/completions", chatBody(`"user":"`+strings.Repeat("x", 4096)+`"`))
	if status != http.StatusRequestEntityTooLarge || path(m, "error", "code") != "request_too_large" {
		t.Fatalf("status %d: %v", status, m)
	}
}
