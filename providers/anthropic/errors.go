package anthropic

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
)

// ErrStreamClosed is returned by Recv after Close.
var ErrStreamClosed = errors.New("anthropic: stream closed")

// maxMessageBytes bounds the message taken from a non-JSON error body.
const maxMessageBytes = 512

// statusError converts a non-2xx response into *providers.Error. The kind
// comes from the upstream's error type when it is one Anthropic documents,
// otherwise from the status; messages about prompts larger than the
// context window become KindContextLength.
func (p *Provider) statusError(status int, h http.Header, body []byte) *providers.Error {
	e := &providers.Error{
		Provider:   p.id,
		Status:     status,
		RetryAfter: providers.ParseRetryAfter(h, p.now()),
		Header:     providers.RateLimitHeaders(h),
	}
	if obj, ok := parseErrorBody(body); ok {
		p.fill(e, obj)
	} else {
		e.Message = p.redact(plainMessage(status, body))
	}
	e.Kind = refineKind(kindForType(e.Type, providers.KindForStatus(status)), e.Message)
	return e
}

// streamError converts an error event received inside a 2xx stream. Types
// it does not know are server failures.
func (p *Provider) streamError(obj *schema.ErrorObject) *providers.Error {
	e := &providers.Error{Provider: p.id}
	p.fill(e, obj)
	e.Kind = refineKind(kindForType(e.Type, providers.KindServer), e.Message)
	return e
}

func (p *Provider) fill(e *providers.Error, obj *schema.ErrorObject) {
	e.Type = p.redact(obj.Type)
	e.Message = p.redact(obj.Message)
	if obj.Details != nil {
		e.Code = p.redact(obj.Details.ErrorCode)
	}
	if e.Message == "" {
		e.Message = http.StatusText(e.Status)
		if e.Message == "" {
			e.Message = "upstream error"
		}
	}
}

// parseErrorBody decodes {"type":"error","error":{"type","message"}}.
func parseErrorBody(body []byte) (*schema.ErrorObject, bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, false
	}
	var b schema.ErrorBody
	if apischema.UnmarshalLenient(body, &b) != nil || b.Error == nil {
		return nil, false
	}
	return b.Error, true
}

// plainMessage makes a bounded one-line message of a body that is not an
// Anthropic error object (an HTML page from a proxy, plain text); status 0
// means an error event inside a stream.
func plainMessage(status int, body []byte) string {
	prefix := "upstream stream error"
	if status != 0 {
		prefix = "upstream returned " + strconv.Itoa(status)
		if t := http.StatusText(status); t != "" {
			prefix += " " + t
		}
	}
	if text := upstream.OneLine(body, maxMessageBytes); text != "" {
		return prefix + ": " + text
	}
	return prefix
}

// kindForType classifies Anthropic's documented error types; others get
// fallback.
//
// billing_error (402, credit balance exhausted) is classified like a rate
// limit: this credential will not recover soon, but another target may
// serve the request, so it stays retryable for fallback. Callers that want
// to avoid retrying the same target can look at Type.
func kindForType(typ string, fallback providers.ErrorKind) providers.ErrorKind {
	switch typ {
	case "invalid_request_error", "request_too_large":
		return providers.KindInvalidRequest
	case "authentication_error":
		return providers.KindAuthentication
	case "permission_error":
		return providers.KindPermissionDenied
	case "not_found_error":
		return providers.KindNotFound
	case "rate_limit_error", "billing_error":
		return providers.KindRateLimited
	case "overloaded_error":
		return providers.KindOverloaded
	case "timeout_error":
		return providers.KindTimeout
	case "api_error":
		return providers.KindServer
	}
	return fallback
}

// refineKind recognises prompts too large for the model's context window,
// which Anthropic reports as invalid_request_error.
func refineKind(k providers.ErrorKind, msg string) providers.ErrorKind {
	if k != providers.KindInvalidRequest {
		return k
	}
	m := strings.ToLower(msg)
	if strings.Contains(m, "prompt is too long") || strings.Contains(m, "exceed context limit") ||
		strings.Contains(m, "context window") {
		return providers.KindContextLength
	}
	return k
}

// redact removes every occurrence of the API key from upstream text.
func (p *Provider) redact(s string) string { return upstream.Redact(p.apiKey, s) }

// redactErr removes the API key from a transport error's text.
func (p *Provider) redactErr(err error) error { return upstream.RedactErr(p.apiKey, err) }
