package openai

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
)

func TestStatusError(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name      string
		status    int
		header    http.Header
		body      string
		want      providers.Error
		retryable bool
	}{
		{
			name:   "400 invalid request",
			status: 400,
			body:   `{"error":{"message":"Invalid value for 'temperature'.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}`,
			want: providers.Error{Status: 400, Kind: providers.KindInvalidRequest, Type: "invalid_request_error",
				Code: "invalid_value", Param: "temperature", Message: "Invalid value for 'temperature'."},
		},
		{
			name:   "400 context length",
			status: 400,
			body:   `{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
			want: providers.Error{Status: 400, Kind: providers.KindContextLength, Type: "invalid_request_error", Code: "context_length_exceeded",
				Param: "messages", Message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens."},
		},
		{
			name:   "400 context length by message only",
			status: 400,
			body:   `{"object":"error","message":"This model's maximum context length is 4096 tokens.","type":"BadRequestError","param":null,"code":400}`,
			want: providers.Error{Status: 400, Kind: providers.KindContextLength, Type: "BadRequestError", Code: "400",
				Message: "This model's maximum context length is 4096 tokens."},
		},
		{
			name:   "401 invalid key",
			status: 401,
			body:   `{"error":{"message":"Incorrect API key provided: sk-abc***xyz.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			want: providers.Error{Status: 401, Kind: providers.KindAuthentication, Type: "invalid_request_error", Code: "invalid_api_key",
				Message: "Incorrect API key provided: sk-abc***xyz."},
		},
		{
			name:   "403 region",
			status: 403,
			body:   `{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}}`,
			want: providers.Error{Status: 403, Kind: providers.KindPermissionDenied, Type: "request_forbidden",
				Code: "unsupported_country_region_territory", Message: "Country, region, or territory not supported"},
		},
		{
			name:   "404 model not found",
			status: 404,
			body:   `{"error":{"message":"The model 'gpt-9' does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}`,
			want: providers.Error{Status: 404, Kind: providers.KindNotFound, Type: "invalid_request_error", Code: "model_not_found",
				Message: "The model 'gpt-9' does not exist or you do not have access to it."},
		},
		{
			name:   "429 rate limit with headers",
			status: 429,
			header: hdr("retry-after", "20", "x-ratelimit-remaining-requests", "0", "x-ratelimit-reset-tokens", "6m0s", "x-request-id", "req_1"),
			body:   `{"error":{"message":"Rate limit reached for gpt-4o in organization org-x on requests per min (RPM): Limit 500.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			want: providers.Error{Status: 429, Kind: providers.KindRateLimited, Type: "requests", Code: "rate_limit_exceeded",
				Message:    "Rate limit reached for gpt-4o in organization org-x on requests per min (RPM): Limit 500.",
				RetryAfter: 20 * time.Second,
				Header:     http.Header{"Retry-After": {"20"}, "X-Ratelimit-Remaining-Requests": {"0"}, "X-Ratelimit-Reset-Tokens": {"6m0s"}}},
			retryable: true,
		},
		{
			name:   "429 retry-after-ms and http date",
			status: 429,
			header: hdr("retry-after-ms", "1500"),
			body:   `{"error":{"message":"slow","type":"tokens","code":"rate_limit_exceeded"}}`,
			want: providers.Error{Status: 429, Kind: providers.KindRateLimited, Type: "tokens", Code: "rate_limit_exceeded", Message: "slow",
				RetryAfter: 1500 * time.Millisecond, Header: http.Header{"Retry-After-Ms": {"1500"}}},
			retryable: true,
		},
		{
			name:   "429 insufficient quota stays rate limited",
			status: 429,
			body:   `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`,
			want: providers.Error{Status: 429, Kind: providers.KindRateLimited, Type: "insufficient_quota", Code: "insufficient_quota",
				Message: "You exceeded your current quota, please check your plan and billing details."},
			retryable: true,
		},
		{
			name:   "500 server error",
			status: 500,
			header: hdr("retry-after", now.Add(3*time.Second).Format(http.TimeFormat)),
			body:   `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`,
			want: providers.Error{Status: 500, Kind: providers.KindServer, Type: "server_error",
				Message: "The server had an error while processing your request. Sorry about that!", RetryAfter: 3 * time.Second,
				Header: http.Header{"Retry-After": {now.Add(3 * time.Second).Format(http.TimeFormat)}}},
			retryable: true,
		},
		{
			name:      "503 html from a proxy",
			status:    503,
			body:      "<html>\n<head><title>503 Service Temporarily Unavailable</title></head>\n<body></body></html>",
			want:      providers.Error{Status: 503, Kind: providers.KindOverloaded, Message: "upstream returned 503 Service Unavailable: <html> <head><title>503 Service Temporarily Unavailable</title></head> <body></body></html>"},
			retryable: true,
		},
		{
			name:      "502 empty body",
			status:    502,
			want:      providers.Error{Status: 502, Kind: providers.KindServer, Message: "upstream returned 502 Bad Gateway"},
			retryable: true,
		},
		{
			name:   "string error",
			status: 400,
			body:   `{"error":"Input validation error: inputs tokens + max_new_tokens must be <= 4096"}`,
			want:   providers.Error{Status: 400, Kind: providers.KindInvalidRequest, Message: "Input validation error: inputs tokens + max_new_tokens must be <= 4096"},
		},
		{
			name:      "error object without message",
			status:    500,
			body:      `{"error":{"type":"server_error"}}`,
			want:      providers.Error{Status: 500, Kind: providers.KindServer, Type: "server_error", Message: "Internal Server Error"},
			retryable: true,
		},
		{
			name:      "unusual status classified by type",
			status:    418,
			body:      `{"error":{"message":"teapot","type":"rate_limit_error"}}`,
			want:      providers.Error{Status: 418, Kind: providers.KindRateLimited, Type: "rate_limit_error", Message: "teapot"},
			retryable: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newTestProvider(t, nil)
			p.now = func() time.Time { return now }
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			got := p.statusError(tt.status, h, []byte(tt.body))
			want := tt.want
			want.Provider = "oa"
			if got.Provider != want.Provider || got.Status != want.Status || got.Kind != want.Kind || got.Type != want.Type ||
				got.Code != want.Code || got.Param != want.Param || got.Message != want.Message || got.RetryAfter != want.RetryAfter {
				t.Errorf("got  %+v\nwant %+v", *got, want)
			}
			if len(got.Header) != len(want.Header) {
				t.Errorf("header = %v, want %v", got.Header, want.Header)
			}
			for k, v := range want.Header {
				if got.Header.Get(k) != v[0] {
					t.Errorf("header %s = %q, want %q", k, got.Header.Get(k), v[0])
				}
			}
			if providers.IsRetryable(got) != tt.retryable {
				t.Errorf("retryable = %v, want %v", providers.IsRetryable(got), tt.retryable)
			}
		})
	}
}

func TestStatusErrorTruncatesLongBodies(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("é", 2000)
	got := newTestProvider(t, nil).statusError(502, http.Header{}, []byte(body))
	if len(got.Message) > maxMessageBytes+64 || !strings.HasSuffix(got.Message, "…") {
		t.Errorf("message not truncated: %d bytes", len(got.Message))
	}
	if !strings.HasPrefix(got.Message, "upstream returned 502 Bad Gateway: éé") || !utf8Valid(got.Message) {
		t.Errorf("message = %.80q", got.Message)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }

func TestErrorsNeverContainTheKey(t *testing.T) {
	t.Parallel()
	const key = "sk-test-secret"
	p := newTestProvider(t, nil)
	tests := []struct {
		name string
		err  error
	}{
		{"status error echoing the header", p.statusError(401, http.Header{},
			[]byte(`{"error":{"message":"bad header: Bearer sk-test-secret","type":"invalid_request_error","param":"sk-test-secret","code":"sk-test-secret"}}`))},
		{"plain body echoing the key", p.statusError(400, http.Header{}, []byte("Authorization: Bearer sk-test-secret rejected"))},
		{"stream error echoing the key", p.streamError(&schema.ErrorObject{Message: "key sk-test-secret revoked", Type: "sk-test-secret"})},
		{"transport error with key in URL", p.redactErr(&url.Error{Op: "Post", URL: "https://h/v1?key=sk-test-secret", Err: errors.New("dial tcp: refused")})},
		{"transport error with key in text", p.redactErr(errors.New("proxy said sk-test-secret"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if s := tt.err.Error(); strings.Contains(s, key) {
				t.Errorf("error text leaks the key: %s", s)
			}
			var pe *providers.Error
			if errors.As(tt.err, &pe) {
				for _, f := range []string{pe.Message, pe.Type, pe.Code, pe.Param} {
					if strings.Contains(f, key) {
						t.Errorf("field leaks the key: %q", f)
					}
				}
				if !strings.Contains(pe.Message, "[redacted]") {
					t.Errorf("message %q lost the redaction marker", pe.Message)
				}
			}
		})
	}
}
