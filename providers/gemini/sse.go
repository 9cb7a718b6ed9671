package gemini

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// sseReader reads the server-sent events of streamGenerateContent?alt=sse:
// "data:" fields (several in one event are joined with "\n"), ":"
// comments, "\n" and "\r\n" line ends (Gemini uses "\r\n"), and events
// ended by a blank line. Other fields are ignored.
type sseReader struct {
	r *bufio.Reader
	// data accumulates the data of the current event; reused between events.
	data []byte
	// line accumulates a line longer than the bufio buffer.
	line []byte
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 16<<10)}
}

// errIncompleteEvent is returned when the body ends inside an event that
// is not valid on its own.
var errIncompleteEvent = errors.New("event stream ended inside an event")

// next returns the data of the next event that has data, valid until the
// following call. At the end of the body it returns io.EOF; data pending
// without a final blank line is returned first when it is complete JSON
// (servers may omit the last blank line), and errIncompleteEvent otherwise.
func (s *sseReader) next() ([]byte, error) {
	s.data = s.data[:0]
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF && hasData {
				if jsonComplete(s.data) {
					return s.data, nil
				}
				return nil, errIncompleteEvent
			}
			return nil, err
		}
		if len(line) == 0 {
			if hasData {
				return s.data, nil
			}
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
		if string(field) == "data" {
			if hasData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			hasData = true
		}
	}
}

// jsonComplete reports whether b is a whole JSON value, which a cut-off
// event is not.
func jsonComplete(b []byte) bool { return json.Valid(b) }

// readLine returns the next line without its line end. A final line
// without a line end is returned before io.EOF.
func (s *sseReader) readLine() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.line = append(s.line[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = s.r.ReadSlice('\n')
			s.line = append(s.line, line...)
		}
		line = s.line
	}
	if err != nil && (err != io.EOF || len(line) == 0) {
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
}
