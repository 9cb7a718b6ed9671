package server_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"connectrpc.com/connect"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// binaryGateway is the real tollgate binary running as its own process, for
// measurements that must not share a process with the client.
type binaryGateway struct {
	*servertest.Gateway
	pid int
}

// startBinary runs cmd/tollgate's binary as `tollgate serve` on a fresh
// database with logging off and extraEnv added, and waits until it is ready.
func startBinary(tb testing.TB, extraEnv ...string) *binaryGateway {
	tb.Helper()
	bin := testutil.Command(tb, "tollgate")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const admin = "binary-admin-token-0123456789"
	args := []string{bin, "serve", "-addr", addr, "-log-requests=false", "-log-level", "warn"}
	if cpu := os.Getenv("TOLLGATE_LOAD_GW_CPU"); cpu != "" {
		// Load measurements pin the gateway to a CPU of its own, as
		// ../shared/bench does (run the test itself under taskset on another).
		args = append([]string{"taskset", "-c", cpu}, args...)
	}
	if dir := os.Getenv("TOLLGATE_LOAD_GW_CGROUP"); dir != "" {
		// Or they run it in a control group made beforehand, with a CPU
		// quota as a container's limit sets one: the shell moves itself
		// into the group and becomes the gateway.
		args = append([]string{"sh", "-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, dir}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(append(os.Environ(), "TOLLGATE_DATABASE_URL="+pgtest.NewMigratedDatabase(tb), "TOLLGATE_MASTER_KEY="+strings.Repeat("ab", 32),
		"TOLLGATE_ADMIN_TOKEN="+admin, "TOLLGATE_SPILL_DIR="+tb.TempDir()), extraEnv...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	testutil.Eventually(tb, func() error {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %s", resp.Status)
		}
		return nil
	})
	gw := &servertest.Gateway{URL: "http://" + addr, Addr: addr, AdminToken: admin}
	gw.Admin = tollgate.NewAdminClient(http.DefaultClient, gw.URL, connect.WithInterceptors(servertest.BearerInterceptor(admin)))
	return &binaryGateway{Gateway: gw, pid: cmd.Process.Pid}
}
