package bedrock_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/bedrock"
	"github.com/tollgate-dev/tollgate/providers/bedrock/bedrocktest"
)

const (
	claude = "us.anthropic.claude-sonnet-4-20250514-v1:0"
	llama  = "meta.llama3-1-70b-instruct-v1:0"
)

// staticKey is the test credentials as a provider credential.
func staticKey(c bedrocktest.Credentials) string {
	k := c.AccessKeyID + ":" + c.SecretAccessKey
	if c.SessionToken != "" {
		k += ":" + c.SessionToken
	}
	return k
}

func start(t *testing.T, opts ...bedrocktest.Option) (*bedrocktest.Server, *bedrock.Provider) {
	t.Helper()
	fake, url := bedrocktest.Start(t, opts...)
	p, err := bedrock.New(providers.Config{ID: "bedrock", Type: "bedrock", BaseURL: url, APIKey: staticKey(bedrocktest.TestCredentials),
		Settings: map[string]string{"region": bedrocktest.TestRegion}})
	if err != nil {
		t.Fatal(err)
	}
	return fake, p
}

func user(text string) providers.Message {
	return providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(text)}}
}

// drain reads a stream to its end.
func drain(t *testing.T, s providers.Stream) (text string, calls []providers.ToolCallDelta, finish providers.FinishReason, usage *providers.Usage, err error) {
	t.Helper()
	defer s.Close()
	var b strings.Builder
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), calls, finish, usage, nil
		}
		if err != nil {
			return b.String(), calls, finish, usage, err
		}
		for _, d := range c.Choices {
			b.WriteString(d.Text)
			calls = append(calls, d.ToolCalls...)
			if d.FinishReason != "" {
				finish = d.FinishReason
			}
		}
		if c.Usage != nil {
			usage = c.Usage
		}
	}
}

