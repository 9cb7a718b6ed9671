package e2e_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestFailoverThroughTheServer: real upstream failures, classified by the
// OpenAI adapter, fail over through a route created over the admin API;
// the caller sees who served, and the record in Postgres agrees.
func TestFailoverThroughTheServer(t *testing.T) {
	t.Parallel()
	e := start(t, fakeupstream.WithChunks(5))
	e.createRoute(t, &tollgatev1.Route{
		Name: "resilient", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
		Targets: []*tollgatev1.RouteTarget{target(primary), target(backup)},
		// Parallel subtests fail the primary; keep its breaker closed.
		Breaker: &tollgatev1.CircuitBreaker{Failures: 100},
	})
	c := e.client(e.gw)
	tests := []struct {
		fault        string
		stream       bool
		wantProvider string
		wantAttempts int
		wantCode     connect.Code // of a failed request
		wantPartial  bool
	}{
		{fault: "500", wantProvider: backup, wantAttempts: 2},
		{fault: "reset", wantProvider: backup, wantAttempts: 2},
		{fault: "400", wantProvider: primary, wantAttempts: 1, wantCode: connect.CodeInvalidArgument},
		{fault: "reset", stream: true, wantProvider: backup, wantAttempts: 2},
		{fault: "die", stream: true, wantProvider: primary, wantAttempts: 1, wantCode: connect.CodeUnavailable, wantPartial: true},
	}
	for _, tt := range tests {
		name := tt.fault
		if tt.stream {
			name += "/stream"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			user := "failover-" + strings.ReplaceAll(name, "/", "-")
			text := "inject:" + tt.fault + " one two three four five six"
			var got string
			var err error
			if tt.stream {
				got, err = streamText(t, e, chatReq("resilient", text, user))
			} else {
				var resp *connect.Response[tollgatev1.ChatResponse]
				resp, err = c.Chat(context.Background(), connect.NewRequest(chatReq("resilient", text, user)))
				if err == nil {
					m := resp.Msg
					got = m.GetChoices()[0].GetMessage().GetContent()[0].GetText()
					if m.GetProvider() != tt.wantProvider || m.GetAttempts() != int32(tt.wantAttempts) || m.GetRoute() != "resilient" {
						t.Errorf("provider=%q attempts=%d route=%q, want %q, %d, resilient", m.GetProvider(), m.GetAttempts(), m.GetRoute(), tt.wantProvider, tt.wantAttempts)
					}
				}
			}
			switch {
			case tt.wantCode != 0 && connect.CodeOf(err) != tt.wantCode:
				t.Fatalf("err = %v, want code %v", err, tt.wantCode)
			case tt.wantCode == 0 && err != nil:
				t.Fatal(err)
			case tt.wantCode == 0 && got != "echo: "+text:
				t.Fatalf("answer %q", got)
			}
			rec := waitRecord(t, e.gw, user)
			if rec.provider != tt.wantProvider || rec.attempts != tt.wantAttempts || rec.partial != tt.wantPartial {
				t.Fatalf("record = %+v, want provider %q attempts %d partial %v", rec, tt.wantProvider, tt.wantAttempts, tt.wantPartial)
			}
		})
	}
}

// streamText reads a ChatStream to its end and returns its text and the
// stream's error; a stream that failed must have sent something first.
func streamText(t *testing.T, e *env, req *tollgatev1.ChatRequest) (string, error) {
	t.Helper()
	st, err := e.client(e.gw).ChatStream(context.Background(), connect.NewRequest(&tollgatev1.ChatStreamRequest{Request: req}))
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
	if st.Err() != nil && events == 0 {
		t.Fatalf("stream failed before any event: %v", st.Err())
	}
	return got.String(), st.Err()
}

// TestBreakerMetrics: failures through the server open the target's
// breaker, and the router's metrics are exported on /metrics.
func TestBreakerMetrics(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.primary.SetFaultFunc(func(*fakeupstream.Request) (fakeupstream.Fault, bool) {
		return fakeupstream.StatusFault(http.StatusInternalServerError), true
	})
	e.createRoute(t, &tollgatev1.Route{
		Name: "guarded", Strategy: tollgatev1.RouteStrategy_ROUTE_STRATEGY_FALLBACK,
		Targets: []*tollgatev1.RouteTarget{target(primary), target(backup)},
		Breaker: &tollgatev1.CircuitBreaker{Failures: 2},
	})
	c := e.client(e.gw)
	for i, want := range []int32{2, 2, 1} { // two failovers open the breaker; then the primary is skipped
		resp, err := c.Chat(context.Background(), connect.NewRequest(chatReq("guarded", "hello", "")))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Msg.GetAttempts() != want || resp.Msg.GetProvider() != backup {
			t.Fatalf("request %d: %d attempts by %s, want %d by the backup", i, resp.Msg.GetAttempts(), resp.Msg.GetProvider(), want)
		}
	}
	body := metrics(t, e.gw.URL)
	for _, want := range []string{
		`tollgate_routing_breaker_state{model="gpt-4o-mini",provider="fake-openai"} 1`,
		`tollgate_routing_errors_total{class="retryable",model="gpt-4o-mini",provider="fake-openai"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("metrics lack %s:\n%s", want, grep(body, "tollgate_routing_"))
		}
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
			Targets: []*tollgatev1.RouteTarget{{ProviderId: primary, Model: upstreamMdl, Timeout: dur(-1)}}}},
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
const metricsToken = servertest.MetricsToken

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
