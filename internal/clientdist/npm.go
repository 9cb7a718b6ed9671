package clientdist

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// packageVersion is the version line of clients/ts/package.json.
var packageVersion = regexp.MustCompile(`(?m)^  "version": "[^"]*",$`)

// BuildNPM builds the npm tarball of clients/ts at vs.NPM into opts.Out and
// returns its path: `npm pack` of a copy of the package (whose prepack
// script compiles the TypeScript to ESM and declarations in dist/), with
// the packages of clients/ts/node_modules (installed from the lock file by
// `make client-deps`), so that nothing is fetched.
func BuildNPM(ctx context.Context, opts Options, vs Versions) (string, error) {
	src := filepath.Join(opts.Root, "clients", "ts")
	modules := filepath.Join(src, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, ".bin", "tsc")); err != nil {
		return "", fmt.Errorf("npm: %s has no TypeScript compiler (run make client-deps): %w", modules, err)
	}
	stage, err := os.MkdirTemp("", "tollgate-npm-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	pkg := filepath.Join(stage, "client")
	for _, name := range []string{"package.json", "tsconfig.json", "LICENSE", "README.md", "src"} {
		if err := copyTree(filepath.Join(src, name), filepath.Join(pkg, name), opts.Time, skipCaches); err != nil {
			return "", fmt.Errorf("npm: %w", err)
		}
	}
	manifest := filepath.Join(pkg, "package.json")
	b, err := os.ReadFile(manifest)
	if err != nil {
		return "", err
	}
	if n := len(packageVersion.FindAllIndex(b, -1)); n != 1 {
		return "", fmt.Errorf("npm: %s has %d top-level version lines, want 1", manifest, n)
	}
	b = packageVersion.ReplaceAll(b, []byte(`  "version": "`+vs.NPM+`",`))
	if err := os.WriteFile(manifest, b, 0o644); err != nil {
		return "", err
	}
	if err := os.Symlink(modules, filepath.Join(pkg, "node_modules")); err != nil {
		return "", err
	}
	built := filepath.Join(stage, "out")
	if err := os.MkdirAll(built, 0o755); err != nil {
		return "", err
	}
	env := []string{"npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false", "TZ=UTC"}
	if err := run(ctx, opts.Log, pkg, env, "npm", "pack", "--pack-destination", built); err != nil {
		return "", fmt.Errorf("npm: %w", err)
	}
	tgz, _ := filepath.Glob(filepath.Join(built, "*.tgz"))
	if len(tgz) != 1 {
		return "", fmt.Errorf("npm: npm pack wrote %q, want one tarball", tgz)
	}
	out := filepath.Join(opts.Out, filepath.Base(tgz[0]))
	data, err := os.ReadFile(tgz[0])
	if err != nil {
		return "", err
	}
	return out, os.WriteFile(out, data, 0o644)
}
