package openaiapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/fakeupstream"
	"github.com/tollgate-dev/tollgate/internal/pgtest"
	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// env is a gateway in front of a fake OpenAI upstream.
type env struct {
	g    *servertest.Gateway
	fake *fakeupstream.OpenAI
	key  string
}

func start(t *testing.T, opts ...fakeupstream.Option) *env {
	t.Helper()
	fake, url := fakeupstream.StartOpenAI(t, opts...)
	g := servertest.Start(t, servertest.Options{})
	return &env{g: g, fake: fake, key: g.Setup(t, url)}
}

// do sends a request with the env's key unless hdr sets Authorization.
func (e *env) do(t *testing.T, ctx context.Context, method, path, body string, hdr ...string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.g.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.key)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// call sends a request and returns status, headers and the decoded JSON body.
func (e *env) call(t *testing.T, method, path, body string, hdr ...string) (int, http.Header, map[string]any) {
	t.Helper()
	resp := e.do(t, context.Background(), method, path, body, hdr...)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: status %d, body not JSON: %v: %s", method, path, resp.StatusCode, err, b)
	}
	return resp.StatusCode, resp.Header, m
}

// path walks a decoded JSON value: keys for objects, ints for arrays.
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// sseEvent is one received event and when it arrived.
type sseEvent struct {
	data string
	at   time.Time
}

// readSSE reads data events (and counts comments) until the body ends.
func readSSE(t *testing.T, body io.Reader) (events []sseEvent, comments int) {
	t.Helper()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "data: "):
			events = append(events, sseEvent{data: strings.TrimPrefix(line, "data: "), at: time.Now()})
		case strings.HasPrefix(line, ":"):
			comments++
		}
	}
	return events, comments
}

func chatBody(extra string) string {
	b := `{"model":"` + servertest.ChatModel + `","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hello there"}]}]`
	if extra != "" {
		b += "," + extra
	}
	return b + "}"
}

func TestChatCompletionsUnary(t *testing.T) {
	t.Parallel()
	e := start(t)
	status, hdr, m := e.call(t, http.MethodPost, "/v1/chat/completions",
		chatBody(`"max_completion_tokens":50,"logprobs":true,"top_logprobs":2,"store":false,"metadata":{"team":"x"},"reasoning_effort":"low"`),
		"X-Tollgate-End-User", "alice", "X-Tollgate-Tags", "a, b")
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, m)
	}
	reqID := hdr.Get("X-Request-Id")
	if reqID == "" {
		t.Error("no x-request-id")
	}
	tests := []struct {
		name string
		path []any
		want any
	}{
		// Passed through to an OpenAI upstream: the upstream's answer as it
		// sent it (its id, its model), its logprobs included.
		{"object", []any{"object"}, "chat.completion"},
		{"id", []any{"id"}, "chatcmpl-fake00000001"},
		{"model is the upstream's", []any{"model"}, servertest.ChatModel},
		{"role", []any{"choices", 0, "message", "role"}, "assistant"},
		{"content", []any{"choices", 0, "message", "content"}, "echo: hello there"},
		{"refusal", []any{"choices", 0, "message", "refusal"}, nil},
		{"finish", []any{"choices", 0, "finish_reason"}, "stop"},
		{"logprobs", []any{"choices", 0, "logprobs", "content", 0, "token"}, "echo:"},
		{"total", []any{"usage", "total_tokens"}, path(m, "usage", "prompt_tokens").(float64) + path(m, "usage", "completion_tokens").(float64)},
		{"cached", []any{"usage", "prompt_tokens_details", "cached_tokens"}, 0.0},
		{"reasoning", []any{"usage", "completion_tokens_details", "reasoning_tokens"}, 0.0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := path(m, tt.path...); got != tt.want {
				t.Errorf("%v = %#v, want %#v", tt.path, got, tt.want)
			}
		})
	}

	// The upstream saw the client's body (the developer message, the fields
	// the canonical model lacks) and the end user.
	up, ok := e.fake.LastRequest()
	if !ok {
		t.Fatal("upstream got no request")
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(up.Body, &sent); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"logprobs": `true`, "top_logprobs": `2`, "store": `false`, "metadata": `{"team":"x"}`,
		"reasoning_effort": `"low"`, "user": `"alice"`, "max_completion_tokens": `50`,
	} {
		if got := string(sent[k]); got != want {
			t.Errorf("upstream %s = %s, want %s", k, got, want)
		}
	}
	if !bytes.Contains(sent["messages"], []byte(`"role":"developer"`)) {
		t.Errorf("developer message not passed through: %s", sent["messages"])
	}
}

