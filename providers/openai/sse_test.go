package openai

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestSSEReader(t *testing.T) {
	t.Parallel()
	type ev struct{ event, data string }
	long := strings.Repeat("x", 40<<10) // longer than the bufio buffer
	tests := []struct {
		name    string
		in      string
		want    []ev
		wantErr error
	}{
		{
			name: "plain events",
			in:   "data: {\"a\":1}\n\ndata: [DONE]\n\n",
			want: []ev{{"", `{"a":1}`}, {"", "[DONE]"}},
		},
		{
			name: "crlf, comments, keep-alives and unknown fields",
			in:   ": keep-alive\r\n\r\nid: 7\r\nretry: 100\r\ndata: one\r\n\r\n:\r\ndata:two\r\n\r\n",
			want: []ev{{"", "one"}, {"", "two"}},
		},
		{
			name: "multi-line data joined with newline",
			in:   "data: first\ndata: second\ndata\n\n",
			want: []ev{{"", "first\nsecond\n"}},
		},
		{
			name: "named event resets after dispatch",
			in:   "event: error\ndata: {\"x\":1}\n\ndata: y\n\n",
			want: []ev{{"error", `{"x":1}`}, {"", "y"}},
		},
		{
			name: "event without data is skipped",
			in:   "event: ping\n\ndata: z\n\n",
			want: []ev{{"", "z"}},
		},
		{
			name: "done without final blank line",
			in:   "data: a\n\ndata: [DONE]",
			want: []ev{{"", "a"}, {"", "[DONE]"}},
		},
		{
			name:    "body cut inside an event",
			in:      "data: a\n\ndata: {\"trunc",
			want:    []ev{{"", "a"}},
			wantErr: errIncompleteEvent,
		},
		{
			name:    "complete line but no blank line",
			in:      "data: {\"a\":1}\n",
			wantErr: errIncompleteEvent,
		},
		{
			name: "line longer than the buffer",
			in:   "data: " + long + "\n\ndata: b\n\n",
			want: []ev{{"", long}, {"", "b"}},
		},
		{
			name: "clean end",
			in:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// One byte per read exercises every split point.
			r := newSSEReader(iotest.OneByteReader(strings.NewReader(tt.in)))
			var got []ev
			var err error
			for {
				var event string
				var data []byte
				event, data, err = r.next()
				if err != nil {
					break
				}
				got = append(got, ev{event, string(data)})
			}
			wantErr := tt.wantErr
			if wantErr == nil {
				wantErr = io.EOF
			}
			if !errors.Is(err, wantErr) {
				t.Errorf("err = %v, want %v", err, wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d events %q, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d = %.60q, want %.60q", i, got[i], tt.want[i])
				}
			}
		})
	}
}
