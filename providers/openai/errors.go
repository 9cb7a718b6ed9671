package openai

import (
	"bytes"
	"errors"
	"net/http"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
)

// ErrStreamClosed is returned by Recv after Close.
var ErrStreamClosed = errors.New("openai: stream closed")

// maxMessageBytes bounds the message taken from a non-JSON error body.
const maxMessageBytes = 512

// statusError converts a non-2xx response into *providers.Error.
//
// The kind comes from the status and is refined by the upstream's code:
// context_length_exceeded becomes KindContextLength and model_not_found
// KindNotFound. A 429 with code insufficient_quota stays KindRateLimited:
// this credential will not recover soon, but another target may serve the
// request, so it must stay retryable for fallback; callers that want to
// avoid retrying the same target can look at Code.
func (p *Provider) statusError(status int, h http.Header, body []byte) *providers.Error {
	e := &providers.Error{
		Provider:   p.id,
		Status:     status,
		Kind:       providers.KindForStatus(status),
		RetryAfter: providers.ParseRetryAfter(h, p.now()),
		Header:     providers.RateLimitHeaders(h),
	}
	if obj, ok := parseErrorBody(body); ok {
		p.fill(e, obj)
	} else {
		e.Message = p.redact(plainMessage(status, body))
	}
	if e.Kind == providers.KindUnknown {
		e.Kind = kindForError(e.Type, e.Code, providers.KindUnknown)
	}
	e.Kind = refineKind(e.Kind, e.Code, e.Message)
	return e
}

// streamError converts an error object received inside a 2xx stream. The
// kind comes from the upstream's type and code; failures it does not name
// are server failures.
func (p *Provider) streamError(obj *schema.ErrorObject) *providers.Error {
	e := &providers.Error{Provider: p.id}
	p.fill(e, obj)
	e.Kind = refineKind(kindForError(e.Type, e.Code, providers.KindServer), e.Code, e.Message)
	return e
}

func (p *Provider) fill(e *providers.Error, obj *schema.ErrorObject) {
	e.Type = p.redact(obj.Type)
	e.Code = p.redact(apischema.Text(obj.Code))
	e.Param = p.redact(obj.ParamString())
	e.Message = p.redact(obj.Message)
	if e.Message == "" {
		e.Message = http.StatusText(e.Status)
		if e.Message == "" {
			e.Message = "upstream error"
		}
	}
}

// parseErrorBody decodes {"error":{...}}, {"error":"text"} or an un-nested
// {"message":...,"type":...,"code":...}.
func parseErrorBody(body []byte) (*schema.ErrorObject, bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, false
	}
	var b schema.ErrorBody
	if apischema.UnmarshalLenient(body, &b) != nil {
		return nil, false
	}
	if b.Error != nil {
		return b.Error, true
	}
	if b.Message != "" {
		return &schema.ErrorObject{Message: b.Message, Type: b.Type, Code: b.Code}, true
	}
	return nil, false
}

// plainMessage makes a bounded one-line message of a body that is not an
// OpenAI error object (an HTML page from a proxy, plain text).
func plainMessage(status int, body []byte) string {
	return upstream.StatusMessage(status, body, maxMessageBytes)
}

// oneLine collapses whitespace and cuts text to maxMessageBytes.
func oneLine(body []byte) string { return upstream.OneLine(body, maxMessageBytes) }

// kindForError classifies by the upstream's error type or code when the
// status says nothing (in-stream errors, unusual statuses).
func kindForError(typ, code string, fallback providers.ErrorKind) providers.ErrorKind {
	switch code {
	case "rate_limit_exceeded", "insufficient_quota":
		return providers.KindRateLimited
	case "invalid_api_key":
		return providers.KindAuthentication
	case "model_not_found":
		return providers.KindNotFound
	case "server_is_overloaded", "slow_down":
		return providers.KindOverloaded
	}
	switch typ {
	case "invalid_request_error", "BadRequestError":
		return providers.KindInvalidRequest
	case "authentication_error":
		return providers.KindAuthentication
	case "permission_error", "permission_denied":
		return providers.KindPermissionDenied
	case "not_found_error":
		return providers.KindNotFound
	case "rate_limit_error", "tokens", "requests", "insufficient_quota":
		return providers.KindRateLimited
	case "overloaded_error", "service_unavailable_error":
		return providers.KindOverloaded
	case "server_error", "api_error", "internal_error":
		return providers.KindServer
	}
	return fallback
}

// refineKind applies codes that are more specific than the status.
func refineKind(k providers.ErrorKind, code, msg string) providers.ErrorKind {
	switch {
	case code == "context_length_exceeded":
		return providers.KindContextLength
	case k == providers.KindInvalidRequest && strings.Contains(msg, "maximum context length"):
		return providers.KindContextLength
	case code == "model_not_found" && (k == providers.KindInvalidRequest || k == providers.KindUnknown):
		return providers.KindNotFound
	}
	return k
}

// redact removes every occurrence of the API key from upstream text.
func (p *Provider) redact(s string) string { return upstream.Redact(p.apiKey, s) }

// redactErr removes the API key from a transport error's URL (keys sent as
// query parameters by compatible APIs) and, failing that, from its text.
func (p *Provider) redactErr(err error) error { return upstream.RedactErr(p.apiKey, err) }
