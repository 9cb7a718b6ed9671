package rpc

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/tollgate-dev/tollgate/service/edge"
)

// bearer returns the token of an "Authorization: Bearer ..." header.
func bearer(h http.Header) string { return edge.BearerToken(h) }

// ErrorRenderer returns the function the access guard renders its
// refusals with: the same edge.Describe → Connect error path as every
// other error of the API.
func ErrorRenderer(log *slog.Logger) func(ctx context.Context, err error) error {
	return func(ctx context.Context, err error) error { return toConnectError(ctx, log, err) }
}
