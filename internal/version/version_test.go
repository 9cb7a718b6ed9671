package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/tollgate-dev/tollgate", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "GOOS", Value: "darwin"}, {Key: "GOARCH", Value: "arm64"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-28T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tests := []struct {
		name                string
		bi                  *debug.BuildInfo
		ldVersion, ldC, ldD string
		want                Info
		wantString          string
	}{
		{
			name: "release build: the linker's values win",
			bi:   vcs, ldVersion: "v1.2.0", ldC: "fedcba9876543210fedcba9876543210fedcba98", ldD: "2026-11-27T09:00:00Z",
			want: Info{Version: "v1.2.0", Commit: "fedcba9876543210fedcba9876543210fedcba98", Date: "2026-11-27T09:00:00Z",
				Modified: true, GoVersion: "go1.26.8", Platform: "darwin/arm64"},
			wantString: "tollgate v1.2.0 (commit fedcba987654 with local changes, built 2026-11-27T09:00:00Z, go1.26.8 darwin/arm64)",
		},
		{
			name: "checkout build: VCS stamps",
			bi:   vcs,
			want: Info{Version: "dev", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-11-28T10:00:00Z",
				Modified: true, GoVersion: "go1.26.8", Platform: "darwin/arm64"},
			wantString: "tollgate dev (commit 0123456789ab with local changes, built 2026-11-28T10:00:00Z, go1.26.8 darwin/arm64)",
		},
		{
			name: "go install module@version",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.3.0"}},
			want: Info{Version: "v1.3.0", GoVersion: "go1.26.8", Platform: runtime.GOOS + "/" + runtime.GOARCH},
		},
		{
			name: "dirty pseudo-version",
			bi:   nil, ldVersion: "v0.0.0-20261128100000-0123456789ab-dirty",
			want: Info{Version: "v0.0.0-20261128100000-0123456789ab-dirty", Modified: true, GoVersion: runtime.Version(),
				Platform: runtime.GOOS + "/" + runtime.GOARCH},
		},
		{
			name:       "nothing known",
			want:       Info{Version: "dev", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH},
			wantString: "tollgate dev (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := resolve(tt.bi, tt.ldVersion, tt.ldC, tt.ldD)
			if got != tt.want {
				t.Errorf("resolve = %+v, want %+v", got, tt.want)
			}
			if tt.wantString != "" && got.String() != tt.wantString {
				t.Errorf("String = %q, want %q", got.String(), tt.wantString)
			}
		})
	}
}
