package server_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/faultproxy"
	"github.com/tollgate-dev/tollgate/internal/gatewaytest"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/app"
)

// serveUnready runs the gateway in-process without waiting for it to be
// ready (gatewaytest.Start waits), and returns its base URL and logs.
func serveUnready(t *testing.T, dsn string, args ...string) (string, *gatewaytest.SyncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mk := make([]byte, 32)
	for i := range mk {
		mk[i] = byte(i*7 + 3)
	}
	env := map[string]string{
		"TOLLGATE_DATABASE_URL": dsn, "TOLLGATE_MASTER_KEY": hex.EncodeToString(mk),
		"TOLLGATE_ADMIN_TOKEN": "test-admin-token-0123456789", "TOLLGATE_SPILL_DIR": t.TempDir(), "TOLLGATE_LOG_LEVEL": "info",
	}
	logs := &gatewaytest.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- app.Serve(ctx, args, func(k string) string { return env[k] }, logs, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("gateway exited with %d; logs:\n%s", code, logs)
			}
		case <-time.After(40 * time.Second):
			t.Error("gateway did not stop")
		}
	})
	return "http://" + ln.Addr().String(), logs
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestStartsDuringPostgresOutage starts a gateway while its Postgres
// refuses connections: it listens, answers health probes, reports not
// ready, refuses API calls with a retryable 503, logs each attempt; when
// Postgres comes back it loads its configuration, becomes ready and
// serves.
func TestStartsDuringPostgresOutage(t *testing.T) {
	t.Parallel()
	proxy, dsn := faultproxy.Via(t, pgtest.NewDatabase(t))
	proxy.Set(faultproxy.Refuse)
	url, logs := serveUnready(t, dsn)

	eventually(t, func() error {
		if n := strings.Count(logs.String(), "waiting for Postgres"); n < 2 {
			return fmt.Errorf("%d start-up attempts logged, want at least 2:\n%s", n, logs)
		}
		return nil
	})
	if s := httpStatus(t, url+"/readyz"); s != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %d, want 503", s)
	}
	if h := healthz(t, url); h["status"] != "starting" || h["ready"] != false {
		t.Errorf("/healthz during the outage: %v", h)
	}
	resp, body := dialRaw(t, strings.TrimPrefix(url, "http://"), "POST", "/v1/chat/completions", map[string]string{"Authorization": "Bearer x"}, 10, "").response(t)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "starting") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("API call during the outage: %d %s", resp.StatusCode, body)
	}

	proxy.Set(faultproxy.Forward)
	eventually(t, func() error {
		if s := httpStatus(t, url+"/readyz"); s != http.StatusOK {
			return fmt.Errorf("/readyz after Postgres returned: %d", s)
		}
		return nil
	})
	gw := &gatewaytest.Gateway{URL: url, Addr: strings.TrimPrefix(url, "http://"), AdminToken: "test-admin-token-0123456789"}
	gw.Admin = tollgate.NewAdminClient(http.DefaultClient, url, connect.WithInterceptors(gatewaytest.BearerInterceptor(gw.AdminToken)))
	_, upURL := fakeupstream.StartOpenAI(t)
	key := gw.Setup(t, upURL)
	if s, body := post(t, url, "/v1/chat/completions", key, oaiUnary, false); s != http.StatusOK {
		t.Errorf("chat after Postgres returned: %d %s", s, body)
	}
}
