package governance

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/money"
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
	// Limit, Remaining and Want (what the refused request asked for, 0
	// when unknown) are in the dimension's unit.
	Limit     int64
	Remaining int64
	Want      int64
	// Reset is when the period or window ends (zero: never, e.g. lifetime
	// budgets and concurrency).
	Reset time.Time
	// RetryAfter is how long to wait before retrying (0: do not retry).
	RetryAfter time.Duration
}

// Error implements error. The message is safe to show to the caller and
// written for people, e.g. "budget exceeded: this request could cost up
// to $0.012 and only $0.0082 remains in the daily team budget
// "search-daily" (team search); it resets at 2026-12-07 00:00 UTC".
func (e *LimitError) Error() string {
	var b strings.Builder
	b.WriteString(e.Unwrap().Error())
	b.WriteString(": ")
	if e.Budget {
		e.budgetMessage(&b)
	} else {
		e.rateMessage(&b)
	}
	if !e.Reset.IsZero() {
		b.WriteString("; it resets at ")
		b.WriteString(e.Reset.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return b.String()
}

func (e *LimitError) budgetMessage(b *strings.Builder) {
	what := fmt.Sprintf("the %s%s budget %q (%s %s)", period(e.Period), e.Scope, e.ID, e.Scope, e.Subject)
	if e.Dimension == DimCost {
		if e.Want > 0 {
			fmt.Fprintf(b, "this request could cost up to %s and only %s remains in %s", money.FormatNanos(e.Want), money.FormatNanos(max(e.Remaining, 0)), what)
		} else {
			fmt.Fprintf(b, "%s of %s is used up (%s remains)", what, money.FormatNanos(e.Limit), money.FormatNanos(max(e.Remaining, 0)))
		}
		return
	}
	if e.Want > 0 {
		fmt.Fprintf(b, "this request could use up to %s tokens and only %s remain in %s", money.Count(e.Want), money.Count(max(e.Remaining, 0)), what)
	} else {
		fmt.Fprintf(b, "%s of %s tokens is used up (%s remain)", what, money.Count(e.Limit), money.Count(max(e.Remaining, 0)))
	}
}

func (e *LimitError) rateMessage(b *strings.Builder) {
	fmt.Fprintf(b, "the %s rate limit %q (%s %s) allows ", e.Scope, e.ID, e.Scope, e.Subject)
	switch e.Dimension {
	case DimConcurrent:
		fmt.Fprintf(b, "%s requests at once and all are in flight", money.Count(e.Limit))
	case DimTokens:
		fmt.Fprintf(b, "%s tokens per minute and only %s remain", money.Count(e.Limit), money.Count(max(e.Remaining, 0)))
		if e.Want > 0 {
			fmt.Fprintf(b, " (this request could use up to %s)", money.Count(e.Want))
		}
	default:
		fmt.Fprintf(b, "%s requests per minute and none remain", money.Count(e.Limit))
	}
}

// period is "daily " for a budget's period, "" when unknown.
func period(p string) string {
	if p == "" {
		return ""
	}
	return p + " "
}

// Unwrap returns ErrBudgetExceeded or ErrRateLimited.
func (e *LimitError) Unwrap() error {
	if e.Budget {
		return ErrBudgetExceeded
	}
	return ErrRateLimited
}
