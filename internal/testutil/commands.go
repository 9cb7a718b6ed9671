package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CommandsEnv names the directory of prebuilt binaries of this module's
// commands (cmd/...). make test builds them once into .bin and sets it, so
// that the tests that run the real binaries share one build instead of
// each linking its own.
const CommandsEnv = "TOLLGATE_TEST_COMMANDS"

// modulePath is the import path prefix of this module's commands.
const modulePath = "github.com/tollgate-dev/tollgate/cmd/"

// Commands returns a directory that holds the binaries of the named
// commands of this module (cmd/<name>, e.g. "tollgate"), built from this
// checkout: the directory [CommandsEnv] names when it holds them all, else
// a temporary directory of t's that they are built into (the build cache
// makes every build after the first quick).
func Commands(t testing.TB, names ...string) string {
	t.Helper()
	if dir := os.Getenv(CommandsEnv); dir != "" && hasAll(dir, names) {
		return dir
	}
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, n := range names {
		args = append(args, modulePath+n)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", names, err, out)
	}
	return dir
}

// Command returns the path of the binary of the command name of this
// module (cmd/<name>), as [Commands] provides it.
func Command(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(Commands(t, name), name)
}

// hasAll reports whether dir holds a regular, executable file for each name.
func hasAll(dir string, names []string) bool {
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}
