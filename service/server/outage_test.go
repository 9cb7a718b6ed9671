package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/faultproxy"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// serveUnready runs the gateway in-process as servertest does, but
// without waiting for its configuration to load, and returns its base URL
// and logs.
func serveUnready(t *testing.T, dsn string) (string, *servertest.SyncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := servertest.Config(t, dsn)
	cfg.LogLevel = "info"
	logs := &servertest.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ctx, ln)
		srv.Close()
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("gateway stopped with %v; logs:\n%s", err, logs)
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

	testutil.Eventually(t, func() error {
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
	testutil.Eventually(t, func() error {
		if s := httpStatus(t, url+"/readyz"); s != http.StatusOK {
			return fmt.Errorf("/readyz after Postgres returned: %d", s)
		}
		return nil
	})
	gw := &servertest.Gateway{URL: url, Addr: strings.TrimPrefix(url, "http://"), AdminToken: servertest.AdminToken}
	gw.Admin = tollgate.NewAdminClient(http.DefaultClient, url, connect.WithInterceptors(servertest.BearerInterceptor(gw.AdminToken)))
	_, upURL := fakeupstream.StartOpenAI(t)
	key := gw.Setup(t, upURL)
	if s, body := post(t, url, "/v1/chat/completions", key, oaiUnary, false); s != http.StatusOK {
		t.Errorf("chat after Postgres returned: %d %s", s, body)
	}
}
