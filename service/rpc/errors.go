package rpc

import (
	"context"
	"errors"
	"log/slog"
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
	switch {
	case errors.As(err, &be):
		return guardrailError(be)
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
	case errors.Is(err, governance.ErrUnavailable):
		return limitsUnavailable(err)
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
