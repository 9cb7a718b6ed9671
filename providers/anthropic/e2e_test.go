package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/anthropic"
	"github.com/tollgate-dev/tollgate/providers/anthropic/anthropictest"
)

const testKey = "sk-ant-api03-e2e-secret"

// setup starts a fake requiring testKey and an adapter pointing at it.
func setup(t *testing.T, settings map[string]string, opts ...anthropictest.Option) (*anthropictest.Server, *anthropic.Provider) {
	t.Helper()
	fake, base := anthropictest.Start(t, append([]anthropictest.Option{anthropictest.WithAPIKey(testKey)}, opts...)...)
	p, err := anthropic.New(providers.Config{ID: "claude", Type: "anthropic", BaseURL: base, APIKey: testKey, Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	return fake, p
}

func userMsg(text string) providers.Message {
	return providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(text)}}
}

func chatReq(msgs ...providers.Message) *providers.ChatRequest {
	return &providers.ChatRequest{Model: "claude-sonnet-4-5", Messages: msgs}
}

// collect drains a stream and assembles it.
type collected struct {
	chunks    int
	text      string
	reasoning string
	signature string
	calls     []providers.ToolCall
	finish    providers.FinishReason
	usage     *providers.Usage
	err       error
}

func collect(s providers.Stream) collected {
	var c collected
	for {
		ch, err := s.Recv()
		if err != nil {
			if err != io.EOF {
				c.err = err
			}
			return c
		}
		c.chunks++
		if ch.Usage != nil {
			c.usage = ch.Usage
		}
		for _, d := range ch.Choices {
			c.text += d.Text
			c.reasoning += d.Reasoning
			c.signature += d.ReasoningSignature
			if d.FinishReason != "" {
				c.finish = d.FinishReason
			}
			for _, tc := range d.ToolCalls {
				for len(c.calls) <= tc.Index {
					c.calls = append(c.calls, providers.ToolCall{})
				}
				call := &c.calls[tc.Index]
				if tc.ID != "" {
					call.ID, call.Name = tc.ID, tc.Name
				}
				call.Arguments += tc.Arguments
			}
		}
	}
}

func TestChatAgainstFake(t *testing.T) {
	t.Parallel()
	fake, p := setup(t, map[string]string{"beta": "prompt-caching-2024-07-31"})
	resp, err := p.Chat(t.Context(), chatReq(userMsg("Hello, Claude")))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Text(); got != "echo: Hello, Claude" {
		t.Errorf("text = %q", got)
	}
	if resp.Choices[0].FinishReason != providers.FinishStop || !strings.HasPrefix(resp.ID, "msg_") || resp.Model != "claude-sonnet-4-5" {
		t.Errorf("response = %+v", resp)
	}
	if u := resp.Usage; u.InputTokens == 0 || u.OutputTokens != 5 {
		t.Errorf("usage = %+v", u)
	}
	r, _ := fake.LastRequest()
	for k, want := range map[string]string{"X-Api-Key": testKey, "Anthropic-Version": "2023-06-01",
		"Anthropic-Beta": "prompt-caching-2024-07-31", "Content-Type": "application/json"} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if r.Method != http.MethodPost || r.Path != "/v1/messages" || !strings.Contains(string(r.Body), `"max_tokens":4096`) {
		t.Errorf("request = %s %s %s", r.Method, r.Path, r.Body)
	}
}

