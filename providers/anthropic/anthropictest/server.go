package anthropictest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxBody bounds the request bodies the fake reads (the Messages API
// limit is 32 MB).
const maxBody = 32 << 20

// Request is a request as the fake received it.
type Request struct {
	Method string
	// Path is the URL path with its query, if any.
	Path   string
	Header http.Header
	Body   []byte
}

func (r *Request) clone() Request {
	return Request{Method: r.Method, Path: r.Path, Header: r.Header.Clone(), Body: slices.Clone(r.Body)}
}

// settings are the runtime-adjustable controls.
type settings struct {
	apiKey     string
	latency    time.Duration
	chunkDelay time.Duration
	chunks     int
	reply      string
	thinking   string
	models     []string
	faultFunc  FaultFunc
}

// Option configures a Server.
type Option func(*settings)

// WithAPIKey requires "x-api-key: key"; other requests get a 401
// authentication_error. Empty accepts any request.
func WithAPIKey(key string) Option { return func(s *settings) { s.apiKey = key } }

// WithLatency delays every answer's first byte by d.
func WithLatency(d time.Duration) Option { return func(s *settings) { s.latency = d } }

// WithChunkDelay waits d between stream events.
func WithChunkDelay(d time.Duration) Option { return func(s *settings) { s.chunkDelay = d } }

// WithChunks sets how many deltas a streamed block is split into (default
// 4; fewer when the content is shorter).
func WithChunks(n int) Option { return func(s *settings) { s.chunks = max(n, 1) } }

// WithReply answers every user message with text instead of the echo.
func WithReply(text string) Option { return func(s *settings) { s.reply = text } }

// WithThinking sets the thinking text sent when a request enables
// thinking (default "Thinking about: <last user text>").
func WithThinking(text string) Option { return func(s *settings) { s.thinking = text } }

// WithModels sets the ids GET /v1/models lists.
func WithModels(ids ...string) Option { return func(s *settings) { s.models = slices.Clone(ids) } }

// WithFaultFunc consults f for every request that the fault queue does not
// already fail.
func WithFaultFunc(f FaultFunc) Option { return func(s *settings) { s.faultFunc = f } }

// Server is a fake Anthropic API. It is an http.Handler serving
// POST /v1/messages, POST /v1/messages/count_tokens and GET /v1/models,
// and is safe for concurrent use, including its setters.
type Server struct {
	mu       sync.Mutex
	set      settings
	faults   []Fault
	requests []Request
	// cached holds the prompt prefixes written to the fake prompt cache.
	cached map[uint64]bool

	inFlight  atomic.Int64
	cancelled atomic.Int64
	seq       atomic.Uint64

	done      chan struct{}
	closeOnce sync.Once
}

// New returns a fake configured by opts.
func New(opts ...Option) *Server {
	s := settings{
		chunks: 4,
		models: []string{"claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-opus-4-1-20250805"},
	}
	for _, o := range opts {
		o(&s)
	}
	return &Server{set: s, cached: make(map[uint64]bool), done: make(chan struct{})}
}

// Apply changes settings at runtime with the same options New takes.
func (f *Server) Apply(opts ...Option) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range opts {
		o(&f.set)
	}
}

// Enqueue appends faults; each following request takes the next one.
func (f *Server) Enqueue(faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, faults...)
}

// FailNext makes the next n requests fail with fault.
func (f *Server) FailNext(n int, fault Fault) {
	for range n {
		f.Enqueue(fault)
	}
}

// Requests returns copies of the requests received so far, oldest first.
func (f *Server) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Request, len(f.requests))
	for i := range f.requests {
		out[i] = f.requests[i].clone()
	}
	return out
}

// LastRequest returns a copy of the latest request, false if none came.
func (f *Server) LastRequest() (Request, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return Request{}, false
	}
	return f.requests[len(f.requests)-1].clone(), true
}

// InFlight returns the number of requests being handled.
func (f *Server) InFlight() int { return int(f.inFlight.Load()) }

// Cancelled returns the number of requests whose client went away before
// the answer was complete.
func (f *Server) Cancelled() int { return int(f.cancelled.Load()) }

// Close releases hanging and delayed handlers; it does not stop a server
// using the fake. It is safe to call more than once.
func (f *Server) Close() { f.closeOnce.Do(func() { close(f.done) }) }

