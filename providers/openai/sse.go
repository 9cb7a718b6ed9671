package openai

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// sseReader reads server-sent events. It implements the parts of the
// event-stream format that chat streams use: "data:" fields (several in one
// event are joined with "\n"), "event:" names, ":" comments (keep-alives),
// "\n" and "\r\n" line ends, and events ended by a blank line.
type sseReader struct {
	r *bufio.Reader
	// data accumulates the data of the current event; reused between events.
	data []byte
	// line accumulates a line longer than the bufio buffer.
	line []byte
	// event is the name of the current event, "" for the default "message".
	event string
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 16<<10)}
}

// errIncompleteEvent is returned when the body ends inside an event.
var errIncompleteEvent = errors.New("event stream ended inside an event")

// next returns the name and data of the next event that has data. The data
// is valid until the following call. At the end of the body it returns
// io.EOF, or errIncompleteEvent when data was pending; a pending "[DONE]"
// is still returned because some servers omit the final blank line.
func (s *sseReader) next() (event string, data []byte, err error) {
	s.data = s.data[:0]
	s.event = ""
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF && hasData {
				if isDone(s.data) {
					return s.event, s.data, nil
				}
				return "", nil, errIncompleteEvent
			}
			return "", nil, err
		}
		if len(line) == 0 {
			if hasData {
				return s.event, s.data, nil
			}
			s.event = ""
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
		case "data":
			if hasData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			hasData = true
		case "event":
			s.event = string(value)
		}
	}
}

// isDone reports the "[DONE]" sentinel that ends a chat stream.
func isDone(data []byte) bool { return string(bytes.TrimSpace(data)) == "[DONE]" }

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
