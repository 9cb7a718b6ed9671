// Package ts_test builds the TypeScript client and runs its node:test suite
// against a live gateway over the Connect and gRPC protocols. It needs the
// pinned npm packages in clients/ts/node_modules (make deps runs npm ci).
package ts_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func TestTypeScriptClient(t *testing.T) {
	if _, err := os.Stat("node_modules/.bin/tsc"); err != nil {
		t.Fatalf("clients/ts/node_modules is missing (%v): run 'make deps'", err)
	}
	runLogged(t, exec.Command("node_modules/.bin/tsc", "-p", "tsconfig.json"))

	_, upURL := fakeupstream.StartOpenAI(t, fakeupstream.WithChunks(3))
	gw := servertest.Start(t, servertest.Options{})
	key := gw.Setup(t, upURL)

	cmd := exec.Command("node", "--test", "--test-reporter=spec", "test/")
	cmd.Env = append(os.Environ(),
		"TOLLGATE_URL="+gw.URL,
		"TOLLGATE_KEY="+key,
		"TOLLGATE_ADMIN_TOKEN="+gw.AdminToken,
		"TOLLGATE_TEAM="+servertest.TeamID,
		"TOLLGATE_CHAT_MODEL="+servertest.ChatModel,
	)
	out := runLogged(t, cmd)
	// The live tests skip themselves without a gateway: make sure none did.
	if m := regexp.MustCompile(`(?m)^ℹ skipped (\d+)`).FindStringSubmatch(out); m == nil || m[1] != "0" {
		t.Fatalf("the node suite skipped tests or printed no summary (%q)", m)
	}
	if m := regexp.MustCompile(`(?m)^ℹ pass (\d+)`).FindStringSubmatch(out); m == nil || m[1] == "0" {
		t.Fatal("the node suite passed no test")
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
