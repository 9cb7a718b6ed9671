// Package responsesapi serves OpenAI's Responses API (/v1/responses) on
// the gateway: POST /v1/responses (unary and streamed with the typed event
// sequence), GET and DELETE /v1/responses/{id} and
// GET /v1/responses/{id}/input_items.
//
// Requests are translated to the canonical chat request and run through
// the same engine as /v1/chat/completions (authentication, budgets and
// limits, routing, guardrails, cache, records with surface "responses"),
// so every provider serves them: OpenAI-dialect upstreams through Chat
// Completions, Anthropic, Gemini and the others through their adapters.
//
// Conversation state is the gateway's own: a response created with
// store: true (the default, as at OpenAI) is kept per team in the store
// (store.Responses) with the input items the model saw, and a later
// request's previous_response_id expands to that conversation before it
// is sent, whatever provider serves it. A key of another team gets 404.
// Stored responses are pruned after the retention (see Prune).
package responsesapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/store"
)

// DefaultKeepAlive is the idle time after which a stream gets a
// ": keep-alive" comment.
const DefaultKeepAlive = 15 * time.Second

// Handler serves the Responses API. It is safe for concurrent use.
type Handler struct {
	engine      *gateway.Engine
	store       store.Responses // nil: store: true is refused, as is previous_response_id
	log         *slog.Logger
	now         func() time.Time
	keepAlive   time.Duration
	cacheStored bool
}

// Option configures a Handler.
type Option func(*Handler)

// WithLogger sets the logger for internal errors.
func WithLogger(l *slog.Logger) Option { return func(h *Handler) { h.log = l } }

// WithClock replaces time.Now for created_at and stored responses' times.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithKeepAlive sets the stream idle keep-alive interval; zero or less
// disables keep-alives.
func WithKeepAlive(d time.Duration) Option { return func(h *Handler) { h.keepAlive = d } }

// WithCacheStored lets the response cache store the answers of requests
// with store: true. By default it does not: a stored conversation's
// answers stay out of the shared cache.
func WithCacheStored(allow bool) Option { return func(h *Handler) { h.cacheStored = allow } }

// New returns a Handler over engine, keeping responses in st (nil: no
// conversation state; requests must send store: false).
func New(engine *gateway.Engine, st store.Responses, opts ...Option) *Handler {
	h := &Handler{engine: engine, store: st, log: slog.New(slog.DiscardHandler), now: time.Now, keepAlive: DefaultKeepAlive}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Mount registers the API on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/responses", h.create)
	mux.HandleFunc("GET /v1/responses/{id}", h.get)
	mux.HandleFunc("DELETE /v1/responses/{id}", h.delete)
	mux.HandleFunc("GET /v1/responses/{id}/input_items", h.inputItems)
}

// call builds the engine's view of the caller.
func (h *Handler) call(r *http.Request) *gateway.Call {
	c := &gateway.Call{
		RequestID:  gateway.RequestIDFrom(r.Context()),
		Surface:    gateway.SurfaceResponses,
		Credential: credential(r.Header),
		Start:      h.now(),
	}
	edge.Attribution(c, r.Header)
	return c
}

// credential reads "Authorization: Bearer <key>" or Azure's api-key.
func credential(hd http.Header) string {
	if hd.Get("Authorization") != "" {
		return edge.BearerToken(hd)
	}
	return strings.TrimSpace(hd.Get("Api-Key"))
}

// team authenticates the caller and returns its key's team and id.
func (h *Handler) team(ctx context.Context, call *gateway.Call) (teamID, keyID string, err error) {
	k, err := h.engine.Authenticate(ctx, call)
	if err != nil {
		return "", "", err
	}
	return k.TeamID, k.ID, nil
}

// errNoStore refuses conversation state on a gateway without a store.
var errNoStore = &gateway.InvalidRequestError{Param: "store",
	Message: "this gateway keeps no responses: send \"store\": false and no previous_response_id"}

// responseID derives the response id from the gateway's request id, so
// that the id a client logs finds the request record.
func responseID(requestID string) string { return "resp_" + strings.TrimPrefix(requestID, "req_") }

func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := apischema.Marshal(v)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// problem describes err for OpenAI's dialect.
func problem(requestID string, err error) edge.HTTPError {
	p := edge.Describe(err, requestID)
	var inv *gateway.InvalidRequestError
	var nf *notFoundError
	switch {
	case errors.As(err, &inv) && inv.Param != "":
		p.Param = inv.Param
	case errors.As(err, &nf) && nf.param != "":
		p.Param = nf.param
	}
	return edge.OpenAI(p)
}

// fail writes err as an OpenAI error answer.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	id := gateway.RequestIDFrom(r.Context())
	e := problem(id, err)
	if e.Status == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "internal error", "request_id", id, "err", err)
	}
	hd := w.Header()
	for k, vs := range e.Header {
		hd[http.CanonicalHeaderKey(k)] = vs
	}
	b, merr := json.Marshal(e.OpenAIBody())
	if merr != nil {
		b = []byte(`{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}`)
	}
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

// notFound is the error of a response id the caller's team does not have.
func notFound(param, id string) error {
	return &notFoundError{param: param, id: id}
}

type notFoundError struct{ param, id string }

func (e *notFoundError) Error() string {
	if e.param == "previous_response_id" {
		return fmt.Sprintf("Previous response with id '%s' not found.", e.id)
	}
	return fmt.Sprintf("Response with id '%s' not found.", e.id)
}

func (e *notFoundError) Unwrap() error { return store.ErrNotFound }
