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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/gateway"
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
	a.record(r, 200, time.Millisecond) // sampled out
	a.record(r, 503, time.Millisecond) // always
	if out.String() != "" {
		t.Fatal("written synchronously")
	}
	a.flush()
	got := out.String()
	if strings.Count(got, "\n") != 1 || !strings.Contains(got, `"status":503`) || !strings.Contains(got, `"request_id":"req_test"`) {
		t.Fatalf("log = %q", got)
	}

	w := newAsyncWriter(io.Discard, 10)
	_, _ = w.Write([]byte("0123456789"))
	_, _ = w.Write([]byte("x"))
	if w.dropped.Load() != 1 {
		t.Fatalf("dropped = %d, want 1", w.dropped.Load())
	}
}

// BenchmarkAccessLog compares one access-log line written synchronously
// (the logger writing each line to a file, as before) with the buffered
// writer (lines appended to memory, written in batches by a goroutine),
// both ending in a file on disk.
// TestAppendAccessLine: the access log's own encoder writes what slog's
// JSON handler would, escapes included.
func TestAppendAccessLine(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 12, 0, 0, 123456789, time.UTC)
	line := appendAccessLine(nil, at, "req_1", "POST", "/v1/x\"y\\z\n\x01é\xff", 503, 1500*time.Microsecond, "HTTP/2.0")
	var got map[string]any
	if err := json.Unmarshal(line, &got); err != nil || line[len(line)-1] != '\n' {
		t.Fatalf("not a JSON line: %q (%v)", line, err)
	}
	want := map[string]any{"time": "2026-12-06T12:00:00.123456789Z", "level": "INFO", "msg": "request", "request_id": "req_1",
		"method": "POST", "path": "/v1/x\"y\\z\n\x01é\ufffd", "status": float64(503), "duration": float64(1500000), "proto": "HTTP/2.0"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	var viaSlog bytes.Buffer
	newJSONLogger(&viaSlog, "info").LogAttrs(context.Background(), slog.LevelInfo, "request", slog.String("request_id", "req_1"))
	var sl map[string]any
	if err := json.Unmarshal(viaSlog.Bytes(), &sl); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"time", "level", "msg", "request_id"} {
		if _, ok := sl[k]; !ok {
			t.Errorf("slog's line has no %q: the formats drifted", k)
		}
	}
}

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
				a.record(r, 200, time.Millisecond)
			}
			a.flush()
			b.ReportMetric(float64((processCPU()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(a.dropped()), "dropped")
		})
	}
}
