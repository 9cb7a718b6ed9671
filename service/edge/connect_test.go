package edge_test

import (
	"errors"
	"fmt"
	"testing"

	"connectrpc.com/connect"

	"github.com/tollgate-dev/tollgate/service/edge"
	"github.com/tollgate-dev/tollgate/service/gateway"
)

// TestConnectErrorNamesTheCodeOnce checks that a message starting with its
// own code ("unauthenticated: unknown API key") loses that prefix, so that
// a client printing "<code>: <message>" names the code once.
func TestConnectErrorNamesTheCodeOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unknown key", fmt.Errorf("%w: unknown API key", gateway.ErrUnauthenticated), "unauthenticated: unknown API key"},
		{"model not allowed", fmt.Errorf("%w: key may not use %q", gateway.ErrPermissionDenied, "gpt-4o"), `permission_denied: key may not use "gpt-4o"`},
		{"unavailable", fmt.Errorf("%w: no provider for %q", gateway.ErrUnavailable, "m"), `unavailable: no provider for "m"`},
		{"other prefixes stay", fmt.Errorf("%w: %q", gateway.ErrModelNotFound, "gpt-9"), `not_found: model not found: "gpt-9"`},
		{"a bare code stays", gateway.ErrUnauthenticated, "unauthenticated: unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ce *connect.Error
			if !errors.As(edge.ConnectError(edge.Describe(tt.err, "req_1")), &ce) {
				t.Fatal("not a *connect.Error")
			}
			if got := ce.Error(); got != tt.want {
				t.Fatalf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}
