package anthropictest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/internal/testutil"
	"github.com/tollgate-dev/tollgate/providers/anthropic/anthropictest"
)

var _ http.Handler = (*anthropictest.Server)(nil)

// post sends body to path with the usual headers; hdr overrides them ("" deletes).
func post(t *testing.T, base, path, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("x-api-key", "test-key")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func decode[T any](t *testing.T, r io.Reader) T {
	t.Helper()
	var v T
	if err := json.NewDecoder(r).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

type errBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

func TestRejects(t *testing.T) {
	t.Parallel()
	_, base := anthropictest.Start(t, anthropictest.WithAPIKey("test-key"))
	ok := `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name       string
		path, body string
		hdr        map[string]string
		wantStatus int
		wantType   string
		wantMsg    string
	}{
		{"wrong key", "/v1/messages", ok, map[string]string{"x-api-key": "other"}, 401, "authentication_error", "invalid x-api-key"},
		{"missing version", "/v1/messages", ok, map[string]string{"anthropic-version": ""}, 400, "invalid_request_error", "anthropic-version"},
		{"missing max_tokens", "/v1/messages", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error", "max_tokens: Field required"},
		{"missing model", "/v1/messages", `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error", "model: Field required"},
		{"system role", "/v1/messages", `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"hi"}]}`, nil, 400, "invalid_request_error", "'user' or 'assistant'"},
		{"empty text", "/v1/messages", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}`, nil, 400, "invalid_request_error", "non-empty"},
		{"orphan tool result", "/v1/messages", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_x","content":"r"}]}]}`, nil, 400, "invalid_request_error", "tool_use_id"},
		{"small thinking budget", "/v1/messages", `{"model":"m","max_tokens":5000,"thinking":{"type":"enabled","budget_tokens":100},"messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error", "budget_tokens"},
		{"budget above max_tokens", "/v1/messages", `{"model":"m","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":4096},"messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error", "max_tokens"},
		{"forged signature", "/v1/messages", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"forged"},{"type":"text","text":"b"}]},{"role":"user","content":"c"}]}`, nil, 400, "invalid_request_error", "signature"},
		{"bad media type", "/v1/messages", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"AAAA"}}]}]}`, nil, 400, "invalid_request_error", "media_type"},
		{"count with max_tokens", "/v1/messages/count_tokens", ok, nil, 400, "invalid_request_error", "max_tokens: Extra inputs are not permitted"},
		{"unknown path", "/v1/complete", ok, nil, 404, "not_found_error", "Not Found"},
		{"not json", "/v1/messages", `{`, nil, 400, "invalid_request_error", "parsing the body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := post(t, base, tt.path, tt.body, tt.hdr)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			b := decode[errBody](t, resp.Body)
			if b.Type != "error" || b.Error.Type != tt.wantType || !strings.Contains(b.Error.Message, tt.wantMsg) || b.RequestID == "" {
				t.Errorf("body = %+v, want error %s containing %q", b, tt.wantType, tt.wantMsg)
			}
			if resp.Header.Get("request-id") != b.RequestID {
				t.Errorf("request-id header %q != body %q", resp.Header.Get("request-id"), b.RequestID)
			}
		})
	}
}

type message struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	Role         string `json:"role"`
	Model        string `json:"model"`
	Content      []map[string]any
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Usage        map[string]any
}

