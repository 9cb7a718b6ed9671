package openaiapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/service/server/servertest"
)

// TestPassthroughBytes sends recorded-format bodies (unknown members at
// every level, odd spacing and key order, fields the canonical model does
// not know) and checks the bytes the fake upstream received: the very
// bytes sent, but for the documented changes.
func TestPassthroughBytes(t *testing.T) {
	t.Parallel()
	e := start(t)
	const m = servertest.ChatModel
	tests := []struct {
		name, body string
		// want is what the upstream must receive; "" means the body itself.
		want   string
		header []string
	}{
		{name: "unknown members at every level", body: `{ "messages" : [ {"role":"user","x_msg":{"a":[1,2]},"content":[{"type":"text","text":"pt1","x_part":true},` +
			`{"type":"image_url","image_url":{"url":"https://example.com/a.png","x_img":1}}]} ],"model":"` + m + `","x_top":"v","response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object"},"x_deep":null}}}`},
		{name: "fields the canonical model lacks", body: `{"model":"` + m + `","messages":[{"role":"developer","content":"pt2"},{"role":"user","content":"hi"}],` +
			`"logprobs":true,"top_logprobs":2,"logit_bias":{"50256":-100},"prediction":{"type":"content","content":"x"},"service_tier":"flex","store":true,"metadata":{"k":"v"},"verbosity":"low","max_completion_tokens":10}`},
		{name: "file parts and custom tools", body: `{"model":"` + m + `","messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0xLjQK","filename":"r.pdf"}},{"type":"text","text":"pt3"}]}],` +
			`"tools":[{"type":"custom","custom":{"name":"grammar"}},{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}`},
		{name: "stream asks the upstream for usage", body: `{"model":"` + m + `","stream":true,"messages":[{"role":"user","content":"pt4"}]}`,
			want: `{"model":"` + m + `","stream":true,"messages":[{"role":"user","content":"pt4"}],"stream_options":{"include_usage":true}}`},
		{name: "stream that asked keeps its options", body: `{"model":"` + m + `","stream":true,"stream_options":{"include_usage":true,"include_obfuscation":false},"messages":[{"role":"user","content":"pt5"}]}`},
		{name: "the end user is added when the body names none", body: `{"model":"` + m + `","messages":[{"role":"user","content":"pt6"}]}`,
			want: `{"model":"` + m + `","messages":[{"role":"user","content":"pt6"}],"user":"alice"}`, header: []string{"X-Tollgate-End-User", "alice"}},
		{name: "the body's user wins", body: `{"model":"` + m + `","user":"bob","messages":[{"role":"user","content":"pt7"}]}`, header: []string{"X-Tollgate-End-User", "alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := e.do(t, context.Background(), http.MethodPost, "/v1/chat/completions", tt.body, tt.header...)
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			marker := tt.body[strings.Index(tt.body, `"pt`)+1:]
			marker = marker[:strings.IndexByte(marker, '"')]
			want := tt.want
			if want == "" {
				want = tt.body
			}
			for _, r := range e.fake.Requests() {
				if bytes.Contains(r.Body, []byte(`"`+marker+`"`)) {
					if string(r.Body) != want {
						t.Errorf("the upstream received\n%s\nwant\n%s", r.Body, want)
					}
					if r.Header.Get("Authorization") != "Bearer "+servertest.UpstreamKey {
						t.Errorf("the upstream got Authorization %q", r.Header.Get("Authorization"))
					}
					return
				}
			}
			t.Fatal("the request did not reach the upstream")
		})
	}
}

// TestPassthroughAnswer checks that the upstream's answer comes back as it
// was sent, unary and streamed.
func TestPassthroughAnswer(t *testing.T) {
	t.Parallel()
	e := start(t)
	resp := e.do(t, context.Background(), http.MethodPost, "/v1/chat/completions",
		`{"model":"`+servertest.ChatModel+`","logprobs":true,"messages":[{"role":"user","content":"hi"}]}`)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The fake answers with its own id, service_tier, system_fingerprint
	// and logprobs, which a re-encoding would not keep.
	for _, want := range []string{`"id":"chatcmpl-fake`, `"service_tier":"default"`, `"system_fingerprint":"fp_fake"`, `"logprobs":{"content":[`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("answer lacks %s: %s", want, b)
		}
	}
	resp = e.do(t, context.Background(), http.MethodPost, "/v1/chat/completions",
		`{"model":"`+servertest.ChatModel+`","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(b, []byte(`"system_fingerprint":"fp_fake"`)) || !bytes.Contains(b, []byte(`"choices":[],"usage":{`)) ||
		!bytes.HasSuffix(b, []byte("data: [DONE]\n\n")) {
		t.Errorf("stream %s", b)
	}
}
