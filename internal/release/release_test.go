package release

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/testutil"
)

// TestLongReleaseReproducible runs `make release` for one platform in two fresh
// clones of HEAD at different paths and compares every artefact's checksum:
// the same commit must give the same bytes. It also runs the built binary's
// `version` and checks the SBOM names the release version.
func TestLongReleaseReproducible(t *testing.T) {
	testutil.Long(t) // builds two release trees
	head := strings.TrimSpace(run(t, root, "git", "rev-parse", "HEAD"))
	const platform = "linux/amd64" // the platform whose binary this machine can run
	var sums [2]string
	for i := range sums {
		dir := filepath.Join(t.TempDir(), []string{"a", "somewhere/else"}[i], "tollgate")
		run(t, root, "git", "clone", "-q", "--no-hardlinks", ".", dir)
		run(t, dir, "git", "checkout", "-q", "--detach", head)
		run(t, dir, "make", "release", "PLATFORMS="+platform)
		b, err := os.ReadFile(filepath.Join(dir, "dist", "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		sums[i] = string(b)
		if i > 0 {
			continue
		}
		version, err := os.ReadFile(filepath.Join(dir, "dist", "VERSION"))
		if err != nil {
			t.Fatal(err)
		}
		v := strings.TrimSpace(string(version))
		if !regexp.MustCompile(`^v\d+\.\d+\.\d+`).MatchString(v) || strings.HasSuffix(v, "-dirty") {
			t.Errorf("version of a clean clone = %q: want a semantic version, not dirty", v)
		}
		name := "tollgate_" + v + "_linux_amd64"
		out := run(t, dir, filepath.Join("dist", name, "tollgate"), "version")
		if want := "tollgate " + v + " (commit " + head[:12] + ", built "; !strings.HasPrefix(out, want) {
			t.Errorf("tollgate version = %q, want prefix %q", out, want)
		}
		sbom, err := os.ReadFile(filepath.Join(dir, "dist", name+".cdx.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"bomFormat": "CycloneDX"`, `"version": "` + v + `"`, `"connectrpc.com/connect"`, `"Apache-2.0"`} {
			if !bytes.Contains(sbom, []byte(want)) {
				t.Errorf("SBOM lacks %s", want)
			}
		}
		for _, want := range []string{name + ".tar.gz", name + ".cdx.json", name + "/tollgate"} {
			if !strings.Contains(sums[0], want) {
				t.Errorf("SHA256SUMS lacks %s:\n%s", want, sums[0])
			}
		}
	}
	if sums[0] != sums[1] {
		t.Errorf("two builds of %s differ:\n%s\nvs\n%s", head, sums[0], sums[1])
	}
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
