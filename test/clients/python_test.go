package clients

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/clientdist"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// testPython installs the wheel into a fresh virtual environment outside
// the repository, as the Python README says (Debian's python3 first on
// PATH, pip without an index: grpcio and protobuf come from Debian's
// python3-grpcio and python3-protobuf through --system-site-packages),
// runs every Python example of the READMEs against the gateway, then the
// client's unittest suite with the installed package.
func (f *fixture) testPython(t *testing.T) {
	ctx := toolContext(t)
	if err := command(ctx, "", nil, clientdist.DebianPython, "-c", "import grpc, google.protobuf, ensurepip").Run(); err != nil {
		t.Fatalf("%s cannot import grpc, protobuf and ensurepip (%v): run 'make deps'", clientdist.DebianPython, err)
	}
	dir := t.TempDir()
	env := append(f.snippetEnv(),
		"PATH="+filepath.Dir(clientdist.DebianPython)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PIP_NO_INDEX=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PYTHONDONTWRITEBYTECODE=1",
	)
	python := filepath.Join(dir, ".venv", "bin", "python")
	n := 0
	for _, b := range f.readmeBlocks(t, "python", "python") {
		switch b.Lang {
		case "sh":
			runBlock(t, ctx, dir, env, b)
		case "python":
			n++
			script := filepath.Join(dir, fmt.Sprintf("example%02d.py", n))
			writeFile(t, script, b.Code)
			if _, err := os.Stat(python); err != nil {
				t.Fatalf("%s: the README's install step made no virtual environment at .venv: %v", b.Where, err)
			}
			t.Logf("%s: running the Python example", b.Where)
			out, err := runErr(t, command(ctx, dir, env, python, script))
			if err != nil {
				t.Fatalf("%s: %v", b.Where, err)
			}
			checkOutput(t, b, out)
		}
	}

	// The client's own suite, with the installed package (not the
	// source tree: tests/ alone is copied).
	s := f.suites["python"]
	if err := os.CopyFS(filepath.Join(dir, "tests"), os.DirFS(filepath.Join(f.root, "clients", "python", "tests"))); err != nil {
		t.Fatal(err)
	}
	out := run(t, command(ctx, dir, append(env,
		"TOLLGATE_ADDR="+f.gw.Addr,
		"TOLLGATE_KEY="+s.key,
		"TOLLGATE_TEAM="+s.team,
		"TOLLGATE_CHAT_MODEL="+s.model,
		"TOLLGATE_EMBED_MODEL="+servertest.EmbeddingModel,
		"TOLLGATE_PY_VERSION="+f.art.Versions.Python,
	), python, "-m", "unittest", "discover", "-v", "-s", "tests"))
	// The live tests skip themselves without a gateway: make sure none did.
	if strings.Contains(out, "skipped") || !strings.Contains(out, "\nOK") {
		t.Fatalf("the Python suite skipped tests or did not report OK")
	}
}
