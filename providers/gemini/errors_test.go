package gemini

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/gemini"
	"github.com/tollgate-dev/tollgate/providers"
)

func TestStatusError(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		kind       providers.ErrorKind
		typ, code  string
		retryAfter time.Duration
		retryable  bool
		msg        string
	}{
		{
			name: "invalid argument", status: 400,
			body: `{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified\n","status":"INVALID_ARGUMENT"}}`,
			kind: providers.KindInvalidRequest, typ: "INVALID_ARGUMENT", msg: "contents is not specified",
		},
		{
			name: "invalid api key", status: 400,
			body: `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",
				"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com",
				"metadata":{"service":"generativelanguage.googleapis.com"}},
				{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}}`,
			kind: providers.KindAuthentication, typ: "INVALID_ARGUMENT", code: "API_KEY_INVALID",
		},
		{
			name: "context length", status: 400,
			body: `{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}`,
			kind: providers.KindContextLength, typ: "INVALID_ARGUMENT",
		},
		{
			name: "unregistered caller", status: 403,
			body: `{"error":{"code":403,"message":"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.","status":"PERMISSION_DENIED"}}`,
			kind: providers.KindPermissionDenied, typ: "PERMISSION_DENIED",
		},
		{
			name: "model not found", status: 404,
			body: `{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.","status":"NOT_FOUND"}}`,
			kind: providers.KindNotFound, typ: "NOT_FOUND",
		},
		{
			name: "quota with retry info", status: 429,
			body: `{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.","status":"RESOURCE_EXHAUSTED",
				"details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"10"}]},
				{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},
				{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"12s"}]}}`,
			kind: providers.KindRateLimited, typ: "RESOURCE_EXHAUSTED", retryAfter: 12 * time.Second, retryable: true,
		},
		{
			name: "fractional retry delay wins over header", status: 429, header: http.Header{"Retry-After": {"30"}},
			body: `{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"0.5s"}]}}`,
			kind: providers.KindRateLimited, typ: "RESOURCE_EXHAUSTED", retryAfter: 500 * time.Millisecond, retryable: true,
		},
		{
			name: "retry-after header only", status: 429, header: http.Header{"Retry-After": {"Sun, 01 Jun 2025 12:00:07 GMT"}},
			body: `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`,
			kind: providers.KindRateLimited, typ: "RESOURCE_EXHAUSTED", retryAfter: 7 * time.Second, retryable: true,
		},
		{
			name: "overloaded", status: 503,
			body: `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`,
			kind: providers.KindOverloaded, typ: "UNAVAILABLE", retryable: true,
		},
		{
			name: "internal", status: 500,
			body: `{"error":{"code":500,"message":"An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting","status":"INTERNAL"}}`,
			kind: providers.KindServer, typ: "INTERNAL", retryable: true,
		},
		{
			name: "deadline", status: 504,
			body: `{"error":{"code":504,"message":"Deadline expired before operation could complete.","status":"DEADLINE_EXCEEDED"}}`,
			kind: providers.KindTimeout, typ: "DEADLINE_EXCEEDED", retryable: true,
		},
		{
			name: "array-wrapped error", status: 400,
			body: `[{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"foo\": Cannot find field.","status":"INVALID_ARGUMENT"}}]`,
			kind: providers.KindInvalidRequest, typ: "INVALID_ARGUMENT", msg: "Unknown name",
		},
		{
			name: "html from a proxy", status: 502, body: "<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>",
			kind: providers.KindServer, retryable: true, msg: "upstream returned 502 Bad Gateway: <html><body> <h1>502 Bad Gateway</h1> </body></html>",
		},
		{
			name: "key echoed by upstream is redacted", status: 400,
			body: `{"error":{"code":400,"message":"bad key ` + testKey + `","status":"INVALID_ARGUMENT"}}`,
			kind: providers.KindInvalidRequest, typ: "INVALID_ARGUMENT", msg: "bad key [redacted]",
		},
	}
	p := newTestProvider(t, nil)
	p.now = func() time.Time { return now }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := p.statusError(tt.status, tt.header, []byte(tt.body))
			if e.Kind != tt.kind || e.Type != tt.typ || e.Code != tt.code || e.Status != tt.status || e.Provider != "gm" {
				t.Errorf("error = kind %s type %q code %q status %d provider %q; want %s %q %q %d",
					e.Kind, e.Type, e.Code, e.Status, e.Provider, tt.kind, tt.typ, tt.code, tt.status)
			}
			if e.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.retryAfter)
			}
			if got := providers.IsRetryable(e); got != tt.retryable {
				t.Errorf("IsRetryable = %v, want %v", got, tt.retryable)
			}
			if tt.msg != "" && !strings.Contains(e.Message, tt.msg) {
				t.Errorf("Message = %q, want it to contain %q", e.Message, tt.msg)
			}
			if strings.Contains(e.Error(), testKey) {
				t.Errorf("error leaks the key: %v", e)
			}
		})
	}
}

func TestStreamErrorKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		obj  schema.Status
		kind providers.ErrorKind
	}{
		{name: "status", obj: schema.Status{Status: "RESOURCE_EXHAUSTED", Message: "m"}, kind: providers.KindRateLimited},
		{name: "code only", obj: schema.Status{Code: 404, Message: "m"}, kind: providers.KindNotFound},
		{name: "nothing", obj: schema.Status{Message: "m"}, kind: providers.KindServer},
	}
	p := newTestProvider(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := p.streamError(&tt.obj)
			if e.Kind != tt.kind {
				t.Errorf("kind = %s, want %s", e.Kind, tt.kind)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"12s", 12 * time.Second, true},
		{"1.5s", 1500 * time.Millisecond, true},
		{"0s", 0, true},
		{"12", 0, false},
		{"-1s", 0, false},
		{"abcs", 0, false},
		{"1e300s", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, ok := parseDuration(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseDuration(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRedactErr(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t, nil)
	err := p.redactErr(errors.New("dial https://h/?key=" + testKey + ": refused"))
	if strings.Contains(err.Error(), testKey) || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("redactErr = %v", err)
	}
	plain := errors.New("no secret here")
	if got := p.redactErr(plain); got != plain {
		t.Errorf("redactErr changed an error without the key")
	}
}
