package rpc

import (
	"context"
	"errors"
	"log/slog"

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
