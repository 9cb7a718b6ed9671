package jsonstr

import "testing"

func TestUnquote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want, rest string
		ok             bool
		// strict is what UnquoteStrict reports (want and rest are the same
		// when it succeeds).
		strict bool
	}{
		{`plain"`, "plain", "", true, true},
		{`a"b`, "a", "b", true, true},
		{`a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t", "", true, true},
		{`\u00e9\ud83d\ude00"}`, "é😀", "}", true, true},
		{`x\ud800\u0041"`, "x\uFFFDA", "", true, false}, // an unpaired surrogate
		{"\xff\xfe\"", "\uFFFD\uFFFD", "", true, false}, // invalid UTF-8, one U+FFFD per byte
		{"日本\"", "日本", "", true, true},
		{"a\nb\"", "", "", false, false}, // a control character
		{`\x"`, "", "", false, false},
		{`\u12"`, "", "", false, false},
		{`abc`, "", "", false, false}, // unterminated
		{`abc\`, "", "", false, false},
		{"x\xed\xa0\x80\"", "x\uFFFD\uFFFD\uFFFD", "", true, false}, // a surrogate in UTF-8
		{`\ufffd"`, "\uFFFD", "", true, true},                       // U+FFFD itself is valid
	}
	for _, tt := range tests {
		s, rest, ok := Unquote([]byte(tt.in))
		if ok != tt.ok || s != tt.want || (ok && string(rest) != tt.rest) {
			t.Errorf("Unquote(%q) = %q, %q, %v; want %q, %q, %v", tt.in, s, rest, ok, tt.want, tt.rest, tt.ok)
		}
		s, rest, ok = UnquoteStrict([]byte(tt.in))
		if ok != tt.strict || (ok && (s != tt.want || string(rest) != tt.rest)) {
			t.Errorf("UnquoteStrict(%q) = %q, %q, %v; want %v", tt.in, s, rest, ok, tt.strict)
		}
	}
}
