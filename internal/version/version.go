// Package version reports what a tollgate binary was built from: the
// release version, the commit, the build date and the Go toolchain.
//
// Release builds (make release) set the first three with -ldflags -X; any
// other build falls back to what the Go toolchain records in the binary
// (runtime/debug.ReadBuildInfo): the module version for `go install
// module@version`, and the VCS revision and commit time for a build from a
// Git checkout with -buildvcs.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by make release through -ldflags "-X <package path>.version=...".
// Strings only: the linker cannot set anything else.
var (
	version string
	commit  string
	date    string
)

// Info describes a build.
type Info struct {
	// Version is the release version (v1.2.3, or a pseudo-version for an
	// untagged commit); "dev" when nothing recorded one.
	Version string `json:"version"`
	// Commit is the full VCS revision, empty when unknown.
	Commit string `json:"commit,omitempty"`
	// Date is the commit time in RFC 3339 (UTC): release builds use the
	// commit time, not the wall clock, so that they are reproducible.
	Date string `json:"date,omitempty"`
	// Modified reports a build from a working tree with uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"goVersion"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Get returns the running binary's build information.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(bi, version, commit, date)
}

// resolve merges the linker-set values (which win) with the build info.
func resolve(bi *debug.BuildInfo, ldVersion, ldCommit, ldDate string) Info {
	info := Info{Version: ldVersion, Commit: ldCommit, Date: ldDate, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		var goos, goarch string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.time":
				if info.Date == "" {
					info.Date = s.Value
				}
			case "vcs.modified":
				info.Modified = s.Value == "true"
			case "GOOS":
				goos = s.Value
			case "GOARCH":
				goarch = s.Value
			}
		}
		if goos != "" && goarch != "" {
			info.Platform = goos + "/" + goarch
		}
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if strings.HasSuffix(info.Version, "-dirty") {
		info.Modified = true
	}
	return info
}

// String is the one line `tollgate version` prints, e.g.
//
//	tollgate v1.2.0 (commit 0c1d2e3f4a5b, built 2026-11-28T10:00:00Z, go1.26.8 linux/amd64)
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tollgate %s (", i.Version)
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		fmt.Fprintf(&b, "commit %s", c)
		if i.Modified {
			b.WriteString(" with local changes")
		}
		b.WriteString(", ")
	}
	if i.Date != "" {
		fmt.Fprintf(&b, "built %s, ", i.Date)
	}
	fmt.Fprintf(&b, "%s %s)", i.GoVersion, i.Platform)
	return b.String()
}
