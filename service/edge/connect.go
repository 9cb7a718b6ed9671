package edge

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

// errorDomain is the ErrorInfo domain of Tollgate's own reasons.
const errorDomain = "tollgate.dev"

// connectCodes maps every kind to its Connect (gRPC) code.
var connectCodes = [numKinds]connect.Code{
	KindInternal:           connect.CodeInternal,
	KindInvalidArgument:    connect.CodeInvalidArgument,
	KindTooLarge:           connect.CodeInvalidArgument,
	KindUnauthenticated:    connect.CodeUnauthenticated,
	KindPermissionDenied:   connect.CodePermissionDenied,
	KindModelNotFound:      connect.CodeNotFound,
	KindNotFound:           connect.CodeNotFound,
	KindAlreadyExists:      connect.CodeAlreadyExists,
	KindFailedPrecondition: connect.CodeFailedPrecondition,
	KindBudgetExceeded:     connect.CodeResourceExhausted,
	KindRateLimited:        connect.CodeResourceExhausted,
	KindGuardrailBlocked:   connect.CodePermissionDenied,
	KindUnavailable:        connect.CodeUnavailable,
	KindOverloaded:         connect.CodeUnavailable,
	// The gateway's own credential was refused: not the caller's fault.
	KindUpstreamAuth:     connect.CodeInternal,
	KindUpstreamNotFound: connect.CodeNotFound,
	KindUpstreamFailed:   connect.CodeUnavailable,
	KindDeadlineExceeded: connect.CodeDeadlineExceeded,
	KindCanceled:         connect.CodeCanceled,
	KindRequestTimeout:   connect.CodeDeadlineExceeded,
}

// ConnectCode returns the Connect code of p.
func ConnectCode(p Problem) connect.Code { return connectCodes[p.Kind] }

// ConnectError renders p for Connect, gRPC and gRPC-Web: its code, its
// message, and the details that say why, as google.rpc error details:
//
//   - BadRequest naming the parameter of an invalid request;
//   - QuotaFailure naming the budget or rate limit, with an ErrorInfo
//     (BUDGET_EXCEEDED or RATE_LIMITED) holding limit, remaining, period
//     and reset;
//   - tollgate.v1.GuardrailViolation naming the guardrail and categories;
//   - an ErrorInfo UPSTREAM_<KIND> with the provider and upstream status;
//   - otherwise an ErrorInfo with the problem's code in upper case;
//   - RetryInfo when there is a retry-after hint.
func ConnectError(p Problem) *connect.Error {
	code := connectCodes[p.Kind]
	e := connect.NewError(code, errors.New(withoutCode(code, p.Message)))
	add := func(m proto.Message) {
		if d, err := connect.NewErrorDetail(m); err == nil {
			e.AddDetail(d)
		}
	}
	for _, d := range details(p) {
		add(d)
	}
	return e
}

// withoutCode drops a leading "<code>: " from msg ("unauthenticated: unknown
// API key" becomes "unknown API key"): clients print the code before the
// message (connect.Error's "unauthenticated: unknown API key"), which
// would otherwise name it twice.
func withoutCode(code connect.Code, msg string) string {
	for _, prefix := range []string{code.String(), strings.ReplaceAll(code.String(), "_", " ")} {
		if rest, ok := strings.CutPrefix(msg, prefix+": "); ok && rest != "" {
			return rest
		}
	}
	return msg
}

// details returns the google.rpc details of p (see ConnectError); the
// Gemini encoder sends the same.
func details(p Problem) []proto.Message {
	var out []proto.Message
	if p.Param != "" && (p.Kind == KindInvalidArgument || p.Kind == KindFailedPrecondition) {
		out = append(out, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: p.Param, Description: p.Message},
		}})
	}
	switch {
	case p.Quota != nil:
		q := p.Quota
		kind, reason := "rate_limit", "RATE_LIMITED"
		if q.Budget {
			kind, reason = "budget", "BUDGET_EXCEEDED"
		}
		out = append(out, &errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{
			Subject: q.Scope + ":" + q.Subject, Description: p.Message,
		}}})
		meta := map[string]string{
			kind: q.ID, "scope": q.Scope, "subject": q.Subject, "dimension": q.Dimension,
			"limit": strconv.FormatInt(q.Limit, 10), "remaining": strconv.FormatInt(q.Remaining, 10),
		}
		if q.Period != "" {
			meta["period"] = q.Period
		}
		if !q.Reset.IsZero() {
			meta["reset"] = q.Reset.UTC().Format(time.RFC3339)
		}
		out = append(out, &errdetails.ErrorInfo{Reason: reason, Domain: errorDomain, Metadata: meta})
	case p.Guardrail != nil:
		g := p.Guardrail
		out = append(out, &tollgatev1.GuardrailViolation{Policy: g.Policy, Guardrail: g.Name, Kind: g.Kind,
			Stage: guardrailStage(g.Stage), Categories: g.Categories})
	case p.Upstream != nil:
		meta := map[string]string{"provider": p.Upstream.Provider, "upstream_status": strconv.Itoa(p.Upstream.Status)}
		if p.Code != "" {
			meta["code"] = p.Code
		}
		out = append(out, &errdetails.ErrorInfo{Reason: "UPSTREAM_" + strings.ToUpper(p.Upstream.Kind), Domain: errorDomain, Metadata: meta})
	case p.Code != "":
		out = append(out, &errdetails.ErrorInfo{Reason: strings.ToUpper(p.Code), Domain: errorDomain})
	}
	if p.RetryAfter > 0 {
		out = append(out, &errdetails.RetryInfo{RetryDelay: durationpb.New(p.RetryAfter.Round(time.Millisecond))})
	}
	return out
}

// guardrailStage converts a guardrail stage name ("input", "output").
func guardrailStage(s string) tollgatev1.GuardrailStage {
	switch s {
	case "input":
		return tollgatev1.GuardrailStage_GUARDRAIL_STAGE_INPUT
	case "output":
		return tollgatev1.GuardrailStage_GUARDRAIL_STAGE_OUTPUT
	}
	return tollgatev1.GuardrailStage_GUARDRAIL_STAGE_UNSPECIFIED
}
