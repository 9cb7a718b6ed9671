package anthropictest

import (
	"net/http"
	"strconv"
	"time"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
)

// FaultKind says how a request fails.
type FaultKind uint8

// The fault kinds.
const (
	// FaultStatus answers with Fault.Status and an Anthropic error body.
	FaultStatus FaultKind = iota + 1
	// FaultHang never answers; the handler returns when the client goes
	// away or the server is closed.
	FaultHang
	// FaultReset resets the connection before answering.
	FaultReset
	// FaultDieMidStream sends Fault.AfterEvents stream events, then resets
	// the connection, or with Fault.Graceful ends the response normally
	// without message_stop. Unary answers are cut off mid-body.
	FaultDieMidStream
	// FaultStreamError sends Fault.AfterEvents stream events, then an
	// error event {"type":"error","error":{...}} and ends. Unary requests
	// get Fault.Status with the same error body.
	FaultStreamError
)

// Fault is a failure injected into one request.
type Fault struct {
	Kind FaultKind
	// Status is the HTTP status of FaultStatus (and unary FaultStreamError).
	Status int
	// Type and Message fill the error object.
	Type    string
	Message string
	// Header is added to the error response (retry-after,
	// anthropic-ratelimit-*).
	Header http.Header
	// AfterEvents is the number of stream events sent before failing.
	AfterEvents int
	// Graceful makes FaultDieMidStream end the body cleanly.
	Graceful bool
}

// FaultFunc decides per request whether to inject a fault.
type FaultFunc func(r *Request) (Fault, bool)

// StatusFault returns a FaultStatus with the error type Anthropic
// documents for status: 400 invalid_request_error, 401
// authentication_error, 403 permission_error, 404 not_found_error, 413
// request_too_large, 429 rate_limit_error (see [RateLimitFault]), 500
// api_error, 529 overloaded_error; other statuses get api_error.
func StatusFault(status int) Fault {
	f := Fault{Kind: FaultStatus, Status: status}
	switch status {
	case http.StatusBadRequest:
		f.Type, f.Message = "invalid_request_error", "Invalid request (injected by fake upstream)."
	case http.StatusUnauthorized:
		f.Type, f.Message = "authentication_error", "invalid x-api-key"
	case http.StatusForbidden:
		f.Type, f.Message = "permission_error", "Your API key does not have permission to use the specified resource."
	case http.StatusNotFound:
		f.Type, f.Message = "not_found_error", "The requested resource could not be found."
	case http.StatusRequestEntityTooLarge:
		f.Type, f.Message = "request_too_large", "Request exceeds the maximum allowed number of bytes."
	case http.StatusTooManyRequests:
		return RateLimitFault(time.Second)
	case http.StatusInternalServerError:
		f.Type, f.Message = "api_error", "Internal server error"
	case StatusOverloaded:
		f.Type, f.Message = "overloaded_error", "Overloaded"
	default:
		f.Type, f.Message = "api_error", http.StatusText(status)
	}
	return f
}

// StatusOverloaded is Anthropic's non-standard "overloaded" status.
const StatusOverloaded = 529

// OverloadedFault returns a 529 overloaded_error.
func OverloadedFault() Fault { return StatusFault(StatusOverloaded) }

// RateLimitFault returns a 429 rate_limit_error with retry-after (whole
// seconds, at least 1) and the anthropic-ratelimit-* headers Anthropic
// sends.
func RateLimitFault(retryAfter time.Duration) Fault {
	secs := max(int((retryAfter+time.Second-1)/time.Second), 1)
	reset := time.Now().Add(time.Duration(secs) * time.Second).UTC().Format(time.RFC3339)
	h := http.Header{}
	h.Set("retry-after", strconv.Itoa(secs))
	for _, kind := range []string{"requests", "tokens", "input-tokens", "output-tokens"} {
		h.Set("anthropic-ratelimit-"+kind+"-limit", "50")
		h.Set("anthropic-ratelimit-"+kind+"-remaining", "0")
		h.Set("anthropic-ratelimit-"+kind+"-reset", reset)
	}
	return Fault{Kind: FaultStatus, Status: http.StatusTooManyRequests, Type: "rate_limit_error",
		Message: "This request would exceed the rate limit for your organization (injected by fake upstream).", Header: h}
}

// PromptTooLongFault returns the 400 Anthropic sends for a prompt larger
// than the context window.
func PromptTooLongFault() Fault {
	return Fault{Kind: FaultStatus, Status: http.StatusBadRequest, Type: "invalid_request_error",
		Message: "prompt is too long: 215000 tokens > 200000 maximum"}
}

// HangFault returns a fault that never answers.
func HangFault() Fault { return Fault{Kind: FaultHang} }

// ResetFault returns a fault that resets the connection.
func ResetFault() Fault { return Fault{Kind: FaultReset} }

// DieAfterFault returns a fault that resets a stream after n events.
func DieAfterFault(n int) Fault { return Fault{Kind: FaultDieMidStream, AfterEvents: n} }

// StreamErrorFault returns a fault that sends n events and then an error
// event of errType (e.g. "overloaded_error"); unary requests get the
// status Anthropic uses for errType.
func StreamErrorFault(n int, errType string) Fault {
	status := http.StatusInternalServerError
	msg := "Internal server error"
	switch errType {
	case "overloaded_error":
		status, msg = StatusOverloaded, "Overloaded"
	case "rate_limit_error":
		status, msg = http.StatusTooManyRequests, "Rate limited"
	case "invalid_request_error":
		status, msg = http.StatusBadRequest, "Invalid request"
	}
	return Fault{Kind: FaultStreamError, AfterEvents: n, Status: status, Type: errType, Message: msg}
}

// body renders the fault as Anthropic's error body.
func (f *Fault) body(requestID string) *schema.ErrorBody {
	return &schema.ErrorBody{Type: "error", Error: &schema.ErrorObject{Type: f.Type, Message: f.Message}, RequestID: requestID}
}
