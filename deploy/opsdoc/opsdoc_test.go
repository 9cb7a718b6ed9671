// Package opsdoc checks that docs/operations.md is true: every sh block is
// run in order in one shell in a fresh clone of the repository, against
// real PostgreSQL databases; blocks marked "# needs: kubernetes" have their
// helm commands and the values files they use rendered through the chart
// with the Helm SDK. Running the blocks is a long test (it builds releases):
// `make test-long` runs it.
package opsdoc

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/strvals"
	"sigs.k8s.io/yaml"

	"github.com/tollgate-dev/tollgate/deploy/helm/helmtest"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if skipLong() {
		os.Exit(m.Run()) // the long test skips itself
	}
	os.Exit(pgtest.Run(m))
}

// skipLong reports whether long tests are skipped: under -short (make
// test), unless $TOLLGATE_LONG_TESTS is 1 (make test-long).
func skipLong() bool { return testing.Short() && os.Getenv("TOLLGATE_LONG_TESTS") != "1" }

var docPath = filepath.Join("..", "..", "docs", "operations.md")

// block is one fenced block of the guide.
type block struct {
	line    int    // where it starts
	lang    string // sh, yaml, text
	text    string
	needs   string   // from "# needs: X" on its first line
	name    string   // a yaml block's file name, from "# NAME.yaml" on its first line
	expects []string // "# expect: X" lines
}

var (
	fenceRE  = regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```\n")
	expectRE = regexp.MustCompile(`(?m)^# expect: (.*)$`)
	needsRE  = regexp.MustCompile(`^# needs: (.+)`)
	nameRE   = regexp.MustCompile(`^# ([a-z0-9-]+\.yaml)$`)
)

func parse(doc string) ([]block, error) {
	var out []block
	for _, m := range fenceRE.FindAllStringSubmatchIndex(doc, -1) {
		b := block{line: strings.Count(doc[:m[0]], "\n") + 1, lang: doc[m[2]:m[3]], text: doc[m[4]:m[5]]}
		first, _, _ := strings.Cut(b.text, "\n")
		if n := needsRE.FindStringSubmatch(first); n != nil {
			b.needs = strings.TrimSpace(n[1])
		}
		if n := nameRE.FindStringSubmatch(first); n != nil {
			b.name = n[1]
		}
		for _, e := range expectRE.FindAllStringSubmatch(b.text, -1) {
			b.expects = append(b.expects, strings.TrimSpace(e[1]))
		}
		switch b.lang {
		case "sh", "yaml", "text":
		default:
			return nil, fmt.Errorf("line %d: fenced block in %q: use sh (commands), yaml or text", b.line, b.lang)
		}
		if b.lang == "sh" && b.needs == "" && len(b.expects) == 0 {
			return nil, fmt.Errorf("line %d: a runnable sh block needs an \"# expect:\" line", b.line)
		}
		for _, e := range b.expects {
			if e == "" {
				return nil, fmt.Errorf("line %d: empty # expect:", b.line)
			}
		}
		out = append(out, b)
	}
	return out, nil
}

func TestParse(t *testing.T) {
	t.Parallel()
	doc := "x\n```sh\necho a\n# expect: a\n```\n```sh\n# needs: kubernetes\nhelm install\n```\n```yaml\n# values.yaml\na: 1\n```\n"
	got, err := parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].line != 2 || got[0].expects[0] != "a" || got[1].needs != "kubernetes" || got[2].name != "values.yaml" {
		t.Errorf("parse = %+v", got)
	}
	for _, bad := range []string{"```bash\nls\n```\n", "```sh\nls\n```\n", "```sh\nls\n# expect: \n```\n"} {
		if _, err := parse(bad); err == nil {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
	// The guide itself parses.
	b, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parse(string(b)); err != nil {
		t.Fatal(err)
	}
}

// TestKubernetesBlocks renders every helm command of the "needs:
// kubernetes" blocks, and every values file, through the chart, in the
// guide and in the chart's README.
func TestKubernetesBlocks(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{docPath, filepath.Join(helmtest.ChartDir(), "README.md")} {
		t.Run(filepath.Base(filepath.Dir(doc))+"/"+filepath.Base(doc), func(t *testing.T) {
			t.Parallel()
			checkKubernetesBlocks(t, doc)
		})
	}
}

func checkKubernetesBlocks(t *testing.T, doc string) {
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parse(string(b))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]map[string]any{}
	for _, bl := range blocks {
		if bl.lang != "yaml" || bl.name == "" {
			continue
		}
		var v map[string]any
		if err := yaml.Unmarshal([]byte(bl.text), &v); err != nil {
			t.Fatalf("line %d: %v", bl.line, err)
		}
		files[bl.name] = v
		if _, err := helmtest.Render(v); err != nil {
			t.Errorf("line %d: %s does not render: %v", bl.line, bl.name, err)
		}
	}
	helmCommands := 0
	for _, bl := range blocks {
		if bl.needs != "kubernetes" {
			continue
		}
		for _, cmd := range commands(bl.text) {
			f := strings.Fields(cmd)
			if len(f) < 2 || f[0] != "helm" || (f[1] != "install" && f[1] != "upgrade" && f[1] != "template") {
				continue
			}
			helmCommands++
			values := map[string]any{}
			chart := ""
			for i := 2; i < len(f); i++ {
				switch arg := f[i]; {
				case arg == "--set" && i+1 < len(f):
					i++
					if err := strvals.ParseInto(f[i], values); err != nil {
						t.Errorf("line %d: --set %s: %v", bl.line, f[i], err)
					}
				case (arg == "-f" || arg == "--values") && i+1 < len(f):
					i++
					v, ok := files[f[i]]
					if !ok {
						t.Errorf("line %d: -f %s: no such values file in the guide", bl.line, f[i])
					}
					merged := maps.Clone(v)
					maps.Copy(merged, values)
					values = merged
				case strings.HasPrefix(arg, "deploy/"):
					chart = arg
				}
			}
			if chart != "deploy/helm/tollgate" {
				t.Errorf("line %d: %q does not install deploy/helm/tollgate", bl.line, cmd)
			}
			if _, err := helmtest.Render(values); err != nil {
				t.Errorf("line %d: %q does not render: %v", bl.line, cmd, err)
			}
		}
	}
	if helmCommands == 0 {
		t.Error("no helm command found in the guide's kubernetes blocks")
	}
}

