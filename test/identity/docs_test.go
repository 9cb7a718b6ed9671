package identity_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/oidctest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/callerauth"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

var (
	fenceRE       = regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```\n")
	expectRE      = regexp.MustCompile(`(?m)^# expect: (.*)$`)
	interactiveRE = regexp.MustCompile(`^# interactive: (Test\w+)`)
)

// TestIdentityGuide runs every sh block of docs/identity.md, in order,
// with the tollgate binary against a live gateway (single sign-on against
// a real OpenID Provider, a master keyring file), and checks each block's
// "# expect:" lines in its output. Interactive blocks name the test that
// plays them; that test must exist. YAML blocks named "# callers.yaml" must
// load as a caller-JWT configuration.
func TestIdentityGuide(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "identity.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := testutil.Commands(t, "tollgate")
	op := oidctest.Start(t, people...)
	keyFile := filepath.Join(dir, "master-keys")
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("5e", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := servertest.Start(t, servertest.Options{Config: func(c *server.Config) {
		c.Identity.OIDCIssuer, c.Identity.OIDCCLIClientID, c.Identity.OIDCRoles = op.Issuer, oidctest.CLIClientID, roleMap
		useMasterKeyFile(t, c, keyFile)
		c.Credentials.FilePoll = 100 * time.Millisecond
		// The gateway's environment, which env: credential references read.
		gatewayEnv := map[string]string{"OPENAI_API_KEY": "sk-doc-env-credential"}
		c.Credentials.Getenv = func(k string) string { return gatewayEnv[k] }
	}})
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"TOLLGATE_URL="+g.URL, "TOLLGATE_ADMIN_TOKEN="+g.AdminToken, "TOLLGATE_CONFIG_DIR="+filepath.Join(dir, "config"),
		"TOLLGATE_MASTER_KEY_FILE="+keyFile, "ANTHROPIC_API_KEY=sk-ant-doc-credential")
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := testNames(t)
	ran := 0
	for _, m := range fenceRE.FindAllStringSubmatchIndex(string(doc), -1) {
		lang, text := string(doc[m[2]:m[3]]), string(doc[m[4]:m[5]])
		line := strings.Count(string(doc[:m[0]]), "\n") + 1
		switch {
		case lang == "yaml" && strings.HasPrefix(text, "# callers.yaml"):
			f := filepath.Join(dir, "callers.yaml")
			if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := callerauth.Load(f, callerauth.Options{}); err != nil {
				t.Errorf("docs/identity.md:%d: callers.yaml: %v", line, err)
			}
		case lang != "sh":
		case interactiveRE.MatchString(text):
			name := interactiveRE.FindStringSubmatch(text)[1]
			if !tests[name] {
				t.Errorf("docs/identity.md:%d: interactive block names %s, which is no test", line, name)
			}
		default:
			ran++
			cmd := exec.CommandContext(context.Background(), "bash", "-e", "-o", "pipefail", "-c", text)
			cmd.Dir, cmd.Env = work, env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("docs/identity.md:%d: block failed: %v\n%s\n--- output:\n%s\n--- gateway:\n%s", line, err, text, out, tail(g.Logs.String(), 3000))
			}
			for _, e := range expectRE.FindAllStringSubmatch(text, -1) {
				if !strings.Contains(string(out), e[1]) {
					t.Fatalf("docs/identity.md:%d: output lacks %q:\n%s\n--- output:\n%s", line, e[1], text, out)
				}
			}
		}
	}
	if ran < 8 {
		t.Fatalf("only %d blocks ran", ran)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// testNames returns the names of the test functions of the repository's
// test files.
func testNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	re := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	err := filepath.WalkDir(filepath.Join("..", ".."), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != filepath.Join("..", "..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			names[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
