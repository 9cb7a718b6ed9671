package clients

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/clientdist"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// clientModules are the only modules whose packages a program using the
// Go client may link, besides its own and the standard library's.
var clientModules = []string{
	clientdist.ClientModule, clientdist.GenModule,
	"connectrpc.com/connect",
	"google.golang.org/protobuf",
	"google.golang.org/grpc",
	"google.golang.org/genproto",
	"google.golang.org/genproto/googleapis/rpc",
	"golang.org/x/net", "golang.org/x/sys", "golang.org/x/text",
}

// serverModules are prefixes of the gateway's own dependencies: none may
// even appear in the module graph of a program using the client (nor the
// gateway's module, github.com/tollgate-dev/tollgate).
var serverModules = []string{
	"github.com/jackc/pgx", "github.com/pgvector/", "github.com/prometheus/",
	"github.com/openai/", "github.com/anthropics/", "github.com/santhosh-tekuri/",
	"connectrpc.com/grpchealth", "connectrpc.com/grpcreflect", "golang.org/x/crypto/x509roots",
}

// goEnv is the environment of the go command in a program outside the
// repository: its own module, no workspace, modules only from goproxy
// (a GOPROXY value) and the module cache, and the tollgate modules' sums
// not looked up in the checksum database (no tag serves them).
func goEnv(goproxy string) []string {
	return []string{
		"GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local",
		"GOPROXY=" + goproxy, "GONOSUMDB=github.com/tollgate-dev/tollgate",
	}
}

// newGoModule creates a module outside the repository whose go.sum already
// holds the client's dependencies' sums (from clients/go and gen), so that
// nothing is looked up.
func (f *fixture) newGoModule(t *testing.T, ctx context.Context, env []string) string {
	t.Helper()
	dir := t.TempDir()
	run(t, command(ctx, dir, env, "go", "mod", "init", "example.com/hello"))
	var sums []string
	for _, m := range []string{"gen", "clients/go"} {
		b, err := os.ReadFile(filepath.Join(f.root, m, "go.sum"))
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	}
	slices.Sort(sums)
	writeFile(t, filepath.Join(dir, "go.sum"), strings.Join(slices.Compact(sums), "\n")+"\n")
	return dir
}

// checkGoDeps fails t if the module in dir links a package outside
// clientModules or has a server module in its module graph.
func checkGoDeps(t *testing.T, ctx context.Context, dir string, env []string) {
	t.Helper()
	out := output(t, command(ctx, dir, env, "go", "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", "./..."))
	linked := map[string]bool{}
	for _, m := range strings.Fields(out) {
		linked[m] = true
	}
	if !linked[clientdist.ClientModule] || !linked[clientdist.GenModule] {
		t.Fatalf("go list -deps does not show the client and gen modules: %q", out)
	}
	for m := range linked {
		if m != "example.com/hello" && !slices.Contains(clientModules, m) {
			t.Errorf("a program using the client links packages of %s", m)
		}
	}
	graph := output(t, command(ctx, dir, env, "go", "list", "-m", "all"))
	for _, line := range strings.Split(graph, "\n") {
		path, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if path == "github.com/tollgate-dev/tollgate" || slices.ContainsFunc(serverModules, func(p string) bool { return strings.HasPrefix(path, p) }) {
			t.Errorf("the module graph of a program using the client holds the server's %s", path)
		}
	}
}

// testGoModule builds a program outside the repository that imports the
// client by its module path, with replace directives to this tree, runs
// it against the gateway, and checks it depends on nothing of the server.
func (f *fixture) testGoModule(t *testing.T) {
	ctx := toolContext(t)
	env := goEnv("off")
	dir := f.newGoModule(t, ctx, env)
	run(t, command(ctx, dir, env, "go", "mod", "edit",
		"-require="+clientdist.ClientModule+"@v0.0.0-00010101000000-000000000000",
		"-replace="+clientdist.ClientModule+"="+filepath.Join(f.root, "clients", "go"),
		"-replace="+clientdist.GenModule+"="+filepath.Join(f.root, "gen")))
	writeFile(t, filepath.Join(dir, "main.go"), goModuleProgram)
	checkGoDeps(t, ctx, dir, env)
	out := run(t, command(ctx, dir, append(env, f.snippetEnv()...), "go", "run", "."))
	for _, want := range []string{"chat: echo: hello module", "stream: echo: stream module", "keys: 1 or more"} {
		if !strings.Contains(out, want) {
			t.Errorf("the program printed %q, want a line %q", out, want)
		}
	}
}

