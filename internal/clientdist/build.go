package clientdist

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options say what to build and where.
type Options struct {
	// Root is the repository's root directory.
	Root string
	// Out is the directory the packages are written to (created if
	// missing; files of the same names are replaced).
	Out string
	// Version is the release version (see [VersionsOf]).
	Version string
	// Time is the commit time: the packages' timestamps, so that they are
	// reproducible.
	Time time.Time
	// Python is the interpreter that builds the wheel and sdist; Debian's
	// /usr/bin/python3 when empty.
	Python string
	// Log receives the build tools' output; discarded when nil.
	Log io.Writer
}

// Artifacts are the paths of the built packages.
type Artifacts struct {
	// Versions is the version in each ecosystem's spelling.
	Versions Versions
	// Wheel and Sdist are the Python packages.
	Wheel, Sdist string
	// NPM is the npm tarball.
	NPM string
	// GoProxy is a directory in the GOPROXY protocol's layout serving the
	// modules gen and clients/go at Versions.Go: GOPROXY=file://<GoProxy>.
	GoProxy string
	// GoZips are the module zips in GoProxy.
	GoZips []string
}

// Files returns every artifact's path (for checksums).
func (a Artifacts) Files() []string {
	return append([]string{a.Wheel, a.Sdist, a.NPM}, a.GoZips...)
}

// Build builds every client package; the Python and npm builds run at the
// same time.
func Build(ctx context.Context, opts Options) (Artifacts, error) {
	vs, err := VersionsOf(opts.Version)
	if err != nil {
		return Artifacts{}, err
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return Artifacts{}, err
	}
	a := Artifacts{Versions: vs}
	var wg sync.WaitGroup
	var pyErr, npmErr error
	wg.Go(func() { a.Wheel, a.Sdist, pyErr = BuildPython(ctx, opts, vs) })
	wg.Go(func() { a.NPM, npmErr = BuildNPM(ctx, opts, vs) })
	a.GoProxy, a.GoZips, err = BuildGoProxy(opts, vs)
	wg.Wait()
	if err := errors.Join(pyErr, npmErr, err); err != nil {
		return Artifacts{}, err
	}
	return a, nil
}

// run runs a command in dir with env added to the environment, copying its
// output to log; the error holds the output's end.
func run(ctx context.Context, log io.Writer, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	w := io.Writer(&out)
	if log != nil {
		w = io.MultiWriter(&out, log)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		tail := out.String()
		if len(tail) > 4000 {
			tail = "..." + tail[len(tail)-4000:]
		}
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail)
	}
	return nil
}

// copyTree copies the regular files under src (skipping directories for
// which skip returns true) to dst with fixed permissions (0644, 0755 for
// directories) and modification time t, so that archives made from the
// copy do not depend on the checkout's umask or age.
func copyTree(src, dst string, t time.Time, skip func(rel string, d fs.DirEntry) bool) error {
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel != "." && skip != nil && skip(rel, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		return err
	}
	return touchTree(dst, t)
}

// touchTree sets the modification time of everything under dir to t.
func touchTree(dir string, t time.Time) error {
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(path, t, t)
	})
}

// skipCaches skips what a checkout may hold beside the sources: Python
// and build caches and outputs.
func skipCaches(rel string, d fs.DirEntry) bool {
	switch d.Name() {
	case "__pycache__", "node_modules", "dist", "build", ".pytest_cache", ".mypy_cache":
		return d.IsDir()
	}
	return strings.HasSuffix(d.Name(), ".egg-info") || strings.HasSuffix(d.Name(), ".pyc")
}
