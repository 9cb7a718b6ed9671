package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/openai"
)

const testKey = "sk-fake-key-42"

func startFake(t *testing.T, settings map[string]string, opts ...fakeupstream.Option) (*fakeupstream.OpenAI, *openai.Provider) {
	t.Helper()
	fake, base := fakeupstream.StartOpenAI(t, append([]fakeupstream.Option{fakeupstream.WithAPIKey(testKey)}, opts...)...)
	p, err := openai.New(providers.Config{ID: "fake", Type: "openai", BaseURL: base, APIKey: testKey, Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	return fake, p
}

func userReq(text string) *providers.ChatRequest {
	return &providers.ChatRequest{Model: "gpt-4o-mini", Messages: []providers.Message{
		{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart("You are terse.")}},
		{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(text)}},
	}}
}

// collected is a stream folded into one answer.
type collected struct {
	text, reasoning string
	calls           map[int]*providers.ToolCall
	finish          providers.FinishReason
	usage           *providers.Usage
	chunks          int
}

func collect(t *testing.T, s providers.Stream) (collected, error) {
	t.Helper()
	c := collected{calls: map[int]*providers.ToolCall{}}
	for {
		ch, err := s.Recv()
		if err != nil {
			return c, err
		}
		c.chunks++
		if ch.Usage != nil {
			c.usage = ch.Usage
		}
		for _, d := range ch.Choices {
			c.text += d.Text
			c.reasoning += d.Reasoning
			if d.FinishReason != "" {
				c.finish = d.FinishReason
			}
			for _, tc := range d.ToolCalls {
				call := c.calls[tc.Index]
				if call == nil {
					call = &providers.ToolCall{}
					c.calls[tc.Index] = call
				}
				if tc.ID != "" {
					call.ID = tc.ID
				}
				if tc.Name != "" {
					call.Name = tc.Name
				}
				call.Arguments += tc.Arguments
			}
		}
	}
}

func TestAgainstFakeUnaryAndStreamAgree(t *testing.T) {
	t.Parallel()
	fake, p := startFake(t, nil, fakeupstream.WithChunks(5), fakeupstream.WithReasoning("thinking it over"))
	ctx := context.Background()

	resp, err := p.Chat(ctx, userReq("hello world"))
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	if msg.Text() != "echo: hello world" || resp.Choices[0].FinishReason != providers.FinishStop {
		t.Errorf("unary answer = %q (%s)", msg.Text(), resp.Choices[0].FinishReason)
	}
	if len(msg.Content) != 2 || msg.Content[0].Type != providers.PartReasoning || msg.Content[0].Text != "thinking it over" {
		t.Errorf("unary reasoning = %+v", msg.Content)
	}
	if resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 || resp.Usage.ReasoningTokens == 0 || resp.Model != "gpt-4o-mini" || resp.ID == "" {
		t.Errorf("unary response = %+v", resp)
	}

	s, err := p.ChatStream(ctx, userReq("hello world"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := collect(t, s)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v", err)
	}
	if got.text != "echo: hello world" || got.reasoning != "thinking it over" || got.finish != providers.FinishStop {
		t.Errorf("stream answer = %+v", got)
	}
	if got.usage == nil || *got.usage != resp.Usage {
		t.Errorf("stream usage %+v differs from unary %+v", got.usage, resp.Usage)
	}
	if got.chunks < 5 {
		t.Errorf("only %d chunks; the reply should arrive in pieces", got.chunks)
	}
	if s.Header().Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Errorf("stream header = %v", s.Header())
	}

	reqs := fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("fake saw %d requests", len(reqs))
	}
	for _, r := range reqs {
		if r.Method != http.MethodPost || r.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer "+testKey {
			t.Errorf("upstream saw %s %s auth %q", r.Method, r.Path, r.Header.Get("Authorization"))
		}
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(reqs[1].Body, &body); err != nil {
		t.Fatal(err)
	}
	if string(body["stream"]) != "true" || string(body["stream_options"]) != `{"include_usage":true}` {
		t.Errorf("stream body = %s", reqs[1].Body)
	}
	if strings.Contains(string(reqs[0].Body), "stream") {
		t.Errorf("unary body mentions stream: %s", reqs[0].Body)
	}
}

func TestAgainstFakeStreamWithoutUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		settings    map[string]string
		opts        []fakeupstream.Option
		wantOptions bool
	}{
		{name: "upstream omits usage", opts: []fakeupstream.Option{fakeupstream.WithStreamUsage(false)}, wantOptions: true},
		{name: "stream_usage setting off", settings: map[string]string{"stream_usage": "false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, p := startFake(t, tt.settings, tt.opts...)
			s, err := p.ChatStream(context.Background(), userReq("hi"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := collect(t, s)
			if !errors.Is(err, io.EOF) || got.text != "echo: hi" || got.usage != nil {
				t.Fatalf("got %+v, %v; want text without usage", got, err)
			}
			r, _ := fake.LastRequest()
			if has := strings.Contains(string(r.Body), `"stream_options"`); has != tt.wantOptions {
				t.Errorf("body %s: stream_options present = %v, want %v", r.Body, has, tt.wantOptions)
			}
		})
	}
}

func TestAgainstFakeToolRoundTrip(t *testing.T) {
	t.Parallel()
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "unary", true: "stream"}[stream]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, p := startFake(t, nil, fakeupstream.WithChunks(3))
			ctx := context.Background()
			req := userReq("please call get_weather for Paris")
			req.Tools = []providers.Tool{
				{Name: "get_time", Parameters: json.RawMessage(`{"type":"object"}`)},
				{Name: "get_weather", Description: "weather", Parameters: json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}}}`)},
			}
			call, finish := ask(t, ctx, p, req, stream)
			if finish != providers.FinishToolCalls || call.Name != "get_weather" || call.ID == "" ||
				call.Arguments != `{"text":"please call get_weather for Paris"}` {
				t.Fatalf("tool call = %+v (%s)", call, finish)
			}
			req.Messages = append(req.Messages,
				providers.Message{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{call}},
				providers.Message{Role: providers.RoleTool, ToolCallID: call.ID, Content: []providers.Part{providers.TextPart("18°C, sunny")}})
			answer, finish := ask(t, ctx, p, req, stream)
			if finish != providers.FinishStop || answer.Arguments != "The tool get_weather returned: 18°C, sunny" {
				t.Errorf("final answer = %q (%s)", answer.Arguments, finish)
			}
		})
	}
}

// ask returns the tool call, or the text in Arguments, and the finish reason.
func ask(t *testing.T, ctx context.Context, p *openai.Provider, req *providers.ChatRequest, stream bool) (providers.ToolCall, providers.FinishReason) {
	t.Helper()
	if !stream {
		resp, err := p.Chat(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		c := resp.Choices[0]
		if len(c.Message.ToolCalls) == 1 {
			return c.Message.ToolCalls[0], c.FinishReason
		}
		return providers.ToolCall{Arguments: c.Message.Text()}, c.FinishReason
	}
	s, err := p.ChatStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := collect(t, s)
	if !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if len(got.calls) == 1 {
		return *got.calls[0], got.finish
	}
	return providers.ToolCall{Arguments: got.text}, got.finish
}

func TestAgainstFakeEmbeddingsAndModels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("hashed vectors", func(t *testing.T) {
		t.Parallel()
		fake, p := startFake(t, nil)
		resp, err := p.Embed(ctx, &providers.EmbedRequest{Model: "text-embedding-3-small", Inputs: []string{"alpha", "beta", "gamma"}, Dimensions: ptr(16)})
		if err != nil {
			t.Fatal(err)
		}
		for i, in := range []string{"alpha", "beta", "gamma"} {
			if !reflect.DeepEqual(resp.Vectors[i], fakeupstream.HashVector(in, 16)) {
				t.Errorf("vector %d does not match its input", i)
			}
		}
		if resp.Usage.InputTokens != 5 || resp.Model != "text-embedding-3-small" {
			t.Errorf("response = %+v", resp)
		}
		r, _ := fake.LastRequest()
		if !strings.Contains(string(r.Body), `"encoding_format":"float"`) || !strings.Contains(string(r.Body), `"dimensions":16`) {
			t.Errorf("embedding body = %s", r.Body)
		}
	})
	t.Run("callback vectors", func(t *testing.T) {
		t.Parallel()
		_, p := startFake(t, nil, fakeupstream.WithEmbedFunc(func(in string) []float32 { return []float32{float32(len(in)), 0.5} }))
		resp, err := p.Embed(ctx, &providers.EmbedRequest{Model: "e", Inputs: []string{"abc", "a"}})
		if err != nil {
			t.Fatal(err)
		}
		want := [][]float32{{3, 0.5}, {1, 0.5}}
		if !reflect.DeepEqual(resp.Vectors, want) {
			t.Errorf("vectors = %v, want %v", resp.Vectors, want)
		}
	})
	t.Run("models", func(t *testing.T) {
		t.Parallel()
		_, p := startFake(t, nil, fakeupstream.WithModels("a", "b"))
		ids, err := p.ListModels(ctx)
		if err != nil || !reflect.DeepEqual(ids, []string{"a", "b"}) {
			t.Errorf("ListModels = %v, %v", ids, err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestAgainstFakeFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      fakeupstream.Fault
		stream     bool
		embed      bool
		kind       providers.ErrorKind
		status     int
		retryable  bool
		retryAfter time.Duration
		header     string
	}{
		{name: "429 retry-after", fault: fakeupstream.RateLimitFault(2 * time.Second), kind: providers.KindRateLimited,
			status: 429, retryable: true, retryAfter: 2 * time.Second, header: "X-Ratelimit-Remaining-Requests"},
		{name: "429 on stream", fault: fakeupstream.StatusFault(429), stream: true, kind: providers.KindRateLimited,
			status: 429, retryable: true, retryAfter: time.Second},
		{name: "429 quota", fault: fakeupstream.QuotaFault(), kind: providers.KindRateLimited, status: 429, retryable: true},
		{name: "400 not retryable", fault: fakeupstream.StatusFault(400), kind: providers.KindInvalidRequest, status: 400},
		{name: "401", fault: fakeupstream.StatusFault(401), kind: providers.KindAuthentication, status: 401},
		{name: "404 model", fault: fakeupstream.StatusFault(404), embed: true, kind: providers.KindNotFound, status: 404},
		{name: "500", fault: fakeupstream.StatusFault(500), kind: providers.KindServer, status: 500, retryable: true},
		{name: "503", fault: fakeupstream.StatusFault(503), stream: true, kind: providers.KindOverloaded, status: 503, retryable: true},
		{name: "reset unary", fault: fakeupstream.ResetFault(), kind: providers.KindConnection, retryable: true},
		{name: "reset stream", fault: fakeupstream.ResetFault(), stream: true, kind: providers.KindConnection, retryable: true},
		{name: "reset embeddings", fault: fakeupstream.ResetFault(), embed: true, kind: providers.KindConnection, retryable: true},
		{name: "unary body cut", fault: fakeupstream.DieAfterFault(0), kind: providers.KindConnection, retryable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, p := startFake(t, nil)
			fake.Enqueue(tt.fault)
			ctx := context.Background()
			var err error
			switch {
			case tt.embed:
				_, err = p.Embed(ctx, &providers.EmbedRequest{Model: "e", Inputs: []string{"x"}})
			case tt.stream:
				_, err = p.ChatStream(ctx, userReq("x"))
			default:
				_, err = p.Chat(ctx, userReq("x"))
			}
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *providers.Error", err)
			}
			if pe.Kind != tt.kind || pe.Status != tt.status || pe.Provider != "fake" || providers.IsRetryable(err) != tt.retryable {
				t.Errorf("got kind %v status %d provider %q retryable %v; want %v %d fake %v",
					pe.Kind, pe.Status, pe.Provider, providers.IsRetryable(err), tt.kind, tt.status, tt.retryable)
			}
			if pe.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", pe.RetryAfter, tt.retryAfter)
			}
			if tt.header != "" && pe.Header.Get(tt.header) == "" {
				t.Errorf("rate-limit header %s not passed on: %v", tt.header, pe.Header)
			}
			if tt.status != 0 && pe.Message == "" {
				t.Error("empty message")
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error leaks the key: %v", err)
			}
			// The next request succeeds: faults are consumed one per request.
			if _, err := p.Chat(ctx, userReq("again")); err != nil {
				t.Errorf("request after the fault: %v", err)
			}
		})
	}
}

func TestAgainstFakeWrongKey(t *testing.T) {
	t.Parallel()
	_, base := fakeupstream.StartOpenAI(t, fakeupstream.WithAPIKey("sk-expected"))
	p, err := openai.New(providers.Config{ID: "fake", BaseURL: base, APIKey: "sk-wrong-one"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Chat(context.Background(), userReq("x"))
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindAuthentication || pe.Code != "invalid_api_key" || providers.IsRetryable(err) {
		t.Fatalf("err = %v, want non-retryable invalid_api_key", err)
	}
}

func TestAgainstFakeMidStreamFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fault  fakeupstream.Fault
		chunks int
		kind   providers.ErrorKind
	}{
		{name: "connection dies", fault: fakeupstream.DieAfterFault(2), chunks: 2, kind: providers.KindConnection},
		{name: "ends without done", fault: fakeupstream.Fault{Kind: fakeupstream.FaultDieMidStream, AfterChunks: 3, Graceful: true},
			chunks: 3, kind: providers.KindConnection},
		{name: "error event", fault: fakeupstream.StreamErrorFault(1), chunks: 1, kind: providers.KindServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, p := startFake(t, nil, fakeupstream.WithChunks(6))
			fake.Enqueue(tt.fault)
			s, err := p.ChatStream(context.Background(), userReq("a longer message to split"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := collect(t, s)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != tt.kind || !providers.IsRetryable(err) {
				t.Fatalf("err = %v, want retryable kind %v", err, tt.kind)
			}
			if got.chunks != tt.chunks {
				t.Errorf("received %d chunks before the failure, want %d", got.chunks, tt.chunks)
			}
		})
	}
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, func() error {
		if !cond() {
			return fmt.Errorf("waiting for %s", what)
		}
		return nil
	})
}

func TestAgainstFakeCancellationReachesUpstream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, fake *fakeupstream.OpenAI, p *openai.Provider)
	}{
		{
			name: "cancel mid-stream",
			run: func(t *testing.T, fake *fakeupstream.OpenAI, p *openai.Provider) {
				fake.SetChunkDelay(50 * time.Millisecond)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				s, err := p.ChatStream(ctx, userReq("stream me slowly please"))
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if _, err := s.Recv(); err != nil {
					t.Fatal(err)
				}
				cancel()
				var rerr error
				for rerr == nil {
					_, rerr = s.Recv()
				}
				if !errors.Is(rerr, context.Canceled) {
					t.Errorf("Recv after cancel = %v, want context.Canceled", rerr)
				}
			},
		},
		{
			name: "close mid-stream",
			run: func(t *testing.T, fake *fakeupstream.OpenAI, p *openai.Provider) {
				fake.SetChunkDelay(50 * time.Millisecond)
				s, err := p.ChatStream(context.Background(), userReq("stream me slowly please"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Recv(); err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Recv(); !errors.Is(err, openai.ErrStreamClosed) {
					t.Errorf("Recv after Close = %v", err)
				}
			},
		},
		{
			name: "deadline while upstream hangs",
			run: func(t *testing.T, fake *fakeupstream.OpenAI, p *openai.Provider) {
				fake.Enqueue(fakeupstream.HangFault())
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancel()
				_, err := p.Chat(ctx, userReq("x"))
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err = %v, want context.DeadlineExceeded", err)
				}
			},
		},
		{
			name: "cancel during first-byte latency",
			run: func(t *testing.T, fake *fakeupstream.OpenAI, p *openai.Provider) {
				fake.SetLatency(time.Minute)
				ctx, cancel := context.WithCancel(context.Background())
				go func() {
					waitFor(t, "request in flight", func() bool { return fake.InFlight() == 1 })
					cancel()
				}()
				_, err := p.ChatStream(ctx, userReq("x"))
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want context.Canceled", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, p := startFake(t, nil)
			tt.run(t, fake, p)
			waitFor(t, "upstream to notice the cancellation", func() bool { return fake.Cancelled() == 1 })
			waitFor(t, "no request in flight", func() bool { return fake.InFlight() == 0 })
		})
	}
}
