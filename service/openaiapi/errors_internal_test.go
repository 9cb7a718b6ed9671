package openaiapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

func TestToAPIError(t *testing.T) {
	t.Parallel()
	rl := http.Header{"X-Ratelimit-Remaining-Requests": {"0"}}
	tests := []struct {
		name             string
		err              error
		status           int
		typ, code, param string
		header           string // "Name: value" expected on the answer
	}{
		{"unauthenticated", fmt.Errorf("%w: unknown API key", gateway.ErrUnauthenticated), 401, typeInvalidRequest, "invalid_api_key", "", ""},
		{"permission", fmt.Errorf("%w: no", gateway.ErrPermissionDenied), 403, typeInvalidRequest, "model_not_found", "model", ""},
		{"model not found", fmt.Errorf("%w: %q", gateway.ErrModelNotFound, "x"), 404, typeInvalidRequest, "model_not_found", "model", ""},
		{"invalid with param", &gateway.InvalidRequestError{Param: "tools[1].name", Message: "bad"}, 400, typeInvalidRequest, "", "tools[1].function.name", ""},
		{"invalid embed input", &gateway.InvalidRequestError{Param: "inputs[2]", Message: "empty"}, 400, typeInvalidRequest, "", "input[2]", ""},
		{"invalid tool call name", &gateway.InvalidRequestError{Param: "messages[1].tool_calls[0].name", Message: "x"}, 400, typeInvalidRequest, "", "messages[1].tool_calls[0].function.name", ""},
		{"decode", bad("stop", "nope"), 400, typeInvalidRequest, "", "stop", ""},
		{"too large", &http.MaxBytesError{Limit: 10}, 413, typeInvalidRequest, "request_too_large", "", ""},
		{"unavailable", fmt.Errorf("%w: x", gateway.ErrUnavailable), 503, typeServer, "provider_unavailable", "", "X-Should-Retry: false"},
		{"rate limited", &providers.Error{Kind: providers.KindRateLimited, Status: 429, Code: "rate_limit_exceeded", Header: rl}, 429, "rate_limit_exceeded", "rate_limit_exceeded", "", "X-Ratelimit-Remaining-Requests: 0"},
		{"rate limited retry-after hint", &providers.Error{Kind: providers.KindRateLimited, Status: 429, RetryAfter: 1500 * time.Millisecond}, 429, "rate_limit_exceeded", "rate_limit_exceeded", "", "Retry-After: 2"},
		{"quota", &providers.Error{Kind: providers.KindRateLimited, Status: 429, Code: "insufficient_quota"}, 429, "insufficient_quota", "insufficient_quota", "", ""},
		{"context length", &providers.Error{Kind: providers.KindContextLength, Status: 400}, 400, typeInvalidRequest, "context_length_exceeded", "messages", ""},
		{"upstream invalid", &providers.Error{Kind: providers.KindInvalidRequest, Status: 400, Code: "invalid_value", Param: "seed"}, 400, typeInvalidRequest, "invalid_value", "seed", ""},
		{"overloaded", &providers.Error{Kind: providers.KindOverloaded, Status: 529}, 503, typeServer, "server_is_overloaded", "", ""},
		{"server", &providers.Error{Kind: providers.KindServer, Status: 500}, 502, typeServer, "upstream_error", "", ""},
		{"connection", &providers.Error{Kind: providers.KindConnection}, 502, typeServer, "upstream_error", "", ""},
		{"bad response", &providers.Error{Kind: providers.KindBadResponse}, 502, typeServer, "upstream_error", "", ""},
		{"timeout", &providers.Error{Kind: providers.KindTimeout}, 504, typeServer, "timeout", "", ""},
		{"upstream auth", &providers.Error{Kind: providers.KindAuthentication, Status: 401}, 502, typeServer, "upstream_auth_failed", "", "X-Should-Retry: false"},
		{"upstream forbidden", &providers.Error{Kind: providers.KindPermissionDenied, Status: 403}, 502, typeServer, "upstream_auth_failed", "", "X-Should-Retry: false"},
		{"upstream not found", &providers.Error{Kind: providers.KindNotFound, Status: 404}, 502, typeServer, "upstream_model_not_found", "", "X-Should-Retry: false"},
		{"wrapped upstream", fmt.Errorf("stream: %w", &providers.Error{Kind: providers.KindServer}), 502, typeServer, "upstream_error", "", ""},
		{"canceled", context.Canceled, 499, typeInvalidRequest, "client_closed_request", "", ""},
		{"deadline", context.DeadlineExceeded, 504, typeServer, "timeout", "", ""},
		{"internal", errors.New("boom"), 500, typeServer, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := toAPIError("req_1", tt.err)
			if e.Status != tt.status || e.Type != tt.typ || e.Code != tt.code || e.Param != tt.param {
				t.Errorf("got %d %q %q %q, want %d %q %q %q", e.Status, e.Type, e.Code, e.Param, tt.status, tt.typ, tt.code, tt.param)
			}
			if e.Message == "" {
				t.Error("empty message")
			}
			if tt.header != "" {
				var k, v string
				for i := range tt.header {
					if tt.header[i] == ':' {
						k, v = tt.header[:i], tt.header[i+2:]
						break
					}
				}
				if got := e.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestErrorBodyShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    apiError
		want string
	}{
		{"nulls", apiError{Message: "m", Type: "t"}, `{"error":{"message":"m","type":"t","param":null,"code":null}}`},
		{"all", apiError{Message: "m", Type: "t", Param: "p", Code: "c"}, `{"error":{"message":"m","type":"t","param":"p","code":"c"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.e.body())
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("got %s, want %s", b, tt.want)
			}
		})
	}
}
