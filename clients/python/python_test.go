// Package python_test runs the Python client's unittest suite against a live
// gateway. The suite runs under Debian's /usr/bin/python3 with the
// python3-grpcio and python3-protobuf packages (make deps installs them).
package python_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

const python = "/usr/bin/python3"

func TestPythonClient(t *testing.T) {
	if err := exec.Command(python, "-c", "import grpc, google.protobuf").Run(); err != nil {
		t.Fatalf("%s cannot import grpc and protobuf (%v): run 'make deps'", python, err)
	}
	_, upURL := fakeupstream.StartOpenAI(t, fakeupstream.WithChunks(3))
	gw := servertest.Start(t, servertest.Options{})
	key := gw.Setup(t, upURL)

	cmd := exec.Command(python, "-m", "unittest", "discover", "-v", "-s", "tests")
	cmd.Env = append(os.Environ(),
		"PYTHONPATH=src",
		"PYTHONDONTWRITEBYTECODE=1",
		"TOLLGATE_ADDR="+gw.Addr,
		"TOLLGATE_KEY="+key,
		"TOLLGATE_ADMIN_TOKEN="+gw.AdminToken,
		"TOLLGATE_TEAM="+servertest.TeamID,
		"TOLLGATE_CHAT_MODEL="+servertest.ChatModel,
		"TOLLGATE_EMBED_MODEL="+servertest.EmbeddingModel,
	)
	out := runLogged(t, cmd)
	// The live tests skip themselves without a gateway: make sure none did.
	if strings.Contains(out, "skipped") || !strings.Contains(out, "\nOK") {
		t.Fatalf("the Python suite skipped tests or did not report OK")
	}
}

// runLogged runs cmd, copying its output line by line to the test log, and
// fails the test if it exits non-zero. It returns the output.
func runLogged(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var all strings.Builder
	var wg sync.WaitGroup
	wg.Go(func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			t.Log(sc.Text())
			all.WriteString(sc.Text() + "\n")
		}
		_, _ = io.Copy(io.Discard, pr)
	})
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	return all.String()
}
