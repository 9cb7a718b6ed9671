package rpc

import (
	"errors"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tollgate-dev/tollgate/service/governance"
)

// limitError maps a budget or rate-limit refusal to ResourceExhausted with
// a QuotaFailure naming the budget or limit, an ErrorInfo carrying limit,
// remaining and reset, and (for rate limits) a RetryInfo.
func limitError(le *governance.LimitError) error {
	e := connect.NewError(connect.CodeResourceExhausted, le)
	kind := "rate_limit"
	reason := "RATE_LIMITED"
	if le.Budget {
		kind, reason = "budget", "BUDGET_EXCEEDED"
	}
	if d, err := connect.NewErrorDetail(&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{
		Subject:     le.Scope + ":" + le.Subject,
		Description: le.Error(),
	}}}); err == nil {
		e.AddDetail(d)
	}
	meta := map[string]string{
		kind:        le.ID,
		"scope":     le.Scope,
		"subject":   le.Subject,
		"dimension": string(le.Dimension),
		"limit":     strconv.FormatInt(le.Limit, 10),
		"remaining": strconv.FormatInt(le.Remaining, 10),
	}
	if le.Period != "" {
		meta["period"] = le.Period
	}
	if !le.Reset.IsZero() {
		meta["reset"] = le.Reset.UTC().Format(time.RFC3339)
	}
	if d, err := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: reason, Domain: "tollgate.dev", Metadata: meta}); err == nil {
		e.AddDetail(d)
	}
	if le.RetryAfter > 0 {
		if d, err := connect.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(le.RetryAfter.Round(time.Millisecond))}); err == nil {
			e.AddDetail(d)
		}
	}
	return e
}

// limitsUnavailable maps a request whose limits could not be checked to
// Unavailable with an ErrorInfo and, when known, a RetryInfo.
func limitsUnavailable(err error) error {
	e := connect.NewError(connect.CodeUnavailable, err)
	var ue *governance.UnavailableError
	if !errors.As(err, &ue) {
		return e
	}
	kind := "rate_limit"
	if ue.Budget {
		kind = "budget"
	}
	if d, derr := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: "LIMITS_UNAVAILABLE", Domain: "tollgate.dev",
		Metadata: map[string]string{kind: ue.ID}}); derr == nil {
		e.AddDetail(d)
	}
	if ue.RetryAfter > 0 {
		if d, derr := connect.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(ue.RetryAfter.Round(time.Millisecond))}); derr == nil {
			e.AddDetail(d)
		}
	}
	return e
}
