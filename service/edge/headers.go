package edge

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/semcache"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/guardrails"
)

// Response headers every surface sets on answers, saying what served the
// request.
const (
	HeaderProvider = "X-Tollgate-Provider"
	HeaderModel    = "X-Tollgate-Model"
	HeaderRoute    = "X-Tollgate-Route"
	HeaderAttempts = "X-Tollgate-Attempts"
	// HeaderCache is the response cache's outcome ("hit-exact",
	// "hit-semantic", "miss", "bypass"); HeaderCacheScore a semantic hit's
	// similarity.
	HeaderCache      = "X-Tollgate-Cache"
	HeaderCacheScore = "X-Tollgate-Cache-Score"
	// HeaderGuardrails lists what the guardrails did to a request:
	// "policy/guardrail:action,...", names and actions only.
	HeaderGuardrails = "X-Tollgate-Guardrails"
	// HeaderDroppedParams lists the request parameters the gateway left
	// out because the upstream cannot honour them and the route or key
	// allows dropping them (comma-separated; docs/lossless.md).
	HeaderDroppedParams = "X-Tollgate-Dropped-Params"
)

// Request headers every surface reads: attribution (never authorisation)
// and the caller's cache directives.
const (
	// HeaderEndUser names the end user a request is made for.
	HeaderEndUser = "X-Tollgate-End-User"
	// HeaderTags carries comma-separated tags for usage reports.
	HeaderTags = "X-Tollgate-Tags"
	// HeaderCacheRefresh ("true") skips the lookup and stores the new
	// answer over the old one.
	HeaderCacheRefresh = "X-Tollgate-Cache-Refresh"
	// HeaderCacheTTL sets the lifetime of the stored answer, in seconds.
	HeaderCacheTTL = "X-Tollgate-Cache-Ttl"
)

// SetServedHeaders sets the X-Tollgate-* headers describing what served a
// request: provider, upstream model, route (when the name was an alias) and
// the number of upstream attempts, retries and fallbacks included.
func SetServedHeaders(h http.Header, provider, model, route string, attempts int) {
	// One backing array for the values (each header's slice is capped at
	// its own value, so an Add to one reallocates instead of overwriting
	// the next): one allocation a request instead of four.
	vals := make([]string, 0, 4)
	set := func(name, v string) {
		vals = append(vals, v)
		h[name] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	set(HeaderProvider, provider)
	if model != "" {
		set(HeaderModel, model)
	}
	if route != "" {
		set(HeaderRoute, route)
	}
	if attempts > 0 {
		set(HeaderAttempts, strconv.Itoa(attempts))
	}
}

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
func Attribution(call *gateway.Call, h http.Header) {
	if u := strings.TrimSpace(h.Get(HeaderEndUser)); u != "" {
		call.EndUser = u
	}
	for t := range strings.SplitSeq(h.Get(HeaderTags), ",") {
		if t = strings.TrimSpace(t); t != "" {
			call.Tags = append(call.Tags, t)
		}
	}
}

// maxCacheTTL bounds X-Tollgate-Cache-Ttl.
const maxCacheTTL = 365 * 24 * time.Hour

// CacheDirectives reads a request's cache directives: Cache-Control
// no-cache and no-store, X-Tollgate-Cache-Refresh (a boolean) and
// X-Tollgate-Cache-Ttl (whole seconds). An invalid header is a
// *gateway.InvalidRequestError naming it; the directives that could be
// read are returned with it.
func CacheDirectives(h http.Header) (semcache.Directives, error) {
	var d semcache.Directives
	var errs []error
	for _, v := range h.Values("Cache-Control") {
		for tok := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(tok), "=")
			switch strings.ToLower(name) {
			case "no-cache":
				d.NoCache = true
			case "no-store":
				d.NoStore = true
			}
		}
	}
	if v := h.Get(HeaderCacheRefresh); v != "" {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want true or false", HeaderCacheRefresh, v))
		}
		d.Refresh = b
	}
	if v := h.Get(HeaderCacheTTL); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 || n > int64(maxCacheTTL/time.Second) {
			errs = append(errs, fmt.Errorf("%s %q: want whole seconds, at most a year", HeaderCacheTTL, v))
		} else {
			d.TTL = time.Duration(n) * time.Second
		}
	}
	if err := errors.Join(errs...); err != nil {
		return d, &gateway.InvalidRequestError{Param: "header", Message: err.Error()}
	}
	return d, nil
}

// SetCacheHeaders sets X-Tollgate-Cache to the lookup's status and, on a
// semantic hit, X-Tollgate-Cache-Score to its similarity. It sets nothing
// when no lookup applied (status "").
func SetCacheHeaders(h http.Header, status semcache.Status, score float64) {
	if status == "" {
		return
	}
	h.Set(HeaderCache, string(status))
	if status == semcache.StatusHitSemantic {
		h.Set(HeaderCacheScore, strconv.FormatFloat(score, 'f', 4, 64))
	}
}

// SetGuardrailHeader sets X-Tollgate-Guardrails to what vs did, names and
// actions only; it sets nothing when vs is empty.
func SetGuardrailHeader(h http.Header, vs []guardrails.Verdict) {
	if v := gateway.GuardrailSummary(vs); v != "" {
		h.Set(HeaderGuardrails, v)
	}
}

// SetDroppedHeader sets X-Tollgate-Dropped-Params; nothing when no
// parameter was dropped.
func SetDroppedHeader(h http.Header, dropped []string) {
	if len(dropped) > 0 {
		h.Set(HeaderDroppedParams, strings.Join(dropped, ","))
	}
}
