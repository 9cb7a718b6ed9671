package rpc

import (
	"context"
	"errors"
	"net/http"

	"connectrpc.com/connect"

	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/keys"
)

// bearer returns the token of an "Authorization: Bearer ..." header.
func bearer(h http.Header) string { return edge.BearerToken(h) }

// adminInterceptor requires the admin token on every call.
type adminInterceptor struct{ token keys.AdminToken }

var errAdminToken = errors.New("admin calls need \"Authorization: Bearer <admin token>\"")

func (a adminInterceptor) check(h http.Header) error {
	if !a.token.Matches(bearer(h)) {
		return connect.NewError(connect.CodeUnauthenticated, errAdminToken)
	}
	return nil
}

// WrapUnary implements connect.Interceptor.
func (a adminInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		if err := a.check(req.Header()); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient implements connect.Interceptor.
func (a adminInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor.
func (a adminInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := a.check(conn.RequestHeader()); err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

// AdminInterceptor returns the interceptor that guards the admin services.
func AdminInterceptor(token keys.AdminToken) connect.Interceptor {
	return adminInterceptor{token: token}
}
