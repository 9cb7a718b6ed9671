// Package sse reads server-sent events as the chat APIs stream them.
//
// It implements the parts of the event-stream format those streams use:
// "data:" fields (several in one event are joined with "\n"), "event:"
// names, ":" comments (keep-alives), "\n" and "\r\n" line ends, and events
// dispatched by a blank line. Other fields ("id:", "retry:") are ignored.
// The reader reuses its buffers and does not allocate per event.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// ErrIncompleteEvent is returned when the body ends inside an event.
var ErrIncompleteEvent = errors.New("event stream ended inside an event")

// ErrLineTooLong is returned for a line longer than the reader's limit.
var ErrLineTooLong = errors.New("event stream line too long")

// ErrEventTooLarge is returned for an event whose data is larger than the
// reader's limit.
var ErrEventTooLarge = errors.New("event stream event too large")

// DefaultMaxLineSize and DefaultMaxEventSize are a new reader's bounds:
// far above any chat chunk (a streamed image's base64 included), far
// below what would let one upstream exhaust the gateway's memory. Past
// them Next fails, and the reader does not buffer further.
const (
	DefaultMaxLineSize  = 8 << 20
	DefaultMaxEventSize = 8 << 20
)

// bufferSize is the size of the read buffer; longer lines are assembled
// in a separate buffer. Events are mostly well under a kilobyte, and the
// HTTP client buffers the connection itself (32 KiB, upstream.NewHTTPClient),
// so a larger buffer per stream costs allocation, not syscalls.
const bufferSize = 4 << 10

// Event is one event of a stream. Its slices are valid until the next
// call to [Reader.Next].
type Event struct {
	// Event is the event's name, nil when it has none (the default
	// "message").
	Event []byte
	// Data is the event's data.
	Data []byte
	// Raw is the event's bytes as read, comments and line ends included,
	// up to and including the blank line that dispatched it; set only when
	// the reader keeps raw bytes (see [Reader.KeepRaw]).
	Raw []byte
}

// Reader reads the events of an event stream. It is not safe for
// concurrent use.
type Reader struct {
	r *bufio.Reader
	// maxLine bounds a line's length in bytes; 0 means no bound.
	maxLine int
	// maxEvent bounds an event's data in bytes; 0 means no bound.
	maxEvent int
	// data is the current event's data; reused between events.
	data []byte
	// name is the current event's name; reused between events.
	name []byte
	// long holds a line that did not fit the bufio buffer.
	long []byte
	// keepRaw makes Next collect each event's bytes in raw.
	keepRaw bool
	raw     []byte
	// lineEnd is the length of the line end line() trimmed.
	lineEnd int
}

// KeepRaw makes Next return each event's bytes as read in Event.Raw, for
// relaying a stream byte for byte. The kept bytes of one event (comments
// and data-less events before it included) are bounded by the event and
// line bounds together: past them Next fails with ErrEventTooLarge.
func (s *Reader) KeepRaw(on bool) { s.keepRaw = on }

// EventReady reports whether an event with data is already read from the
// underlying reader, whole, so that Next returns it without waiting for
// more input. Comment-only and data-less events before it do not count.
// It reads nothing.
func (s *Reader) EventReady() bool {
	b, _ := s.r.Peek(s.r.Buffered())
	hasData := false
	for {
		i := bytes.IndexByte(b, '\n') // lines end as line() reads them
		if i < 0 {
			return false // an incomplete line
		}
		line := bytes.TrimSuffix(b[:i], []byte{'\r'})
		b = b[i+1:]
		switch {
		case len(line) == 0 && hasData:
			return true
		case len(line) == 0:
			// A data-less event: Next skips it.
		case bytes.HasPrefix(line, dataField) && (len(line) == len(dataField) || line[len(dataField)] == ':'):
			hasData = true
		}
	}
}

// dataField starts a data line.
var dataField = []byte("data")

