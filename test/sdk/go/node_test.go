package sdk_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// nodeDir is the Node SDK suite, relative to this package.
const nodeDir = "../node"

// TestNodeSDK runs test/sdk/node/openai.test.mjs (the official OpenAI
// Node SDK) against a gateway and its fakes. The other suites in that
// folder have Go tests of their own (TestAnthropicNode, TestLosslessNode).
func TestNodeSDK(t *testing.T) {
	t.Parallel()
	node, dir := nodeWithSDKs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := startFixture(t, fakeupstream.WithReply(reply), fakeupstream.WithChunks(6))
	env := map[string]string{
		"TOLLGATE_URL":             f.g.URL,
		"TOLLGATE_KEY":             f.key,
		"TOLLGATE_CHAT_MODEL":      servertest.ChatModel,
		"TOLLGATE_EMBEDDING_MODEL": servertest.EmbeddingModel,
		"TOLLGATE_REPLY":           reply,
		"TOLLGATE_FAIL_429_MODEL":  ModelFail429,
		"TOLLGATE_FAIL_500_MODEL":  ModelFail500,
	}
	run(t, exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "openai.test.mjs"), dir, env)
}

// run runs cmd in dir with env added, streaming its output into the test
// log, and fails the test on a non-zero exit.
func run(t *testing.T, cmd *exec.Cmd, dir string, env map[string]string) {
	t.Helper()
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var wg sync.WaitGroup
	wg.Go(func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	})
	err := cmd.Run()
	_ = pw.Close()
	wg.Wait()
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
}
