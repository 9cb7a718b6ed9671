package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
)

func TestUnaryFailover(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.createRoute(t, &tollgatev1.Route{
		Name: "resilient", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
		Targets: []*tollgatev1.RouteTarget{
			{ProviderId: primary, Model: upstreamMdl, Timeout: dur(300 * time.Millisecond)},
			target(backup),
		},
		// Parallel subtests fail the primary many times; keep its breaker closed.
		Breaker: &tollgatev1.CircuitBreaker{Failures: 100},
	})
	c := e.client(e.gw)
	// Baseline: a request served by the primary at once.
	start := time.Now()
	if _, err := c.Chat(context.Background(), connect.NewRequest(chatReq("resilient", "warm up", "warmup"))); err != nil {
		t.Fatal(err)
	}
	base := time.Since(start)
	tests := []struct {
		fault        string
		wantProvider string
		wantAttempts int
		wantCode     connect.Code // 0: success
	}{
		{"500", backup, 2, 0},
		{"503", backup, 2, 0},
		{"429", backup, 2, 0},
		{"hang", backup, 2, 0},
		{"reset", backup, 2, 0},
		{"400", primary, 1, connect.CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			t.Parallel()
			user := "failover-" + tt.fault
			begin := time.Now()
			resp, err := c.Chat(context.Background(), connect.NewRequest(chatReq("resilient", "inject:"+tt.fault+" hello", user)))
			took := time.Since(begin)
			if tt.wantCode != 0 {
				if connect.CodeOf(err) != tt.wantCode {
					t.Fatalf("err = %v, want code %v", err, tt.wantCode)
				}
			} else {
				if err != nil {
					t.Fatalf("Chat: %v", err)
				}
				m := resp.Msg
				if m.GetProvider() != tt.wantProvider || m.GetAttempts() != int32(tt.wantAttempts) || m.GetRoute() != "resilient" {
					t.Fatalf("provider=%q attempts=%d route=%q, want %q, %d, resilient", m.GetProvider(), m.GetAttempts(), m.GetRoute(), tt.wantProvider, tt.wantAttempts)
				}
				if got := m.GetChoices()[0].GetMessage().GetContent()[0].GetText(); !strings.Contains(got, "hello") {
					t.Fatalf("reply = %q", got)
				}
				t.Logf("fault %s: failover request took %v (baseline request %v)", tt.fault, took, base)
			}
			rec := waitRecord(t, e.gw, user)
			if rec.provider != tt.wantProvider || rec.attempts != tt.wantAttempts {
				t.Fatalf("record provider=%q attempts=%d, want %q, %d", rec.provider, rec.attempts, tt.wantProvider, tt.wantAttempts)
			}
			for _, r := range e.backup.Requests() {
				if tt.wantCode != 0 && strings.Contains(string(r.Body), "inject:"+tt.fault+" ") {
					t.Fatal("the failed request was retried on the backup")
				}
			}
		})
	}
}

func TestPlainModelRetries(t *testing.T) {
	t.Parallel()
	e := start(t)
	// A plain model is a single-target route: a 503 is retried once on the
	// same upstream after a backoff.
	e.primary.SetFaultFunc(nil)
	e.primary.Enqueue(fakeupstream.StatusFault(503))
	resp, err := e.client(e.gw).Chat(context.Background(), connect.NewRequest(chatReq(upstreamMdl, "retry me", "plain-retry")))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Msg.GetAttempts() != 2 || resp.Msg.GetProvider() != primary || resp.Msg.GetRoute() != "" {
		t.Fatalf("attempts=%d provider=%q route=%q", resp.Msg.GetAttempts(), resp.Msg.GetProvider(), resp.Msg.GetRoute())
	}
	// Two failures in a row exhaust the default two attempts.
	e.primary.Enqueue(fakeupstream.StatusFault(500), fakeupstream.StatusFault(500))
	_, err = e.client(e.gw).Chat(context.Background(), connect.NewRequest(chatReq(upstreamMdl, "fail me", "plain-fail")))
	if err == nil {
		t.Fatal("two 500s succeeded")
	}
	if rec := waitRecord(t, e.gw, "plain-fail"); rec.attempts != 2 || rec.errorCode != "upstream_server" {
		t.Fatalf("record = %+v", rec)
	}
}

