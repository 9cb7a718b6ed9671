package app

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/version"
)

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	getenv := func(string) string { return "" }
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		var stdout, stderr bytes.Buffer
		if code := Main(context.Background(), args, getenv, &stdout, &stderr); code != ExitOK {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
		out := strings.TrimSpace(stdout.String())
		if want := version.Get().String(); out != want {
			t.Errorf("%v printed %q, want %q", args, out, want)
		}
		if !strings.HasPrefix(out, "tollgate ") || !strings.Contains(out, runtime.Version()) {
			t.Errorf("%v printed %q: want the version and the Go version", args, out)
		}
	}

	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"version", "--json"}, getenv, &stdout, &stderr); code != ExitOK {
		t.Fatalf("version --json: exit %d, stderr %q", code, stderr.String())
	}
	var got version.Info
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("version --json printed %q: %v", stdout.String(), err)
	}
	if got != version.Get() {
		t.Errorf("version --json = %+v, want %+v", got, version.Get())
	}

	stdout.Reset()
	if code := Main(context.Background(), []string{"version", "--bogus"}, getenv, &stdout, &stderr); code != ExitUsage {
		t.Errorf("version --bogus: exit %d, want %d", code, ExitUsage)
	}
}
