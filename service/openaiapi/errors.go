package openaiapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/guardrails"
)

// OpenAI error types used in error bodies.
const (
	typeInvalidRequest = "invalid_request_error"
	typeServer         = "server_error"
	typeRateLimit      = "rate_limit_exceeded"
)

// apiError is an error as the OpenAI API reports it: an HTTP status, the
// {"error":{...}} body and headers to pass on.
type apiError struct {
	Status  int
	Message string
	Type    string
	Param   string
	Code    string
	// Header holds response headers to add: upstream rate-limit headers,
	// x-should-retry.
	Header http.Header
}

// errorObject is the "error" member of an error body; empty param and code
// are sent as null, as OpenAI does.
type errorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

type errorEnvelope struct {
	Error errorObject `json:"error"`
}

func (e *apiError) body() errorEnvelope {
	o := errorObject{Message: e.Message, Type: e.Type}
	if e.Param != "" {
		o.Param = &e.Param
	}
	if e.Code != "" {
		o.Code = &e.Code
	}
	return errorEnvelope{Error: o}
}

// noRetry marks a 5xx the SDKs should not retry (they honour x-should-retry).
func noRetry() http.Header { return http.Header{"X-Should-Retry": {"false"}} }

// toAPIError maps any error of the request path to the OpenAI error the
// caller sees. It is the only place that decides statuses and codes:
//
//	gateway.ErrUnauthenticated        401 invalid_request_error / invalid_api_key
//	gateway.ErrPermissionDenied       403 invalid_request_error / model_not_found (OpenAI's project-access answer)
//	gateway.ErrModelNotFound          404 invalid_request_error / model_not_found, param model
//	*gateway.InvalidRequestError      400 invalid_request_error, param in OpenAI's terms
//	decode failures (*badParam)       400 invalid_request_error, param
//	*http.MaxBytesError               413 invalid_request_error / request_too_large
//	gateway.ErrUnavailable            503 server_error / provider_unavailable (not retried)
//	upstream rate limited             429 rate_limit_exceeded (insufficient_quota kept), upstream headers
//	upstream context length           400 invalid_request_error / context_length_exceeded, param messages
//	upstream invalid request          400 invalid_request_error, upstream param and code
//	upstream overloaded               503 server_error / server_is_overloaded, upstream headers
//	upstream timeout, ctx deadline    504 server_error / timeout
//	upstream auth / permission        502 server_error / upstream_auth_failed (the gateway's credential; not retried)
//	upstream not found                502 server_error / upstream_model_not_found (gateway configuration; not retried)
//	upstream 5xx, connection, other   502 server_error / upstream_error
//	budget exhausted                  429 insufficient_quota / insufficient_quota, x-should-retry: false
//	rate limit exceeded               429 requests|tokens / rate_limit_exceeded, retry-after, x-ratelimit-*
//	limits cannot be checked          503 server_error / overloaded, retry-after (governance.ErrUnavailable)
//	context.Canceled                  499 (the client is gone)
//	anything else                     500 server_error, message names the request id only
//
// Upstream failures become 502/503/504 rather than the upstream's own
// status: the gateway answered, its upstream did not. The SDKs retry 429
// and every 5xx by default, which suits transient upstream failures;
// failures no retry can cure carry x-should-retry: false.
func toAPIError(requestID string, err error) *apiError {
	var (
		bp  *badParam
		inv *gateway.InvalidRequestError
		pe  *providers.Error
		mbe *http.MaxBytesError
		le  *governance.LimitError
		ue  *governance.UnavailableError
		be  *guardrails.BlockedError
	)
	switch {
	case errors.As(err, &be):
		return guardrailError(be)
	case errors.As(err, &le):
		return limitError(le)
	case errors.As(err, &ue):
		return &apiError{Status: http.StatusServiceUnavailable, Type: typeServer, Code: "overloaded", Message: ue.Error(),
			Header: http.Header{"Retry-After": {retrySeconds(ue.RetryAfter)}, "X-Should-Retry": {"true"}}}
	case errors.As(err, &bp):
		return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: bp.param, Message: bp.Error()}
	case errors.As(err, &mbe):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Code: "request_too_large",
			Message: fmt.Sprintf("the request body exceeds the gateway's limit of %d bytes", mbe.Limit)}
	case errors.Is(err, gateway.ErrUnauthenticated):
		return &apiError{Status: http.StatusUnauthorized, Type: typeInvalidRequest, Code: "invalid_api_key", Message: err.Error()}
	case errors.Is(err, gateway.ErrPermissionDenied):
		return &apiError{Status: http.StatusForbidden, Type: typeInvalidRequest, Code: "model_not_found", Param: "model", Message: err.Error()}
	case errors.Is(err, gateway.ErrModelNotFound):
		return &apiError{Status: http.StatusNotFound, Type: typeInvalidRequest, Code: "model_not_found", Param: "model",
			Message: "The model " + strings.TrimPrefix(err.Error(), gateway.ErrModelNotFound.Error()+": ") + " does not exist or you do not have access to it."}
	case errors.As(err, &inv):
		return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: openAIParam(inv.Param), Message: err.Error()}
	case errors.Is(err, gateway.ErrInvalidRequest):
		return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Message: err.Error()}
	case errors.Is(err, gateway.ErrUnavailable):
		return &apiError{Status: http.StatusServiceUnavailable, Type: typeServer, Code: "provider_unavailable", Message: err.Error(), Header: noRetry()}
	case errors.As(err, &pe):
		return upstreamError(pe)
	case errors.Is(err, context.Canceled):
		return &apiError{Status: 499, Type: typeInvalidRequest, Code: "client_closed_request", Message: "the client closed the request"}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusGatewayTimeout, Type: typeServer, Code: "timeout", Message: "the request timed out"}
	}
	return &apiError{Status: http.StatusInternalServerError, Type: typeServer,
		Message: "The gateway had an internal error while processing your request; request id " + requestID}
}

