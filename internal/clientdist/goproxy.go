package clientdist

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// The Go modules a release tags besides the gateway's own.
const (
	// GenModule is the generated API (gen/, tags gen/vX.Y.Z).
	GenModule = "github.com/tollgate-dev/tollgate/gen"
	// ClientModule is the Go client (clients/go/, tags clients/go/vX.Y.Z).
	ClientModule = "github.com/tollgate-dev/tollgate/clients/go"
)

// goModules maps each published module to its directory.
var goModules = []struct{ path, dir string }{
	{GenModule, "gen"},
	{ClientModule, filepath.Join("clients", "go")},
}

// BuildGoProxy writes the modules gen and clients/go at vs.Go into
// opts.Out/goproxy in the layout of the GOPROXY protocol (list, .info,
// .mod, .zip; the zips made as the Go module proxy makes them from a tag)
// and returns the directory and the zips' paths.
//
// clients/go requires gen at the release version: for a tagged release the
// tree must already say so (the tags serve the tree as it is); for an
// untagged build the copy in the zip is given that requirement, since no
// tag will serve this version.
func BuildGoProxy(opts Options, vs Versions) (string, []string, error) {
	dir := filepath.Join(opts.Out, "goproxy")
	if err := os.RemoveAll(dir); err != nil {
		return "", nil, err
	}
	var zips []string
	for _, m := range goModules {
		src := filepath.Join(opts.Root, m.dir)
		gomod, err := os.ReadFile(filepath.Join(src, "go.mod"))
		if err != nil {
			return "", nil, err
		}
		if m.path == ClientModule {
			if gomod, err = requireGen(gomod, vs); err != nil {
				return "", nil, err
			}
		}
		zipPath, err := writeModule(dir, src, module.Version{Path: m.path, Version: vs.Go}, gomod, opts.Time)
		if err != nil {
			return "", nil, fmt.Errorf("go module %s: %w", m.path, err)
		}
		zips = append(zips, zipPath)
	}
	return dir, zips, nil
}

// requireGen returns clients/go's go.mod requiring gen at vs.Go, or an
// error for a tagged release whose tree requires another version.
func requireGen(gomod []byte, vs Versions) ([]byte, error) {
	f, err := modfile.Parse("clients/go/go.mod", gomod, nil)
	if err != nil {
		return nil, err
	}
	for _, r := range f.Require {
		if r.Mod.Path != GenModule {
			continue
		}
		if r.Mod.Version == vs.Go {
			return gomod, nil
		}
		if vs.Release {
			return nil, fmt.Errorf("clients/go/go.mod requires %s %s, but the release is %s: run "+
				"`go mod edit -require=%s@%s` in clients/go, commit, and tag that commit (see docs/releasing.md)",
				GenModule, r.Mod.Version, vs.Go, GenModule, vs.Go)
		}
		if err := f.AddRequire(GenModule, vs.Go); err != nil {
			return nil, err
		}
		return f.Format()
	}
	return nil, fmt.Errorf("clients/go/go.mod does not require %s", GenModule)
}

// writeModule writes mod's list, .info, .mod and .zip files under proxy.
func writeModule(proxy, src string, mod module.Version, gomod []byte, t time.Time) (string, error) {
	escaped, err := module.EscapePath(mod.Path)
	if err != nil {
		return "", err
	}
	at := filepath.Join(proxy, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		return "", err
	}
	// The zip holds the module's files as the tag would: the directory's
	// files (nested modules and VCS metadata excluded by modzip), with
	// this go.mod. It is made from a copy holding that go.mod.
	stage, err := os.MkdirTemp("", "tollgate-gomod-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	if err := copyTree(src, stage, t, func(_ string, d fs.DirEntry) bool { return d.IsDir() && d.Name() == ".git" }); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(stage, "go.mod"), gomod, 0o644); err != nil {
		return "", err
	}
	var zip bytes.Buffer
	if err := modzip.CreateFromDir(&zip, mod, stage); err != nil {
		return "", err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{mod.Version, t.UTC()})
	if err != nil {
		return "", err
	}
	zipPath := filepath.Join(at, mod.Version+".zip")
	files := []struct {
		name string
		data []byte
	}{
		{mod.Version + ".mod", gomod},
		{mod.Version + ".info", info},
		{mod.Version + ".zip", zip.Bytes()},
		// `go get module@latest` reads @latest when list names no release.
		{"list", listOf(mod.Version)},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(at, f.name), f.data, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(at, "..", "@latest"), info, 0o644); err != nil {
		return "", err
	}
	return zipPath, nil
}

// listOf returns the proxy's version list: v when it is not a pseudo-version.
func listOf(v string) []byte {
	if module.IsPseudoVersion(v) {
		return nil
	}
	return []byte(v + "\n")
}
