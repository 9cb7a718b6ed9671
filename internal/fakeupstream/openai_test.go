package fakeupstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/internal/testutil"
)

// post sends body to path and returns the status, headers and body.
func post(t *testing.T, base, path, body string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// sseData splits an event stream into its data payloads.
func sseData(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		} else if sc.Text() != "" {
			t.Fatalf("unexpected line %q", sc.Text())
		}
	}
	return out
}

func decodeChunks(t *testing.T, data []string) []schema.Chunk {
	t.Helper()
	if len(data) == 0 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]: %q", data)
	}
	out := make([]schema.Chunk, len(data)-1)
	for i, d := range data[:len(data)-1] {
		if err := apischema.Unmarshal([]byte(d), &out[i]); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
	return out
}

func TestChatUnaryAndStreamAgree(t *testing.T) {
	t.Parallel()
	_, base := StartOpenAI(t, WithChunks(3))
	const msgs = `"messages":[{"role":"system","content":"be nice"},{"role":"user","content":[{"type":"text","text":"hello "},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}},{"type":"text","text":"there"}]}]`

	status, _, body := post(t, base, "/chat/completions", `{"model":"gpt-4o-mini",`+msgs+`}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var c schema.ChatCompletion
	if err := apischema.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	if c.Object != "chat.completion" || *c.Choices[0].Message.Content.V != "echo: hello there" || c.Choices[0].FinishReason != "stop" {
		t.Errorf("completion = %s", body)
	}
	const wantPrompt, wantCompletion = 3 + 2 + 3 + 3, 5
	if u := c.Usage; u.PromptTokens != wantPrompt || u.CompletionTokens != wantCompletion || u.TotalTokens != wantPrompt+wantCompletion {
		t.Errorf("usage = %+v, want %d+%d", c.Usage, wantPrompt, wantCompletion)
	}

	status, h, body := post(t, base, "/chat/completions", `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},`+msgs+`}`)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, type %q", status, h.Get("Content-Type"))
	}
	chunks := decodeChunks(t, sseData(t, body))
	// role, 3 content deltas, finish, usage
	if len(chunks) != 6 {
		t.Fatalf("%d chunks: %s", len(chunks), body)
	}
	if chunks[0].Choices[0].Delta.Role != "assistant" || chunks[0].Object != "chat.completion.chunk" {
		t.Errorf("first chunk = %+v", chunks[0])
	}
	var text string
	for _, ch := range chunks[1:4] {
		if ch.Choices[0].Delta.Content.V == nil || *ch.Choices[0].Delta.Content.V == "" {
			t.Errorf("empty content delta %+v", ch)
			continue
		}
		text += *ch.Choices[0].Delta.Content.V
		if !ch.Usage.Null {
			t.Errorf("usage on a content chunk: %+v", ch.Usage)
		}
	}
	if text != "echo: hello there" || *chunks[4].Choices[0].FinishReason.V != "stop" {
		t.Errorf("text %q, finish chunk %+v", text, chunks[4])
	}
	last := chunks[5]
	if u := last.Usage.V; u == nil || len(last.Choices) != 0 || last.Choices == nil || u.PromptTokens != wantPrompt || u.CompletionTokens != wantCompletion {
		t.Errorf("usage chunk = %+v, want empty choices and %d+%d", last, wantPrompt, wantCompletion)
	}
}

func TestChatStreamWithoutUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []Option
		body string
	}{
		{name: "not asked", body: `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{name: "asked but disabled", opts: []Option{WithStreamUsage(false)},
			body: `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, base := StartOpenAI(t, tt.opts...)
			_, _, body := post(t, base, "/chat/completions", tt.body)
			for _, ch := range decodeChunks(t, sseData(t, body)) {
				if len(ch.Choices) == 0 || ch.Usage.V != nil {
					t.Errorf("unexpected usage chunk %+v", ch)
				}
			}
		})
	}
}

func TestChatToolCalls(t *testing.T) {
	t.Parallel()
	const tools = `"tools":[{"type":"function","function":{"name":"lookup"}},{"type":"function","function":{"name":"get_weather","parameters":{}}}]`
	tests := []struct {
		name     string
		extra    string
		text     string
		wantTool string
	}{
		{name: "named in text", text: "please call get_weather now", wantTool: "get_weather"},
		{name: "forced by tool_choice", extra: `"tool_choice":{"type":"function","function":{"name":"lookup"}},`, text: "hi", wantTool: "lookup"},
		{name: "required picks the first", extra: `"tool_choice":"required",`, text: "hi", wantTool: "lookup"},
		{name: "none suppresses", extra: `"tool_choice":"none",`, text: "call get_weather"},
		{name: "no trigger", text: "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, base := StartOpenAI(t, WithChunks(4))
			req := `{"model":"m",` + tools + `,` + tt.extra + `"messages":[{"role":"user","content":"` + tt.text + `"}]`
			args, _ := json.Marshal(struct {
				Text string `json:"text"`
			}{tt.text}, jsontext.EscapeForHTML(true))

			_, _, body := post(t, base, "/chat/completions", req+`}`)
			var c schema.ChatCompletion
			if err := apischema.Unmarshal(body, &c); err != nil {
				t.Fatal(err)
			}
			msg := c.Choices[0].Message
			if tt.wantTool == "" {
				if len(msg.ToolCalls) != 0 || c.Choices[0].FinishReason != "stop" {
					t.Fatalf("unexpected tool call: %s", body)
				}
				return
			}
			if msg.Content.V != nil || len(msg.ToolCalls) != 1 || c.Choices[0].FinishReason != "tool_calls" {
				t.Fatalf("completion = %s", body)
			}
			call := msg.ToolCalls[0]
			if call.Type != "function" || call.Function.Name != tt.wantTool || call.Function.Arguments != string(args) || !strings.HasPrefix(call.ID, "call_") {
				t.Errorf("call = %+v", call)
			}

			_, _, body = post(t, base, "/chat/completions", req+`,"stream":true}`)
			chunks := decodeChunks(t, sseData(t, body))
			first := chunks[0].Choices[0].Delta
			if len(first.ToolCalls) != 1 || first.ToolCalls[0].ID != call.ID || first.ToolCalls[0].Function.Name != tt.wantTool || first.Content.V != nil {
				t.Fatalf("first delta = %+v", first)
			}
			var streamed string
			deltas := 0
			for _, ch := range chunks[1:] {
				for _, tc := range ch.Choices[0].Delta.ToolCalls {
					if tc.Index != 0 || tc.ID != "" {
						t.Errorf("argument delta %+v", tc)
					}
					streamed += tc.Function.Arguments
					deltas++
				}
			}
			if streamed != string(args) || deltas != 4 {
				t.Errorf("streamed %d deltas %q, want 4 deltas %q", deltas, streamed, args)
			}
			if fr := chunks[len(chunks)-1].Choices[0].FinishReason.V; fr == nil || *fr != "tool_calls" {
				t.Errorf("finish = %v", fr)
			}
		})
	}
}

func TestChatAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       []Option
		body       string
		wantText   []string
		wantFinish string
	}{
		{
			name:     "tool result",
			body:     `{"model":"m","messages":[{"role":"user","content":"w?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"sunny"}]}`,
			wantText: []string{"The tool get_weather returned: sunny"}, wantFinish: "stop",
		},
		{
			name: "configured reply", opts: []Option{WithReply("fixed")},
			body:     `{"model":"m","messages":[{"role":"user","content":"anything"}]}`,
			wantText: []string{"fixed"}, wantFinish: "stop",
		},
		{
			name:     "max tokens truncates",
			body:     `{"model":"m","max_completion_tokens":2,"messages":[{"role":"user","content":"a rather long question"}]}`,
			wantText: []string{"echo: a "}, wantFinish: "length",
		},
		{
			name:     "n choices",
			body:     `{"model":"m","n":2,"messages":[{"role":"user","content":"x"}]}`,
			wantText: []string{"echo: x", "echo: x"}, wantFinish: "stop",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, base := StartOpenAI(t, tt.opts...)
			status, _, body := post(t, base, "/chat/completions", tt.body)
			var c schema.ChatCompletion
			if err := apischema.Unmarshal(body, &c); err != nil || status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if len(c.Choices) != len(tt.wantText) {
				t.Fatalf("%d choices", len(c.Choices))
			}
			for i, ch := range c.Choices {
				if ch.Index != i || *ch.Message.Content.V != tt.wantText[i] || ch.FinishReason != tt.wantFinish {
					t.Errorf("choice %d = %q %s, want %q %s", i, *ch.Message.Content.V, ch.FinishReason, tt.wantText[i], tt.wantFinish)
				}
			}
		})
	}
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, body string
		status                   int
		param                    string
		key                      string
		code                     string
	}{
		{name: "bad json", method: "POST", path: "/chat/completions", body: `{`, status: 400},
		{name: "no model", method: "POST", path: "/chat/completions", body: `{"messages":[{"role":"user","content":"x"}]}`, status: 400, param: "model"},
		{name: "no messages", method: "POST", path: "/chat/completions", body: `{"model":"m","messages":[]}`, status: 400, param: "messages"},
		{name: "bad role", method: "POST", path: "/chat/completions", body: `{"model":"m","messages":[{"role":"robot","content":"x"}]}`, status: 400, param: "messages"},
		{name: "stream_options without stream", method: "POST", path: "/chat/completions",
			body: `{"model":"m","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}`, status: 400, param: "stream_options"},
		{name: "both max fields", method: "POST", path: "/chat/completions",
			body: `{"model":"m","max_tokens":1,"max_completion_tokens":1,"messages":[{"role":"user","content":"x"}]}`, status: 400, param: "max_tokens"},
		{name: "object input", method: "POST", path: "/embeddings", body: `{"model":"e","input":{"a":1}}`, status: 400, param: "input"},
		{name: "bad encoding", method: "POST", path: "/embeddings", body: `{"model":"e","input":"x","encoding_format":"int8"}`, status: 400, param: "encoding_format"},
		{name: "unknown path", method: "POST", path: "/edits", body: `{}`, status: 404},
		{name: "completion without prompt", method: "POST", path: "/completions", body: `{"model":"m"}`, status: 400, param: "prompt"},
		{name: "wrong method", method: "GET", path: "/chat/completions", status: 405},
		{name: "wrong key", method: "GET", path: "/models", status: 401, key: "sk-nope", code: "invalid_api_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, base := StartOpenAI(t, WithAPIKey("sk-right"))
			req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
			key := tt.key
			if key == "" {
				key = "sk-right"
			}
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e schema.ErrorBody
			if err := json.UnmarshalRead(resp.Body, &e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || e.Error.Message == "" || e.Error.Type == "" {
				t.Errorf("status %d, error %+v", resp.StatusCode, e.Error)
			}
			if got := e.Error.ParamString(); got != tt.param {
				t.Errorf("param = %q, want %q", got, tt.param)
			}
			if got := apischema.Text(e.Error.Code); got != tt.code {
				t.Errorf("code = %q, want %q", got, tt.code)
			}
		})
	}
}

