package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCommandsFromEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, perm os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), perm); err != nil {
			t.Fatal(err)
		}
	}
	write("tollgate", 0o755)
	write("fakeupstream", 0o755)
	write("notes", 0o644)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		names []string
		want  bool
	}{
		{[]string{"tollgate"}, true},
		{[]string{"tollgate", "fakeupstream"}, true},
		{[]string{"tollgate", "missing"}, false},
		{[]string{"notes"}, false}, // not executable
		{[]string{"sub"}, false},   // not a file
	}
	for _, tt := range tests {
		if got := hasAll(dir, tt.names); got != tt.want {
			t.Errorf("hasAll(%v) = %v, want %v", tt.names, got, tt.want)
		}
	}
	t.Setenv(CommandsEnv, dir)
	if got := Commands(t, "tollgate", "fakeupstream"); got != dir {
		t.Errorf("Commands with %s set = %q, want %q", CommandsEnv, got, dir)
	}
	if got := Command(t, "tollgate"); got != filepath.Join(dir, "tollgate") {
		t.Errorf("Command = %q", got)
	}
}
