package accounting_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// tollgateBinary is the binary of cmd/tollgate.
func tollgateBinary(t *testing.T) string {
	t.Helper()
	return testutil.Command(t, "tollgate")
}

// process is the real tollgate binary serving on a loopback port.
type process struct {
	*servertest.Gateway
	cmd  *exec.Cmd
	logs *servertest.SyncBuffer
	done chan struct{}
}

const adminToken = "records-admin-token-0123456789"

// startProcess runs the binary bin (tollgateBinary) as `tollgate serve` on
// dsn with the record log in spillDir and the extra flags, and waits until
// it is ready. The process is stopped (SIGTERM) when the test ends unless
// it was killed before.
func startProcess(t *testing.T, bin, dsn, spillDir string, flags ...string) *process {
	t.Helper()
	p := launchProcess(t, bin, dsn, spillDir, flags...)
	p.waitReady(t)
	return p
}

// launchProcess is startProcess without waiting until the process is
// ready: it may still be waiting for Postgres.
func launchProcess(t *testing.T, bin, dsn, spillDir string, flags ...string) *process {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := append([]string{"serve", "-addr", addr, "-log-requests=false", "-log-level", "info"}, flags...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TOLLGATE_DATABASE_URL="+dsn, "TOLLGATE_MASTER_KEY="+strings.Repeat("cd", 32),
		"TOLLGATE_ADMIN_TOKEN="+adminToken, "TOLLGATE_SPILL_DIR="+spillDir, "TOLLGATE_METRICS_TOKEN="+metricsToken)
	p := &process{cmd: cmd, logs: &servertest.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("gateway %s logs:\n%s", addr, tail(p.logs.String(), 4000))
		}
	})
	url := "http://" + addr
	p.Gateway = &servertest.Gateway{URL: url, Addr: addr, AdminToken: adminToken, DatabaseURL: dsn, Logs: p.logs}
	p.Admin = tollgate.NewAdminClient(http.DefaultClient, url, connect.WithInterceptors(servertest.BearerInterceptor(adminToken)))
	return p
}

// waitReady waits until the process reports ready on /readyz.
func (p *process) waitReady(t *testing.T) {
	t.Helper()
	eventually(t, 30*time.Second, "gateway ready", func() error {
		select {
		case <-p.done:
			return fmt.Errorf("gateway exited: %s", p.logs.String())
		default:
		}
		res, err := http.Get(p.URL + "/readyz")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s", res.Status)
		}
		return nil
	})
}

// kill9 kills the process outright, as a crash or the OOM killer would.
func (p *process) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// metric returns the value of a Prometheus metric without labels from
// /metrics, or -1.
func (p *process) metric(name string) float64 {
	body, err := p.metrics()
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f
			}
		}
	}
	return -1
}

// metricsToken lets the tests read /metrics on the API port.
const metricsToken = "accounting-test-metrics"

// metrics returns the gateway's /metrics exposition.
func (p *process) metrics() (string, error) {
	req, err := http.NewRequest(http.MethodGet, p.URL+"/metrics", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("/metrics: %s", res.Status)
	}
	return string(body), err
}

// eventually polls f until it returns nil, failing t after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	testutil.EventuallyWithin(t, timeout, func() error {
		if err := f(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// dbQuery runs sql on its own connection and returns the first column of
// each row as text.
func dbQuery(t *testing.T, dsn, sql string, args ...any) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(ctx, sql, args...)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var v any
		if err := r.Scan(&v); err != nil {
			return "", err
		}
		return fmt.Sprint(v), nil
	})
}

func mustQuery(t *testing.T, dsn, sql string, args ...any) []string {
	t.Helper()
	out, err := dbQuery(t, dsn, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// chatBody is a small chat request for the fake upstream.
func chatBody(model string) string {
	return `{"model":"` + model + `","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}`
}

// post sends a chat request and returns the status and request id.
func post(client *http.Client, url, secret, body string, header http.Header) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, res.Header.Get("X-Request-Id"), nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