func TestEmbeddings(t *testing.T) {
	t.Parallel()
	_, base := StartOpenAI(t, WithEmbedDimensions(5))
	tests := []struct {
		name   string
		body   string
		inputs []string
		dims   int
	}{
		{name: "single string", body: `{"model":"e","input":"hello"}`, inputs: []string{"hello"}, dims: 5},
		{name: "array with dimensions", body: `{"model":"e","input":["a","bb"],"dimensions":3}`, inputs: []string{"a", "bb"}, dims: 3},
		{name: "base64", body: `{"model":"e","input":["a","bb"],"encoding_format":"base64"}`, inputs: []string{"a", "bb"}, dims: 5},
		{name: "token arrays", body: `{"model":"e","input":[[1,2],[3]]}`, inputs: []string{"tokens:1,2", "tokens:3"}, dims: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, body := post(t, base, "/embeddings", tt.body)
			var out schema.EmbeddingList
			if err := apischema.Unmarshal(body, &out); err != nil || status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if len(out.Data) != len(tt.inputs) || out.Usage.PromptTokens == 0 {
				t.Fatalf("response = %s", body)
			}
			for i, d := range out.Data {
				v := d.Embedding.Values
				if d.Embedding.Base64 != strings.Contains(tt.body, "base64") {
					t.Errorf("item %d: base64 = %v", i, d.Embedding.Base64)
				}
				if d.Index != i || !reflect.DeepEqual(v, HashVector(tt.inputs[i], tt.dims)) {
					t.Errorf("item %d = %v, want %v", i, v, HashVector(tt.inputs[i], tt.dims))
				}
			}
		})
	}
}

