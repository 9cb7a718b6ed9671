package anthropic

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestSSEReader(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 40<<10)
	type ev struct{ name, data string }
	tests := []struct {
		name    string
		in      string
		want    []ev
		wantErr error
	}{
		{"named events", "event: a\ndata: 1\n\nevent: b\ndata: 2\n\n", []ev{{"a", "1"}, {"b", "2"}}, io.EOF},
		{"crlf and no space", "event:a\r\ndata:1\r\n\r\n", []ev{{"a", "1"}}, io.EOF},
		{"multi-line data", "data: one\ndata: two\n\n", []ev{{"", "one\ntwo"}}, io.EOF},
		{"comments and empty events", ": keep-alive\n\nevent: lonely\n\nid: 7\nretry: 10\ndata: x\n\n", []ev{{"", "x"}}, io.EOF},
		{"line longer than the buffer", "event: big\ndata: " + long + "\n\n", []ev{{"big", long}}, io.EOF},
		{"cut inside an event", "event: a\ndata: 1\n\nevent: b\ndata: {\"par", []ev{{"a", "1"}}, errIncompleteEvent},
		{"cut after an event name", "event: a\ndata: 1\n\nevent: b\n", []ev{{"a", "1"}}, errIncompleteEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newSSEReader(strings.NewReader(tt.in))
			var got []ev
			for {
				name, data, err := r.next()
				if err != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Errorf("err = %v, want %v", err, tt.wantErr)
					}
					break
				}
				got = append(got, ev{string(name), string(data)})
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d events, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d = %q/%.20q, want %q/%.20q", i, got[i].name, got[i].data, tt.want[i].name, tt.want[i].data)
				}
			}
		})
	}
}
