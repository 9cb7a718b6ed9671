package observability_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// h2c is an HTTP client speaking HTTP/2 without TLS, as gRPC clients do.
func h2c() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

func chatRequest(model, text string) *tollgatev1.ChatRequest {
	return &tollgatev1.ChatRequest{Model: model, Messages: []*tollgatev1.Message{{Role: tollgatev1.Role_ROLE_USER,
		Content: []*tollgatev1.ContentPart{{Part: &tollgatev1.ContentPart_Text{Text: text}}}}}}
}

// TestRequestLogLines: a served request's line names its team, model,
// provider, tokens, cost and latency in milliseconds; a failed gRPC
// call's line names its gRPC code; no line carries the prompt or a key.
func TestRequestLogLines(t *testing.T) {
	t.Parallel()
	f := newMix(t, nil)
	g := f.g
	const secretPrompt = "the launch code is swordfish-7731"
	a := chat(t, g, f.keyA, "gpt-4o-mini", secretPrompt, http.Header{"X-Tollgate-End-User": {"user-9"}})
	if a.status != http.StatusOK {
		t.Fatalf("chat: %d %s", a.status, a.body)
	}
	// A caller's malformed request id is replaced by the gateway's own.
	if b := chat(t, g, f.keyA, "gpt-4o-mini", "hello", http.Header{"X-Request-Id": {"has space"}}); !strings.HasPrefix(b.requestID, "req_") {
		t.Errorf("X-Request-Id = %q for a malformed caller id, want a new one", b.requestID)
	}
	rpc := tollgatev1connect.NewInferenceServiceClient(h2c(), g.URL, connect.WithGRPC(),
		connect.WithInterceptors(servertest.BearerInterceptor(f.keyB)))
	_, err := rpc.Chat(context.Background(), connect.NewRequest(chatRequest("no-such-model", secretPrompt)))
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("gRPC Chat(no-such-model) = %v, want not_found", err)
	}
	bad := tollgatev1connect.NewInferenceServiceClient(h2c(), g.URL, connect.WithGRPC(),
		connect.WithInterceptors(servertest.BearerInterceptor("tg-not-a-key")))
	_, err = bad.Chat(context.Background(), connect.NewRequest(chatRequest("gpt-4o-mini", "hi")))
	if connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("gRPC Chat(bad key) = %v, want unauthenticated", err)
	}

	g.Stop() // flush the access log
	var served, notFound, unauth map[string]any
	for _, l := range logLines(t, g) {
		switch {
		case l["request_id"] == a.requestID:
			served = l
		case l["path"] == "/tollgate.v1.InferenceService/Chat" && l["rpc_code"] == "not_found":
			notFound = l
		case l["path"] == "/tollgate.v1.InferenceService/Chat" && l["rpc_code"] == "unauthenticated":
			unauth = l
		}
	}
	if served == nil || notFound == nil || unauth == nil {
		t.Fatalf("lines: served %v, not_found %v, unauthenticated %v; log:\n%s", served, notFound, unauth, g.Logs.String())
	}
	for k, v := range map[string]any{"team": "alpha", "model": "gpt-4o-mini", "served_model": "gpt-4o-mini", "provider": "p1",
		"surface": "openai", "end_user": "user-9", "input_tokens": float64(a.prompt), "output_tokens": float64(a.compl),
		"cost_usd": float64(a.prompt*miniIn+a.compl*miniOut) / 1e9, "attempts": float64(1), "cache": "miss", "status": float64(200)} {
		if served[k] != v {
			t.Errorf("served line %s = %#v, want %#v", k, served[k], v)
		}
	}
	if ms, ok := served["latency_ms"].(float64); !ok || ms <= 0 {
		t.Errorf("latency_ms = %#v", served["latency_ms"])
	}
	if id, _ := served["key_id"].(string); id == "" {
		t.Errorf("key_id = %#v", served["key_id"])
	}
	t.Logf("served: %v", served)
	t.Logf("gRPC not found: %v", notFound)
	for k, v := range map[string]any{"team": "beta", "surface": "rpc", "error": "model_not_found"} {
		if notFound[k] != v {
			t.Errorf("gRPC line %s = %#v, want %#v", k, notFound[k], v)
		}
	}
	if unauth["error"] != "unauthenticated" {
		t.Errorf("unauthenticated line: %v", unauth)
	}
	logs := g.Logs.String()
	for _, s := range []string{secretPrompt, f.keyA, f.keyB, "tg-not-a-key"} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds %q", s)
		}
	}
}
