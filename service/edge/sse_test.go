package edge_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-dev/tollgate/service/edge"
)

// recorder is a ResponseRecorder that counts flushes, safe to read while
// the keep-alive timer writes (SSE serialises the writes themselves).
type recorder struct {
	mu sync.Mutex
	*httptest.ResponseRecorder
	flushes []string // the body at each flush
	fail    bool
}

func newRecorder() *recorder { return &recorder{ResponseRecorder: httptest.NewRecorder()} }

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return 0, errors.New("connection reset")
	}
	return r.ResponseRecorder.Write(b)
}

func (r *recorder) FlushError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushes = append(r.flushes, r.Body.String())
	return nil
}

func (r *recorder) state() (string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Body.String(), append([]string(nil), r.flushes...)
}

var _ http.ResponseWriter = (*recorder)(nil)

// TestSSEWrites: held events go out with the next flush, a failure ends
// the stream.
func TestSSEWrites(t *testing.T) {
	rec := newRecorder()
	s := edge.NewSSE(rec)
	for _, step := range []func() error{
		func() error { return s.Hold([]byte("a\n\n")) },
		func() error { return s.Hold([]byte("b\n\n")) },
		func() error { return s.Send([]byte("c\n\n")) },
		func() error { return s.Write([]byte("d\n\n"), false) },
		s.Flush,
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	body, flushes := rec.state()
	if body != "a\n\nb\n\nc\n\nd\n\n" || len(flushes) != 2 || flushes[0] != "a\n\nb\n\nc\n\n" {
		t.Fatalf("body %q, flushed at %q", body, flushes)
	}
	rec.mu.Lock()
	rec.fail = true
	rec.mu.Unlock()
	if err := s.Send([]byte("e\n\n")); err == nil {
		t.Fatal("a failed write was not reported")
	}
	rec.mu.Lock()
	rec.fail = false
	rec.mu.Unlock()
	if err := s.Send([]byte("f\n\n")); err == nil {
		t.Fatal("a write after a failure was not refused")
	}
	if body, _ := rec.state(); strings.Contains(body, "f") {
		t.Fatalf("written after a failure: %q", body)
	}
}

// TestSSEKeepAlive: an idle stream gets keep-alive frames (flushing what
// was held), a busy one does not, and none comes after Close.
func TestSSEKeepAlive(t *testing.T) {
	const every = 10 * time.Millisecond
	frame := []byte(": keep-alive\n\n")
	tests := []struct {
		name string
		// run drives the stream for 55 ms of fake time.
		run  func(s *edge.SSE)
		want int // keep-alive frames
	}{
		{"idle", func(*edge.SSE) { time.Sleep(55 * time.Millisecond) }, 5},
		{"busy", func(s *edge.SSE) {
			for range 11 {
				time.Sleep(5 * time.Millisecond)
				_ = s.Send([]byte("data: x\n\n"))
			}
		}, 0},
		{"held events are no activity", func(s *edge.SSE) {
			for range 11 {
				time.Sleep(5 * time.Millisecond)
				_ = s.Hold([]byte("data: x\n\n"))
			}
		}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newRecorder()
				s := edge.NewSSE(rec)
				s.KeepAlive(every, frame)
				tt.run(s) // fake time: the synctest bubble's clock
				s.Close()
				synctest.Wait()
				body, _ := rec.state()
				if n := strings.Count(body, string(frame)); n != tt.want {
					t.Errorf("%d keep-alives, want %d: %q", n, tt.want, body)
				}
				time.Sleep(5 * every) // fake time: nothing may be written after Close
				synctest.Wait()
				if after, _ := rec.state(); after != body {
					t.Errorf("written after Close: %q", strings.TrimPrefix(after, body))
				}
			})
		})
	}
}

// TestSSEKeepAliveOff: a non-positive interval sends none.
func TestSSEKeepAliveOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder()
		s := edge.NewSSE(rec)
		s.KeepAlive(0, []byte(": keep-alive\n\n"))
		time.Sleep(time.Hour) // fake time
		s.Close()
		if body, _ := rec.state(); body != "" {
			t.Errorf("body %q", body)
		}
	})
}
