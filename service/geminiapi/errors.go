package geminiapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// WriteError writes err as a Gemini error answer, as the handlers do; the
// server uses it for refusals made before a handler runs (admission
// control, body limits).
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	New(nil, log).fail(w, r, err)
}

// fail writes err as a google.rpc.Status answer with the status, headers
// and details service/edge gives its kind.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	id := gateway.RequestIDFrom(r.Context())
	var nf *notFoundError
	if errors.As(err, &nf) {
		h.writeProblem(w, r, edge.Problem{Kind: edge.KindNotFound, Message: nf.Error()}, 0)
		return
	}
	p := edge.Describe(err, id)
	if p.Kind == edge.KindInternal {
		h.log.ErrorContext(r.Context(), "internal error", "request_id", id, "err", err)
	}
	h.writeProblem(w, r, p, 0)
}

// writeProblem renders p; status, when not zero, replaces the kind's
// HTTP status (405).
func (h *Handler) writeProblem(w http.ResponseWriter, _ *http.Request, p edge.Problem, status int) {
	e, body := edge.Gemini(p)
	if status != 0 {
		e.Status, body.Error.Code = status, status
	}
	hd := w.Header()
	for k, v := range e.Header {
		hd[k] = v
	}
	b, err := json.Marshal(body)
	if err != nil { // cannot happen: strings and raw JSON only
		b = []byte(`{"error":{"code":500,"message":"internal error","status":"INTERNAL"}}`)
	}
	hd.Set("Content-Type", "application/json; charset=UTF-8")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}
