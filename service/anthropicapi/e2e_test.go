package anthropicapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	tollgatev1 "github.com/tollgate-dev/tollgate/gen/tollgate/v1"
	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/providers/anthropic/anthropictest"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// The Anthropic-type fixture registered by setupAnthropic.
const (
	anthropicProvider = "fake-anthropic"
	claudeModel       = "claude-sonnet-4-5"
)

// env is a gateway with the OpenAI fake behind gpt-4o-mini and, when
// requested, the Anthropic fake behind claude-sonnet-4-5.
type env struct {
	g      *servertest.Gateway
	key    string
	openai *fakeupstream.OpenAI
	claude *anthropictest.Server
}

func newEnv(t testing.TB, withAnthropic bool, opts ...fakeupstream.Option) *env {
	t.Helper()
	g := servertest.Start(t, servertest.Options{})
	oa, oaURL := fakeupstream.StartOpenAI(t, opts...)
	e := &env{g: g, openai: oa, key: g.Setup(t, oaURL)}
	if withAnthropic {
		var aURL string
		e.claude, aURL = anthropictest.Start(t, anthropictest.WithAPIKey("sk-ant-upstream"), anthropictest.WithThinking("Pondering."))
		ctx := context.Background()
		if _, err := g.Admin.CreateProvider(ctx, connect.NewRequest(&tollgatev1.CreateProviderRequest{
			Provider:   &tollgatev1.Provider{Id: anthropicProvider, Type: tollgatev1.ProviderType_PROVIDER_TYPE_ANTHROPIC, BaseUrl: aURL},
			Credential: "sk-ant-upstream",
		})); err != nil {
			t.Fatalf("CreateProvider: %v", err)
		}
		if _, err := g.Admin.CreateModel(ctx, connect.NewRequest(&tollgatev1.CreateModelRequest{Model: &tollgatev1.Model{
			Name: claudeModel, ProviderId: anthropicProvider, ContextWindow: 200000,
		}})); err != nil {
			t.Fatalf("CreateModel: %v", err)
		}
	}
	return e
}

// post sends an Anthropic-style request (x-api-key, anthropic-version).
func (e *env) post(t testing.TB, path, body string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.g.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", e.key)
	req.Header.Set("Anthropic-Version", "2023-06-01")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func decodeJSON(t testing.TB, resp *http.Response, v any) {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

type block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	Thinking  string          `json:"thinking"`
	Signature string          `json:"signature"`
}

type messageResp struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"`
	Role         string  `json:"role"`
	Model        string  `json:"model"`
	Content      []block `json:"content"`
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Usage        struct {
		InputTokens  int64 `json:"input_tokens"`
		OutputTokens int64 `json:"output_tokens"`
	} `json:"usage"`
}

type errorResp struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// event is one parsed SSE event.
type event struct {
	Name string
	Data map[string]any
}

func readEvents(t testing.TB, r io.Reader) []event {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	var out []event
	for frame := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n\n") {
		name, data, ok := strings.Cut(frame, "\ndata: ")
		if !ok || !strings.HasPrefix(name, "event: ") {
			t.Fatalf("bad SSE frame %q in\n%s", frame, b)
		}
		ev := event{Name: strings.TrimPrefix(name, "event: ")}
		if err := json.Unmarshal([]byte(data), &ev.Data); err != nil {
			t.Fatalf("event %s data %q: %v", ev.Name, data, err)
		}
		if ev.Data["type"] != ev.Name {
			t.Errorf("event %s carries type %v", ev.Name, ev.Data["type"])
		}
		out = append(out, ev)
	}
	return out
}

func names(evs []event) string {
	var b strings.Builder
	for i, e := range evs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.Name)
		if e.Name == "content_block_start" {
			b.WriteString(":" + e.Data["content_block"].(map[string]any)["type"].(string))
		}
	}
	return b.String()
}

// assemble concatenates the text deltas and tool input of a stream.
func assemble(evs []event, deltaType, field string) string {
	var b strings.Builder
	for _, e := range evs {
		if e.Name != "content_block_delta" {
			continue
		}
		d := e.Data["delta"].(map[string]any)
		if d["type"] == deltaType {
			b.WriteString(d[field].(string))
		}
	}
	return b.String()
}

