package governance_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// denseUpstream is an OpenAI-compatible upstream that spends as much as a
// real one can for what it is asked: its tokenizer counts one token per
// byte of text (the densest a byte-level tokenizer gets, e.g. random
// characters), plus OpenAI's framing (3 tokens per message and 3 for the
// reply primer), and every choice fills max_tokens, or writes outputTokens
// when the request sets no limit. It speaks OpenAI's chat completions wire
// format, unary and streamed (with the usage chunk when asked for), and
// counts what it would bill.
type denseUpstream struct {
	// outputTokens is what a choice writes when the request sets no
	// max_tokens.
	outputTokens int
	// chunkBytes is the size of a streamed content delta.
	chunkBytes int
	// A request whose last message contains "[slow]" is held until the
	// client goes away.
	billed   atomic.Int64 // tokens billed: prompt + output written
	requests atomic.Int64
	inFlight atomic.Int64
}

// startDense starts a denseUpstream; its base URL ends in /v1.
func startDense(t *testing.T, outputTokens int) (*denseUpstream, string) {
	t.Helper()
	d := &denseUpstream{outputTokens: outputTokens, chunkBytes: 32}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return d, srv.URL + "/v1"
}

type denseRequest struct {
	Model               string `json:"model"`
	Stream              bool   `json:"stream"`
	N                   *int   `json:"n"`
	MaxTokens           *int   `json:"max_tokens"`
	MaxCompletionTokens *int   `json:"max_completion_tokens"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
}

type denseUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func (d *denseUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
		http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error","param":null,"code":null}}`, http.StatusNotFound)
		return
	}
	d.requests.Add(1)
	d.inFlight.Add(1)
	defer d.inFlight.Add(-1)
	var req denseRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"message":%q,"type":"invalid_request_error","param":null,"code":null}}`, err.Error())
		return
	}
	prompt, slow := 3, false
	for _, m := range req.Messages {
		var text string
		if err := json.Unmarshal(m.Content, &text); err != nil {
			var parts []struct {
				Text string `json:"text"`
			}
			_ = json.Unmarshal(m.Content, &parts)
			for _, p := range parts {
				text += p.Text
			}
		}
		prompt += 3 + len(text)
		slow = strings.Contains(text, "[slow]")
	}
	if slow {
		<-r.Context().Done() // held until the caller (the gateway) goes away
		return
	}
	n := 1
	if req.N != nil {
		n = *req.N
	}
	out := d.outputTokens
	switch {
	case req.MaxCompletionTokens != nil:
		out = *req.MaxCompletionTokens
	case req.MaxTokens != nil:
		out = *req.MaxTokens
	}
	created := time.Now().Unix()
	if !req.Stream {
		d.billed.Add(int64(prompt + n*out))
		choices := make([]map[string]any, n)
		for i := range choices {
			choices[i] = map[string]any{"index": i, "finish_reason": "length",
				"message": map[string]any{"role": "assistant", "content": strings.Repeat("x", out)}}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-dense", "object": "chat.completion", "created": created,
			"model": req.Model, "choices": choices, "usage": denseUsage{prompt, n * out, prompt + n*out}})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(v any) bool {
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	chunk := func(choices []map[string]any) map[string]any {
		return map[string]any{"id": "chatcmpl-dense", "object": "chat.completion.chunk", "created": created, "model": req.Model, "choices": choices}
	}
	d.billed.Add(int64(prompt))
	written := 0
	for i := range n {
		if !send(chunk([]map[string]any{{"index": i, "delta": map[string]any{"role": "assistant", "content": ""}, "finish_reason": nil}})) {
			return
		}
	}
	// Choices take turns, as OpenAI's do.
	for sent := 0; sent < out; sent += d.chunkBytes {
		piece := strings.Repeat("x", min(d.chunkBytes, out-sent))
		for i := range n {
			if !send(chunk([]map[string]any{{"index": i, "delta": map[string]any{"content": piece}, "finish_reason": nil}})) {
				return
			}
			d.billed.Add(int64(len(piece)))
			written += len(piece)
		}
	}
	for i := range n {
		if !send(chunk([]map[string]any{{"index": i, "delta": map[string]any{}, "finish_reason": "length"}})) {
			return
		}
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		c := chunk([]map[string]any{})
		c["usage"] = denseUsage{prompt, written, prompt + written}
		if !send(c) {
			return
		}
	}
	_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}
