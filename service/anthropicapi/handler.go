package anthropicapi

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/internal/readall"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// DefaultPingInterval is how long a stream may stay silent before a ping
// event keeps the connection alive.
const DefaultPingInterval = 15 * time.Second

// Attribution headers.
const (
	// HeaderEndUser names the end user a request is made for.
	HeaderEndUser = edge.HeaderEndUser
	// HeaderTags carries comma-separated tags for usage reports.
	HeaderTags = edge.HeaderTags
)

// Handler serves the Anthropic Messages API. It is safe for concurrent use.
type Handler struct {
	engine *gateway.Engine
	log    *slog.Logger
	ping   time.Duration
	now    func() time.Time
}

// Option configures a Handler.
type Option func(*Handler)

// WithPingInterval sets the stream keep-alive interval (DefaultPingInterval
// when unset or not positive).
func WithPingInterval(d time.Duration) Option {
	return func(h *Handler) {
		if d > 0 {
			h.ping = d
		}
	}
}

// New returns a Handler over engine; log receives internal errors.
func New(engine *gateway.Engine, log *slog.Logger, opts ...Option) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{engine: engine, log: log, ping: DefaultPingInterval, now: time.Now}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Register mounts POST /v1/messages and POST /v1/messages/count_tokens on
// mux. GET /v1/models is shared with the OpenAI dialect; mount
// [Handler.Models] behind [IsAnthropic].
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/messages", h.Messages)
	mux.HandleFunc("POST /v1/messages/count_tokens", h.CountTokens)
}

// IsAnthropic reports whether r comes from an Anthropic client: it carries
// anthropic-version, or x-api-key without Authorization.
func IsAnthropic(r *http.Request) bool {
	return r.Header.Get("Anthropic-Version") != "" ||
		(r.Header.Get("X-Api-Key") != "" && r.Header.Get("Authorization") == "")
}

// newCall builds the engine call from the request headers and sets the
// request-id response header.
func (h *Handler) newCall(w http.ResponseWriter, r *http.Request) *gateway.Call {
	id := gateway.RequestIDFrom(r.Context())
	w.Header().Set("Request-Id", id)
	call := &gateway.Call{RequestID: id, Surface: gateway.SurfaceAnthropic, Start: h.now()}
	if key := r.Header.Get("X-Api-Key"); key != "" {
		call.Credential = key
	} else {
		call.Credential = edge.BearerToken(r.Header)
	}
	edge.Attribution(call, r.Header)
	return call
}

// decode reads and translates a Messages request body.
func decode(r *http.Request, needMaxTokens bool) (*schema.MessagesRequest, *providers.ChatRequest, error) {
	b, err := readall.Read(r.Body, r.ContentLength, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("read request body: %w", err)
	}
	if len(b) == 0 {
		return nil, nil, &gateway.InvalidRequestError{Message: "request body is empty; expected a JSON object"}
	}
	return decodeBody(b, r.Header, needMaxTokens)
}

// Messages serves POST /v1/messages.
func (h *Handler) Messages(w http.ResponseWriter, r *http.Request) {
	call := h.newCall(w, r)
	in, req, err := decode(r, true)
	if err == nil {
		call.Cache, err = edge.CacheDirectives(r.Header)
	}
	if err != nil {
		writeError(w, r, h.log, call.RequestID, err)
		return
	}
	if call.EndUser == "" {
		call.EndUser = req.User
	}
	if in.Stream != nil && *in.Stream {
		h.stream(w, r, call, req)
		return
	}
	res, err := h.engine.Chat(r.Context(), call, req)
	if err != nil {
		writeError(w, r, h.log, call.RequestID, err)
		return
	}
	body := res.Response.Raw // passed through: the upstream's answer as it sent it
	if body == nil {
		if body, err = apischema.Marshal(fromCanonical(res.Response, req.Model, call.RequestID)); err != nil {
			writeError(w, r, h.log, call.RequestID, fmt.Errorf("encode message: %w", err))
			return
		}
	}
	hd := w.Header()
	edge.SetServedHeaders(hd, res.Provider, res.Model, res.Route, res.Attempts)
	edge.SetCacheHeaders(hd, res.CacheStatus, res.CacheScore)
	edge.SetGuardrailHeader(hd, res.Guardrails)
	edge.SetDroppedHeader(hd, res.Dropped)
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// stream serves a streamed Messages request.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, call *gateway.Call, req *providers.ChatRequest) {
	s, err := h.engine.ChatStream(r.Context(), call, req)
	if err != nil {
		writeError(w, r, h.log, call.RequestID, err)
		return
	}
	defer func() { _ = s.Close() }()
	hd := w.Header()
	for k, v := range providers.RateLimitHeaders(s.Header()) {
		hd[k] = v
	}
	edge.SetStreamHeaders(hd, "text/event-stream", s)
	w.WriteHeader(http.StatusOK)

	out := edge.NewSSE(w)
	ev := &events{buf: make([]byte, 0, 1024)}
	// send writes and flushes the events in ev.buf and empties it; it
	// reports whether the caller is still reachable.
	send := func() bool {
		err := out.Send(ev.buf)
		ev.reset()
		return err == nil
	}
	// The headers go out with the first event (or ping): the engine
	// returns a stream once its first chunk is here, so holding them back
	// delays nothing and saves a write.
	raw := s.Passthrough() // the upstream's events as it sent them
	if !raw {
		ev.start(messageID("", call.RequestID), req.Model, usageOf(s.Usage()))
		if !send() {
			return
		}
	}
	out.KeepAlive(h.ping, []byte(pingFrame))
	defer out.Close()

	for {
		c, err := s.Recv(r.Context())
		if errors.Is(err, io.EOF) {
			if !raw {
				ev.end(usageOf(s.Usage()))
			}
			if len(ev.buf) > 0 {
				send()
			}
			return
		}
		if err != nil {
			if r.Context().Err() != nil {
				return // the caller went away; Close cancels the upstream
			}
			_, typ := StatusOf(err)
			msg, internal := errorMessage(err, call.RequestID)
			if internal {
				h.log.ErrorContext(r.Context(), "stream failed", "request_id", call.RequestID, "err", err)
			}
			ev.fail(typ, msg)
			send()
			return
		}
		if raw {
			ev.buf = append(ev.buf, c.Raw...)
		} else {
			ev.chunk(c)
		}
		// Chunks that arrived together go out in one write: while the
		// next one is already here, the events stay in ev.buf (bounded
		// by what one read of the upstream brought).
		if len(ev.buf) > 0 && !s.Ready() && !send() {
			return
		}
	}
}

// pingFrame is a framed ping event, the stream's keep-alive.
const pingFrame = "event: ping\ndata: {\"type\":\"ping\"}\n\n"

// CountTokens serves POST /v1/messages/count_tokens.
func (h *Handler) CountTokens(w http.ResponseWriter, r *http.Request) {
	call := h.newCall(w, r)
	_, req, err := decode(r, false)
	if err != nil {
		writeError(w, r, h.log, call.RequestID, err)
		return
	}
	if call.EndUser == "" {
		call.EndUser = req.User
	}
	n, err := h.engine.CountTokens(r.Context(), call, req)
	if err != nil {
		writeError(w, r, h.log, call.RequestID, err)
		return
	}
	writeJSON(w, &schema.CountTokensResponse{InputTokens: n})
}

func writeJSON(w http.ResponseWriter, v any) {
	body, _ := apischema.Marshal(v) // only schema types, which always marshal
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
