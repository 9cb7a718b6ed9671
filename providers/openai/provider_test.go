package openai

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers"
)

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		cfg         providers.Config
		wantErr     bool
		streamUsage bool
	}{
		{name: "defaults", cfg: providers.Config{ID: "a"}, streamUsage: true},
		{name: "stream usage off", cfg: providers.Config{ID: "a", Settings: map[string]string{"stream_usage": "false"}}},
		{name: "unknown settings ignored", cfg: providers.Config{ID: "a", Settings: map[string]string{"api_version": "2024-10-21"}}, streamUsage: true},
		{name: "bad stream usage", cfg: providers.Config{ID: "a", Settings: map[string]string{"stream_usage": "maybe"}}, wantErr: true},
		{name: "bad max tokens field", cfg: providers.Config{ID: "a", Settings: map[string]string{"max_tokens_field": "tokens"}}, wantErr: true},
		{name: "relative base url", cfg: providers.Config{ID: "a", BaseURL: "/v1"}, wantErr: true},
		{name: "bad scheme", cfg: providers.Config{ID: "a", BaseURL: "ftp://x/v1"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := New(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			c := p.Capabilities()
			if c.StreamUsage != tt.streamUsage || c.Dialect != "openai" || !c.Tools || !c.Images || !c.Embeddings {
				t.Errorf("capabilities = %+v", c)
			}
			if p.ID() != "a" {
				t.Errorf("ID = %q", p.ID())
			}
			if p.baseURL != DefaultBaseURL {
				t.Errorf("base URL = %q", p.baseURL)
			}
		})
	}
}

// recordingServer answers every request with status and body and records
// the last request's headers and path.
func recordingServer(t *testing.T, status int, contentType, body string) (*httptest.Server, chan *http.Request) {
	t.Helper()
	got := make(chan *http.Request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case got <- r:
		default:
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	const okBody = `{"object":"list","data":[{"id":"m1"}]}`
	tests := []struct {
		name     string
		key      string
		settings map[string]string
		opts     func(base string) []Option
		path     string
		want     map[string]string
	}{
		{
			name:     "bearer, organization and project",
			key:      "sk-1",
			settings: map[string]string{"organization": "org-9", "project": "proj_7"},
			path:     "/v1/models",
			want:     map[string]string{"Authorization": "Bearer sk-1", "Openai-Organization": "org-9", "Openai-Project": "proj_7", "Accept": "application/json"},
		},
		{
			name: "no key, no auth header",
			path: "/v1/models",
			want: map[string]string{"Authorization": "", "Openai-Organization": ""},
		},
		{
			name: "custom endpoint and auth",
			key:  "azure-key",
			opts: func(base string) []Option {
				return []Option{
					WithEndpoint(func(op Operation, model string) (string, error) {
						return base + "/openai/" + string(op) + "?api-version=2024-10-21", nil
					}),
					WithAuth(func(h http.Header) { h.Set("api-key", "azure-key") }),
				}
			},
			path: "/openai/models?api-version=2024-10-21",
			want: map[string]string{"Api-Key": "azure-key", "Authorization": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, got := recordingServer(t, 200, "application/json", okBody)
			var opts []Option
			if tt.opts != nil {
				opts = tt.opts(srv.URL)
			}
			p, err := New(providers.Config{ID: "x", BaseURL: srv.URL + "/v1/", APIKey: tt.key, Settings: tt.settings}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			ids, err := p.ListModels(context.Background())
			if err != nil || len(ids) != 1 || ids[0] != "m1" {
				t.Fatalf("ListModels = %v, %v", ids, err)
			}
			r := <-got
			if r.URL.RequestURI() != tt.path {
				t.Errorf("path = %q, want %q", r.URL.RequestURI(), tt.path)
			}
			for k, v := range tt.want {
				if r.Header.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, r.Header.Get(k), v)
				}
			}
		})
	}
}

func TestEndpointError(t *testing.T) {
	t.Parallel()
	wantErr := errors.New("no deployment for model")
	p, err := New(providers.Config{ID: "x"}, WithEndpoint(func(Operation, string) (string, error) { return "", wantErr }))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Chat(context.Background(), &providers.ChatRequest{Model: "m"})
	if !errors.Is(err, wantErr) {
		t.Fatalf("err = %v, want wrapped %v", err, wantErr)
	}
}

func TestUpstreamEchoingAuthorizationDoesNotLeakKey(t *testing.T) {
	t.Parallel()
	const key = "sk-live-0123456789abcdef"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"message":"header was `+r.Header.Get("Authorization")+`","type":"invalid_request_error","param":"`+
			r.Header.Get("Authorization")+`","code":"invalid_api_key"}}`)
	}))
	t.Cleanup(srv.Close)
	p, err := New(providers.Config{ID: "x", BaseURL: srv.URL, APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Chat(context.Background(), &providers.ChatRequest{Model: "m"})
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindAuthentication {
		t.Fatalf("err = %v, want authentication error", err)
	}
	for _, s := range []string{err.Error(), pe.Message, pe.Param, pe.Code, pe.Type} {
		if strings.Contains(s, key) {
			t.Fatalf("key leaked in %q", s)
		}
	}
	if pe.Message != "header was Bearer [redacted]" {
		t.Errorf("message = %q", pe.Message)
	}
}

func TestStreamRequestAnsweredWithJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		chunks   int
		wantText string
		wantErr  bool
	}{
		{
			name: "full completion instead of a stream",
			body: `{"id":"c1","model":"m","created":1,"choices":[{"index":0,"message":{"role":"assistant","content":"whole answer"},"finish_reason":"stop"}],
				"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`,
			chunks:   2,
			wantText: "whole answer",
		},
		{
			name:    "error object with 200",
			body:    `{"error":{"message":"model overloaded","type":"server_error"}}`,
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := recordingServer(t, 200, "application/json; charset=utf-8", tt.body)
			p, err := New(providers.Config{ID: "x", BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			s, err := p.ChatStream(context.Background(), &providers.ChatRequest{Model: "m"})
			if tt.wantErr {
				if !providers.IsRetryable(err) {
					t.Fatalf("err = %v, want a retryable error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := drain(s)
			if !errors.Is(err, io.EOF) || len(got) != tt.chunks {
				t.Fatalf("got %d chunks, err %v", len(got), err)
			}
			if got[0].Choices[0].Text != tt.wantText || got[0].Choices[0].FinishReason != providers.FinishStop {
				t.Errorf("first chunk = %+v", got[0].Choices[0])
			}
			if u := got[1].Usage; u == nil || u.InputTokens != 3 || u.OutputTokens != 2 {
				t.Errorf("usage chunk = %+v", got[1])
			}
		})
	}
}
