package tollgate_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgate "github.com/tollgate-dev/tollgate/clients/go"
	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// protocols are the client configurations every live test runs with.
var protocols = []struct {
	name string
	opts []tollgate.Option
}{
	{"connect", nil},
	{"grpc", []tollgate.Option{tollgate.WithGRPC()}},
	{"grpc-web", []tollgate.Option{tollgate.WithGRPCWeb()}},
}

func TestClientAgainstGateway(t *testing.T) {
	t.Parallel()
	up, upURL := fakeupstream.StartOpenAI(t, fakeupstream.WithChunks(3))
	gw := servertest.Start(t, servertest.Options{})
	key := gw.Setup(t, upURL)
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			ctx := context.Background()
			c := tollgate.NewClient(gw.URL, key, p.opts...)

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

			admin := tollgate.NewClient(gw.URL, gw.AdminToken, p.opts...)
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
			bad := tollgate.NewClient(gw.URL, "tg-not-a-real-key", p.opts...)
			if _, err := bad.Chat(ctx, servertest.ChatModel, "hi"); connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Fatalf("Chat with a bad key: %v, want unauthenticated", err)
			}
		})
	}
	for _, r := range up.Requests() {
		if got := r.Header.Get("Authorization"); got != "Bearer "+servertest.UpstreamKey {
			t.Fatalf("upstream saw Authorization %q", got)
		}
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	up, upURL := fakeupstream.StartOpenAI(t, fakeupstream.WithChunks(4))
	gw := servertest.Start(t, servertest.Options{})
	key := gw.Setup(t, upURL)

	t.Run("unary calls get the default deadline", func(t *testing.T) {
		up.SetLatency(3 * time.Second)
		defer up.SetLatency(0)
		c := tollgate.NewClient(gw.URL, key, tollgate.WithTimeout(200*time.Millisecond))
		start := time.Now()
		_, err := c.Chat(context.Background(), servertest.ChatModel, "slow")
		if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
			t.Fatalf("Chat: %v, want deadline_exceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Chat took %v: the timeout was not applied", d)
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