func TestChatCompletionsStream(t *testing.T) {
	t.Parallel()
	const chunks = 5
	e := start(t, fakeupstream.WithChunkDelay(200*time.Millisecond), fakeupstream.WithChunks(chunks),
		fakeupstream.WithReply("one two three four five"))
	resp := e.do(t, context.Background(), http.MethodPost, "/v1/chat/completions",
		chatBody(`"stream":true,"stream_options":{"include_usage":true}`))
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	// Read the first event, then check the upstream is still sending.
	sc := bufio.NewReader(resp.Body)
	first, err := sc.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if e.fake.InFlight() == 0 {
		t.Error("first chunk arrived only after the upstream finished: not streamed incrementally")
	}
	events, _ := readSSE(t, sc)
	events = append([]sseEvent{{data: strings.TrimPrefix(strings.TrimSpace(first), "data: ")}}, events...)

	if last := events[len(events)-1].data; last != "[DONE]" {
		t.Fatalf("last event %q, want [DONE]", last)
	}
	var text strings.Builder
	var sawRole, sawFinish bool
	var usage map[string]any
	for i, ev := range events[:len(events)-1] {
		var c map[string]any
		if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
			t.Fatalf("event %d: %v: %s", i, err, ev.data)
		}
		if c["object"] != "chat.completion.chunk" || c["model"] != servertest.ChatModel {
			t.Errorf("event %d: object %v model %v", i, c["object"], c["model"])
		}
		if i == 0 && path(c, "choices", 0, "delta", "role") == "assistant" {
			sawRole = true
		}
		if s, ok := path(c, "choices", 0, "delta", "content").(string); ok {
			text.WriteString(s)
		}
		if path(c, "choices", 0, "finish_reason") == "stop" {
			sawFinish = true
		}
		if u, ok := c["usage"].(map[string]any); ok {
			if n := len(c["choices"].([]any)); n != 0 {
				t.Errorf("usage chunk has %d choices", n)
			}
			usage = u
		}
	}
	if !sawRole || !sawFinish {
		t.Errorf("role in first chunk %v, finish reason %v", sawRole, sawFinish)
	}
	if got := text.String(); got != "one two three four five" {
		t.Errorf("assembled %q", got)
	}
	if usage == nil || usage["total_tokens"].(float64) == 0 {
		t.Errorf("usage chunk %v", usage)
	}
}

func TestChatCompletionsStreamWithoutUsage(t *testing.T) {
	t.Parallel()
	e := start(t, fakeupstream.WithLatency(300*time.Millisecond))
	// Without include_usage no usage is sent. The gateway asked the
	// upstream for it (to account for the stream), so chunks carry the
	// upstream's "usage": null, but the usage chunk is held back.
	resp := e.do(t, context.Background(), http.MethodPost, "/v1/chat/completions", chatBody(`"stream":true`))
	defer resp.Body.Close()
	events, _ := readSSE(t, resp.Body)
	for _, ev := range events {
		if strings.Contains(ev.data, `"usage":{`) || strings.Contains(ev.data, `"choices":[]`) {
			t.Errorf("usage sent without include_usage: %s", ev.data)
		}
	}
	up, _ := e.fake.LastRequest()
	if !bytes.Contains(up.Body, []byte(`"stream_options":{"include_usage":true}`)) {
		t.Errorf("upstream not asked for usage: %s", up.Body)
	}
}

