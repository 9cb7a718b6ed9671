package server_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/tollgate-dev/tollgate/gen/tollgate/v1/tollgatev1connect"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/gatewaytest"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/openai"
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
	bin := filepath.Join(t.TempDir(), "tollgate")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/tollgate").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	_, upURL := fakeupstream.StartOpenAI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "-addr", addr, "-log-requests=false", "-log-level", "warn")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "TOLLGATE_DATABASE_URL="+pgtest.NewDatabase(t),
		"TOLLGATE_MASTER_KEY="+strings.Repeat("cd", 32), "TOLLGATE_ADMIN_TOKEN=load-admin-token-0123456789", "TOLLGATE_SPILL_DIR="+t.TempDir())
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	for i := 0; ; i++ {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if i > 300 {
			t.Fatal("gateway not ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	gw := &gatewaytest.Gateway{URL: "http://" + addr, AdminToken: "load-admin-token-0123456789"}
	gw.Admin = tollgatev1connect.NewAdminServiceClient(http.DefaultClient, gw.URL, connect.WithInterceptors(gatewaytest.BearerInterceptor(gw.AdminToken)))
	key := gw.Setup(t, upURL)

	direct, err := openai.New(providers.Config{ID: "direct", Type: "openai", BaseURL: upURL, APIKey: gatewaytest.UpstreamKey})
	if err != nil {
		t.Fatal(err)
	}
	via, err := openai.New(providers.Config{ID: "via", Type: "openai", BaseURL: gw.URL + "/v1", APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	req := &providers.ChatRequest{Model: gatewaytest.ChatModel, Messages: []providers.Message{{Role: providers.RoleUser,
		Content: []providers.Part{providers.TextPart("a typical short question for the model")}}}}
	for name, p := range map[string]*openai.Provider{"direct": direct, "via gateway": via} {
		lat := openLoop(t, 1000, 5*time.Second, func() error { _, err := p.Chat(context.Background(), req); return err })
		t.Logf("%-12s at 1000 rps: p50 %v  p90 %v  p99 %v  max %v (%d requests)", name,
			pct(lat, 50), pct(lat, 90), pct(lat, 99), lat[len(lat)-1], len(lat))
	}
}

// openLoop starts fn rate times a second for d, whatever the latency, and
// returns the sorted latencies.
func openLoop(t *testing.T, rate int, d time.Duration, fn func() error) []time.Duration {
	t.Helper()
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; time.Since(start) < d; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		wg.Go(func() {
			began := time.Now()
			err := fn()
			el := time.Since(began)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("request: %v", err)
				return
			}
			lat = append(lat, el)
		})
	}
	wg.Wait()
	slices.Sort(lat)
	return lat
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100].Round(time.Microsecond)
}
