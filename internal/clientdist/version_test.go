package clientdist

import "testing"

func TestVersionsOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in                string
		python, npm       string
		release, wantFail bool
	}{
		{in: "v1.2.3", python: "1.2.3", npm: "1.2.3", release: true},
		{in: "v0.1.0", python: "0.1.0", npm: "0.1.0", release: true},
		{in: "v1.2.3-rc.1", python: "1.2.3rc1", npm: "1.2.3-rc.1", release: true},
		{in: "v2.0.0-beta.4", python: "2.0.0b4", npm: "2.0.0-beta.4", release: true},
		{in: "v2.0.0-alpha.1", python: "2.0.0a1", npm: "2.0.0-alpha.1", release: true},
		{in: "v1.2.3-dirty", python: "1.2.3+dirty", npm: "1.2.3-dirty"},
		{in: "v0.0.0-20261030153154-30a33513ff6d", python: "0.0.0.dev20261030153154+g30a33513ff6d", npm: "0.0.0-20261030153154-30a33513ff6d"},
		{in: "v0.0.0-20261030153154-30a33513ff6d-dirty", python: "0.0.0.dev20261030153154+g30a33513ff6d.dirty", npm: "0.0.0-20261030153154-30a33513ff6d-dirty"},
		{in: "v1.2.4-0.20261030153154-30a33513ff6d", python: "1.2.4.dev20261030153154+g30a33513ff6d", npm: "1.2.4-0.20261030153154-30a33513ff6d"},
		{in: "1.2.3", wantFail: true},
		{in: "v1.2", wantFail: true},
		{in: "v1.2.3+build", wantFail: true},
		{in: "v1.2.3-preview", wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := VersionsOf(tt.in)
			if tt.wantFail {
				if err == nil {
					t.Fatalf("VersionsOf(%q) = %+v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Versions{Go: tt.in, Python: tt.python, NPM: tt.npm, Release: tt.release}
			if got != want {
				t.Fatalf("VersionsOf(%q) = %+v, want %+v", tt.in, got, want)
			}
		})
	}
}
