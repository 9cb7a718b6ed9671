package gateway

import (
	"net/http"
	"strconv"
	"strings"
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

// Attribution headers every HTTP surface reads (attribution only, never
// authorisation).
const (
	// HeaderEndUser names the end user a request is made for.
	HeaderEndUser = "X-Tollgate-End-User"
	// HeaderTags carries comma-separated tags for usage reports.
	HeaderTags = "X-Tollgate-Tags"
)

// BearerToken returns the token of an "Authorization: Bearer ..." header,
// "" when there is none.
func BearerToken(h http.Header) string {
	v := h.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// Attribution fills call's end user and tags from the X-Tollgate-End-User
// and X-Tollgate-Tags headers.
func Attribution(call *Call, h http.Header) {
	if u := strings.TrimSpace(h.Get(HeaderEndUser)); u != "" {
		call.EndUser = u
	}
	for t := range strings.SplitSeq(h.Get(HeaderTags), ",") {
		if t = strings.TrimSpace(t); t != "" {
			call.Tags = append(call.Tags, t)
		}
	}
}
