package edge

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/access"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/store"
)

// Kind is what went wrong, in terms every dialect has an answer for.
type Kind uint8

// The kinds of problem.
const (
	// KindInternal is a failure of the gateway itself; the message hides
	// the cause, which the edge logs.
	KindInternal Kind = iota
	// KindInvalidArgument is a malformed request; Param names the culprit.
	KindInvalidArgument
	// KindTooLarge is a request body over the gateway's limit.
	KindTooLarge
	// KindUnauthenticated is a missing, unknown, revoked or expired credential.
	KindUnauthenticated
	// KindPermissionDenied is a credential that may not do this (use this model).
	KindPermissionDenied
	// KindModelNotFound is a model or alias that does not exist for the caller.
	KindModelNotFound
	// KindNotFound is a configuration resource that does not exist.
	KindNotFound
	// KindAlreadyExists is a resource created twice.
	KindAlreadyExists
	// KindFailedPrecondition is a write refused by the resource's state: it
	// is still in use, or it changed since the caller read it (etag).
	KindFailedPrecondition
	// KindBudgetExceeded is a budget with no room left: no retry helps
	// before the period resets.
	KindBudgetExceeded
	// KindRateLimited is a rate or concurrency limit, the gateway's or the
	// upstream's: retry after RetryAfter.
	KindRateLimited
	// KindGuardrailBlocked is a request or answer a guardrail refused.
	KindGuardrailBlocked
	// KindUnavailable is the gateway unable to serve right now: the
	// model's providers cannot be used, a fail-closed guardrail failed.
	KindUnavailable
	// KindOverloaded is an upstream that said it is overloaded, or this
	// replica at its in-flight limit (admission control).
	KindOverloaded
	// KindUpstreamAuth is the gateway's provider credential rejected by
	// the upstream: the operator's problem, not the caller's.
	KindUpstreamAuth
	// KindUpstreamNotFound is an upstream that does not know the model the
	// gateway's configuration names.
	KindUpstreamNotFound
	// KindUpstreamFailed is an upstream that failed: a 5xx, a broken
	// connection, an answer that could not be read.
	KindUpstreamFailed
	// KindDeadlineExceeded is a request or upstream that ran out of time.
	KindDeadlineExceeded
	// KindCanceled is a caller that went away.
	KindCanceled
	// KindRequestTimeout is a caller that did not send its request body in
	// time (the server's body read timeout).
	KindRequestTimeout

	numKinds
)

var kindNames = [numKinds]string{
	"internal", "invalid_argument", "too_large", "unauthenticated", "permission_denied", "model_not_found", "not_found",
	"already_exists", "failed_precondition", "budget_exceeded", "rate_limited", "guardrail_blocked", "unavailable",
	"overloaded", "upstream_auth", "upstream_not_found", "upstream_failed", "deadline_exceeded", "canceled",
	"request_timeout",
}

