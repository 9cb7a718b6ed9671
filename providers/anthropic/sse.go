package anthropic

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// errIncompleteEvent is returned when the body ends inside an event.
var errIncompleteEvent = errors.New("event stream ended inside an event")

// sseReader reads server-sent events as the Messages API sends them:
// "event:" and "data:" fields (several data lines are joined with "\n"),
// ":" comments, "\n" or "\r\n" line ends, and events ended by a blank line.
type sseReader struct {
	r *bufio.Reader
	// data is the current event's data; reused between events.
	data []byte
	// name is the current event's name; reused between events.
	name []byte
	// long holds a line that did not fit the bufio buffer.
	long []byte
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 16<<10)}
}

// next returns the name and data of the next event that carries data. The
// returned slices are valid until the following call. At the end of the
// body it returns io.EOF, or errIncompleteEvent when an event was cut off.
func (s *sseReader) next() (event, data []byte, err error) {
	s.data = s.data[:0]
	s.name = s.name[:0]
	hasName, hasData := false, false
	for {
		line, err := s.line()
		if err != nil {
			if err == io.EOF && (hasData || hasName) {
				return nil, nil, errIncompleteEvent
			}
			return nil, nil, err
		}
		if len(line) == 0 { // blank line: dispatch
			if hasData {
				if !hasName {
					return nil, s.data, nil
				}
				return s.name, s.data, nil
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
			if hasData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			hasData = true
		}
	}
}

// line returns the next line without its line end; a last line without a
// line end is returned before io.EOF.
func (s *sseReader) line() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.long = append(s.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = s.r.ReadSlice('\n')
			s.long = append(s.long, line...)
		}
		line = s.long
	}
	if err != nil && (err != io.EOF || len(line) == 0) {
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
}
