package gemini

import (
	"bytes"
	"errors"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
)

// ErrStreamClosed is returned by Recv after Close.
var ErrStreamClosed = errors.New("gemini: stream closed")

// maxMessageBytes bounds the message taken from a non-JSON error body.
const maxMessageBytes = 512

// Detail types of google.rpc.Status the adapter reads.
const (
	detailRetryInfo = "type.googleapis.com/google.rpc.RetryInfo"
	detailErrorInfo = "type.googleapis.com/google.rpc.ErrorInfo"
)

// statusError converts a non-2xx response into *providers.Error.
//
// Type is the Google status (e.g. RESOURCE_EXHAUSTED) and Code the reason
// of an ErrorInfo detail (e.g. API_KEY_INVALID). The kind comes from the
// Google status, else from the HTTP status, refined by reason and message
// (see refineKind). RetryAfter is the RetryInfo retryDelay when present,
// else the retry-after header.
func (p *Provider) statusError(status int, h http.Header, body []byte) *providers.Error {
	e := &providers.Error{
		Provider:   p.id,
		Status:     status,
		Kind:       providers.KindForStatus(status),
		RetryAfter: providers.ParseRetryAfter(h, p.now()),
		Header:     providers.RateLimitHeaders(h),
	}
	obj, ok := parseErrorBody(body)
	if !ok {
		e.Message = p.redact(plainMessage(status, body))
		return e
	}
	p.fill(e, obj)
	if k := kindForStatus(obj.Status); k != providers.KindUnknown {
		e.Kind = k
	}
	e.Kind = refineKind(e.Kind, e.Code, e.Message)
	return e
}

// streamError converts an error object received inside a 2xx stream.
// Failures without a known Google status are server failures.
func (p *Provider) streamError(obj *schema.Status) *providers.Error {
	e := &providers.Error{Provider: p.id}
	p.fill(e, obj)
	e.Kind = kindForStatus(obj.Status)
	if e.Kind == providers.KindUnknown && obj.Code != 0 {
		e.Kind = providers.KindForStatus(obj.Code)
	}
	if e.Kind == providers.KindUnknown {
		e.Kind = providers.KindServer
	}
	e.Kind = refineKind(e.Kind, e.Code, e.Message)
	return e
}

func (p *Provider) fill(e *providers.Error, obj *schema.Status) {
	e.Type = p.redact(obj.Status)
	e.Message = p.redact(obj.Message)
	for _, d := range obj.Details {
		switch d.Type {
		case detailRetryInfo:
			if delay, ok := parseDuration(d.RetryDelay); ok {
				e.RetryAfter = delay
			}
		case detailErrorInfo:
			if e.Code == "" {
				e.Code = p.redact(d.Reason)
			}
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(e.Status)
		if e.Message == "" {
			e.Message = "upstream error"
		}
	}
}

// parseErrorBody decodes {"error":{...}}, or the same wrapped in an array
// (the non-SSE streaming format).
func parseErrorBody(body []byte) (*schema.Status, bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, false
	}
	if body[0] == '[' {
		var arr []schema.ErrorBody
		if unmarshal(body, &arr) != nil || len(arr) == 0 || arr[0].Error == nil {
			return nil, false
		}
		return arr[0].Error, true
	}
	var b schema.ErrorBody
	if body[0] != '{' || unmarshal(body, &b) != nil || b.Error == nil {
		return nil, false
	}
	return b.Error, true
}

// parseDuration reads a google.protobuf.Duration in its JSON form: decimal
// seconds followed by "s", e.g. "12s" or "0.5s".
func parseDuration(s string) (time.Duration, bool) {
	v, ok := strings.CutSuffix(strings.TrimSpace(s), "s")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > float64(1<<62)/float64(time.Second) {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// kindForStatus classifies a google.rpc.Code name.
func kindForStatus(status string) providers.ErrorKind {
	switch status {
	case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE", "ALREADY_EXISTS":
		return providers.KindInvalidRequest
	case "UNAUTHENTICATED":
		return providers.KindAuthentication
	case "PERMISSION_DENIED":
		return providers.KindPermissionDenied
	case "NOT_FOUND":
		return providers.KindNotFound
	case "RESOURCE_EXHAUSTED":
		return providers.KindRateLimited
	case "UNAVAILABLE":
		return providers.KindOverloaded
	case "DEADLINE_EXCEEDED":
		return providers.KindTimeout
	case "INTERNAL", "UNKNOWN", "DATA_LOSS", "ABORTED", "CANCELLED":
		return providers.KindServer
	}
	return providers.KindUnknown
}

// refineKind applies reasons and messages that are more specific than the
// status: an invalid or expired API key is answered with 400
// INVALID_ARGUMENT but is an authentication failure, and a prompt over the
// context window is a context-length failure.
func refineKind(k providers.ErrorKind, reason, msg string) providers.ErrorKind {
	switch {
	case reason == "API_KEY_INVALID", reason == "API_KEY_EXPIRED", strings.Contains(msg, "API key not valid"),
		strings.Contains(msg, "API key expired"):
		return providers.KindAuthentication
	case k == providers.KindInvalidRequest && (strings.Contains(msg, "exceeds the maximum number of tokens") ||
		strings.Contains(msg, "exceeds the maximum context length")):
		return providers.KindContextLength
	}
	return k
}

// plainMessage makes a bounded one-line message of a body that is not a
// Google error object (an HTML page from a proxy, plain text).
func plainMessage(status int, body []byte) string {
	return upstream.StatusMessage(status, body, maxMessageBytes)
}

// redact removes every occurrence of the API key from upstream text.
func (p *Provider) redact(s string) string { return upstream.Redact(p.apiKey, s) }

// redactErr removes the API key from a transport error's URL and, failing
// that, from its text. The adapter sends the key as a header, so this only
// guards against proxies and redirects that echo it.
func (p *Provider) redactErr(err error) error { return upstream.RedactErr(p.apiKey, err) }
