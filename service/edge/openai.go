package edge

import (
	"net/http"
	"strconv"
	"time"
)

// HTTPError is a problem rendered for an HTTP dialect: the status, the
// response headers to set and the JSON body.
type HTTPError struct {
	Status int
	Header http.Header
	// Type is the dialect's error type ("invalid_request_error", ...).
	Type string
	// Code and Param are OpenAI's error code and parameter ("" for null).
	Code, Param string
	Message     string
}

// StatusClientClosed is the de-facto status of a request whose caller
// went away (nginx's 499).
const StatusClientClosed = 499

// The OpenAI error types.
const (
	openAIInvalidRequest = "invalid_request_error"
	openAIServer         = "server_error"
)

// openAI maps every kind to OpenAI's status, error type and code.
var openAI = [numKinds]struct {
	status     int
	typ, code  string
	paramModel bool
}{
	KindInternal:        {http.StatusInternalServerError, openAIServer, "", false},
	KindInvalidArgument: {http.StatusBadRequest, openAIInvalidRequest, "", false},
	KindTooLarge:        {http.StatusRequestEntityTooLarge, openAIInvalidRequest, "request_too_large", false},
	KindUnauthenticated: {http.StatusUnauthorized, openAIInvalidRequest, "invalid_api_key", false},
	// OpenAI answers a model the project may not use like an unknown one.
	KindPermissionDenied:   {http.StatusForbidden, openAIInvalidRequest, "model_not_found", true},
	KindModelNotFound:      {http.StatusNotFound, openAIInvalidRequest, "model_not_found", true},
	KindNotFound:           {http.StatusNotFound, openAIInvalidRequest, "not_found", false},
	KindAlreadyExists:      {http.StatusConflict, openAIInvalidRequest, "already_exists", false},
	KindFailedPrecondition: {http.StatusBadRequest, openAIInvalidRequest, "failed_precondition", false},
	KindBudgetExceeded:     {http.StatusTooManyRequests, "insufficient_quota", "insufficient_quota", false},
	KindRateLimited:        {http.StatusTooManyRequests, "rate_limit_exceeded", "rate_limit_exceeded", false},
	KindGuardrailBlocked:   {http.StatusBadRequest, openAIInvalidRequest, "guardrail_blocked", false},
	KindUnavailable:        {http.StatusServiceUnavailable, openAIServer, "unavailable", false},
	KindOverloaded:         {http.StatusServiceUnavailable, openAIServer, "server_is_overloaded", false},
	// Upstream failures are 502/503/504 rather than the upstream's own
	// status: the gateway answered, its upstream did not.
	KindUpstreamAuth:     {http.StatusBadGateway, openAIServer, "upstream_auth_failed", false},
	KindUpstreamNotFound: {http.StatusBadGateway, openAIServer, "upstream_model_not_found", false},
	KindUpstreamFailed:   {http.StatusBadGateway, openAIServer, "upstream_error", false},
	KindDeadlineExceeded: {http.StatusGatewayTimeout, openAIServer, "timeout", false},
	KindCanceled:         {StatusClientClosed, openAIInvalidRequest, "client_closed_request", false},
	KindRequestTimeout:   {http.StatusRequestTimeout, openAIInvalidRequest, "request_timeout", false},
}

// OpenAI renders p as the OpenAI API reports errors: status, type, code
// and param in {"error":{...}}, and the headers the official SDKs read:
// the upstream's rate-limit headers, x-ratelimit-{limit,remaining,reset}-
// {requests|tokens} for the gateway's rate limits, retry-after, and
// x-should-retry on the statuses the SDKs retry (429 and 5xx), so that
// they retry what a retry may cure and nothing else.
func OpenAI(p Problem) HTTPError {
	m := openAI[p.Kind]
	e := HTTPError{Status: m.status, Type: m.typ, Code: m.code, Param: p.Param, Message: p.Message, Header: http.Header{}}
	if p.Code != "" {
		e.Code = p.Code
	}
	if m.paramModel {
		e.Param = "model"
	}
	switch {
	case p.Kind == KindRateLimited && p.Quota != nil:
		// The gateway's own limit: the type says which, like OpenAI's.
		e.Type = p.Quota.unit()
	case p.Kind == KindRateLimited && p.Code == "insufficient_quota":
		e.Type = "insufficient_quota"
	}
	copyHeader(e.Header, p)
	if q := p.Quota; q != nil && !q.Budget {
		u := q.unit()
		e.Header.Set("x-ratelimit-limit-"+u, strconv.FormatInt(q.Limit, 10))
		e.Header.Set("x-ratelimit-remaining-"+u, strconv.FormatInt(q.Remaining, 10))
		e.Header.Set("x-ratelimit-reset-"+u, p.RetryAfter.Round(time.Millisecond).String())
	}
	retryHeaders(e.Header, e.Status, p)
	return e
}

// copyHeader sets the upstream's headers worth passing on.
func copyHeader(h http.Header, p Problem) {
	if p.Upstream == nil {
		return
	}
	for k, vs := range p.Upstream.Header {
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
}

// retryHeaders sets retry-after (whole seconds) and retry-after-ms (which
// the OpenAI and Anthropic SDKs prefer) from p's hint, unless the
// upstream's are passed on, and, on a status the SDKs retry,
// x-should-retry.
func retryHeaders(h http.Header, status int, p Problem) {
	if p.RetryAfter > 0 && h.Get("Retry-After") == "" && h.Get("Retry-After-Ms") == "" {
		h.Set("Retry-After", retrySeconds(p.RetryAfter))
		h.Set("Retry-After-Ms", strconv.FormatInt(max(p.RetryAfter.Milliseconds(), 1), 10))
	}
	if status == http.StatusTooManyRequests || status >= 500 {
		h.Set("X-Should-Retry", strconv.FormatBool(p.Retryable))
	}
}

// OpenAIBody is the JSON body of an OpenAI error; empty param and code are
// sent as null, as OpenAI does.
type OpenAIBody struct {
	Error OpenAIErrorObject `json:"error"`
}

// OpenAIErrorObject is the "error" member of an OpenAI error body.
type OpenAIErrorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// OpenAIBody returns e's OpenAI body.
func (e HTTPError) OpenAIBody() OpenAIBody {
	o := OpenAIErrorObject{Message: e.Message, Type: e.Type}
	if e.Param != "" {
		o.Param = &e.Param
	}
	if e.Code != "" {
		o.Code = &e.Code
	}
	return OpenAIBody{Error: o}
}
