package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// bareEnv is the environment of a machine with nothing configured: no
// database variable, no TOLLGATE_* variable.
func bareEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// process is a `tollgate serve` child process and what it wrote to stderr.
type process struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	exited chan error
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// startServe runs bin serve in dir with env and args, copying its stderr.
func startServe(t *testing.T, bin, dir string, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, append([]string{"serve"}, args...)...), exited: make(chan error, 1)}
	p.cmd.Dir, p.cmd.Env = dir, env
	r, w := io.Pipe()
	p.cmd.Stderr = w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(r)
		for s.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(s.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	go func() { err := p.cmd.Wait(); w.Close(); p.exited <- err }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop interrupts the process and waits for it.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Error("tollgate did not stop within 30s of SIGINT")
	}
}

// waitReady polls /readyz until it answers 200, failing if the process exits.
func (p *process) waitReady(t *testing.T, addr string) time.Duration {
	t.Helper()
	began := time.Now()
	for {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(began)
			}
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("tollgate exited (%v) before becoming ready:\n%s", err, p.output())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Since(began) > 30*time.Second {
			t.Fatalf("not ready after 30s:\n%s", p.output())
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestZeroSetupStart is the first hour of a new user on a machine without
// PostgreSQL: `go build ./cmd/tollgate && ./tollgate serve` with no
// database variable and no TOLLGATE_* variable at all. The gateway
// starts on the embedded store in ./tollgate-data, prints a bootstrap
// admin token once, and that token creates a provider, a model, a team
// and a key that answers a chat. A second process on the same directory
// is refused with a message that names PostgreSQL; after a restart
// nothing is printed again and the key still works.
func TestZeroSetupStart(t *testing.T) {
	t.Parallel()
	bin := testutil.Command(t, "tollgate")
	work := t.TempDir()
	addr := freeAddr(t)
	first := startServe(t, bin, work, bareEnv(), "-addr", addr, "-log-requests=false")
	ready := first.waitReady(t, addr)
	t.Logf("ready %v after the process started (first start: migrations, key generation)", ready.Round(time.Millisecond))

	m := regexp.MustCompile(`(?m)^\s+(tgadmin-[A-Za-z0-9_-]{20,})\s*$`).FindStringSubmatch(first.output())
	if m == nil {
		t.Fatalf("no bootstrap admin token printed:\n%s", first.output())
	}
	token := m[1]
	dataDir := filepath.Join(work, "tollgate-data")
	for _, f := range []string{"master.key", "admin.token"} {
		info, err := os.Stat(filepath.Join(dataDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, info.Mode().Perm())
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dataDir, "admin.token")); strings.TrimSpace(string(b)) != token {
		t.Errorf("admin.token does not hold the printed token")
	}
	if !strings.Contains(first.output(), filepath.Join(dataDir, "master.key")) {
		t.Errorf("the master key's path was not printed:\n%s", first.output())
	}

	_, upstream := fakeupstream.StartOpenAI(t, fakeupstream.WithReply("hello from the embedded store"))
	admin := tollgate.NewAdminClient(http.DefaultClient, "http://"+addr, connect.WithInterceptors(servertest.BearerInterceptor(token)))
	ctx := t.Context()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
		Provider: &tollgatev1.Provider{Id: "fake", Type: tollgatev1.ProviderType_PROVIDER_TYPE_OPENAI, BaseUrl: upstream}, Credential: "sk-fake"})))
	must(admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{Name: "gpt-test", ProviderId: "fake"}})))
	must(admin.CreateTeam(ctx, connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: "demo"}})))
	key, err := admin.CreateKey(ctx, connect.NewRequest(&tollgatev1.CreateKeyRequest{Key: &tollgatev1.VirtualKey{Name: "first", TeamId: "demo"}}))
	if err != nil {
		t.Fatal(err)
	}
	secret := key.Msg.GetSecret()
	chat := func() string {
		t.Helper()
		body := `{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}`
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Choices []struct {
				Message struct{ Content string } `json:"message"`
			} `json:"choices"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || len(out.Choices) != 1 {
			t.Fatalf("chat: status %d, %v", resp.StatusCode, err)
		}
		return out.Choices[0].Message.Content
	}
	if got := chat(); got != "hello from the embedded store" {
		t.Errorf("chat answered %q", got)
	}

	second := startServe(t, bin, work, bareEnv(), "-addr", freeAddr(t))
	select {
	case err := <-second.exited:
		out := second.output()
		if err == nil || !strings.Contains(out, "in use by another tollgate process") || !strings.Contains(out, "PostgreSQL") {
			t.Errorf("second process: %v, output:\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a second process on the same data directory kept running")
	}

	first.stop(t)
	again := startServe(t, bin, work, bareEnv(), "-addr", addr, "-log-requests=false")
	t.Logf("ready %v after a restart", again.waitReady(t, addr).Round(time.Millisecond))
	if strings.Contains(again.output(), "tgadmin-") || strings.Contains(again.output(), "first start") {
		t.Errorf("the restart printed secrets again:\n%s", again.output())
	}
	if got := chat(); got != "hello from the embedded store" {
		t.Errorf("after restart, chat answered %q", got)
	}
	records, err := admin.ListTeams(context.Background(), connect.NewRequest(&tollgatev1.ListTeamsRequest{}))
	if err != nil || len(records.Msg.GetTeams()) != 1 {
		t.Errorf("teams after restart: %v, %v", records, err)
	}
}
