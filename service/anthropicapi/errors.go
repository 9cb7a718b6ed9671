package anthropicapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/guardrails"
)

// StatusOverloaded is Anthropic's status for a temporarily overloaded API.
const StatusOverloaded = 529

// statusClientClosed is the de-facto status for a caller that went away.
const statusClientClosed = 499

// The Anthropic error types.
const (
	typeInvalidRequest  = "invalid_request_error"
	typeAuthentication  = "authentication_error"
	typePermission      = "permission_error"
	typeNotFound        = "not_found_error"
	typeRequestTooLarge = "request_too_large"
	typeRateLimit       = "rate_limit_error"
	typeAPI             = "api_error"
	typeOverloaded      = "overloaded_error"
)

// StatusOf maps an error of the engine (or of decoding) to the HTTP status
// and Anthropic error type the caller receives:
//
//	*http.MaxBytesError                 413 request_too_large
//	gateway.ErrInvalidRequest           400 invalid_request_error
//	gateway.ErrUnauthenticated          401 authentication_error
//	gateway.ErrPermissionDenied         403 permission_error
//	gateway.ErrModelNotFound            404 not_found_error
//	gateway.ErrUnavailable              503 api_error
//	upstream invalid request, context   400 invalid_request_error
//	upstream authentication, permission 500 api_error (the gateway's credential, not the caller's)
//	upstream not found                  404 not_found_error
//	upstream rate limited               429 rate_limit_error (upstream rate-limit headers kept)
//	upstream overloaded (503, 529)      529 overloaded_error
//	upstream server error (5xx)         500 api_error
//	upstream timeout, deadline          504 api_error
//	upstream connection, bad response   502 api_error
//	context.Canceled                    499 api_error (the caller went away)
//	anything else                       500 api_error
//
// Anthropic SDKs retry 408, 409, 429 and every 5xx including 529, so only
// failures a retry may cure are reported with those statuses — except
// upstream credential failures, which are reported as 500 because they are
// the gateway's fault, not the caller's.
func StatusOf(err error) (status int, errType string) {
	var mbe *http.MaxBytesError
	var pe *providers.Error
	var le *governance.LimitError
	var be *guardrails.BlockedError
	switch {
	case errors.As(err, &be):
		return guardrailStatus(be)
	case errors.As(err, &le):
		return http.StatusTooManyRequests, typeRateLimit
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, typeRequestTooLarge
	case errors.Is(err, gateway.ErrInvalidRequest):
		return http.StatusBadRequest, typeInvalidRequest
	case errors.Is(err, gateway.ErrUnauthenticated):
		return http.StatusUnauthorized, typeAuthentication
	case errors.Is(err, gateway.ErrPermissionDenied):
		return http.StatusForbidden, typePermission
	case errors.Is(err, gateway.ErrModelNotFound):
		return http.StatusNotFound, typeNotFound
	case errors.Is(err, gateway.ErrUnavailable):
		return http.StatusServiceUnavailable, typeAPI
	case errors.As(err, &pe):
		return upstreamStatus(pe)
	case errors.Is(err, context.Canceled):
		return statusClientClosed, typeAPI
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, typeAPI
	}
	return http.StatusInternalServerError, typeAPI
}

func upstreamStatus(pe *providers.Error) (int, string) {
	switch pe.Kind {
	case providers.KindInvalidRequest, providers.KindContextLength:
		return http.StatusBadRequest, typeInvalidRequest
	case providers.KindAuthentication, providers.KindPermissionDenied:
		return http.StatusInternalServerError, typeAPI
	case providers.KindNotFound:
		return http.StatusNotFound, typeNotFound
	case providers.KindRateLimited:
		return http.StatusTooManyRequests, typeRateLimit
	case providers.KindOverloaded:
		return StatusOverloaded, typeOverloaded
	case providers.KindServer:
		return http.StatusInternalServerError, typeAPI
	case providers.KindTimeout:
		return http.StatusGatewayTimeout, typeAPI
	}
	return http.StatusBadGateway, typeAPI
}

// errorMessage is the text the caller sees. Sentinel and upstream errors
// are safe to show; anything else is hidden behind the request id.
func errorMessage(err error, requestID string) (msg string, internal bool) {
	var pe *providers.Error
	var inv *gateway.InvalidRequestError
	var mbe *http.MaxBytesError
	var le *governance.LimitError
	switch {
	case errors.As(err, &le):
		return le.Error(), false
	case errors.As(err, &mbe):
		return "request body exceeds " + strconv.FormatInt(mbe.Limit, 10) + " bytes", false
	case errors.As(err, &inv):
		if inv.Param == "" {
			return inv.Message, false
		}
		return inv.Param + ": " + inv.Message, false
	case errors.As(err, &pe):
		switch pe.Kind {
		case providers.KindAuthentication, providers.KindPermissionDenied:
			return "the gateway's credential for provider " + pe.Provider + " was rejected by the upstream; contact the gateway operator", false
		}
		m := pe.Message
		if m == "" {
			m = pe.Kind.String()
		}
		return "provider " + pe.Provider + ": " + m, false
	case errors.Is(err, guardrails.ErrBlocked),
		errors.Is(err, gateway.ErrUnauthenticated), errors.Is(err, gateway.ErrPermissionDenied),
		errors.Is(err, gateway.ErrModelNotFound), errors.Is(err, gateway.ErrInvalidRequest),
		errors.Is(err, gateway.ErrUnavailable), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err.Error(), false
	}
	return "internal error; request id " + requestID, true
}

// writeError writes err as an Anthropic error response. Upstream
// rate-limit and retry-after headers are passed on.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, requestID string, err error) {
	status, typ := StatusOf(err)
	msg, internal := errorMessage(err, requestID)
	if internal {
		log.ErrorContext(r.Context(), "internal error", "request_id", requestID, "err", err)
	}
	h := w.Header()
	var pe *providers.Error
	var le *governance.LimitError
	if errors.As(err, &le) {
		le.AnthropicHeaders(h)
	}
	if errors.As(err, &pe) {
		for k, v := range pe.Header {
			h[k] = v
		}
		if pe.RetryAfter > 0 && h.Get("Retry-After") == "" {
			secs := int64((pe.RetryAfter + 999_999_999) / 1_000_000_000)
			h.Set("Retry-After", strconv.FormatInt(secs, 10))
		}
	}
	body, _ := apischema.Marshal(&schema.ErrorBody{Type: "error", Error: &schema.ErrorObject{Type: typ, Message: msg}, RequestID: requestID})
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// invalidModel is the error for a model the key cannot see.
func invalidModel(id string) error {
	return fmt.Errorf("%w: %q", gateway.ErrModelNotFound, id)
}