func TestStreamAgainstFake(t *testing.T) {
	t.Parallel()
	fake, p := setup(t, nil, anthropictest.WithChunks(4))
	req := chatReq(userMsg("Stream this reply please"))
	s, err := p.ChatStream(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := collect(s)
	if got.err != nil {
		t.Fatal(got.err)
	}
	// role, 4 text deltas, final.
	if got.text != "echo: Stream this reply please" || got.chunks != 6 || got.finish != providers.FinishStop {
		t.Errorf("stream = %+v", got)
	}
	unary, err := p.Chat(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.usage == nil || *got.usage != unary.Usage {
		t.Errorf("stream usage %+v != unary usage %+v", got.usage, unary.Usage)
	}
	if r := fake.Requests()[0]; r.Header.Get("Accept") != "text/event-stream" || !strings.Contains(string(r.Body), `"stream":true`) {
		t.Errorf("stream request = %v %s", r.Header, r.Body)
	}
}

func TestStreamIsNotBuffered(t *testing.T) {
	t.Parallel()
	const delay = 150 * time.Millisecond
	_, p := setup(t, nil, anthropictest.WithChunks(4), anthropictest.WithChunkDelay(delay))
	start := time.Now()
	s, err := p.ChatStream(t.Context(), chatReq(userMsg("slow")))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	// The whole stream has 13 events, so it takes over 12 delays; the
	// first chunk must arrive long before that.
	if elapsed := time.Since(start); elapsed > 4*delay {
		t.Errorf("first chunk after %v: the stream was buffered", elapsed)
	}
}

func TestToolRoundTrip(t *testing.T) {
	t.Parallel()
	fake, p := setup(t, nil, anthropictest.WithChunks(5))
	tools := []providers.Tool{{Name: "get_weather", Description: "Current weather",
		Parameters: json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}}}`)}}
	req := chatReq(userMsg("Please call get_weather for Paris"))
	req.Tools = tools
	s, err := p.ChatStream(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	got := collect(s)
	s.Close()
	if got.err != nil || got.finish != providers.FinishToolCalls || len(got.calls) != 1 {
		t.Fatalf("stream = %+v", got)
	}
	call := got.calls[0]
	if call.Name != "get_weather" || !strings.HasPrefix(call.ID, "toolu_") || call.Arguments != `{"text":"Please call get_weather for Paris"}` {
		t.Errorf("call = %+v", call)
	}
	// Answer the call; the fake checks that the tool_result matches the tool_use.
	next := chatReq(req.Messages[0],
		providers.Message{Role: providers.RoleAssistant, ToolCalls: got.calls},
		providers.Message{Role: providers.RoleTool, ToolCallID: call.ID, Content: []providers.Part{providers.TextPart("18°C and sunny")}})
	next.Tools = tools
	resp, err := p.Chat(t.Context(), next)
	if err != nil {
		t.Fatal(err)
	}
	if text := resp.Choices[0].Message.Text(); text != "The tool get_weather returned: 18°C and sunny" {
		t.Errorf("answer = %q", text)
	}
	unary, err := p.Chat(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if tc := unary.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0] != call {
		t.Errorf("unary calls %+v != streamed %+v", tc, call)
	}
	if n := len(fake.Requests()); n != 3 {
		t.Errorf("requests = %d", n)
	}
}

func TestThinkingRoundTrip(t *testing.T) {
	t.Parallel()
	_, p := setup(t, nil)
	req := chatReq(userMsg("What is 2+2?"))
	req.Reasoning = &providers.ReasoningConfig{Effort: "low"}
	resp, err := p.Chat(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	if len(msg.Content) != 2 || msg.Content[0].Type != providers.PartReasoning || msg.Content[0].Signature == "" ||
		msg.Content[0].Text != "Thinking about: What is 2+2?" {
		t.Fatalf("message = %+v", msg)
	}
	s, err := p.ChatStream(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	got := collect(s)
	s.Close()
	if got.reasoning != msg.Content[0].Text || got.signature != msg.Content[0].Signature || got.text != msg.Text() {
		t.Errorf("stream %+v differs from unary %+v", got, msg)
	}
	// Sending the signed thinking back is accepted; a tampered one is not.
	follow := chatReq(req.Messages[0], msg, userMsg("And 3+3?"))
	follow.Reasoning = req.Reasoning
	if _, err := p.Chat(t.Context(), follow); err != nil {
		t.Fatalf("replaying signed thinking: %v", err)
	}
	follow.Messages[1].Content[0].Text += " (edited)"
	var pe *providers.Error
	if _, err := p.Chat(t.Context(), follow); !errors.As(err, &pe) || pe.Kind != providers.KindInvalidRequest {
		t.Fatalf("tampered thinking: err = %v", err)
	}
}

func TestPromptCachingUsage(t *testing.T) {
	t.Parallel()
	_, p := setup(t, nil)
	req := chatReq(
		providers.Message{Role: providers.RoleSystem, Content: []providers.Part{
			{Type: providers.PartText, Text: strings.Repeat("You answer questions about a long manual. ", 30), CacheBreakpoint: true}}},
		userMsg("Question one"))
	first, err := p.Chat(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := p.Chat(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Usage.CacheWriteTokens == 0 || first.Usage.CachedInputTokens != 0 {
		t.Errorf("first usage = %+v, want a cache write", first.Usage)
	}
	if second.Usage.CachedInputTokens != first.Usage.CacheWriteTokens || second.Usage.CacheWriteTokens != 0 {
		t.Errorf("second usage = %+v, want a cache read", second.Usage)
	}
	if first.Usage.InputTokens != second.Usage.InputTokens {
		t.Errorf("canonical input tokens must count the whole prompt: %d vs %d", first.Usage.InputTokens, second.Usage.InputTokens)
	}
	n, err := p.CountTokens(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if n != first.Usage.InputTokens {
		t.Errorf("CountTokens = %d, want %d", n, first.Usage.InputTokens)
	}
}

func TestListModels(t *testing.T) {
	t.Parallel()
	ids := make([]string, 1500)
	for i := range ids {
		ids[i] = fmt.Sprintf("claude-model-%04d", i)
	}
	fake, p := setup(t, nil, anthropictest.WithModels(ids...))
	got, err := p.ListModels(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) || got[0] != ids[0] || got[1499] != ids[1499] {
		t.Errorf("got %d models", len(got))
	}
	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[1].Path != "/v1/models?after_id=claude-model-0999&limit=1000" || reqs[0].Method != http.MethodGet {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestUpstreamErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     anthropictest.Fault
		stream    bool
		wantKind  providers.ErrorKind
		wantType  string
		wantRetry time.Duration
		retryable bool
		// wantChunks is the number of chunks received before a mid-stream
		// failure: message_start gives the role chunk, the empty text block
		// start and the ping give none, every text delta gives one.
		wantChunks int
	}{
		{name: "429", fault: anthropictest.RateLimitFault(2 * time.Second), wantKind: providers.KindRateLimited,
			wantType: "rate_limit_error", wantRetry: 2 * time.Second, retryable: true},
		{name: "529", fault: anthropictest.OverloadedFault(), wantKind: providers.KindOverloaded, wantType: "overloaded_error", retryable: true},
		{name: "500", fault: anthropictest.StatusFault(500), wantKind: providers.KindServer, wantType: "api_error", retryable: true},
		{name: "400", fault: anthropictest.StatusFault(400), wantKind: providers.KindInvalidRequest, wantType: "invalid_request_error"},
		{name: "413", fault: anthropictest.StatusFault(413), wantKind: providers.KindInvalidRequest, wantType: "request_too_large"},
		{name: "prompt too long", fault: anthropictest.PromptTooLongFault(), wantKind: providers.KindContextLength, wantType: "invalid_request_error"},
		{name: "529 on a stream", fault: anthropictest.OverloadedFault(), stream: true, wantKind: providers.KindOverloaded, wantType: "overloaded_error", retryable: true},
		{name: "reset", fault: anthropictest.ResetFault(), wantKind: providers.KindConnection, retryable: true},
		{name: "reset on a stream", fault: anthropictest.ResetFault(), stream: true, wantKind: providers.KindConnection, retryable: true},
		{name: "unary body cut off", fault: anthropictest.DieAfterFault(0), wantKind: providers.KindConnection, retryable: true},
		{name: "mid-stream death", fault: anthropictest.DieAfterFault(5), stream: true, wantKind: providers.KindConnection, retryable: true, wantChunks: 3},
		{name: "graceful end without message_stop", fault: anthropictest.Fault{Kind: anthropictest.FaultDieMidStream, AfterEvents: 6, Graceful: true},
			stream: true, wantKind: providers.KindConnection, retryable: true, wantChunks: 4},
		{name: "in-stream overloaded", fault: anthropictest.StreamErrorFault(4, "overloaded_error"), stream: true,
			wantKind: providers.KindOverloaded, wantType: "overloaded_error", retryable: true, wantChunks: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, p := setup(t, nil, anthropictest.WithChunks(4))
			fake.Enqueue(tt.fault)
			req := chatReq(userMsg("Hello there, upstream"))
			var err error
			chunks := 0
			if tt.stream {
				var s providers.Stream
				if s, err = p.ChatStream(t.Context(), req); err == nil {
					got := collect(s)
					s.Close()
					err, chunks = got.err, got.chunks
				}
			} else {
				_, err = p.Chat(t.Context(), req)
			}
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *providers.Error", err)
			}
			if pe.Kind != tt.wantKind || pe.Type != tt.wantType || pe.RetryAfter != tt.wantRetry || pe.Provider != "claude" {
				t.Errorf("error = %+v", pe)
			}
			if providers.IsRetryable(err) != tt.retryable {
				t.Errorf("retryable = %v, want %v", providers.IsRetryable(err), tt.retryable)
			}
			if chunks != tt.wantChunks {
				t.Errorf("chunks before failure = %d, want %d", chunks, tt.wantChunks)
			}
			if tt.name == "429" && pe.Header.Get("anthropic-ratelimit-requests-remaining") != "0" {
				t.Errorf("rate limit headers not passed on: %v", pe.Header)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
}

func TestAuthenticationErrorHidesKey(t *testing.T) {
	t.Parallel()
	_, base := anthropictest.Start(t, anthropictest.WithAPIKey("the-right-key"))
	p, err := anthropic.New(providers.Config{ID: "claude", BaseURL: base, APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Chat(t.Context(), chatReq(userMsg("hi")))
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindAuthentication || pe.Status != http.StatusUnauthorized || providers.IsRetryable(err) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v", err, pe), testKey) {
		t.Errorf("error leaks the key: %+v", pe)
	}
}

func TestInvalidRequestIsNotSent(t *testing.T) {
	t.Parallel()
	fake, p := setup(t, nil)
	req := chatReq(userMsg("x"), providers.Message{Role: providers.RoleAssistant,
		ToolCalls: []providers.ToolCall{{ID: "toolu_1", Name: "f", Arguments: "{not json"}}})
	_, err := p.Chat(t.Context(), req)
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindInvalidRequest {
		t.Fatalf("err = %v", err)
	}
	n := 4
	_, err = p.ChatStream(t.Context(), &providers.ChatRequest{Model: "m", N: &n, Messages: req.Messages[:1]})
	if !errors.As(err, &pe) || pe.Param != "n" {
		t.Fatalf("err = %v", err)
	}
	if got := len(fake.Requests()); got != 0 {
		t.Errorf("%d requests reached the upstream", got)
	}
}

func TestCancelReachesUpstream(t *testing.T) {
	t.Parallel()
	t.Run("unary hang", func(t *testing.T) {
		t.Parallel()
		fake, p := setup(t, nil)
		fake.Enqueue(anthropictest.HangFault())
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			waitFor(t, func() bool { return fake.InFlight() == 1 })
			cancel()
		}()
		if _, err := p.Chat(ctx, chatReq(userMsg("hi"))); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		waitFor(t, func() bool { return fake.Cancelled() == 1 && fake.InFlight() == 0 })
	})
	t.Run("mid-stream", func(t *testing.T) {
		t.Parallel()
		fake, p := setup(t, nil, anthropictest.WithChunkDelay(50*time.Millisecond))
		ctx, cancel := context.WithCancel(t.Context())
		s, err := p.ChatStream(ctx, chatReq(userMsg("a long answer")))
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
			t.Fatalf("Recv after cancel = %v", rerr)
		}
		waitFor(t, func() bool { return fake.Cancelled() == 1 && fake.InFlight() == 0 })
	})
	t.Run("close mid-stream", func(t *testing.T) {
		t.Parallel()
		fake, p := setup(t, nil, anthropictest.WithChunkDelay(50*time.Millisecond))
		s, err := p.ChatStream(t.Context(), chatReq(userMsg("a long answer")))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); !errors.Is(err, anthropic.ErrStreamClosed) {
			t.Fatalf("Recv after Close = %v", err)
		}
		waitFor(t, func() bool { return fake.Cancelled() == 1 && fake.InFlight() == 0 })
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, func() error {
		if !cond() {
			return errors.New("condition not met")
		}
		return nil
	})
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	_, p := setup(t, nil)
	want := providers.Capabilities{Dialect: "anthropic", Tools: true, Images: true, StreamUsage: true}
	if got := p.Capabilities(); got != want || p.ID() != "claude" {
		t.Errorf("capabilities = %+v id = %q", got, p.ID())
	}
	var prov providers.Provider = p
	if _, ok := prov.(providers.TokenCounter); !ok {
		t.Error("Provider does not implement providers.TokenCounter")
	}
	if _, ok := prov.(providers.Embedder); ok {
		t.Error("Provider must not claim embeddings")
	}
}

func TestStreamAnsweredWithJSON(t *testing.T) {
	t.Parallel()
	// A proxy that ignores "stream" and answers with one Message.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer token-1" || r.Header.Get("x-api-key") != "" {
			http.Error(w, `{"type":"error","error":{"type":"authentication_error","message":"bad auth"}}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[
			{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"text","text":"Hi"},
			{"type":"tool_use","id":"toolu_1","name":"f","input":{"a": 1}}],
			"stop_reason":"tool_use","usage":{"input_tokens":7,"cache_read_input_tokens":3,"output_tokens":2}}`)
	}))
	t.Cleanup(srv.Close)
	p, err := anthropic.New(providers.Config{ID: "proxy", BaseURL: srv.URL, APIKey: "unused"},
		anthropic.WithAuth(func(h http.Header) { h.Set("Authorization", "Bearer token-1") }))
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.ChatStream(t.Context(), chatReq(userMsg("hi")))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := collect(s)
	want := collected{chunks: 2, text: "Hi", reasoning: "hmm", signature: "sig", finish: providers.FinishToolCalls,
		calls: []providers.ToolCall{{ID: "toolu_1", Name: "f", Arguments: `{"a":1}`}},
		usage: &providers.Usage{InputTokens: 10, CachedInputTokens: 3, OutputTokens: 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v %+v\nwant %+v %+v", got, got.usage, want, want.usage)
	}
	if s.Header().Get("Content-Type") != "application/json" {
		t.Errorf("header = %v", s.Header())
	}
}
