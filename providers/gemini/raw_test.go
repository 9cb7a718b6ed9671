package gemini

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/providers/internal/upstream/sse"
)

// A passed-through stream carries every event's bytes, as sent, on the
// chunks, with the canonical reading alongside.
func TestStreamRaw(t *testing.T) {
	t.Parallel()
	body := readFixture(t, "stream_text.sse")
	s := &stream{p: newTestProvider(t, nil), body: io.NopCloser(bytes.NewReader(body)), expected: 1, raw: true}
	s.sse = sse.NewReader(s.body)
	s.sse.KeepRaw(true)
	var raw []byte
	var text strings.Builder
	var usage bool
	for {
		c, err := s.Recv() // Raw is valid until the next Recv
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, c.Raw...)
		for _, d := range c.Choices {
			text.WriteString(d.Text)
		}
		usage = usage || c.Usage != nil
	}
	if !bytes.Equal(raw, body) {
		t.Errorf("raw bytes are not the upstream's:\n%s\nwant\n%s", raw, body)
	}
	if !strings.HasPrefix(text.String(), "The sky appears blue") || !usage {
		t.Errorf("canonical reading lost: text %q, usage %v", text.String(), usage)
	}
}
