// Package systemd holds the tests of the systemd unit beside it.
package systemd

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/service/server"
)

// TestUnitVerifies runs systemd-analyze on the unit: verify (syntax,
// directives, the command) and security (the exposure score of its
// sandboxing must stay at 2.0 "OK" or better).
func TestUnitVerifies(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	unit, err := os.ReadFile("tollgate.service")
	if err != nil {
		t.Fatal(err)
	}
	// The unit names the installed binary and env file; point them at
	// files that exist here (this test binary stands in for tollgate).
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := filepath.Join(dir, "tollgate.env")
	if err := os.WriteFile(env, mustRead(t, "tollgate.env.example"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("ExecStart=/usr/local/bin/tollgate ", "ExecStart="+self+" ",
		"EnvironmentFile=/etc/tollgate/tollgate.env", "EnvironmentFile="+env).Replace(string(unit))
	path := filepath.Join(dir, "tollgate.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(analyze, "security", "--offline=yes", "--threshold=20", path).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: %v\n%s", err, out)
	}
	t.Logf("%s", lastLine(string(out)))
}

// TestUnitSettings checks the unit against the gateway's settings: every
// variable in the example environment file is one the gateway reads, the
// required secrets are there, and systemd waits longer than the drain.
func TestUnitSettings(t *testing.T) {
	t.Parallel()
	settings, err := server.Settings()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]string{}
	for _, s := range settings {
		known[s.Env] = s.Default
	}
	vars := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(mustRead(t, "tollgate.env.example"))))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("malformed line %q", line)
			continue
		}
		if _, ok := known[k]; !ok {
			t.Errorf("the example sets $%s, which the gateway does not read", k)
		}
		vars[k] = v
	}
	for _, k := range []string{"TOLLGATE_DATABASE_URL", "TOLLGATE_MASTER_KEY", "TOLLGATE_ADMIN_TOKEN", "TOLLGATE_LISTEN_ADDR"} {
		if _, ok := vars[k]; !ok {
			t.Errorf("the example lacks $%s", k)
		}
	}

	unit := string(mustRead(t, "tollgate.service"))
	directive := func(name string) string {
		for l := range strings.Lines(unit) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+"="); ok {
				return v
			}
		}
		t.Errorf("the unit lacks %s", name)
		return ""
	}
	stop, err := time.ParseDuration(directive("TimeoutStopSec"))
	if err != nil {
		t.Fatal(err)
	}
	drain, err := time.ParseDuration(vars["TOLLGATE_SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Fatal(err)
	}
	if stop < drain+5*time.Second {
		t.Errorf("TimeoutStopSec %s must exceed the drain (%s) with time to flush records", stop, drain)
	}
	for name, want := range map[string]string{
		"DynamicUser": "yes", "ProtectSystem": "strict", "NoNewPrivileges": "yes", "CapabilityBoundingSet": "",
		"Environment": "TOLLGATE_SPILL_DIR=/var/lib/tollgate/spill", "StateDirectory": "tollgate tollgate/spill",
	} {
		if got := directive(name); got != want {
			t.Errorf("%s=%s, want %s", name, got, want)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
