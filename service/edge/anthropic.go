package edge

import (
	"net/http"
	"strconv"
	"time"
)

// StatusOverloaded is Anthropic's status for a temporarily overloaded API.
const StatusOverloaded = 529

// anthropicErrors maps every kind to Anthropic's status and error type.
// Anthropic's SDKs retry 408, 409, 429 and every 5xx (529 included), so
// only failures a retry may cure get those statuses — and x-should-retry
// says so explicitly.
var anthropicErrors = [numKinds]struct {
	status int
	typ    string
}{
	KindInternal:           {http.StatusInternalServerError, "api_error"},
	KindInvalidArgument:    {http.StatusBadRequest, "invalid_request_error"},
	KindTooLarge:           {http.StatusRequestEntityTooLarge, "request_too_large"},
	KindUnauthenticated:    {http.StatusUnauthorized, "authentication_error"},
	KindPermissionDenied:   {http.StatusForbidden, "permission_error"},
	KindModelNotFound:      {http.StatusNotFound, "not_found_error"},
	KindNotFound:           {http.StatusNotFound, "not_found_error"},
	KindAlreadyExists:      {http.StatusConflict, "invalid_request_error"},
	KindFailedPrecondition: {http.StatusBadRequest, "invalid_request_error"},
	KindBudgetExceeded:     {http.StatusTooManyRequests, "rate_limit_error"},
	KindRateLimited:        {http.StatusTooManyRequests, "rate_limit_error"},
	KindGuardrailBlocked:   {http.StatusBadRequest, "invalid_request_error"},
	KindUnavailable:        {http.StatusServiceUnavailable, "api_error"},
	KindOverloaded:         {StatusOverloaded, "overloaded_error"},
	// The gateway's own credential: reported as the gateway's failure.
	KindUpstreamAuth:     {http.StatusInternalServerError, "api_error"},
	KindUpstreamNotFound: {http.StatusNotFound, "not_found_error"},
	KindUpstreamFailed:   {http.StatusBadGateway, "api_error"},
	KindDeadlineExceeded: {http.StatusGatewayTimeout, "timeout_error"},
	KindCanceled:         {StatusClientClosed, "api_error"},
	KindRequestTimeout:   {http.StatusRequestTimeout, "invalid_request_error"},
}

// Anthropic renders p as the Anthropic API reports errors: status and
// {"type":"error","error":{"type","message"}}, with the upstream's
// rate-limit headers, anthropic-ratelimit-{requests|tokens}-{limit,
// remaining,reset} for the gateway's rate limits and token budgets (money
// budgets have no header family: the body says it all), retry-after and
// x-should-retry.
func Anthropic(p Problem) HTTPError {
	m := anthropicErrors[p.Kind]
	e := HTTPError{Status: m.status, Type: m.typ, Message: p.Message, Header: http.Header{}}
	if p.Kind == KindUpstreamFailed && p.Upstream != nil && p.Upstream.Kind == "server" {
		e.Status = http.StatusInternalServerError // an upstream 5xx, as Anthropic's own
	}
	copyHeader(e.Header, p)
	if q := p.Quota; q != nil && q.Dimension != "cost" {
		u := q.unit()
		e.Header.Set("anthropic-ratelimit-"+u+"-limit", strconv.FormatInt(q.Limit, 10))
		e.Header.Set("anthropic-ratelimit-"+u+"-remaining", strconv.FormatInt(q.Remaining, 10))
		if !q.Reset.IsZero() {
			e.Header.Set("anthropic-ratelimit-"+u+"-reset", q.Reset.UTC().Format(time.RFC3339))
		}
	}
	retryHeaders(e.Header, e.Status, p)
	return e
}

// AnthropicBody is the JSON body of an Anthropic error.
type AnthropicBody struct {
	Type      string               `json:"type"`
	Error     AnthropicErrorObject `json:"error"`
	RequestID string               `json:"request_id,omitempty"`
}

// AnthropicErrorObject is the "error" member of an Anthropic error body.
type AnthropicErrorObject struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// AnthropicBody returns e's Anthropic body for the request requestID.
func (e HTTPError) AnthropicBody(requestID string) AnthropicBody {
	return AnthropicBody{Type: "error", Error: AnthropicErrorObject{Type: e.Type, Message: e.Message}, RequestID: requestID}
}
