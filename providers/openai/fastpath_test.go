package openai

import (
	"reflect"
	"testing"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/openai"
	"github.com/tollgate-dev/tollgate/providers"
)

// fastChunkOf decodes a stream event with the fast path, after a chunk
// with prevID and prevModel.
func fastChunkOf(data []byte, prevID, prevModel string) (*providers.Chunk, bool) {
	w := schema.Chunk{ID: prevID, Model: prevModel}
	var strs []string
	if !fastChunk(data, &w, &strs) {
		return nil, false
	}
	return chunkOf(&w), true
}

// fullChunkOf decodes a stream event the way the stream does without the
// fast path: a chunk without id or model keeps the previous one's.
func fullChunkOf(data []byte, prevID, prevModel string) (*providers.Chunk, bool) {
	w := schema.Chunk{ID: prevID, Model: prevModel}
	if err := apischema.UnmarshalReuse(data, &w); err != nil || w.Error != nil {
		return nil, false
	}
	return chunkOf(&w), true
}

// fastAnswerOf and fullAnswerOf do the same for unary answers.
func fastAnswerOf(data []byte) (*providers.ChatResponse, bool) {
	var w schema.ChatCompletion
	if !fastCompletion(data, &w) {
		return nil, false
	}
	return completionOf(&w), true
}

func fullAnswerOf(data []byte) (*providers.ChatResponse, bool) {
	var w schema.ChatCompletion
	if err := apischema.UnmarshalLenient(data, &w); err != nil || w.Error != nil {
		return nil, false
	}
	return completionOf(&w), true
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
		{"negative created", `{"id":"a","created":-5,"choices":[]}`, nil, true},
		{"usage goes the full way", `{"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`, nil, false},
		{"tool calls go the full way", `{"id":"chatcmpl-1","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}`, nil, false},
		{"logprobs go the full way", `{"id":"chatcmpl-1","model":"m","choices":[{"index":0,"delta":{"content":"a"},"logprobs":{"content":[]}}]}`, nil, false},
		{"unknown member", `{"id":"chatcmpl-1","model":"m","x_groq":{"id":"req_1"},"choices":[]}`, nil, false},
		{"name with an escape", `{"\u0069d":"c","choices":[]}`, nil, false},
		{"error", `{"error":{"message":"boom"}}`, nil, false},
		{"repeated member", `{"id":"a","id":"b","choices":[]}`, nil, false},
		{"trailing comma", `{"id":"a","choices":[],}`, nil, false},
		{"fractional index", `{"id":"a","choices":[{"index":0.0,"delta":{}}]}`, nil, false},
		{"leading zero", `{"id":"a","created":01,"choices":[]}`, nil, false},
		{"trailing garbage", `{"id":"a","choices":[]}x`, nil, false},
		{"unterminated", `{"id":"a","choices":[{"index":0,"delta":{"content":"abc`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := fastChunkOf([]byte(tt.data), "", "")
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("fast path = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
			if ok {
				if full, fok := fullChunkOf([]byte(tt.data), "", ""); !fok || !reflect.DeepEqual(full, got) {
					t.Errorf("the full decoder: %+v, %v", full, fok)
				}
			}
		})
	}
}

