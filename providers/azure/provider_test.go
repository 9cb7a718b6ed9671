package azure

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/providers"
	"github.com/tollgate-dev/tollgate/providers/openai"
)

const testKey = "azure-test-secret-0123456789"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		cfg          providers.Config
		opts         []Option
		wantEndpoint string
		wantErr      string
	}{
		{name: "plain", cfg: providers.Config{BaseURL: "https://res.openai.azure.com", APIKey: testKey},
			wantEndpoint: "https://res.openai.azure.com"},
		{name: "portal form with /openai/", cfg: providers.Config{BaseURL: "https://res.openai.azure.com/openai/", APIKey: testKey},
			wantEndpoint: "https://res.openai.azure.com"},
		{name: "path prefix kept", cfg: providers.Config{BaseURL: "https://apim.example.com/team-a/", APIKey: testKey},
			wantEndpoint: "https://apim.example.com/team-a"},
		{name: "bearer token option needs no key", cfg: providers.Config{BaseURL: "https://r.example"},
			opts: []Option{WithBearerToken(func() string { return "t" })}, wantEndpoint: "https://r.example"},
		{name: "no base url", cfg: providers.Config{APIKey: testKey}, wantErr: "base url"},
		{name: "relative base url", cfg: providers.Config{BaseURL: "res.openai.azure.com", APIKey: testKey}, wantErr: "absolute"},
		{name: "api-version in base url", cfg: providers.Config{BaseURL: "https://r.example/?api-version=1", APIKey: testKey}, wantErr: "query"},
		{name: "no key", cfg: providers.Config{BaseURL: "https://r.example"}, wantErr: "api key is required"},
		{name: "bearer without token", cfg: providers.Config{BaseURL: "https://r.example", Settings: map[string]string{"auth": "bearer"}}, wantErr: "auth=bearer"},
		{name: "bad auth mode", cfg: providers.Config{BaseURL: "https://r.example", APIKey: testKey, Settings: map[string]string{"auth": "basic"}}, wantErr: "setting auth"},
		{name: "bad openai setting", cfg: providers.Config{BaseURL: "https://r.example", APIKey: testKey, Settings: map[string]string{"stream_usage": "perhaps"}}, wantErr: "stream_usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(tt.cfg, tt.opts...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), testKey) {
					t.Errorf("error leaks the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if p.endpoint != tt.wantEndpoint {
				t.Errorf("endpoint = %q, want %q", p.endpoint, tt.wantEndpoint)
			}
		})
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		settings map[string]string
		op       openai.Operation
		model    string
		want     string
		wantErr  bool
	}{
		{name: "chat, deployment from model", op: openai.OpChatCompletions, model: "gpt-4o-prod",
			want: "https://r.example/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"},
		{name: "embeddings, fixed deployment and version", settings: map[string]string{"deployment": "emb 3", "api_version": "2025-04-01-preview"},
			op: openai.OpEmbeddings, model: "ignored", want: "https://r.example/openai/deployments/emb%203/embeddings?api-version=2025-04-01-preview"},
		{name: "escapes path", op: openai.OpChatCompletions, model: "a/b?c",
			want: "https://r.example/openai/deployments/a%2Fb%3Fc/chat/completions?api-version=2024-10-21"},
		{name: "models are not per deployment", op: openai.OpModels, wantErr: true},
		{name: "no deployment", op: openai.OpChatCompletions, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(providers.Config{BaseURL: "https://r.example", APIKey: testKey, Settings: tt.settings})
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.url(tt.op, tt.model)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("url = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// recorder is an upstream that answers every request with a fixture and
// remembers the last request.
type recorder struct {
	mu     sync.Mutex
	last   *http.Request
	status int
	header http.Header
	body   []byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.last = req.Clone(context.Background())
	status, body := r.status, r.body
	for k, v := range r.header {
		w.Header()[k] = v
	}
	r.mu.Unlock()
	_, _ = io.Copy(io.Discard, req.Body)
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (r *recorder) lastRequest() *http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func serve(t *testing.T, rec *recorder) string {
	t.Helper()
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAuthHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		settings  map[string]string
		opts      []Option
		apiKey    string
		wantKey   string
		wantAuthz string
	}{
		{name: "api-key", apiKey: testKey, wantKey: testKey},
		{name: "bearer setting", apiKey: "entra-token", settings: map[string]string{"auth": "bearer"}, wantAuthz: "Bearer entra-token"},
		{name: "token option wins", apiKey: testKey, opts: []Option{WithBearerToken(func() string { return "fresh" })}, wantAuthz: "Bearer fresh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{header: http.Header{"Content-Type": {"application/json"}}, body: readFixture(t, "chat_content_filter.json")}
			p, err := New(providers.Config{ID: "az", BaseURL: serve(t, rec), APIKey: tt.apiKey, Settings: tt.settings}, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Chat(context.Background(), &providers.ChatRequest{Model: "dep", Messages: []providers.Message{
				{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("hi")}}}}); err != nil {
				t.Fatalf("Chat: %v", err)
			}
			h := rec.lastRequest().Header
			if h.Get("api-key") != tt.wantKey || h.Get("Authorization") != tt.wantAuthz {
				t.Errorf("api-key = %q, Authorization = %q; want %q, %q", h.Get("api-key"), h.Get("Authorization"), tt.wantKey, tt.wantAuthz)
			}
		})
	}
}

func TestFixtures(t *testing.T) {
	t.Parallel()
	msg := []providers.Message{{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("Describe a battle.")}}}
	t.Run("content filtered completion", func(t *testing.T) {
		t.Parallel()
		rec := &recorder{header: http.Header{"Content-Type": {"application/json"}}, body: readFixture(t, "chat_content_filter.json")}
		p, err := New(providers.Config{ID: "az", BaseURL: serve(t, rec), APIKey: testKey})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.Chat(context.Background(), &providers.ChatRequest{Model: "gpt-4o", Messages: msg})
		if err != nil {
			t.Fatalf("Chat: %v", err)
		}
		want := &providers.ChatResponse{ID: "chatcmpl-AXaT3kQJv2bH7yRn5LmZ0pWcE9uFd", Model: "gpt-4o-2024-08-06",
			Created: time.Unix(1732550400, 0).UTC(),
			Choices: []providers.Choice{{FinishReason: providers.FinishContentFilter, Message: providers.Message{
				Role: providers.RoleAssistant, Content: []providers.Part{providers.TextPart("The battle scene begins with")}}}},
			Usage: providers.Usage{InputTokens: 18, OutputTokens: 6}}
		if !reflect.DeepEqual(resp, want) {
			t.Errorf("Chat =\n%+v\nwant\n%+v", resp, want)
		}
		if got := rec.lastRequest().URL.String(); got != "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21" {
			t.Errorf("request URL = %s", got)
		}
	})
	t.Run("stream with prompt filter chunk", func(t *testing.T) {
		t.Parallel()
		rec := &recorder{header: http.Header{"Content-Type": {"text/event-stream"}}, body: readFixture(t, "stream_azure.sse")}
		p, err := New(providers.Config{ID: "az", BaseURL: serve(t, rec), APIKey: testKey})
		if err != nil {
			t.Fatal(err)
		}
		s, err := p.ChatStream(context.Background(), &providers.ChatRequest{Model: "gpt-4o", Messages: msg})
		if err != nil {
			t.Fatalf("ChatStream: %v", err)
		}
		defer s.Close()
		var text string
		var finish providers.FinishReason
		var usage *providers.Usage
		chunks := 0
		for {
			c, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Recv: %v", err)
			}
			chunks++
			for _, d := range c.Choices {
				text += d.Text
				if d.FinishReason != "" {
					finish = d.FinishReason
				}
			}
			if c.Usage != nil {
				usage = c.Usage
			}
		}
		if chunks != 4 || text != "Hello" || finish != providers.FinishContentFilter || usage == nil || usage.Total() != 11 {
			t.Errorf("chunks=%d text=%q finish=%q usage=%+v", chunks, text, finish, usage)
		}
	})
}

func TestErrorFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture    string
		status     int
		header     http.Header
		kind       providers.ErrorKind
		code       string
		retryable  bool
		retryAfter time.Duration
	}{
		{fixture: "error_content_filter.json", status: 400, kind: providers.KindInvalidRequest, code: "content_filter"},
		{fixture: "error_rate_limit.json", status: 429, header: http.Header{"Retry-After": {"6"}, "Retry-After-Ms": {"5500"}},
			kind: providers.KindRateLimited, code: "429", retryable: true, retryAfter: 5500 * time.Millisecond},
		{fixture: "error_deployment_not_found.json", status: 404, kind: providers.KindNotFound, code: "DeploymentNotFound"},
		{fixture: "error_unauthorized.json", status: 401, kind: providers.KindAuthentication, code: "401"},
		{fixture: "error_context_length.json", status: 400, kind: providers.KindContextLength, code: "context_length_exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			h := http.Header{"Content-Type": {"application/json"}}
			for k, v := range tt.header {
				h[k] = v
			}
			rec := &recorder{status: tt.status, header: h, body: readFixture(t, tt.fixture)}
			p, err := New(providers.Config{ID: "az", BaseURL: serve(t, rec), APIKey: testKey})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Chat(context.Background(), &providers.ChatRequest{Model: "gpt-4o", Messages: []providers.Message{
				{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart("x")}}}})
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *providers.Error", err)
			}
			if pe.Kind != tt.kind || pe.Code != tt.code || pe.Status != tt.status || pe.Provider != "az" ||
				providers.IsRetryable(err) != tt.retryable || pe.RetryAfter != tt.retryAfter {
				t.Errorf("error = %+v (retryable %v)", pe, providers.IsRetryable(err))
			}
		})
	}
}

func TestNoDeployment(t *testing.T) {
	t.Parallel()
	p, err := New(providers.Config{ID: "az", BaseURL: "https://r.example", APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	calls := []func() error{
		func() error { _, err := p.Chat(context.Background(), &providers.ChatRequest{}); return err },
		func() error { _, err := p.ChatStream(context.Background(), &providers.ChatRequest{}); return err },
		func() error {
			_, err := p.Embed(context.Background(), &providers.EmbedRequest{Inputs: []string{"x"}})
			return err
		},
	}
	for i, call := range calls {
		var pe *providers.Error
		if err := call(); !errors.As(err, &pe) || pe.Kind != providers.KindInvalidRequest {
			t.Errorf("call %d: err = %v, want invalid request", i, err)
		}
	}
}
