package geminitest_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers/gemini/geminitest"
)

const key = "AIzaSyFake"

type result struct {
	status int
	body   string
	ctype  string
}

func do(t *testing.T, method, url, hdrKey, body string) result {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if hdrKey != "" {
		req.Header.Set("x-goog-api-key", hdrKey)
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
	return result{status: resp.StatusCode, body: string(b), ctype: resp.Header.Get("Content-Type")}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	const gen = "/v1beta/models/gemini-2.5-flash:generateContent"
	tests := []struct {
		name, method, path, key, body string
		status                        int
		contains                      string
	}{
		{name: "ok", path: gen, key: key, body: `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, status: 200, contains: `"text":"echo: hi"`},
		{name: "missing key", path: gen, body: `{}`, status: 403, contains: "PERMISSION_DENIED"},
		{name: "wrong key", path: gen, key: "AIzaWrong", body: `{}`, status: 400, contains: "API_KEY_INVALID"},
		{name: "key as query parameter", path: gen + "?key=" + key, body: `{"contents":[{"parts":[{"text":"q"}]}]}`, status: 200, contains: "echo: q"},
		{name: "unknown path", path: "/v2/models/x:generateContent", key: key, body: `{}`, status: 404, contains: "NOT_FOUND"},
		{name: "unknown model", path: "/v1beta/models/nope:generateContent", key: key, body: `{}`, status: 404, contains: "models/nope is not found"},
		{name: "embedding model cannot generate", path: "/v1beta/models/text-embedding-004:generateContent", key: key, body: `{}`, status: 404, contains: "not supported for generateContent"},
		{name: "wrong method", method: http.MethodGet, path: gen, key: key, status: 405},
		{name: "unknown field", path: gen, key: key, body: `{"contents":[],"temperature":1}`, status: 400, contains: "Unknown name"},
		{name: "no contents", path: gen, key: key, body: `{"contents":[]}`, status: 400, contains: "contents is not specified"},
		{name: "bad role", path: gen, key: key, body: `{"contents":[{"role":"assistant","parts":[{"text":"x"}]}]}`, status: 400, contains: "valid role"},
		{name: "empty part", path: gen, key: key, body: `{"contents":[{"role":"user","parts":[{}]}]}`, status: 400, contains: "oneof"},
		{name: "JSON schema keyword in parameters", path: gen, key: key, status: 400, contains: "additionalProperties",
			body: `{"contents":[{"role":"user","parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"object","additionalProperties":false,"properties":{"a":{"type":"string"}}}}]}]}`},
		{name: "empty object parameters", path: gen, key: key, status: 400, contains: "non-empty for OBJECT",
			body: `{"contents":[{"role":"user","parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"object"}}]}]}`},
		{name: "response count mismatch", path: gen, key: key, status: 400, contains: "number of function response parts",
			body: `{"contents":[{"role":"user","parts":[{"text":"x"}]},{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}},{"functionCall":{"name":"g"}}]},
			{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"r":1}}}]}]}`},
		{name: "non-object response", path: gen, key: key, status: 400, contains: "google.protobuf.Struct",
			body: `{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f"}}]},{"role":"user","parts":[{"functionResponse":{"name":"f","response":"x"}}]}]}`},
		{name: "budget and level", path: gen, key: key, status: 400, contains: "either thinking budget or thinking level",
			body: `{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"thinkingConfig":{"thinkingBudget":1,"thinkingLevel":"LOW"}}}`},
		{name: "forced call", path: gen, key: key, status: 200, contains: `"functionCall":{"name":"g","args":{"text":"x"}}`,
			body: `{"contents":[{"parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f"},{"name":"g"}]}],
			"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["g"]}}}`},
		{name: "json mode", path: gen, key: key, status: 200, contains: `"text":"{\"text\":\"x\"}"`,
			body: `{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"responseMimeType":"application/json","responseSchema":{"type":"object","properties":{"text":{"type":"string"}}}}}`},
		{name: "max tokens", path: gen, key: key, status: 200, contains: `"finishReason":"MAX_TOKENS"`,
			body: `{"contents":[{"parts":[{"text":"a long question"}]}],"generationConfig":{"maxOutputTokens":1}}`},
		{name: "batch model mismatch", path: "/v1beta/models/text-embedding-004:batchEmbedContents", key: key, status: 400, contains: "does not match",
			body: `{"requests":[{"model":"models/other","content":{"parts":[{"text":"a"}]}}]}`},
		{name: "count tokens", path: "/v1beta/models/gemini-2.5-flash:countTokens", key: key, status: 200, contains: `"totalTokens":4`,
			body: `{"contents":[{"parts":[{"text":"abcd"}]}]}`},
		{name: "list page", method: http.MethodGet, path: "/v1beta/models?pageSize=2", key: key, status: 200, contains: `"nextPageToken":"2"`},
	}
	fake, base := geminitest.Start(t, geminitest.WithAPIKey(key))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			r := do(t, method, base+tt.path, tt.key, tt.body)
			if r.status != tt.status || !strings.Contains(r.body, tt.contains) {
				t.Errorf("%s %s = %d %s; want %d containing %q", method, tt.path, r.status, r.body, tt.status, tt.contains)
			}
			if r.status != 200 && r.status != 405 {
				var e struct {
					Error struct {
						Code   int    `json:"code"`
						Status string `json:"status"`
					} `json:"error"`
				}
				if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error.Code != r.status || e.Error.Status == "" {
					t.Errorf("error body is not a google.rpc.Status: %s", r.body)
				}
			}
		})
	}
	t.Cleanup(func() {
		if got := len(fake.Requests()); got != len(tests) {
			t.Errorf("recorded %d requests, want %d", got, len(tests))
		}
	})
}

func TestStreamFormats(t *testing.T) {
	t.Parallel()
	fake, base := geminitest.Start(t, geminitest.WithChunks(2), geminitest.WithThoughts("hmm"))
	body := `{"contents":[{"parts":[{"text":"abcdefgh"}]}],"generationConfig":{"thinkingConfig":{"includeThoughts":true}}}`
	sse := do(t, http.MethodPost, base+"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "", body)
	if sse.ctype != "text/event-stream" || strings.Count(sse.body, "\r\n\r\n") != 3 {
		t.Fatalf("SSE answer %q (%s)", sse.body, sse.ctype)
	}
	sc := bufio.NewScanner(strings.NewReader(sse.body))
	var text strings.Builder
	events := 0
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSuffix(sc.Text(), "\r"), "data: ")
		if !ok {
			continue
		}
		events++
		var ev struct {
			Candidates []struct {
				Content struct {
					Parts []struct {
						Text    string `json:"text"`
						Thought bool   `json:"thought"`
					} `json:"parts"`
				} `json:"content"`
				FinishReason string `json:"finishReason"`
			} `json:"candidates"`
			UsageMetadata struct {
				ThoughtsTokenCount int `json:"thoughtsTokenCount"`
			} `json:"usageMetadata"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("event %q: %v", line, err)
		}
		for _, p := range ev.Candidates[0].Content.Parts {
			if !p.Thought {
				text.WriteString(p.Text)
			}
		}
		if events == 3 && (ev.Candidates[0].FinishReason != "STOP" || ev.UsageMetadata.ThoughtsTokenCount != 1) {
			t.Errorf("last event = %s", line)
		}
	}
	if text.String() != "echo: abcdefgh" {
		t.Errorf("streamed text = %q", text.String())
	}
	arr := do(t, http.MethodPost, base+"/v1beta/models/gemini-2.5-flash:streamGenerateContent", "", body)
	var list []json.RawMessage
	if !strings.HasPrefix(arr.ctype, "application/json") || json.Unmarshal([]byte(arr.body), &list) != nil || len(list) != 3 {
		t.Errorf("non-SSE stream answer = %s", arr.body)
	}
	if fake.InFlight() != 0 {
		t.Errorf("InFlight = %d after answers", fake.InFlight())
	}
}
