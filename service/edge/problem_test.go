package edge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/store"
)

// dialect is what one encoder must answer for an error.
type dialect struct {
	status int
	// typ is the error type (OpenAI, Anthropic) or status name (Gemini).
	typ string
	// code and param are OpenAI's ("" for null).
	code, param string
	// header holds headers that must be set ("" means absent).
	header map[string]string
}

var reset = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// TestEveryErrorInEveryDialect feeds every kind of domain error through
// Describe and each encoder and checks the status, code, body and headers
// each dialect answers with.
func TestEveryErrorInEveryDialect(t *testing.T) {
	t.Parallel()
	upstreamRL := http.Header{"X-Ratelimit-Remaining-Requests": {"0"}}
	tests := []struct {
		name string
		err  error
		kind edge.Kind
		msg  string // a substring of the message every dialect shows
		// connect is the Connect code; reason the ErrorInfo reason, if any.
		connect connect.Code
		reason  string
		openai  dialect
		anth    dialect
		gemini  dialect
	}{
		{
			name: "malformed request", err: &gateway.InvalidRequestError{Param: "messages[0].role", Message: "unknown role"},
			kind: edge.KindInvalidArgument, msg: "messages[0].role: unknown role", connect: connect.CodeInvalidArgument,
			openai: dialect{status: 400, typ: "invalid_request_error", param: "messages[0].role"},
			anth:   dialect{status: 400, typ: "invalid_request_error"},
			gemini: dialect{status: 400, typ: "INVALID_ARGUMENT"},
		},
		{
			name: "bad page token", err: fmt.Errorf("list keys: %w", store.ErrInvalidCursor),
			kind: edge.KindInvalidArgument, msg: "page_token", connect: connect.CodeInvalidArgument,
			openai: dialect{status: 400, typ: "invalid_request_error", param: "page_token"},
			anth:   dialect{status: 400, typ: "invalid_request_error"},
			gemini: dialect{status: 400, typ: "INVALID_ARGUMENT"},
		},
		{
			name: "body too large", err: fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 1024}),
			kind: edge.KindTooLarge, msg: "1024 bytes", connect: connect.CodeInvalidArgument, reason: "REQUEST_TOO_LARGE",
			openai: dialect{status: 413, typ: "invalid_request_error", code: "request_too_large"},
			anth:   dialect{status: 413, typ: "request_too_large"},
			gemini: dialect{status: 400, typ: "INVALID_ARGUMENT"},
		},
		{
			name: "unknown key", err: fmt.Errorf("%w: unknown API key", gateway.ErrUnauthenticated),
			kind: edge.KindUnauthenticated, msg: "unknown API key", connect: connect.CodeUnauthenticated,
			openai: dialect{status: 401, typ: "invalid_request_error", code: "invalid_api_key"},
			anth:   dialect{status: 401, typ: "authentication_error"},
			gemini: dialect{status: 401, typ: "UNAUTHENTICATED"},
		},
		{
			name: "model not allowed", err: fmt.Errorf("%w: key may not use %q", gateway.ErrPermissionDenied, "gpt-4o"),
			kind: edge.KindPermissionDenied, msg: "may not use", connect: connect.CodePermissionDenied,
			openai: dialect{status: 403, typ: "invalid_request_error", code: "model_not_found", param: "model"},
			anth:   dialect{status: 403, typ: "permission_error"},
			gemini: dialect{status: 403, typ: "PERMISSION_DENIED"},
		},
		{
			name: "unknown model", err: fmt.Errorf("%w: %q", gateway.ErrModelNotFound, "gpt-9"),
			kind: edge.KindModelNotFound, msg: `"gpt-9"`, connect: connect.CodeNotFound,
			openai: dialect{status: 404, typ: "invalid_request_error", code: "model_not_found", param: "model"},
			anth:   dialect{status: 404, typ: "not_found_error"},
			gemini: dialect{status: 404, typ: "NOT_FOUND"},
		},
		{
			name: "unknown resource", err: fmt.Errorf("team %q: %w", "t", store.ErrNotFound),
			kind: edge.KindNotFound, msg: `team "t"`, connect: connect.CodeNotFound,
			openai: dialect{status: 404, typ: "invalid_request_error", code: "not_found"},
			anth:   dialect{status: 404, typ: "not_found_error"},
			gemini: dialect{status: 404, typ: "NOT_FOUND"},
		},
		{
			name: "resource exists", err: fmt.Errorf("create team %q: %w", "t", store.ErrConflict),
			kind: edge.KindAlreadyExists, msg: "already exists", connect: connect.CodeAlreadyExists,
			openai: dialect{status: 409, typ: "invalid_request_error", code: "already_exists"},
			anth:   dialect{status: 409, typ: "invalid_request_error"},
			gemini: dialect{status: 409, typ: "ALREADY_EXISTS"},
		},
		{
			name: "resource in use", err: fmt.Errorf("delete provider: %w", store.ErrInUse),
			kind: edge.KindFailedPrecondition, msg: "in use", connect: connect.CodeFailedPrecondition, reason: "IN_USE",
			openai: dialect{status: 400, typ: "invalid_request_error", code: "in_use"},
			anth:   dialect{status: 400, typ: "invalid_request_error"},
			gemini: dialect{status: 400, typ: "FAILED_PRECONDITION"},
		},
		{
			name: "stale etag", err: fmt.Errorf("update route: %w", store.ErrVersionMismatch),
			kind: edge.KindFailedPrecondition, msg: "changed since it was read", connect: connect.CodeFailedPrecondition, reason: "ETAG_MISMATCH",
			openai: dialect{status: 400, typ: "invalid_request_error", code: "etag_mismatch", param: "etag"},
			anth:   dialect{status: 400, typ: "invalid_request_error"},
			gemini: dialect{status: 400, typ: "FAILED_PRECONDITION"},
		},
		{
			name: "money budget", err: fmt.Errorf("chat: %w", &governance.LimitError{Budget: true, ID: "b1", Scope: "team", Subject: "search",
				Period: "monthly", Dimension: governance.DimCost, Limit: 10, Reset: reset}),
			kind: edge.KindBudgetExceeded, msg: `budget "b1"`, connect: connect.CodeResourceExhausted, reason: "BUDGET_EXCEEDED",
			openai: dialect{status: 429, typ: "insufficient_quota", code: "insufficient_quota",
				header: map[string]string{"X-Should-Retry": "false", "Retry-After": "", "X-Ratelimit-Limit-Requests": ""}},
			anth: dialect{status: 429, typ: "rate_limit_error",
				header: map[string]string{"X-Should-Retry": "false", "Retry-After": "", "Anthropic-Ratelimit-Requests-Limit": ""}},
			gemini: dialect{status: 429, typ: "RESOURCE_EXHAUSTED", header: map[string]string{"X-Should-Retry": "false"}},
		},
		{
			name: "token budget", err: &governance.LimitError{Budget: true, ID: "b2", Scope: "key", Subject: "k", Period: "lifetime",
				Dimension: governance.DimTokens, Limit: 100, Remaining: 3},
			kind: edge.KindBudgetExceeded, msg: `budget "b2"`, connect: connect.CodeResourceExhausted, reason: "BUDGET_EXCEEDED",
			openai: dialect{status: 429, typ: "insufficient_quota", code: "insufficient_quota", header: map[string]string{"X-Should-Retry": "false"}},
			anth: dialect{status: 429, typ: "rate_limit_error", header: map[string]string{
				"Anthropic-Ratelimit-Tokens-Limit": "100", "Anthropic-Ratelimit-Tokens-Remaining": "3",
				"Anthropic-Ratelimit-Tokens-Reset": "", "Retry-After": "", "X-Should-Retry": "false"}},
			gemini: dialect{status: 429, typ: "RESOURCE_EXHAUSTED"},
		},
		{
			name: "requests per minute", err: &governance.LimitError{ID: "rpm", Scope: "team", Subject: "search", Dimension: governance.DimRequests,
				Limit: 60, Reset: reset, RetryAfter: 1500 * time.Millisecond},
			kind: edge.KindRateLimited, msg: `rate limit "rpm"`, connect: connect.CodeResourceExhausted, reason: "RATE_LIMITED",
			openai: dialect{status: 429, typ: "requests", code: "rate_limit_exceeded", header: map[string]string{
				"X-Ratelimit-Limit-Requests": "60", "X-Ratelimit-Remaining-Requests": "0", "X-Ratelimit-Reset-Requests": "1.5s",
				"Retry-After": "2", "Retry-After-Ms": "1500", "X-Should-Retry": "true"}},
			anth: dialect{status: 429, typ: "rate_limit_error", header: map[string]string{
				"Anthropic-Ratelimit-Requests-Limit": "60", "Anthropic-Ratelimit-Requests-Remaining": "0",
				"Anthropic-Ratelimit-Requests-Reset": "2026-12-01T00:00:00Z", "Retry-After": "2", "X-Should-Retry": "true"}},
			gemini: dialect{status: 429, typ: "RESOURCE_EXHAUSTED", header: map[string]string{"Retry-After": "2"}},
		},
		{
			name: "tokens per minute", err: &governance.LimitError{ID: "tpm", Scope: "key", Subject: "k", Dimension: governance.DimTokens,
				Limit: 1000, Remaining: 12, Reset: reset, RetryAfter: 20 * time.Second},
			kind: edge.KindRateLimited, msg: `rate limit "tpm"`, connect: connect.CodeResourceExhausted, reason: "RATE_LIMITED",
			openai: dialect{status: 429, typ: "tokens", code: "rate_limit_exceeded", header: map[string]string{
				"X-Ratelimit-Limit-Tokens": "1000", "X-Ratelimit-Remaining-Tokens": "12", "X-Ratelimit-Reset-Tokens": "20s", "Retry-After": "20"}},
			anth: dialect{status: 429, typ: "rate_limit_error", header: map[string]string{
				"Anthropic-Ratelimit-Tokens-Limit": "1000", "Anthropic-Ratelimit-Tokens-Remaining": "12", "Retry-After": "20"}},
			gemini: dialect{status: 429, typ: "RESOURCE_EXHAUSTED"},
		},
		{
			name: "guardrail block", err: fmt.Errorf("chat: %w", &guardrails.BlockedError{Policy: "p", Guardrail: "pii", Kind: guardrails.KindPII,
				Stage: guardrails.StageInput, Categories: []string{"email"}}),
			kind: edge.KindGuardrailBlocked, msg: "blocked by guardrail p/pii", connect: connect.CodePermissionDenied,
			openai: dialect{status: 400, typ: "invalid_request_error", code: "guardrail_blocked"},
			anth:   dialect{status: 400, typ: "invalid_request_error"},
			gemini: dialect{status: 403, typ: "PERMISSION_DENIED"},
		},
		{
			name: "guardrail failed closed", err: &guardrails.BlockedError{Policy: "p", Guardrail: "hook", Kind: guardrails.KindWebhook,
				Stage: guardrails.StageOutput, Categories: []string{"guardrail_error"}, Failed: true},
			kind: edge.KindUnavailable, msg: "p/hook", connect: connect.CodeUnavailable,
			openai: dialect{status: 503, typ: "server_error", code: "guardrail_unavailable", header: map[string]string{"X-Should-Retry": "true"}},
			anth:   dialect{status: 503, typ: "api_error", header: map[string]string{"X-Should-Retry": "true"}},
			gemini: dialect{status: 503, typ: "UNAVAILABLE"},
		},
		{
			name: "providers unavailable", err: fmt.Errorf("%w: every target's breaker is open", gateway.ErrUnavailable),
			kind: edge.KindUnavailable, msg: "breaker is open", connect: connect.CodeUnavailable, reason: "PROVIDER_UNAVAILABLE",
			openai: dialect{status: 503, typ: "server_error", code: "provider_unavailable", header: map[string]string{"X-Should-Retry": "false"}},
			anth:   dialect{status: 503, typ: "api_error", header: map[string]string{"X-Should-Retry": "false"}},
			gemini: dialect{status: 503, typ: "UNAVAILABLE"},
		},
		{
			name: "limits cannot be checked", err: &governance.UnavailableError{ID: "b", Budget: true, Reason: "the limits store did not answer in time", RetryAfter: time.Second},
			kind: edge.KindUnavailable, msg: "did not answer in time", connect: connect.CodeUnavailable, reason: "LIMITS_UNAVAILABLE",
			openai: dialect{status: 503, typ: "server_error", code: "limits_unavailable", header: map[string]string{"Retry-After": "1", "X-Should-Retry": "true"}},
			anth:   dialect{status: 503, typ: "api_error", header: map[string]string{"Retry-After": "1", "X-Should-Retry": "true"}},
			gemini: dialect{status: 503, typ: "UNAVAILABLE"},
		},
		{
			name: "upstream invalid request", err: &providers.Error{Provider: "openai", Kind: providers.KindInvalidRequest, Status: 400,
				Code: "invalid_value", Param: "seed", Message: "bad seed"},
			kind: edge.KindInvalidArgument, msg: "provider openai: bad seed", connect: connect.CodeInvalidArgument, reason: "UPSTREAM_INVALID_REQUEST",
			openai: dialect{status: 400, typ: "invalid_request_error", code: "invalid_value", param: "seed"},
			anth:   dialect{status: 400, typ: "invalid_request_error"},
			gemini: dialect{status: 400, typ: "INVALID_ARGUMENT"},
		},
		{
			name: "upstream context length", err: &providers.Error{Provider: "openai", Kind: providers.KindContextLength, Status: 400, Message: "too long"},
			kind: edge.KindInvalidArgument, msg: "too long", connect: connect.CodeInvalidArgument, reason: "UPSTREAM_CONTEXT_LENGTH",
			openai: dialect{status: 400, typ: "invalid_request_error", code: "context_length_exceeded", param: "messages"},
			anth:   dialect{status: 400, typ: "invalid_request_error"},
			gemini: dialect{status: 400, typ: "INVALID_ARGUMENT"},
		},
		{
			name: "upstream rate limit", err: &providers.Error{Provider: "openai", Kind: providers.KindRateLimited, Status: 429,
				Message: "slow down", Header: upstreamRL, RetryAfter: 1500 * time.Millisecond},
			kind: edge.KindRateLimited, msg: "slow down", connect: connect.CodeResourceExhausted, reason: "UPSTREAM_RATE_LIMITED",
			openai: dialect{status: 429, typ: "rate_limit_exceeded", code: "rate_limit_exceeded", header: map[string]string{
				"X-Ratelimit-Remaining-Requests": "0", "Retry-After": "2", "X-Should-Retry": "true"}},
			anth: dialect{status: 429, typ: "rate_limit_error", header: map[string]string{
				"X-Ratelimit-Remaining-Requests": "0", "Retry-After": "2"}},
			gemini: dialect{status: 429, typ: "RESOURCE_EXHAUSTED", header: map[string]string{"Retry-After": "2"}},
		},
		{
			name: "upstream quota", err: &providers.Error{Provider: "openai", Kind: providers.KindRateLimited, Status: 429, Code: "insufficient_quota"},
			kind: edge.KindRateLimited, msg: "provider openai", connect: connect.CodeResourceExhausted, reason: "UPSTREAM_RATE_LIMITED",
			openai: dialect{status: 429, typ: "insufficient_quota", code: "insufficient_quota", header: map[string]string{"X-Should-Retry": "false"}},
			anth:   dialect{status: 429, typ: "rate_limit_error", header: map[string]string{"X-Should-Retry": "false"}},
			gemini: dialect{status: 429, typ: "RESOURCE_EXHAUSTED"},
		},
		{
			name: "upstream overloaded", err: &providers.Error{Provider: "anthropic", Kind: providers.KindOverloaded, Status: 529, Message: "Overloaded"},
			kind: edge.KindOverloaded, msg: "Overloaded", connect: connect.CodeUnavailable, reason: "UPSTREAM_OVERLOADED",
			openai: dialect{status: 503, typ: "server_error", code: "server_is_overloaded", header: map[string]string{"X-Should-Retry": "true"}},
			anth:   dialect{status: 529, typ: "overloaded_error", header: map[string]string{"X-Should-Retry": "true"}},
			gemini: dialect{status: 503, typ: "UNAVAILABLE"},
		},
		{
			name: "upstream rejects the gateway's credential", err: &providers.Error{Provider: "openai", Kind: providers.KindAuthentication, Status: 401,
				Message: "Incorrect API key provided: sk-abc"},
			kind: edge.KindUpstreamAuth, msg: "rejected the gateway's credential", connect: connect.CodeInternal, reason: "UPSTREAM_AUTHENTICATION",
			openai: dialect{status: 502, typ: "server_error", code: "upstream_auth_failed", header: map[string]string{"X-Should-Retry": "false"}},
			anth:   dialect{status: 500, typ: "api_error", header: map[string]string{"X-Should-Retry": "false"}},
			gemini: dialect{status: 500, typ: "INTERNAL"},
		},
		{
			name: "upstream unknown model", err: &providers.Error{Provider: "openai", Kind: providers.KindNotFound, Status: 404, Message: "no model"},
			kind: edge.KindUpstreamNotFound, msg: "no model", connect: connect.CodeNotFound, reason: "UPSTREAM_NOT_FOUND",
			openai: dialect{status: 502, typ: "server_error", code: "upstream_model_not_found", header: map[string]string{"X-Should-Retry": "false"}},
			anth:   dialect{status: 404, typ: "not_found_error"},
			gemini: dialect{status: 404, typ: "NOT_FOUND"},
		},
		{
			name: "upstream 500", err: &providers.Error{Provider: "openai", Kind: providers.KindServer, Status: 500, Message: "boom"},
			kind: edge.KindUpstreamFailed, msg: "provider openai: boom", connect: connect.CodeUnavailable, reason: "UPSTREAM_SERVER",
			openai: dialect{status: 502, typ: "server_error", code: "upstream_error", header: map[string]string{"X-Should-Retry": "true"}},
			anth:   dialect{status: 500, typ: "api_error", header: map[string]string{"X-Should-Retry": "true"}},
			gemini: dialect{status: 503, typ: "UNAVAILABLE"},
		},
		{
			name: "upstream connection", err: fmt.Errorf("attempt 2: %w", &providers.Error{Provider: "vllm", Kind: providers.KindConnection, Message: "connection reset"}),
			kind: edge.KindUpstreamFailed, msg: "connection reset", connect: connect.CodeUnavailable, reason: "UPSTREAM_CONNECTION",
			openai: dialect{status: 502, typ: "server_error", code: "upstream_error"},
			anth:   dialect{status: 502, typ: "api_error"},
			gemini: dialect{status: 503, typ: "UNAVAILABLE"},
		},
		{
			name: "upstream timeout", err: &providers.Error{Provider: "openai", Kind: providers.KindTimeout},
			kind: edge.KindDeadlineExceeded, msg: "provider openai: timeout", connect: connect.CodeDeadlineExceeded, reason: "UPSTREAM_TIMEOUT",
			openai: dialect{status: 504, typ: "server_error", code: "timeout"},
			anth:   dialect{status: 504, typ: "timeout_error"},
			gemini: dialect{status: 504, typ: "DEADLINE_EXCEEDED"},
		},
		{
			name: "deadline", err: fmt.Errorf("route: %w", context.DeadlineExceeded),
			kind: edge.KindDeadlineExceeded, msg: "deadline exceeded", connect: connect.CodeDeadlineExceeded, reason: "TIMEOUT",
			openai: dialect{status: 504, typ: "server_error", code: "timeout"},
			anth:   dialect{status: 504, typ: "timeout_error"},
			gemini: dialect{status: 504, typ: "DEADLINE_EXCEEDED"},
		},
		{
			name: "replica at capacity", err: &gateway.RetryError{Err: gateway.ErrOverloaded, Reason: "full", RetryAfter: 1500 * time.Millisecond},
			kind: edge.KindOverloaded, msg: "overloaded: full", connect: connect.CodeUnavailable, reason: "OVERLOADED",
			openai: dialect{status: 503, typ: "server_error", code: "overloaded", header: map[string]string{"Retry-After": "2", "Retry-After-Ms": "1500", "X-Should-Retry": "true"}},
			anth:   dialect{status: 529, typ: "overloaded_error", header: map[string]string{"Retry-After": "2", "X-Should-Retry": "true"}},
			gemini: dialect{status: 503, typ: "UNAVAILABLE"},
		},
		{
			name: "replica not ready", err: &gateway.RetryError{Err: gateway.ErrNotReady, Reason: "starting", RetryAfter: time.Second},
			kind: edge.KindUnavailable, msg: "temporarily unavailable: starting", connect: connect.CodeUnavailable, reason: "TEMPORARILY_UNAVAILABLE",
			openai: dialect{status: 503, typ: "server_error", code: "temporarily_unavailable", header: map[string]string{"Retry-After": "1", "X-Should-Retry": "true"}},
			anth:   dialect{status: 503, typ: "api_error", header: map[string]string{"Retry-After": "1", "X-Should-Retry": "true"}},
			gemini: dialect{status: 503, typ: "UNAVAILABLE"},
		},
		{
			name: "declared body too large", err: fmt.Errorf("%w: 10 MB", gateway.ErrTooLarge),
			kind: edge.KindTooLarge, msg: "request too large: 10 MB", connect: connect.CodeInvalidArgument, reason: "REQUEST_TOO_LARGE",
			openai: dialect{status: 413, typ: "invalid_request_error", code: "request_too_large"},
			anth:   dialect{status: 413, typ: "request_too_large"},
			gemini: dialect{status: 400, typ: "INVALID_ARGUMENT"},
		},
		{
			name: "body too slow", err: fmt.Errorf("%w: not received within 30s", gateway.ErrRequestTimeout),
			kind: edge.KindRequestTimeout, msg: "request timeout", connect: connect.CodeDeadlineExceeded, reason: "REQUEST_TIMEOUT",
			openai: dialect{status: 408, typ: "invalid_request_error", code: "request_timeout"},
			anth:   dialect{status: 408, typ: "invalid_request_error"},
			gemini: dialect{status: 504, typ: "DEADLINE_EXCEEDED"},
		},
		{
			name: "caller went away", err: context.Canceled,
			kind: edge.KindCanceled, msg: "canceled", connect: connect.CodeCanceled, reason: "CLIENT_CLOSED_REQUEST",
			openai: dialect{status: 499, typ: "invalid_request_error", code: "client_closed_request"},
			anth:   dialect{status: 499, typ: "api_error"},
			gemini: dialect{status: 499, typ: "CANCELLED"},
		},
		{
			name: "internal error", err: errors.New("pq: password=hunter2"),
			kind: edge.KindInternal, msg: "internal error; request id req_1", connect: connect.CodeInternal,
			openai: dialect{status: 500, typ: "server_error"},
			anth:   dialect{status: 500, typ: "api_error"},
			gemini: dialect{status: 500, typ: "INTERNAL"},
		},
	}
	covered := map[edge.Kind]bool{}
	for _, tt := range tests {
		covered[tt.kind] = true
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := edge.Describe(tt.err, "req_1")
			if p.Kind != tt.kind || !strings.Contains(p.Message, tt.msg) {
				t.Fatalf("Describe = %v %q, want %v containing %q", p.Kind, p.Message, tt.kind, tt.msg)
			}
			if strings.Contains(p.Message, "hunter2") || strings.Contains(p.Message, "sk-abc") {
				t.Fatalf("message %q leaks a secret", p.Message)
			}
			checkConnect(t, p, tt.connect, tt.reason, tt.msg)
			checkOpenAI(t, p, tt.openai, tt.msg)
			checkAnthropic(t, p, tt.anth, tt.msg)
			checkGemini(t, p, tt.gemini, tt.msg)
		})
	}
	for _, k := range edge.Kinds() {
		if !covered[k] {
			t.Errorf("no case of kind %v", k)
		}
	}
}

