package providers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrorKind classifies an upstream failure independently of its dialect.
type ErrorKind uint8

// The error kinds.
const (
	// KindUnknown is an unclassified failure.
	KindUnknown ErrorKind = iota
	// KindInvalidRequest is a request the upstream rejected as malformed.
	KindInvalidRequest
	// KindAuthentication is a rejected provider credential.
	KindAuthentication
	// KindPermissionDenied is a credential without access.
	KindPermissionDenied
	// KindNotFound is an unknown model or endpoint.
	KindNotFound
	// KindContextLength is a prompt larger than the model's context window.
	KindContextLength
	// KindRateLimited is an upstream 429.
	KindRateLimited
	// KindOverloaded is a temporarily overloaded upstream (Anthropic 529, 503).
	KindOverloaded
	// KindServer is an upstream 5xx.
	KindServer
	// KindTimeout is an upstream that did not answer in time.
	KindTimeout
	// KindConnection is a failed or reset connection.
	KindConnection
	// KindBadResponse is an upstream answer that could not be decoded.
	KindBadResponse
)

var kindNames = [...]string{"unknown", "invalid_request", "authentication", "permission_denied", "not_found",
	"context_length", "rate_limited", "overloaded", "server", "timeout", "connection", "bad_response"}

// String returns a short snake_case name.
func (k ErrorKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is an upstream failure.
type Error struct {
	// Provider is the provider instance id.
	Provider string
	// Status is the upstream HTTP status, 0 when no response arrived.
	Status int
	// Kind classifies the failure.
	Kind ErrorKind
	// Type and Code are the upstream's own error type and code, if any.
	Type string
	Code string
	// Param is the request parameter the upstream blamed, if any.
	Param string
	// Message is the upstream's message. It never contains credentials.
	Message string
	// RetryAfter is the upstream's retry-after hint, 0 if none.
	RetryAfter time.Duration
	// Header holds the upstream's response headers worth passing on
	// (rate-limit headers).
	Header http.Header
	// Err is the underlying transport error, if any.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("provider %s: %s (status %d): %s", e.Provider, e.Kind, e.Status, e.Message)
	}
	return fmt.Sprintf("provider %s: %s: %s", e.Provider, e.Kind, e.Message)
}

// Unwrap returns the transport error.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether another attempt (here or on another target) may succeed.
func (e *Error) Retryable() bool {
	switch e.Kind {
	case KindRateLimited, KindOverloaded, KindServer, KindTimeout, KindConnection:
		return true
	}
	return false
}

// IsRetryable reports whether err is an upstream failure that a retry or a
// fallback may cure. Failures caused by the request itself are not.
func IsRetryable(err error) bool {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Retryable()
	}
	return false
}

// KindForStatus classifies an HTTP status.
func KindForStatus(status int) ErrorKind {
	switch {
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity, status == http.StatusRequestEntityTooLarge:
		return KindInvalidRequest
	case status == http.StatusUnauthorized:
		return KindAuthentication
	case status == http.StatusForbidden:
		return KindPermissionDenied
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusRequestTimeout, status == http.StatusGatewayTimeout:
		return KindTimeout
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusServiceUnavailable, status == 529:
		return KindOverloaded
	case status >= 500:
		return KindServer
	}
	return KindUnknown
}

// TransportError wraps a failure to get a response from the upstream.
// A cancelled ctx is returned as ctx.Err() so callers can tell the caller
// went away.
func TransportError(ctx context.Context, provider string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	kind := KindConnection
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		kind = KindTimeout
	}
	return &Error{Provider: provider, Kind: kind, Message: "upstream request failed", Err: err}
}

// ParseRetryAfter reads retry-after-ms and retry-after (seconds or an HTTP
// date) from an upstream response.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("retry-after")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// RateLimitHeaders copies the upstream's rate-limit headers (x-ratelimit-*,
// anthropic-ratelimit-*, retry-after*) so the gateway can pass them on.
func RateLimitHeaders(h http.Header) http.Header {
	var out http.Header
	for k, v := range h {
		lk := http.CanonicalHeaderKey(k)
		if strings.HasPrefix(lk, "X-Ratelimit-") || strings.HasPrefix(lk, "Anthropic-Ratelimit-") || strings.HasPrefix(lk, "Retry-After") {
			if out == nil {
				out = make(http.Header)
			}
			out[lk] = v
		}
	}
	return out
}
