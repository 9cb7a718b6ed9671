package jsonstr

import "testing"

func TestUnquote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want, rest string
		ok             bool
	}{
		{`plain"`, "plain", "", true},
		{`a"b`, "a", "b", true},
		{`a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t", "", true},
		{`\u00e9\ud83d\ude00"}`, "é😀", "}", true},
		{`x\ud800\u0041"`, "x\uFFFDA", "", true}, // an unpaired surrogate
		{"\xff\xfe\"", "\uFFFD\uFFFD", "", true}, // invalid UTF-8, one U+FFFD per byte
		{"日本\"", "日本", "", true},
		{"a\nb\"", "", "", false}, // a control character
		{`\x"`, "", "", false},
		{`\u12"`, "", "", false},
		{`abc`, "", "", false}, // unterminated
		{`abc\`, "", "", false},
	}
	for _, tt := range tests {
		s, rest, ok := Unquote([]byte(tt.in))
		if ok != tt.ok || s != tt.want || (ok && string(rest) != tt.rest) {
			t.Errorf("Unquote(%q) = %q, %q, %v; want %q, %q, %v", tt.in, s, rest, ok, tt.want, tt.rest, tt.ok)
		}
	}
}
