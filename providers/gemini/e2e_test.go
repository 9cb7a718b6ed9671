package gemini_test

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
	"github.com/tollgate-dev/tollgate/providers/gemini"
	"github.com/tollgate-dev/tollgate/providers/gemini/geminitest"
)

const key = "AIzaSyE2E-secret"

func start(t *testing.T, settings map[string]string, opts ...geminitest.Option) (*geminitest.Gemini, *gemini.Provider) {
	t.Helper()
	fake, base := geminitest.Start(t, append([]geminitest.Option{geminitest.WithAPIKey(key)}, opts...)...)
	p, err := gemini.New(providers.Config{ID: "gm", Type: "gemini", BaseURL: base, APIKey: key, Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	return fake, p
}

func userMsg(s string) providers.Message {
	return providers.Message{Role: providers.RoleUser, Content: []providers.Part{providers.TextPart(s)}}
}

// drain reads a stream into one message per choice index and the last usage.
func drain(t *testing.T, s providers.Stream) (map[int]*providers.Message, map[int]providers.FinishReason, *providers.Usage) {
	t.Helper()
	defer s.Close()
	msgs := map[int]*providers.Message{}
	finish := map[int]providers.FinishReason{}
	var usage *providers.Usage
	for {
		c, err := s.Recv()
		if err == io.EOF {
			return msgs, finish, usage
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if c.Usage != nil {
			usage = c.Usage
		}
		for _, d := range c.Choices {
			m := msgs[d.Index]
			if m == nil {
				if d.Role != providers.RoleAssistant {
					t.Fatalf("first delta of choice %d has role %q", d.Index, d.Role)
				}
				m = &providers.Message{Role: d.Role}
				msgs[d.Index] = m
			}
			if d.Text != "" {
				if n := len(m.Content); n > 0 && m.Content[n-1].Type == providers.PartText {
					m.Content[n-1].Text += d.Text
				} else {
					m.Content = append(m.Content, providers.TextPart(d.Text))
				}
			}
			for _, tc := range d.ToolCalls {
				if tc.Index != len(m.ToolCalls) || tc.ID == "" || tc.Name == "" {
					t.Fatalf("tool call delta is not a complete new call: %+v", tc)
				}
				m.ToolCalls = append(m.ToolCalls, providers.ToolCall{ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
			}
			if d.FinishReason != "" {
				finish[d.Index] = d.FinishReason
			}
		}
	}
}

func TestUnaryAndStream(t *testing.T) {
	t.Parallel()
	fake, p := start(t, nil, geminitest.WithThoughts("Let me think."), geminitest.WithChunks(3))
	req := &providers.ChatRequest{Model: "gemini-2.5-flash", Messages: []providers.Message{
		{Role: providers.RoleSystem, Content: []providers.Part{providers.TextPart("Be brief.")}},
		userMsg("hello there"),
	}, Reasoning: &providers.ReasoningConfig{Effort: "low"}, N: ptr(2)}

	resp, err := p.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if len(resp.Choices) != 2 || resp.Model != "gemini-2.5-flash" || resp.ID == "" {
		t.Fatalf("response = %+v", resp)
	}
	for i, c := range resp.Choices {
		want := []providers.Part{{Type: providers.PartReasoning, Text: "Let me think."}, providers.TextPart("echo: hello there")}
		if c.Index != i || c.FinishReason != providers.FinishStop || !reflect.DeepEqual(c.Message.Content, want) {
			t.Errorf("choice %d = %+v", i, c)
		}
	}
	if resp.Usage.ReasoningTokens != 8 || resp.Usage.OutputTokens != 2*5+8 || resp.Usage.InputTokens == 0 {
		t.Errorf("usage = %+v", resp.Usage)
	}
	last, _ := fake.LastRequest()
	if last.Path != "/v1beta/models/gemini-2.5-flash:generateContent" || last.Header.Get("x-goog-api-key") != key {
		t.Errorf("request = %s %v", last.Path, last.Header)
	}

	s, err := p.ChatStream(context.Background(), req)
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	msgs, finish, usage := drain(t, s)
	if len(msgs) != 2 || msgs[0].Text() != "echo: hello there" || msgs[1].Text() != "echo: hello there" ||
		finish[0] != providers.FinishStop || finish[1] != providers.FinishStop {
		t.Errorf("stream messages = %+v, finish = %v", msgs, finish)
	}
	if usage == nil || *usage != resp.Usage {
		t.Errorf("stream usage = %+v, want %+v", usage, resp.Usage)
	}
	last, _ = fake.LastRequest()
	if last.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse" {
		t.Errorf("stream path = %s", last.Path)
	}
}

func ptr[T any](v T) *T { return &v }

func TestToolRoundTrip(t *testing.T) {
	t.Parallel()
	weather := providers.Tool{Name: "get_weather", Description: "Weather for a city", Parameters: json.RawMessage(
		`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false,
		"properties":{"city":{"type":"string","description":"City"}},"required":["city"]}`)}
	tests := []struct {
		name     string
		model    string
		settings map[string]string
		opts     []geminitest.Option
		stream   bool
	}{
		{name: "gemini 2.5 unary", model: "gemini-2.5-flash"},
		{name: "gemini 2.5 stream", model: "gemini-2.5-flash", stream: true},
		{name: "gemini 3 signatures unary", model: "gemini-3-pro-preview",
			opts: []geminitest.Option{geminitest.WithThoughtSignatures(true), geminitest.WithCallIDs(true)}},
		{name: "gemini 3 signatures stream", model: "gemini-3-pro-preview", stream: true,
			opts: []geminitest.Option{geminitest.WithThoughtSignatures(true)}},
		{name: "json schema mode", model: "gemini-2.5-flash", settings: map[string]string{"schema": "json_schema"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, p := start(t, tt.settings, tt.opts...)
			ask := func(msgs []providers.Message) *providers.Message {
				req := &providers.ChatRequest{Model: tt.model, Messages: msgs, Tools: []providers.Tool{weather}}
				if !tt.stream {
					resp, err := p.Chat(context.Background(), req)
					if err != nil {
						t.Fatalf("Chat: %v", err)
					}
					return &resp.Choices[0].Message
				}
				s, err := p.ChatStream(context.Background(), req)
				if err != nil {
					t.Fatalf("ChatStream: %v", err)
				}
				got, _, _ := drain(t, s)
				return got[0]
			}
			conv := []providers.Message{userMsg("please call get_weather for Paris")}
			first := ask(conv)
			if len(first.ToolCalls) != 1 || first.ToolCalls[0].Name != "get_weather" ||
				first.ToolCalls[0].Arguments != `{"text":"please call get_weather for Paris"}` {
				t.Fatalf("first answer = %+v", first)
			}
			conv = append(conv, *first, providers.Message{Role: providers.RoleTool, ToolCallID: first.ToolCalls[0].ID,
				Content: []providers.Part{providers.TextPart(`{"temp_c":21}`)}})
			second := ask(conv)
			if got, want := second.Text(), `The tool get_weather returned: {"temp_c":21}`; got != want {
				t.Fatalf("second answer = %q, want %q", got, want)
			}
			if n := len(fake.Requests()); n != 2 {
				t.Errorf("fake saw %d requests", n)
			}
		})
	}
}

func TestForeignHistoryOnGemini3(t *testing.T) {
	t.Parallel()
	conv := []providers.Message{
		userMsg("call get_time"),
		{Role: providers.RoleAssistant, ToolCalls: []providers.ToolCall{{ID: "call_DdmO9pD3xa9XTPNJ32zg2hcA", Name: "get_time", Arguments: "{}"}}},
		{Role: providers.RoleTool, ToolCallID: "call_DdmO9pD3xa9XTPNJ32zg2hcA", Content: []providers.Part{providers.TextPart("noon")}},
	}
	tests := []struct {
		name     string
		settings map[string]string
		wantErr  bool
	}{
		{name: "fallback signature accepted"},
		{name: "without fallback upstream rejects", settings: map[string]string{"thought_signature_fallback": "false"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, p := start(t, tt.settings, geminitest.WithThoughtSignatures(true))
			resp, err := p.Chat(context.Background(), &providers.ChatRequest{Model: "gemini-3-pro-preview", Messages: conv,
				Tools: []providers.Tool{{Name: "get_time"}}})
			if tt.wantErr {
				var pe *providers.Error
				if !errors.As(err, &pe) || pe.Kind != providers.KindInvalidRequest || !strings.Contains(pe.Message, "thought_signature") {
					t.Fatalf("err = %v, want invalid request about thought_signature", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			if got := resp.Choices[0].Message.Text(); got != `The tool get_time returned: {"result":"noon"}` {
				t.Errorf("answer = %q", got)
			}
		})
	}
}

func TestEmbed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		inputs    int
		dims      *int
		wantCalls []string
	}{
		{name: "single", inputs: 1, wantCalls: []string{":embedContent"}},
		{name: "batch", inputs: 3, dims: ptr(4), wantCalls: []string{":batchEmbedContents"}},
		{name: "over one batch", inputs: 150, wantCalls: []string{":batchEmbedContents", ":batchEmbedContents"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, p := start(t, map[string]string{"embed_task_type": "RETRIEVAL_DOCUMENT"})
			inputs := make([]string, tt.inputs)
			for i := range inputs {
				inputs[i] = fmt.Sprintf("doc %d", i)
			}
			resp, err := p.Embed(context.Background(), &providers.EmbedRequest{Model: "gemini-embedding-001", Inputs: inputs, Dimensions: tt.dims})
			if err != nil {
				t.Fatalf("Embed: %v", err)
			}
			dims := 8
			if tt.dims != nil {
				dims = *tt.dims
			}
			if len(resp.Vectors) != len(inputs) || resp.Model != "gemini-embedding-001" {
				t.Fatalf("got %d vectors, model %q", len(resp.Vectors), resp.Model)
			}
			for i, v := range resp.Vectors {
				if !reflect.DeepEqual(v, fakeupstream.HashVector(inputs[i], dims)) {
					t.Fatalf("vector %d is not the embedding of its input", i)
				}
			}
			reqs := fake.Requests()
			if len(reqs) != len(tt.wantCalls) {
				t.Fatalf("fake saw %d requests, want %d", len(reqs), len(tt.wantCalls))
			}
			for i, r := range reqs {
				if !strings.HasSuffix(r.Path, "/v1beta/models/gemini-embedding-001"+tt.wantCalls[i]) ||
					!strings.Contains(string(r.Body), `"taskType":"RETRIEVAL_DOCUMENT"`) {
					t.Errorf("request %d = %s %s", i, r.Path, r.Body)
				}
			}
		})
	}
}

func TestListModelsAndCountTokens(t *testing.T) {
	t.Parallel()
	names := make([]string, 1500)
	for i := range names {
		names[i] = fmt.Sprintf("gemini-test-%04d", i)
	}
	names[0] = "gemini-2.5-flash"
	fake, p := start(t, nil, geminitest.WithModels(names...))
	ids, err := p.ListModels(context.Background())
	if err != nil {
		t.Fatalf("ListModels: %v", err)
	}
	if !reflect.DeepEqual(ids, names) {
		t.Errorf("ListModels returned %d ids (first %v), want %d", len(ids), ids[:min(3, len(ids))], len(names))
	}
	if n := len(fake.Requests()); n != 2 {
		t.Errorf("ListModels made %d requests, want 2 pages", n)
	}
	n, err := p.CountTokens(context.Background(), &providers.ChatRequest{Model: "gemini-2.5-flash",
		Messages: []providers.Message{userMsg("12345678")}})
	if err != nil {
		t.Fatalf("CountTokens: %v", err)
	}
	if n != 3+2 {
		t.Errorf("CountTokens = %d, want 5", n)
	}
}

func TestUpstreamErrors(t *testing.T) {
	t.Parallel()
	req := func(model string) *providers.ChatRequest {
		return &providers.ChatRequest{Model: model, Messages: []providers.Message{userMsg("hi")}}
	}
	tests := []struct {
		name       string
		fault      *geminitest.Fault
		apiKey     string
		model      string
		stream     bool
		kind       providers.ErrorKind
		retryable  bool
		retryAfter time.Duration
	}{
		{name: "429 rate limited", fault: ptr(geminitest.RateLimitFault(3 * time.Second)), kind: providers.KindRateLimited, retryable: true, retryAfter: 3 * time.Second},
		{name: "400 invalid", fault: ptr(geminitest.StatusFault(400)), kind: providers.KindInvalidRequest},
		{name: "400 context length", fault: ptr(geminitest.ContextLengthFault()), kind: providers.KindContextLength},
		{name: "503 overloaded", fault: ptr(geminitest.StatusFault(503)), kind: providers.KindOverloaded, retryable: true},
		{name: "500 internal on stream", fault: ptr(geminitest.StatusFault(500)), stream: true, kind: providers.KindServer, retryable: true},
		{name: "connection reset", fault: ptr(geminitest.ResetFault()), kind: providers.KindConnection, retryable: true},
		{name: "wrong key", apiKey: "AIzaSyWrong", kind: providers.KindAuthentication},
		{name: "no key", apiKey: "-", kind: providers.KindPermissionDenied},
		{name: "unknown model", model: "gemini-9-ultra", kind: providers.KindNotFound},
		{name: "stream dies", fault: ptr(geminitest.DieAfterFault(1)), stream: true, kind: providers.KindConnection, retryable: true},
		{name: "stream ends early", fault: &geminitest.Fault{Kind: geminitest.FaultDieMidStream, AfterEvents: 2, Graceful: true},
			stream: true, kind: providers.KindConnection, retryable: true},
		{name: "error event in stream", fault: ptr(geminitest.StreamErrorFault(1)), stream: true, kind: providers.KindServer, retryable: true},
		{name: "unary cut off", fault: ptr(geminitest.DieAfterFault(0)), kind: providers.KindConnection, retryable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, base := geminitest.Start(t, geminitest.WithAPIKey(key))
			k := key
			switch tt.apiKey {
			case "":
			case "-":
				k = ""
			default:
				k = tt.apiKey
			}
			p, err := gemini.New(providers.Config{ID: "gm", BaseURL: base, APIKey: k})
			if err != nil {
				t.Fatal(err)
			}
			if tt.fault != nil {
				fake.Enqueue(*tt.fault)
			}
			model := tt.model
			if model == "" {
				model = "gemini-2.5-flash"
			}
			if tt.stream {
				var s providers.Stream
				s, err = p.ChatStream(context.Background(), req(model))
				if err == nil {
					defer s.Close()
					for err == nil {
						_, err = s.Recv()
					}
				}
			} else {
				_, err = p.Chat(context.Background(), req(model))
			}
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Kind != tt.kind {
				t.Fatalf("err = %v, want kind %s", err, tt.kind)
			}
			if providers.IsRetryable(err) != tt.retryable || pe.RetryAfter != tt.retryAfter {
				t.Errorf("retryable = %v retryAfter = %v; want %v %v", providers.IsRetryable(err), pe.RetryAfter, tt.retryable, tt.retryAfter)
			}
		})
	}
}

func TestFinishFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault geminitest.Fault
		want  providers.FinishReason
	}{
		{name: "blocked prompt", fault: geminitest.BlockPromptFault("PROHIBITED_CONTENT"), want: providers.FinishContentFilter},
		{name: "safety finish", fault: geminitest.FinishFault("SAFETY"), want: providers.FinishContentFilter},
		{name: "malformed call", fault: geminitest.FinishFault("MALFORMED_FUNCTION_CALL"), want: providers.FinishError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, p := start(t, nil)
			fake.Enqueue(tt.fault, tt.fault)
			req := &providers.ChatRequest{Model: "gemini-2.5-flash", Messages: []providers.Message{userMsg("hi")}}
			resp, err := p.Chat(context.Background(), req)
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			if len(resp.Choices) != 1 || resp.Choices[0].FinishReason != tt.want {
				t.Errorf("choices = %+v", resp.Choices)
			}
			s, err := p.ChatStream(context.Background(), req)
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			_, finish, usage := drain(t, s)
			if finish[0] != tt.want || usage == nil {
				t.Errorf("stream finish = %v, usage = %v", finish, usage)
			}
		})
	}
}

func TestCancelAbortsUpstream(t *testing.T) {
	t.Parallel()
	t.Run("unary hang", func(t *testing.T) {
		t.Parallel()
		fake, p := start(t, nil)
		fake.Enqueue(geminitest.HangFault())
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := p.Chat(ctx, &providers.ChatRequest{Model: "gemini-2.5-flash", Messages: []providers.Message{userMsg("hi")}})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want deadline exceeded", err)
		}
		waitCancelled(t, fake)
	})
	t.Run("stream mid-way", func(t *testing.T) {
		t.Parallel()
		fake, p := start(t, nil, geminitest.WithEventDelay(time.Hour))
		ctx, cancel := context.WithCancel(context.Background())
		s, err := p.ChatStream(ctx, &providers.ChatRequest{Model: "gemini-2.5-flash", Messages: []providers.Message{userMsg("hello world")}})
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
		waitCancelled(t, fake)
	})
}