func TestMessagesOpenAIUpstream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, fakeupstream.WithChunks(3))

	t.Run("unary", func(t *testing.T) {
		resp := e.post(t, "/v1/messages", `{"model":"gpt-4o-mini","max_tokens":256,"system":"Be terse.",
			"messages":[{"role":"user","content":"Hello there"}],"metadata":{"user_id":"u-1"}}`)
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		if resp.Header.Get("Request-Id") == "" || resp.Header.Get("Request-Id") != resp.Header.Get("X-Request-Id") {
			t.Errorf("request-id %q, x-request-id %q", resp.Header.Get("Request-Id"), resp.Header.Get("X-Request-Id"))
		}
		var m messageResp
		decodeJSON(t, resp, &m)
		if m.Type != "message" || m.Role != "assistant" || m.Model != "gpt-4o-mini" || !strings.HasPrefix(m.ID, "msg_") {
			t.Errorf("envelope %+v", m)
		}
		if len(m.Content) != 1 || m.Content[0].Type != "text" || m.Content[0].Text != "echo: Hello there" {
			t.Errorf("content %+v", m.Content)
		}
		if m.StopReason != "end_turn" || m.StopSequence != nil || m.Usage.InputTokens == 0 || m.Usage.OutputTokens == 0 {
			t.Errorf("stop %q/%v usage %+v", m.StopReason, m.StopSequence, m.Usage)
		}
		up, _ := e.openai.LastRequest()
		var sent struct {
			Messages []struct{ Role string } `json:"messages"`
			User     string                  `json:"user"`
			Max      *int                    `json:"max_tokens"`
			MaxC     *int                    `json:"max_completion_tokens"`
		}
		if err := json.Unmarshal(up.Body, &sent); err != nil {
			t.Fatal(err)
		}
		if len(sent.Messages) != 2 || sent.Messages[0].Role != "system" || sent.User != "u-1" || (sent.Max == nil && sent.MaxC == nil) {
			t.Errorf("upstream request %s", up.Body)
		}
	})

	t.Run("stream", func(t *testing.T) {
		resp := e.post(t, "/v1/messages", `{"model":"gpt-4o-mini","max_tokens":256,"stream":true,
			"messages":[{"role":"user","content":"Stream me a reply"}]}`)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		evs := readEvents(t, resp.Body)
		want := "message_start ping content_block_start:text content_block_delta content_block_delta content_block_delta content_block_stop message_delta message_stop"
		if got := names(evs); got != want {
			t.Errorf("events\n got %s\nwant %s", got, want)
		}
		if got := assemble(evs, "text_delta", "text"); got != "echo: Stream me a reply" {
			t.Errorf("text %q", got)
		}
		md := evs[len(evs)-2].Data
		if md["delta"].(map[string]any)["stop_reason"] != "end_turn" || md["usage"].(map[string]any)["output_tokens"].(float64) == 0 {
			t.Errorf("message_delta %v", md)
		}
	})

	t.Run("tool round trip", func(t *testing.T) {
		const tools = `"tools":[{"name":"get_weather","description":"Weather by city","input_schema":{"type":"object","properties":{"text":{"type":"string"}}}}]`
		resp := e.post(t, "/v1/messages", `{"model":"gpt-4o-mini","max_tokens":256,`+tools+`,
			"messages":[{"role":"user","content":"please call get_weather"}]}`)
		var m messageResp
		decodeJSON(t, resp, &m)
		if m.StopReason != "tool_use" || len(m.Content) != 1 || m.Content[0].Type != "tool_use" || m.Content[0].Name != "get_weather" {
			t.Fatalf("message %+v", m)
		}
		call := m.Content[0]
		if string(call.Input) != `{"text":"please call get_weather"}` || call.ID == "" {
			t.Errorf("tool_use %+v input %s", call, call.Input)
		}
		assistant, _ := json.Marshal(m.Content)
		resp = e.post(t, "/v1/messages", `{"model":"gpt-4o-mini","max_tokens":256,`+tools+`,
			"messages":[{"role":"user","content":"please call get_weather"},
			{"role":"assistant","content":`+string(assistant)+`},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"`+call.ID+`","content":[{"type":"text","text":"sunny, 21C"}]}]}]}`)
		var m2 messageResp
		decodeJSON(t, resp, &m2)
		if len(m2.Content) != 1 || m2.Content[0].Text != "The tool get_weather returned: sunny, 21C" || m2.StopReason != "end_turn" {
			t.Errorf("answer %+v", m2)
		}
	})

	t.Run("tool stream", func(t *testing.T) {
		resp := e.post(t, "/v1/messages", `{"model":"gpt-4o-mini","max_tokens":256,"stream":true,
			"tools":[{"name":"lookup","input_schema":{"type":"object"}}],"tool_choice":{"type":"any"},
			"messages":[{"role":"user","content":"find it"}]}`)
		evs := readEvents(t, resp.Body)
		if got := names(evs); !strings.HasPrefix(got, "message_start ping content_block_start:tool_use content_block_delta") ||
			!strings.HasSuffix(got, "content_block_stop message_delta message_stop") {
			t.Errorf("events %s", got)
		}
		if got := assemble(evs, "input_json_delta", "partial_json"); got != `{"text":"find it"}` {
			t.Errorf("tool input %q", got)
		}
		if r := evs[len(evs)-2].Data["delta"].(map[string]any)["stop_reason"]; r != "tool_use" {
			t.Errorf("stop_reason %v", r)
		}
	})

	t.Run("count tokens estimates", func(t *testing.T) {
		resp := e.post(t, "/v1/messages/count_tokens", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"How many tokens is this?"}]}`)
		var c struct {
			InputTokens int64 `json:"input_tokens"`
		}
		decodeJSON(t, resp, &c)
		if resp.StatusCode != http.StatusOK || c.InputTokens < 5 {
			t.Errorf("status %d, count %d", resp.StatusCode, c.InputTokens)
		}
	})

	t.Run("bearer auth and attribution headers", func(t *testing.T) {
		resp := e.post(t, "/v1/messages", `{"model":"gpt-4o-mini","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`,
			"X-Api-Key", "", "Authorization", "Bearer "+e.key, "X-Tollgate-End-User", "alice", "X-Tollgate-Tags", "a, b")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d", resp.StatusCode)
		}
		up, _ := e.openai.LastRequest()
		if !bytes.Contains(up.Body, []byte(`"user":"alice"`)) {
			t.Errorf("end user not forwarded: %s", up.Body)
		}
	})
}

func TestMessagesErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	const ok = `{"model":"gpt-4o-mini","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name     string
		fault    *fakeupstream.Fault
		body     string
		hdr      []string
		status   int
		errType  string
		inMsg    string
		wantHead string
	}{
		{name: "missing max_tokens", body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, status: 400, errType: "invalid_request_error", inMsg: "max_tokens: Field required"},
		{name: "not JSON", body: `{"model":`, status: 400, errType: "invalid_request_error", inMsg: "not valid JSON"},
		{name: "server tool", body: `{"model":"gpt-4o-mini","max_tokens":16,"tools":[{"type":"bash_20250124","name":"bash"}],"messages":[{"role":"user","content":"hi"}]}`,
			status: 400, errType: "invalid_request_error", inMsg: "not supported"},
		{name: "invalid key", body: ok, hdr: []string{"X-Api-Key", "tg-not-a-key"}, status: 401, errType: "authentication_error"},
		{name: "no key", body: ok, hdr: []string{"X-Api-Key", ""}, status: 401, errType: "authentication_error"},
		{name: "unknown model", body: `{"model":"claude-nope","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, status: 404, errType: "not_found_error", inMsg: "claude-nope"},
		{name: "upstream 429", fault: ptr(fakeupstream.RateLimitFault(3 * time.Second)), body: ok, status: 429, errType: "rate_limit_error", wantHead: "Retry-After"},
		{name: "upstream 500", fault: ptr(fakeupstream.StatusFault(500)), body: ok, status: 500, errType: "api_error", inMsg: "fake-openai"},
		{name: "upstream 503", fault: ptr(fakeupstream.StatusFault(503)), body: ok, status: 529, errType: "overloaded_error"},
		{name: "upstream 401", fault: ptr(fakeupstream.StatusFault(401)), body: ok, status: 500, errType: "api_error", inMsg: "credential"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: faults are consumed in order by the shared fake.
			if tt.fault != nil {
				e.openai.Enqueue(*tt.fault)
				if tt.fault.Status == http.StatusTooManyRequests || tt.fault.Status >= 500 {
					// Plain models are retried once (package routing): fail both attempts.
					e.openai.Enqueue(*tt.fault)
				}
			}
			resp := e.post(t, "/v1/messages", tt.body, tt.hdr...)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			var er errorResp
			decodeJSON(t, resp, &er)
			if er.Type != "error" || er.Error.Type != tt.errType || !strings.Contains(er.Error.Message, tt.inMsg) || er.RequestID != resp.Header.Get("Request-Id") {
				t.Errorf("error body %+v", er)
			}
			if tt.wantHead != "" && resp.Header.Get(tt.wantHead) == "" {
				t.Errorf("header %s missing: %v", tt.wantHead, resp.Header)
			}
			if strings.Contains(er.Error.Message, servertest.UpstreamKey) {
				t.Errorf("upstream credential leaked: %s", er.Error.Message)
			}
		})
	}

	t.Run("error after stream start", func(t *testing.T) {
		e.openai.Enqueue(fakeupstream.StreamErrorFault(2))
		resp := e.post(t, "/v1/messages", `{"model":"gpt-4o-mini","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello world"}]}`)
		evs := readEvents(t, resp.Body)
		last := evs[len(evs)-1]
		if evs[0].Name != "message_start" || last.Name != "error" || last.Data["error"].(map[string]any)["type"] != "api_error" {
			t.Errorf("events %s, last %v", names(evs), last.Data)
		}
	})
}

