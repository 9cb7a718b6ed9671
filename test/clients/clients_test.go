// Package clients tests the Go, Python and TypeScript clients as their
// users get them: built into the packages a release ships (a GOPROXY
// directory of Go modules, a wheel, an npm tarball; internal/clientdist),
// installed from those into a fresh Go module, virtual environment and npm
// project outside the repository, and run against the real server. Every
// code block of clients/*/README.md and of the top-level README's Clients
// section is extracted and executed there, so the documentation cannot
// drift from the clients; then each client's own suite runs in the same
// installation. One gateway serves them all, and the packages are built
// once per run.
package clients

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/type/money"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/clientdist"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// root is the repository, relative to this package.
const root = "../.."

// fixture is the gateway and the packages every client test shares.
type fixture struct {
	root string
	gw   *servertest.Gateway
	up   *fakeupstream.OpenAI
	// key is a virtual key of servertest.TeamID, for the READMEs' examples.
	key string
	// suites holds a team, a model and a key per client suite, so that
	// their etag and usage checks do not meet.
	suites map[string]suite
	// art are the built packages, in dist.
	art  clientdist.Artifacts
	dist string
}

type suite struct{ team, model, key string }

// TestClients builds the client packages and starts one gateway, then
// runs every client's README and suite against it, each in its own fresh
// installation, in parallel.
func TestClients(t *testing.T) {
	f := &fixture{root: mustAbs(t, root), dist: t.TempDir()}

	// The packages build while the gateway starts.
	built := make(chan error, 1)
	go func() {
		version, when := testVersion(f.root)
		a, err := clientdist.Build(context.Background(), clientdist.Options{
			Root: f.root, Out: f.dist, Version: version, Time: when,
		})
		f.art = a
		built <- err
	}()

	var upURL string
	f.up, upURL = fakeupstream.StartOpenAI(t, fakeupstream.WithChunks(3))
	f.gw = servertest.Start(t, servertest.Options{})
	f.key = f.gw.Setup(t, upURL)
	f.suites = map[string]suite{}
	for _, name := range []string{"python", "ts"} {
		s := suite{team: name + "-suite", model: name + "-suite-model"}
		f.createModel(t, s.model, servertest.ProviderID)
		check(t)(f.gw.Admin.CreateTeam(context.Background(), connect.NewRequest(&tollgatev1.CreateTeamRequest{Team: &tollgatev1.Team{Id: s.team}})))
		_, s.key = f.gw.CreateKey(t, s.team)
		f.suites[name] = s
	}
	if err := <-built; err != nil {
		t.Fatalf("building the client packages: %v", err)
	}
	t.Logf("packages: %q", f.art.Files())

	t.Run("go-module", func(t *testing.T) { t.Parallel(); f.testGoModule(t) })
	t.Run("go", func(t *testing.T) { t.Parallel(); f.testGo(t) })
	t.Run("go-protocols", func(t *testing.T) { t.Parallel(); f.testGoProtocols(t) })
	t.Run("python", func(t *testing.T) { t.Parallel(); f.testPython(t) })
	t.Run("ts", func(t *testing.T) { t.Parallel(); f.testTS(t) })
	t.Run("cli", func(t *testing.T) { t.Parallel(); f.testCLI(t) })
}

// createModel registers a chat model priced like gpt-4o-mini.
func (f *fixture) createModel(t *testing.T, name, provider string) {
	t.Helper()
	check(t)(f.gw.Admin.CreateModel(context.Background(), connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
		Name: name, ProviderId: provider, ContextWindow: 128000,
		Pricing: &tollgatev1.ModelPricing{
			InputPerMillion:  &money.Money{CurrencyCode: "USD", Nanos: 150_000_000},
			OutputPerMillion: &money.Money{CurrencyCode: "USD", Nanos: 600_000_000},
		},
	}})))
}

// snippetEnv is what the READMEs' examples read.
func (f *fixture) snippetEnv() []string {
	return []string{
		"TOLLGATE_URL=" + f.gw.URL,
		"TOLLGATE_KEY=" + f.key,
		"TOLLGATE_ADMIN_TOKEN=" + f.gw.AdminToken,
		"TOLLGATE_DIST=" + f.dist,
	}
}

