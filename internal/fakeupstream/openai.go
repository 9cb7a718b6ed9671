package fakeupstream

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
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
)

// maxBody bounds the request bodies the fake reads.
const maxBody = 32 << 20

// Request is a request as the fake received it.
type Request = fakehttp.Request

// settings are the runtime-adjustable controls.
type settings struct {
	latency     time.Duration
	chunkDelay  time.Duration
	chunks      int
	streamUsage bool
	reply       string
	reasoning   string
	apiKey      string
	dims        int
	embed       func(input string) []float32
	models      []string
	faultFunc   FaultFunc
	quirks      Quirks
}

// Option configures an OpenAI fake.
type Option func(*settings)

// WithLatency delays every answer's first byte by d.
func WithLatency(d time.Duration) Option { return func(s *settings) { s.latency = d } }

// WithChunkDelay waits d between stream events.
func WithChunkDelay(d time.Duration) Option { return func(s *settings) { s.chunkDelay = d } }

// WithChunks sets how many content deltas a streamed reply is split into
// (default 4; fewer when the reply is shorter).
func WithChunks(n int) Option { return func(s *settings) { s.chunks = max(n, 1) } }

// WithStreamUsage sets whether streams end with the usage chunk the request
// asked for (default true); false mimics upstreams that report no stream
// usage.
func WithStreamUsage(on bool) Option { return func(s *settings) { s.streamUsage = on } }

// WithReply answers every user message with text instead of the echo.
func WithReply(text string) Option { return func(s *settings) { s.reply = text } }

// WithReasoning adds visible reasoning (reasoning_content, as vLLM and
// DeepSeek send it) before every text reply.
func WithReasoning(text string) Option { return func(s *settings) { s.reasoning = text } }

// WithAPIKey requires "Authorization: Bearer key"; other requests get a
// 401 invalid_api_key. Empty accepts any request.
func WithAPIKey(key string) Option { return func(s *settings) { s.apiKey = key } }

// WithEmbedDimensions sets the default embedding dimension (default 8).
func WithEmbedDimensions(n int) Option { return func(s *settings) { s.dims = max(n, 1) } }

// WithEmbedFunc computes embeddings with f instead of hashing.
func WithEmbedFunc(f func(input string) []float32) Option { return func(s *settings) { s.embed = f } }

// WithModels sets the ids GET /v1/models lists.
func WithModels(ids ...string) Option { return func(s *settings) { s.models = slices.Clone(ids) } }

// WithFaultFunc consults f for every request that the fault queue does not
// already fail.
func WithFaultFunc(f FaultFunc) Option { return func(s *settings) { s.faultFunc = f } }

// OpenAI is a fake OpenAI upstream. It is an http.Handler serving
// /v1/chat/completions, /v1/responses, /v1/embeddings and /v1/models, and is safe for
// concurrent use, including its setters.
type OpenAI struct {
	mu  sync.Mutex
	set settings

	faults   fakehttp.Queue[Fault]
	requests fakehttp.Recorder
	life     fakehttp.Lifecycle
	seq      atomic.Uint64
}

// NewOpenAI returns a fake configured by opts.
func NewOpenAI(opts ...Option) *OpenAI {
	s := settings{
		chunks:      4,
		streamUsage: true,
		dims:        8,
		models:      []string{"gpt-4o-mini", "gpt-4o", "text-embedding-3-small"},
		quirks:      Quirks{Prefix: "/v1"},
	}
	for _, o := range opts {
		o(&s)
	}
	return &OpenAI{set: s}
}

// Apply changes settings at runtime with the same options NewOpenAI takes.
func (o *OpenAI) Apply(opts ...Option) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, opt := range opts {
		opt(&o.set)
	}
}

// SetLatency changes the delay before the first byte.
func (o *OpenAI) SetLatency(d time.Duration) { o.Apply(WithLatency(d)) }

// SetChunkDelay changes the delay between stream events.
func (o *OpenAI) SetChunkDelay(d time.Duration) { o.Apply(WithChunkDelay(d)) }

// SetChunks changes the number of content deltas.
func (o *OpenAI) SetChunks(n int) { o.Apply(WithChunks(n)) }

// SetStreamUsage turns the final usage chunk on or off.
func (o *OpenAI) SetStreamUsage(on bool) { o.Apply(WithStreamUsage(on)) }

// SetFaultFunc replaces the fault function; nil removes it.
func (o *OpenAI) SetFaultFunc(f FaultFunc) { o.Apply(WithFaultFunc(f)) }