// TestConverse: unary and streamed answers for Claude and Llama model
// ids, every request signed and verified by the fake.
func TestConverse(t *testing.T) {
	t.Parallel()
	fake, p := start(t)
	for _, model := range []string{claude, llama} {
		t.Run(model, func(t *testing.T) {
			ctx := context.Background()
			maxTokens, temp := 100, 0.5
			req := &providers.ChatRequest{Model: model, MaxTokens: &maxTokens, Temperature: &temp, Stop: []string{"END"},
				Messages: []providers.Message{
					{Role: providers.RoleSystem, Content: []providers.Part{{Type: providers.PartText, Text: "be brief", CacheBreakpoint: true}}},
					user("hello bedrock"),
				}}
			resp, err := p.Chat(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Choices[0].Message.Text(); got != "echo: hello bedrock" || resp.Choices[0].FinishReason != providers.FinishStop {
				t.Errorf("Chat = %q, %s", got, resp.Choices[0].FinishReason)
			}
			if u := resp.Usage; u.InputTokens == 0 || u.OutputTokens == 0 || u.CachedInputTokens == 0 || u.InputTokens <= u.CachedInputTokens {
				t.Errorf("usage = %+v, want cached tokens inside the input tokens", u)
			}
			if resp.ID == "" {
				t.Error("no response id (x-amzn-RequestId)")
			}
			r, _ := fake.LastRequest()
			for _, want := range []string{`"system":[{"text":"be brief"},{"cachePoint":{"type":"default"}}]`,
				`"inferenceConfig":{"maxTokens":100,"temperature":0.5,"stopSequences":["END"]}`} {
				if !strings.Contains(string(r.Body), want) {
					t.Errorf("body %s lacks %s", r.Body, want)
				}
			}
			text, _, finish, usage, err := drain(t, must(p.ChatStream(ctx, req)))
			if err != nil || text != "echo: hello bedrock" || finish != providers.FinishStop || usage == nil || *usage != resp.Usage {
				t.Errorf("stream = %q %s %+v %v; unary usage %+v", text, finish, usage, err, resp.Usage)
			}
		})
	}
	if fake.Refused() != 0 {
		t.Errorf("%d requests refused for their signature", fake.Refused())
	}
}

func must(s providers.Stream, err error) providers.Stream {
	if err != nil {
		panic(err)
	}
	return s
}

// TestToolsRoundTrip: a forced tool call, unary and streamed, then its
// result sent back.
func TestToolsRoundTrip(t *testing.T) {
	t.Parallel()
	_, p := start(t)
	ctx := context.Background()
	tools := []providers.Tool{{Name: "lookup", Description: "look up", Parameters: []byte(`{"type":"object","properties":{"text":{"type":"string"}}}`)}}
	req := &providers.ChatRequest{Model: claude, Tools: tools, ToolChoice: &providers.ToolChoice{Mode: providers.ToolChoiceRequired},
		Messages: []providers.Message{user("find it")}}
	resp, err := p.Chat(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	c := resp.Choices[0]
	if c.FinishReason != providers.FinishToolCalls || len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Name != "lookup" ||
		c.Message.ToolCalls[0].Arguments != `{"text":"find it"}` {
		t.Fatalf("tool call = %+v", c)
	}
	_, calls, finish, _, err := drain(t, must(p.ChatStream(ctx, req)))
	var args strings.Builder
	for _, d := range calls {
		args.WriteString(d.Arguments)
	}
	if err != nil || finish != providers.FinishToolCalls || calls[0].ID != c.Message.ToolCalls[0].ID || args.String() != `{"text":"find it"}` {
		t.Fatalf("streamed call = %+v %s %v", calls, finish, err)
	}
	req.ToolChoice = nil
	req.Messages = append(req.Messages, c.Message,
		providers.Message{Role: providers.RoleTool, ToolCallID: c.Message.ToolCalls[0].ID, Content: []providers.Part{providers.TextPart("42")}})
	resp, err = p.Chat(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Text(); got != "The tool lookup returned: 42" {
		t.Errorf("answer after the tool result = %q", got)
	}
}

// TestContent: images and documents are sent as inline bytes.
func TestContent(t *testing.T) {
	t.Parallel()
	fake, p := start(t)
	req := &providers.ChatRequest{Model: claude, Messages: []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{
		providers.TextPart("what is this"),
		{Type: providers.PartImage, Image: &providers.Image{URL: "data:image/png;base64,iVBORw0KGgo="}},
		{Type: providers.PartFile, File: &providers.File{MIMEType: "application/pdf", Base64: "JVBERi0xLjQ=", Filename: "report.pdf"}},
	}}}}
	resp, err := p.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Text(); !strings.Contains(got, "[image]") || !strings.Contains(got, "[document: report]") {
		t.Errorf("answer %q", got)
	}
	r, _ := fake.LastRequest()
	if !strings.Contains(string(r.Body), `"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}`) ||
		!strings.Contains(string(r.Body), `"document":{"format":"pdf","name":"report","source":{"bytes":"JVBERi0xLjQ="}}`) {
		t.Errorf("body %s", r.Body)
	}
	req.Messages[0].Content[1].Image = &providers.Image{URL: "https://example.com/cat.png"}
	var pe *providers.Error
	if _, err := p.Chat(context.Background(), req); !errors.As(err, &pe) || pe.Kind != providers.KindInvalidRequest {
		t.Errorf("image by URL: %v", err)
	}
}

// TestErrors maps Bedrock's error types, unary and inside streams.
func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     bedrocktest.Fault
		stream    bool
		kind      providers.ErrorKind
		retryable bool
	}{
		{"throttling", bedrocktest.ThrottlingFault(), false, providers.KindRateLimited, true},
		{"model not ready", bedrocktest.ModelNotReadyFault(), false, providers.KindOverloaded, true},
		{"validation", bedrocktest.ValidationFault("messages: bad"), false, providers.KindInvalidRequest, false},
		{"input too long", bedrocktest.ValidationFault("Input is too long for requested model."), false, providers.KindContextLength, false},
		{"unavailable", bedrocktest.ServiceUnavailableFault(), false, providers.KindOverloaded, true},
		{"access denied", bedrocktest.AccessDeniedFault(), false, providers.KindPermissionDenied, false},
		{"model error", bedrocktest.ErrorFault(424, "ModelErrorException", "The model failed"), false, providers.KindServer, true},
		{"timeout", bedrocktest.ErrorFault(408, "ModelTimeoutException", "timed out"), false, providers.KindTimeout, true},
		{"stream throttling", bedrocktest.StreamExceptionFault(2, "throttlingException"), true, providers.KindRateLimited, true},
		{"stream model error", bedrocktest.StreamExceptionFault(2, "modelStreamErrorException"), true, providers.KindServer, true},
		{"stream validation", bedrocktest.StreamExceptionFault(1, "validationException"), true, providers.KindInvalidRequest, false},
		{"stream cut", bedrocktest.DieAfterFault(2), true, providers.KindConnection, true},
		{"bad crc", bedrocktest.BadCRCFault(2), true, providers.KindBadResponse, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, p := start(t)
			fake.Enqueue(tt.fault)
			req := &providers.ChatRequest{Model: llama, Messages: []providers.Message{user("x")}}
			var err error
			if tt.stream {
				var s providers.Stream
				if s, err = p.ChatStream(context.Background(), req); err == nil {
					_, _, _, _, err = drain(t, s)
				}
			} else {
				_, err = p.Chat(context.Background(), req)
			}
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != tt.kind || pe.Retryable() != tt.retryable {
				t.Fatalf("err = %v (%#v), want kind %s retryable %v", err, pe, tt.kind, tt.retryable)
			}
			if !tt.stream && pe.Type == "" {
				t.Errorf("no error type from x-amzn-ErrorType")
			}
		})
	}
}

