// Command clientdist builds the client packages into a directory (make
// clients, make release): the Python wheel and sdist, the npm tarball and
// a GOPROXY directory with the Go modules gen and clients/go. It prints
// the paths it wrote, one per line.
//
//	go run ./internal/clientdist/cmd/clientdist -out dist [-version v1.2.3]
//
// Without -version it uses the v* tag on HEAD, or else a Go pseudo-version
// of HEAD (with "-dirty" for a working tree with changes), as `make
// release` does; the commit time is the packages' timestamp.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/internal/clientdist"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "clientdist:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("clientdist", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "dist", "directory to write the packages to")
	version := fs.String("version", "", "release version (default: the v* tag on HEAD, else a pseudo-version of HEAD)")
	verbose := fs.Bool("v", false, "show the build tools' output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := git(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return err
	}
	epoch, err := git(ctx, "log", "-1", "--format=%ct", "HEAD")
	if err != nil {
		return err
	}
	secs, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return fmt.Errorf("commit time %q: %w", epoch, err)
	}
	t := time.Unix(secs, 0).UTC()
	if *version == "" {
		if *version, err = headVersion(ctx, t); err != nil {
			return err
		}
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	opts := clientdist.Options{Root: root, Out: dir, Version: *version, Time: t}
	if *verbose {
		opts.Log = stderr
	}
	a, err := clientdist.Build(ctx, opts)
	if err != nil {
		return err
	}
	for _, f := range a.Files() {
		rel, err := filepath.Rel(root, f)
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = f
		}
		fmt.Fprintln(stdout, rel)
	}
	return nil
}

// headVersion returns the version `make release` gives HEAD.
func headVersion(ctx context.Context, t time.Time) (string, error) {
	dirty := ""
	if st, err := git(ctx, "status", "--porcelain", "--untracked-files=no"); err != nil {
		return "", err
	} else if st != "" {
		dirty = "-dirty"
	}
	if tag, err := git(ctx, "describe", "--tags", "--exact-match", "--match", "v[0-9]*", "HEAD"); err == nil && tag != "" {
		return tag + dirty, nil
	}
	commit, err := git(ctx, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	return "v0.0.0-" + t.Format("20060102150405") + "-" + commit[:12] + dirty, nil
}

func git(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "git", args...).Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
