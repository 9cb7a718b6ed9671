package anthropicapi

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// StatusOverloaded is Anthropic's status for a temporarily overloaded API.
const StatusOverloaded = edge.StatusOverloaded

// StatusOf returns the HTTP status and Anthropic error type of an error of
// the engine (or of decoding): edge.Describe classifies it like every
// surface does and edge.Anthropic renders it (see there).
func StatusOf(err error) (status int, errType string) {
	e := edge.Anthropic(edge.Describe(err, ""))
	return e.Status, e.Type
}

// errorMessage is the text the caller sees, and whether err is internal
// (hidden behind the request id; the caller logs it).
func errorMessage(err error, requestID string) (msg string, internal bool) {
	p := edge.Describe(err, requestID)
	return p.Message, p.Kind == edge.KindInternal
}

// WriteError writes err as an Anthropic error response, as the handlers
// do; the server uses it for refusals made before a handler runs
// (admission control, body limits).
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	id := gateway.RequestIDFrom(r.Context())
	w.Header().Set("Request-Id", id)
	writeError(w, r, log, id, err)
}

// writeError writes err as an Anthropic error response, with its
// rate-limit, retry-after and x-should-retry headers.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, requestID string, err error) {
	p := edge.Describe(err, requestID)
	if p.Kind == edge.KindInternal {
		log.ErrorContext(r.Context(), "internal error", "request_id", requestID, "err", err)
	}
	e := edge.Anthropic(p)
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	body, _ := json.Marshal(e.AnthropicBody(requestID))
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// invalidModel is the error for a model the key cannot see.
func invalidModel(id string) error {
	return fmt.Errorf("%w: %q", gateway.ErrModelNotFound, id)
}
