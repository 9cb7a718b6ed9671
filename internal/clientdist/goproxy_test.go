package clientdist

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
)

const clientGoMod = `module github.com/tollgate-dev/tollgate/clients/go

go 1.26.8

require (
	connectrpc.com/connect v1.21.1
	github.com/tollgate-dev/tollgate/gen %s
)

replace github.com/tollgate-dev/tollgate/gen => ../../gen
`

func TestRequireGen(t *testing.T) {
	t.Parallel()
	const placeholder = "v0.0.0-00010101000000-000000000000"
	tests := []struct {
		name, tree, version string
		want                string // the gen version required after; "" for an error
	}{
		{"an untagged build gets its own version", placeholder, "v0.0.0-20261030153154-30a33513ff6d", "v0.0.0-20261030153154-30a33513ff6d"},
		{"a dirty release build too", "v1.2.2", "v1.2.3-dirty", "v1.2.3-dirty"},
		{"a release the tree is ready for", "v1.2.3", "v1.2.3", "v1.2.3"},
		{"a release the tree is not ready for", placeholder, "v1.2.3", ""},
		{"a pre-release likewise", "v1.2.2", "v1.2.3-rc.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vs, err := VersionsOf(tt.version)
			if err != nil {
				t.Fatal(err)
			}
			got, err := requireGen([]byte(strings.ReplaceAll(clientGoMod, "%s", tt.tree)), vs)
			if tt.want == "" {
				if err == nil || !strings.Contains(err.Error(), "go mod edit -require="+GenModule+"@"+tt.version) {
					t.Fatalf("requireGen: %v, want an error saying how to fix the tree", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f, err := modfile.Parse("go.mod", got, nil)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(f.Require, func(r *modfile.Require) bool { return r.Mod.Path == GenModule })
			if i < 0 || f.Require[i].Mod.Version != tt.want {
				t.Fatalf("go.mod after:\n%s\nwant %s %s", got, GenModule, tt.want)
			}
			if len(f.Replace) != 1 {
				t.Fatalf("the replace directive is gone:\n%s", got)
			}
		})
	}
}

func TestBuildGoProxy(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	files := map[string]string{
		"gen/go.mod":                    "module " + GenModule + "\n\ngo 1.26.8\n",
		"gen/tollgate/v1/x.pb.go":       "package tollgatev1\n",
		"gen/LICENSE":                   "licence\n",
		"clients/go/go.mod":             strings.ReplaceAll(clientGoMod, "%s", "v0.0.0-00010101000000-000000000000"),
		"clients/go/client.go":          "package tollgate\n",
		"clients/go/nested/go.mod":      "module example.com/nested\n",
		"clients/go/nested/excluded.go": "package nested\n",
	}
	for name, data := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const v = "v0.0.0-20261030153154-30a33513ff6d"
	vs, err := VersionsOf(v)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	dir, zips, err := BuildGoProxy(Options{Root: root, Out: out, Time: time.Date(2026, 10, 30, 15, 31, 54, 0, time.UTC)}, vs)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"github.com/tollgate-dev/tollgate/gen/@v/" + v + ".info",
		"github.com/tollgate-dev/tollgate/gen/@v/" + v + ".mod",
		"github.com/tollgate-dev/tollgate/gen/@latest",
		"github.com/tollgate-dev/tollgate/clients/go/@v/" + v + ".zip",
		"github.com/tollgate-dev/tollgate/clients/go/@v/list",
	} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("the proxy lacks %s: %v", want, err)
		}
	}
	if len(zips) != 2 {
		t.Fatalf("zips %q", zips)
	}
	z, err := zip.OpenReader(zips[1])
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var names []string
	for _, f := range z.File {
		names = append(names, f.Name)
		if strings.HasSuffix(f.Name, "/go.mod") {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), GenModule+" "+v) {
				t.Errorf("the client's go.mod in the zip does not require gen %s:\n%s", v, b)
			}
		}
	}
	prefix := ClientModule + "@" + v + "/"
	if want := []string{prefix + "client.go", prefix + "go.mod"}; !slices.Equal(names, want) {
		t.Errorf("client zip holds %q, want %q (nested modules left out)", names, want)
	}
	mod, err := os.ReadFile(filepath.Join(dir, "github.com/tollgate-dev/tollgate/clients/go/@v/"+v+".mod"))
	if err != nil || !strings.Contains(string(mod), GenModule+" "+v) {
		t.Errorf("the .mod file does not require gen %s (%v):\n%s", v, err, mod)
	}
	if list, _ := os.ReadFile(filepath.Join(dir, "github.com/tollgate-dev/tollgate/gen/@v/list")); len(list) != 0 {
		t.Errorf("a pseudo-version is listed: %q", list)
	}
}
