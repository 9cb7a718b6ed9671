// Package fakehttp is the machinery the fake upstreams share: the record
// of requests received, the in-flight and cancelled counters, waits
// (latency, hangs) that end with the request or the fake, connection
// resets, and the queue of injected faults.
//
// Each fake keeps its own routes, settings, wire types and faults; this
// package only holds what does not depend on the API a fake imitates.
package fakehttp

import (
	"context"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Forever is a wait that only the request or the fake ends.
const Forever = time.Duration(1<<63 - 1)

// Request is a request as a fake received it.
type Request struct {
	Method string
	// Path is the URL path with its query, if any.
	Path   string
	Header http.Header
	Body   []byte
}

// NewRequest returns the record of r with body, the body as read.
func NewRequest(r *http.Request, body []byte) Request {
	return Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body}
}

// Clone returns a deep copy of r.
func (r *Request) Clone() Request {
	return Request{Method: r.Method, Path: r.Path, Header: r.Header.Clone(), Body: slices.Clone(r.Body)}
}

// Recorder records requests. It is safe for concurrent use; the zero value
// is ready to use.
type Recorder struct {
	mu       sync.Mutex
	requests []Request
}

// Record appends r.
func (rec *Recorder) Record(r Request) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.requests = append(rec.requests, r)
}

// Requests returns copies of the requests recorded so far, oldest first.
func (rec *Recorder) Requests() []Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := make([]Request, len(rec.requests))
	for i := range rec.requests {
		out[i] = rec.requests[i].Clone()
	}
	return out
}

// Last returns a copy of the latest request, false if none was recorded.
func (rec *Recorder) Last() (Request, bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.requests) == 0 {
		return Request{}, false
	}
	return rec.requests[len(rec.requests)-1].Clone(), true
}

// Queue is a first-in first-out queue of faults of type F. It is safe for
// concurrent use; the zero value is ready to use.
type Queue[F any] struct {
	mu    sync.Mutex
	items []F
}

// Push appends faults.
func (q *Queue[F]) Push(faults ...F) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, faults...)
}

// Next takes the first queued fault; when the queue is empty it asks fn,
// if not nil, whether r should fail.
func (q *Queue[F]) Next(r *Request, fn func(*Request) (F, bool)) (F, bool) {
	q.mu.Lock()
	if len(q.items) > 0 {
		f := q.items[0]
		q.items = q.items[1:]
		q.mu.Unlock()
		return f, true
	}
	q.mu.Unlock()
	if fn != nil {
		return fn(r)
	}
	var zero F
	return zero, false
}

// Lifecycle counts the requests a fake handles and ends its waits when the
// fake is closed. It is safe for concurrent use; the zero value is ready
// to use.
type Lifecycle struct {
	inFlight  atomic.Int64
	cancelled atomic.Int64

	initOnce  sync.Once
	done      chan struct{}
	closeOnce sync.Once
}

// Begin counts r as in flight until the returned function is called,
// typically deferred by the handler; r counts as cancelled if its client
// went away by then.
func (l *Lifecycle) Begin(r *http.Request) (end func()) {
	l.inFlight.Add(1)
	return func() {
		if r.Context().Err() != nil {
			l.cancelled.Add(1)
		}
		l.inFlight.Add(-1)
	}
}

// InFlight returns the number of requests being handled.
func (l *Lifecycle) InFlight() int { return int(l.inFlight.Load()) }

// Cancelled returns the number of requests whose client went away before
// the answer was complete.
func (l *Lifecycle) Cancelled() int { return int(l.cancelled.Load()) }

// Close releases hanging and delayed handlers. It is safe to call more
// than once.
func (l *Lifecycle) Close() { l.closeOnce.Do(func() { close(l.doneChan()) }) }

func (l *Lifecycle) doneChan() chan struct{} {
	l.initOnce.Do(func() { l.done = make(chan struct{}) })
	return l.done
}

// Sleep waits d ([Forever] for a hang); false when the client went away
// (ctx is the request's) or the fake was closed.
func (l *Lifecycle) Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-l.doneChan():
		return false
	}
}

// Reset closes the connection abruptly, with a TCP RST where possible.
// Without hijacking (HTTP/2) it aborts the handler instead.
func Reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
