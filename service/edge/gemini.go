package edge

import (
	"encoding/json"
	"net/http"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
)

// googleStatus maps a Connect (google.rpc) code to the HTTP status Google
// APIs answer it with.
var googleStatus = map[connect.Code]int{
	connect.CodeCanceled:           StatusClientClosed,
	connect.CodeUnknown:            http.StatusInternalServerError,
	connect.CodeInvalidArgument:    http.StatusBadRequest,
	connect.CodeDeadlineExceeded:   http.StatusGatewayTimeout,
	connect.CodeNotFound:           http.StatusNotFound,
	connect.CodeAlreadyExists:      http.StatusConflict,
	connect.CodePermissionDenied:   http.StatusForbidden,
	connect.CodeResourceExhausted:  http.StatusTooManyRequests,
	connect.CodeFailedPrecondition: http.StatusBadRequest,
	connect.CodeAborted:            http.StatusConflict,
	connect.CodeOutOfRange:         http.StatusBadRequest,
	connect.CodeUnimplemented:      http.StatusNotImplemented,
	connect.CodeInternal:           http.StatusInternalServerError,
	connect.CodeUnavailable:        http.StatusServiceUnavailable,
	connect.CodeDataLoss:           http.StatusInternalServerError,
	connect.CodeUnauthenticated:    http.StatusUnauthorized,
}

// GeminiBody is the JSON body of a Gemini (Google API) error:
// {"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED",
// "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo",...}]}}.
type GeminiBody struct {
	Error GeminiErrorObject `json:"error"`
}

// GeminiErrorObject is the "error" member of a Gemini error body.
type GeminiErrorObject struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Status  string            `json:"status"`
	Details []json.RawMessage `json:"details,omitempty"`
}

// Gemini renders p as Google APIs report errors: the google.rpc code's
// HTTP status, its name as "status", and the same google.rpc details as
// ConnectError in "details". The headers carry the upstream's rate-limit
// headers, retry-after and x-should-retry.
func Gemini(p Problem) (HTTPError, GeminiBody) {
	code := connectCodes[p.Kind]
	status := googleStatus[code]
	e := HTTPError{Status: status, Type: googleCodeName(code), Message: p.Message, Header: http.Header{}}
	copyHeader(e.Header, p)
	retryHeaders(e.Header, status, p)
	body := GeminiBody{Error: GeminiErrorObject{Code: status, Message: p.Message, Status: e.Type}}
	for _, d := range details(p) {
		a, err := anypb.New(d)
		if err != nil {
			continue
		}
		if b, err := protojson.Marshal(a); err == nil {
			body.Error.Details = append(body.Error.Details, b)
		}
	}
	return e, body
}

// googleCodeName is a code's google.rpc.Code name, e.g. "INVALID_ARGUMENT".
func googleCodeName(c connect.Code) string {
	switch c {
	case connect.CodeCanceled:
		return "CANCELLED"
	case connect.CodeInvalidArgument:
		return "INVALID_ARGUMENT"
	case connect.CodeDeadlineExceeded:
		return "DEADLINE_EXCEEDED"
	case connect.CodeNotFound:
		return "NOT_FOUND"
	case connect.CodeAlreadyExists:
		return "ALREADY_EXISTS"
	case connect.CodePermissionDenied:
		return "PERMISSION_DENIED"
	case connect.CodeResourceExhausted:
		return "RESOURCE_EXHAUSTED"
	case connect.CodeFailedPrecondition:
		return "FAILED_PRECONDITION"
	case connect.CodeAborted:
		return "ABORTED"
	case connect.CodeOutOfRange:
		return "OUT_OF_RANGE"
	case connect.CodeUnimplemented:
		return "UNIMPLEMENTED"
	case connect.CodeInternal:
		return "INTERNAL"
	case connect.CodeUnavailable:
		return "UNAVAILABLE"
	case connect.CodeDataLoss:
		return "DATA_LOSS"
	case connect.CodeUnauthenticated:
		return "UNAUTHENTICATED"
	}
	return "UNKNOWN"
}