// Enqueue appends faults; each following request takes the next one.
func (o *OpenAI) Enqueue(faults ...Fault) { o.faults.Push(faults...) }

// Requests returns copies of the requests received so far, oldest first.
func (o *OpenAI) Requests() []Request { return o.requests.Requests() }

// LastRequest returns a copy of the latest request, false if none came.
func (o *OpenAI) LastRequest() (Request, bool) { return o.requests.Last() }

// InFlight returns the number of requests being handled.
func (o *OpenAI) InFlight() int { return o.life.InFlight() }

// Cancelled returns the number of requests whose client went away before
// the answer was complete.
func (o *OpenAI) Cancelled() int { return o.life.Cancelled() }

// Close releases hanging and delayed handlers; it does not stop a server
// using the fake. It is safe to call more than once.
func (o *OpenAI) Close() { o.life.Close() }

// ServeHTTP implements http.Handler.
func (o *OpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer o.life.Begin(r)()

	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return // the client went away while sending
	}
	req := fakehttp.NewRequest(r, body)
	o.requests.Record(req)
	o.mu.Lock()
	s := o.set
	o.mu.Unlock()

	route, method := routeOf(s.quirks.Prefix, r.URL.Path)
	if route == "models" && s.quirks.NoModels {
		route = ""
	}
	switch {
	case route == "":
		writeError(w, http.StatusNotFound, errorObject("invalid_request_error", "", "",
			fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path)), nil)
		return
	case r.Method != method:
		writeError(w, http.StatusMethodNotAllowed, errorObject("invalid_request_error", "", "",
			fmt.Sprintf("Invalid method for URL (%s %s)", r.Method, r.URL.Path)), nil)
		return
	case s.apiKey != "" && r.Header.Get("Authorization") != "Bearer "+s.apiKey:
		f := StatusFault(http.StatusUnauthorized)
		writeError(w, f.Status, f.errorObject(), nil)
		return
	}

	fault, hasFault := o.faults.Next(&req, s.faultFunc)
	if !o.life.Sleep(r.Context(), s.latency) {
		o.abandon(w, r)
		return
	}
	if hasFault {
		switch fault.Kind {
		case FaultStatus:
			writeError(w, fault.Status, fault.errorObject(), fault.Header)
			return
		case FaultHang:
			o.life.Sleep(r.Context(), fakehttp.Forever)
			o.abandon(w, r)
			return
		case FaultReset:
			fakehttp.Reset(w)
			return
		}
	}
	var f *Fault
	if hasFault {
		f = &fault
	}
	x := exchange{o: o, s: &s, w: w, r: r, body: body, fault: f}
	switch route {
	case "chat":
		x.chat()
	case "completions":
		x.completions()
	case "moderations":
		x.moderations()
	case "embeddings":
		x.embeddings()
	case "models":
		x.models()
	case "responses":
		x.responses()
	}
}

// routeOf maps a path to a route and its method.
func routeOf(prefix, path string) (route, method string) {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(path, "/"), prefix)
	if !ok {
		return "", ""
	}
	switch rest {
	case "/chat/completions":
		return "chat", http.MethodPost
	case "/completions":
		return "completions", http.MethodPost
	case "/moderations":
		return "moderations", http.MethodPost
	case "/embeddings":
		return "embeddings", http.MethodPost
	case "/responses":
		return "responses", http.MethodPost
	case "/models":
		return "models", http.MethodGet
	}
	return "", ""
}

// abandon ends a request interrupted by Close with a reset connection, so
// that the client sees a failure rather than an empty answer. Requests the
// client cancelled need nothing more.
func (o *OpenAI) abandon(w http.ResponseWriter, r *http.Request) {
	if r.Context().Err() == nil {
		fakehttp.Reset(w)
	}
}

// nextID returns a fresh id with prefix.
func (o *OpenAI) nextID(prefix string) string {
	return fmt.Sprintf("%s%08d", prefix, o.seq.Add(1))
}

// writeJSON writes v with status and extra headers.
func writeJSON(w http.ResponseWriter, status int, v any, extra http.Header) {
	b, err := apischema.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for k, vs := range extra {
		w.Header()[http.CanonicalHeaderKey(k)] = vs
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, e schema.ErrorObject, extra http.Header) {
	writeJSON(w, status, &schema.ErrorBody{Error: &e}, extra)
}