func waitCancelled(t *testing.T, fake *geminitest.Gemini) {
	t.Helper()
	testutil.Eventually(t, func() error {
		if fake.Cancelled() == 0 || fake.InFlight() != 0 {
			return fmt.Errorf("upstream request not aborted: cancelled=%d inFlight=%d", fake.Cancelled(), fake.InFlight())
		}
		return nil
	})
}

func TestKeyNeverLeaked(t *testing.T) {
	t.Parallel()
	fake, p := start(t, nil)
	fake.Enqueue(geminitest.Fault{Kind: geminitest.FaultStatus, Status: 400, GoogleStatus: "INVALID_ARGUMENT",
		Message: "API key " + key + " is not valid for this project", Reason: "API_KEY_INVALID"})
	_, err := p.Chat(context.Background(), &providers.ChatRequest{Model: "gemini-2.5-flash", Messages: []providers.Message{userMsg("hi")}})
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindAuthentication {
		t.Fatalf("err = %v, want authentication error", err)
	}
	if strings.Contains(err.Error(), key) || strings.Contains(pe.Message, key) || strings.Contains(fmt.Sprintf("%+v", pe), key) {
		t.Errorf("error leaks the key: %v", err)
	}
	for _, r := range fake.Requests() {
		if strings.Contains(r.Path, key) {
			t.Errorf("key sent in the URL: %s", r.Path)
		}
	}
	cfg := providers.Config{APIKey: key}
	if strings.Contains(fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), key) {
		t.Errorf("config formatting leaks the key")
	}
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	p, err := gemini.New(providers.Config{ID: "gm"})
	if err != nil {
		t.Fatal(err)
	}
	want := providers.Capabilities{Dialect: "gemini", Tools: true, Images: true, Embeddings: true, StreamUsage: true}
	if got := p.Capabilities(); got != want || p.ID() != "gm" {
		t.Errorf("Capabilities = %+v, ID = %q", got, p.ID())
	}
}