const goModuleProgram = `package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"connectrpc.com/connect"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
)

func main() {
	ctx := context.Background()
	c := tollgate.NewClient(os.Getenv("TOLLGATE_URL"), os.Getenv("TOLLGATE_KEY"))
	reply, err := c.Chat(ctx, "gpt-4o-mini", "hello module")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("chat:", reply)

	stream, err := c.Inference.ChatStream(ctx, connect.NewRequest(&tollgatev1.ChatStreamRequest{
		Request: &tollgatev1.ChatRequest{Model: "gpt-4o-mini", Messages: []*tollgatev1.Message{tollgate.UserMessage("stream module")}},
	}))
	if err != nil {
		log.Fatal(err)
	}
	text := ""
	for stream.Receive() {
		for _, ch := range stream.Msg().GetChoices() {
			text += ch.GetText()
		}
	}
	if err := stream.Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("stream:", text)

	admin := tollgate.NewClient(os.Getenv("TOLLGATE_URL"), os.Getenv("TOLLGATE_ADMIN_TOKEN"))
	keys, err := admin.Admin.ListKeys(ctx, connect.NewRequest(&tollgatev1.ListKeysRequest{}))
	if err != nil {
		log.Fatal(err)
	}
	if len(keys.Msg.GetKeys()) > 0 {
		fmt.Println("keys: 1 or more")
	}
}
`

