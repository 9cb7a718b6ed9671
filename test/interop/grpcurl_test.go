package interop_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// recipe is one ```sh block of docs/grpcurl.md.
type recipe struct {
	line    int      // where the block starts in the file
	script  string   // the block's text
	expects []string // the "# expect:" substrings
}

var (
	shBlock   = regexp.MustCompile("(?ms)^```sh\n(.*?)^```")
	expectRE  = regexp.MustCompile(`(?m)^# expect: (.+)$`)
	secretRE  = regexp.MustCompile(`"secret":\s*"(tg-[^"]+)"`)
	keyIDRE   = regexp.MustCompile(`"id":\s*"([^"]+)"`)
	docRecipe = filepath.Join("..", "..", "docs", "grpcurl.md")
)

func parseRecipes(doc string) []recipe {
	var rs []recipe
	for _, m := range shBlock.FindAllStringSubmatchIndex(doc, -1) {
		r := recipe{line: strings.Count(doc[:m[0]], "\n") + 1, script: doc[m[2]:m[3]]}
		for _, e := range expectRE.FindAllStringSubmatch(r.script, -1) {
			r.expects = append(r.expects, strings.TrimSpace(e[1]))
		}
		rs = append(rs, r)
	}
	return rs
}

func TestParseRecipes(t *testing.T) {
	t.Parallel()
	doc := "intro\n```sh\necho a\n# expect: a\n```\n```bash\nnot run\n```\ntext\n```sh\necho b\n# expect: b\n# expect: c d\n```\n"
	got := parseRecipes(doc)
	want := []recipe{
		{line: 2, script: "echo a\n# expect: a\n", expects: []string{"a"}},
		{line: 10, script: "echo b\n# expect: b\n# expect: c d\n", expects: []string{"b", "c d"}},
	}
	if len(got) != len(want) {
		t.Fatalf("parsed %d recipes, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].line != want[i].line || got[i].script != want[i].script || strings.Join(got[i].expects, "|") != strings.Join(want[i].expects, "|") {
			t.Errorf("recipe %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestLongGrpcurlRecipes runs every ```sh block of docs/grpcurl.md in order
// against a live gateway, with TOLLGATE_ADDR, ADMIN_TOKEN and an upstream
// set, and KEY and KEY_ID taken from the block that creates a key. A block
// must exit 0 and print every "# expect:" text; a block that exits 0
// without it is retried for a while, for data the gateway writes
// asynchronously (usage records). It runs in make test-long, which builds
// grpcurl (see TestLongGRPCURL in service/server).
func TestLongGrpcurlRecipes(t *testing.T) {
	testutil.Long(t)
	t.Parallel()
	bin, err := filepath.Abs(filepath.Join("..", "..", ".bin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(bin, "grpcurl")); err != nil {
		t.Fatalf("grpcurl is not built (%v): run 'make tools' (make test-long does)", err)
	}
	doc, err := os.ReadFile(docRecipe)
	if err != nil {
		t.Fatal(err)
	}
	recipes := parseRecipes(string(doc))
	if len(recipes) < 10 {
		t.Fatalf("found only %d sh blocks in %s", len(recipes), docRecipe)
	}

	_, upURL := fakeupstream.StartOpenAI(t, fakeupstream.WithChunks(3), fakeupstream.WithAPIKey("sk-doc-test"))
	gw := servertest.Start(t, servertest.Options{})
	vars := map[string]string{
		"PATH":            bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME":            t.TempDir(),
		"TOLLGATE_ADDR":   gw.Addr,
		"ADMIN_TOKEN":     gw.AdminToken,
		"OPENAI_BASE_URL": upURL,
		"OPENAI_API_KEY":  "sk-doc-test",
	}
	for _, r := range recipes {
		testutil.Eventually(t, func() error {
			cmd := exec.Command("bash", "-euo", "pipefail", "-c", r.script)
			for k, v := range vars {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s:%d: %v\n--- script\n%s--- output\n%s", docRecipe, r.line, err, r.script, out)
			}
			missing := ""
			for _, e := range r.expects {
				if !strings.Contains(string(out), e) {
					missing = e
					break
				}
			}
			if missing == "" {
				if m := secretRE.FindSubmatch(out); m != nil {
					vars["KEY"] = string(m[1])
					if id := keyIDRE.FindSubmatch(out); id != nil {
						vars["KEY_ID"] = string(id[1])
					}
				}
				return nil
			}
			return fmt.Errorf("%s:%d: output lacks %q\n--- script\n%s--- output\n%s", docRecipe, r.line, missing, r.script, out)
		})
	}
	if vars["KEY"] == "" || vars["KEY_ID"] == "" {
		t.Fatal("no recipe created a key")
	}
}