// commands joins continuation lines and drops comments.
func commands(script string) []string {
	var out []string
	var cur strings.Builder
	for l := range strings.Lines(script) {
		l = strings.TrimRight(l, "\n")
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if c, ok := strings.CutSuffix(l, `\`); ok {
			cur.WriteString(c + " ")
			continue
		}
		cur.WriteString(l)
		out = append(out, strings.TrimSpace(cur.String()))
		cur.Reset()
	}
	return out
}

// TestLongOperationsGuide runs the guide's sh blocks.
func TestLongOperationsGuide(t *testing.T) {
	if skipLong() {
		t.Skip("long test (builds releases, runs gateways): make test-long runs it")
	}
	b, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parse(string(b))
	if err != nil {
		t.Fatal(err)
	}

	// A fresh clone of HEAD, as a reader would have.
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	head := strings.TrimSpace(run(t, root, "git", "rev-parse", "HEAD"))
	clone := filepath.Join(t.TempDir(), "tollgate")
	run(t, root, "git", "clone", "-q", "--no-hardlinks", ".", clone)
	run(t, clone, "git", "checkout", "-q", "--detach", head)

	home := t.TempDir()
	ports := map[string]string{"127.0.0.1:8080": freeAddr(t), "127.0.0.1:8081": freeAddr(t),
		"127.0.0.1:8082": freeAddr(t), "127.0.0.1:8083": freeAddr(t)}
	sh := exec.Command("bash", "--noprofile", "--norc")
	sh.Dir = clone
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOLLGATE_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "PATH=") {
			sh.Env = append(sh.Env, kv)
		}
	}
	// The reader's Go caches stay where they are although HOME moves.
	for _, v := range []string{"GOPATH", "GOMODCACHE", "GOCACHE"} {
		sh.Env = append(sh.Env, v+"="+strings.TrimSpace(run(t, root, "go", "env", v)))
	}
	sh.Env = append(sh.Env, "HOME="+home, "PATH="+filepath.Join(home, ".local", "bin")+":"+os.Getenv("PATH"),
		"TOLLGATE_DATABASE_URL="+pgtest.NewDatabase(t), "RESTORE_DATABASE_URL="+pgtest.NewDatabase(t),
		"COPY_DATABASE_URL="+pgtest.NewDatabase(t))
	sh.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Gateways a block starts in the background inherit the shell's output:
	// without a WaitDelay, Wait (and so the end of the output) would wait
	// for them too, and a block that fails would hang the test instead of
	// failing it.
	sh.WaitDelay = time.Second
	stdin, err := sh.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	sh.Stdout, sh.Stderr = pw, pw
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = sh.Wait()
		pw.Close() // ends the scanner below: the shell is gone
		close(exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-sh.Process.Pid, syscall.SIGKILL) // the shell and what it left running
		<-exited
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	ran := 0
	for i, bl := range blocks {
		if bl.lang != "sh" || bl.needs != "" {
			continue
		}
		ran++
		script := bl.text
		for from, to := range ports {
			script = strings.ReplaceAll(script, from, to)
		}
		file := filepath.Join(home, fmt.Sprintf("block-%d.sh", i))
		if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
		const done = "@@opsdoc-block-done@@"
		// The marker on a line of its own, even after output without a final newline.
		fmt.Fprintf(stdin, "set -eo pipefail; source %s; set +eo pipefail; printf '\\n%%s\\n' %s\n", file, done)
		var out strings.Builder
		timeout := time.After(15 * time.Minute)
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("%s:%d: the shell exited (a command failed)\n--- block\n%s--- output\n%s", docPath, bl.line, bl.text, out.String())
				}
				if before, ok := strings.CutSuffix(l, done); ok {
					out.WriteString(before)
					break read
				}
				out.WriteString(l + "\n")
			case <-timeout:
				t.Fatalf("%s:%d: still running after 15 minutes\n--- output\n%s", docPath, bl.line, out.String())
			}
		}
		for _, e := range bl.expects {
			if !strings.Contains(out.String(), e) {
				t.Fatalf("%s:%d: output lacks %q\n--- block\n%s--- output\n%s", docPath, bl.line, e, bl.text, out.String())
			}
		}
		t.Logf("%s:%d: ok", docPath, bl.line)
	}
	if ran < 5 {
		t.Errorf("ran only %d blocks", ran)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
