package anthropictest

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
)

// maxBody bounds the request bodies the fake reads (the Messages API
// limit is 32 MB).
const maxBody = 32 << 20

// Request is a request as the fake received it.
type Request = fakehttp.Request

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
	mu  sync.Mutex
	set settings
	// cached holds the prompt prefixes written to the fake prompt cache.
	cached map[uint64]bool

	faults   fakehttp.Queue[Fault]
	requests fakehttp.Recorder
	life     fakehttp.Lifecycle
	seq      atomic.Uint64
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
	return &Server{set: s, cached: make(map[uint64]bool)}
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
func (f *Server) Enqueue(faults ...Fault) { f.faults.Push(faults...) }

// FailNext makes the next n requests fail with fault.
func (f *Server) FailNext(n int, fault Fault) {
	for range n {
		f.Enqueue(fault)
	}
}

// Requests returns copies of the requests received so far, oldest first.
func (f *Server) Requests() []Request { return f.requests.Requests() }

// LastRequest returns a copy of the latest request, false if none came.
func (f *Server) LastRequest() (Request, bool) { return f.requests.Last() }

// InFlight returns the number of requests being handled.
func (f *Server) InFlight() int { return f.life.InFlight() }

// Cancelled returns the number of requests whose client went away before
// the answer was complete.
func (f *Server) Cancelled() int { return f.life.Cancelled() }

// Close releases hanging and delayed handlers; it does not stop a server
// using the fake. It is safe to call more than once.
func (f *Server) Close() { f.life.Close() }

// ServeHTTP implements http.Handler.
func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer f.life.Begin(r)()

	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return // the client went away while sending
	}
	req := fakehttp.NewRequest(r, body)
	f.requests.Record(req)
	f.mu.Lock()
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

	fault, hasFault := f.faults.Next(&req, s.faultFunc)
	if !f.life.Sleep(r.Context(), s.latency) {
		return
	}
	if hasFault {
		switch fault.Kind {
		case FaultStatus:
			x.writeError(fault.Status, &fault)
			return
		case FaultHang:
			f.life.Sleep(r.Context(), fakehttp.Forever)
			return
		case FaultReset:
			fakehttp.Reset(w)
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
	b, err := apischema.Marshal(v)
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