func TestChatCompletionsTools(t *testing.T) {
	t.Parallel()
	e := start(t)
	tools := `"tools":[{"type":"function","function":{"name":"get_weather","description":"w","parameters":{"type":"object","properties":{"text":{"type":"string"}}}}}],"tool_choice":"auto","parallel_tool_calls":false`
	body := `{"model":"` + servertest.ChatModel + `","messages":[{"role":"user","content":"call get_weather"}],` + tools + `}`
	status, _, m := e.call(t, http.MethodPost, "/v1/chat/completions", body)
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, m)
	}
	if got := path(m, "choices", 0, "finish_reason"); got != "tool_calls" {
		t.Fatalf("finish_reason %v: %v", got, m)
	}
	if c := path(m, "choices", 0, "message", "content"); c != nil {
		t.Errorf("content %v, want null with tool calls", c)
	}
	tc := path(m, "choices", 0, "message", "tool_calls", 0)
	id, _ := path(tc, "id").(string)
	if id == "" || path(tc, "type") != "function" || path(tc, "function", "name") != "get_weather" {
		t.Fatalf("tool call %v", tc)
	}
	args := path(tc, "function", "arguments").(string)

	// Round trip: send the call and its result back.
	body2 := `{"model":"` + servertest.ChatModel + `","messages":[{"role":"user","content":"call get_weather"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"` + id + `","type":"function","function":{"name":"get_weather","arguments":` + jsonString(args) + `}}]},` +
		`{"role":"tool","tool_call_id":"` + id + `","content":"sunny"}],` + tools + `}`
	status, _, m = e.call(t, http.MethodPost, "/v1/chat/completions", body2)
	if status != http.StatusOK {
		t.Fatalf("round trip status %d: %v", status, m)
	}
	if c, _ := path(m, "choices", 0, "message", "content").(string); !strings.Contains(c, "sunny") {
		t.Errorf("answer to tool result %q does not mention it", c)
	}

	// Streamed tool call deltas carry index, id, type and name first.
	resp := e.do(t, context.Background(), http.MethodPost, "/v1/chat/completions",
		strings.TrimSuffix(body, "}")+`,"stream":true}`)
	defer resp.Body.Close()
	events, _ := readSSE(t, resp.Body)
	var name, argsStreamed string
	var finish any
	for _, ev := range events {
		if ev.data == "[DONE]" {
			continue
		}
		var c map[string]any
		if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
			t.Fatal(err)
		}
		if d := path(c, "choices", 0, "delta", "tool_calls", 0); d != nil {
			if path(d, "index") != 0.0 {
				t.Errorf("tool call delta without index 0: %v", d)
			}
			if n, _ := path(d, "function", "name").(string); n != "" {
				name = n
				if path(d, "type") != "function" || path(d, "id") == nil {
					t.Errorf("first tool call delta lacks id/type: %v", d)
				}
			}
			a, _ := path(d, "function", "arguments").(string)
			argsStreamed += a
		}
		if f := path(c, "choices", 0, "finish_reason"); f != nil {
			finish = f
		}
	}
	if name != "get_weather" || argsStreamed != args || finish != "tool_calls" {
		t.Errorf("streamed call name %q args %q finish %v; want get_weather %q tool_calls", name, argsStreamed, finish, args)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestEmbeddings(t *testing.T) {
	t.Parallel()
	e := start(t, fakeupstream.WithEmbedFunc(func(in string) []float32 { return []float32{0.5, -1.25, float32(len(in))} }))
	tests := []struct {
		name string
		body string
		want [][]float32
	}{
		{"float string", `{"model":"text-embedding-3-small","input":"abc"}`, [][]float32{{0.5, -1.25, 3}}},
		{"float array", `{"model":"text-embedding-3-small","input":["a","bb"],"encoding_format":"float"}`, [][]float32{{0.5, -1.25, 1}, {0.5, -1.25, 2}}},
		{"base64", `{"model":"text-embedding-3-small","input":["abcd"],"encoding_format":"base64"}`, [][]float32{{0.5, -1.25, 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, m := e.call(t, http.MethodPost, "/v1/embeddings", tt.body)
			if status != http.StatusOK {
				t.Fatalf("status %d: %v", status, m)
			}
			if m["object"] != "list" || m["model"] != "text-embedding-3-small" {
				t.Errorf("object %v model %v", m["object"], m["model"])
			}
			data := m["data"].([]any)
			if len(data) != len(tt.want) {
				t.Fatalf("%d vectors, want %d", len(data), len(tt.want))
			}
			for i, want := range tt.want {
				got := vector(t, path(data[i], "embedding"))
				if path(data[i], "index") != float64(i) || len(got) != len(want) {
					t.Fatalf("item %d: %v", i, data[i])
				}
				for j := range want {
					if got[j] != want[j] {
						t.Errorf("item %d: %v, want %v", i, got, want)
						break
					}
				}
			}
		})
	}
}

// vector reads a float array or a base64 little-endian float32 string.
func vector(t *testing.T, v any) []float32 {
	t.Helper()
	switch v := v.(type) {
	case []any:
		out := make([]float32, len(v))
		for i, f := range v {
			out[i] = float32(f.(float64))
		}
		return out
	case string:
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, len(raw)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out
	}
	t.Fatalf("embedding %T", v)
	return nil
}
