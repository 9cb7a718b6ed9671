package sse_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/tollgate-dev/tollgate/providers/internal/upstream/sse"
)

// refEvent is an event as the reference parser sees it.
type refEvent struct {
	name, data     string
	hasName, valid bool // valid: the event has a data field
}

// reference parses an event stream the plainest way, straight from the
// rules the package doc lists: lines end with "\n" or "\r\n" (a last line
// may end with the body), a blank line dispatches an event that has data
// (and forgets a name without data), ":" starts a comment, "event" names
// the event, "data" fields are joined with "\n", one space after the
// colon is dropped, other fields are ignored. It returns the complete
// events and, when the body ends inside an event, that event.
func reference(body []byte) (events []refEvent, tail *refEvent) {
	var cur refEvent
	var data []byte
	lines := bytes.Split(body, []byte{'\n'})
	if n := len(lines); len(lines[n-1]) == 0 {
		lines = lines[:n-1] // the body ended with a line end
	}
	for _, line := range lines {
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			if cur.valid {
				cur.data = string(data)
				events = append(events, cur)
			}
			cur, data = refEvent{}, nil
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte{':'})
		value = bytes.TrimPrefix(value, []byte{' '})
		switch string(field) {
		case "event":
			cur.name, cur.hasName = string(value), true
		case "data":
			if cur.valid {
				data = append(data, '\n')
			}
			data = append(data, value...)
			cur.valid = true
		}
	}
	if cur.valid || cur.hasName {
		cur.data = string(data)
		return events, &cur
	}
	return events, nil
}

// read returns what the Reader makes of body read through r.
func read(t *testing.T, r io.Reader) (events []refEvent, tail *refEvent) {
	rd := sse.NewReader(r)
	for {
		ev, err := rd.Next()
		switch {
		case err == nil:
			if ev.Data == nil {
				t.Fatal("a complete event without data")
			}
			events = append(events, refEvent{name: string(ev.Event), data: string(ev.Data), hasName: ev.Event != nil, valid: true})
		case errors.Is(err, sse.ErrIncompleteEvent):
			return events, &refEvent{name: string(ev.Event), data: string(ev.Data), hasName: ev.Event != nil, valid: ev.Data != nil}
		case errors.Is(err, io.EOF):
			return events, nil
		default:
			t.Fatalf("Next: %v", err)
		}
	}
}

// FuzzReader checks the Reader against the reference parser, whatever
// the body and however it is split into reads.
func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		"data: {\"a\":1}\n\ndata: [DONE]\n\n",
		"event: message_start\ndata: {}\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n",
		"event:a\r\ndata:1\r\n\r\n",
		": keep-alive\r\n\r\nid: 7\r\nretry: 100\r\ndata: one\r\n\r\n:\r\ndata:two\r\n\r\n",
		"data: first\ndata: second\ndata\n\n",
		"event: lonely\n\ndata: x\n\n",
		"data: cut off",
		"event: only a name",
		"data: a\r",
		"\r\n\r\n\n\ndata:\n\n",
		"data:  two spaces\n\nfield without colon\ndata\n\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		wantEvents, wantTail := reference(body)
		// The event names of the reference keep "" apart from none; the
		// Reader reports an empty name as none (both mean "message").
		norm := func(es []refEvent) []refEvent {
			out := make([]refEvent, len(es))
			for i, e := range es {
				e.hasName = e.hasName && e.name != ""
				out[i] = e
			}
			return out
		}
		for _, r := range []struct {
			name string
			r    io.Reader
		}{
			{"whole", bytes.NewReader(body)},
			{"one byte at a time", iotest.OneByteReader(bytes.NewReader(body))},
			{"half reads", iotest.HalfReader(bytes.NewReader(body))},
		} {
			gotEvents, gotTail := read(t, r.r)
			if g, w := norm(gotEvents), norm(wantEvents); len(g) != len(w) {
				t.Fatalf("%s: %d events %+v, reference %d %+v", r.name, len(g), g, len(w), w)
			} else {
				for i := range g {
					if g[i] != w[i] {
						t.Fatalf("%s: event %d is %+v, reference %+v", r.name, i, g[i], w[i])
					}
				}
			}
			switch {
			case (gotTail == nil) != (wantTail == nil):
				t.Fatalf("%s: incomplete event %+v, reference %+v", r.name, gotTail, wantTail)
			case gotTail != nil && (gotTail.data != wantTail.data || gotTail.valid != wantTail.valid ||
				gotTail.name != wantTail.name):
				t.Fatalf("%s: incomplete event %+v, reference %+v", r.name, *gotTail, *wantTail)
			}
		}
	})
}
