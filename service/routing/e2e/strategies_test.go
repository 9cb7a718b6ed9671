package e2e_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/gatewaytest"
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
	b := gatewaytest.Start(t, gatewaytest.Options{DatabaseURL: e.gw.DatabaseURL})
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
	for servedBy() != backup {
		if time.Since(changed) > 10*time.Second {
			t.Fatal("replica B still serves the old route 10s after the change")
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
	t.Logf("replica B used the changed route %v after the change", time.Since(changed))
}
