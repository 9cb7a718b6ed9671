package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/service/anthropicapi"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/geminiapi"
	"github.com/tollgate-dev/tollgate/service/openaiapi"
	"github.com/tollgate-dev/tollgate/service/rpc"
)

// class is what kind of traffic a request is, decided from its path
// before anything else is read.
type class uint8

const (
	// classOps: health probes, readiness, metrics, gRPC health and
	// reflection. Never shed, never refused while starting.
	classOps class = iota
	// classInference: the OpenAI, Anthropic and Gemini APIs and InferenceService.
	// Admitted through the in-flight pools.
	classInference
	// classManage: AdminService and UsageService. Never shed when the
	// caller presents the admin token or a known key; otherwise counted
	// as anonymous.
	classManage
)

func classify(path string) class {
	switch {
	case strings.HasPrefix(path, "/v1/"), strings.HasPrefix(path, geminiapi.Prefix), strings.HasPrefix(path, "/tollgate.v1.InferenceService/"):
		return classInference
	case strings.HasPrefix(path, "/tollgate.v1."):
		return classManage
	case path == "/healthz", path == "/readyz", path == "/metrics",
		strings.HasPrefix(path, "/grpc.health.v1."), strings.HasPrefix(path, "/grpc.reflection."):
		return classOps
	}
	// Anything else is a 404 of the OpenAI fallback or the mux: cheap,
	// but not free, so it is admitted like inference.
	return classInference
}

// credentialOf returns the credential a request presents, as the surfaces
// read it: x-api-key, Authorization: Bearer, or api-key; for Gemini requests the
// x-goog-api-key header or the key query parameter.
func credentialOf(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, geminiapi.Prefix) {
		return geminiapi.Credential(r)
	}
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return k
	}
	if t := edge.BearerToken(r.Header); t != "" {
		return t
	}
	return strings.TrimSpace(r.Header.Get("Api-Key"))
}

// front is the outermost handler: request id, then ops endpoints, then
// the refusals that must come before a body is read (starting, too large,
// overloaded), then the application.
func (s *Server) front(w http.ResponseWriter, r *http.Request) {
	// A caller's own request id is kept when it is well-formed, so that
	// its logs, ours and the upstream's share one id.
	id := r.Header.Get("X-Request-Id")
	if !gateway.ValidRequestID(id) {
		id = gateway.NewRequestID()
	}
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(gateway.WithRequestID(r.Context(), id))
	c := classify(r.URL.Path)
	if c == classOps {
		s.ops.ServeHTTP(w, r)
		return
	}
	app := s.app.Load()
	if app == nil {
		s.refuse(w, r, &gateway.RetryError{Err: gateway.ErrNotReady, Reason: "the gateway is starting: its configuration is not loaded yet",
			RetryAfter: time.Second})
		return
	}
	if r.ContentLength > s.cfg.MaxRequestBytes {
		s.refuse(w, r, fmt.Errorf("%w: the request body of %d bytes exceeds the gateway's limit of %d bytes",
			gateway.ErrTooLarge, r.ContentLength, s.cfg.MaxRequestBytes))
		return
	}
	var p *pool
	switch known := app.known(credentialOf(r), c == classManage); {
	case known && c == classManage:
		// Admin and usage calls of authorised callers are never shed.
	case known:
		p = &s.admit.main
		if !s.admit.admit() {
			s.shed(w, r)
			return
		}
	default:
		// Requests without a known key have a pool of their own: a crowd
		// of them (slow bodies, floods of bad keys) cannot take the slots
		// of keyed traffic.
		p = &s.admit.anon
		if !p.acquire() {
			s.shed(w, r)
			return
		}
	}
	if p != nil {
		defer p.release()
	}
	app.handler.ServeHTTP(w, r)
}

// refuseBodyGrace is how long a refused request's body may take to be
// discarded. Refusals come when the CPUs are saturated, where the server
// may get to the discard tens of milliseconds after the deadline was set:
// at 20 ms, bodies that had arrived with their headers were cut, and a
// connection closed with unread data is reset, which drops the refusal
// before the client reads it (seen as "connection reset by peer" on a
// loaded test machine).
const refuseBodyGrace = time.Second

// shed refuses a request the in-flight pools have no room for.
func (s *Server) shed(w http.ResponseWriter, r *http.Request) {
	s.refuse(w, r, &gateway.RetryError{Err: gateway.ErrOverloaded,
		Reason: "this gateway replica is at capacity; retry shortly", RetryAfter: s.admit.retryAfter})
}

// refuse answers a request with err in its dialect without reading its
// body. The connection's read deadline is brought close (refuseBodyGrace),
// so that a body still on its way is not waited for long: a client's body
// already sent is discarded and the connection kept, a slow one is cut.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if r.ContentLength != 0 {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(refuseBodyGrace))
	}
	writeError(w, r, s.log, err)
}

// writeError writes err in the dialect of r: Connect, gRPC or gRPC-Web for
// RPC requests, Gemini's for /v1beta/, Anthropic's shape for Anthropic clients, OpenAI's for the
// rest of /v1/, plain text otherwise.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/tollgate.v1.") && rpc.IsRPC(r):
		rpc.WriteError(w, r, log, err)
	case strings.HasPrefix(r.URL.Path, geminiapi.Prefix):
		geminiapi.WriteError(w, r, log, err)
	case strings.HasPrefix(r.URL.Path, "/v1/messages"), strings.HasPrefix(r.URL.Path, "/v1/") && anthropicapi.IsAnthropic(r):
		anthropicapi.WriteError(w, r, log, err)
	case strings.HasPrefix(r.URL.Path, "/v1/"):
		openaiapi.WriteError(w, r, log, err)
	default:
		status := http.StatusServiceUnavailable
		var re *gateway.RetryError
		switch {
		case errors.As(err, &re):
			w.Header().Set("Retry-After", strconv.FormatInt(re.RetryAfterSeconds(), 10))
		case errors.Is(err, gateway.ErrTooLarge):
			status = http.StatusRequestEntityTooLarge
		case errors.Is(err, gateway.ErrRequestTimeout):
			status = http.StatusRequestTimeout
		}
		http.Error(w, err.Error(), status)
	}
}
