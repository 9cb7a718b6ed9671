package apischema

import (
	"strings"
	"testing"
)

func TestPresized(t *testing.T) {
	role := []byte(`"role"`)
	conversation := func(n int) string {
		return `{"messages":[` + strings.Repeat(`{"role":"user","content":"hello there"},`, n) + `{"role":"user","content":"?"}]}`
	}
	tests := []struct {
		name    string
		body    string
		wantCap int
	}{
		{"no array", `{"model":"m"}`, 0},
		{"one element", conversation(0), 0},
		{"151 elements", conversation(150), 151},
		{"escaped names in strings do not count", `{"messages":[{"role":"user","content":"say \"role\" twice: \"role\""},{"role":"assistant","content":""}]}`, 2},
		{"bounded by the body's length", strings.Repeat(`"role"`, 100), 600 / minElemBytes},
		{"bounded", conversation(maxPresized + 10), maxPresized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Presized[struct{ A, B string }]([]byte(tt.body), role)
			if len(got) != 0 || cap(got) != tt.wantCap {
				t.Fatalf("len %d cap %d, want 0 and %d", len(got), cap(got), tt.wantCap)
			}
		})
	}
}

// TestPresizedDecodesInPlace checks that decoding uses the room Presized
// made: the array is decoded without a reallocation.
func TestPresizedDecodesInPlace(t *testing.T) {
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	var req struct {
		Messages []msg `json:"messages"`
	}
	body := []byte(`{"messages":[` + strings.Repeat(`{"role":"user","content":"hi"},`, 99) + `{"role":"user","content":"?"}]}`)
	req.Messages = Presized[msg](body, []byte(`"role"`))
	first := &req.Messages[:1][0]
	if err := Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	if len(req.Messages) != 100 || &req.Messages[0] != first {
		t.Fatalf("decoded %d messages into a new array (%p, want %p)", len(req.Messages), &req.Messages[0], first)
	}
}
