package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/store"
)

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAccessLog: lines reach the writer in batches, successful requests are
// sampled, errors always written, and a full buffer drops lines instead of
// blocking.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	cfg := DefaultConfig()
	cfg.LogSampleSuccess = 0
	a := newAccessLog(&out, nil, cfg)
	r := httptest.NewRequest("POST", "/v1/chat/completions", nil)
	r = r.WithContext(gateway.WithRequestID(context.Background(), "req_test"))
	a.record(r, 200, time.Millisecond, nil)                                   // sampled out
	a.record(r, 503, time.Millisecond, nil)                                   // always
	a.record(r, 200, time.Millisecond, &gateway.Note{RPCCode: "unavailable"}) // a failed RPC: always
	if out.String() != "" {
		t.Fatal("written synchronously")
	}
	a.flush()
	got := out.String()
	if strings.Count(got, "\n") != 2 || !strings.Contains(got, `"status":503`) || !strings.Contains(got, `"request_id":"req_test"`) ||
		!strings.Contains(got, `"rpc_code":"unavailable"`) {
		t.Fatalf("log = %q", got)
	}

	w := newAsyncWriter(io.Discard, 10)
	_, _ = w.Write([]byte("0123456789"))
	_, _ = w.Write([]byte("x"))
	if w.dropped.Load() != 1 {
		t.Fatalf("dropped = %d, want 1", w.dropped.Load())
	}
}

// TestAppendAccessLine: the access log's own encoder writes what slog's
// JSON handler would, escapes included.
func TestAppendAccessLine(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 12, 0, 0, 123456789, time.UTC)
	e := &accessEntry{t: at, id: "req_1", method: "POST", path: "/v1/x\"y\\z\n\x01é\xff", status: 503,
		d: 1500 * time.Microsecond, proto: "HTTP/2.0", traceID: "0af7651916cd43dd8448eb211c80319c",
		rec: &store.Record{Surface: "openai", Operation: "chat", TeamID: "search", ServiceID: "ranker", KeyID: "key_1", EndUser: "u\"1",
			RequestedModel: "smart", Model: "gpt-x-2026", Provider: "oai", Attempts: 2, InputTokens: 12, OutputTokens: 30,
			CostNanos: 123456, TTFT: 250 * time.Microsecond, CacheStatus: "miss", ErrorCode: "upstream_server", CachedInputTokens: 4, Partial: true,
			Guardrails: []store.GuardrailVerdict{{Policy: "p", Guardrail: "pii", Stage: "input", Action: "flag"}}}}
	line := appendAccessLine(nil, e)
	var got map[string]any
	if err := json.Unmarshal(line, &got); err != nil || line[len(line)-1] != '\n' {
		t.Fatalf("not a JSON line: %q (%v)", line, err)
	}
	want := map[string]any{"time": "2026-12-06T12:00:00.123456789Z", "level": "INFO", "msg": "request", "request_id": "req_1",
		"method": "POST", "path": "/v1/x\"y\\z\n\x01é\ufffd", "status": float64(503), "latency_ms": 1.5, "proto": "HTTP/2.0",
		"trace_id": "0af7651916cd43dd8448eb211c80319c", "surface": "openai", "operation": "chat", "team": "search", "service": "ranker",
		"key_id": "key_1", "end_user": "u\"1", "model": "smart", "served_model": "gpt-x-2026", "provider": "oai", "attempts": float64(2),
		"input_tokens": float64(12), "output_tokens": float64(30), "cost_usd": 0.000123456, "ttft_ms": 0.25, "cache": "miss",
		"error": "upstream_server"}
	if g, _ := got["guardrails"].([]any); len(g) != 1 || g[0] != "p/pii:input:flag" {
		t.Errorf("guardrails = %#v", got["guardrails"])
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	// The embedded server's path (the caller's logger, accessEntry.attrs)
	// writes the same line through slog's JSON handler: same keys in the
	// same order, same values.
	var viaSlog bytes.Buffer
	newJSONLogger(&viaSlog, "info").LogAttrs(context.Background(), slog.LevelInfo, "request", e.attrs()...)
	var sl map[string]any
	if err := json.Unmarshal(viaSlog.Bytes(), &sl); err != nil {
		t.Fatal(err)
	}
	sl["time"] = got["time"]
	if !reflect.DeepEqual(sl, got) {
		t.Errorf("through slog:\n%v\nown encoder:\n%v", sl, got)
	}
	if k1, k2 := jsonKeys(t, viaSlog.Bytes()), jsonKeys(t, line); !slices.Equal(k1, k2) {
		t.Errorf("key order through slog %v, own encoder %v", k1, k2)
	}
}

// jsonKeys returns the top-level keys of a JSON object in their order.
func jsonKeys(t *testing.T, b []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	var keys []string
	if _, err := d.Token(); err != nil {
		t.Fatal(err)
	}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// BenchmarkAccessLog compares one access-log line written synchronously
// (the logger writing each line to a file, as before) with the buffered
// writer (lines appended to memory, written in batches by a goroutine),
// both ending in a file on disk.
func BenchmarkAccessLog(b *testing.B) {
	for _, async := range []bool{false, true} {
		name := "sync"
		if async {
			name = "async"
		}
		b.Run(name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			cfg := DefaultConfig()
			var a *accessLog
			if async {
				a = newAccessLog(f, nil, cfg)
				done := make(chan struct{})
				defer close(done)
				go a.async.run(done)
			} else {
				a = newAccessLog(nil, newJSONLogger(f, "info"), cfg)
			}
			r := httptest.NewRequest("POST", "/v1/chat/completions", nil)
			r = r.WithContext(gateway.WithRequestID(context.Background(), gateway.NewRequestID()))
			b.ReportAllocs()
			c0 := processCPU()
			for b.Loop() {
				a.record(r, 200, time.Millisecond, nil)
			}
			a.flush()
			b.ReportMetric(float64((processCPU()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(a.dropped()), "dropped")
		})
	}
}