// TestSignatureChecked: the fake refuses a wrong secret and an unknown
// key id, which the adapter reports as authentication failures; session
// tokens are signed and sent; a Bedrock API key goes as a bearer token.
func TestSignatureChecked(t *testing.T) {
	t.Parallel()
	withToken := bedrocktest.Credentials{AccessKeyID: "ASIATESTFAKE0000002", SecretAccessKey: "session/SECRET/key", SessionToken: "FwoGZXIvYXdzE-session-token"}
	tests := []struct {
		name    string
		fake    bedrocktest.Credentials
		key     string
		wantErr string
	}{
		{"wrong secret", bedrocktest.TestCredentials, bedrocktest.TestCredentials.AccessKeyID + ":not-the-secret", "InvalidSignatureException"},
		{"unknown key id", bedrocktest.TestCredentials, "AKIDUNKNOWN:" + bedrocktest.TestCredentials.SecretAccessKey, "UnrecognizedClientException"},
		{"session token", withToken, staticKey(withToken), ""},
		{"missing session token", withToken, withToken.AccessKeyID + ":" + withToken.SecretAccessKey, "UnrecognizedClientException"},
		{"api key", bedrocktest.TestCredentials, "ABSKQmVkcm9ja0FQSUtleS1fake", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, url := bedrocktest.Start(t, bedrocktest.WithCredentials(tt.fake), bedrocktest.WithAPIKey("ABSKQmVkcm9ja0FQSUtleS1fake"))
			p, err := bedrock.New(providers.Config{ID: "b", BaseURL: url, APIKey: tt.key, Settings: map[string]string{"region": "us-east-1"}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Chat(context.Background(), &providers.ChatRequest{Model: claude, Messages: []providers.Message{user("x")}})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Type != tt.wantErr || pe.Retryable() || fake.Refused() != 1 {
				t.Fatalf("err = %v (%+v), refused %d", err, pe, fake.Refused())
			}
			_, secret, _ := strings.Cut(tt.key, ":")
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

// TestWrongRegion: a signature scoped to another region is refused.
func TestWrongRegion(t *testing.T) {
	t.Parallel()
	_, url := bedrocktest.Start(t, bedrocktest.WithRegion("eu-west-1"))
	p, err := bedrock.New(providers.Config{ID: "b", BaseURL: url, APIKey: staticKey(bedrocktest.TestCredentials), Settings: map[string]string{"region": "us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Chat(context.Background(), &providers.ChatRequest{Model: claude, Messages: []providers.Message{user("x")}})
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindAuthentication {
		t.Fatalf("err = %v", err)
	}
}

// TestEmbeddings: Titan (one call per input, dimensions) and Cohere (one
// batch).
func TestEmbeddings(t *testing.T) {
	t.Parallel()
	fake, p := start(t)
	dims := 256
	resp, err := p.Embed(context.Background(), &providers.EmbedRequest{Model: "amazon.titan-embed-text-v2:0", Inputs: []string{"a", "b"}, Dimensions: &dims})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Vectors) != 2 || len(resp.Vectors[0]) != 256 || resp.Usage.InputTokens == 0 {
		t.Errorf("titan = %d vectors of %d, usage %+v", len(resp.Vectors), len(resp.Vectors[0]), resp.Usage)
	}
	n := len(fake.Requests())
	resp, err = p.Embed(context.Background(), &providers.EmbedRequest{Model: "cohere.embed-english-v3", Inputs: []string{"a", "b", "c"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Vectors) != 3 || len(fake.Requests()) != n+1 {
		t.Errorf("cohere = %d vectors in %d requests", len(resp.Vectors), len(fake.Requests())-n)
	}
	if _, err := p.Embed(context.Background(), &providers.EmbedRequest{Model: claude, Inputs: []string{"a"}}); err == nil {
		t.Error("a chat model embedded")
	}
}

// TestListModels lists the foundation models through the signed control
// plane call.
func TestListModels(t *testing.T) {
	t.Parallel()
	_, p := start(t)
	ids, err := p.ListModels(context.Background())
	if err != nil || strings.Join(ids, ",") != strings.Join(bedrocktest.DefaultModels, ",") {
		t.Fatalf("ListModels = %v, %v", ids, err)
	}
}

// TestCancelReachesUpstream: cancelling the caller's context aborts a
// hanging upstream request and a stream in flight.
func TestCancelReachesUpstream(t *testing.T) {
	t.Parallel()
	fake, p := start(t, bedrocktest.WithChunks(50), bedrocktest.WithChunkDelay(20*time.Millisecond))
	fake.Enqueue(bedrocktest.HangFault())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Chat(ctx, &providers.ChatRequest{Model: claude, Messages: []providers.Message{user("x")}})
		done <- err
	}()
	eventually(t, func() bool { return fake.InFlight() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	eventually(t, func() bool { return fake.InFlight() == 0 && fake.Cancelled() == 1 })

	ctx, cancel = context.WithCancel(context.Background())
	s, err := p.ChatStream(ctx, &providers.ChatRequest{Model: claude, Messages: []providers.Message{user(strings.Repeat("long ", 40))}})
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
	eventually(t, func() bool { return fake.InFlight() == 0 && fake.Cancelled() == 2 })
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

// TestNoCredentialInErrors: an upstream echoing the secret has it
// redacted; the config's String hides it.
func TestNoCredentialInErrors(t *testing.T) {
	t.Parallel()
	fake, p := start(t)
	secret := bedrocktest.TestCredentials.SecretAccessKey
	fake.Enqueue(bedrocktest.ErrorFault(http.StatusBadRequest, "ValidationException", "bad secret "+secret))
	_, err := p.Chat(context.Background(), &providers.ChatRequest{Model: claude, Messages: []providers.Message{user("x")}})
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("err = %v", err)
	}
	cfg := providers.Config{APIKey: staticKey(bedrocktest.TestCredentials)}
	if strings.Contains(cfg.String(), secret) {
		t.Error("config leaks the secret")
	}
}

// TestAssumeRole: with role_arn the adapter assumes the role through STS
// (the fake's, signed with the base credentials) and signs Bedrock
// requests with the temporary credentials and their session token, the
// only ones the fake's Bedrock accepts; they are reused, not fetched per
// request.
func TestAssumeRole(t *testing.T) {
	t.Parallel()
	const role = "arn:aws:iam::123456789012:role/tollgate-bedrock"
	fake, url := bedrocktest.Start(t, bedrocktest.WithRole(bedrocktest.Role{ARN: role, ExternalID: "ext-42"}))
	p, err := bedrock.New(providers.Config{ID: "b", BaseURL: url, APIKey: staticKey(bedrocktest.TestCredentials),
		Settings: map[string]string{"region": bedrocktest.TestRegion, "role_arn": role, "external_id": "ext-42", "sts_url": url}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := p.Chat(context.Background(), &providers.ChatRequest{Model: claude, Messages: []providers.Message{user("x")}}); err != nil {
			t.Fatal(err)
		}
	}
	if fake.Assumed() != 1 || fake.Refused() != 0 {
		t.Errorf("assumed %d times, %d refused", fake.Assumed(), fake.Refused())
	}
	// Without the role, the base credentials are refused.
	p, err = bedrock.New(providers.Config{ID: "b", BaseURL: url, APIKey: staticKey(bedrocktest.TestCredentials),
		Settings: map[string]string{"region": bedrocktest.TestRegion}})
	if err != nil {
		t.Fatal(err)
	}
	var pe *providers.Error
	if _, err := p.Chat(context.Background(), &providers.ChatRequest{Model: claude, Messages: []providers.Message{user("x")}}); !errors.As(err, &pe) || pe.Kind != providers.KindAuthentication {
		t.Fatalf("base credentials: %v", err)
	}
}

// TestWebIdentity: without a credential the SDK's default chain is used;
// with AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (EKS IRSA) it trades
// the token for temporary credentials at STS. Not parallel: it sets the
// process environment.
func TestWebIdentity(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/irsa-bedrock"
	fake, url := bedrocktest.Start(t, bedrocktest.WithRole(bedrocktest.Role{ARN: role, WebIdentityToken: "eyJhbGciOi.k8s-sa-token.sig"}))
	tokenFile := t.TempDir() + "/token"
	if err := os.WriteFile(tokenFile, []byte("eyJhbGciOi.k8s-sa-token.sig"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_ROLE_ARN", role)
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	p, err := bedrock.New(providers.Config{ID: "b", BaseURL: url,
		Settings: map[string]string{"region": bedrocktest.TestRegion, "sts_url": url}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Chat(context.Background(), &providers.ChatRequest{Model: llama, Messages: []providers.Message{user("x")}}); err != nil {
		t.Fatal(err)
	}
	if fake.Assumed() != 1 || fake.Refused() != 0 {
		t.Errorf("assumed %d times, %d refused", fake.Assumed(), fake.Refused())
	}
}
