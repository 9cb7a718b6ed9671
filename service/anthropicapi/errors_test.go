package anthropicapi

import (
	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"

	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	rl := http.Header{}
	rl.Set("Anthropic-Ratelimit-Requests-Remaining", "0")
	rl.Set("Retry-After", "7")
	tests := []struct {
		name       string
		err        error
		status     int
		typ        string
		msg        string
		wantHeader map[string]string
	}{
		{"invalid", &gateway.InvalidRequestError{Param: "max_tokens", Message: "Field required"}, 400, "invalid_request_error", "invalid request: max_tokens: Field required", nil},
		{"invalid sentinel", fmt.Errorf("%w: bad", gateway.ErrInvalidRequest), 400, "invalid_request_error", "invalid request: bad", nil},
		{"unauthenticated", fmt.Errorf("%w: unknown API key", gateway.ErrUnauthenticated), 401, "authentication_error", "unauthenticated: unknown API key", nil},
		{"forbidden", fmt.Errorf("%w: no", gateway.ErrPermissionDenied), 403, "permission_error", "permission denied: no", nil},
		{"model not found", fmt.Errorf("%w: \"x\"", gateway.ErrModelNotFound), 404, "not_found_error", "model not found: \"x\"", nil},
		{"unavailable", fmt.Errorf("%w: provider down", gateway.ErrUnavailable), 503, "api_error", "unavailable: provider down", nil},
		{"too large", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 1024}), 413, "request_too_large", "the request body exceeds the gateway's limit of 1024 bytes", nil},
		{"upstream 400", &providers.Error{Provider: "p", Kind: providers.KindInvalidRequest, Status: 400, Message: "bad"}, 400, "invalid_request_error", "provider p: bad", nil},
		{"upstream context length", &providers.Error{Provider: "p", Kind: providers.KindContextLength, Message: "prompt is too long"}, 400, "invalid_request_error", "provider p: prompt is too long", nil},
		{"upstream auth", &providers.Error{Provider: "p", Kind: providers.KindAuthentication, Status: 401, Message: "invalid x-api-key"}, 500, "api_error",
			"provider p rejected the gateway's credential (upstream status 401); ask the gateway operator to check it", map[string]string{"X-Should-Retry": "false"}},
		{"upstream forbidden", &providers.Error{Provider: "p", Kind: providers.KindPermissionDenied, Status: 403}, 500, "api_error",
			"provider p rejected the gateway's credential (upstream status 403); ask the gateway operator to check it", nil},
		{"upstream not found", &providers.Error{Provider: "p", Kind: providers.KindNotFound, Message: "no model"}, 404, "not_found_error", "provider p: no model", nil},
		{"upstream 429", &providers.Error{Provider: "p", Kind: providers.KindRateLimited, Status: 429, Message: "slow down", Header: rl}, 429, "rate_limit_error", "provider p: slow down",
			map[string]string{"Anthropic-Ratelimit-Requests-Remaining": "0", "Retry-After": "7"}},
		{"upstream 429 retry hint only", &providers.Error{Provider: "p", Kind: providers.KindRateLimited, RetryAfter: 1500 * time.Millisecond}, 429, "rate_limit_error", "provider p: rate_limited",
			map[string]string{"Retry-After": "2"}},
		{"upstream overloaded", &providers.Error{Provider: "p", Kind: providers.KindOverloaded, Status: 529, Message: "Overloaded"}, 529, "overloaded_error", "provider p: Overloaded", nil},
		{"upstream 500", &providers.Error{Provider: "p", Kind: providers.KindServer, Status: 500, Message: "boom"}, 500, "api_error", "provider p: boom", nil},
		{"upstream timeout", &providers.Error{Provider: "p", Kind: providers.KindTimeout}, 504, "timeout_error", "provider p: timeout", nil},
		{"upstream connection", &providers.Error{Provider: "p", Kind: providers.KindConnection, Message: "upstream request failed"}, 502, "api_error", "provider p: upstream request failed", nil},
		{"upstream bad response", &providers.Error{Provider: "p", Kind: providers.KindBadResponse, Message: "garbled"}, 502, "api_error", "provider p: garbled", nil},
		{"canceled", context.Canceled, 499, "api_error", "context canceled", nil},
		{"deadline", fmt.Errorf("wait: %w", context.DeadlineExceeded), 504, "timeout_error", "wait: context deadline exceeded", nil},
		{"overloaded", &gateway.RetryError{Err: gateway.ErrOverloaded, Reason: "full", RetryAfter: time.Second}, 529, "overloaded_error", "overloaded: full", nil},
		{"not ready", &gateway.RetryError{Err: gateway.ErrNotReady, Reason: "starting", RetryAfter: time.Second}, 503, "api_error", "temporarily unavailable: starting", nil},
		{"body timeout", fmt.Errorf("%w: slow", gateway.ErrRequestTimeout), 408, "invalid_request_error", "request timeout: slow", nil},
		{"internal", errors.New("db exploded: password=hunter2"), 500, "api_error", "internal error; request id req_1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/v1/messages", nil)
			writeError(w, r, discard(), "req_1", tt.err)
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d", w.Code, tt.status)
			}
			var body schema.ErrorBody
			if err := apischema.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body.String(), err)
			}
			if body.Type != "error" || body.Error == nil || body.Error.Type != tt.typ || body.Error.Message != tt.msg || body.RequestID != "req_1" {
				t.Errorf("body = %s, want error %s %q", w.Body, tt.typ, tt.msg)
			}
			for k, v := range tt.wantHeader {
				if got := w.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}