// String returns the kind's snake_case name.
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Kinds returns every kind, for tests that cover them all.
func Kinds() []Kind {
	out := make([]Kind, numKinds)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// Problem is an error described once for every dialect.
type Problem struct {
	Kind Kind
	// Message is safe to show to the caller: it never holds a credential,
	// prompt text or an internal error's cause.
	Message string
	// Code is a stable snake_case reason finer than Kind, when there is
	// one ("context_length_exceeded", "etag_mismatch", an upstream's own
	// code); encoders fall back on their dialect's code for the kind.
	Code string
	// Param names the offending request parameter of an invalid request,
	// in the canonical model's terms (or the upstream's, for an upstream
	// refusal).
	Param string
	// Retryable says whether the same request may succeed when retried.
	Retryable bool
	// RetryAfter is how long to wait before retrying; 0 for no hint.
	RetryAfter time.Duration
	// Quota describes the refusing budget or rate limit, if any.
	Quota *Quota
	// Guardrail describes the refusing guardrail, if any.
	Guardrail *Guardrail
	// Upstream describes the failed upstream call, if any.
	Upstream *Upstream
	// Err is the error described. For KindInternal, the edge logs it.
	Err error
}

// Quota is the budget or rate limit that refused a request.
type Quota struct {
	// Budget is true for a budget, false for a rate limit.
	Budget bool
	// ID is the budget's or rate limit's id; Scope and Subject say what it
	// applies to (e.g. "team", "search").
	ID, Scope, Subject string
	// Period is a budget's period ("daily", ...); "" for rate limits.
	Period string
	// Dimension is what the limit counts: "cost" (nano-USD), "tokens",
	// "requests" or "concurrent".
	Dimension string
	// Limit and Remaining are in the dimension's unit.
	Limit, Remaining int64
	// Reset is when the period or window ends; zero for never.
	Reset time.Time
}

// unit is the rate-limit header unit of q: "tokens" or "requests".
func (q *Quota) unit() string {
	if q.Dimension == string(governance.DimTokens) {
		return "tokens"
	}
	return "requests"
}

// Guardrail is the guardrail that refused a request, by name: never the
// text that matched.
type Guardrail struct {
	Policy, Name, Kind, Stage string
	Categories                []string
	// Failed is true when the guardrail failed instead of judging.
	Failed bool
}

// Upstream is the upstream call that failed.
type Upstream struct {
	// Provider is the provider id; Status its HTTP status (0 without an
	// answer); Kind the failure's class (providers.ErrorKind's name).
	Provider string
	Status   int
	Kind     string
	// Header holds the upstream's rate-limit headers, passed on to HTTP
	// callers.
	Header http.Header
}

// Describe classifies err, returned by the request path or the admin
// API, for every dialect. requestID names the request in the message of
// an internal error, whose cause is never shown.
func Describe(err error, requestID string) Problem {
	var (
		be  *guardrails.BlockedError
		le  *governance.LimitError
		ue  *governance.UnavailableError
		mbe *http.MaxBytesError
		inv *gateway.InvalidRequestError
		pe  *providers.Error
		re  *gateway.RetryError
	)
	p := Problem{Err: err}
	if err != nil {
		p.Message = err.Error()
	}
	switch {
	case err == nil:
		p.Kind, p.Message = KindInternal, "internal error; request id "+requestID
	case errors.As(err, &be):
		p.Kind, p.Code = KindGuardrailBlocked, "guardrail_blocked"
		if be.Failed {
			p.Kind, p.Code, p.Retryable = KindUnavailable, "guardrail_unavailable", true
		}
		p.Guardrail = &Guardrail{Policy: be.Policy, Name: be.Guardrail, Kind: string(be.Kind), Stage: string(be.Stage),
			Categories: be.Categories, Failed: be.Failed}
	case errors.As(err, &le):
		p.Kind, p.Code, p.Retryable, p.RetryAfter = KindRateLimited, "rate_limit_exceeded", true, le.RetryAfter
		if le.Budget {
			p.Kind, p.Code, p.Retryable, p.RetryAfter = KindBudgetExceeded, "insufficient_quota", false, 0
		}
		p.Quota = &Quota{Budget: le.Budget, ID: le.ID, Scope: le.Scope, Subject: le.Subject, Period: le.Period,
			Dimension: string(le.Dimension), Limit: le.Limit, Remaining: le.Remaining, Reset: le.Reset}
	case errors.As(err, &ue):
		// Budgets and rate limits could not be checked (Postgres too slow
		// or unreachable beyond the outage runway): fail closed, retry soon.
		p.Kind, p.Code, p.Retryable, p.RetryAfter = KindUnavailable, "limits_unavailable", true, ue.RetryAfter
	case errors.As(err, &re):
		// The gateway's own refusal that a retry may cure: this replica
		// at capacity, or unable to decide the request right now.
		p.Kind, p.Code, p.Retryable, p.RetryAfter = KindUnavailable, "temporarily_unavailable", true, re.RetryAfter
		if errors.Is(re, gateway.ErrOverloaded) {
			p.Kind, p.Code = KindOverloaded, "overloaded"
		}
	case errors.Is(err, gateway.ErrTooLarge):
		p.Kind, p.Code = KindTooLarge, "request_too_large"
	case errors.Is(err, gateway.ErrRequestTimeout):
		p.Kind, p.Code = KindRequestTimeout, "request_timeout"
	case errors.As(err, &mbe):
		p.Kind, p.Code = KindTooLarge, "request_too_large"
		p.Message = "the request body exceeds the gateway's limit of " + strconv.FormatInt(mbe.Limit, 10) + " bytes"
	case errors.As(err, &inv):
		p.Kind, p.Param = KindInvalidArgument, inv.Param
	case errors.Is(err, store.ErrInvalidCursor):
		p.Kind, p.Param, p.Message = KindInvalidArgument, "page_token", "page_token: is not a next_page_token of this listing"
	case errors.Is(err, gateway.ErrInvalidRequest):
		p.Kind = KindInvalidArgument
	case errors.Is(err, gateway.ErrUnauthenticated), errors.Is(err, access.ErrUnauthenticated):
		p.Kind = KindUnauthenticated
	case errors.Is(err, access.ErrPermissionDenied):
		// An admin principal whose roles do not allow the call.
		p.Kind, p.Code = KindPermissionDenied, "permission_denied"
	case errors.Is(err, access.ErrUnavailable):
		p.Kind, p.Code, p.Retryable = KindUnavailable, "authentication_unavailable", true
	case errors.Is(err, gateway.ErrPermissionDenied):
		p.Kind, p.Param = KindPermissionDenied, "model"
	case errors.Is(err, gateway.ErrModelNotFound):
		p.Kind, p.Param = KindModelNotFound, "model"
	case errors.Is(err, gateway.ErrUnavailable):
		// The model's providers cannot be used now (breakers open): the
		// gateway already retried and failed over.
		p.Kind, p.Code = KindUnavailable, "provider_unavailable"
	case errors.Is(err, store.ErrNotFound):
		p.Kind = KindNotFound
	case errors.Is(err, store.ErrConflict):
		p.Kind = KindAlreadyExists
	case errors.Is(err, store.ErrInUse):
		p.Kind, p.Code = KindFailedPrecondition, "in_use"
	case errors.Is(err, store.ErrVersionMismatch):
		p.Kind, p.Code, p.Param = KindFailedPrecondition, "etag_mismatch", "etag"
	case errors.As(err, &pe):
		describeUpstream(&p, pe)
	case errors.Is(err, context.Canceled):
		p.Kind, p.Code = KindCanceled, "client_closed_request"
	case errors.Is(err, context.DeadlineExceeded):
		p.Kind, p.Code, p.Retryable = KindDeadlineExceeded, "timeout", true
	default:
		p.Kind, p.Retryable = KindInternal, true
		p.Message = "internal error; request id " + requestID
	}
	return p
}

// describeUpstream describes a provider failure. The message names the
// provider and repeats the upstream's message, which never holds
// credentials; credential failures say only that.
func describeUpstream(p *Problem, pe *providers.Error) {
	msg := pe.Message
	if msg == "" {
		msg = pe.Kind.String()
	}
	p.Message = "provider " + pe.Provider + ": " + msg
	p.Upstream = &Upstream{Provider: pe.Provider, Status: pe.Status, Kind: pe.Kind.String(), Header: pe.Header}
	p.Retryable, p.RetryAfter = pe.Retryable(), pe.RetryAfter
	switch pe.Kind {
	case providers.KindInvalidRequest:
		p.Kind, p.Code, p.Param = KindInvalidArgument, pe.Code, pe.Param
	case providers.KindContextLength:
		p.Kind, p.Code, p.Param = KindInvalidArgument, "context_length_exceeded", "messages"
	case providers.KindAuthentication, providers.KindPermissionDenied:
		p.Kind, p.Code = KindUpstreamAuth, "upstream_auth_failed"
		p.Message = "provider " + pe.Provider + " rejected the gateway's credential (upstream status " +
			strconv.Itoa(pe.Status) + "); ask the gateway operator to check it"
	case providers.KindNotFound:
		p.Kind, p.Code = KindUpstreamNotFound, "upstream_model_not_found"
	case providers.KindRateLimited:
		p.Kind, p.Code = KindRateLimited, "rate_limit_exceeded"
		if pe.Code == "insufficient_quota" || pe.Type == "insufficient_quota" {
			// The upstream account's quota: retrying cannot help.
			p.Code, p.Retryable = "insufficient_quota", false
		}
	case providers.KindOverloaded:
		p.Kind, p.Code = KindOverloaded, "server_is_overloaded"
	case providers.KindTimeout:
		p.Kind, p.Code = KindDeadlineExceeded, "timeout"
	default: // server, connection, bad response, unknown
		p.Kind, p.Code = KindUpstreamFailed, "upstream_error"
	}
}

// retrySeconds is d in whole seconds, rounded up, at least 1: the value of
// a Retry-After header.
func retrySeconds(d time.Duration) string {
	return strconv.FormatInt(max(int64((d+time.Second-1)/time.Second), 1), 10)
}
