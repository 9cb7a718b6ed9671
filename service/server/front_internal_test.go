package server

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/gateway"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]class{
		"/v1/chat/completions": classInference, "/v1/messages": classInference, "/tollgate.v1.InferenceService/Chat": classInference,
		"/v1beta/models/gemini-2.5-flash:generateContent": classInference,
		"/tollgate.v1.AdminService/ListKeys":              classManage, "/tollgate.v1.UsageService/GetUsageSummary": classManage,
		"/healthz": classOps, "/readyz": classOps, "/metrics": classOps, "/grpc.health.v1.Health/Check": classOps,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": classOps, "/nowhere": classInference,
	} {
		if got := classify(path); got != want {
			t.Errorf("classify(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestWriteErrorDialects: a refusal made before any handler runs is
// written in the caller's dialect.
func TestWriteErrorDialects(t *testing.T) {
	t.Parallel()
	overloaded := &gateway.RetryError{Err: gateway.ErrOverloaded, Reason: "full", RetryAfter: 1500 * time.Millisecond}
	tests := []struct {
		name   string
		path   string
		header map[string]string
		err    error
		status int
		body   string
		retry  string
	}{
		{"openai overloaded", "/v1/chat/completions", nil, overloaded, 503, `"code":"overloaded"`, "2"},
		{"anthropic overloaded by path", "/v1/messages", nil, overloaded, 529, `"type":"overloaded_error"`, "2"},
		{"anthropic overloaded by header", "/v1/models", map[string]string{"Anthropic-Version": "2023-06-01"}, overloaded, 529, `"overloaded_error"`, "2"},
		{"connect overloaded", "/tollgate.v1.InferenceService/Chat", map[string]string{"Content-Type": "application/proto"}, overloaded, 503, `"code":"unavailable"`, ""},
		{"grpc overloaded", "/tollgate.v1.InferenceService/Chat", map[string]string{"Content-Type": "application/grpc"}, overloaded, 200, "", ""},
		{"openai too large", "/v1/chat/completions", nil, gateway.ErrTooLarge, 413, `"code":"request_too_large"`, ""},
		{"anthropic too large", "/v1/messages", nil, gateway.ErrTooLarge, 413, `"type":"request_too_large"`, ""},
		{"connect too large", "/tollgate.v1.InferenceService/Chat", map[string]string{"Content-Type": "application/json"}, gateway.ErrTooLarge, 400, `"code":"invalid_argument"`, ""},
		{"gemini overloaded", "/v1beta/models/m:generateContent", nil, overloaded, 503, `"status":"UNAVAILABLE"`, "2"},
		{"gemini too large", "/v1beta/models/m:generateContent", nil, gateway.ErrTooLarge, 400, `"status":"INVALID_ARGUMENT"`, ""},
		{"plain path", "/other", nil, overloaded, 503, "overloaded", "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader("{}"))
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			writeError(w, r, slog.New(slog.DiscardHandler), tt.err)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("status %d body %s, want %d with %s", w.Code, w.Body, tt.status, tt.body)
			}
			if tt.retry != "" && w.Header().Get("Retry-After") != tt.retry {
				t.Errorf("Retry-After = %q, want %q", w.Header().Get("Retry-After"), tt.retry)
			}
			if tt.name == "grpc overloaded" && w.Header().Get("Grpc-Status") != "14" {
				t.Errorf("grpc-status = %q, want 14 (unavailable); headers %v", w.Header().Get("Grpc-Status"), w.Header())
			}
		})
	}
}

// TestLimitListener closes connections beyond the bound at once and frees
// a slot when a connection closes.
func TestLimitListener(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int64
	ln := limitListener(inner, 1, &refused)
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	c1, _ := net.Dial("tcp", inner.Addr().String())
	defer c1.Close()
	first := <-accepted
	c2, _ := net.Dial("tcp", inner.Addr().String())
	defer c2.Close()
	buf := make([]byte, 1)
	_ = c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c2.Read(buf); err == nil {
		t.Fatal("the connection over the bound was not closed")
	}
	if refused.Load() != 1 {
		t.Fatalf("refused = %d, want 1", refused.Load())
	}
	first.Close()
	c3, _ := net.Dial("tcp", inner.Addr().String())
	defer c3.Close()
	select {
	case <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("no slot after a connection closed")
	}
}
