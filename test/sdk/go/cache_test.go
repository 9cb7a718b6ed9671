package sdk_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/service/server"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// cacheFixture is a gateway that caches answers by exact match, in front of
// an OpenAI fake.
type cacheFixture struct {
	g    *servertest.Gateway
	fake *fakeupstream.OpenAI
	key  string
}

func startCacheFixture(t *testing.T) *cacheFixture {
	t.Helper()
	fake, url := fakeupstream.StartOpenAI(t)
	g := servertest.Start(t, servertest.Options{Config: func(c *server.Config) { c.Cache.Mode = "exact" }})
	return &cacheFixture{g: g, fake: fake, key: g.Setup(t, url)}
}

// chatCalls counts the chat requests the fake received.
func (f *cacheFixture) chatCalls() int {
	n := 0
	for _, r := range f.fake.Requests() {
		if strings.HasPrefix(r.Path, "/v1/chat/completions") {
			n++
		}
	}
	return n
}

// TestStreamedHitOpenAISDK streams the same request twice through the
// official OpenAI Go SDK: the second is replayed from the cache, through the
// surface's normal encoder, and assembles to the original text.
func TestStreamedHitOpenAISDK(t *testing.T) {
	t.Parallel()
	f := startCacheFixture(t)
	c := openai.NewClient(option.WithBaseURL(f.g.URL+"/v1/"), option.WithAPIKey(f.key), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{
		Model:         servertest.ChatModel,
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("stream me")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}
	stream := func() (string, int, string) {
		t.Helper()
		var resp *http.Response
		s := c.Chat.Completions.NewStreaming(context.Background(), params, option.WithResponseInto(&resp))
		acc, chunks := accumulateOpenAI(t, s)
		if len(acc.Choices) != 1 || acc.Choices[0].FinishReason != "stop" {
			t.Fatalf("assembled %+v", acc.ChatCompletion)
		}
		return acc.Choices[0].Message.Content, chunks, resp.Header.Get("X-Tollgate-Cache")
	}

	f.fake.Apply(fakeupstream.WithReply("A streamed answer, in several chunks."), fakeupstream.WithChunks(5))
	text1, chunks1, status1 := stream()
	f.fake.Apply(fakeupstream.WithReply("not this one"))
	// The replica that served the miss has the entry at once (in-process).
	text2, chunks2, status2 := stream()
	if status1 != "miss" || status2 != "hit-exact" {
		t.Fatalf("statuses %q, %q; want miss, hit-exact", status1, status2)
	}
	if text1 != "A streamed answer, in several chunks." || text2 != text1 || chunks2 != chunks1 {
		t.Fatalf("replay %q in %d chunks, original %q in %d chunks", text2, chunks2, text1, chunks1)
	}
	if n := f.chatCalls(); n != 1 {
		t.Fatalf("upstream saw %d chat requests, want 1", n)
	}
}

// TestStreamedHitAnthropicSDK does the same through the Anthropic Go SDK
// and the Anthropic surface.
func TestStreamedHitAnthropicSDK(t *testing.T) {
	t.Parallel()
	f := startCacheFixture(t)
	c := anthropic.NewClient(aoption.WithBaseURL(f.g.URL), aoption.WithAPIKey(f.key), aoption.WithMaxRetries(0))
	params := anthropic.MessageNewParams{
		Model: anthropic.Model(servertest.ChatModel), MaxTokens: 256,
		System:   []anthropic.TextBlockParam{{Text: "be brief"}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("stream me, claude style"))},
	}
	stream := func() (string, string) {
		t.Helper()
		var resp *http.Response
		s := c.Messages.NewStreaming(context.Background(), params, aoption.WithResponseInto(&resp))
		acc := accumulateAnthropic(t, s)
		if len(acc.Content) != 1 || acc.StopReason != anthropic.StopReasonEndTurn {
			t.Fatalf("assembled %+v", acc)
		}
		return acc.Content[0].Text, resp.Header.Get("X-Tollgate-Cache")
	}

	f.fake.Apply(fakeupstream.WithReply("Streamed for Anthropic clients."), fakeupstream.WithChunks(4))
	text1, status1 := stream()
	f.fake.Apply(fakeupstream.WithReply("not this one"))
	text2, status2 := stream()
	if status1 != "miss" || status2 != "hit-exact" {
		t.Fatalf("statuses %q, %q; want miss, hit-exact", status1, status2)
	}
	if text1 != "Streamed for Anthropic clients." || text2 != text1 {
		t.Fatalf("replay %q, original %q", text2, text1)
	}
	if n := f.chatCalls(); n != 1 {
		t.Fatalf("upstream saw %d chat requests, want 1", n)
	}
}
