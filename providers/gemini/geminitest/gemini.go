package geminitest

import (
	"github.com/tollgate-dev/tollgate/internal/apischema"

	"fmt"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream/fakehttp"
)

// maxBody bounds the request bodies the fake reads.
const maxBody = 32 << 20

// SkipSignatureValidator is the thought signature Google documents for
// function calls whose real signature is unavailable; the fake accepts it
// like an issued one.
const SkipSignatureValidator = "skip_thought_signature_validator"

// Request is a request as the fake received it.
type Request = fakehttp.Request

// settings are the runtime-adjustable controls.
type settings struct {
	latency    time.Duration
	eventDelay time.Duration
	chunks     int
	reply      string
	thoughts   string
	apiKey     string
	dims       int
	embed      func(input string) []float32
	models     []string
	signatures bool
	callIDs    bool
	faultFunc  FaultFunc
}

// Option configures a Gemini fake.
type Option func(*settings)

// WithLatency delays every answer's first byte by d.
func WithLatency(d time.Duration) Option { return func(s *settings) { s.latency = d } }

// WithEventDelay waits d between stream events.
func WithEventDelay(d time.Duration) Option { return func(s *settings) { s.eventDelay = d } }

// WithChunks sets how many events a streamed text reply is split into
// (default 4; fewer when the reply is shorter).
func WithChunks(n int) Option { return func(s *settings) { s.chunks = max(n, 1) } }

// WithReply answers every user message with text instead of the echo.
func WithReply(text string) Option { return func(s *settings) { s.reply = text } }

// WithThoughts makes the model think text before answering: its tokens
// count as thoughtsTokenCount, and it is returned as a thought part when
// the request sets thinkingConfig.includeThoughts.
func WithThoughts(text string) Option { return func(s *settings) { s.thoughts = text } }

// WithAPIKey requires the key in the x-goog-api-key header (or the key
// query parameter). A request without a key gets 403 PERMISSION_DENIED, a
// wrong key 400 INVALID_ARGUMENT with reason API_KEY_INVALID, as upstream.
// Empty accepts any request.
func WithAPIKey(key string) Option { return func(s *settings) { s.apiKey = key } }

// WithEmbedDimensions sets the default embedding dimension (default 8).
func WithEmbedDimensions(n int) Option { return func(s *settings) { s.dims = max(n, 1) } }

// WithEmbedFunc computes embeddings with f instead of hashing.
func WithEmbedFunc(f func(input string) []float32) Option { return func(s *settings) { s.embed = f } }

// WithModels sets the models the fake serves and lists; names containing
// "embedding" serve embeddings, the others content generation.
func WithModels(names ...string) Option { return func(s *settings) { s.models = slices.Clone(names) } }

// WithThoughtSignatures makes the fake behave like Gemini 3: function calls
// carry a thoughtSignature, and a request that replays a model turn whose
// first function call lacks a signature this fake issued (or
// SkipSignatureValidator) is rejected with 400.
func WithThoughtSignatures(on bool) Option { return func(s *settings) { s.signatures = on } }

// WithCallIDs makes function calls carry an id.
func WithCallIDs(on bool) Option { return func(s *settings) { s.callIDs = on } }

// WithFaultFunc consults f for every request that the fault queue does not
// already fail.
func WithFaultFunc(f FaultFunc) Option { return func(s *settings) { s.faultFunc = f } }

// Gemini is a fake Gemini API. It is an http.Handler and safe for
// concurrent use, including its setters.
type Gemini struct {
	mu         sync.Mutex
	set        settings
	signatures map[string]bool

	faults   fakehttp.Queue[Fault]
	requests fakehttp.Recorder
	life     fakehttp.Lifecycle
	seq      atomic.Uint64
}

// New returns a fake configured by opts.
func New(opts ...Option) *Gemini {
	s := settings{
		chunks: 4,
		dims:   8,
		models: []string{"gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview", "gemini-embedding-001", "text-embedding-004"},
	}
	for _, o := range opts {
		o(&s)
	}
	return &Gemini{set: s, signatures: make(map[string]bool)}
}

// Apply changes settings at runtime with the same options New takes.
func (g *Gemini) Apply(opts ...Option) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, opt := range opts {
		opt(&g.set)
	}
}

// Enqueue appends faults; each following request takes the next one.
func (g *Gemini) Enqueue(faults ...Fault) { g.faults.Push(faults...) }

// Requests returns copies of the requests received so far, oldest first.
func (g *Gemini) Requests() []Request { return g.requests.Requests() }

// LastRequest returns a copy of the latest request, false if none came.
func (g *Gemini) LastRequest() (Request, bool) { return g.requests.Last() }

// InFlight returns the number of requests being handled.
func (g *Gemini) InFlight() int { return g.life.InFlight() }

// Cancelled returns the number of requests whose client went away before
// the answer was complete.
func (g *Gemini) Cancelled() int { return g.life.Cancelled() }

// Close releases hanging and delayed handlers; it does not stop a server
// using the fake. It is safe to call more than once.
func (g *Gemini) Close() { g.life.Close() }

// route is a parsed request path.
type route struct {
	version string
	model   string // without "models/"
	method  string // generateContent, ..., or "list"
}