func TestBreaker(t *testing.T) {
	t.Parallel()
	e := start(t)
	var failing atomic.Bool
	failing.Store(true)
	e.primary.SetFaultFunc(func(r *fakeupstream.Request) (fakeupstream.Fault, bool) {
		return fakeupstream.StatusFault(500), failing.Load()
	})
	const cooldown = 400 * time.Millisecond
	e.createRoute(t, &tollgatev1.Route{
		Name: "guarded", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
		Targets: []*tollgatev1.RouteTarget{target(primary), target(backup)},
		Breaker: &tollgatev1.CircuitBreaker{Failures: 3, Cooldown: dur(cooldown)},
	})
	c := e.client(e.gw)
	chat := func(i int) *tollgatev1.ChatResponse {
		t.Helper()
		resp, err := c.Chat(context.Background(), connect.NewRequest(chatReq("guarded", fmt.Sprintf("request %d", i), "")))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		return resp.Msg
	}
	for i := range 3 {
		if m := chat(i); m.GetAttempts() != 2 || m.GetProvider() != backup {
			t.Fatalf("request %d: attempts=%d provider=%q, want a failover", i, m.GetAttempts(), m.GetProvider())
		}
	}
	seen := chats(e.primary)
	for i := range 5 {
		if m := chat(10 + i); m.GetAttempts() != 1 || m.GetProvider() != backup {
			t.Fatalf("open breaker, request %d: attempts=%d provider=%q", i, m.GetAttempts(), m.GetProvider())
		}
	}
	if got := chats(e.primary); got != seen {
		t.Fatalf("open breaker let %d requests through to the primary", got-seen)
	}
	// After the cooldown one probe goes to the primary; it fails and the
	// breaker opens again.
	time.Sleep(cooldown + 100*time.Millisecond)
	if m := chat(20); m.GetAttempts() != 2 {
		t.Fatalf("probe: attempts=%d, want 2 (failed probe, then backup)", m.GetAttempts())
	}
	if m := chat(21); m.GetAttempts() != 1 || chats(e.primary) != seen+1 {
		t.Fatalf("after a failed probe: attempts=%d, primary saw %d requests, want 1 probe", m.GetAttempts(), chats(e.primary)-seen)
	}
	// The primary recovers: the next probe succeeds and it rejoins.
	failing.Store(false)
	time.Sleep(cooldown + 100*time.Millisecond)
	for i := range 3 {
		if m := chat(30 + i); m.GetAttempts() != 1 || m.GetProvider() != primary {
			t.Fatalf("recovered, request %d: attempts=%d provider=%q", i, m.GetAttempts(), m.GetProvider())
		}
	}
	// The breaker state is exported.
	body := metrics(t, e.gw.URL)
	if !strings.Contains(body, `tollgate_routing_breaker_state{model="gpt-4o-mini",provider="fake-openai"} 0`) ||
		!strings.Contains(body, `tollgate_routing_errors_total{class="retryable",model="gpt-4o-mini",provider="fake-openai"}`) {
		t.Fatalf("metrics lack the breaker state or errors:\n%s", grep(body, "tollgate_routing_"))
	}
}