// NewReader returns a reader of the event stream r, bounded by
// DefaultMaxLineSize and DefaultMaxEventSize.
func NewReader(r io.Reader) *Reader {
	// data is never nil, so that Next can tell an event with an empty data
	// field from one without data.
	return &Reader{r: bufio.NewReaderSize(r, bufferSize), data: []byte{},
		maxLine: DefaultMaxLineSize, maxEvent: DefaultMaxEventSize}
}

// SetMaxLineSize makes lines longer than n bytes (without the line end)
// fail with ErrLineTooLong. n <= 0 sets no bound.
func (s *Reader) SetMaxLineSize(n int) { s.maxLine = max(n, 0) }

// SetMaxEventSize makes events whose data is longer than n bytes fail with
// ErrEventTooLarge. n <= 0 sets no bound.
func (s *Reader) SetMaxEventSize(n int) { s.maxEvent = max(n, 0) }

// Next returns the next event that carries data; events with a name but
// no data are skipped, as the format specifies. At the end of the body it
// returns io.EOF.
//
// When the body ends inside an event (no blank line after it), Next
// returns the event as far as it was read together with
// ErrIncompleteEvent: its Data is nil when no data field was read. Callers
// that accept a final event without its blank line (some servers omit it)
// can check that the data is complete and use it.
func (s *Reader) Next() (Event, error) {
	s.data = s.data[:0]
	s.name = s.name[:0]
	s.raw = s.raw[:0]
	hasName, hasData := false, false
	for {
		line, err := s.line()
		if s.keepRaw && err == nil {
			s.raw = append(s.raw, line[:len(line)+s.lineEnd]...)
			// Comments and data-less events count towards the raw bytes
			// but not the data: bound the raw bytes too, by an event and
			// a line.
			if s.maxEvent > 0 && len(s.raw) > s.maxEvent+s.maxLine {
				return Event{}, ErrEventTooLarge
			}
		}
		if err != nil {
			if err == io.EOF && (hasData || hasName) {
				return s.event(hasName, hasData), ErrIncompleteEvent
			}
			return Event{}, err
		}
		if len(line) == 0 { // blank line: dispatch
			if hasData {
				return s.event(hasName, true), nil
			}
			s.name, hasName = s.name[:0], false
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "event":
			// Copied: the line is only valid until the next read.
			s.name, hasName = append(s.name[:0], value...), true
		case "data":
			if s.maxEvent > 0 && len(s.data)+1+len(value) > s.maxEvent {
				return Event{}, ErrEventTooLarge
			}
			if hasData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			hasData = true
		}
	}
}

// event returns the current event.
func (s *Reader) event(hasName, hasData bool) Event {
	var ev Event
	if hasName {
		ev.Event = s.name
	}
	if hasData {
		ev.Data = s.data
	}
	if s.keepRaw {
		ev.Raw = s.raw
	}
	return ev
}

// appendLong adds part of a long line to s.long, or reports false when the
// line would exceed the bound (with room for its line end). The buffer
// grows by doubling, capped at the bound, so that a line at the bound
// costs about twice its size while it is read, not the sum of append's
// smaller steps.
func (s *Reader) appendLong(part []byte) bool {
	need := len(s.long) + len(part)
	limit := s.maxLine + len("\r\n")
	if s.maxLine > 0 && need > limit {
		return false
	}
	if need > cap(s.long) {
		n := max(2*cap(s.long), need, bufferSize)
		if s.maxLine > 0 {
			n = min(n, limit)
		}
		grown := make([]byte, len(s.long), n)
		copy(grown, s.long)
		s.long = grown
	}
	s.long = append(s.long, part...)
	return true
}

// line returns the next line without its line end; a last line without a
// line end is returned before io.EOF.
func (s *Reader) line() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.long = s.long[:0]
		for {
			if !s.appendLong(line) {
				return nil, ErrLineTooLong
			}
			if err != bufio.ErrBufferFull {
				break
			}
			line, err = s.r.ReadSlice('\n')
		}
		line = s.long
	}
	if err != nil && (err != io.EOF || len(line) == 0) {
		return nil, err
	}
	n := len(line)
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	s.lineEnd = n - len(line)
	if s.maxLine > 0 && len(line) > s.maxLine {
		return nil, ErrLineTooLong
	}
	return line, nil
}
