package e2e_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/gatewaytest"
)

// spread sends n requests for model over workers goroutines and counts
// the providers that served them.
func spread(t *testing.T, c tollgatev1connect.InferenceServiceClient, model string, n, workers int) *counter {
	t.Helper()
	var (
		wg   sync.WaitGroup
		got  counter
		errs = make(chan error, n)
		next = make(chan int, n)
	)
	for i := range n {
		next <- i
	}
	close(next)
	for range workers {
		wg.Go(func() {
			for i := range next {
				resp, err := c.Chat(context.Background(), connect.NewRequest(chatReq(model, fmt.Sprintf("request %d", i), "")))
				if err != nil {
					errs <- err
					return
				}
				got.add(resp.Msg.GetProvider())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Chat: %v", err)
	}
	return &got
}

func weighted(a, b int32) *tollgatev1.Route {
	pa, pb := target(primary), target(backup)
	pa.Weight, pb.Weight = a, b
	return &tollgatev1.Route{Name: "split", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_WEIGHTED,
		Targets: []*tollgatev1.RouteTarget{pa, pb}}
}

func TestWeightedAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.createRoute(t, weighted(90, 10))
	b := gatewaytest.Start(t, gatewaytest.Options{DatabaseURL: e.gw.DatabaseURL})
	cb := e.client(b)

	// 600 requests at 90/10: the binomial standard deviation is 1.2
	// points, so ±5 points is over 4 of them.
	const n = 600
	got := spread(t, cb, "split", n, 8)
	if share := float64(got.get(primary)) / n; share < 0.85 || share > 0.95 {
		t.Fatalf("replica B at 90/10: primary share %.3f", share)
	}

	// Change to 50/50 on replica A; replica B must use it within a second.
	if _, err := e.gw.Admin.UpdateRoute(context.Background(), connect.NewRequest(&tollgatev1.UpdateRouteRequest{Route: weighted(50, 50)})); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	time.Sleep(time.Second - time.Since(changed))
	got = spread(t, cb, "split", n, 8)
	// sd 2 points; ±8 points is 4 of them.
	if share := float64(got.get(primary)) / n; share < 0.42 || share > 0.58 {
		t.Fatalf("replica B 1s after the change to 50/50: primary share %.3f", share)
	}
}

func TestLatencyStrategy(t *testing.T) {
	t.Parallel()
	e := start(t, fakeupstream.WithLatency(20*time.Millisecond))
	e.createRoute(t, &tollgatev1.Route{Name: "fast", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_LATENCY,
		Targets: []*tollgatev1.RouteTarget{target(primary), target(backup)}})
	c := e.client(e.gw)
	warm := spread(t, c, "fast", 40, 2)
	if warm.get(primary) == 0 || warm.get(backup) == 0 {
		t.Fatalf("warm-up did not reach both targets: %v", warm.n)
	}
	e.primary.SetLatency(500 * time.Millisecond)
	const n = 200
	got := spread(t, c, "fast", n, 4)
	if share := float64(got.get(backup)) / n; share < 0.90 {
		t.Fatalf("after the primary slowed to 500ms the backup served %.3f of %d requests, want ≥ 0.90", share, n)
	}
	t.Logf("after the slowdown: %d to the primary, %d to the backup", got.get(primary), got.get(backup))
}

func TestCostStrategy(t *testing.T) {
	t.Parallel()
	e := start(t)
	cheap := target(primary)
	cheap.ContextWindow = 1000
	cheap.InputPerMillion = &money.Money{CurrencyCode: "USD", Nanos: 150_000_000}
	cheap.OutputPerMillion = &money.Money{CurrencyCode: "USD", Nanos: 600_000_000}
	big := target(backup)
	big.ContextWindow = 128000
	big.InputPerMillion = &money.Money{CurrencyCode: "USD", Units: 5}
	big.OutputPerMillion = &money.Money{CurrencyCode: "USD", Units: 15}
	e.createRoute(t, &tollgatev1.Route{Name: "thrifty", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_COST,
		Targets: []*tollgatev1.RouteTarget{big, cheap}})
	c := e.client(e.gw)
	tests := []struct {
		name, prompt, want string
	}{
		{"small prompt to the cheap model", "a short question", primary},
		{"prompt beyond its context window to the larger model", strings.Repeat("lorem ipsum ", 1000), backup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := c.Chat(context.Background(), connect.NewRequest(chatReq("thrifty", tt.prompt, "")))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Msg.GetProvider() != tt.want || resp.Msg.GetAttempts() != 1 {
				t.Fatalf("served by %q in %d attempts, want %q in 1", resp.Msg.GetProvider(), resp.Msg.GetAttempts(), tt.want)
			}
		})
	}
}
