package geminitest

import (
	"github.com/go-json-experiment/json/jsontext"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"net/http"
	"strconv"
	"time"
)

// FaultKind says how a request fails.
type FaultKind uint8

// The fault kinds.
const (
	// FaultStatus answers with Fault.Status and a google.rpc.Status body.
	FaultStatus FaultKind = iota + 1
	// FaultHang never answers; the handler returns when the client goes
	// away or the fake is closed.
	FaultHang
	// FaultReset resets the connection before answering.
	FaultReset
	// FaultDieMidStream sends Fault.AfterEvents stream events, then resets
	// the connection, or with Fault.Graceful ends the body normally before
	// the finishing event. Unary answers are cut off mid-body.
	FaultDieMidStream
	// FaultStreamError sends Fault.AfterEvents stream events, then an event
	// {"error":{...}} and ends. Unary requests get the error as a status.
	FaultStreamError
	// FaultBlockPrompt answers with no candidates and
	// promptFeedback.blockReason Fault.BlockReason (default SAFETY).
	FaultBlockPrompt
	// FaultFinish answers normally but ends every candidate with
	// Fault.FinishReason (e.g. SAFETY, RECITATION, MALFORMED_FUNCTION_CALL).
	FaultFinish
)

// Fault is a failure injected into one request.
type Fault struct {
	Kind FaultKind
	// Status, GoogleStatus and Message fill the error of FaultStatus and
	// FaultStreamError.
	Status       int
	GoogleStatus string
	Message      string
	// Reason adds an ErrorInfo detail with this reason.
	Reason string
	// RetryDelay adds a RetryInfo detail, e.g. "12s".
	RetryDelay string
	// Header is added to the error response.
	Header http.Header
	// AfterEvents is the number of stream events sent before dying.
	AfterEvents int
	// Graceful makes FaultDieMidStream end the body cleanly.
	Graceful bool
	// BlockReason is the promptFeedback.blockReason of FaultBlockPrompt.
	BlockReason string
	// FinishReason is the finishReason of FaultFinish.
	FinishReason string
}

// FaultFunc decides per request whether to inject a fault.
type FaultFunc func(r *Request) (Fault, bool)

// StatusFault returns a FaultStatus with the error Google sends for status:
// 400 INVALID_ARGUMENT, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404
// NOT_FOUND, 429 RESOURCE_EXHAUSTED (with a 1s RetryInfo), 500 INTERNAL,
// 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED.
func StatusFault(status int) Fault {
	f := Fault{Kind: FaultStatus, Status: status}
	switch status {
	case http.StatusBadRequest:
		f.GoogleStatus, f.Message = "INVALID_ARGUMENT", "Request contains an invalid argument."
	case http.StatusUnauthorized:
		f.GoogleStatus, f.Message = "UNAUTHENTICATED", "Request had invalid authentication credentials."
	case http.StatusForbidden:
		f.GoogleStatus, f.Message = "PERMISSION_DENIED", "The caller does not have permission"
	case http.StatusNotFound:
		f.GoogleStatus, f.Message = "NOT_FOUND", "Requested entity was not found."
	case http.StatusTooManyRequests:
		return RateLimitFault(time.Second)
	case http.StatusInternalServerError:
		f.GoogleStatus, f.Message = "INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
	case http.StatusServiceUnavailable:
		f.GoogleStatus, f.Message = "UNAVAILABLE", "The model is overloaded. Please try again later."
	case http.StatusGatewayTimeout:
		f.GoogleStatus, f.Message = "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."
	default:
		f.GoogleStatus, f.Message = "UNKNOWN", http.StatusText(status)
	}
	return f
}

// RateLimitFault returns the 429 RESOURCE_EXHAUSTED Google sends for an
// exceeded quota, with a RetryInfo detail of retryDelay (whole seconds, at
// least 1).
func RateLimitFault(retryDelay time.Duration) Fault {
	secs := max(int((retryDelay+time.Second-1)/time.Second), 1)
	return Fault{Kind: FaultStatus, Status: http.StatusTooManyRequests, GoogleStatus: "RESOURCE_EXHAUSTED",
		Message: "You exceeded your current quota, please check your plan and billing details. " +
			"Please retry in " + strconv.Itoa(secs) + "s.",
		RetryDelay: strconv.Itoa(secs) + "s"}
}

// ContextLengthFault returns the 400 Google sends for a prompt over the
// model's input limit.
func ContextLengthFault() Fault {
	return Fault{Kind: FaultStatus, Status: http.StatusBadRequest, GoogleStatus: "INVALID_ARGUMENT",
		Message: "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."}
}

// HangFault returns a fault that never answers.
func HangFault() Fault { return Fault{Kind: FaultHang} }

// ResetFault returns a fault that resets the connection.
func ResetFault() Fault { return Fault{Kind: FaultReset} }

// DieAfterFault returns a fault that resets a stream after n events.
func DieAfterFault(n int) Fault { return Fault{Kind: FaultDieMidStream, AfterEvents: n} }

// StreamErrorFault returns a fault that sends n events and then an
// in-stream INTERNAL error.
func StreamErrorFault(n int) Fault {
	return Fault{Kind: FaultStreamError, AfterEvents: n, Status: http.StatusInternalServerError, GoogleStatus: "INTERNAL",
		Message: "An internal error has occurred."}
}

// BlockPromptFault returns a fault that blocks the prompt for reason.
func BlockPromptFault(reason string) Fault { return Fault{Kind: FaultBlockPrompt, BlockReason: reason} }

// FinishFault returns a fault that ends the answer with reason.
func FinishFault(reason string) Fault { return Fault{Kind: FaultFinish, FinishReason: reason} }

// errorOut renders the fault as a google.rpc.Status.
func (f *Fault) errorOut() schema.Status {
	e := schema.Status{Code: f.Status, Message: f.Message, Status: f.GoogleStatus}
	if f.Reason != "" {
		e.Details = append(e.Details, schema.StatusDetail{Type: "type.googleapis.com/google.rpc.ErrorInfo",
			Reason: f.Reason, Domain: "googleapis.com"})
	}
	if f.RetryDelay != "" {
		e.Details = append(e.Details,
			schema.StatusDetail{Type: "type.googleapis.com/google.rpc.Help", Unknown: jsontext.Value(
				`{"links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]}`)},
			schema.StatusDetail{Type: "type.googleapis.com/google.rpc.RetryInfo", RetryDelay: f.RetryDelay})
	}
	return e
}