func TestModelsByDialect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	get := func(path string, hdr ...string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, e.g.URL+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	tests := []struct {
		name   string
		path   string
		hdr    []string
		want   string
		status int
	}{
		{"anthropic version header", "/v1/models", []string{"X-Api-Key", e.key, "Anthropic-Version", "2023-06-01"}, `"type":"model","id":"gpt-4o-mini","display_name":"gpt-4o-mini"`, 200},
		{"x-api-key alone", "/v1/models", []string{"X-Api-Key", e.key}, `"has_more":false,"first_id":"gpt-4o-mini","last_id":"gpt-4o-mini"`, 200},
		{"openai client", "/v1/models", []string{"Authorization", "Bearer " + e.key}, `"object":"list"`, 200},
		{"one model", "/v1/models/gpt-4o-mini", []string{"X-Api-Key", e.key}, `{"type":"model","id":"gpt-4o-mini"`, 200},
		{"unknown model", "/v1/models/nope", []string{"X-Api-Key", e.key}, `"type":"not_found_error"`, 404},
		{"bad key", "/v1/models", []string{"X-Api-Key", "tg-bad"}, `"type":"authentication_error"`, 401},
		{"bad limit", "/v1/models?limit=0", []string{"X-Api-Key", e.key}, `"type":"invalid_request_error"`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := get(tt.path, tt.hdr...)
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
				t.Errorf("status %d body %s; want %d containing %s", resp.StatusCode, b, tt.status, tt.want)
			}
			if strings.Contains(string(b), "text-embedding") && tt.hdr[0] == "X-Api-Key" {
				t.Errorf("embedding model listed to an Anthropic client: %s", b)
			}
		})
	}
}