func TestUnary(t *testing.T) {
	t.Parallel()
	_, base := anthropictest.Start(t)
	tools := `"tools":[{"name":"get_weather","input_schema":{"type":"object"}}]`
	tests := []struct {
		name        string
		body        string
		wantStop    string
		wantContent string // JSON of the content array
	}{
		{"echo", `{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"Hello there"}]}`,
			"end_turn", `[{"type":"text","text":"echo: Hello there"}]`},
		{"max tokens cut", `{"model":"m","max_tokens":2,"messages":[{"role":"user","content":"Hello there"}]}`,
			"max_tokens", `[{"type":"text","text":"echo: He"}]`},
		{"stop sequence", `{"model":"m","max_tokens":100,"stop_sequences":["there"],"messages":[{"role":"user","content":"Hello there"}]}`,
			"stop_sequence", `[{"type":"text","text":"echo: Hello "}]`},
		{"tool use", `{"model":"m","max_tokens":100,` + tools + `,"messages":[{"role":"user","content":"please call get_weather"}]}`,
			"tool_use", `[{"type":"tool_use","id":"toolu_fake6a7d9e0b3d6c3e9f","name":"get_weather","input":{"text":"please call get_weather"}}]`},
		{"tool choice none", `{"model":"m","max_tokens":100,` + tools + `,"tool_choice":{"type":"none"},"messages":[{"role":"user","content":"call get_weather"}]}`,
			"end_turn", `[{"type":"text","text":"echo: call get_weather"}]`},
		{"tool result", `{"model":"m","max_tokens":100,` + tools + `,"messages":[{"role":"user","content":"call get_weather"},
			{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"sunny"}]}]}]}`,
			"end_turn", `[{"type":"text","text":"The tool get_weather returned: sunny"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := post(t, base, "/v1/messages", tt.body, nil)
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			m := decode[message](t, resp.Body)
			if m.Type != "message" || m.Role != "assistant" || m.Model != "m" || !strings.HasPrefix(m.ID, "msg_") {
				t.Errorf("envelope = %+v", m)
			}
			if m.StopReason != tt.wantStop {
				t.Errorf("stop_reason = %q, want %q", m.StopReason, tt.wantStop)
			}
			got, _ := json.Marshal(m.Content)
			if tt.wantStop == "tool_use" {
				// The id is a hash; check its shape, then the rest.
				id, _ := m.Content[0]["id"].(string)
				if !strings.HasPrefix(id, "toolu_fake") || len(id) != len("toolu_fake")+16 {
					t.Errorf("tool id = %q", id)
				}
				m.Content[0]["id"] = "toolu_fake6a7d9e0b3d6c3e9f"
				got, _ = json.Marshal(m.Content)
			}
			var g, w any
			_ = json.Unmarshal(got, &g)
			_ = json.Unmarshal([]byte(tt.wantContent), &w)
			if gs, ws := jsonString(g), jsonString(w); gs != ws {
				t.Errorf("content = %s, want %s", gs, ws)
			}
			for _, k := range []string{"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"} {
				if _, ok := m.Usage[k]; !ok {
					t.Errorf("usage lacks %s: %v", k, m.Usage)
				}
			}
		})
	}
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

// sseEvent is one parsed event of a raw stream.
type sseEvent struct {
	name string
	data map[string]any
}

func readEvents(t *testing.T, r io.Reader) []sseEvent {
	t.Helper()
	var out []sseEvent
	sc := bufio.NewScanner(r)
	var cur sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.data); err != nil {
				t.Fatalf("data is not JSON: %q", line)
			}
		case line == "":
			if cur.name == "" || cur.data == nil || cur.data["type"] != cur.name {
				t.Fatalf("malformed event %+v", cur)
			}
			out = append(out, cur)
			cur = sseEvent{}
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
	return out
}

func TestStreamSequence(t *testing.T) {
	t.Parallel()
	_, base := anthropictest.Start(t, anthropictest.WithChunks(3))
	body := `{"model":"m","max_tokens":3000,"stream":true,"thinking":{"type":"enabled","budget_tokens":1024},
		"tools":[{"name":"lookup","input_schema":{"type":"object"}}],
		"messages":[{"role":"user","content":"now call lookup please"}]}`
	resp := post(t, base, "/v1/messages", body, nil)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	evs := readEvents(t, resp.Body)
	var names []string
	var input, thinking strings.Builder
	var signature string
	for _, e := range evs {
		names = append(names, e.name)
		if e.name == "content_block_delta" {
			d := e.data["delta"].(map[string]any)
			switch d["type"] {
			case "input_json_delta":
				input.WriteString(d["partial_json"].(string))
			case "thinking_delta":
				thinking.WriteString(d["thinking"].(string))
			case "signature_delta":
				signature = d["signature"].(string)
			}
		}
	}
	want := "message_start content_block_start ping content_block_delta content_block_delta content_block_delta content_block_delta content_block_stop " +
		"content_block_start content_block_delta content_block_delta content_block_delta content_block_delta content_block_stop message_delta message_stop"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("events:\n got %s\nwant %s", got, want)
	}
	if input.String() != `{"text":"now call lookup please"}` {
		t.Errorf("tool input = %q", input.String())
	}
	if thinking.String() != "Thinking about: now call lookup please" || signature == "" {
		t.Errorf("thinking = %q signature = %q", thinking.String(), signature)
	}
	md := evs[len(evs)-2].data
	if md["delta"].(map[string]any)["stop_reason"] != "tool_use" || md["usage"].(map[string]any)["output_tokens"].(float64) < 1 {
		t.Errorf("message_delta = %v", md)
	}
}

func TestPromptCache(t *testing.T) {
	t.Parallel()
	_, base := anthropictest.Start(t)
	body := `{"model":"m","max_tokens":50,"system":[{"type":"text","text":"` + strings.Repeat("long instructions ", 20) + `","cache_control":{"type":"ephemeral"}}],
		"messages":[{"role":"user","content":"hi"}]}`
	var usages []map[string]any
	for range 2 {
		resp := post(t, base, "/v1/messages", body, nil)
		usages = append(usages, decode[message](t, resp.Body).Usage)
	}
	if usages[0]["cache_creation_input_tokens"].(float64) == 0 || usages[0]["cache_read_input_tokens"].(float64) != 0 {
		t.Errorf("first usage = %v, want a cache write", usages[0])
	}
	if usages[1]["cache_read_input_tokens"] != usages[0]["cache_creation_input_tokens"] || usages[1]["cache_creation_input_tokens"].(float64) != 0 {
		t.Errorf("second usage = %v, want a cache read of the first write", usages[1])
	}
	if usages[0]["input_tokens"] != usages[1]["input_tokens"] {
		t.Errorf("uncached input differs: %v vs %v", usages[0], usages[1])
	}
	count := post(t, base, "/v1/messages/count_tokens", strings.Replace(body, `"max_tokens":50,`, "", 1), nil)
	n := decode[map[string]float64](t, count.Body)["input_tokens"]
	if want := usages[0]["input_tokens"].(float64) + usages[0]["cache_creation_input_tokens"].(float64); n != want {
		t.Errorf("count_tokens = %v, want %v", n, want)
	}
}

func TestModelsPagination(t *testing.T) {
	t.Parallel()
	_, base := anthropictest.Start(t, anthropictest.WithModels("a", "b", "c"))
	get := func(q string) map[string]any {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/models"+q, nil)
		req.Header.Set("anthropic-version", "2023-06-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return decode[map[string]any](t, resp.Body)
	}
	p1 := get("?limit=2")
	if p1["has_more"] != true || p1["last_id"] != "b" || len(p1["data"].([]any)) != 2 {
		t.Errorf("page 1 = %v", p1)
	}
	p2 := get("?limit=2&after_id=b")
	if p2["has_more"] != false || p2["first_id"] != "c" || p2["data"].([]any)[0].(map[string]any)["type"] != "model" {
		t.Errorf("page 2 = %v", p2)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	body := `{"model":"m","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Hello"}]}`
	tests := []struct {
		name  string
		fault anthropictest.Fault
		check func(t *testing.T, resp *http.Response, err error)
	}{
		{"rate limit", anthropictest.RateLimitFault(3 * time.Second), func(t *testing.T, resp *http.Response, err error) {
			if err != nil || resp.StatusCode != 429 || resp.Header.Get("retry-after") != "3" ||
				resp.Header.Get("anthropic-ratelimit-requests-remaining") != "0" || resp.Header.Get("anthropic-ratelimit-tokens-reset") == "" {
				t.Fatalf("resp = %v, err = %v", resp, err)
			}
			if b := decode[errBody](t, resp.Body); b.Error.Type != "rate_limit_error" {
				t.Errorf("body = %+v", b)
			}
		}},
		{"overloaded", anthropictest.OverloadedFault(), func(t *testing.T, resp *http.Response, err error) {
			if err != nil || resp.StatusCode != 529 {
				t.Fatalf("resp = %v, err = %v", resp, err)
			}
			if b := decode[errBody](t, resp.Body); b.Error.Type != "overloaded_error" || b.Error.Message != "Overloaded" {
				t.Errorf("body = %+v", b)
			}
		}},
		{"reset", anthropictest.ResetFault(), func(t *testing.T, resp *http.Response, err error) {
			if err == nil {
				t.Fatalf("want a transport error, got %d", resp.StatusCode)
			}
		}},
		{"die mid stream", anthropictest.DieAfterFault(3), func(t *testing.T, resp *http.Response, err error) {
			if err != nil {
				t.Fatal(err)
			}
			b, rerr := io.ReadAll(resp.Body)
			if rerr == nil || strings.Contains(string(b), "message_stop") || strings.Count(string(b), "event: ") != 3 {
				t.Errorf("body %q, err %v", b, rerr)
			}
		}},
		{"stream error", anthropictest.StreamErrorFault(1, "overloaded_error"), func(t *testing.T, resp *http.Response, err error) {
			if err != nil {
				t.Fatal(err)
			}
			evs := readEvents(t, resp.Body)
			if len(evs) != 2 || evs[1].name != "error" || evs[1].data["error"].(map[string]any)["type"] != "overloaded_error" {
				t.Errorf("events = %v", evs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake, base := anthropictest.Start(t)
			fake.FailNext(1, tt.fault)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/v1/messages", strings.NewReader(body))
			req.Header.Set("anthropic-version", "2023-06-01")
			resp, err := http.DefaultClient.Do(req)
			if resp != nil {
				defer resp.Body.Close()
			}
			tt.check(t, resp, err)
			// The fault is consumed: the next request succeeds.
			if next := post(t, base, "/v1/messages", body, nil); next.StatusCode != 200 {
				t.Errorf("next status = %d", next.StatusCode)
			}
			if n := len(fake.Requests()); n != 2 {
				t.Errorf("recorded %d requests, want 2", n)
			}
		})
	}
}

func TestHangCancel(t *testing.T) {
	t.Parallel()
	fake, base := anthropictest.Start(t)
	fake.Enqueue(anthropictest.HangFault())
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/messages", strings.NewReader(`{}`))
	req.Header.Set("anthropic-version", "2023-06-01")
	_, err := http.DefaultClient.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	testutil.Eventually(t, func() error {
		if fake.Cancelled() != 1 || fake.InFlight() != 0 {
			return fmt.Errorf("cancelled = %d, in flight = %d", fake.Cancelled(), fake.InFlight())
		}
		return nil
	})
	r, ok := fake.LastRequest()
	if !ok || r.Path != "/v1/messages" || r.Header.Get("anthropic-version") != "2023-06-01" || string(r.Body) != `{}` {
		t.Errorf("recorded %+v", r)
	}
}
