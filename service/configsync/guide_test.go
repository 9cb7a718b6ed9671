package configsync_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestLongConfigAsCodeGuide runs every sh block of docs/config-as-code.md, in
// order, in one shell, with the tollgate binary against a fresh gateway.
func TestLongConfigAsCodeGuide(t *testing.T) {
	testutil.Long(t)
	t.Parallel()
	doc, err := os.ReadFile("../../docs/config-as-code.md")
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	blocks := 0
	fence := regexp.MustCompile("(?ms)^```sh\n(.*?)^```\n")
	for _, m := range fence.FindAllSubmatchIndex(doc, -1) {
		text := string(doc[m[2]:m[3]])
		if strings.HasPrefix(text, "# needs:") {
			continue
		}
		blocks++
		line := strings.Count(string(doc[:m[0]]), "\n") + 1
		fmt.Fprintf(&script, "echo '### block at docs/config-as-code.md:%d'\n%s", line, text)
	}
	if blocks < 5 {
		t.Fatalf("found %d sh blocks", blocks)
	}

	bin := testutil.Commands(t, "tollgate")
	work := t.TempDir()
	examples := filepath.Join(work, "deploy", "examples", "config")
	if err := os.MkdirAll(examples, 0o755); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(exampleDir, "*.yaml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(examples, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	g := servertest.Start(t, servertest.Options{})
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir = work
	cmd.Env = []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"TOLLGATE_URL=" + g.URL,
		"TOLLGATE_ADMIN_TOKEN=" + g.AdminToken,
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the guide's blocks failed: %v\n%s", err, out)
	}
	t.Logf("%d blocks ran:\n%s", blocks, out)
}