// limitError maps a refused budget or rate limit to OpenAI's 429s: an
// exhausted budget is insufficient_quota and must not be retried; a rate
// limit says when to come back.
func limitError(le *governance.LimitError) *apiError {
	h := http.Header{}
	le.OpenAIHeaders(h)
	if le.Budget {
		return &apiError{Status: http.StatusTooManyRequests, Type: "insufficient_quota", Code: "insufficient_quota", Message: le.Error(), Header: h}
	}
	typ := "requests"
	if le.Dimension == governance.DimTokens {
		typ = "tokens"
	}
	return &apiError{Status: http.StatusTooManyRequests, Type: typ, Code: "rate_limit_exceeded", Message: le.Error(), Header: h}
}

// retrySeconds is d in whole seconds for retry-after, rounded up, at least 1.
func retrySeconds(d time.Duration) string {
	return strconv.FormatInt(max(int64((d+time.Second-1)/time.Second), 1), 10)
}

// upstreamError maps a provider failure. Messages name the provider and
// repeat the upstream's message, which never holds credentials; auth
// failures concern the gateway's credential and say only that.
func upstreamError(pe *providers.Error) *apiError {
	msg := "provider " + pe.Provider + ": " + pe.Message
	e := &apiError{Status: http.StatusBadGateway, Type: typeServer, Code: "upstream_error", Message: msg}
	switch pe.Kind {
	case providers.KindRateLimited:
		e.Status, e.Type, e.Code = http.StatusTooManyRequests, typeRateLimit, "rate_limit_exceeded"
		if pe.Code == "insufficient_quota" || pe.Type == "insufficient_quota" {
			e.Type, e.Code = "insufficient_quota", "insufficient_quota"
		}
		e.Header = pe.Header.Clone()
		if e.Header.Get("Retry-After") == "" && pe.RetryAfter > 0 {
			if e.Header == nil {
				e.Header = make(http.Header)
			}
			e.Header.Set("Retry-After", strconv.Itoa(int((pe.RetryAfter+999_999_999)/1_000_000_000)))
		}
	case providers.KindContextLength:
		e.Status, e.Type, e.Code, e.Param = http.StatusBadRequest, typeInvalidRequest, "context_length_exceeded", "messages"
	case providers.KindInvalidRequest:
		e.Status, e.Type, e.Code, e.Param = http.StatusBadRequest, typeInvalidRequest, pe.Code, pe.Param
	case providers.KindOverloaded:
		e.Status, e.Code = http.StatusServiceUnavailable, "server_is_overloaded"
		e.Header = pe.Header.Clone()
	case providers.KindTimeout:
		e.Status, e.Code = http.StatusGatewayTimeout, "timeout"
	case providers.KindAuthentication, providers.KindPermissionDenied:
		e.Code, e.Header = "upstream_auth_failed", noRetry()
		e.Message = "provider " + pe.Provider + " rejected the gateway's credential (upstream status " +
			strconv.Itoa(pe.Status) + "); ask the gateway operator to check it"
	case providers.KindNotFound:
		e.Code, e.Header = "upstream_model_not_found", noRetry()
	}
	return e
}

// openAIParam renames a canonical parameter path (package gateway's
// validation) to the request field OpenAI's wire format uses.
func openAIParam(p string) string {
	switch {
	case strings.HasPrefix(p, "inputs"):
		return "input" + p[len("inputs"):]
	case strings.HasPrefix(p, "tools["):
		if i := strings.Index(p, "]."); i > 0 {
			return p[:i+2] + "function." + p[i+2:]
		}
	case strings.HasPrefix(p, "messages[") && strings.Contains(p, ".tool_calls["):
		for _, f := range []string{".name", ".arguments"} {
			if strings.HasSuffix(p, f) {
				return strings.TrimSuffix(p, f) + ".function" + f
			}
		}
	}
	return p
}
