package rpc

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/gateway"
	"github.com/tollgate-dev/tollgate/service/governance"
	"github.com/tollgate-dev/tollgate/service/guardrails"
	"github.com/tollgate-dev/tollgate/service/store"
)

// toConnectError maps a domain error to a Connect error. Only sentinel
// errors and upstream errors carry their message to the caller; anything
// else is logged and reported as an internal error with the request id.
func toConnectError(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	var inv *gateway.InvalidRequestError
	var pe *providers.Error
	var le *governance.LimitError
	var be *guardrails.BlockedError
	var re *gateway.RetryError
	switch {
	case errors.As(err, &be):
		return guardrailError(be)
	case errors.As(err, &re):
		return retryError(re)
	case errors.Is(err, gateway.ErrTooLarge):
		e := connect.NewError(connect.CodeInvalidArgument, err)
		if d, derr := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: "REQUEST_TOO_LARGE", Domain: "tollgate.dev"}); derr == nil {
			e.AddDetail(d)
		}
		return e
	case errors.Is(err, gateway.ErrRequestTimeout):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	case errors.As(err, &inv):
		e := connect.NewError(connect.CodeInvalidArgument, err)
		if d, derr := connect.NewErrorDetail(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: inv.Param, Description: inv.Message},
		}}); derr == nil {
			e.AddDetail(d)
		}
		return e
	case errors.As(err, &le):
		return limitError(le)
	case errors.Is(err, gateway.ErrUnauthenticated):
		return connect.NewError(connect.CodeUnauthenticated, err)
	case errors.Is(err, gateway.ErrPermissionDenied):
		return connect.NewError(connect.CodePermissionDenied, err)
	case errors.Is(err, gateway.ErrModelNotFound), errors.Is(err, store.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, gateway.ErrInvalidRequest):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, gateway.ErrUnavailable):
		return connect.NewError(connect.CodeUnavailable, err)
	case errors.Is(err, store.ErrConflict):
		return connect.NewError(connect.CodeAlreadyExists, err)
	case errors.Is(err, store.ErrInUse):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.As(err, &pe):
		return upstreamError(pe)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	}
	id := gateway.RequestIDFrom(ctx)
	log.ErrorContext(ctx, "internal error", "request_id", id, "err", err)
	return connect.NewError(connect.CodeInternal, errors.New("internal error; request id "+id))
}

// retryError maps a refusal of the gateway itself that a retry may cure:
// Unavailable (which gRPC retry policies and Connect clients treat as
// retryable) with RetryInfo and an ErrorInfo naming the reason.
func retryError(re *gateway.RetryError) error {
	e := connect.NewError(connect.CodeUnavailable, re)
	reason := "NOT_READY"
	if errors.Is(re, gateway.ErrOverloaded) {
		reason = "OVERLOADED"
	}
	if d, err := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: reason, Domain: "tollgate.dev"}); err == nil {
		e.AddDetail(d)
	}
	if d, err := connect.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(re.RetryAfter.Round(time.Millisecond))}); err == nil {
		e.AddDetail(d)
	}
	e.Meta().Set("Retry-After", itoa(int(re.RetryAfterSeconds())))
	return e
}

// errorWriter writes Connect, gRPC and gRPC-Web errors outside a handler.
var errorWriter = connect.NewErrorWriter()

// IsRPC reports whether r is a Connect, gRPC or gRPC-Web request that
// WriteError can answer in its protocol.
func IsRPC(r *http.Request) bool { return errorWriter.IsSupported(r) }

// WriteError answers r with err in its RPC protocol (Connect, gRPC or
// gRPC-Web), mapped as the handlers map it. The server uses it for
// refusals made before a handler runs (admission control, body limits).
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	_ = errorWriter.Write(w, r, toConnectError(r.Context(), log, err))
}

// upstreamError maps a provider failure. The caller learns which provider
// failed and why, never the gateway's credential.
func upstreamError(pe *providers.Error) error {
	code := connect.CodeUnavailable
	switch pe.Kind {
	case providers.KindInvalidRequest, providers.KindContextLength:
		code = connect.CodeInvalidArgument
	case providers.KindNotFound:
		code = connect.CodeNotFound
	case providers.KindRateLimited:
		code = connect.CodeResourceExhausted
	case providers.KindTimeout:
		code = connect.CodeDeadlineExceeded
	case providers.KindAuthentication, providers.KindPermissionDenied:
		// The gateway's provider credential was rejected: not the caller's fault.
		code = connect.CodeInternal
	case providers.KindOverloaded, providers.KindServer, providers.KindConnection, providers.KindBadResponse, providers.KindUnknown:
		code = connect.CodeUnavailable
	}
	e := connect.NewError(code, pe)
	if pe.RetryAfter > 0 {
		if d, err := connect.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(pe.RetryAfter.Round(time.Millisecond))}); err == nil {
			e.AddDetail(d)
		}
	}
	if d, err := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: "UPSTREAM_" + upper(pe.Kind.String()), Domain: "tollgate.dev",
		Metadata: map[string]string{"provider": pe.Provider, "upstream_status": itoa(pe.Status)}}); err == nil {
		e.AddDetail(d)
	}
	return e
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
