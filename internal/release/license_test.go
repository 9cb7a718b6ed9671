package release

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// root is the repository root, relative to this package.
const root = "../.."

// TestLicenseAgrees checks that the repository is Apache-2.0 and that
// every package published from it says so and ships the same text.
func TestLicenseAgrees(t *testing.T) {
	t.Parallel()
	license, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(license, []byte("Apache License")) || !bytes.Contains(license, []byte("Version 2.0, January 2004")) {
		t.Fatal("LICENSE is not the Apache License 2.0")
	}
	if notice, err := os.ReadFile(filepath.Join(root, "NOTICE")); err != nil || !bytes.Contains(notice, []byte("Apache License, Version 2.0")) {
		t.Errorf("NOTICE must exist and name the licence (err %v)", err)
	}
	for _, copy := range []string{"clients/python/LICENSE", "clients/ts/LICENSE", "clients/go/LICENSE", "gen/LICENSE"} {
		b, err := os.ReadFile(filepath.Join(root, copy))
		if err != nil || !bytes.Equal(b, license) {
			t.Errorf("%s must be a copy of LICENSE (err %v)", copy, err)
		}
	}

	var pkg struct {
		License string   `json:"license"`
		Files   []string `json:"files"`
	}
	readJSON(t, filepath.Join(root, "clients/ts/package.json"), &pkg)
	if pkg.License != "Apache-2.0" {
		t.Errorf("clients/ts/package.json license = %q, want Apache-2.0", pkg.License)
	}
	if !slices.Contains(pkg.Files, "LICENSE") {
		t.Errorf("clients/ts/package.json files = %q: the published package must include LICENSE", pkg.Files)
	}
	var lock struct {
		Packages map[string]struct {
			License string `json:"license"`
		} `json:"packages"`
	}
	readJSON(t, filepath.Join(root, "clients/ts/package-lock.json"), &lock)
	if got := lock.Packages[""].License; got != "Apache-2.0" {
		t.Errorf("clients/ts/package-lock.json license = %q, want Apache-2.0 (run npm install)", got)
	}

	py, err := os.ReadFile(filepath.Join(root, "clients/python/pyproject.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^license = \{ text = "Apache-2\.0" \}$`).Match(py) {
		t.Error(`clients/python/pyproject.toml must declare license = { text = "Apache-2.0" }`)
	}
	if !bytes.Contains(py, []byte(`"License :: OSI Approved :: Apache Software License"`)) {
		t.Error("clients/python/pyproject.toml must carry the Apache licence classifier")
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