func checkConnect(t *testing.T, p edge.Problem, code connect.Code, reason, msg string) {
	t.Helper()
	ce := edge.ConnectError(p)
	if ce.Code() != code || !strings.Contains(ce.Message(), msg) {
		t.Errorf("Connect: %v %q, want %v containing %q", ce.Code(), ce.Message(), code, msg)
	}
	var gotReason string
	var badRequest, quota, guardrail, retry bool
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			t.Fatal(err)
		}
		switch v := v.(type) {
		case *errdetails.ErrorInfo:
			gotReason = v.GetReason()
		case *errdetails.BadRequest:
			badRequest = v.GetFieldViolations()[0].GetField() == p.Param
		case *errdetails.QuotaFailure:
			quota = v.GetViolations()[0].GetSubject() == p.Quota.Scope+":"+p.Quota.Subject
		case *tollgatev1.GuardrailViolation:
			guardrail = v.GetPolicy() == p.Guardrail.Policy && v.GetGuardrail() == p.Guardrail.Name
		case *errdetails.RetryInfo:
			retry = v.GetRetryDelay().AsDuration() == p.RetryAfter.Round(time.Millisecond)
		}
	}
	if gotReason != reason {
		t.Errorf("Connect ErrorInfo reason %q, want %q", gotReason, reason)
	}
	if p.Param != "" && p.Kind == edge.KindInvalidArgument && !badRequest {
		t.Error("Connect: no BadRequest naming the parameter")
	}
	if p.Quota != nil && !quota {
		t.Error("Connect: no QuotaFailure naming the limit")
	}
	if p.Guardrail != nil && !guardrail {
		t.Error("Connect: no GuardrailViolation naming the guardrail")
	}
	if p.RetryAfter > 0 && !retry {
		t.Error("Connect: no RetryInfo with the retry delay")
	}
}