func TestMessagesAnthropicUpstream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)

	t.Run("unary with thinking", func(t *testing.T) {
		resp := e.post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":2048,"thinking":{"type":"enabled","budget_tokens":1024},
			"system":[{"type":"text","text":"Be kind.","cache_control":{"type":"ephemeral"}}],
			"messages":[{"role":"user","content":"Hello Claude"}]}`)
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		var m messageResp
		decodeJSON(t, resp, &m)
		if len(m.Content) != 2 || m.Content[0].Type != "thinking" || m.Content[0].Thinking != "Pondering." || m.Content[0].Signature == "" ||
			m.Content[1].Text != "echo: Hello Claude" || m.Model != claudeModel || !strings.HasPrefix(m.ID, "msg_") {
			t.Errorf("message %+v", m)
		}
		up, _ := e.claude.LastRequest()
		if up.Header.Get("X-Api-Key") != "sk-ant-upstream" || !bytes.Contains(up.Body, []byte(`"cache_control"`)) || !bytes.Contains(up.Body, []byte(`"budget_tokens":1024`)) {
			t.Errorf("upstream request %v %s", up.Header, up.Body)
		}
	})

	t.Run("stream with thinking", func(t *testing.T) {
		resp := e.post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":2048,"stream":true,"thinking":{"type":"enabled","budget_tokens":1024},
			"messages":[{"role":"user","content":"Think first"}]}`)
		evs := readEvents(t, resp.Body)
		got := names(evs)
		// Passed through: the upstream's events, whose ping follows the
		// first block's start.
		if !strings.HasPrefix(got, "message_start content_block_start:thinking ping content_block_delta") ||
			!strings.Contains(got, "content_block_stop content_block_start:text") || !strings.HasSuffix(got, "content_block_stop message_delta message_stop") {
			t.Errorf("events %s", got)
		}
		if th := assemble(evs, "thinking_delta", "thinking"); th != "Pondering." {
			t.Errorf("thinking %q", th)
		}
		if sig := assemble(evs, "signature_delta", "signature"); sig == "" {
			t.Error("no signature_delta")
		}
		if txt := assemble(evs, "text_delta", "text"); txt != "echo: Think first" {
			t.Errorf("text %q", txt)
		}
	})

	t.Run("tool round trip", func(t *testing.T) {
		const tools = `"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"text":{"type":"string"}}}}]`
		resp := e.post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":256,`+tools+`,"messages":[{"role":"user","content":"call get_weather"}]}`)
		var m messageResp
		decodeJSON(t, resp, &m)
		if m.StopReason != "tool_use" || len(m.Content) == 0 || m.Content[len(m.Content)-1].Type != "tool_use" {
			t.Fatalf("message %+v", m)
		}
		call := m.Content[len(m.Content)-1]
		assistant, _ := json.Marshal(m.Content)
		resp = e.post(t, "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":256,`+tools+`,"messages":[
			{"role":"user","content":"call get_weather"},{"role":"assistant","content":`+string(assistant)+`},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"`+call.ID+`","content":"rainy"}]}]}`)
		var m2 messageResp
		decodeJSON(t, resp, &m2)
		if len(m2.Content) != 1 || m2.Content[0].Text != "The tool get_weather returned: rainy" {
			t.Errorf("answer %+v", m2)
		}
	})

	t.Run("count tokens upstream", func(t *testing.T) {
		body := `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Count these tokens please"}]}`
		resp := e.post(t, "/v1/messages/count_tokens", body)
		var c struct {
			InputTokens int64 `json:"input_tokens"`
		}
		decodeJSON(t, resp, &c)
		up, _ := e.claude.LastRequest()
		if resp.StatusCode != http.StatusOK || c.InputTokens == 0 || !strings.HasSuffix(up.Path, "/v1/messages/count_tokens") {
			t.Errorf("status %d count %d upstream path %q", resp.StatusCode, c.InputTokens, up.Path)
		}
	})

	t.Run("overloaded and rate limited", func(t *testing.T) {
		// Plain models are retried once (package routing): each fault is
		// queued twice so that both attempts of a request fail.
		e.claude.Enqueue(anthropictest.OverloadedFault(), anthropictest.OverloadedFault(),
			anthropictest.RateLimitFault(2*time.Second), anthropictest.RateLimitFault(2*time.Second))
		const body = `{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
		r1 := e.post(t, "/v1/messages", body)
		r2 := e.post(t, "/v1/messages", body)
		var er errorResp
		decodeJSON(t, r1, &er)
		if r1.StatusCode != 529 || er.Error.Type != "overloaded_error" {
			t.Errorf("overloaded: %d %+v", r1.StatusCode, er)
		}
		decodeJSON(t, r2, &er)
		if r2.StatusCode != 429 || er.Error.Type != "rate_limit_error" || r2.Header.Get("Retry-After") == "" {
			t.Errorf("rate limited: %d %+v %v", r2.StatusCode, er, r2.Header)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestStreamClientDisconnectCancelsUpstream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, fakeupstream.WithChunks(50), fakeupstream.WithChunkDelay(50*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.g.URL+"/v1/messages",
		strings.NewReader(`{"model":"gpt-4o-mini","max_tokens":512,"stream":true,"messages":[{"role":"user","content":"a long answer please, with many many words in it"}]}`))
	req.Header.Set("X-Api-Key", e.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := io.ReadAtLeast(resp.Body, buf, len(buf)); err != nil || !strings.HasPrefix(string(buf), "event: message_start") {
		t.Fatalf("first bytes %q: %v", buf, err)
	}
	cancel()
	resp.Body.Close()
	testutil.Eventually(t, func() error {
		if e.openai.Cancelled() == 0 {
			return fmt.Errorf("upstream not cancelled; in flight %d", e.openai.InFlight())
		}
		return nil
	})
}
