package gateway

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/service/registry/registrytest"
	"github.com/tollgate-dev/tollgate/service/routing"
)

// TestRoutingFacts: the engine tells the router what a request needs
// (prompt size, tools, images), and the strategies act on it.
func TestRoutingFacts(t *testing.T) {
	t.Parallel()
	cost := &routing.Route{Name: "thrifty", Strategy: routing.StrategyCost, Targets: []routing.Target{
		{Model: "m1", ContextWindow: 128_000, Price: &routing.Price{InputPerMillion: 5_000_000_000, OutputPerMillion: 15_000_000_000}},
		{Model: "m2", ContextWindow: 1000, Price: &routing.Price{InputPerMillion: 150_000_000, OutputPerMillion: 600_000_000}},
	}}
	caps := fallback("capable", []string{"m3", "m1"})
	withTools := func(r *providers.ChatRequest) *providers.ChatRequest {
		r.Tools = []providers.Tool{{Name: "lookup"}}
		return r
	}
	withImage := func(r *providers.ChatRequest) *providers.ChatRequest {
		r.Messages[0].Content = append(r.Messages[0].Content, providers.Part{Type: providers.PartImage, Image: &providers.Image{URL: "https://x/y.png"}})
		return r
	}
	tests := []struct {
		name string
		req  *providers.ChatRequest
		want string
	}{
		{name: "small prompt to the cheap model", req: userReq("thrifty", "a short question"), want: "p2"},
		{name: "prompt beyond its window to the larger model", req: userReq("thrifty", strings.Repeat("lorem ipsum ", 1000)), want: "p1"},
		{name: "plain request to the first target", req: userReq("capable", "hi"), want: "p3"},
		{name: "tools skip a target without tools", req: withTools(userReq("capable", "hi")), want: "p1"},
		{name: "images skip a target without images", req: withImage(userReq("capable", "hi")), want: "p1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarnessWith(t, []*routing.Route{cost, caps}, func(_ *registrytest.Config, ps map[string]*fakeProvider) {
				ps["p3"].caps = providers.Capabilities{Dialect: "openai"} // no tools, no images
			})
			res, err := h.eng.Chat(t.Context(), h.call(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Provider != tt.want || res.Attempts != 1 {
				t.Errorf("served by %s in %d attempts, want %s in 1", res.Provider, res.Attempts, tt.want)
			}
		})
	}
}

// TestLatencyShiftsTraffic: the engine reports every attempt's latency to
// the router, so a target that slows down loses the traffic.
func TestLatencyShiftsTraffic(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var n uint64
		r := routing.NewRouter(routing.WithExploration(0), routing.WithRand(func() uint64 { n++; return n * 0x9e3779b97f4a7c15 }))
		h := newHarness(t, []*routing.Route{{Name: "fast", Strategy: routing.StrategyLatency,
			Targets: []routing.Target{{Model: "m1"}, {Model: "m2"}}}}, WithRouter(r))
		if h.eng.Router() != r {
			t.Fatal("Router() is not the router given")
		}
		fast, slow := &behavior{delay: 20 * time.Millisecond}, &behavior{delay: 500 * time.Millisecond}
		h.p("p1").setAlways(fast)
		h.p("p2").setAlways(fast)
		served := func(n int) map[string]int {
			got := map[string]int{}
			for range n {
				res, err := h.eng.Chat(t.Context(), h.call(), userReq("fast", "hi"))
				if err != nil {
					t.Fatal(err)
				}
				got[res.Provider]++
			}
			return got
		}
		if warm := served(10); warm["p1"] == 0 || warm["p2"] == 0 {
			t.Fatalf("warm-up reached %v", warm)
		}
		h.p("p1").setAlways(slow)
		if got := served(50); got["p2"] < 48 {
			t.Errorf("after p1 slowed down: %v, want nearly all on p2", got)
		}
	})
}