// testGo installs the Go client from the built modules (GOPROXY=file://)
// into a fresh module outside the repository, as its README says, and
// runs every Go example of the READMEs against the gateway.
func (f *fixture) testGo(t *testing.T) {
	ctx := toolContext(t)
	env := append(goEnv("file://"+filepath.ToSlash(f.art.GoProxy)+",off"), f.snippetEnv()...)
	dir := f.newGoModule(t, ctx, env)
	var programs []block
	for _, b := range f.readmeBlocks(t, "go", "go") {
		switch b.Lang {
		case "sh":
			runBlock(t, ctx, dir, env, b)
		case "go":
			programs = append(programs, b)
			writeFile(t, filepath.Join(dir, "examples", fmt.Sprintf("example%02d", len(programs)), "main.go"), b.Code)
		}
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if want := clientdist.ClientModule + " " + f.art.Versions.Go; !strings.Contains(string(gomod), want) {
		t.Fatalf("after the README's install step go.mod lacks %q:\n%s", want, gomod)
	}
	run(t, command(ctx, dir, env, "go", "build", "-ldflags=-w", "-o", "bin/", "./examples/..."))
	for i, b := range programs {
		t.Logf("%s: running the Go example", b.Where)
		out, err := runErr(t, command(ctx, dir, env, filepath.Join(dir, "bin", fmt.Sprintf("example%02d", i+1))))
		if err != nil {
			t.Fatalf("%s: %v", b.Where, err)
		}
		checkOutput(t, b, out)
	}
	checkGoDeps(t, ctx, dir, env)
}

// testGoProtocols runs the client over the three protocols against the
// gateway, from this module (which uses the client itself).
func (f *fixture) testGoProtocols(t *testing.T) {
	for _, p := range []struct {
		name string
		opts []tollgate.Option
	}{
		{"connect", nil},
		{"grpc", []tollgate.Option{tollgate.WithGRPC()}},
		{"grpc-web", []tollgate.Option{tollgate.WithGRPCWeb()}},
	} {
		t.Run(p.name, func(t *testing.T) {
			ctx := context.Background()
			c := tollgate.NewClient(f.gw.URL, f.key, p.opts...)

			reply, err := c.Chat(ctx, servertest.ChatModel, "hello "+p.name)
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			if want := "echo: hello " + p.name; reply != want {
				t.Fatalf("Chat = %q, want %q", reply, want)
			}

			stream, err := c.Inference.ChatStream(ctx, connect.NewRequest(&tollgatev1.ChatStreamRequest{
				Request: &tollgatev1.ChatRequest{Model: servertest.ChatModel, Messages: []*tollgatev1.Message{tollgate.UserMessage("stream " + p.name)}},
			}))
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			var text strings.Builder
			events := 0
			for stream.Receive() {
				events++
				for _, ch := range stream.Msg().GetChoices() {
					text.WriteString(ch.GetText())
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if want := "echo: stream " + p.name; text.String() != want || events < 3 {
				t.Fatalf("streamed %q in %d events, want %q in 3 or more", text.String(), events, want)
			}

			emb, err := c.Inference.Embed(ctx, connect.NewRequest(&tollgatev1.EmbedRequest{Model: servertest.EmbeddingModel, Inputs: []string{"a", "b"}}))
			if err != nil {
				t.Fatalf("Embed: %v", err)
			}
			if n := len(emb.Msg.GetEmbeddings()); n != 2 || len(emb.Msg.GetEmbeddings()[0].GetValues()) == 0 {
				t.Fatalf("Embed returned %d embeddings: %v", n, emb.Msg)
			}

			admin := tollgate.NewClient(f.gw.URL, f.gw.AdminToken, p.opts...)
			keys, err := admin.Admin.ListKeys(ctx, connect.NewRequest(&tollgatev1.ListKeysRequest{TeamId: servertest.TeamID}))
			if err != nil {
				t.Fatalf("ListKeys: %v", err)
			}
			if len(keys.Msg.GetKeys()) == 0 {
				t.Fatal("ListKeys returned no keys")
			}
			sum, err := c.Usage.GetUsageSummary(ctx, connect.NewRequest(&tollgatev1.GetUsageSummaryRequest{}))
			if err != nil {
				t.Fatalf("GetUsageSummary with the key: %v", err)
			}
			if sum.Msg.GetTotal() == nil {
				t.Fatal("GetUsageSummary returned no total")
			}

			// The key is not an admin token, a wrong key is refused.
			if _, err := c.Admin.ListKeys(ctx, connect.NewRequest(&tollgatev1.ListKeysRequest{})); connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Fatalf("admin call with a virtual key: %v, want unauthenticated", err)
			}
			bad := tollgate.NewClient(f.gw.URL, "tg-not-a-real-key", p.opts...)
			_, err = bad.Chat(ctx, servertest.ChatModel, "hi")
			if connect.CodeOf(err) != connect.CodeUnauthenticated || err.Error() != "unauthenticated: unknown API key" {
				t.Fatalf("Chat with a bad key: %v, want unauthenticated: unknown API key", err)
			}
		})
	}
	for _, r := range f.up.Requests() {
		if got := r.Header.Get("Authorization"); got != "Bearer "+servertest.UpstreamKey && got != "Bearer sk-readme" {
			t.Fatalf("upstream saw Authorization %q", got)
		}
	}
}

// TestGoClientTimeout checks the client's default deadline: unary calls
// get it, streams do not, and a caller's own deadline wins.
func TestGoClientTimeout(t *testing.T) {
	t.Parallel()
	up, upURL := fakeupstream.StartOpenAI(t, fakeupstream.WithChunks(4))
	gw := servertest.Start(t, servertest.Options{})
	key := gw.Setup(t, upURL)

	t.Run("unary calls get the default deadline", func(t *testing.T) {
		up.SetLatency(3 * time.Second)
		defer up.SetLatency(0)
		c := tollgate.NewClient(gw.URL, key, tollgate.WithTimeout(200*time.Millisecond))
		_, err := c.Chat(context.Background(), servertest.ChatModel, "slow")
		if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
			t.Fatalf("Chat: %v, want deadline_exceeded", err)
		}
	})
	t.Run("streams are not cut", func(t *testing.T) {
		up.SetChunkDelay(150 * time.Millisecond)
		defer up.SetChunkDelay(0)
		c := tollgate.NewClient(gw.URL, key, tollgate.WithTimeout(200*time.Millisecond))
		stream, err := c.Inference.ChatStream(context.Background(), connect.NewRequest(&tollgatev1.ChatStreamRequest{
			Request: &tollgatev1.ChatRequest{Model: servertest.ChatModel, Messages: []*tollgatev1.Message{tollgate.UserMessage("a slow stream")}},
		}))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var text strings.Builder
		for stream.Receive() {
			for _, ch := range stream.Msg().GetChoices() {
				text.WriteString(ch.GetText())
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream after %v: %v", time.Since(start), err)
		}
		if text.String() != "echo: a slow stream" {
			t.Fatalf("streamed %q", text.String())
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Fatalf("stream took only %v; the test needs it to outlast the timeout", d)
		}
	})
	t.Run("a caller's deadline wins", func(t *testing.T) {
		up.SetLatency(500 * time.Millisecond)
		defer up.SetLatency(0)
		c := tollgate.NewClient(gw.URL, key, tollgate.WithTimeout(50*time.Millisecond))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.Chat(ctx, servertest.ChatModel, "patient"); err != nil {
			t.Fatalf("Chat with the caller's longer deadline: %v", err)
		}
	})
}
