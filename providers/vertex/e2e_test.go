package vertex_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/anthropic/anthropictest"
	"github.com/tollgate-dev/tollgate/providers/vertex"
	"github.com/tollgate-dev/tollgate/providers/vertex/vertextest"
)

const (
	geminiModel = "gemini-2.5-flash"
	claudeModel = "claude-sonnet-4-5-20250929"
)

func start(t *testing.T) (*vertextest.Fixture, *vertex.Provider) {
	t.Helper()
	fx := vertextest.Start(t)
	p, err := vertex.New(providers.Config{ID: "vertex", Type: "vertex", BaseURL: fx.URL, APIKey: string(fx.Account.JSON),
		Settings: map[string]string{"project": vertextest.Project, "location": vertextest.Location}})
	if err != nil {
		t.Fatal(err)
	}
	return fx, p
}

func user(text string) providers.Message {
	return providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(text)}}
}

func drain(s providers.Stream) (string, []providers.ToolCallDelta, *providers.Usage, error) {
	defer s.Close()
	var b strings.Builder
	var calls []providers.ToolCallDelta
	var usage *providers.Usage
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), calls, usage, nil
		}
		if err != nil {
			return b.String(), calls, usage, err
		}
		for _, d := range c.Choices {
			b.WriteString(d.Text)
			calls = append(calls, d.ToolCalls...)
		}
		if c.Usage != nil {
			usage = c.Usage
		}
	}
}

// TestGeminiAndClaude: both publishers, unary, streamed and with a tool
// round trip, with one token fetched for all of it.
func TestGeminiAndClaude(t *testing.T) {
	t.Parallel()
	fx, p := start(t)
	ctx := context.Background()
	for _, model := range []string{geminiModel, claudeModel} {
		t.Run(model, func(t *testing.T) {
			req := &providers.ChatRequest{Model: model, Messages: []providers.Message{user("hello vertex")}}
			resp, err := p.Chat(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			text := resp.Choices[0].Message.Text()
			if !strings.Contains(text, "hello vertex") || resp.Usage.InputTokens == 0 {
				t.Errorf("Chat = %q, usage %+v", text, resp.Usage)
			}
			streamed, _, usage, err := drain(must(p.ChatStream(ctx, req)))
			if err != nil || streamed != text || usage == nil {
				t.Errorf("stream = %q, %v, %v; unary %q", streamed, usage, err, text)
			}
			tools := []providers.Tool{{Name: "lookup", Parameters: []byte(`{"type":"object","properties":{"text":{"type":"string"}}}`)}}
			req = &providers.ChatRequest{Model: model, Tools: tools, ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceFunction, Name: "lookup"},
				Messages: []providers.Message{user("find it")}}
			resp, err = p.Chat(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			c := resp.Choices[0]
			if len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Name != "lookup" {
				t.Fatalf("tool call = %+v", c)
			}
			req.ToolChoice = nil
			req.Messages = append(req.Messages, c.Message, providers.Message{Role: providers.RoleTool, ToolCallID: c.Message.ToolCalls[0].ID,
				Name: "lookup", Content: []providers.Part{providers.TextPart("42")}})
			resp, err = p.Chat(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Choices[0].Message.Text(); !strings.Contains(got, "42") {
				t.Errorf("after the tool result: %q", got)
			}
		})
	}
	if fx.TokenRequests() != 1 || fx.Unauthorized() != 0 {
		t.Errorf("token requests %d, unauthorized %d; want one token for every call", fx.TokenRequests(), fx.Unauthorized())
	}
	for _, r := range fx.Requests() {
		if strings.Contains(r.Path, "anthropic") && (strings.Contains(string(r.Body), `"model"`) || !strings.Contains(string(r.Body), `"anthropic_version":"vertex-2023-10-16"`)) {
			t.Errorf("Claude body %s", r.Body)
		}
	}
}

func must(s providers.Stream, err error) providers.Stream {
	if err != nil {
		panic(err)
	}
	return s
}

// TestEmbeddings embeds through :predict.
func TestEmbeddings(t *testing.T) {
	t.Parallel()
	_, p := start(t)
	dims := 16
	resp, err := p.Embed(context.Background(), &providers.EmbedRequest{Model: "text-embedding-005", Inputs: []string{"a", "bb"}, Dimensions: &dims})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Vectors) != 2 || len(resp.Vectors[1]) != 16 || resp.Usage.InputTokens == 0 {
		t.Errorf("Embed = %d vectors, usage %+v", len(resp.Vectors), resp.Usage)
	}
}

// TestTokenRefresh: a token near its expiry is used while a new one is
// fetched in the background; an expired or revoked one is replaced before
// the request.
func TestTokenRefresh(t *testing.T) {
	t.Parallel()
	fx, p := start(t)
	ctx := context.Background()
	req := &providers.ChatRequest{Model: geminiModel, Messages: []providers.Message{user("x")}}
	fx.SetTokenTTL(2 * time.Minute) // inside the refresh window
	if _, err := p.Chat(ctx, req); err != nil {
		t.Fatal(err)
	}
	fx.SetTokenTTL(time.Hour)
	if _, err := p.Chat(ctx, req); err != nil { // uses the 2-minute token, refreshes behind it
		t.Fatal(err)
	}
	eventually(t, func() bool { return fx.TokenRequests() == 2 })
	if _, err := p.Chat(ctx, req); err != nil {
		t.Fatal(err)
	}
	if fx.TokenRequests() != 2 || fx.Unauthorized() != 0 {
		t.Errorf("token requests %d, unauthorized %d", fx.TokenRequests(), fx.Unauthorized())
	}
}

// TestFaults: a failing token endpoint is an authentication error (not
// retryable there), Vertex errors keep their kinds, and the publishers'
// fakes inject their own.
func TestFaults(t *testing.T) {
	t.Parallel()
	fx, p := start(t)
	ctx := context.Background()
	fx.FailTokens(1)
	_, err := p.Chat(ctx, &providers.ChatRequest{Model: geminiModel, Messages: []providers.Message{user("x")}})
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindAuthentication || strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Fatalf("token failure: %v", err)
	}
	fx.FailNext(429)
	_, err = p.Chat(ctx, &providers.ChatRequest{Model: geminiModel, Messages: []providers.Message{user("x")}})
	if !errors.As(err, &pe) || pe.Kind != providers.KindRateLimited || !pe.Retryable() {
		t.Fatalf("429: %v", err)
	}
	fx.Claude.Enqueue(anthropictest.OverloadedFault())
	_, err = p.Chat(ctx, &providers.ChatRequest{Model: claudeModel, Messages: []providers.Message{user("x")}})
	if !errors.As(err, &pe) || pe.Kind != providers.KindOverloaded {
		t.Fatalf("overloaded: %v", err)
	}
	fx.Claude.Enqueue(anthropictest.DieAfterFault(3))
	if _, _, _, err = drain(must(p.ChatStream(ctx, &providers.ChatRequest{Model: claudeModel, Messages: []providers.Message{user("x")}}))); !providers.IsRetryable(err) {
		t.Fatalf("cut stream: %v", err)
	}
}

