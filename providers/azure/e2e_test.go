package azure_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/azure"
	"github.com/tollgate-dev/tollgate/providers/azure/azuretest"
)

const key = "azure-e2e-secret-key"

func start(t *testing.T, settings map[string]string, opts ...azuretest.Option) (*azuretest.Azure, *azure.Provider) {
	t.Helper()
	fake, endpoint := azuretest.Start(t, append([]azuretest.Option{
		azuretest.WithAPIKey(key),
		azuretest.WithDeployments("gpt-4o-prod", "emb-small"),
		azuretest.WithAPIVersions(azure.DefaultAPIVersion, "2025-04-01-preview"),
	}, opts...)...)
	p, err := azure.New(providers.Config{ID: "az", Type: "azure", BaseURL: endpoint, APIKey: key, Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	return fake, p
}

func chatReq(model, text string) *providers.ChatRequest {
	return &providers.ChatRequest{Model: model, Messages: []providers.Message{
		{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(text)}}}}
}

func TestChatAndStream(t *testing.T) {
	t.Parallel()
	fake, p := start(t, nil)
	resp, err := p.Chat(context.Background(), chatReq("gpt-4o-prod", "hello"))
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if got := resp.Choices[0].Message.Text(); got != "echo: hello" || resp.Model != "gpt-4o-prod" || resp.Usage.InputTokens == 0 {
		t.Errorf("Chat = %q model %q usage %+v", got, resp.Model, resp.Usage)
	}
	last, _ := fake.LastRequest()
	if last.Path != "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21" ||
		last.Header.Get("api-key") != key || last.Header.Get("Authorization") != "" {
		t.Errorf("request = %s %v", last.Path, last.Header)
	}

	s, err := p.ChatStream(context.Background(), chatReq("gpt-4o-prod", "hello stream"))
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	defer s.Close()
	var text string
	var usage *providers.Usage
	for {
		c, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		for _, d := range c.Choices {
			text += d.Text
		}
		if c.Usage != nil {
			usage = c.Usage
		}
	}
	if text != "echo: hello stream" || usage == nil || usage.OutputTokens != 5 {
		t.Errorf("stream text %q usage %+v", text, usage)
	}
	if !p.Capabilities().StreamUsage || p.Capabilities().Dialect != "openai" {
		t.Errorf("Capabilities = %+v", p.Capabilities())
	}
}

func TestFixedDeploymentAndToolRoundTrip(t *testing.T) {
	t.Parallel()
	fake, p := start(t, map[string]string{"deployment": "gpt-4o-prod", "api_version": "2025-04-01-preview"})
	tools := []providers.Tool{{Name: "lookup", Parameters: json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}}}`)}}
	req := chatReq("gpt-4o", "please call lookup")
	req.Tools = tools
	resp, err := p.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	msg := resp.Choices[0].Message
	if resp.Choices[0].FinishReason != providers.FinishToolCalls || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Name != "lookup" {
		t.Fatalf("first answer = %+v", resp.Choices[0])
	}
	req.Messages = append(req.Messages, msg, providers.Message{Role: providers.RoleTool, ToolCallID: msg.ToolCalls[0].ID,
		Content: []providers.Part{providers.TextPart("42")}})
	resp, err = p.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("second Chat: %v", err)
	}
	if got := resp.Choices[0].Message.Text(); got != "The tool lookup returned: 42" {
		t.Errorf("second answer = %q", got)
	}
	for _, r := range fake.Requests() {
		if r.Path != "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2025-04-01-preview" {
			t.Errorf("request path = %s", r.Path)
		}
	}
}

func TestEmbed(t *testing.T) {
	t.Parallel()
	fake, p := start(t, nil)
	inputs := []string{"a", "b", "c"}
	resp, err := p.Embed(context.Background(), &providers.EmbedRequest{Model: "emb-small", Inputs: inputs, Dimensions: ptr(4)})
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	for i, v := range resp.Vectors {
		if !reflect.DeepEqual(v, fakeupstream.HashVector(inputs[i], 4)) {
			t.Errorf("vector %d is not the embedding of %q", i, inputs[i])
		}
	}
	if last, _ := fake.LastRequest(); last.Path != "/openai/deployments/emb-small/embeddings?api-version=2024-10-21" {
		t.Errorf("path = %s", last.Path)
	}
}

func ptr[T any](v T) *T { return &v }

func TestUpstreamErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      *fakeupstream.Fault
		model      string
		settings   map[string]string
		apiKey     string
		stream     bool
		kind       providers.ErrorKind
		code       string
		retryable  bool
		retryAfter time.Duration
	}{
		{name: "429 with retry-after-ms", fault: ptr(azuretest.RateLimitFault(1500 * time.Millisecond)), kind: providers.KindRateLimited,
			code: "429", retryable: true, retryAfter: 1500 * time.Millisecond},
		{name: "content filter 400", fault: ptr(azuretest.ContentFilterFault()), kind: providers.KindInvalidRequest, code: "content_filter"},
		{name: "content filter 400 on stream", fault: ptr(azuretest.ContentFilterFault()), stream: true, kind: providers.KindInvalidRequest, code: "content_filter"},
		{name: "400 invalid", fault: ptr(fakeupstream.StatusFault(400)), kind: providers.KindInvalidRequest},
		{name: "500", fault: ptr(fakeupstream.StatusFault(500)), kind: providers.KindServer, retryable: true},
		{name: "stream dies", fault: ptr(fakeupstream.DieAfterFault(2)), stream: true, kind: providers.KindConnection, retryable: true},
		{name: "unknown deployment", model: "gpt-5-nope", kind: providers.KindNotFound, code: "DeploymentNotFound"},
		{name: "wrong key", apiKey: "wrong", kind: providers.KindAuthentication, code: "401"},
		{name: "unsupported api version", settings: map[string]string{"api_version": "2023-01-01"}, kind: providers.KindInvalidRequest, code: "BadRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, endpoint := azuretest.Start(t, azuretest.WithAPIKey(key), azuretest.WithDeployments("gpt-4o-prod"),
				azuretest.WithAPIVersions(azure.DefaultAPIVersion))
			k := key
			if tt.apiKey != "" {
				k = tt.apiKey
			}
			p, err := azure.New(providers.Config{ID: "az", BaseURL: endpoint, APIKey: k, Settings: tt.settings})
			if err != nil {
				t.Fatal(err)
			}
			if tt.fault != nil {
				fake.Enqueue(*tt.fault)
			}
			model := tt.model
			if model == "" {
				model = "gpt-4o-prod"
			}
			if tt.stream {
				var s providers.Stream
				s, err = p.ChatStream(context.Background(), chatReq(model, "hi there"))
				if err == nil {
					defer s.Close()
					for err == nil {
						_, err = s.Recv()
					}
				}
			} else {
				_, err = p.Chat(context.Background(), chatReq(model, "hi"))
			}
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != tt.kind {
				t.Fatalf("err = %v, want kind %s", err, tt.kind)
			}
			if pe.Code != tt.code || providers.IsRetryable(err) != tt.retryable || pe.RetryAfter != tt.retryAfter {
				t.Errorf("code %q retryable %v retryAfter %v; want %q %v %v", pe.Code, providers.IsRetryable(err), pe.RetryAfter,
					tt.code, tt.retryable, tt.retryAfter)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	fake, endpoint := azuretest.Start(t, azuretest.WithBearerToken("entra-token-1"))
	calls := 0
	p, err := azure.New(providers.Config{ID: "az", BaseURL: endpoint + "/openai/"},
		azure.WithBearerToken(func() string { calls++; return fmt.Sprintf("entra-token-%d", calls) }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Chat(context.Background(), chatReq("d", "x")); err != nil {
		t.Fatalf("first Chat: %v", err)
	}
	_, err = p.Chat(context.Background(), chatReq("d", "x"))
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindAuthentication {
		t.Fatalf("second Chat with a new token = %v, want authentication error", err)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[0].Header.Get("Authorization") != "Bearer entra-token-1" || reqs[1].Header.Get("Authorization") != "Bearer entra-token-2" {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestCancelAbortsUpstream(t *testing.T) {
	t.Parallel()
	fake, p := start(t, nil, azuretest.WithUpstream(fakeupstream.WithChunkDelay(time.Hour)))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := p.ChatStream(ctx, chatReq("gpt-4o-prod", "a long answer please"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Recv(); err != nil {
		t.Fatalf("first Recv: %v", err)
	}
	cancel()
	if _, err := s.Recv(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv after cancel = %v, want context.Canceled", err)
	}
	testutil.Eventually(t, func() error {
		if fake.Upstream().Cancelled() == 0 || fake.Upstream().InFlight() != 0 {
			return fmt.Errorf("upstream not aborted: cancelled=%d inFlight=%d", fake.Upstream().Cancelled(), fake.Upstream().InFlight())
		}
		return nil
	})
}

func TestKeyNeverLeaked(t *testing.T) {
	t.Parallel()
	fake, p := start(t, nil)
	fake.Enqueue(fakeupstream.Fault{Kind: fakeupstream.FaultStatus, Status: 401, Code: "401",
		Message: "Access denied for key " + key + "."})
	_, err := p.Chat(context.Background(), chatReq("gpt-4o-prod", "x"))
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindAuthentication {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v", err, pe), key) {
		t.Errorf("error leaks the key: %v", err)
	}
	for _, r := range fake.Requests() {
		if strings.Contains(r.Path, key) {
			t.Errorf("key in URL: %s", r.Path)
		}
	}
}
