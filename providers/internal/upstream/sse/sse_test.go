package sse_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/tollgate-dev/tollgate/providers/internal/upstream/sse"
)

type ev struct{ name, data string }

// cut is the event returned with ErrIncompleteEvent.
type cut struct {
	name, data string
	// noData reports a nil Data.
	noData bool
}

func TestReader(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 40<<10) // longer than the bufio buffer
	tests := []struct {
		name    string
		in      string
		want    []ev
		wantErr error
		// wantCut is the partial event returned with ErrIncompleteEvent.
		wantCut cut
	}{
		{
			name: "plain events",
			in:   "data: {\"a\":1}\n\ndata: [DONE]\n\n",
			want: []ev{{"", `{"a":1}`}, {"", "[DONE]"}},
		},
		{
			name: "named events",
			in:   "event: a\ndata: 1\n\nevent: b\ndata: 2\n\n",
			want: []ev{{"a", "1"}, {"b", "2"}},
		},
		{
			name: "crlf and no space after the colon",
			in:   "event:a\r\ndata:1\r\n\r\n",
			want: []ev{{"a", "1"}},
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
			in:   ": keep-alive\n\nevent: ping\n\nid: 7\nretry: 10\ndata: z\n\n",
			want: []ev{{"", "z"}},
		},
		{
			name: "gemini chunks with crlf",
			in:   "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"}}]}\r\n\r\n",
			want: []ev{{"", `{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"}}]}`}},
		},
		{
			name: "line longer than the buffer",
			in:   "event: big\ndata: " + long + "\n\ndata: b\n\n",
			want: []ev{{"big", long}, {"", "b"}},
		},
		{
			name:    "done without final blank line",
			in:      "data: a\n\ndata: [DONE]",
			want:    []ev{{"", "a"}},
			wantErr: sse.ErrIncompleteEvent,
			wantCut: cut{data: "[DONE]"},
		},
		{
			name:    "body cut inside an event",
			in:      "event: a\ndata: 1\n\nevent: b\ndata: {\"par",
			want:    []ev{{"a", "1"}},
			wantErr: sse.ErrIncompleteEvent,
			wantCut: cut{name: "b", data: `{"par`},
		},
		{
			name:    "complete line but no blank line",
			in:      "data: {\"a\":1}\n",
			wantErr: sse.ErrIncompleteEvent,
			wantCut: cut{data: `{"a":1}`},
		},
		{
			name:    "empty data but no blank line",
			in:      "data:\n",
			wantErr: sse.ErrIncompleteEvent,
			wantCut: cut{},
		},
		{
			name:    "cut after an event name",
			in:      "event: a\ndata: 1\n\nevent: b\n",
			want:    []ev{{"a", "1"}},
			wantErr: sse.ErrIncompleteEvent,
			wantCut: cut{name: "b", noData: true},
		},
		{
			name: "clean end",
			in:   "",
		},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		// One byte per read exercises every split point.
		{"one byte", iotest.OneByteReader},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				t.Parallel()
				r := sse.NewReader(rd.wrap(strings.NewReader(tt.in)))
				var got []ev
				var last sse.Event
				var err error
				for {
					last, err = r.Next()
					if err != nil {
						break
					}
					got = append(got, ev{string(last.Event), string(last.Data)})
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
				if wantErr != sse.ErrIncompleteEvent {
					return
				}
				gotCut := cut{name: string(last.Event), data: string(last.Data), noData: last.Data == nil}
				if gotCut != tt.wantCut {
					t.Errorf("cut-off event = %+v, want %+v", gotCut, tt.wantCut)
				}
			})
		}
	}
}

func TestReaderMaxLineSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		max     int
		in      string
		want    []string
		wantErr error
	}{
		{"within the bound", 8, "data: 12\n\n", []string{"12"}, io.EOF},
		{"line end not counted", 8, "data: 12\r\n\r\n", []string{"12"}, io.EOF},
		{"over the bound", 8, "data: 1\n\ndata: 123\n\n", []string{"1"}, sse.ErrLineTooLong},
		{"over the buffer and the bound", 20 << 10, "data: " + strings.Repeat("x", 30<<10) + "\n\n", nil, sse.ErrLineTooLong},
		{"no bound", 0, "data: " + strings.Repeat("x", 30<<10) + "\n\n", []string{strings.Repeat("x", 30<<10)}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := sse.NewReader(strings.NewReader(tt.in))
			r.SetMaxLineSize(tt.max)
			var got []string
			var err error
			for {
				var e sse.Event
				if e, err = r.Next(); err != nil {
					break
				}
				got = append(got, string(e.Data))
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d events, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d = %.20q, want %.20q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func BenchmarkReader(b *testing.B) {
	var sb strings.Builder
	for range 100 {
		sb.WriteString("event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\r\n\r\n")
	}
	in := sb.String()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r := sse.NewReader(strings.NewReader(in))
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}

func ExampleReader() {
	r := sse.NewReader(strings.NewReader("event: ping\ndata: {}\n\n: keep-alive\n\ndata: one\ndata: two\n\n"))
	for {
		e, err := r.Next()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%q %q\n", e.Event, e.Data)
	}
	// Output:
	// "ping" "{}"
	// "" "one\ntwo"
	// EOF
}

func TestReaderBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         string
		line, evnt int
		raw        bool
		want       error
	}{
		{"line over the bound", "data: " + strings.Repeat("x", 100) + "\n\n", 64, 0, false, sse.ErrLineTooLong},
		{"line without end over the bound", "data: " + strings.Repeat("x", 40<<10), 20 << 10, 0, false, sse.ErrLineTooLong},
		{"event over the bound in several lines", strings.Repeat("data: "+strings.Repeat("x", 30)+"\n", 4) + "\n", 64, 100, false, sse.ErrEventTooLarge},
		{"within the bounds", "data: " + strings.Repeat("x", 58) + "\n\n", 64, 64, false, io.EOF},
		{"within the bounds, kept raw", "data: " + strings.Repeat("x", 58) + "\n\n", 64, 64, true, io.EOF},
		{"comments do not count as data", strings.Repeat(": keep-alive\n", 20) + "data: x\n\n", 64, 100, false, io.EOF},
		{"comments kept raw count", strings.Repeat(": keep-alive\n", 20) + "data: x\n\n", 64, 100, true, sse.ErrEventTooLarge},
		{"data-less events kept raw count", strings.Repeat("event: ping\n\n", 20) + "data: x\n\n", 64, 100, true, sse.ErrEventTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := sse.NewReader(strings.NewReader(tt.in))
			r.SetMaxLineSize(tt.line)
			r.SetMaxEventSize(tt.evnt)
			r.KeepRaw(tt.raw)
			var err error
			for err == nil {
				_, err = r.Next()
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// endless is a body that sends "data: " and then x forever.
type endless struct{ started bool }

func (e *endless) Read(p []byte) (int, error) {
	if !e.started {
		e.started = true
		return copy(p, "data: "), nil
	}
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// TestReaderDefaultBound reads an endless line with the default bounds: it
// fails after the bound, having buffered no more than about twice it.
func TestReaderDefaultBound(t *testing.T) {
	t.Parallel()
	r := sse.NewReader(&endless{})
	if _, err := r.Next(); !errors.Is(err, sse.ErrLineTooLong) {
		t.Fatalf("err = %v, want ErrLineTooLong", err)
	}
}

// TestEventReady: only an event with data that is read whole counts.
func TestEventReady(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     bool
	}{
		{"empty", "", false},
		{"whole event", "data: {}\n\n", true},
		{"named event", "event: x\ndata: {}\n\n", true},
		{"crlf", "data: {}\r\n\r\n", true},
		{"a lone cr ends no line (as Next reads them)", "data: {}\r\r", false},
		{"without its blank line", "data: {}\n", false},
		{"half a line", "data: {", false},
		{"comment only", ": keep-alive\n\n", false},
		{"another field named like data", "datum: {}\n\n", false},
		{"data-less event", "event: ping\n\n", false},
		{"comment, then an event", ": keep-alive\n\ndata: {}\n\n", true},
		{"comment, then half an event", ": keep-alive\n\ndata: {}\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A first event fills the read buffer with what follows it.
			r := sse.NewReader(strings.NewReader("data: first\n\n" + tt.in))
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
			if got := r.EventReady(); got != tt.want {
				t.Errorf("EventReady = %v, want %v", got, tt.want)
			}
			if tt.want {
				if _, err := r.Next(); err != nil {
					t.Errorf("Next after EventReady: %v", err)
				}
			}
		})
	}
}
