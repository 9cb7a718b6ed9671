package anthropicapi_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPassthroughBytes sends recorded-format Messages bodies to the
// Anthropic fake and checks the bytes it received: the very bytes sent,
// documents, citations, server tools and unknown members included, but
// for the documented changes; and that the headers of the allow-list pass.
func TestPassthroughBytes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	const m = claudeModel
	tests := []struct {
		name, body, want string
		header           []string
	}{
		{name: "documents, citations, cache ttl and unknown members", body: `{"model":"` + m + `","max_tokens":64,` +
			`"system":[{"type":"text","text":"sys","cache_control":{"type":"ephemeral","ttl":"1h"}}],` +
			`"messages":[{"role":"user","x_msg":1,"content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQK"},"title":"Q3","citations":{"enabled":true}},` +
			`{"type":"document","source":{"type":"text","media_type":"text/plain","data":"plain"}},{"type":"text","text":"pt1","x_block":{"a":[1]}}]}],"x_top":null}`},
		{name: "server tools and search results", body: `{"model":"` + m + `","max_tokens":64,` +
			`"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3},{"name":"f","input_schema":{"type":"object"}}],` +
			`"messages":[{"role":"user","content":[{"type":"search_result","source":"https://x.example","title":"X","content":[{"type":"text","text":"found"}]},{"type":"text","text":"pt2"}]}],` +
			`"container":"c_1","mcp_servers":[{"type":"url","url":"https://mcp.example","name":"m"}],"context_management":{"edits":[]},"service_tier":"auto"}`},
		{name: "the end user is added when metadata names none", body: `{"model":"` + m + `","max_tokens":64,"messages":[{"role":"user","content":"pt3"}]}`,
			want:   `{"model":"` + m + `","max_tokens":64,"messages":[{"role":"user","content":"pt3"}],"metadata":{"user_id":"alice"}}`,
			header: []string{"X-Tollgate-End-User", "alice"}},
		{name: "betas and version pass", body: `{"model":"` + m + `","max_tokens":64,"messages":[{"role":"user","content":"pt4"}]}`,
			header: []string{"Anthropic-Beta", "context-1m-2025-08-07,interleaved-thinking-2025-05-14", "Anthropic-Version", "2023-06-01", "Idempotency-Key", "idem-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := e.post(t, "/v1/messages", tt.body, tt.header...)
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			marker := tt.body[strings.Index(tt.body, `"pt`)+1:]
			marker = marker[:strings.IndexByte(marker, '"')]
			want := tt.want
			if want == "" {
				want = tt.body
			}
			for _, r := range e.claude.Requests() {
				if !bytes.Contains(r.Body, []byte(`"`+marker+`"`)) {
					continue
				}
				if string(r.Body) != want {
					t.Errorf("the upstream received\n%s\nwant\n%s", r.Body, want)
				}
				if r.Header.Get("X-Api-Key") != "sk-ant-upstream" {
					t.Errorf("the upstream got x-api-key %q", r.Header.Get("X-Api-Key"))
				}
				for i := 0; i+1 < len(tt.header); i += 2 {
					if k := tt.header[i]; k != "X-Tollgate-End-User" && r.Header.Get(k) != tt.header[i+1] {
						t.Errorf("header %s = %q, want %q", k, r.Header.Get(k), tt.header[i+1])
					}
				}
				if r.Header.Get("X-Tollgate-End-User") != "" {
					t.Error("a header outside the allow-list passed")
				}
				return
			}
			t.Fatal("the request did not reach the upstream")
		})
	}
}

// TestPassthroughStream checks that a streamed answer's events come back
// as the upstream sent them.
func TestPassthroughStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	resp := e.post(t, "/v1/messages", `{"model":"`+claudeModel+`","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	b, _ := io.ReadAll(resp.Body)
	// The fake's message id and its ping after the first block start are
	// kept, which the gateway's own rendering would not do.
	if !bytes.HasSuffix(b, []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")) || !bytes.Contains(b, []byte(`"id":"msg_fake_`)) || !bytes.Contains(b, []byte("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\nevent: ping\n")) {
		t.Errorf("stream %s", b)
	}
}
