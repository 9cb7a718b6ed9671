package openaiapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	"github.com/tollgate-dev/tollgate/internal/readall"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// DefaultKeepAlive is the idle time after which a stream gets a
// ": keep-alive" comment.
const DefaultKeepAlive = 15 * time.Second

// Attribution headers a caller may send.
const (
	// HeaderEndUser names the end user the request is made for.
	HeaderEndUser = edge.HeaderEndUser
	// HeaderTags holds comma-separated tags for usage reports.
	HeaderTags = edge.HeaderTags
	// HeaderProvider is set on answers to the provider that served them.
	HeaderProvider = edge.HeaderProvider
)

// Handler serves the OpenAI-compatible API. It only decodes, calls the
// engine and encodes; it holds no per-request state and is safe for
// concurrent use.
type Handler struct {
	engine    *gateway.Engine
	log       *slog.Logger
	keepAlive time.Duration
	now       func() time.Time
	mux       *http.ServeMux
}

// Option configures a Handler.
type Option func(*Handler)

// WithLogger sets the logger for internal errors.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithKeepAlive sets the stream idle keep-alive interval (DefaultKeepAlive
// by default); zero or less disables keep-alives.
func WithKeepAlive(d time.Duration) Option { return func(h *Handler) { h.keepAlive = d } }

// WithClock replaces time.Now for the created timestamps, for tests.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// New returns a Handler calling engine.
func New(engine *gateway.Engine, opts ...Option) *Handler {
	h := &Handler{engine: engine, log: slog.New(slog.DiscardHandler), keepAlive: DefaultKeepAlive, now: time.Now}
	for _, o := range opts {
		o(h)
	}
	h.mux = http.NewServeMux()
	h.Mount(h.mux)
	return h
}

// Mount registers the API on mux: /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/moderations,
// /v1/models, /v1/models/{model}, and a /v1/ fallback that answers unknown
// paths with 404 in OpenAI's error shape. More specific /v1/ patterns of
// other surfaces (such as /v1/messages) take precedence over the fallback.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("/v1/chat/completions", h.only(http.MethodPost, h.chatCompletions))
	mux.HandleFunc("/v1/completions", h.only(http.MethodPost, h.completions))
	mux.HandleFunc("/v1/embeddings", h.only(http.MethodPost, h.embeddings))
	mux.HandleFunc("/v1/moderations", h.only(http.MethodPost, h.moderations))
	mux.HandleFunc("/v1/models", h.only(http.MethodGet, h.listModels))
	mux.HandleFunc("/v1/models/{model...}", h.only(http.MethodGet, h.getModel))
	mux.HandleFunc("/v1/", h.notFound)
}

// ServeHTTP serves the API on its own, for tests and embedding.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// only answers other methods with 405 in OpenAI's error shape.
func (h *Handler) only(method string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			h.writeError(w, r, &apiError{Status: http.StatusMethodNotAllowed, Type: typeInvalidRequest,
				Code: "method_not_allowed", Message: "Invalid method for URL (" + r.Method + " " + r.URL.Path + "); use " + method})
			return
		}
		next(w, r)
	}
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.writeError(w, r, &apiError{Status: http.StatusNotFound, Type: typeInvalidRequest, Code: "unknown_url",
		Message: "Invalid URL (" + r.Method + " " + r.URL.Path + ")"})
}

// call builds the engine's view of the caller from the request headers.
func (h *Handler) call(r *http.Request) *gateway.Call {
	c := &gateway.Call{
		RequestID:  gateway.RequestIDFrom(r.Context()),
		Surface:    gateway.SurfaceOpenAI,
		Credential: credential(r.Header),
		Start:      h.now(),
	}
	edge.Attribution(c, r.Header)
	return c
}

// credential reads "Authorization: Bearer <key>", or the api-key header
// Azure-style clients send.
func credential(hd http.Header) string {
	if hd.Get("Authorization") != "" {
		return edge.BearerToken(hd)
	}
	return strings.TrimSpace(hd.Get("Api-Key"))
}

// readBody reads the whole body; the server's MaxBytesReader bounds it.
func readBody(r *http.Request) ([]byte, error) {
	b, err := readall.Read(r.Body, r.ContentLength, 0)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, bad("", "the request body is empty; send a JSON object")
	}
	return b, nil
}

// writeJSON writes v as a 200 JSON answer.
func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := apischema.Marshal(v)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeBody(w, b)
}

// writeBody writes a JSON body as a 200 answer.
func (h *Handler) writeBody(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// WriteError writes err as an OpenAI error answer, as the handlers do; the
// server uses it for refusals made before a handler runs (admission
// control, body limits). log receives internal errors.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	(&Handler{log: log}).fail(w, r, err)
}

// fail writes err as an OpenAI error answer.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	id := gateway.RequestIDFrom(r.Context())
	e := toAPIError(id, err)
	if e.Status == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "internal error", "request_id", id, "err", err)
	}
	h.writeError(w, r, e)
}

func (h *Handler) writeError(w http.ResponseWriter, _ *http.Request, e *apiError) {
	hd := w.Header()
	for k, vs := range e.Header {
		hd[http.CanonicalHeaderKey(k)] = vs
	}
	b, err := json.Marshal(e.body())
	if err != nil { // cannot happen: the body holds only strings
		b = []byte(`{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}`)
	}
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}
