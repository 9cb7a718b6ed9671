package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/tollgate-dev/tollgate/service/access"
	"github.com/tollgate-dev/tollgate/service/jwtauth"
	"github.com/tollgate-dev/tollgate/service/keys"
	"github.com/tollgate-dev/tollgate/service/registry"
)

// CallerAuthenticator admits callers by a JWT of a trusted issuer instead
// of a virtual key (package callerauth): Kubernetes service-account
// tokens, SPIFFE JWT-SVIDs, an identity provider's tokens.
type CallerAuthenticator interface {
	// AuthenticateJWT verifies the token from memory (cached key sets) and
	// returns the key-like identity its issuer's rules map it to. Errors
	// wrap jwtauth.ErrUnavailable when the issuer's keys cannot be had.
	AuthenticateJWT(ctx context.Context, token string) (*registry.Key, error)
}

// WithCallers admits JWT callers through c.
func WithCallers(c CallerAuthenticator) Option { return func(e *Engine) { e.callers = c } }

// authenticateJWT handles a credential that is a JWT; ok is false for
// anything else (a virtual key).
func (e *Engine) authenticateJWT(ctx context.Context, call *Call) (*registry.Key, bool, error) {
	if e.callers == nil || keys.LooksLikeKey(call.Credential) || !jwtauth.LooksLikeJWT(call.Credential) {
		return nil, false, nil
	}
	k, err := e.callers.AuthenticateJWT(ctx, call.Credential)
	switch {
	case errors.Is(err, jwtauth.ErrUnavailable):
		return nil, true, fmt.Errorf("%w: %w", access.ErrUnavailable, err) // retryable 503
	case err != nil:
		return nil, true, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	return k, true, nil
}
