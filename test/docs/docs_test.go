// Package docs runs the command blocks of README.md and checks that every
// command block of docs/ is run by a test.
//
// A command block is a fenced ```sh or ```bash block. An HTML comment on
// the line before it says how it runs (README.md):
//
//	(none)                           run as printed, in order, in one work directory
//	<!-- doctest: as scripts/demo.sh -->  `make run`: make build (done by the test) and
//	                                 scripts/demo.sh, started in the background
//	<!-- doctest: needs make run --> run once `make run`'s gateway is ready; these
//	                                 blocks share one shell, in order
//	<!-- doctest: background -->     starts a gateway: run in the background until
//	                                 it answers /readyz, then stopped
//	<!-- doctest: skip: REASON -->   not run; the test logs it with its reason
//
// Ports: the blocks say localhost:8080 and 127.0.0.1:9090 (what `make run`
// uses); the test runs them on free ports, replacing those two addresses
// and setting $TOLLGATE_LISTEN_ADDR and $DEMO_UPSTREAM_ADDR.
package docs

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

const root = "../.."

// block is a command block of a Markdown file.
type block struct {
	file    string
	line    int
	section string // the ## heading it is under
	lang    string
	code    string
	// how is the doctest annotation ("" for none).
	how string
}

var (
	fenceRE      = regexp.MustCompile("^```([a-z]*)\\s*$")
	annotationRE = regexp.MustCompile(`^<!-- doctest: (.*?) -->$`)
)

// parse returns the fenced blocks of a Markdown file, and the lines of
// indented blocks (outside fences) that look like commands.
func parse(t *testing.T, file string) (blocks []block, indented []int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	section := ""
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "## ") {
			section = strings.TrimPrefix(l, "## ")
		}
		if strings.HasPrefix(l, "    ") && strings.TrimSpace(l) != "" && i > 0 && strings.TrimSpace(lines[i-1]) == "" {
			indented = append(indented, i+1)
		}
		m := fenceRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		start := i
		var code []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			code = append(code, lines[i])
		}
		how := ""
		if start > 0 {
			if a := annotationRE.FindStringSubmatch(strings.TrimSpace(lines[start-1])); a != nil {
				how = a[1]
			}
		}
		blocks = append(blocks, block{file: file, line: start + 1, section: section, lang: m[1], code: strings.Join(code, "\n") + "\n", how: how})
	}
	return blocks, indented
}

func isCommand(b block) bool { return b.lang == "sh" || b.lang == "bash" }

// otherTests run the command blocks of these files (or sections).
var otherTests = []struct {
	file, section  string // section "" for the whole file
	testFile, test string
}{
	{"README.md", "Clients", "test/clients/cli_test.go", "testCLI"},
	{"docs/grpcurl.md", "", "test/interop/grpcurl_test.go", "TestLongGrpcurlRecipes"}, // make test-long
	{"docs/identity.md", "", "test/identity/docs_test.go", "TestIdentityGuide"},
	{"docs/operations.md", "", "deploy/opsdoc/opsdoc_test.go", "TestLongOperationsGuide"},           // make test-long
	{"docs/config-as-code.md", "", "service/configsync/guide_test.go", "TestLongConfigAsCodeGuide"}, // make test-long
	{"docs/providers.md", "OpenAI-compatible presets", "service/app/cli_clouds_e2e_test.go", "TestCLIProviderTypes"},
}

// TestEveryCommandBlockIsRun: every command block of README.md and docs/
// is fenced (so a test can find it) and run by this test or by the test
// named in otherTests, which must exist and read the file.
func TestEveryCommandBlockIsRun(t *testing.T) {
	t.Parallel()
	files := []string{"README.md"}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		files = append(files, filepath.ToSlash(strings.TrimPrefix(d, root+"/")))
	}
	for _, f := range files {
		blocks, indented := parse(t, f)
		for _, line := range indented {
			t.Errorf("%s:%d: an indented code block: fence it (```sh for commands) so that a test runs it", f, line)
		}
		for _, b := range blocks {
			if !isCommand(b) {
				continue
			}
			if f == "README.md" && b.section != "Clients" {
				continue // TestReadme runs it
			}
			if reason, ok := strings.CutPrefix(b.how, "skip: "); ok && len(reason) > 10 {
				t.Logf("%s:%d: not run: %s", f, b.line, reason)
				continue
			}
			found := false
			for _, o := range otherTests {
				if o.file == f && (o.section == "" || o.section == b.section) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s:%d: no test runs this %s block (add it to otherTests, or run it here)", f, b.line, b.lang)
			}
		}
	}
	for _, o := range otherTests {
		src, err := os.ReadFile(filepath.Join(root, o.testFile))
		if err != nil {
			t.Errorf("%s (runs %s): %v", o.testFile, o.file, err)
			continue
		}
		if !bytes.Contains(src, []byte("func "+o.test+"(")) && !bytes.Contains(src, []byte(") "+o.test+"(")) {
			t.Errorf("%s has no %s (said to run %s)", o.testFile, o.test, o.file)
		}
		base := filepath.Base(o.file)
		if !bytes.Contains(src, []byte(base)) && !bytes.Contains(src, []byte(`"`+strings.TrimSuffix(base, ".md")+`"`)) {
			t.Errorf("%s does not read %s", o.testFile, o.file)
		}
	}
}

