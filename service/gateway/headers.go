package gateway

import (
	"net/http"
	"strconv"
)

// Response headers every HTTP surface sets on answers, saying what served
// the request.
const (
	HeaderProvider = "X-Tollgate-Provider"
	HeaderModel    = "X-Tollgate-Model"
	HeaderRoute    = "X-Tollgate-Route"
	HeaderAttempts = "X-Tollgate-Attempts"
)

// SetServedHeaders sets the X-Tollgate-* headers describing what served a
// request: provider, upstream model, route (when the name was an alias) and
// the number of upstream attempts, retries and fallbacks included.
func SetServedHeaders(h http.Header, provider, model, route string, attempts int) {
	h.Set(HeaderProvider, provider)
	if model != "" {
		h.Set(HeaderModel, model)
	}
	if route != "" {
		h.Set(HeaderRoute, route)
	}
	if attempts > 0 {
		h.Set(HeaderAttempts, strconv.Itoa(attempts))
	}
}
