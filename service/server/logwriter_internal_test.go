package server

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
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

func BenchmarkAccessLog(b *testing.B) {
	cfg := DefaultConfig()
	a := newAccessLog(io.Discard, nil, cfg)
	r := httptest.NewRequest("POST", "/v1/chat/completions", nil)
	r = r.WithContext(gateway.WithRequestID(context.Background(), gateway.NewRequestID()))
	done := make(chan struct{})
	go a.async.run(done)
	defer close(done)
	b.ReportAllocs()
	for b.Loop() {
		a.record(r, 200, time.Millisecond)
	}
}
