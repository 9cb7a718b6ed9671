package server_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/openai"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestAddedLatencyAt1kRPS measures the latency the gateway adds at 1,000
// requests per second with the gateway process on one core (GOMAXPROCS=1):
// the same OpenAI client sends an open-loop stream of requests once
// straight to the fake upstream and once through the gateway's OpenAI
// surface, and the test logs both latency distributions. It only reports
// (set TOLLGATE_LOAD_TEST=1 to run it); nothing is asserted about time.
func TestAddedLatencyAt1kRPS(t *testing.T) {
	if os.Getenv("TOLLGATE_LOAD_TEST") == "" {
		t.Skip("set TOLLGATE_LOAD_TEST=1 to run the 1k RPS latency measurement")
	}
	_, upURL := fakeupstream.StartOpenAI(t)
	gw := startBinary(t, "GOMAXPROCS=1")
	key := gw.Setup(t, upURL)

	direct, err := openai.New(providers.Config{ID: "direct", Type: "openai", BaseURL: upURL, APIKey: servertest.UpstreamKey})
	if err != nil {
		t.Fatal(err)
	}
	via, err := openai.New(providers.Config{ID: "via", Type: "openai", BaseURL: gw.URL + "/v1", APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	req := &providers.ChatRequest{Model: servertest.ChatModel, Messages: []providers.Message{{Role: providers.RoleUser,
		Content: []providers.Part{providers.TextPart("a typical short question for the model")}}}}
	for name, p := range map[string]*openai.Provider{"direct": direct, "via gateway": via} {
		lat := openLoop(t, 1000, 5*time.Second, func() error { _, err := p.Chat(context.Background(), req); return err })
		t.Logf("%-12s at 1000 rps: p50 %v  p90 %v  p99 %v  max %v (%d requests)", name,
			pct(lat, 50), pct(lat, 90), pct(lat, 99), lat[len(lat)-1], len(lat))
	}
}

// openLoop starts fn rate times a second for d, whatever the latency, and
// returns the sorted latencies of the calls that succeeded (a failed one
// fails the test).
func openLoop(t *testing.T, rate int, d time.Duration, fn func() error) []time.Duration {
	t.Helper()
	res := openLoopByStatus(rate, d, func() (int, time.Duration) {
		began := time.Now()
		if err := fn(); err != nil {
			t.Errorf("request: %v", err)
			return 0, 0
		}
		return http.StatusOK, time.Since(began)
	})
	return res.lat[http.StatusOK]
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100].Round(time.Microsecond)
}
