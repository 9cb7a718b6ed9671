package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/store"
)

// Sentinel errors. Messages wrapping them are safe to show to the caller.
var (
	// ErrUnauthenticated means the credential is missing, unknown, revoked or expired.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrPermissionDenied means the key may not use the model.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrModelNotFound means no model of that name is configured.
	ErrModelNotFound = errors.New("model not found")
	// ErrInvalidRequest means the request is malformed; see InvalidRequestError.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrUnavailable means the model's provider cannot be used right now.
	ErrUnavailable = errors.New("unavailable")
	// ErrOverloaded means this replica is at its in-flight limit (admission
	// control): retry shortly, ideally on another replica. See RetryError.
	ErrOverloaded = errors.New("overloaded")
	// ErrNotReady means the gateway cannot decide the request right now:
	// its configuration is not loaded yet, or it cannot confirm that the
	// key is still valid (its view of revocations is older than the
	// staleness bound and Postgres does not answer). Retry shortly. See
	// RetryError.
	ErrNotReady = errors.New("temporarily unavailable")
	// ErrRequestTimeout means the caller did not send its request body
	// within the server's body read timeout.
	ErrRequestTimeout = errors.New("request timeout")
	// ErrTooLarge means the request body exceeds the server's limit; a
	// retry cannot succeed.
	ErrTooLarge = errors.New("request too large")
)

// RetryError is a refusal by the gateway itself that a retry may cure: Err
// is ErrOverloaded or ErrNotReady, RetryAfter the hint every dialect
// passes on (Retry-After, RetryInfo).
type RetryError struct {
	Err error
	// Reason says why, for the caller.
	Reason string
	// RetryAfter is how long to wait before retrying; at least a second
	// in the headers.
	RetryAfter time.Duration
}

// Error implements error.
func (e *RetryError) Error() string { return e.Err.Error() + ": " + e.Reason }

// Unwrap makes errors.Is(err, e.Err) true.
func (e *RetryError) Unwrap() error { return e.Err }

// RetryAfterSeconds returns RetryAfter in whole seconds, rounded up, at
// least 1: the value of a Retry-After header.
func (e *RetryError) RetryAfterSeconds() int64 {
	return max(1, int64((e.RetryAfter+time.Second-1)/time.Second))
}

// InvalidRequestError is a malformed request, naming the offending parameter.
type InvalidRequestError struct {
	// Param is the offending parameter in the canonical model's terms,
	// e.g. "messages[2].tool_call_id".
	Param   string
	Message string
}

// Error implements error.
func (e *InvalidRequestError) Error() string {
	if e.Param == "" {
		return "invalid request: " + e.Message
	}
	return "invalid request: " + e.Param + ": " + e.Message
}

// Unwrap makes errors.Is(err, ErrInvalidRequest) true.
func (e *InvalidRequestError) Unwrap() error { return ErrInvalidRequest }

func invalid(param, msg string) error { return &InvalidRequestError{Param: param, Message: msg} }

// StatusOf classifies err for the request record.
func StatusOf(err error) (store.Status, string) {
	if err == nil {
		return store.StatusOK, "" // before the targets of errors.As, which escape
	}
	var pe *providers.Error
	var be *guardrails.BlockedError
	switch {
	case errors.As(err, &be):
		return guardStatus(be)
	case errors.Is(err, ErrUnauthenticated):
		return store.StatusUnauthenticated, "unauthenticated"
	case errors.Is(err, ErrPermissionDenied):
		return store.StatusForbidden, "permission_denied"
	case errors.Is(err, ErrModelNotFound):
		return store.StatusInvalid, "model_not_found"
	case errors.Is(err, ErrInvalidRequest):
		return store.StatusInvalid, "invalid_request"
	case errors.Is(err, ErrBudgetExceeded):
		return store.StatusLimited, "budget_exceeded"
	case errors.Is(err, ErrRateLimited):
		return store.StatusLimited, "rate_limited"
	case errors.Is(err, ErrLimitsUnavailable):
		return store.StatusLimited, "limits_unavailable"
	case errors.Is(err, ErrUnavailable):
		return store.StatusUpstreamError, "unavailable"
	case errors.Is(err, ErrOverloaded):
		return store.StatusInternalError, "overloaded"
	case errors.Is(err, ErrNotReady):
		return store.StatusInternalError, "not_ready"
	case errors.Is(err, ErrRequestTimeout):
		return store.StatusInvalid, "request_timeout"
	case errors.Is(err, ErrTooLarge):
		return store.StatusInvalid, "request_too_large"
	case errors.Is(err, context.Canceled):
		return store.StatusCanceled, "canceled"
	case errors.As(err, &pe):
		return store.StatusUpstreamError, "upstream_" + pe.Kind.String()
	case errors.Is(err, context.DeadlineExceeded):
		return store.StatusUpstreamError, "deadline_exceeded"
	}
	return store.StatusInternalError, "internal"
}
