package clientdist

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// Versions is one release's version in each ecosystem's spelling.
type Versions struct {
	// Go is the release version as the gateway and the Go modules carry
	// it: v1.2.3, v1.2.3-rc.1, a pseudo-version for an untagged commit,
	// with "-dirty" for a working tree with uncommitted changes.
	Go string
	// Python is the PEP 440 version of the wheel and sdist: 1.2.3,
	// 1.2.3rc1, 0.0.0.dev20261030153154+g30a33513ff6d.
	Python string
	// NPM is the semantic version of the npm package: 1.2.3, 1.2.3-rc.1,
	// 0.0.0-20261030153154-30a33513ff6d.
	NPM string
	// Release reports a tagged release (not a pseudo-version, not dirty):
	// its Go modules are served from the tags, so clients/go must already
	// require gen at this version.
	Release bool
}

// preRelease matches the pre-release spellings PEP 440 knows.
var preRelease = regexp.MustCompile(`^(alpha|a|beta|b|rc|c)\.?(\d+)$`)

// VersionsOf spells the Go version v (as `make release` computes it) for
// Python and npm.
func VersionsOf(v string) (Versions, error) {
	if !semver.IsValid(v) || semver.Canonical(v) != v {
		return Versions{}, fmt.Errorf("version %q: want a canonical semantic version such as v1.2.3", v)
	}
	vs := Versions{Go: v, NPM: strings.TrimPrefix(v, "v")}
	base, dirty := v, false
	if strings.HasSuffix(v, "-dirty") || strings.HasSuffix(v, ".dirty") {
		base, dirty = v[:len(v)-len("-dirty")], true
	}
	var local []string
	switch {
	case module.IsPseudoVersion(base):
		// A pseudo-version vX.Y.Z-[pre.]0.TIMESTAMP-HASH is before vX.Y.Z:
		// a development release of it.
		ts, err := module.PseudoVersionTime(base)
		if err != nil {
			return Versions{}, fmt.Errorf("version %q: %w", v, err)
		}
		rev, err := module.PseudoVersionRev(base)
		if err != nil {
			return Versions{}, fmt.Errorf("version %q: %w", v, err)
		}
		vs.Python = core(base) + ".dev" + ts.UTC().Format("20060102150405")
		local = append(local, "g"+rev)
	default:
		vs.Python = core(base)
		if pre := strings.TrimPrefix(semver.Prerelease(base), "-"); pre != "" {
			m := preRelease.FindStringSubmatch(pre)
			if m == nil {
				return Versions{}, fmt.Errorf("version %q: pre-release %q has no Python spelling (use alpha.N, beta.N or rc.N)", v, pre)
			}
			vs.Python += map[string]string{"alpha": "a", "a": "a", "beta": "b", "b": "b", "rc": "rc", "c": "rc"}[m[1]] + m[2]
		}
		vs.Release = !dirty
	}
	if dirty {
		local = append(local, "dirty")
	}
	if len(local) > 0 {
		vs.Python += "+" + strings.Join(local, ".")
	}
	return vs, nil
}

// core returns the major.minor.patch of a semantic version, without "v".
func core(v string) string {
	return strings.TrimPrefix(strings.TrimSuffix(v, semver.Prerelease(v)), "v")
}