func TestHashVector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		input string
		dims  int
	}{{"a", 1}, {"a", 8}, {"b", 8}, {"", 64}}
	seen := map[string]bool{}
	for _, tt := range tests {
		v := HashVector(tt.input, tt.dims)
		if len(v) != tt.dims || !reflect.DeepEqual(v, HashVector(tt.input, tt.dims)) {
			t.Errorf("HashVector(%q, %d) is not a stable vector of that size", tt.input, tt.dims)
		}
		var n float64
		for _, f := range v {
			n += float64(f) * float64(f)
		}
		if math.Abs(n-1) > 1e-5 {
			t.Errorf("HashVector(%q, %d) norm² = %v", tt.input, tt.dims, n)
		}
		key, _ := json.Marshal(v, json.Deterministic(true))
		if seen[string(key)] {
			t.Errorf("HashVector(%q, %d) collides", tt.input, tt.dims)
		}
		seen[string(key)] = true
	}
}

func TestModels(t *testing.T) {
	t.Parallel()
	_, base := StartOpenAI(t, WithModels("x", "y"))
	resp, err := http.Get(base + "/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l schema.ModelList
	if err := json.UnmarshalRead(resp.Body, &l); err != nil {
		t.Fatal(err)
	}
	if l.Object != "list" || len(l.Data) != 2 || l.Data[0].ID != "x" || l.Data[1].Object != "model" {
		t.Errorf("models = %+v", l)
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    string
		n    int
		want []string
	}{
		{"", 3, nil},
		{"abcdef", 3, []string{"ab", "cd", "ef"}},
		{"abcdefg", 3, []string{"ab", "cd", "efg"}},
		{"ab", 5, []string{"a", "b"}},
		{"abc", 0, []string{"abc"}},
		{"ééé", 2, []string{"éé", "é"}},
		{"aé", 2, []string{"a", "é"}},
	}
	for _, tt := range tests {
		if got := split(tt.s, tt.n); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("split(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestRecordsRequests(t *testing.T) {
	t.Parallel()
	fake, base := StartOpenAI(t)
	post(t, base, "/chat/completions?x=1", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, "Authorization", "Bearer k", "X-Trace", "t1")
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/v1/chat/completions?x=1" || r.Header.Get("Authorization") != "Bearer k" || r.Header.Get("X-Trace") != "t1" ||
		!strings.Contains(string(r.Body), `"model":"m"`) {
		t.Errorf("recorded %+v", r)
	}
	r.Body[0] = 'X'
	r.Header.Set("X-Trace", "changed")
	if again, _ := fake.LastRequest(); again.Body[0] != '{' || again.Header.Get("X-Trace") != "t1" {
		t.Error("Requests does not return copies")
	}
}

func TestConcurrentControls(t *testing.T) {
	t.Parallel()
	fake, base := StartOpenAI(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			fake.SetChunks(i + 1)
			fake.SetChunkDelay(0)
			fake.SetLatency(0)
			fake.SetStreamUsage(i%2 == 0)
			fake.SetFaultFunc(nil)
			_, _, body := post(t, base, "/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"concurrent"}]}`)
			decodeChunks(t, sseData(t, body))
			_ = fake.Requests()
		})
	}
	wg.Wait()
	if got := len(fake.Requests()); got != 8 {
		t.Errorf("%d requests recorded, want 8", got)
	}
}

func TestCancelledCounter(t *testing.T) {
	t.Parallel()
	fake, base := StartOpenAI(t, WithLatency(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"x"}]}`))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitUntil(t, func() bool { return fake.InFlight() == 1 })
	if fake.Cancelled() != 0 {
		t.Fatal("cancelled before the client went away")
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client err = %v", err)
	}
	waitUntil(t, func() bool { return fake.Cancelled() == 1 && fake.InFlight() == 0 })
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, func() error {
		if !cond() {
			return errors.New("condition not reached")
		}
		return nil
	})
}
