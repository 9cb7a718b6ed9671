package bedrocktest

import (
	"net/http"
)

// FaultKind says how a request fails.
type FaultKind uint8

// The fault kinds.
const (
	// FaultStatus answers with Fault.Status, x-amzn-ErrorType: Fault.Type
	// and {"message": Fault.Message}.
	FaultStatus FaultKind = iota + 1
	// FaultHang never answers; the handler returns when the client goes
	// away or the fake is closed.
	FaultHang
	// FaultReset resets the connection before answering.
	FaultReset
	// FaultDieMidStream sends Fault.AfterEvents event-stream messages, then
	// resets the connection.
	FaultDieMidStream
	// FaultStreamException sends Fault.AfterEvents messages, then an
	// exception message of type Fault.Type (camelCase, e.g.
	// "throttlingException"). Unary requests get Fault.Status.
	FaultStreamException
	// FaultBadCRC sends Fault.AfterEvents messages, then one whose message
	// CRC is wrong.
	FaultBadCRC
)

// Fault is a failure injected into one request.
type Fault struct {
	Kind    FaultKind
	Status  int
	Type    string
	Message string
	// Header is added to an error answer.
	Header http.Header
	// AfterEvents is the number of stream messages sent before failing.
	AfterEvents int
}

// FaultFunc decides per request whether to inject a fault.
type FaultFunc func(r *Request) (Fault, bool)

// ErrorFault answers with status and the Bedrock error type typ.
func ErrorFault(status int, typ, message string) Fault {
	return Fault{Kind: FaultStatus, Status: status, Type: typ, Message: message}
}

// ThrottlingFault is Bedrock's 429 ThrottlingException.
func ThrottlingFault() Fault {
	return ErrorFault(http.StatusTooManyRequests, "ThrottlingException", "Too many requests, please wait before trying again.")
}

// ModelNotReadyFault is Bedrock's 429 ModelNotReadyException.
func ModelNotReadyFault() Fault {
	return ErrorFault(http.StatusTooManyRequests, "ModelNotReadyException",
		"Model is not ready for inference. Wait and try your request again.")
}

// ValidationFault is a 400 ValidationException with message.
func ValidationFault(message string) Fault {
	return ErrorFault(http.StatusBadRequest, "ValidationException", message)
}

// ServiceUnavailableFault is a 503 ServiceUnavailableException.
func ServiceUnavailableFault() Fault {
	return ErrorFault(http.StatusServiceUnavailable, "ServiceUnavailableException", "Bedrock is unable to process your request.")
}

// AccessDeniedFault is a 403 AccessDeniedException.
func AccessDeniedFault() Fault {
	return ErrorFault(http.StatusForbidden, "AccessDeniedException", "You don't have access to the model with the specified model ID.")
}

// StreamExceptionFault sends n stream messages, then an exception of
// type typ ("throttlingException", "modelStreamErrorException",
// "internalServerException", ...).
func StreamExceptionFault(n int, typ string) Fault {
	return Fault{Kind: FaultStreamException, Status: http.StatusInternalServerError, Type: typ,
		Message: "The stream failed: " + typ, AfterEvents: n}
}

// DieAfterFault resets a stream after n messages.
func DieAfterFault(n int) Fault { return Fault{Kind: FaultDieMidStream, AfterEvents: n} }

// BadCRCFault corrupts the CRC of stream message n+1.
func BadCRCFault(n int) Fault { return Fault{Kind: FaultBadCRC, AfterEvents: n} }

// HangFault never answers.
func HangFault() Fault { return Fault{Kind: FaultHang} }

// ResetFault resets the connection.
func ResetFault() Fault { return Fault{Kind: FaultReset} }
