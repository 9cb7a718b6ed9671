// Command image assembles Tollgate's container image without a container
// engine: an OCI image index (linux/amd64 and linux/arm64) built from the
// static release binaries of `make release`, written as an OCI image layout
// directory and as an OCI archive (a tar of that layout). `make image` runs
// it; push the result with any OCI tool, e.g.
//
//	skopeo copy oci-archive:dist/tollgate_<version>_oci.tar docker://registry.example/tollgate:<version>
//	crane push dist/image registry.example/tollgate:<version>
//
// The image matches the Dockerfile's: the binary at /tollgate as entrypoint
// with `serve` as the default argument, user 65532 (nonroot), port 8080,
// TOLLGATE_LISTEN_ADDR=:8080, a spill directory owned by that user, no shell and
// no HEALTHCHECK (Kubernetes probes /healthz and /readyz). It is
// reproducible: every timestamp is the commit time.
package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the image is; the Dockerfile's final stage must say the same
// (TestDockerfileMatches).
const (
	binaryPath = "/tollgate"
	spillDir   = "/var/lib/tollgate/spill"
	uid        = 65532
	port       = "8080/tcp"
	source     = "https://github.com/tollgate-dev/tollgate"
)

var (
	entrypoint = []string{binaryPath}
	cmd        = []string{"serve"}
	env        = []string{"TOLLGATE_LISTEN_ADDR=:8080", "TOLLGATE_SPILL_DIR=" + spillDir}
)

// Options describe one build.
type Options struct {
	// Binaries maps a platform ("linux/amd64") to its static binary.
	Binaries map[string]string
	// Version, Revision and Created (the commit time) label the image.
	Version, Revision string
	Created           time.Time
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dist := fs.String("dist", "dist", "the release directory of `make release` (its build.json and linux binaries)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := build(*dist, stdout); err != nil {
		fmt.Fprintln(stderr, "image:", err)
		return 1
	}
	return 0
}

func build(dist string, stdout io.Writer) error {
	b, err := os.ReadFile(filepath.Join(dist, "build.json"))
	if err != nil {
		return fmt.Errorf("%w (run make release first)", err)
	}
	var info struct{ Version, Commit, Date string }
	if err := json.Unmarshal(b, &info); err != nil {
		return fmt.Errorf("build.json: %w", err)
	}
	t, err := time.Parse(time.RFC3339, info.Date)
	if err != nil {
		return fmt.Errorf("build.json: %w", err)
	}
	opts := Options{Version: info.Version, Revision: info.Commit, Created: t, Binaries: map[string]string{}}
	for _, arch := range []string{"amd64", "arm64"} {
		bin := filepath.Join(dist, fmt.Sprintf("tollgate_%s_linux_%s", opts.Version, arch), "tollgate")
		if _, err := os.Stat(bin); err == nil {
			opts.Binaries["linux/"+arch] = bin
		}
	}
	if len(opts.Binaries) == 0 {
		return fmt.Errorf("no linux binaries of %s in %s", opts.Version, dist)
	}
	idx, err := Build(opts)
	if err != nil {
		return err
	}
	dir := filepath.Join(dist, "image")
	if err := WriteLayout(dir, idx, opts.Version); err != nil {
		return err
	}
	archive := filepath.Join(dist, "tollgate_"+opts.Version+"_oci.tar")
	if err := WriteArchive(archive, dir, opts.Created); err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "image: %s (%s) in %s and %s\n", opts.Version, d, dir, archive)
	return nil
}

// Build assembles the image index.
func Build(o Options) (v1.ImageIndex, error) {
	if o.Version == "" || o.Created.IsZero() {
		return nil, errors.New("a version and a creation time are required")
	}
	platforms := make([]string, 0, len(o.Binaries))
	for p := range o.Binaries {
		platforms = append(platforms, p)
	}
	slices.Sort(platforms)
	var idx v1.ImageIndex = empty.Index
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	for _, p := range platforms {
		goos, arch, ok := strings.Cut(p, "/")
		if !ok || goos != "linux" {
			return nil, fmt.Errorf("platform %q: want linux/<arch>", p)
		}
		img, err := buildImage(o, o.Binaries[p], arch)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: goos, Architecture: arch}},
		})
	}
	return idx, nil
}

func buildImage(o Options, binary, arch string) (v1.Image, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	layerTar, err := rootfs(bin, o.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		History:   v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "tollgate " + o.Version + " (deploy/image)", Comment: "static tollgate binary"},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: o.Created}
	cf.Config = v1.Config{
		Entrypoint:   entrypoint,
		Cmd:          cmd,
		Env:          env,
		User:         fmt.Sprintf("%d:%d", uid, uid),
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{port: {}},
		Volumes:      map[string]struct{}{spillDir: {}},
		StopSignal:   "SIGTERM",
		Labels:       Labels(o),
	}
	return mutate.ConfigFile(img, cf)
}

// Labels are the image's OCI annotations, as labels.
func Labels(o Options) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "tollgate",
		"org.opencontainers.image.description": "Tollgate, an AI gateway",
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.revision":    o.Revision,
		"org.opencontainers.image.created":     o.Created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.source":      source,
		"org.opencontainers.image.url":         source,
		"org.opencontainers.image.licenses":    "Apache-2.0",
	}
}

// rootfs is the image's only layer: the binary, the licence, a passwd
// naming the nonroot user, and the directories the gateway writes to.
func rootfs(binary []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", uid, uid)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", uid)
	entries := []struct {
		name     string
		mode     int64
		uid      int
		dir      bool
		contents []byte
	}{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, contents: []byte(group)},
		{name: "etc/passwd", mode: 0o644, contents: []byte(passwd)},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, uid: uid, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
		{name: "tollgate", mode: 0o755, contents: binary},
		{name: "var/", mode: 0o755, dir: true},
		{name: "var/lib/", mode: 0o755, dir: true},
		{name: "var/lib/tollgate/", mode: 0o750, uid: uid, dir: true},
		{name: "var/lib/tollgate/spill/", mode: 0o750, uid: uid, dir: true},
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: mtime, Format: tar.FormatPAX}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.contents))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.contents); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteLayout writes idx as an OCI image layout in dir, tagged version.
func WriteLayout(dir string, idx v1.ImageIndex, version string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": version}))
}

// WriteArchive writes the layout in dir as a reproducible tar (an OCI
// archive): sorted names, fixed owner and times.
func WriteArchive(path, dir string, mtime time.Time) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(names)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, p := range names {
		fi, err := os.Stat(p)
		if err != nil {
			return errors.Join(err, f.Close())
		}
		rel, _ := filepath.Rel(dir, p)
		h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime, Mode: 0o644, Format: tar.FormatPAX}
		if fi.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
		} else {
			h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		}
		if err := tw.WriteHeader(h); err != nil {
			return errors.Join(err, f.Close())
		}
		if !fi.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return errors.Join(err, f.Close())
			}
			if _, err := tw.Write(b); err != nil {
				return errors.Join(err, f.Close())
			}
		}
	}
	return errors.Join(tw.Close(), f.Close())
}
