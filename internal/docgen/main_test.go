package main

import (
	"os"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/service/server"
)

// TestOperationsGuideUpToDate is the drift check: docs/operations.md's
// settings table must be what `make docs` generates from the code.
func TestOperationsGuideUpToDate(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(doc)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(doc) {
		t.Fatal("docs/operations.md's settings table is stale (a setting was added or changed in service/server): run `make docs` and commit the result")
	}
	settings, _ := server.Settings()
	for _, s := range settings {
		if !strings.Contains(string(doc), "`"+s.Env+"`") {
			t.Errorf("docs/operations.md does not mention $%s", s.Env)
		}
	}
}

func TestReplaceBlock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc, want string
		wantErr         bool
	}{
		{name: "replaces the body", doc: "a\nBEGIN\nold\nrows\nEND\nb\n", want: "a\nBEGIN\nnew\nEND\nb\n"},
		{name: "empty body", doc: "BEGIN\nEND\n", want: "BEGIN\nnew\nEND\n"},
		{name: "no markers", doc: "a\n", wantErr: true},
		{name: "end before begin", doc: "END\nBEGIN\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := replaceBlock([]byte(tt.doc), "BEGIN", "END", "new\n")
			if (err != nil) != tt.wantErr || (err == nil && string(got) != tt.want) {
				t.Errorf("replaceBlock = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSettingsTableEscapes(t *testing.T) {
	t.Parallel()
	got := settingsTable([]server.Setting{
		{Flag: "x", Env: "TOLLGATE_X", Type: "string", Usage: "a | b"},
		{Env: "TOLLGATE_Y", Type: "string", Default: "1s", Usage: "y", Secret: true},
	})
	for _, want := range []string{"| `-x` | `TOLLGATE_X` | string | — | a \\| b |", "| (environment only) | `TOLLGATE_Y` | string | `1s` | y |"} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
}