func TestStreamFailover(t *testing.T) {
	t.Parallel()
	e := start(t, fakeupstream.WithChunks(5))
	e.createRoute(t, &tollgatev1.Route{
		Name: "streamy", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
		Targets:           []*tollgatev1.RouteTarget{target(primary), target(backup)},
		Breaker:           &tollgatev1.CircuitBreaker{Failures: 100},
		FirstChunkTimeout: dur(300 * time.Millisecond),
	})
	c := e.client(e.gw)
	tests := []struct {
		fault        string
		wantErr      bool
		wantProvider string
		wantAttempts int
		wantPartial  bool
	}{
		{"500", false, backup, 2, false},
		{"hang", false, backup, 2, false},
		{"reset", false, backup, 2, false},
		{"die", true, primary, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			t.Parallel()
			user := "stream-" + tt.fault
			text := "inject:" + tt.fault + " one two three four five six"
			st, err := c.ChatStream(context.Background(), connect.NewRequest(&tollgatev1.ChatStreamRequest{Request: chatReq("streamy", text, user)}))
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			var events int
			for st.Receive() {
				events++
				for _, ch := range st.Msg().GetChoices() {
					got.WriteString(ch.GetText())
				}
			}
			err = st.Err()
			switch {
			case tt.wantErr && err == nil:
				t.Fatalf("stream ended cleanly after %d events (%q), want an error", events, got.String())
			case tt.wantErr && events == 0:
				t.Fatalf("stream failed before any event: %v", err)
			case !tt.wantErr && err != nil:
				t.Fatalf("stream: %v", err)
			case !tt.wantErr && got.String() != "echo: "+text:
				t.Fatalf("streamed %q", got.String())
			}
			rec := waitRecord(t, e.gw, user)
			if rec.provider != tt.wantProvider || rec.attempts != tt.wantAttempts || rec.partial != tt.wantPartial {
				t.Fatalf("record = %+v, want provider %q attempts %d partial %v", rec, tt.wantProvider, tt.wantAttempts, tt.wantPartial)
			}
		})
	}
}

func TestRouteValidation(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.createRoute(t, &tollgatev1.Route{Name: "existing", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
		Targets: []*tollgatev1.RouteTarget{target(primary)}})
	tests := []struct {
		name  string
		route *tollgatev1.Route
	}{
		{"unknown provider", &tollgatev1.Route{Name: "r", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
			Targets: []*tollgatev1.RouteTarget{target("nope")}}},
		{"no targets", &tollgatev1.Route{Name: "r", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK}},
		{"zero weights", &tollgatev1.Route{Name: "r", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_WEIGHTED,
			Targets: []*tollgatev1.RouteTarget{target(primary), target(backup)}}},
		{"targets a route", &tollgatev1.Route{Name: "r", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
			Targets: []*tollgatev1.RouteTarget{{Model: "existing"}}}},
		{"negative duration", &tollgatev1.Route{Name: "r", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
			Targets: []*tollgatev1.RouteTarget{{ProviderId: primary, Model: upstreamMdl, Timeout: dur(-time.Second)}}}},
		{"no strategy", &tollgatev1.Route{Name: "r", Targets: []*tollgatev1.RouteTarget{target(primary)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.gw.Admin.CreateRoute(context.Background(), connect.NewRequest(&tollgatev1.CreateRouteRequest{Route: tt.route}))
			if connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Fatalf("CreateRoute = %v, want InvalidArgument", err)
			}
		})
	}
	t.Run("crud", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		got, err := e.gw.Admin.GetRoute(ctx, connect.NewRequest(&tollgatev1.GetRouteRequest{Name: "existing"}))
		if err != nil || got.Msg.GetRoute().GetTargets()[0].GetProviderId() != primary || got.Msg.GetRoute().GetCreateTime() == nil {
			t.Fatalf("GetRoute = %v, %v", got, err)
		}
		_, err = e.gw.Admin.DeleteRoute(ctx, connect.NewRequest(&tollgatev1.DeleteRouteRequest{Name: "missing"}))
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("DeleteRoute(missing) = %v", err)
		}
	})
}

// metricsToken lets the tests read /metrics on the API port.
const metricsToken = "e2e-metrics-token-0123456789"

func metrics(t *testing.T, base string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
