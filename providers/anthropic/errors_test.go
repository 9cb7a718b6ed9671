package anthropic

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
	"github.com/tollgate-dev/tollgate/providers"
)

func TestStatusError(t *testing.T) {
	t.Parallel()
	body := func(typ, msg string) string {
		return `{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`
	}
	tests := []struct {
		name      string
		status    int
		header    http.Header
		body      string
		wantKind  providers.ErrorKind
		wantType  string
		wantCode  string
		wantMsg   string
		wantRetry time.Duration
		retryable bool
	}{
		{name: "invalid request", status: 400, body: body("invalid_request_error", "messages: roles must alternate"),
			wantKind: providers.KindInvalidRequest, wantType: "invalid_request_error", wantMsg: "messages: roles must alternate"},
		{name: "prompt too long", status: 400, body: body("invalid_request_error", "prompt is too long: 215000 tokens > 200000 maximum"),
			wantKind: providers.KindContextLength, wantType: "invalid_request_error", wantMsg: "prompt is too long: 215000 tokens > 200000 maximum"},
		{name: "input plus max_tokens over the limit", status: 400, body: body("invalid_request_error", "input length and `max_tokens` exceed context limit: 198000 + 8192 > 200000"),
			wantKind: providers.KindContextLength, wantType: "invalid_request_error", wantMsg: "input length and `max_tokens` exceed context limit: 198000 + 8192 > 200000"},
		{name: "authentication", status: 401, body: body("authentication_error", "invalid x-api-key"),
			wantKind: providers.KindAuthentication, wantType: "authentication_error", wantMsg: "invalid x-api-key"},
		{name: "billing", status: 402, body: body("billing_error", "Your credit balance is too low"),
			wantKind: providers.KindRateLimited, wantType: "billing_error", wantMsg: "Your credit balance is too low", retryable: true},
		{name: "permission", status: 403, body: body("permission_error", "Your API key does not have permission to use the specified resource."),
			wantKind: providers.KindPermissionDenied, wantType: "permission_error", wantMsg: "Your API key does not have permission to use the specified resource."},
		{name: "not found", status: 404, body: body("not_found_error", "model: claude-nope"),
			wantKind: providers.KindNotFound, wantType: "not_found_error", wantMsg: "model: claude-nope"},
		{name: "request too large from the edge", status: 413, body: body("request_too_large", "Request exceeds the maximum allowed number of bytes."),
			wantKind: providers.KindInvalidRequest, wantType: "request_too_large", wantMsg: "Request exceeds the maximum allowed number of bytes."},
		{name: "rate limited with headers", status: 429,
			header: http.Header{"Retry-After": {"17"}, "Anthropic-Ratelimit-Requests-Remaining": {"0"},
				"Anthropic-Ratelimit-Tokens-Reset": {"2025-10-01T12:00:17Z"}, "Request-Id": {"req_1"}},
			body:     `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit","details":{"error_code":"rate_limit"}}}`,
			wantKind: providers.KindRateLimited, wantType: "rate_limit_error", wantCode: "rate_limit",
			wantMsg: "Number of request tokens has exceeded your per-minute rate limit", wantRetry: 17 * time.Second, retryable: true},
		{name: "api error", status: 500, body: body("api_error", "Internal server error"),
			wantKind: providers.KindServer, wantType: "api_error", wantMsg: "Internal server error", retryable: true},
		{name: "overloaded", status: 529, body: body("overloaded_error", "Overloaded"),
			wantKind: providers.KindOverloaded, wantType: "overloaded_error", wantMsg: "Overloaded", retryable: true},
		{name: "gateway timeout page", status: 504, body: "<html><body>504 Gateway Time-out</body></html>",
			wantKind: providers.KindTimeout, wantMsg: "upstream returned 504 Gateway Timeout: <html><body>504 Gateway Time-out</body></html>", retryable: true},
		{name: "unknown type falls back to the status", status: 503, body: body("brand_new_error", "try later"),
			wantKind: providers.KindOverloaded, wantType: "brand_new_error", wantMsg: "try later", retryable: true},
		{name: "empty body", status: 502, wantKind: providers.KindServer, wantMsg: "upstream returned 502 Bad Gateway", retryable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newTestProvider(t, nil)
			e := p.statusError(tt.status, tt.header, []byte(tt.body))
			if e.Kind != tt.wantKind || e.Type != tt.wantType || e.Code != tt.wantCode || e.Message != tt.wantMsg {
				t.Errorf("got kind=%v type=%q code=%q msg=%q\nwant kind=%v type=%q code=%q msg=%q",
					e.Kind, e.Type, e.Code, e.Message, tt.wantKind, tt.wantType, tt.wantCode, tt.wantMsg)
			}
			if e.Status != tt.status || e.Provider != "anthropic-test" {
				t.Errorf("status=%d provider=%q", e.Status, e.Provider)
			}
			if e.RetryAfter != tt.wantRetry {
				t.Errorf("retry after = %v, want %v", e.RetryAfter, tt.wantRetry)
			}
			if got := providers.IsRetryable(e); got != tt.retryable {
				t.Errorf("retryable = %v, want %v", got, tt.retryable)
			}
			for k, v := range tt.header {
				want := strings.HasPrefix(k, "Anthropic-Ratelimit-") || k == "Retry-After"
				if got := e.Header.Get(k); (got == v[0]) != want {
					t.Errorf("header %s = %q, passed on: want %v", k, got, want)
				}
			}
		})
	}
}

func TestStreamErrorKinds(t *testing.T) {
	t.Parallel()
	tests := map[string]providers.ErrorKind{
		"overloaded_error":      providers.KindOverloaded,
		"api_error":             providers.KindServer,
		"rate_limit_error":      providers.KindRateLimited,
		"invalid_request_error": providers.KindInvalidRequest,
		"timeout_error":         providers.KindTimeout,
		"something_else":        providers.KindServer,
	}
	for typ, want := range tests {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			e := newTestProvider(t, nil).streamError(&schema.ErrorObject{Type: typ, Message: "m"})
			if e.Kind != want || e.Status != 0 || e.Type != typ {
				t.Errorf("got %+v, want kind %v", e, want)
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	t.Parallel()
	const key = "sk-ant-test-key"
	p := newTestProvider(t, nil)
	tests := []struct {
		name string
		err  error
	}{
		{"status error body", p.statusError(401, nil, []byte(`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key: sk-ant-test-key"}}`))},
		{"plain body", p.statusError(400, nil, []byte("bad key sk-ant-test-key"))},
		{"stream error", p.streamError(&schema.ErrorObject{Type: "api_error " + key, Message: "key " + key + " leaked"})},
		{"transport error", p.redactErr(&url.Error{Op: "Post", URL: "https://x/v1/messages?key=" + key, Err: errors.New("dial " + key)})},
		{"bad response", p.up.BadResponse(200, "message", errors.New("near "+key))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := tt.err.Error()
			var pe *providers.Error
			if errors.As(tt.err, &pe) {
				msg += "|" + pe.Type + "|" + pe.Message
			}
			if strings.Contains(msg, key) {
				t.Errorf("error leaks the key: %s", msg)
			}
			if !strings.Contains(msg, "[redacted]") {
				t.Errorf("error lost the redaction marker: %s", msg)
			}
		})
	}
}
