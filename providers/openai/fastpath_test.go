package openai

import (
	"reflect"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
)

// fullChunk decodes data the way the stream does without the fast path.
func fullChunk(t *testing.T, data []byte) (*providers.Chunk, bool) {
	t.Helper()
	var w schema.Chunk
	if err := apischema.UnmarshalReuse(data, &w); err != nil || w.Error != nil {
		return nil, false
	}
	return chunkOf(&w), true
}

func TestFastChunk(t *testing.T) {
	t.Parallel()
	text := func(s string) *providers.Chunk {
		return &providers.Chunk{ID: "chatcmpl-1", Model: "gpt-4o-mini", Choices: []providers.ChoiceDelta{{Text: s}}}
	}
	tests := []struct {
		name   string
		data   string
		want   *providers.Chunk
		wantOK bool
	}{
		{"openai content", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"x1"}`,
			text("Hello"), true},
		{"first chunk: role and empty content", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","service_tier":"default","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}`,
			&providers.Chunk{ID: "chatcmpl-1", Model: "gpt-4o-mini", Choices: []providers.ChoiceDelta{{Role: providers.RoleAssistant}}}, true},
		{"finish", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`,
			&providers.Chunk{ID: "chatcmpl-1", Model: "gpt-4o-mini", Choices: []providers.ChoiceDelta{{FinishReason: providers.FinishStop}}}, true},
		{"vllm with spaces and stop_reason", `{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": "a\"b\\c\n\u00e9"}, "logprobs": null, "finish_reason": null, "stop_reason": null}]}` + "\n",
			text("a\"b\\c\né"), true},
		{"reasoning", `{"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"reasoning_content":"think"}}]}`,
			&providers.Chunk{ID: "chatcmpl-1", Model: "gpt-4o-mini", Choices: []providers.ChoiceDelta{{Reasoning: "think"}}}, true},
		{"refusal", `{"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":1,"delta":{"content":null,"refusal":"no"}}]}`,
			&providers.Chunk{ID: "chatcmpl-1", Model: "gpt-4o-mini", Choices: []providers.ChoiceDelta{{Index: 1, Text: "no"}}}, true},
		{"no choices", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[]}`, nil, true},
		{"usage goes the full way", `{"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`, nil, false},
		{"tool calls go the full way", `{"id":"chatcmpl-1","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}`, nil, false},
		{"logprobs go the full way", `{"id":"chatcmpl-1","model":"m","choices":[{"index":0,"delta":{"content":"a"},"logprobs":{"content":[]}}]}`, nil, false},
		{"unknown member", `{"id":"chatcmpl-1","model":"m","x_groq":{"id":"req_1"},"choices":[]}`, nil, false},
		{"error", `{"error":{"message":"boom"}}`, nil, false},
		{"repeated member", `{"id":"a","id":"b","choices":[]}`, nil, false},
		{"trailing comma", `{"id":"a","choices":[],}`, nil, false},
		{"fractional index", `{"id":"a","choices":[{"index":0.0,"delta":{}}]}`, nil, false},
		{"negative created", `{"id":"a","created":-5,"choices":[]}`, nil, true},
		{"leading zero", `{"id":"a","created":01,"choices":[]}`, nil, false},
		{"trailing garbage", `{"id":"a","choices":[]}x`, nil, false},
		{"unterminated", `{"id":"a","choices":[{"index":0,"delta":{"content":"abc`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := fastChunk([]byte(tt.data), "", "")
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("fastChunk = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
			if ok {
				full, fok := fullChunk(t, []byte(tt.data))
				if !fok || !reflect.DeepEqual(full, got) {
					t.Errorf("the full decoder: %+v, %v", full, fok)
				}
			}
		})
	}
}

// TestFastChunkAllocs: a chunk repeating the previous id and model shares
// their strings; a content chunk costs three allocations.
func TestFastChunkAllocs(t *testing.T) {
	prevID, prevModel := "chatcmpl-1", "gpt-4o-mini"
	c, ok := fastChunk([]byte(`{"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"x"}}]}`), prevID, prevModel)
	if !ok || c.ID != prevID || c.Model != prevModel {
		t.Fatalf("with previous: %+v %v", c, ok)
	}
	if a := testing.AllocsPerRun(100, func() {
		fastChunk([]byte(`{"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"x"}}]}`), prevID, prevModel)
	}); a > 3 {
		t.Errorf("%v allocations per chunk, want at most 3 (chunk, choices, content)", a)
	}
}

// FuzzFastChunk checks that whenever the fast path accepts an event, the
// full decoder decodes the same chunk.
func FuzzFastChunk(f *testing.F) {
	for _, s := range []string{
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}`,
		`{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "\ud83d\ude00 \ud800 \xff"}, "logprobs": null, "finish_reason": "length", "stop_reason": null}]}`,
		`{"id":"c","model":"m","choices":[{"index":2,"delta":{"refusal":"no","reasoning":"r"},"finish_reason":"content_filter"},{"index":3,"delta":{}}]}`,
		`{"\u0069d":"c","model":"m","choices":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := fastChunk(data, "c", "m")
		if !ok {
			return
		}
		full, fok := fullChunk(t, data)
		if !fok {
			t.Fatalf("fast path accepted %q, the full decoder refused it", data)
		}
		if !reflect.DeepEqual(full, got) {
			t.Fatalf("%q:\nfast %+v\nfull %+v", data, got, full)
		}
	})
}

// BenchmarkChunkDecode compares the fast path with the full decoder on a
// typical content chunk.
func BenchmarkChunkDecode(b *testing.B) {
	data := []byte(`{"id":"chatcmpl-AbC123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":" the"},"logprobs":null,"finish_reason":null}],"usage":null}`)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := fastChunk(data, "chatcmpl-AbC123", "gpt-4o-mini"); !ok {
				b.Fatal("not decoded")
			}
		}
	})
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		var w schema.Chunk
		for b.Loop() {
			w = schema.Chunk{ID: w.ID, Object: w.Object, Model: w.Model, SystemFingerprint: w.SystemFingerprint, Choices: w.Choices[:0]}
			if err := apischema.UnmarshalReuse(data, &w); err != nil {
				b.Fatal(err)
			}
			_ = chunkOf(&w)
		}
	})
}