// readmeBlocks returns the blocks of clients/<dir>/README.md followed by
// the top-level README's Clients section's blocks in lang.
func (f *fixture) readmeBlocks(t *testing.T, dir, lang string) []block {
	t.Helper()
	own, err := readBlocks(filepath.Join(f.root, "clients", dir, "README.md"), "")
	if err != nil {
		t.Fatal(err)
	}
	top, err := readBlocks(filepath.Join(f.root, "README.md"), "## Clients")
	if err != nil {
		t.Fatal(err)
	}
	var langs []string
	for _, b := range own {
		langs = append(langs, b.Lang)
	}
	for _, want := range []string{"sh", lang} {
		if !slices.Contains(langs, want) {
			t.Fatalf("clients/%s/README.md has no %s block", dir, want)
		}
	}
	for _, b := range top {
		if b.Lang == lang {
			own = append(own, b)
		}
	}
	return own
}

// testVersion is the version the test builds the packages at: a
// pseudo-version named by the contents of the Go modules gen/ and
// clients/go/, because the Go module cache keeps a module version's files
// forever: a change to either module gets a new version, a rerun the same.
func testVersion(root string) (string, time.Time) {
	h := sha256.New()
	for _, dir := range []string{"gen", filepath.Join("clients", "go")} {
		_ = filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), len(b))
			h.Write(b)
			return nil
		})
	}
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return "v0.0.0-" + t.Format("20060102150405") + "-" + hex.EncodeToString(h.Sum(nil))[:12], t
}

// toolContext is the context of a subtest's commands. It ends a minute
// before the test binary's deadline (go test -timeout), so that a hung tool
// fails its subtest with the tool's output rather than the binary panicking,
// and no fixed budget fails the tests on a loaded machine, where installing
// and compiling take many times longer than on an idle one.
func toolContext(t *testing.T) context.Context {
	ctx := t.Context()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-time.Minute))
		t.Cleanup(cancel)
	}
	return ctx
}

// command returns cmd to run in dir with the environment base plus env
// (later entries win), and without variables of the developer's shell
// that would change what the tools do.
func command(ctx context.Context, dir string, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var base []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "TOLLGATE_") || slices.Contains([]string{"GOFLAGS", "GOWORK", "GOPROXY", "GONOSUMDB", "GOPRIVATE",
			"GONOPROXY", "PYTHONPATH", "VIRTUAL_ENV", "NODE_OPTIONS", "NODE_PATH"}, k) || strings.HasPrefix(k, "npm_config_") {
			continue
		}
		base = append(base, kv)
	}
	cmd.Env = append(base, env...)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// run runs cmd, logging its output line by line, and fails t if it exits
// with an error. It returns the output (stdout and stderr).
func run(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	out, err := runErr(t, cmd)
	if err != nil {
		t.Fatalf("%s (in %s): %v", strings.Join(cmd.Args, " "), cmd.Dir, err)
	}
	return out
}

// output runs cmd and returns its standard output, failing t (with the
// standard error) if it exits with an error.
func output(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s (in %s): %v\n%s", strings.Join(cmd.Args, " "), cmd.Dir, err, stderr.String())
	}
	return string(out)
}

// runErr is run that returns the command's error instead of failing.
func runErr(t *testing.T, cmd *exec.Cmd) (string, error) {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var all strings.Builder
	var wg sync.WaitGroup
	wg.Go(func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			t.Log(sc.Text())
			all.WriteString(sc.Text() + "\n")
		}
		_, _ = io.Copy(io.Discard, pr)
	})
	start := time.Now()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	// How long each tool took: what to look at when the suite is slow.
	t.Logf("(%s took %v)", strings.Join(append([]string{filepath.Base(cmd.Args[0])}, cmd.Args[1:min(len(cmd.Args), 3)]...), " "), time.Since(start).Round(time.Millisecond))
	return all.String(), err
}

// runBlock runs a shell block with bash (errexit, pipefail) in dir.
func runBlock(t *testing.T, ctx context.Context, dir string, env []string, b block) string {
	t.Helper()
	t.Logf("%s: running the sh block", b.Where)
	out, err := runErr(t, command(ctx, dir, env, "bash", "-euo", "pipefail", "-c", b.Code))
	if err != nil {
		t.Fatalf("%s: %v", b.Where, err)
	}
	return out
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// check returns a function failing t on a non-nil error, for one-line
// setup calls.
func check(t *testing.T) func(any, error) {
	return func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("setup: %v", err)
		}
	}
}

// copyFile copies src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeFile writes data to path, creating its directory.
func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
