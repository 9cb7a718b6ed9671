package anthropic

import (
	"testing"

	"github.com/tollgate-dev/tollgate/internal/apischema"
	schema "github.com/tollgate-dev/tollgate/internal/apischema/anthropic"
)

func TestFastDelta(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		data      string
		wantOK    bool
		wantIndex int
		wantType  string
		wantValue string
	}{
		{"text", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`, true, 0, "text_delta", "Hello"},
		{"escapes", `{"type":"content_block_delta","index":12,"delta":{"type":"text_delta","text":"a\"b\\c\/d\n\t\u00e9\ud83d\ude00"}}`, true, 12, "text_delta", "a\"b\\c/d\n\té😀"},
		{"unpaired surrogate", `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"x\ud800\u0041"}}`, true, 1, "text_delta", "x\uFFFDA"},
		{"utf-8", `{"type":"content_block_delta","index":3,"delta":{"type":"thinking_delta","thinking":"1071 = 2 × 462"}}`, true, 3, "thinking_delta", "1071 = 2 × 462"},
		{"partial json", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}`, true, 1, "input_json_delta", `{"location":`},
		{"signature", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCg=="}}` + "\r\n", true, 0, "signature_delta", "EqQBCg=="},
		{"spaces go the slow way", `{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}`, false, 0, "", ""},
		{"other delta type", `{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{}}}`, false, 0, "", ""},
		{"extra field", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a","x":1}}`, false, 0, "", ""},
		{"leading zero", `{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"a"}}`, false, 0, "", ""},
		{"huge index", `{"type":"content_block_delta","index":1234567,"delta":{"type":"text_delta","text":"a"}}`, false, 0, "", ""},
		{"control character", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\nb\"}}", false, 0, "", ""},
		{"bad escape", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\x"}}`, false, 0, "", ""},
		{"unterminated", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"abc`, false, 0, "", ""},
		{"other event", `{"type":"message_stop"}`, false, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			index, typ, value, ok := fastDelta([]byte(tt.data))
			if ok != tt.wantOK || index != tt.wantIndex || typ != tt.wantType || value != tt.wantValue {
				t.Errorf("fastDelta = %d %q %q %v, want %d %q %q %v", index, typ, value, ok, tt.wantIndex, tt.wantType, tt.wantValue, tt.wantOK)
			}
		})
	}
}

// FuzzFastDelta checks that whenever the fast path accepts an event,
// encoding/json decodes the same index, type and payload.
func FuzzFastDelta(f *testing.F) {
	f.Add([]byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`))
	f.Add([]byte(`{"type":"content_block_delta","index":7,"delta":{"type":"input_json_delta","partial_json":"{\"a\":\"\\u00e9\"}"}}`))
	f.Add([]byte(`{"type":"content_block_delta","index":2,"delta":{"type":"thinking_delta","thinking":"\ud83d\ude00 \ud800 \xff"}}`))
	f.Add([]byte(`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"abc"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		index, typ, value, ok := fastDelta(data)
		if !ok {
			return
		}
		var ev schema.StreamEvent
		if err := apischema.UnmarshalLenient(data, &ev); err != nil {
			t.Fatalf("fast path accepted invalid JSON %q: %v", data, err)
		}
		if ev.Type != "content_block_delta" || ev.Delta == nil || ev.Index == nil || *ev.Index != index || ev.Delta.Type != typ || ev.Delta.Value() != value {
			t.Fatalf("fast path %d %q %q, json %v %+v for %q", index, typ, value, ev.Index, ev.Delta, data)
		}
	})
}
