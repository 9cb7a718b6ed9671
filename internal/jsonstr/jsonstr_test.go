package jsonstr

import (
	"encoding/json"
	"testing"
)

func TestAppendString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
	}{
		{"plain", "hello"},
		{"escapes", "a\"b\\c\n\r\t\x00\x1f"},
		{"unicode", "héllo 世界 🎉"},
		{"line separators", "a\u2028b\u2029c"},
		{"invalid utf8", "a\xffb\xc3"},
		{"html", "<b>&</b>"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := AppendString(nil, tt.in)
			var back string
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("%s is not a JSON string: %v", got, err)
			}
			var want string
			std, _ := json.Marshal(tt.in)
			_ = json.Unmarshal(std, &want)
			if back != want {
				t.Errorf("round trip of %q = %q, want %q", tt.in, back, want)
			}
		})
	}
}
