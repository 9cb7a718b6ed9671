package clientdist

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// DebianPython is the interpreter whose packages (python3-build,
// python3-setuptools, python3-wheel, python3-grpcio, python3-protobuf) the
// Python client is built and tested with.
const DebianPython = "/usr/bin/python3"

// pyprojectVersion is the version line of clients/python/pyproject.toml.
var pyprojectVersion = regexp.MustCompile(`(?m)^version = "[^"]*"$`)

// BuildPython builds the wheel and the sdist of clients/python at vs.Python
// into opts.Out and returns their paths. It builds a copy of the sources
// (so the checkout gets no build/ or *.egg-info), offline with the
// interpreter's own setuptools and wheel (python3 -m build --no-isolation),
// the wheel from the sdist; the sdist is then rewritten with fixed
// timestamps and owners so that it is reproducible like the wheel (which
// takes its timestamps from SOURCE_DATE_EPOCH).
func BuildPython(ctx context.Context, opts Options, vs Versions) (wheel, sdist string, err error) {
	stage, err := os.MkdirTemp("", "tollgate-python-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(stage)
	src := filepath.Join(opts.Root, "clients", "python")
	pkg := filepath.Join(stage, "tollgate")
	for _, name := range []string{"LICENSE", "README.md", "pyproject.toml", "src", "gen"} {
		if err := copyTree(filepath.Join(src, name), filepath.Join(pkg, name), opts.Time, skipCaches); err != nil {
			return "", "", fmt.Errorf("python: %w", err)
		}
	}
	pyproject := filepath.Join(pkg, "pyproject.toml")
	b, err := os.ReadFile(pyproject)
	if err != nil {
		return "", "", err
	}
	if n := len(pyprojectVersion.FindAllIndex(b, -1)); n != 1 {
		return "", "", fmt.Errorf("python: %s has %d version lines, want 1", pyproject, n)
	}
	b = pyprojectVersion.ReplaceAll(b, []byte(`version = "`+vs.Python+`"`))
	if err := os.WriteFile(pyproject, b, 0o644); err != nil {
		return "", "", err
	}
	if err := os.Chtimes(pyproject, opts.Time, opts.Time); err != nil {
		return "", "", err
	}

	python := opts.Python
	if python == "" {
		python = DebianPython
	}
	built := filepath.Join(stage, "out")
	env := []string{
		"SOURCE_DATE_EPOCH=" + strconv.FormatInt(opts.Time.Unix(), 10),
		"PYTHONDONTWRITEBYTECODE=1", "PYTHONHASHSEED=0", "TZ=UTC", "LC_ALL=C.UTF-8",
	}
	if err := run(ctx, opts.Log, pkg, env, python, "-m", "build", "--no-isolation", "--outdir", built, "."); err != nil {
		return "", "", fmt.Errorf("python: %w (the build needs Debian's python3-build, python3-setuptools and python3-wheel: make client-deps)", err)
	}
	wheels, _ := filepath.Glob(filepath.Join(built, "*.whl"))
	sdists, _ := filepath.Glob(filepath.Join(built, "*.tar.gz"))
	if len(wheels) != 1 || len(sdists) != 1 {
		return "", "", fmt.Errorf("python: built %q and %q, want one wheel and one sdist", wheels, sdists)
	}
	wheel = filepath.Join(opts.Out, filepath.Base(wheels[0]))
	sdist = filepath.Join(opts.Out, filepath.Base(sdists[0]))
	wb, err := os.ReadFile(wheels[0])
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(wheel, wb, 0o644); err != nil {
		return "", "", err
	}
	if err := reproducibleTarGz(sdists[0], sdist, opts.Time); err != nil {
		return "", "", fmt.Errorf("python: sdist: %w", err)
	}
	return wheel, sdist, nil
}

// reproducibleTarGz rewrites the gzipped tar at src to dst with every
// entry's time set to t and no owner names, in the same order, gzipped
// without a timestamp or file name.
func reproducibleTarGz(src, dst string, t time.Time) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		out := &tar.Header{
			Typeflag: hdr.Typeflag, Name: hdr.Name, Linkname: hdr.Linkname, Size: hdr.Size,
			Mode: hdr.Mode & 0o755, ModTime: t.UTC().Truncate(time.Second),
		}
		if err := tw.WriteHeader(out); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}
