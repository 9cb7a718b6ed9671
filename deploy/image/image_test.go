package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const testVersion = "v1.2.3-test"

var testCreated = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

// buildGateway builds the real gateway as make release does, for linux on
// this machine's architecture, so the test can run it from the image.
func buildGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tollgate")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin,
		"-ldflags", "-s -w -buildid= -X github.com/tollgate-dev/tollgate/internal/version.version="+testVersion,
		"./cmd/tollgate")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=-mod=readonly -buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestLongImage builds the image from the real binary, writes the OCI
// layout and archive, reads the archive back as a registry tool would, and
// checks the image config and the binary inside it. It compiles the
// gateway again as the release does (-trimpath, no cgo: minutes on a cold
// build cache), so it is a long test: make test-long (and CI, after make
// image) runs it; under -short it runs only with TOLLGATE_LONG_TESTS=1.
func TestLongImage(t *testing.T) {
	if testing.Short() && os.Getenv("TOLLGATE_LONG_TESTS") != "1" {
		t.Skip("long test (make test-long): set TOLLGATE_LONG_TESTS=1 to run it under -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("runs the linux binary from the image")
	}
	t.Parallel()
	platform := "linux/" + runtime.GOARCH
	opts := Options{Binaries: map[string]string{platform: buildGateway(t)}, Version: testVersion,
		Revision: "0123456789abcdef0123456789abcdef01234567", Created: testCreated}
	idx, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := idx.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("two builds differ: %s vs %s", d1, d2)
	}

	dir := t.TempDir()
	if err := WriteLayout(filepath.Join(dir, "image"), idx, testVersion); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "oci.tar")
	if err := WriteArchive(archive, filepath.Join(dir, "image"), testCreated); err != nil {
		t.Fatal(err)
	}
	unpacked := filepath.Join(dir, "unpacked")
	untar(t, archive, unpacked)
	root, err := layout.ImageIndexFromPath(unpacked)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(rm.Manifests) != 1 || rm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != testVersion ||
		rm.Manifests[0].MediaType != types.OCIImageIndex {
		t.Fatalf("layout index = %+v: want one OCI image index tagged %s", rm.Manifests, testVersion)
	}
	index, err := root.ImageIndex(rm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Platform == nil || im.Manifests[0].Platform.String() != platform {
		t.Fatalf("image index = %+v: want one %s image", im.Manifests, platform)
	}
	img, err := index.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type = %s", mt)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, cf, opts)

	// The layer: the binary runs and reports the version; the spill
	// directory belongs to the nonroot user.
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	files := readLayer(t, layers[0])
	bin, ok := files["tollgate"]
	if !ok || bin.hdr.Mode&0o111 == 0 {
		t.Fatalf("no executable /tollgate in the layer: %v", slices.Collect(maps.Keys(files)))
	}
	if sp := files["var/lib/tollgate/spill/"]; sp.hdr == nil || sp.hdr.Uid != uid || sp.hdr.Typeflag != tar.TypeDir {
		t.Errorf("spill dir = %+v: want a directory owned by %d", sp.hdr, uid)
	}
	if pw := files["etc/passwd"]; pw.hdr == nil || !strings.Contains(string(pw.data), "nonroot:x:65532:65532") {
		t.Error("/etc/passwd must name the nonroot user")
	}
	exe := filepath.Join(dir, "from-image")
	if err := os.WriteFile(exe, bin.data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exe, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "tollgate "+testVersion+" ") {
		t.Errorf("the image's binary says %q (%v), want version %s", out, err, testVersion)
	}
}

