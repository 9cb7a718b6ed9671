package bedrock

import (
	"net/http"
	"strings"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/bedrock"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/internal/upstream"
)

// errorType returns the error type of an answer: the x-amzn-ErrorType
// header up to its first ':' ("ThrottlingException:http://…"), else the
// body's __type after its last '#'.
func errorType(h http.Header, body *schema.ErrorBody) string {
	t := h.Get(schema.HeaderErrorType)
	if t == "" && body != nil {
		t = body.Type
		if i := strings.LastIndexByte(t, '#'); i >= 0 {
			t = t[i+1:]
		}
	}
	t, _, _ = strings.Cut(t, ":")
	return strings.TrimSpace(t)
}

// kindOf classifies a Bedrock error type (any case: stream exceptions
// are camelCase), falling back to the status.
func kindOf(typ, message string, status int) providers.ErrorKind {
	switch strings.ToLower(typ) {
	case "throttlingexception", "servicequotaexceededexception", "toomanyrequestsexception":
		return providers.KindRateLimited
	case "modelnotreadyexception", "serviceunavailableexception":
		return providers.KindOverloaded
	case "internalserverexception", "internalfailure", "modelerrorexception", "modelstreamerrorexception":
		return providers.KindServer
	case "modeltimeoutexception":
		return providers.KindTimeout
	case "validationexception":
		m := strings.ToLower(message)
		if strings.Contains(m, "too long") || strings.Contains(m, "context length") || strings.Contains(m, "too many input tokens") ||
			strings.Contains(m, "context window") {
			return providers.KindContextLength
		}
		return providers.KindInvalidRequest
	case "accessdeniedexception":
		return providers.KindPermissionDenied
	case "unrecognizedclientexception", "invalidsignatureexception", "expiredtokenexception",
		"incompletesignatureexception", "missingauthenticationtokenexception", "invalidclienttokenid":
		return providers.KindAuthentication
	case "resourcenotfoundexception":
		return providers.KindNotFound
	}
	return providers.KindForStatus(status)
}

// statusError maps a non-2xx answer.
func (p *Provider) statusError(status int, h http.Header, body []byte) *providers.Error {
	var w schema.ErrorBody
	decoded := apischema.UnmarshalLenient(body, &w) == nil
	typ := errorType(h, &w)
	msg := w.Text()
	if !decoded || msg == "" {
		msg = upstream.StatusMessage(status, body, 512)
	}
	msg = upstream.Redact(p.up.Secret, msg)
	return &providers.Error{Provider: p.id, Status: status, Kind: kindOf(typ, msg, status), Type: typ, Message: msg,
		RetryAfter: providers.ParseRetryAfter(h, p.now()), Header: providers.RateLimitHeaders(h)}
}

// streamError maps an exception message of a stream.
func (p *Provider) streamError(typ string, payload []byte) *providers.Error {
	var w schema.ErrorBody
	msg := "upstream stream error"
	if apischema.UnmarshalLenient(payload, &w) == nil && w.Text() != "" {
		msg = w.Text()
	}
	msg = upstream.Redact(p.up.Secret, msg)
	return &providers.Error{Provider: p.id, Kind: kindOf(typ, msg, 0), Type: typ, Message: msg}
}
