package governance

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors; a *LimitError wraps one of them.
var (
	// ErrBudgetExceeded means a budget has no room for the request.
	ErrBudgetExceeded = errors.New("budget exceeded")
	// ErrRateLimited means a rate or concurrency limit refused the request.
	ErrRateLimited = errors.New("rate limited")
	// ErrUnavailable means the limits could not be checked: the store that
	// shares them between replicas cannot be reached (beyond the outage
	// runway) or did not answer in time, and this replica's lease cannot
	// cover the request. Budgets are hard limits, so the request is
	// refused (fail closed); it is not a quota error and may be retried.
	ErrUnavailable = errors.New("limits unavailable")
)

// UnavailableError is a request refused because its limits could not be
// checked. It wraps ErrUnavailable.
type UnavailableError struct {
	// ID is the budget's or rate limit's id; Budget says which it is.
	ID     string
	Budget bool
	// Reason says why, safe to show to the caller.
	Reason string
	// RetryAfter is when to retry.
	RetryAfter time.Duration
}

func unavailable(retry time.Duration, reason string) *UnavailableError {
	return &UnavailableError{Reason: reason, RetryAfter: retry}
}

// Error implements error. The message is safe to show to the caller.
func (e *UnavailableError) Error() string {
	what := "rate limit"
	if e.Budget {
		what = "budget"
	}
	return fmt.Sprintf("%s: %s %q cannot be checked right now: %s; retry in %s", ErrUnavailable, what, e.ID, e.Reason, e.RetryAfter)
}

// Unwrap returns ErrUnavailable.
func (e *UnavailableError) Unwrap() error { return ErrUnavailable }

// Dimension names what a limit counts.
type Dimension string

// The dimensions.
const (
	DimCost       Dimension = "cost"       // nano-USD
	DimTokens     Dimension = "tokens"     // input + output tokens
	DimRequests   Dimension = "requests"   // requests per minute
	DimConcurrent Dimension = "concurrent" // requests in flight
)

// LimitError is a request refused by a budget or a rate limit. It carries
// what callers are told (package edge renders it, headers included, in
// every dialect).
type LimitError struct {
	// Budget is true for a budget, false for a rate limit.
	Budget bool
	// ID is the budget's or rate limit's id; Scope and Subject say what it
	// applies to (e.g. "team", "team-a").
	ID      string
	Scope   string
	Subject string
	// Period is the budget's period ("" for rate limits).
	Period    string
	Dimension Dimension
	// Limit and Remaining are in the dimension's unit.
	Limit     int64
	Remaining int64
	// Reset is when the period or window ends (zero: never, e.g. lifetime
	// budgets and concurrency).
	Reset time.Time
	// RetryAfter is how long to wait before retrying (0: do not retry).
	RetryAfter time.Duration
}

// Error implements error. The message is safe to show to the caller.
func (e *LimitError) Error() string {
	what := "rate limit"
	if e.Budget {
		what = "budget"
	}
	msg := fmt.Sprintf("%s %q of %s %q: %s limit %d reached (%d remaining)", what, e.ID, e.Scope, e.Subject, e.Dimension, e.Limit, e.Remaining)
	if e.Period != "" {
		msg += ", " + e.Period
	}
	if !e.Reset.IsZero() {
		msg += "; resets at " + e.Reset.UTC().Format(time.RFC3339)
	}
	return e.Unwrap().Error() + ": " + msg
}

// Unwrap returns ErrBudgetExceeded or ErrRateLimited.
func (e *LimitError) Unwrap() error {
	if e.Budget {
		return ErrBudgetExceeded
	}
	return ErrRateLimited
}
