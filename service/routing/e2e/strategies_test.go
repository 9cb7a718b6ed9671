package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestRouteChangeReachesReplica: a route changed on replica A serves
// from its new target on replica B, through the store's change
// notifications, without a restart.
func TestRouteChangeReachesReplica(t *testing.T) {
	t.Parallel()
	e := start(t)
	only := func(provider string) *tollgatev1.Route {
		return &tollgatev1.Route{Name: "moving", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
			Targets: []*tollgatev1.RouteTarget{target(provider)}}
	}
	e.createRoute(t, only(primary))
	b := servertest.Start(t, servertest.Options{DatabaseURL: e.gw.DatabaseURL})
	cb := e.client(b)
	servedBy := func() string {
		t.Helper()
		resp, err := cb.Chat(context.Background(), connect.NewRequest(chatReq("moving", "where?", "")))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Msg.GetProvider()
	}
	if got := servedBy(); got != primary {
		t.Fatalf("replica B served by %q before the change, want %q", got, primary)
	}
	if _, err := e.gw.Admin.UpdateRoute(context.Background(), connect.NewRequest(&tollgatev1.UpdateRouteRequest{Route: only(backup)})); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	testutil.Eventually(t, func() error {
		if got := servedBy(); got != backup {
			return fmt.Errorf("replica B still served by %q after the change", got)
		}
		return nil
	})
	t.Logf("replica B used the changed route %v after the change", time.Since(changed))
}