// ServeHTTP implements http.Handler.
func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	defer func() {
		if r.Context().Err() != nil {
			f.cancelled.Add(1)
		}
	}()

	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return // the client went away while sending
	}
	req := Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	s := f.set
	f.mu.Unlock()

	x := &exchange{f: f, s: &s, w: w, r: r, body: body, requestID: f.nextID("req_fake")}
	w.Header().Set("request-id", x.requestID)
	route := strings.TrimSuffix(r.URL.Path, "/")
	method := routeMethod(route)
	switch {
	case method == "":
		x.fail(http.StatusNotFound, "not_found_error", "Not Found")
		return
	case r.Method != method:
		x.fail(http.StatusMethodNotAllowed, "invalid_request_error", fmt.Sprintf("Method Not Allowed: %s %s", r.Method, route))
		return
	case s.apiKey != "" && r.Header.Get("x-api-key") != s.apiKey:
		x.fail(http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
		return
	case r.Header.Get("anthropic-version") == "":
		x.fail(http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
		return
	case len(body) > maxBody:
		x.fail(http.StatusRequestEntityTooLarge, "request_too_large", "Request exceeds the maximum allowed number of bytes.")
		return
	}

	fault, hasFault := f.nextFault(&req, s.faultFunc)
	if !f.sleep(r.Context(), s.latency) {
		return
	}
	if hasFault {
		switch fault.Kind {
		case FaultStatus:
			x.writeError(fault.Status, &fault)
			return
		case FaultHang:
			f.sleep(r.Context(), time.Duration(1<<63-1))
			return
		case FaultReset:
			reset(w)
			return
		}
		x.fault = &fault
	}
	switch route {
	case pathMessages:
		x.messages()
	case pathCountTokens:
		x.countTokens()
	case pathModels:
		x.models()
	}
}

// The API paths.
const (
	pathMessages    = "/v1/messages"
	pathCountTokens = "/v1/messages/count_tokens"
	pathModels      = "/v1/models"
)

// routeMethod returns the method of an API path, "" for unknown paths.
func routeMethod(path string) string {
	switch path {
	case pathMessages, pathCountTokens:
		return http.MethodPost
	case pathModels:
		return http.MethodGet
	}
	return ""
}

func (f *Server) nextFault(r *Request, fn FaultFunc) (Fault, bool) {
	f.mu.Lock()
	if len(f.faults) > 0 {
		fault := f.faults[0]
		f.faults = f.faults[1:]
		f.mu.Unlock()
		return fault, true
	}
	f.mu.Unlock()
	if fn != nil {
		return fn(r)
	}
	return Fault{}, false
}

// sleep waits d; false when the client went away or the fake was closed.
func (f *Server) sleep(ctx context.Context, d time.Duration) bool {
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
	case <-f.done:
		return false
	}
}

// nextID returns a fresh id with prefix.
func (f *Server) nextID(prefix string) string {
	return fmt.Sprintf("%s_%016d", prefix, f.seq.Add(1))
}

// exchange is one request being answered.
type exchange struct {
	f         *Server
	s         *settings
	w         http.ResponseWriter
	r         *http.Request
	body      []byte
	requestID string
	fault     *Fault
}

// writeJSON writes v with status and extra headers.
func (x *exchange) writeJSON(status int, v any, extra http.Header) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(x.w, err.Error(), http.StatusInternalServerError)
		return
	}
	for k, vs := range extra {
		x.w.Header()[http.CanonicalHeaderKey(k)] = vs
	}
	x.w.Header().Set("Content-Type", "application/json")
	x.w.WriteHeader(status)
	_, _ = x.w.Write(b)
}

// writeError writes the fault's error body.
func (x *exchange) writeError(status int, f *Fault) {
	x.writeJSON(status, f.body(x.requestID), f.Header)
}

// fail writes an error body of errType.
func (x *exchange) fail(status int, errType, msg string) {
	x.writeError(status, &Fault{Type: errType, Message: msg})
}

// invalid writes a 400 invalid_request_error.
func (x *exchange) invalid(format string, args ...any) {
	x.fail(http.StatusBadRequest, "invalid_request_error", fmt.Sprintf(format, args...))
}

// reset closes the connection abruptly, with a TCP RST where possible.
// Without hijacking (HTTP/2) it aborts the handler instead.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
