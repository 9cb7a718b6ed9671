package rpc

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"connectrpc.com/connect"

	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// toConnectError maps a domain error to a Connect error: edge.Describe
// classifies it like every surface does and edge.ConnectError renders it
// with its google.rpc details. Errors that are already Connect errors pass
// through. An internal error is logged and reported with the request id
// only.
func toConnectError(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	id := gateway.RequestIDFrom(ctx)
	p := edge.Describe(err, id)
	if p.Kind == edge.KindInternal {
		log.ErrorContext(ctx, "internal error", "request_id", id, "err", err)
	}
	return edge.ConnectError(p)
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