func checkConfig(t *testing.T, cf *v1.ConfigFile, o Options) {
	t.Helper()
	c := cf.Config
	if !slices.Equal(c.Entrypoint, []string{"/tollgate"}) || !slices.Equal(c.Cmd, []string{"serve"}) {
		t.Errorf("entrypoint %q cmd %q, want [/tollgate] [serve]", c.Entrypoint, c.Cmd)
	}
	if c.User != "65532:65532" {
		t.Errorf("user = %q, want 65532:65532 (nonroot)", c.User)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || len(c.ExposedPorts) != 1 {
		t.Errorf("exposed ports = %v, want 8080/tcp", c.ExposedPorts)
	}
	if !slices.Contains(c.Env, "TOLLGATE_LISTEN_ADDR=:8080") || !slices.Contains(c.Env, "TOLLGATE_SPILL_DIR=/var/lib/tollgate/spill") {
		t.Errorf("env = %q", c.Env)
	}
	if _, ok := c.Volumes["/var/lib/tollgate/spill"]; !ok {
		t.Errorf("volumes = %v: the spill dir must be a volume (read-only root filesystems)", c.Volumes)
	}
	if c.Healthcheck != nil {
		t.Errorf("healthcheck = %+v: probes come from the orchestrator", c.Healthcheck)
	}
	want := map[string]string{
		"org.opencontainers.image.version":  o.Version,
		"org.opencontainers.image.revision": o.Revision,
		"org.opencontainers.image.source":   "https://github.com/tollgate-dev/tollgate",
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.created":  "2026-11-28T10:00:00Z",
	}
	for k, v := range want {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	if !cf.Created.Time.Equal(o.Created) || cf.OS != "linux" {
		t.Errorf("created %s os %s", cf.Created, cf.OS)
	}
}

type file struct {
	hdr  *tar.Header
	data []byte
}

func readLayer(t *testing.T, l v1.Layer) map[string]file {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = file{hdr: h, data: b}
	}
}

func untar(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDockerfileMatches checks that the Dockerfile's final stage builds the
// same image as deploy/image: base, entrypoint, user, port, environment,
// volume and labels, and no HEALTHCHECK.
func TestDockerfileMatches(t *testing.T) {
	t.Parallel()
	stages := dockerfileStages(t, filepath.Join("..", "..", "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("%d stages: want a build stage and a final one", len(stages))
	}
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") || !strings.HasSuffix(final.from, ":nonroot") {
		t.Errorf("final base = %q: want distroless/static, nonroot", final.from)
	}
	one := func(instr string) string {
		v := final.instr[instr]
		if len(v) != 1 {
			t.Errorf("%s appears %d times in the final stage", instr, len(v))
			return ""
		}
		return v[0]
	}
	jsonArray := func(s string) []string {
		var a []string
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			t.Errorf("%q is not an exec-form array: %v", s, err)
		}
		return a
	}
	if got := jsonArray(one("ENTRYPOINT")); !slices.Equal(got, entrypoint) {
		t.Errorf("ENTRYPOINT %q, want %q", got, entrypoint)
	}
	if got := jsonArray(one("CMD")); !slices.Equal(got, cmd) {
		t.Errorf("CMD %q, want %q", got, cmd)
	}
	if got := one("USER"); got != "65532:65532" {
		t.Errorf("USER %q", got)
	}
	if got := one("EXPOSE"); got != port {
		t.Errorf("EXPOSE %q, want %s", got, port)
	}
	if got := jsonArray(one("VOLUME")); !slices.Equal(got, []string{spillDir}) {
		t.Errorf("VOLUME %q", got)
	}
	for _, e := range env {
		if !strings.Contains(one("ENV"), e) {
			t.Errorf("ENV %q lacks %s", one("ENV"), e)
		}
	}
	labels := one("LABEL")
	for k := range Labels(Options{}) {
		if !strings.Contains(labels, k+"=") {
			t.Errorf("LABEL lacks %s", k)
		}
	}
	for _, s := range stages {
		if _, ok := s.instr["HEALTHCHECK"]; ok {
			t.Error("no HEALTHCHECK: probes come from the orchestrator")
		}
	}
	if copies := final.instr["COPY"]; !slices.ContainsFunc(copies, func(c string) bool { return strings.HasSuffix(c, " "+binaryPath) }) {
		t.Errorf("COPY %q: want the binary at %s", copies, binaryPath)
	}
}

type stage struct {
	from  string
	instr map[string][]string
}

// dockerfileStages parses the instructions of a Dockerfile per stage
// (continuation lines joined, comments dropped).
func dockerfileStages(t *testing.T, path string) []stage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var line strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "#") || l == "" {
			continue
		}
		if cont, ok := strings.CutSuffix(l, `\`); ok {
			line.WriteString(cont + " ")
			continue
		}
		line.WriteString(l)
		instr, args, _ := strings.Cut(line.String(), " ")
		line.Reset()
		instr, args = strings.ToUpper(instr), strings.TrimSpace(args)
		if instr == "FROM" {
			fields := strings.Fields(args)
			from := ""
			for _, f := range fields {
				if !strings.HasPrefix(f, "--") {
					from = f
					break
				}
			}
			stages = append(stages, stage{from: from, instr: map[string][]string{}})
			continue
		}
		if len(stages) > 0 {
			s := stages[len(stages)-1]
			s.instr[instr] = append(s.instr[instr], args)
		}
	}
	return stages
}