func TestFastCompletion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		data   string
		wantOK bool
	}{
		{"openai", `{"id":"chatcmpl-1","object":"chat.completion","created":1741570283,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Hi there","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":7,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_fc9f1d7035"}`, true},
		{"vllm", `{"id": "cmpl-1", "object": "chat.completion", "created": 1, "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "reasoning_content": "r", "content": "x"}, "logprobs": null, "finish_reason": "length", "stop_reason": null}], "usage": {"prompt_tokens": 3, "total_tokens": 5, "completion_tokens": 2, "prompt_tokens_details": null}}`, true},
		{"deepseek cache hits", `{"id":"c","object":"chat.completion","created":1,"model":"deepseek-chat","choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":1,"total_tokens":11,"prompt_cache_hit_tokens":8}}`, true},
		{"no usage", `{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"no"},"finish_reason":null}],"usage":null}`, true},
		{"tool calls go the full way", `{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`, false},
		{"annotations go the full way", `{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"x","annotations":[{"type":"url_citation"}]},"finish_reason":"stop"}]}`, false},
		{"unknown usage member", `{"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":1,"prompt_cache_miss_tokens":1}}`, false},
		{"error", `{"error":{"message":"overloaded","type":"server_error"}}`, false},
		{"null audio tokens", `{"id":"c","model":"m","choices":[],"usage":{"prompt_tokens_details":{"audio_tokens":null}}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := fastAnswerOf([]byte(tt.data))
			if ok != tt.wantOK {
				t.Fatalf("fast path ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				return
			}
			full, fok := fullAnswerOf([]byte(tt.data))
			if !fok || !reflect.DeepEqual(full, got) {
				t.Errorf("fast %+v\nfull %+v, %v", got, full, fok)
			}
		})
	}
}

// TestFastChunkAllocs: a chunk repeating the previous id and model shares
// their strings.
func TestFastChunkAllocs(t *testing.T) {
	data := []byte(`{"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"x"}}]}`)
	w := schema.Chunk{ID: "chatcmpl-1", Model: "gpt-4o-mini"}
	id, model := w.ID, w.Model
	var strs []string
	if a := testing.AllocsPerRun(100, func() {
		w.Choices = w.Choices[:0]
		if !fastChunk(data, &w, &strs) {
			t.Fatal("not decoded")
		}
	}); a > 1 {
		t.Errorf("%v allocations per chunk, want at most 1 (the content)", a)
	}
	if w.ID != id || w.Model != model {
		t.Errorf("id and model changed: %q %q", w.ID, w.Model)
	}
	if a := testing.AllocsPerRun(100, func() { _ = chunkOf(&w) }); a > 1 {
		t.Errorf("%v allocations to convert a chunk of one choice, want 1", a)
	}
}

// TestFastChunkKeepsEarlierChunks: the strings a parse leaves in strs are
// reused by the next parse, and the chunks converted before stay intact.
func TestFastChunkKeepsEarlierChunks(t *testing.T) {
	var w schema.Chunk
	var strs []string
	var got []*providers.Chunk
	for _, text := range []string{"one", "two", "three"} {
		w = schema.Chunk{ID: w.ID, Model: w.Model, Choices: w.Choices[:0]}
		data := []byte(`{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"` + text + `"},"finish_reason":null}]}`)
		if !fastChunk(data, &w, &strs) {
			t.Fatalf("%s: not decoded", text)
		}
		got = append(got, chunkOf(&w))
	}
	for i, want := range []string{"one", "two", "three"} {
		if got[i].Choices[0].Text != want {
			t.Errorf("chunk %d holds %q, want %q", i, got[i].Choices[0].Text, want)
		}
	}
}

// FuzzFastChunk checks that whenever the fast path accepts a stream event
// or a unary answer, the full decoder decodes the same.
func FuzzFastChunk(f *testing.F) {
	for _, s := range []string{
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}`,
		`{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "\ud83d\ude00 \ud800 \xff"}, "logprobs": null, "finish_reason": "length", "stop_reason": null}]}`,
		`{"id":"c","model":"m","choices":[{"index":2,"delta":{"refusal":"no","reasoning":"r"},"finish_reason":"content_filter"},{"index":3,"delta":{}}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion","created":1741570283,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Hi","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_1"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, ok := fastChunkOf(data, "c", "m"); ok {
			if full, fok := fullChunkOf(data, "c", "m"); !fok || !reflect.DeepEqual(full, got) {
				t.Fatalf("chunk %q:\nfast %+v\nfull %+v (%v)", data, got, full, fok)
			}
		}
		if got, ok := fastAnswerOf(data); ok {
			if full, fok := fullAnswerOf(data); !fok || !reflect.DeepEqual(full, got) {
				t.Fatalf("answer %q:\nfast %+v\nfull %+v (%v)", data, got, full, fok)
			}
		}
	})
}

// BenchmarkDecode compares the fast paths with the full decoder on a
// typical content chunk and a typical answer.
func BenchmarkDecode(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-AbC123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":" the"},"logprobs":null,"finish_reason":null}],"usage":null}`)
	answer := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1741570283,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"The capital of France is Paris. It has been the capital for centuries.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":31,"total_tokens":55,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_fc9f1d7035"}`)
	b.Run("chunk/fast", func(b *testing.B) {
		b.ReportAllocs()
		w := schema.Chunk{ID: "chatcmpl-AbC123", Model: "gpt-4o-mini"}
		var strs []string
		for b.Loop() {
			w.Choices = w.Choices[:0]
			if !fastChunk(chunk, &w, &strs) {
				b.Fatal("not decoded")
			}
			_ = chunkOf(&w)
		}
	})
	b.Run("chunk/full", func(b *testing.B) {
		b.ReportAllocs()
		var w schema.Chunk
		for b.Loop() {
			w = schema.Chunk{ID: w.ID, Object: w.Object, Model: w.Model, SystemFingerprint: w.SystemFingerprint, Choices: w.Choices[:0]}
			if err := apischema.UnmarshalReuse(chunk, &w); err != nil {
				b.Fatal(err)
			}
			_ = chunkOf(&w)
		}
	})
	b.Run("answer/fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := fastAnswerOf(answer); !ok {
				b.Fatal("not decoded")
			}
		}
	})
	b.Run("answer/full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := fullAnswerOf(answer); !ok {
				b.Fatal("not decoded")
			}
		}
	})
}