func checkHeaders(t *testing.T, name string, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s header %s = %q, want %q", name, k, got, v)
		}
	}
}

func checkOpenAI(t *testing.T, p edge.Problem, want dialect, msg string) {
	t.Helper()
	e := edge.OpenAI(p)
	b, err := json.Marshal(e.OpenAIBody())
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	got := body.Error
	if e.Status != want.status || got.Type != want.typ || deref(got.Code) != want.code || deref(got.Param) != want.param ||
		!strings.Contains(got.Message, msg) {
		t.Errorf("OpenAI: %d %s", e.Status, b)
		t.Errorf("  want: %d type %q code %q param %q message containing %q", want.status, want.typ, want.code, want.param, msg)
	}
	// OpenAI sends null, not "", for an absent code or param.
	if (want.code == "") != (got.Code == nil) || (want.param == "") != (got.Param == nil) {
		t.Errorf("OpenAI: null code or param expected as null: %s", b)
	}
	checkHeaders(t, "OpenAI", e.Header, want.header)
	if (e.Status == 429 || e.Status >= 500) && e.Header.Get("X-Should-Retry") == "" {
		t.Errorf("OpenAI: status %d without x-should-retry", e.Status)
	}
}

func checkAnthropic(t *testing.T, p edge.Problem, want dialect, msg string) {
	t.Helper()
	e := edge.Anthropic(p)
	b, err := json.Marshal(e.AnthropicBody("req_1"))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	if e.Status != want.status || body.Type != "error" || body.Error.Type != want.typ || body.RequestID != "req_1" ||
		!strings.Contains(body.Error.Message, msg) {
		t.Errorf("Anthropic: %d %s; want %d type %q message containing %q", e.Status, b, want.status, want.typ, msg)
	}
	checkHeaders(t, "Anthropic", e.Header, want.header)
}

func checkGemini(t *testing.T, p edge.Problem, want dialect, msg string) {
	t.Helper()
	e, body := edge.Gemini(p)
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
			Details []struct {
				Type string `json:"@type"`
			} `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if e.Status != want.status || got.Error.Code != want.status || got.Error.Status != want.typ || !strings.Contains(got.Error.Message, msg) {
		t.Errorf("Gemini: %d %s; want %d status %q message containing %q", e.Status, b, want.status, want.typ, msg)
	}
	if p.RetryAfter > 0 {
		found := false
		for _, d := range got.Error.Details {
			found = found || d.Type == "type.googleapis.com/google.rpc.RetryInfo"
		}
		if !found {
			t.Errorf("Gemini: no RetryInfo detail: %s", b)
		}
	}
	checkHeaders(t, "Gemini", e.Header, want.header)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