// TestReadme runs README.md's command blocks (but the Clients section's,
// which test/clients runs against the installed packages).
func TestReadme(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	blocks, _ := parse(t, "README.md")
	work := t.TempDir()
	// The checkout's .bin, as make build leaves it.
	bin := filepath.Join(work, ".bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	built := testutil.Commands(t, "tollgate", "fakeupstream")
	for _, name := range []string{"tollgate", "fakeupstream"} {
		if err := os.Symlink(filepath.Join(built, name), filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	checkMakeRun(t)
	if err := os.MkdirAll(filepath.Join(work, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	demo, err := os.ReadFile(filepath.Join(root, "scripts", "demo.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "scripts", "demo.sh"), demo, 0o755); err != nil {
		t.Fatal(err)
	}
	gwAddr, upAddr := freeAddr(t), freeAddr(t)
	env := append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+filepath.Join(work, "home"),
		"TOLLGATE_CONFIG_DIR="+filepath.Join(work, "home", ".config", "tollgate"),
		"TOLLGATE_LISTEN_ADDR="+gwAddr, "DEMO_UPSTREAM_ADDR="+upAddr,
	)
	// A reader's shell has no gateway settings, and a database URL only
	// where the block uses one.
	env = without(env, "TOLLGATE_URL", "TOLLGATE_ADMIN_TOKEN", "TOLLGATE_DATABASE_URL", "DATABASE_URL", "TOLLGATE_MASTER_KEY", "TOLLGATE_ADDR")
	dbEnv := append(append([]string(nil), env...), "DATABASE_URL="+pgtest.NewDatabase(t))
	ports := strings.NewReplacer("localhost:8080", gwAddr, "127.0.0.1:9090", upAddr)

	var afterRun []block
	ran := 0
	for _, b := range blocks {
		if !isCommand(b) || b.section == "Clients" {
			continue
		}
		where := fmt.Sprintf("README.md:%d", b.line)
		code := ports.Replace(b.code)
		switch {
		case b.how == "":
			run(t, ctx, work, env, where, code)
		case b.how == "as scripts/demo.sh":
			if strings.TrimSpace(b.code) != "make run" {
				t.Fatalf("%s: the annotation 'as scripts/demo.sh' stands for make run, but the block is %q", where, b.code)
			}
			background(t, ctx, work, env, where, "bash scripts/demo.sh", gwAddr)
		case b.how == "needs make run":
			afterRun = append(afterRun, b)
			continue
		case b.how == "background":
			dir := filepath.Join(work, fmt.Sprintf("bg-%d", b.line))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			addr := freeAddr(t)
			benv := env
			if strings.Contains(code, "$DATABASE_URL") {
				benv = dbEnv
			}
			background(t, ctx, dir, append(without(benv, "TOLLGATE_LISTEN_ADDR"), "TOLLGATE_LISTEN_ADDR="+addr), where, code, addr)
		case strings.HasPrefix(b.how, "skip: ") && len(strings.TrimPrefix(b.how, "skip: ")) > 10:
			t.Logf("%s: not run: %s", where, strings.TrimPrefix(b.how, "skip: "))
			continue
		default:
			t.Fatalf("%s: unknown doctest annotation %q", where, b.how)
		}
		ran++
	}
	if len(afterRun) == 0 {
		t.Fatal("README.md has no block that needs make run (the quickstart)")
	}
	var script strings.Builder
	for _, b := range afterRun {
		fmt.Fprintf(&script, "echo '--- README.md:%d' >&2\n%s\n", b.line, ports.Replace(b.code))
	}
	out := run(t, ctx, work, env, "README.md (the blocks that need make run)", script.String())
	// The quickstart's chat answered, and the report shows its cost.
	for _, want := range []string{`"choices"`, "quickstart", "my-model", "TOTAL"} {
		if !strings.Contains(out, want) {
			t.Errorf("the quickstart's output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("ran %d blocks on their own and %d after make run", ran, len(afterRun))
}

// checkMakeRun checks that `make run` is make build and scripts/demo.sh,
// which TestReadme runs for it.
func checkMakeRun(t *testing.T) {
	t.Helper()
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^run: build\n\t@?bash scripts/demo\.sh\n`).Match(mk) {
		t.Fatal("the Makefile's run target is no longer `build` then `bash scripts/demo.sh`: update TestReadme")
	}
	if !regexp.MustCompile(`(?m)^build:\n\t\$\(GO\) build -o \$\(BIN\)/ \./cmd/\.\.\.`).Match(mk) {
		t.Fatal("the Makefile's build target no longer builds ./cmd/... into .bin: update TestReadme")
	}
}

func run(t *testing.T, ctx context.Context, dir string, env []string, where, code string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", code)
	cmd.Dir, cmd.Env = dir, env
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s\nstdout:\n%s\nstderr:\n%s", where, err, code, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// background starts code and waits until a gateway answers /readyz on
// addr; it is stopped (with its children) when the test ends.
func background(t *testing.T, ctx context.Context, dir string, env []string, where, code, addr string) {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", code)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	testutil.Eventually(t, func() error {
		select {
		case <-done:
			t.Fatalf("%s exited before it was ready: %v\n%s", where, waitErr, out.String())
		default:
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: not ready: %v\n%s", where, ctx.Err(), out.String())
		}
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
	if strings.Contains(code, "demo.sh") {
		// demo.sh creates its provider, model and key after /readyz.
		testutil.Eventually(t, func() error {
			if !strings.Contains(out.String(), "Press Ctrl-C to stop") {
				return fmt.Errorf("demo.sh not done yet:\n%s", out.String())
			}
			return nil
		})
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func without(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			if k == n {
				drop = true
			}
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
