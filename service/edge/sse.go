package edge

import (
	"net/http"
	"sync"
	"time"

	"github.com/tollgate-dev/tollgate/service/gateway"
)

// SetStreamHeaders sets the headers of a stream's 200 answer: the event
// stream's (contentType, no caching, no buffering by proxies) and the
// served, cache, guardrail and dropped-parameter headers of st.
func SetStreamHeaders(hd http.Header, contentType string, st *gateway.Stream) {
	hd.Set("Content-Type", contentType)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	SetServedHeaders(hd, st.Provider, st.Model, st.Route, st.Attempts)
	SetCacheHeaders(hd, st.CacheStatus, st.CacheScore)
	SetGuardrailHeader(hd, st.Guardrails())
	SetDroppedHeader(hd, st.Dropped)
}

// SSE writes the events of a streamed answer whose headers are set. An
// event is written and, when asked, flushed; else it waits in the server's
// buffer for a later flush, so that events produced together reach the
// caller in one write. With KeepAlive, a keep-alive frame goes out (with
// whatever waits) whenever nothing was flushed for a while. The stream's
// handler and the keep-alive timer share it; the first write failure ends
// it.
type SSE struct {
	mu sync.Mutex
	w  http.ResponseWriter
	rc *http.ResponseController
	// The keep-alive: a timer re-armed by every flush (no goroutine
	// waits for it), and the frame it sends.
	timer  *time.Timer
	every  time.Duration
	frame  []byte
	closed bool
	err    error
}

// NewSSE returns the event writer of w.
func NewSSE(w http.ResponseWriter) *SSE {
	return &SSE{w: w, rc: http.NewResponseController(w)}
}

// KeepAlive sends frame (an SSE comment or a dialect's ping event)
// whenever nothing was flushed for every, until Close; not positive: never.
func (s *SSE) KeepAlive(every time.Duration, frame []byte) {
	if every <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.every, s.frame = every, frame
	s.timer = time.AfterFunc(every, s.keepAlive)
}

// keepAlive is the timer's: it sends the frame unless the stream ended.
func (s *SSE) keepAlive() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	_ = s.writeLocked(s.frame, true)
}

// Send writes b and flushes it with whatever waited.
func (s *SSE) Send(b []byte) error { return s.Write(b, true) }

// Hold writes b for a later flush to send.
func (s *SSE) Hold(b []byte) error { return s.Write(b, false) }

// Flush sends what waits.
func (s *SSE) Flush() error { return s.Write(nil, true) }

// Write writes b, and flushes when flush is set. It reports the first
// failure of the stream, after which nothing is written.
func (s *SSE) Write(b []byte, flush bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeLocked(b, flush)
}

func (s *SSE) writeLocked(b []byte, flush bool) error {
	if s.err != nil {
		return s.err
	}
	if len(b) > 0 {
		if _, err := s.w.Write(b); err != nil {
			s.err = err
			return err
		}
	}
	if flush {
		if err := s.rc.Flush(); err != nil {
			s.err = err
			return err
		}
		if s.timer != nil && !s.closed {
			s.timer.Reset(s.every)
		}
	}
	return nil
}

// Close ends the keep-alives: nothing is written by them after it returns.
func (s *SSE) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
}