// parseRoute accepts /{version}/models and /{version}/models/{model}:{method}.
func parseRoute(path string) (route, bool) {
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return route{}, false
	}
	version, rest, ok := strings.Cut(rest, "/")
	if !ok || (version != "v1beta" && version != "v1" && version != "v1alpha") {
		return route{}, false
	}
	if rest == "models" || rest == "models/" {
		return route{version: version, method: "list"}, true
	}
	name, ok := strings.CutPrefix(rest, "models/")
	if !ok {
		return route{}, false
	}
	model, method, ok := strings.Cut(name, ":")
	if !ok || model == "" || strings.Contains(model, "/") {
		return route{}, false
	}
	return route{version: version, model: model, method: method}, true
}

// methods lists the methods a model supports.
func methods(model string) []string {
	if strings.Contains(model, "embedding") {
		return []string{"embedContent", "batchEmbedContents", "countTextTokens"}
	}
	return []string{"generateContent", "streamGenerateContent", "countTokens"}
}

// ServeHTTP implements http.Handler.
func (g *Gemini) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer g.life.Begin(r)()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return // the client went away while sending
	}
	req := fakehttp.NewRequest(r, body)
	g.requests.Record(req)
	g.mu.Lock()
	s := g.set
	g.mu.Unlock()

	rt, ok := parseRoute(r.URL.Path)
	if !ok {
		writeError(w, schema.Status{Code: http.StatusNotFound, Status: "NOT_FOUND",
			Message: fmt.Sprintf("The requested URL %s was not found on this server.", r.URL.Path)}, nil)
		return
	}
	if !g.authorized(w, r, &s) {
		return
	}
	wantMethod := http.MethodPost
	if rt.method == "list" {
		wantMethod = http.MethodGet
	}
	if r.Method != wantMethod {
		writeError(w, schema.Status{Code: http.StatusMethodNotAllowed, Status: "INVALID_ARGUMENT",
			Message: fmt.Sprintf("Method %s is not allowed for %s", r.Method, r.URL.Path)}, nil)
		return
	}
	if rt.method != "list" && (!slices.Contains(s.models, rt.model) || !slices.Contains(methods(rt.model), rt.method)) {
		writeError(w, schema.Status{Code: http.StatusNotFound, Status: "NOT_FOUND", Message: fmt.Sprintf(
			"models/%s is not found for API version %s, or is not supported for %s. Call ListModels to see the list of available models and their supported methods.",
			rt.model, rt.version, rt.method)}, nil)
		return
	}

	fault, hasFault := g.faults.Next(&req, s.faultFunc)
	if !g.life.Sleep(r.Context(), s.latency) {
		return
	}
	var f *Fault
	if hasFault {
		switch fault.Kind {
		case FaultStatus:
			writeError(w, fault.errorOut(), fault.Header)
			return
		case FaultHang:
			g.life.Sleep(r.Context(), fakehttp.Forever)
			return
		case FaultReset:
			fakehttp.Reset(w)
			return
		}
		f = &fault
	}
	x := exchange{g: g, s: &s, w: w, r: r, rt: rt, body: body, fault: f}
	switch rt.method {
	case "generateContent":
		x.generate(false)
	case "streamGenerateContent":
		x.generate(true)
	case "embedContent":
		x.embed()
	case "batchEmbedContents":
		x.batchEmbed()
	case "countTokens":
		x.countTokens()
	case "list":
		x.list()
	default:
		x.badRequest("Method %s is not implemented by the fake.", rt.method)
	}
}

// authorized checks the API key the way Google does.
func (g *Gemini) authorized(w http.ResponseWriter, r *http.Request, s *settings) bool {
	if s.apiKey == "" {
		return true
	}
	key := r.Header.Get("x-goog-api-key")
	if key == "" {
		key = r.URL.Query().Get("key")
	}
	switch key {
	case s.apiKey:
		return true
	case "":
		writeError(w, schema.Status{Code: http.StatusForbidden, Status: "PERMISSION_DENIED",
			Message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."}, nil)
	default:
		f := Fault{Status: http.StatusBadRequest, GoogleStatus: "INVALID_ARGUMENT",
			Message: "API key not valid. Please pass a valid API key.", Reason: "API_KEY_INVALID"}
		writeError(w, f.errorOut(), nil)
	}
	return false
}

// nextID returns a fresh id with prefix.
func (g *Gemini) nextID(prefix string) string {
	return fmt.Sprintf("%s%08d", prefix, g.seq.Add(1))
}

// issueSignature returns a new thought signature and remembers it.
func (g *Gemini) issueSignature() string {
	sig := fmt.Sprintf("CiQB%08dZmFrZS10aG91Z2h0LXNpZ25hdHVyZQ==", g.seq.Add(1))
	g.mu.Lock()
	g.signatures[sig] = true
	g.mu.Unlock()
	return sig
}

// knownSignature reports a signature this fake issued.
func (g *Gemini) knownSignature(sig string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.signatures[sig]
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
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e schema.Status, extra http.Header) {
	writeJSON(w, e.Code, &schema.ErrorBody{Error: &e}, extra)
}