// TestWrongKeyRefused: a service account the token endpoint does not know
// gets no token.
func TestWrongKeyRefused(t *testing.T) {
	t.Parallel()
	fx := vertextest.Start(t)
	other, err := vertextest.NewServiceAccount(fx.Account.Email, fx.TokenURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := vertex.New(providers.Config{ID: "v", BaseURL: fx.URL, APIKey: string(other.JSON), Settings: map[string]string{"project": vertextest.Project}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Chat(context.Background(), &providers.ChatRequest{Model: geminiModel, Messages: []providers.Message{user("x")}})
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindAuthentication || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("err = %v", err)
	}
}

// TestCancelReachesUpstream: cancelling the caller aborts a stream.
func TestCancelReachesUpstream(t *testing.T) {
	t.Parallel()
	fx, p := start(t)
	fx.Claude.Apply(anthropictest.WithChunks(50), anthropictest.WithChunkDelay(20*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := p.ChatStream(ctx, &providers.ChatRequest{Model: claudeModel, Messages: []providers.Message{user(strings.Repeat("long ", 50))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	for {
		if _, err := s.Recv(); err != nil {
			break
		}
	}
	_ = s.Close()
	eventually(t, func() bool { return fx.Claude.InFlight() == 0 && fx.Claude.Cancelled() == 1 })
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond) // polling, not synchronisation
	}
}

// TestTokenURLSetting: the token_url setting replaces the key's token_uri.
func TestTokenURLSetting(t *testing.T) {
	t.Parallel()
	fx := vertextest.Start(t)
	sa, err := vertextest.NewServiceAccount(fx.Account.Email, "https://oauth2.googleapis.com/token")
	if err != nil {
		t.Fatal(err)
	}
	fx.SetServiceAccount(sa)
	p, err := vertex.New(providers.Config{ID: "v", BaseURL: fx.URL, APIKey: string(sa.JSON),
		Settings: map[string]string{"project": vertextest.Project, "token_url": fx.TokenURL}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Chat(context.Background(), &providers.ChatRequest{Model: geminiModel, Messages: []providers.Message{user("x")}}); err != nil {
		t.Fatal(err)
	}
	if fx.TokenRequests() != 1 {
		t.Errorf("token requests %d", fx.TokenRequests())
	}
}
