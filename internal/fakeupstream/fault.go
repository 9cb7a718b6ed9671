package fakeupstream

import (
	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"

	"net/http"
	"strconv"
	"time"
)

// FaultKind says how a request fails.
type FaultKind uint8

// The fault kinds.
const (
	// FaultStatus answers with Fault.Status and an OpenAI error body.
	FaultStatus FaultKind = iota + 1
	// FaultHang never answers; the handler returns when the client goes
	// away or the fake is closed.
	FaultHang
	// FaultReset resets the connection before answering.
	FaultReset
	// FaultDieMidStream sends Fault.AfterChunks stream events, then resets
	// the connection, or with Fault.Graceful ends the response normally
	// without "data: [DONE]". Unary answers are cut off mid-body.
	FaultDieMidStream
	// FaultStreamError sends Fault.AfterChunks stream events, then an error
	// event {"error":{...}} and ends. Unary requests get Fault.Status.
	FaultStreamError
)

// Fault is a failure injected into one request.
type Fault struct {
	Kind FaultKind
	// Status is the HTTP status of FaultStatus (and unary FaultStreamError).
	Status int
	// Type, Code, Param and Message fill the error object; empty Code and
	// Param are sent as null.
	Type    string
	Code    string
	Param   string
	Message string
	// Header is added to the error response (retry-after, x-ratelimit-*).
	Header http.Header
	// AfterChunks is the number of stream events sent before dying.
	AfterChunks int
	// Graceful makes FaultDieMidStream end the body cleanly.
	Graceful bool
}

// FaultFunc decides per request whether to inject a fault.
type FaultFunc func(r *Request) (Fault, bool)

// StatusFault returns a FaultStatus with the error body OpenAI sends for
// status: 400 invalid_request_error, 401 invalid_api_key, 403
// request_forbidden, 404 model_not_found, 429 rate_limit_exceeded (with
// retry-after: 1 and x-ratelimit-* headers), 500 server_error, 503
// server_is_overloaded.
func StatusFault(status int) Fault {
	f := Fault{Kind: FaultStatus, Status: status, Type: "server_error"}
	switch status {
	case http.StatusBadRequest:
		f.Type, f.Message = "invalid_request_error", "Invalid request (injected by fake upstream)."
	case http.StatusUnauthorized:
		f.Type, f.Code, f.Message = "invalid_request_error", "invalid_api_key", "Incorrect API key provided."
	case http.StatusForbidden:
		f.Type, f.Code, f.Message = "request_forbidden", "unsupported_country_region_territory", "Country, region, or territory not supported"
	case http.StatusNotFound:
		f.Type, f.Code, f.Message = "invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."
	case http.StatusTooManyRequests:
		return RateLimitFault(time.Second)
	case http.StatusInternalServerError:
		f.Message = "The server had an error while processing your request. Sorry about that!"
	case http.StatusServiceUnavailable:
		f.Code, f.Message = "server_is_overloaded", "The engine is currently overloaded, please try again later."
	default:
		f.Message = http.StatusText(status)
	}
	return f
}

// RateLimitFault returns a 429 rate_limit_exceeded with retry-after (whole
// seconds, at least 1) and the x-ratelimit-* headers OpenAI sends.
func RateLimitFault(retryAfter time.Duration) Fault {
	secs := max(int((retryAfter+time.Second-1)/time.Second), 1)
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(secs))
	h.Set("X-Ratelimit-Limit-Requests", "500")
	h.Set("X-Ratelimit-Remaining-Requests", "0")
	h.Set("X-Ratelimit-Reset-Requests", strconv.Itoa(secs)+"s")
	h.Set("X-Ratelimit-Limit-Tokens", "30000")
	h.Set("X-Ratelimit-Remaining-Tokens", "0")
	h.Set("X-Ratelimit-Reset-Tokens", strconv.Itoa(secs)+"s")
	return Fault{Kind: FaultStatus, Status: http.StatusTooManyRequests, Type: "requests", Code: "rate_limit_exceeded",
		Message: "Rate limit reached for requests (injected by fake upstream).", Header: h}
}

// QuotaFault returns the 429 insufficient_quota OpenAI sends when credits
// are exhausted; it has no retry-after.
func QuotaFault() Fault {
	return Fault{Kind: FaultStatus, Status: http.StatusTooManyRequests, Type: "insufficient_quota", Code: "insufficient_quota",
		Message: "You exceeded your current quota, please check your plan and billing details."}
}

// HangFault returns a fault that never answers.
func HangFault() Fault { return Fault{Kind: FaultHang} }

// ResetFault returns a fault that resets the connection.
func ResetFault() Fault { return Fault{Kind: FaultReset} }

// DieAfterFault returns a fault that resets a stream after n events.
func DieAfterFault(n int) Fault { return Fault{Kind: FaultDieMidStream, AfterChunks: n} }

// StreamErrorFault returns a fault that sends n events and then an
// in-stream server_error.
func StreamErrorFault(n int) Fault {
	return Fault{Kind: FaultStreamError, AfterChunks: n, Status: http.StatusInternalServerError, Type: "server_error",
		Message: "The server had an error while processing your request. Sorry about that!"}
}

// errorObject renders the fault as OpenAI's error object.
func (f *Fault) errorObject() schema.ErrorObject {
	return errorObject(f.Type, f.Param, f.Code, f.Message)
}

// errorObject returns an error object; empty param and code are null.
func errorObject(typ, param, code, msg string) schema.ErrorObject {
	e := schema.ErrorObject{Message: msg, Type: typ}
	if param != "" {
		e.Param = apischema.ValueOf(&param)
	}
	if code != "" {
		e.Code, _ = apischema.Marshal(code)
	}
	return e
}
